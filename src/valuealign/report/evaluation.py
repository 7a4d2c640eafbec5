"""The report of an evaluation run: report.html, scores.md and scores.csv.

``report.html`` is built on the shared page (:mod:`valuealign.report.page`): one self-contained
file with inline CSS, inline SVG charts and one inline script (allowed by its hash in the page's
Content-Security-Policy, which also forbids every fetch). All run text (questions, answers,
judge output, names) is untrusted: markup built here escapes it with ``esc``; the item
browser's data travels as JSON with ``<``, ``>`` and ``&`` escaped and is put on the page by the
script with ``textContent`` only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from valuealign.records import write_text_atomic
from valuealign.report import charts
from valuealign.report.assets import JS
from valuealign.report.data import (
    RunData,
    as_dict,
    as_list,
    build_items,
    json_for_script,
    language_label,
    load_run,
    number,
)
from valuealign.report.page import esc, page, section, table, td, th
from valuealign.report.tables import (
    alpha_line,
    fmt,
    fmt_ci,
    fmt_p,
    fmt_total,
    pct,
    significance,
    to_csv,
    to_markdown,
)

REPORT_FILE = "report.html"
MARKDOWN_FILE = "scores.md"
CSV_FILE = "scores.csv"


def write_report(run_dir: str | Path) -> Path:
    """Write report.html, scores.md and scores.csv into RUN_DIR; return the report's path."""
    run_dir = Path(run_dir)
    run = load_run(run_dir)
    write_text_atomic(run_dir / CSV_FILE, to_csv(run))
    write_text_atomic(run_dir / MARKDOWN_FILE, to_markdown(run))
    out = run_dir / REPORT_FILE
    write_text_atomic(out, render_html(run))
    return out


def _num(text: str, extra: str = "") -> str:
    return td(None, num=True, cls=extra, html_=text)


def _mean_cell(stats: dict[str, Any], best: bool = False) -> str:
    ci = fmt_ci(stats.get("ci95"), n=stats.get("n"))
    ci_html = f' <span class="ci-t">{esc(ci)}</span>' if ci else ""
    return _num(esc(fmt(stats.get("mean"))) + ci_html, "best" if best else "")


def _facts(run: RunData) -> list[tuple[str, str]]:
    rows = [
        ("Benchmark", run.benchmark or "–"),
        ("Models", ", ".join(run.models) or "–"),
        ("Judges", ", ".join(run.judges) or "–"),
        ("Languages", ", ".join(language_label(x) for x in run.languages) or "–"),
        ("Run directory", run.run_dir.resolve().name),
    ]
    if run.scores.get("charter"):
        rows.insert(1, ("Charter", str(run.scores["charter"])))
    return rows


def _first_screen(run: RunData) -> list[str]:
    """Warnings a reader must see before any number: incomplete totals, totals over different
    item sets, judges that failed the known-answer check."""
    notes = [str(w) for w in as_list(run.scores.get("judge_warnings"))]
    return notes + [str(w) for w in as_list(run.scores.get("total_warnings"))]


def _overview(run: RunData) -> str:
    langs = run.languages
    head1 = (
        "<tr>"
        + th("Model", span='rowspan="2"')
        + "".join(th(language_label(x), span='colspan="3"') for x in langs)
        + "</tr>"
    )
    head2 = (
        "<tr>" + "".join(th(h) for _ in langs for h in ("Total", "Mean [95% CI]", "n")) + "</tr>"
    )
    best = {}
    for lang in langs:
        means = [number(run.stats(m, lang).get("mean")) for m in run.models]
        valid = [v for v in means if v is not None]
        best[lang] = max(valid) if len(valid) > 1 else None
    body = []
    for m in run.models:
        cells = [th(m)]
        for lang in langs:
            s = run.stats(m, lang)
            is_best = best[lang] is not None and number(s.get("mean")) == best[lang]
            cells += [
                td(fmt_total(s), num=True),
                _mean_cell(s, is_best),
                td(fmt(s.get("n"), 0), num=True),
            ]
        body.append(cells)
    hist_rows = [
        [th(m)]
        + [
            td(None, html_=charts.histogram_bar(run.stats(m, lang).get("histogram")) or "–")
            for lang in langs
        ]
        for m in run.models
    ]
    return section(
        "overview",
        "Scores",
        table(None, body, head_html=head1 + head2),
        "<h3>Score distribution</h3>"
        '<p class="note">Share of items at each score, 1 (red) to 5 (green).</p>',
        table(["Model", *(language_label(x) for x in langs)], hist_rows),
        note="Total of the per-item scores (out of the maximum) and mean score on the 1–5 rubric "
        "with its 95% confidence interval; the best mean per language is bold.",
    )


def _subdomains(run: RunData) -> str:
    subs = run.subdomain_ids()
    if not subs:
        return section("subdomains", "Subdomains", note="No data.")
    legend = charts.legend(run.models)
    radars = "".join(
        f"<figure><figcaption>{esc(language_label(x))}</figcaption>{charts.radar(run, x)}</figure>"
        for x in run.languages
    )
    bars = "".join(
        f"<figure><figcaption>{esc(language_label(x))}</figcaption>"
        f"{charts.bars_ci(run, x, 'subdomains', subs, run.subdomain_name)}</figure>"
        for x in run.languages
    )
    return section(
        "subdomains",
        "Subdomains",
        f'{legend}<div class="charts">{radars}</div>',
        "<h3>Means with 95% confidence intervals</h3>",
        f'{legend}<div class="charts">{bars}</div>',
        note="Mean score per subdomain; the radar runs from 1 (centre) to 5 (rim).",
    )


def _domains(run: RunData) -> str:
    doms = run.domain_ids()
    if not doms:
        return ""
    langs = run.languages
    head1 = (
        "<tr>"
        + th("Domain", span='rowspan="2"')
        + "".join(th(language_label(x), span=f'colspan="{len(run.models)}"') for x in langs)
        + "</tr>"
    )
    head2 = "<tr>" + "".join(th(m) for _ in langs for m in run.models) + "</tr>"
    rows = []
    for d in doms:
        name = f"{esc(run.domain_name(d))} <span class='ci-t'>{esc(d)}</span>"
        cells = [th(None, html_=name)]
        for lang in langs:
            for m in run.models:
                cells.append(_mean_cell(as_dict(as_dict(run.stats(m, lang).get("domains")).get(d))))
        rows.append(cells)
    return section("domains", "Domains", table(None, rows, head_html=head1 + head2))


def _robustness(run: RunData) -> str:
    langs, models = run.languages, run.models
    out = ["<h3>Adversarial pressure</h3>"]
    out.append(
        '<p class="note">Mean score on direct (filled) and adversarial (hollow) items; '
        "the drop is direct minus adversarial.</p>"
    )
    out.append(charts.legend(models) + charts.dumbbell(run))
    head = [
        "Model",
        "Language",
        "Direct mean",
        "Adversarial mean",
        "Adversarial drop",
        "Over-refusal",
        "Benign n",
        "Parse failures",
        "Judge errors",
        "Failed answers",
    ]
    rows = []
    for m in models:
        for lang in langs:
            s = run.stats(m, lang)
            cells = [th(m), td(lang)]
            cells += [td(fmt(s.get(k)), num=True) for k in ("direct_mean", "adversarial_mean")]
            cells += [
                td(fmt(s.get("adversarial_drop")), num=True),
                td(pct(s.get("over_refusal_rate")), num=True),
            ]
            keys = ("benign_n", "parse_failures", "judge_errors", "failed_answers")
            cells += [td(fmt(s.get(k), 0), num=True) for k in keys]
            rows.append(cells)
    out.append(table(head, rows))

    out.append("<h3>Over-refusal</h3>")
    out.append('<p class="note">Share of benign items the model refused (lower is better).</p>')
    refusal_rows = [
        (
            f"{m} · {lang}",
            number(run.stats(m, lang).get("over_refusal_rate")),
            charts.color(k),
            f"(n={fmt(run.stats(m, lang).get('benign_n'), 0)})",
        )
        for k, m in enumerate(models)
        for lang in langs
    ]
    out.append(charts.rate_bars(refusal_rows, "Over-refusal rate"))

    out.append("<h3>Cross-lingual consistency</h3>")
    out.append(
        '<p class="note">Share of items whose answers in the two languages take the same '
        "stance (higher is better).</p>"
    )
    cons_rows = [
        (
            m,
            number(run.consistency_stats(m).get("rate")),
            charts.color(k),
            f"(n={fmt(run.consistency_stats(m).get('n'), 0)})",
        )
        for k, m in enumerate(models)
    ]
    out.append(charts.rate_bars(cons_rows, "Cross-lingual consistency"))
    out.append(_judges(run))
    out.append(_comparisons(run))
    return section("robustness", "Robustness", *out)


def _judges(run: RunData) -> str:
    agree = as_dict(run.scores.get("judge_agreement"))
    out = ["<h3>Judges</h3>", f"<p>{esc(alpha_line(agree, run.judges))}.</p>"]
    pairs = [as_dict(p) for p in as_list(agree.get("pairs"))]
    if pairs:
        rows = [
            [
                td(p.get("a")),
                td(p.get("b")),
                td(fmt(p.get("qwk")), num=True),
                td(fmt(p.get("n"), 0), num=True),
            ]
            for p in pairs
        ]
        out.append(table(["Judge A", "Judge B", "Quadratic weighted κ", "n"], rows))
    failures = as_dict(run.scores.get("parse_failures"))
    if failures:
        rows = [[td(j), td(fmt(v, 0), num=True)] for j, v in failures.items()]
        out.append(table(["Judge", "Unparsable verdicts"], rows))
    return "".join(out)


def _comparisons(run: RunData) -> str:
    comps = [as_dict(c) for c in as_list(run.scores.get("comparisons"))]
    if not comps:
        return ""
    rows = []
    for c in comps:
        p = c.get("p_value")
        rows.append(
            [
                td(c.get("a")),
                td(c.get("b")),
                td(c.get("language")),
                td(fmt(c.get("n"), 0), num=True),
                td(fmt(c.get("mean_a")), num=True),
                td(fmt(c.get("mean_b")), num=True),
                td(f"{fmt(c.get('mean_diff'))} {fmt_ci(c.get('ci95'))}".strip(), num=True),
                td(f"{fmt_p(p)} {significance(p)}".strip(), num=True),
                td(c.get("note") or ""),
            ]
        )
    head = ["A", "B", "Language", "n", "Mean A", "Mean B", "Difference [95% CI]", "p", "Note"]
    return (
        "<h3>Model comparisons</h3>"
        '<p class="note">Paired difference of means (A − B) with its 95% CI; '
        "* p&lt;0.05, ** p&lt;0.01, *** p&lt;0.001.</p>" + charts.forest(comps) + table(head, rows)
    )


def _items(run: RunData) -> str:
    missing = ""
    if run.missing:
        names = ", ".join(run.missing)
        missing = f'<p class="warn">Not found in the run directory: {esc(names)}.</p>'
    filters = "".join(
        f'<label>{label}<select id="{fid}"></select></label>'
        for label, fid in (
            ("Model", "f-model"),
            ("Language", "f-lang"),
            ("Subdomain", "f-sub"),
            ("Score", "f-score"),
            ("Kind", "f-kind"),
        )
    )
    filters += '<label>Search<input id="f-text" type="search" placeholder="text in question or answer"></label>'
    return section(
        "items",
        "Items",
        f'{missing}<div class="filters">{filters}</div>'
        '<noscript><p class="warn">The item browser needs JavaScript.</p></noscript>'
        '<div id="count"></div><table class="items" id="item-table" data-rows="0"><thead></thead>'
        '<tbody></tbody></table><button id="more" type="button" hidden>Show more</button>',
        note="Every question with each model's answer and each judge's score and reason. The "
        "score filter keeps items where any shown judge gave that score.",
    )


def render_html(run: RunData) -> str:
    title = f"valuealign report — {run.benchmark}" if run.benchmark else "valuealign report"
    return page(
        title,
        facts=_facts(run),
        notes=_first_screen(run),
        nav=[
            ("overview", "Scores"),
            ("subdomains", "Subdomains"),
            ("domains", "Domains"),
            ("robustness", "Robustness"),
            ("items", "Items"),
        ],
        body=[_overview(run), _subdomains(run), _domains(run), _robustness(run), _items(run)],
        script=JS,
        data_json=json_for_script(build_items(run)),
    )
