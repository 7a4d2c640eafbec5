"""The static report of an evaluation run: report.html, scores.md and scores.csv.

``report.html`` is one self-contained file: inline CSS, inline SVG charts and one inline script
(allowed by its hash in the page's Content-Security-Policy, which also forbids every fetch). All
run text (questions, answers, judge output, names) is untrusted: markup built here escapes it
with ``html.escape``; the item browser's data travels as JSON with ``<``, ``>`` and ``&`` escaped
and is put on the page by the script with ``textContent`` only.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

from valuealign.records import write_text_atomic
from valuealign.report import charts
from valuealign.report.assets import CSS, JS
from valuealign.report.charts import esc
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


def _csp() -> str:
    digest = base64.b64encode(hashlib.sha256(JS.encode("utf-8")).digest()).decode("ascii")
    return (
        "default-src 'none'; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )


def _td(text: str, cls: str = "num", extra: str = "") -> str:
    c = f"{cls} {extra}".strip()
    return f'<td class="{c}">{text}</td>' if c else f"<td>{text}</td>"


def _mean_cell(stats: dict[str, Any], best: bool = False) -> str:
    ci = fmt_ci(stats.get("ci95"), n=stats.get("n"))
    ci_html = f' <span class="ci-t">{esc(ci)}</span>' if ci else ""
    return _td(esc(fmt(stats.get("mean"))) + ci_html, "num", "best" if best else "")


def _header(run: RunData) -> str:
    rows = [
        ("Benchmark", run.benchmark or "–"),
        ("Models", ", ".join(run.models) or "–"),
        ("Judges", ", ".join(run.judges) or "–"),
        ("Languages", ", ".join(language_label(x) for x in run.languages) or "–"),
        ("Run directory", run.run_dir.resolve().name),
    ]
    if run.scores.get("charter"):
        rows.insert(1, ("Charter", str(run.scores["charter"])))
    dl = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in rows)
    title = f"valuealign report — {run.benchmark}" if run.benchmark else "valuealign report"
    return f"<header><h1>{esc(title)}</h1><dl>{dl}</dl></header>"


def _first_screen(run: RunData) -> str:
    """Warnings a reader must see before any number: incomplete totals, totals over different
    item sets, judges that failed the known-answer check."""
    notes = [str(w) for w in as_list(run.scores.get("judge_warnings"))]
    notes += [str(w) for w in as_list(run.scores.get("total_warnings"))]
    if not notes:
        return ""
    items = "".join(f"<li>{esc(n)}</li>" for n in notes)
    return f'<section id="warnings" class="warn"><h2>Read this first</h2><ul>{items}</ul></section>'


def _overview(run: RunData) -> str:
    langs = run.languages
    head1 = '<tr><th rowspan="2">Model</th>' + "".join(
        f'<th colspan="3">{esc(language_label(x))}</th>' for x in langs
    )
    head2 = "<tr>" + "<th>Total</th><th>Mean [95% CI]</th><th>n</th>" * len(langs) + "</tr>"
    best = {}
    for lang in langs:
        means = [number(run.stats(m, lang).get("mean")) for m in run.models]
        valid = [v for v in means if v is not None]
        best[lang] = max(valid) if len(valid) > 1 else None
    body = []
    for m in run.models:
        cells = [f"<th>{esc(m)}</th>"]
        for lang in langs:
            s = run.stats(m, lang)
            is_best = best[lang] is not None and number(s.get("mean")) == best[lang]
            cells += [_td(esc(fmt_total(s))), _mean_cell(s, is_best), _td(esc(fmt(s.get("n"), 0)))]
        body.append("<tr>" + "".join(cells) + "</tr>")
    hist_rows = []
    for m in run.models:
        cells = "".join(
            f"<td>{charts.histogram_bar(run.stats(m, lang).get('histogram')) or '–'}</td>"
            for lang in langs
        )
        hist_rows.append(f"<tr><th>{esc(m)}</th>{cells}</tr>")
    hist_head = "".join(f"<th>{esc(language_label(x))}</th>" for x in langs)
    return (
        '<section id="overview"><h2>Scores</h2>'
        '<p class="note">Total of the per-item scores (out of the maximum) and mean score on the '
        "1–5 rubric with its 95% confidence interval; the best mean per language is bold.</p>"
        f'<table class="data"><thead>{head1}</tr>{head2}</thead><tbody>{"".join(body)}</tbody>'
        "</table><h3>Score distribution</h3>"
        '<p class="note">Share of items at each score, 1 (red) to 5 (green).</p>'
        f'<table class="data"><thead><tr><th>Model</th>{hist_head}</tr></thead>'
        f"<tbody>{''.join(hist_rows)}</tbody></table></section>"
    )


def _subdomains(run: RunData) -> str:
    subs = run.subdomain_ids()
    if not subs:
        return '<section id="subdomains"><h2>Subdomains</h2><p class="note">No data.</p></section>'
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
    return (
        '<section id="subdomains"><h2>Subdomains</h2>'
        '<p class="note">Mean score per subdomain; the radar runs from 1 (centre) to 5 (rim).</p>'
        f'{legend}<div class="charts">{radars}</div>'
        "<h3>Means with 95% confidence intervals</h3>"
        f'{legend}<div class="charts">{bars}</div></section>'
    )


def _domains(run: RunData) -> str:
    doms = run.domain_ids()
    if not doms:
        return ""
    langs = run.languages
    head1 = '<tr><th rowspan="2">Domain</th>' + "".join(
        f'<th colspan="{len(run.models)}">{esc(language_label(x))}</th>' for x in langs
    )
    head2 = "<tr>" + "".join(f"<th>{esc(m)}</th>" for _ in langs for m in run.models) + "</tr>"
    rows = []
    for d in doms:
        cells = [f"<th>{esc(run.domain_name(d))} <span class='ci-t'>{esc(d)}</span></th>"]
        for lang in langs:
            for m in run.models:
                cells.append(_mean_cell(as_dict(as_dict(run.stats(m, lang).get("domains")).get(d))))
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (
        '<section id="domains"><h2>Domains</h2>'
        f'<table class="data"><thead>{head1}</tr>{head2}</thead>'
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


def _robustness(run: RunData) -> str:
    langs, models = run.languages, run.models
    out = ['<section id="robustness"><h2>Robustness</h2>', "<h3>Adversarial pressure</h3>"]
    out.append(
        '<p class="note">Mean score on direct (filled) and adversarial (hollow) items; '
        "the drop is direct minus adversarial.</p>"
    )
    out.append(charts.legend(models) + charts.dumbbell(run))
    head = "".join(
        f"<th>{h}</th>"
        for h in (
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
        )
    )
    rows = []
    for m in models:
        for lang in langs:
            s = run.stats(m, lang)
            cells = [f"<th>{esc(m)}</th>", f"<td>{esc(lang)}</td>"]
            cells += [_td(esc(fmt(s.get(k)))) for k in ("direct_mean", "adversarial_mean")]
            cells += [
                _td(esc(fmt(s.get("adversarial_drop")))),
                _td(esc(pct(s.get("over_refusal_rate")))),
            ]
            keys = ("benign_n", "parse_failures", "judge_errors", "failed_answers")
            cells += [_td(esc(fmt(s.get(k), 0))) for k in keys]
            rows.append("<tr>" + "".join(cells) + "</tr>")
    out.append(
        f'<table class="data"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )

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
    out.append("</section>")
    return "".join(out)


def _judges(run: RunData) -> str:
    agree = as_dict(run.scores.get("judge_agreement"))
    out = ["<h3>Judges</h3>", f"<p>{esc(alpha_line(agree, run.judges))}.</p>"]
    pairs = [as_dict(p) for p in as_list(agree.get("pairs"))]
    if pairs:
        rows = "".join(
            f"<tr><td>{esc(p.get('a'))}</td><td>{esc(p.get('b'))}</td>"
            f"{_td(esc(fmt(p.get('qwk'))))}{_td(esc(fmt(p.get('n'), 0)))}</tr>"
            for p in pairs
        )
        out.append(
            '<table class="data"><thead><tr><th>Judge A</th><th>Judge B</th>'
            f"<th>Quadratic weighted κ</th><th>n</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    failures = as_dict(run.scores.get("parse_failures"))
    if failures:
        rows = "".join(
            f"<tr><td>{esc(j)}</td>{_td(esc(fmt(v, 0)))}</tr>" for j, v in failures.items()
        )
        out.append(
            '<table class="data"><thead><tr><th>Judge</th><th>Unparsable verdicts</th></tr>'
            f"</thead><tbody>{rows}</tbody></table>"
        )
    return "".join(out)


def _comparisons(run: RunData) -> str:
    comps = [as_dict(c) for c in as_list(run.scores.get("comparisons"))]
    if not comps:
        return ""
    rows = []
    for c in comps:
        p = c.get("p_value")
        rows.append(
            f"<tr><td>{esc(c.get('a'))}</td><td>{esc(c.get('b'))}</td><td>{esc(c.get('language'))}</td>"
            + _td(esc(fmt(c.get("n"), 0)))
            + _td(esc(fmt(c.get("mean_a"))))
            + _td(esc(fmt(c.get("mean_b"))))
            + _td(esc(f"{fmt(c.get('mean_diff'))} {fmt_ci(c.get('ci95'))}".strip()))
            + _td(esc(f"{fmt_p(p)} {significance(p)}".strip()))
            + f"<td>{esc(c.get('note') or '')}</td>"
            + "</tr>"
        )
    head = "".join(
        f"<th>{h}</th>"
        for h in ("A", "B", "Language", "n", "Mean A", "Mean B", "Difference [95% CI]", "p", "Note")
    )
    return (
        "<h3>Model comparisons</h3>"
        '<p class="note">Paired difference of means (A − B) with its 95% CI; '
        "* p&lt;0.05, ** p&lt;0.01, *** p&lt;0.001.</p>"
        + charts.forest(comps)
        + f'<table class="data"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
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
    return (
        '<section id="items"><h2>Items</h2>'
        "<p class=\"note\">Every question with each model's answer and each judge's score and "
        "reason. The score filter keeps items where any shown judge gave that score.</p>"
        f'{missing}<div class="filters">{filters}</div>'
        '<noscript><p class="warn">The item browser needs JavaScript.</p></noscript>'
        '<div id="count"></div><table class="items" id="item-table" data-rows="0"><thead></thead>'
        '<tbody></tbody></table><button id="more" type="button" hidden>Show more</button></section>'
    )


def render_html(run: RunData) -> str:
    title = f"valuealign report — {run.benchmark}" if run.benchmark else "valuealign report"
    nav = "".join(
        f'<a href="#{i}">{t}</a>'
        for i, t in (
            ("overview", "Scores"),
            ("subdomains", "Subdomains"),
            ("domains", "Domains"),
            ("robustness", "Robustness"),
            ("items", "Items"),
        )
    )
    body = [
        _header(run),
        f"<nav>{nav}</nav><main>",
        _first_screen(run),
        _overview(run),
        _subdomains(run),
        _domains(run),
        _robustness(run),
        _items(run),
        "</main>",
        f'<script type="application/json" id="data">{json_for_script(build_items(run))}</script>',
        f"<script>{JS}</script>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{esc(_csp())}">'
        '<meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head>\n<body>"
        + "".join(body)
        + "</body></html>\n"
    )
