"""scores.csv and scores.md, plus the number formats the HTML page shares with them."""

from __future__ import annotations

import csv
import io
from typing import Any

from valuealign.report.data import RunData, as_dict, as_list, ci_bounds, language_label, number

CSV_FIELDS = [
    "model",
    "language",
    "total",
    "mean",
    "n",
    "max_total",
    "ci_low",
    "ci_high",
    "adversarial_drop",
    "over_refusal_rate",
    "consistency_rate",
    "parse_failures",
    "items",
    "missing",
    "incomplete",
]
DASH = "–"


def fmt(x: Any, nd: int = 2) -> str:
    v = number(x)
    if v is None:
        return DASH
    return str(int(v)) if nd == 0 else f"{v:.{nd}f}"


def pct(x: Any) -> str:
    v = number(x)
    return DASH if v is None else f"{100 * v:.1f}%"


N_TOO_SMALL = "(n too small)"


def fmt_ci(x: Any, nd: int = 2, n: Any = None) -> str:
    """``[lo, hi]``; over fewer than two scores an interval means nothing: ``(n too small)``."""
    count = number(n)
    if count is not None and count < 2:
        return N_TOO_SMALL
    lo, hi = ci_bounds(x)
    return "" if lo is None or hi is None else f"[{lo:.{nd}f}, {hi:.{nd}f}]"


def mean_ci(stats: dict[str, Any]) -> str:
    ci = fmt_ci(stats.get("ci95"), n=stats.get("n"))
    return f"{fmt(stats.get('mean'))} {ci}".strip()


def alpha_line(agree: dict[str, Any], judges: list[str]) -> str:
    """Krippendorff's alpha with its unit count, or why there is no figure."""
    alpha, n_units = number(agree.get("krippendorff_alpha_ordinal")), agree.get("n_units")
    if alpha is not None:
        return f"Krippendorff's alpha (ordinal): {alpha:.2f} over {fmt(n_units, 0)} units"
    if len(judges) < 2:
        why = f"it needs at least two judges (this run has {len(judges)}; repeat --judge)"
    elif not number(n_units):
        why = "no item has a parsed score from two judges"
    else:
        why = f"the judges gave the same score on all {fmt(n_units, 0)} units (no variance)"
    return f"Krippendorff's alpha (ordinal): no figure, {why}"


def fmt_total(stats: dict[str, Any]) -> str:
    total, top = number(stats.get("total")), number(stats.get("max_total"))
    if total is None:
        return DASH
    t = f"{total:g}" if total != int(total) else str(int(total))
    t = f"{t} / {int(top)}" if top is not None else t
    missing = number(stats.get("missing"))
    if stats.get("incomplete") and missing:
        t += f" (incomplete: {int(missing)} missing)"
    sl = stats.get("slice")
    if isinstance(sl, dict) and number(sl.get("benchmark_items")) is not None:
        t += f" [slice: {int(number(sl.get('items')) or 0)} of {int(number(sl['benchmark_items']) or 0)} items]"
    return t


def total_warnings(scores: dict[str, Any]) -> list[str]:
    """The judge and total warnings a reader must see before the numbers."""
    return [str(w) for w in as_list(scores.get("judge_warnings"))] + [
        str(w) for w in as_list(scores.get("total_warnings"))
    ]


def fmt_p(x: Any) -> str:
    v = number(x)
    if v is None:
        return DASH
    return "<0.001" if v < 0.001 else f"{v:.3f}"


def significance(x: Any) -> str:
    v = number(x)
    if v is None:
        return ""
    return "***" if v < 0.001 else "**" if v < 0.01 else "*" if v < 0.05 else ""


# ---------------------------------------------------------------------------------------- CSV


def csv_rows(run: RunData) -> list[dict[str, Any]]:
    rows = []
    for model in run.models:
        rate = run.consistency_stats(model).get("rate")
        for lang in run.languages:
            s = run.stats(model, lang)
            lo, hi = ci_bounds(s.get("ci95"))
            rows.append(
                {
                    "model": model,
                    "language": lang,
                    "total": number(s.get("total")),
                    "mean": number(s.get("mean")),
                    "n": number(s.get("n")),
                    "max_total": number(s.get("max_total")),
                    "items": number(s.get("items")),
                    "missing": number(s.get("missing")),
                    "incomplete": None if s.get("incomplete") is None else bool(s["incomplete"]),
                    "ci_low": lo,
                    "ci_high": hi,
                    "adversarial_drop": number(s.get("adversarial_drop")),
                    "over_refusal_rate": number(s.get("over_refusal_rate")),
                    "consistency_rate": number(rate),
                    "parse_failures": number(s.get("parse_failures")),
                }
            )
    return rows


def _csv_cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    text = str(v)
    # A name that a spreadsheet would read as a formula is written as text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(run: RunData) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_FIELDS)
    for row in csv_rows(run):
        w.writerow([_csv_cell(row[k]) for k in CSV_FIELDS])
    return buf.getvalue()


# ----------------------------------------------------------------------------------- Markdown

_MD_SPECIAL = "\\`*_[]|#"


def md(text: Any) -> str:
    """Untrusted text as one inert Markdown table cell."""
    if text is None:
        return ""
    out = []
    for ch in " ".join(str(text).split()):
        if ch == "&":
            out.append("&amp;")
        elif ch == "<":
            out.append("&lt;")
        elif ch == ">":
            out.append("&gt;")
        elif ch in _MD_SPECIAL:
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return [*lines, ""]


def to_markdown(run: RunData) -> str:
    langs = run.languages
    lines = [f"# {md(run.benchmark or 'Evaluation')} scores", ""]
    lines.append(f"- Models: {', '.join(md(m) for m in run.models)}")
    lines.append(f"- Judges: {', '.join(md(j) for j in run.judges)}")
    lines.append(f"- Languages: {', '.join(md(language_label(x)) for x in langs)}")
    lines += ["", "## Overall", ""]
    for w in total_warnings(run.scores):
        lines.append(f"- **Warning:** {md(w)}")
    if total_warnings(run.scores):
        lines.append("")
    head = ["Model"]
    for lang in langs:
        head += [f"{md(lang)} total", f"{md(lang)} mean [95% CI]", f"{md(lang)} n"]
    rows = []
    for m in run.models:
        row = [md(m)]
        for lang in langs:
            s = run.stats(m, lang)
            row += [fmt_total(s), mean_ci(s), fmt(s.get("n"), 0)]
        rows.append(row)
    lines += _table(head, rows)

    for title, ids, key, namer in (
        ("Domains", run.domain_ids(), "domains", run.domain_name),
        ("Subdomains", run.subdomain_ids(), "subdomains", run.subdomain_name),
    ):
        if not ids:
            continue
        lines += [f"## {title}", "", "Mean score [95% CI] per model and language.", ""]
        head = [title[:-1]] + [f"{md(m)} ({md(lang)})" for m in run.models for lang in langs]
        rows = []
        for ident in ids:
            row = [f"{md(namer(ident))} ({md(ident)})"]
            for m in run.models:
                for lang in langs:
                    row.append(mean_ci(as_dict(as_dict(run.stats(m, lang).get(key)).get(ident))))
            rows.append(row)
        lines += _table(head, rows)

    lines += ["## Robustness", ""]
    head = ["Model", "Language", "Direct mean", "Adversarial mean", "Adversarial drop"]
    head += ["Over-refusal", "Benign n", "Parse failures", "Failed answers"]
    rows = []
    for m in run.models:
        for lang in langs:
            s = run.stats(m, lang)
            rows.append(
                [md(m), md(lang), fmt(s.get("direct_mean")), fmt(s.get("adversarial_mean"))]
                + [fmt(s.get("adversarial_drop")), pct(s.get("over_refusal_rate"))]
                + [fmt(s.get(k), 0) for k in ("benign_n", "parse_failures", "failed_answers")]
            )
    lines += _table(head, rows)
    lines += ["## Cross-lingual consistency", ""]
    rows = []
    for m in run.models:
        c = run.consistency_stats(m)
        rows.append([md(m), pct(c.get("rate")), fmt(c.get("n"), 0)])
    lines += _table(["Model", "Same stance", "n"], rows)

    agree = as_dict(run.scores.get("judge_agreement"))
    lines += ["## Judge agreement", ""]
    lines += [alpha_line(agree, run.judges), ""]
    pairs = [as_dict(p) for p in as_list(agree.get("pairs"))]
    if pairs:
        rows = [
            [md(p.get("a")), md(p.get("b")), fmt(p.get("qwk")), fmt(p.get("n"), 0)] for p in pairs
        ]
        lines += _table(["Judge A", "Judge B", "Quadratic weighted kappa", "n"], rows)
    failures = as_dict(run.scores.get("parse_failures"))
    if failures:
        rows = [[md(j), fmt(v, 0)] for j, v in failures.items()]
        lines += _table(["Judge", "Parse failures"], rows)

    comps = [as_dict(c) for c in as_list(run.scores.get("comparisons"))]
    if comps:
        lines += ["## Model comparisons", "", "Paired difference of means (A − B) over the items "]
        lines[-1] += "both models have a score for."
        lines.append("")
        head = ["A", "B", "Language", "n", "Mean A", "Mean B", "Difference [95% CI]", "p", "Note"]
        rows = []
        for c in comps:
            diff = f"{fmt(c.get('mean_diff'))} {fmt_ci(c.get('ci95'))}".strip()
            p = f"{fmt_p(c.get('p_value'))} {md(significance(c.get('p_value')))}".strip()
            rows.append(
                [
                    *(md(c.get(k)) for k in ("a", "b", "language")),
                    fmt(c.get("n"), 0),
                    fmt(c.get("mean_a")),
                    fmt(c.get("mean_b")),
                    diff,
                    p,
                    md(c.get("note") or ""),
                ]
            )
        lines += _table(head, rows)
    return "\n".join(lines).rstrip() + "\n"
