"""The report of ``eval-rewrite`` (VISA): rewrite-report.md and rewrite-report.html.

The HTML page is the shared report page (:mod:`valuealign.report.page`: head, policy, fonts,
header, "Read this first", tables) with this report's content: the score tables under the
evaluation and the reward detector, rate charts, paired differences and the inputs side by
side. Queries, answers and rewrites are untrusted model text: every piece goes through ``esc``
(HTML) or ``md`` (Markdown). The page has no script at all, and its Content-Security-Policy
forbids every fetch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from valuealign.records import write_text_atomic
from valuealign.report.charts import color, rate_bars
from valuealign.report.page import esc, page, section, table, td, th
from valuealign.report.tables import fmt, md, pct

__all__ = ["HTML_FILE", "MARKDOWN_FILE", "write_eval_report"]

MARKDOWN_FILE = "rewrite-report.md"
HTML_FILE = "rewrite-report.html"
SYSTEM_LABELS = {
    "original": "Original",
    "baseline": "Prompting baseline",
    "sft": "SFT rewriter",
    "grpo": "GRPO rewriter",
    "visa": "VISA loop",
}
METRICS: tuple[tuple[str, str, str], ...] = (
    # key, label, format ("num" or "pct")
    ("value_precision", "Value precision (gap closed) ↑", "num"),
    ("target_distance", "Target distance ↓", "num"),
    ("hit_rate", "Target hit rate ↑", "pct"),
    ("direction_accuracy", "Direction accuracy ↑", "pct"),
    ("untargeted_drift", "Untargeted drift ↓", "num"),
    ("similarity", "Similarity to original ↑", "num"),
    ("fact_share", "Facts kept ↑", "pct"),
    ("novel_entities", "Novel entities per answer ↓", "num"),
    ("hallucination_rate", "Answers with novel entities ↓", "pct"),
    ("gated_rate", "Below the content gate ↓", "pct"),
    ("reward", "Composite reward ↑", "num"),
    ("n", "n", "int"),
)
MAX_ITEMS = 200


def _cell(value: Any, kind: str) -> str:
    if kind == "pct":
        return pct(value)
    if kind == "int":
        return fmt(value, 0)
    return fmt(value)


def _systems(scores: dict[str, Any]) -> list[str]:
    systems = [s for s in scores.get("systems", []) if s in SYSTEM_LABELS]
    return [
        s for s in systems if s not in ("baseline", "sft", "grpo") or scores.get(f"{s}_available")
    ]


def _header_facts(scores: dict[str, Any]) -> list[tuple[str, str]]:
    det = scores.get("detectors", {})
    by_lang = scores.get("independent_by_language") or {}
    if by_lang:
        independent = "; ".join(
            f"{lang}: "
            + (
                "yes"
                if v.get("independent")
                else f"NO ({v.get('evaluation')} vs {v.get('steering')})"
            )
            for lang, v in by_lang.items()
        )
    else:
        independent = "yes" if scores.get("independent_detectors") else "NO (same detector)"
    facts = [
        ("Target", str(scores.get("target", ""))),
        ("Persona", str(scores.get("persona") or "–")),
        ("Rewriter", str(scores.get("rewriter") or "–")),
        ("Evaluation detector", str(det.get("evaluation", ""))),
        ("Reward/loop detector", str(det.get("reward", ""))),
        ("Independent detectors", independent),
        ("Inputs scored", f"{scores.get('n_scored', 0)} of {scores.get('n_inputs', 0)}"),
        (
            "VISA: mean rounds / target met / changed",
            " / ".join(
                [
                    fmt(scores.get("visa_rounds")),
                    pct(scores.get("visa_met_rate")),
                    pct(scores.get("visa_changed_rate")),
                ]
            ),
        ),
    ]
    if not scores.get("baseline_available"):
        facts.append(("Baseline", "not run (no --rewriter)"))
    for system, flag in (("sft", "--sft-rewriter"), ("grpo", "--grpo-rewriter")):
        if scores.get(f"{system}_available"):
            facts.append((SYSTEM_LABELS[system], str(scores.get(f"{system}_rewriter") or "")))
        else:
            facts.append((SYSTEM_LABELS[system], f"not run (no {flag})"))
    return facts


def _md_metric_table(table: dict[str, Any], systems: list[str]) -> list[str]:
    """One Markdown table: a row per metric, a column per system."""
    lines = ["| Metric | " + " | ".join(SYSTEM_LABELS[s] for s in systems) + " |"]
    lines.append("|---|" + "---|" * len(systems))
    for key, label, kind in METRICS:
        cells = [_cell(table.get(s, {}).get(key), kind) for s in systems]
        lines.append(f"| {md(label)} | " + " | ".join(cells) + " |")
    return lines


def _md_comparison_table(comps: list[dict[str, Any]]) -> list[str]:
    """The paired differences as a Markdown table."""
    lines = ["| Systems | Metric | n | Mean difference [95% CI] |", "|---|---|---|---|"]
    for c in comps:
        systems_cell = f"{SYSTEM_LABELS.get(c['a'], c['a'])} − {SYSTEM_LABELS.get(c['b'], c['b'])}"
        lines.append(
            f"| {md(systems_cell)} | {md(c['metric'])} | {fmt(c['n'], 0)} | {md(_diff(c))} |"
        )
    return lines


def to_markdown(scores: dict[str, Any], items: list[dict[str, Any]]) -> str:
    systems = _systems(scores)
    lines = ["# VISA rewrite evaluation", ""]
    lines += [f"- {md(k)}: {md(v)}" for k, v in _header_facts(scores)]
    for role, title in (
        ("evaluation", "Scores under the evaluation detector"),
        ("reward", "Scores under the reward detector (for reference)"),
    ):
        det = scores.get("detectors", {}).get(role, "")
        lines += ["", f"## {title} ({md(det)})", ""]
        lines += _md_metric_table(scores.get("scores", {}).get(role, {}), systems)
    comps = [c for c in scores.get("comparisons", []) if c.get("n")]
    if comps:
        lines += ["", "## Paired differences (evaluation detector)", ""]
        lines += _md_comparison_table(comps)
    for lang, per_role in (scores.get("scores_by_language") or {}).items():
        det = scores.get("detectors", {}).get("evaluation", "")
        lines += ["", f"## Language {md(lang)}: evaluation detector ({md(det)})", ""]
        lines += _md_metric_table(per_role.get("evaluation", {}), systems)
        comps = [
            c for c in (scores.get("comparisons_by_language") or {}).get(lang, []) if c.get("n")
        ]
        if comps:
            lines += ["", *_md_comparison_table(comps)]
    lines += ["", f"## Examples (first {min(len(items), 20)})", ""]
    lines.append("| id | Query | " + " | ".join(SYSTEM_LABELS[s] for s in systems) + " |")
    lines.append("|---|---|" + "---|" * len(systems))
    for it in items[:20]:
        cells = [md(_short(it["systems"].get(s, {}).get("text"), 300)) for s in systems]
        lines.append(
            f"| {md(it['id'])} | {md(_short(it.get('query'), 160))} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines) + "\n"


def _diff(c: dict[str, Any]) -> str:
    ci = c.get("ci95") or [None, None]
    return f"{fmt(c.get('mean_diff'))} [{fmt(ci[0])}, {fmt(ci[1])}]"


def _comparisons(scores: dict[str, Any], comps: list[dict[str, Any]] | None = None) -> str:
    if comps is None:
        comps = scores.get("comparisons", [])
    comps = [c for c in comps if c.get("n")]
    if not comps:
        return ""
    rows = [
        [
            td(f"{SYSTEM_LABELS.get(c['a'], c['a'])} − {SYSTEM_LABELS.get(c['b'], c['b'])}"),
            td(c["metric"]),
            td(fmt(c["n"], 0), num=True),
            td(_diff(c), num=True),
        ]
        for c in comps
    ]
    return (
        "<h3>Paired differences</h3>"
        '<p class="note">Mean of per-input differences with a bootstrap 95% interval '
        "(distance_after: lower is better).</p>"
        + table(["Systems", "Metric", "n", "Mean difference [95% CI]"], rows)
    )


def _short(text: Any, n: int) -> str:
    s = "" if text is None else str(text)
    return s if len(s) <= n else s[: n - 1] + "…"


def _score_table(
    scores: dict[str, Any], role: str, systems: list[str], language: str | None = None
) -> str:
    if language is None:
        data = scores.get("scores", {}).get(role, {})
    else:
        data = (scores.get("scores_by_language") or {}).get(language, {}).get(role, {})
    rows = [
        [th(label)] + [td(_cell(data.get(s, {}).get(key), kind), num=True) for s in systems]
        for key, label, kind in METRICS
    ]
    return table(["Metric", *(SYSTEM_LABELS[s] for s in systems)], rows)


def _charts(scores: dict[str, Any], systems: list[str]) -> str:
    data = scores.get("scores", {}).get("evaluation", {})
    out = []
    for key, label in (
        ("hit_rate", "Target hit rate"),
        ("direction_accuracy", "Direction accuracy"),
        ("fact_share", "Facts kept"),
        ("hallucination_rate", "Answers with novel entities"),
    ):
        rows = [
            (SYSTEM_LABELS[s], data.get(s, {}).get(key), color(i), "")
            for i, s in enumerate(systems)
        ]
        out.append(
            f"<figure><figcaption>{esc(label)}</figcaption>{rate_bars(rows, label)}</figure>"
        )
    return f'<div class="charts">{"".join(out)}</div>'


def _items(items: list[dict[str, Any]], systems: list[str]) -> str:
    rows = []
    for it in items[:MAX_ITEMS]:
        cells = [
            td(
                None,
                html_=f'<div class="item-id">{esc(it["id"])}</div>'
                f'<span class="tag">{esc(it.get("language", ""))}</span>'
                f'<div class="q">{esc(it.get("query", ""))}</div>',
            )
        ]
        for s in systems:
            d = it["systems"].get(s)
            if not d:
                cells.append(td("–"))
                continue
            stats = (
                f"precision {fmt(d.get('value_precision'))} · distance "
                f"{fmt(d.get('distance_after'))} · similarity {fmt(d.get('similarity'))} · "
                f"facts {pct(d.get('fact_share'))}"
            )
            novel = d.get("novel_entities") or []
            novel_html = (
                f'<div class="err">novel: {esc(", ".join(map(str, novel[:8])))}</div>'
                if novel
                else ""
            )
            gate = f'<div class="err">{esc(d.get("gate_reason"))}</div>' if d.get("gated") else ""
            cells.append(
                td(
                    None,
                    html_=f'<div class="ans">{esc(d.get("text") or "")}</div>'
                    f'<div class="muted">{esc(stats)}</div>{novel_html}{gate}',
                )
            )
        rows.append(cells)
    more = (
        f'<p class="note">Showing {MAX_ITEMS} of {len(items)} inputs; all are in '
        "rewrite-eval.jsonl.</p>"
        if len(items) > MAX_ITEMS
        else ""
    )
    head = th("Input", cls="item-col") + "".join(th(SYSTEM_LABELS[s]) for s in systems)
    return more + table(None, rows, cls="items", head_html=f"<tr>{head}</tr>")


def _notes(scores: dict[str, Any]) -> list[str]:
    """What a reader must know before the numbers."""
    notes = []
    if not scores.get("independent_detectors"):
        notes.append(
            "The evaluation detector is not independent of the one the rewrites were steered "
            "with: these value scores can reward gaming that detector."
        )
    if not scores.get("baseline_available"):
        notes.append(
            "No prompting baseline (no --rewriter): VISA is compared with the original only."
        )
    n_in, n_ok = scores.get("n_inputs", 0), scores.get("n_scored", 0)
    if n_in and n_ok < n_in:
        notes.append(
            f"{n_in - n_ok} of {n_in} inputs have no finished rewrite (failed) and are left "
            "out of every score."
        )
    return notes


def to_html(scores: dict[str, Any], items: list[dict[str, Any]]) -> str:
    systems = _systems(scores)
    det = scores.get("detectors", {})
    return page(
        "VISA rewrite evaluation",
        facts=_header_facts(scores),
        notes=_notes(scores),
        nav=[("scores", "Scores"), ("reward-detector", "Reward detector"), ("items", "Inputs")],
        body=[
            section(
                "scores",
                f"Scores under the evaluation detector ({det.get('evaluation', '')})",
                _score_table(scores, "evaluation", systems),
                _charts(scores, systems),
                _comparisons(scores),
                note="Original: the frozen answer. Prompting baseline: the same rewriter told "
                "once to answer as the persona. SFT / GRPO rewriter: a trained rewriter asked once "
                "with the loop's rewrite prompt (shown when run). VISA loop: detect, translate "
                "the gap, rewrite, shield. Value precision is the share of the distance to the target closed (0 for "
                "the original by construction).",
            ),
            section(
                "reward-detector",
                f"Scores under the reward detector ({det.get('reward', '')})",
                _score_table(scores, "reward", systems),
                note="For reference: a system that does much better here than under the "
                "evaluation detector has learned the reward detector's words.",
            ),
            *[
                section(
                    f"lang-{lang}",
                    f"Language {lang}: evaluation detector ({det.get('evaluation', '')})",
                    _score_table(scores, "evaluation", systems, lang),
                    _comparisons(
                        scores, (scores.get("comparisons_by_language") or {}).get(lang, [])
                    ),
                )
                for lang in (scores.get("scores_by_language") or {})
            ],
            section("items", "Inputs", _items(items, systems)),
        ],
    )


def write_eval_report(
    out_dir: str | Path, scores: dict[str, Any], items: list[dict[str, Any]]
) -> tuple[Path, Path]:
    """Write rewrite-report.md and rewrite-report.html into ``out_dir``; return both paths."""
    out_dir = Path(out_dir)
    md_path, html_path = out_dir / MARKDOWN_FILE, out_dir / HTML_FILE
    write_text_atomic(md_path, to_markdown(scores, items))
    write_text_atomic(html_path, to_html(scores, items))
    return md_path, html_path
