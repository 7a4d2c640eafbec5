"""The consensus and agent-validation reports, on the shared report page.

Sections: "Read this first" (degenerate runs, failed topics), the comparison table of methods
(same PBA, VSC, consensus gain and balance for every method, means with 95% bootstrap intervals
over topics), the agent-validation map (when a validate-agents result is next to the run or
given), and per topic: trajectories by round, each agent's opening, best responses and final
statement side by side, and every method's final statements. One self-contained HTML file with
no scripts (:mod:`valuealign.report.page`); every generated text is escaped.
"""

from __future__ import annotations

import json
from pathlib import Path

from valuealign.errors import UserError
from valuealign.records import read_json_dicts, read_json_object, write_text_atomic
from valuealign.report.charts import (
    NARROW,
    WIDE,
    Layout,
    color,
    fit,
    line_chart,
    responsive,
    short,
    svg,
    text,
)
from valuealign.report.page import esc, page, section, table, td, th

METHOD_LABELS = {
    "psro": "Negotiation (PSRO, reference protocol)",
    "debate": "Multi-agent debate",
    "consultancy": "Consultancy",
    "one_shot": "One-shot (neutral model)",
    "schulze": "Best-of-n + Schulze vote",
}
STOP_LABELS = {
    "utility_stable": "utilities stable (reference stopping rule)",
    "max_rounds": "round limit reached",
    "no_improving_response": "no improving response",
}
HIGHER = {"pba_gain": True, "consensus_gain": True, "mean_vsc": True}


def _fmt(x, nd: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{nd}f}"


def _cell(stats: dict) -> str:
    if not stats or stats.get("mean") is None:
        return td("n/a", num=True, cls="muted")
    ci = f" [{_fmt(stats['low'])}, {_fmt(stats['high'])}]" if stats.get("low") is not None else ""
    n = f' <span class="muted">n={esc(stats["n"])}</span>'
    return td(None, num=True, html_=esc(_fmt(stats["mean"]) + ci) + n)


def methods_table(summary: dict) -> str:
    from valuealign.consensus.metrics import METRIC_LABELS

    methods = summary.get("methods") or {}
    if not methods:
        return ""
    rows = []
    for name, row in methods.items():
        below = row.get("echo_ratio_below_1")
        rows.append(
            [th(METHOD_LABELS.get(name, name))]
            + [_cell(row.get(k) or {}) for k in METRIC_LABELS]
            + [
                td("n/a" if below is None else f"{below:.0%}", num=True),
                td(row.get("zero_vectors", 0), num=True),
                td(row.get("topics"), num=True),
            ]
        )
    head = ["Method", *METRIC_LABELS.values()]
    head += ["Topics with echo ratio < 1", "All-zero value vectors", "Topics"]
    return section(
        "methods",
        "Methods compared",
        table(head, rows),
        note="Every method is scored on the same topics against the same opening opinions. Means "
        "with 95% bootstrap intervals over topics. PBA gain: how much less perplexing the other "
        "agents find each final statement than its opening (higher is better). Echo-PPL gap "
        "ratio: the reference PBA, below 1 means the sides' mutual acceptance evened out. VSC: "
        "cosine between each agent's final and opening value vectors. Consensus gain: "
        "value-vector cosine between agents after minus before. Balance: spread across agents "
        "(small is fair).",
    )


def _iw_map(zones: dict, rows: list[dict], lay: Layout) -> str:
    """Zones and agents on the Inglehart-Welzel plane (x: survival -> self-expression, y:
    traditional -> secular-rational)."""
    width, height = (360.0, 330.0) if lay.narrow else (560.0, 420.0)
    pad = 46.0
    lo, hi = -2.5, 2.5

    def x(v: float) -> float:
        return pad + (width - 2 * pad) * (v - lo) / (hi - lo)

    def y(v: float) -> float:
        return height - pad - (height - 2 * pad) * (v - lo) / (hi - lo)

    body = [
        f'<line class="grid" x1="{x(0):.1f}" y1="{pad}" x2="{x(0):.1f}" y2="{height - pad}"/>',
        f'<line class="grid" x1="{pad}" y1="{y(0):.1f}" x2="{width - pad}" y2="{y(0):.1f}"/>',
        text(width / 2, height - 10, "survival ← → self-expression", "tick", "middle"),
        text(
            14,
            height / 2,
            "traditional ← → secular-rational",
            "tick",
            "middle",
            extra=f' transform="rotate(-90 14 {height / 2:.1f})"',
        ),
    ]
    for i, (z, c) in enumerate(sorted(zones.items())):
        cx, cy = x(c["survival_self_expression"]), y(c["traditional_secular"])
        body.append(
            f'<rect x="{cx - 5:.1f}" y="{cy - 5:.1f}" width="10" height="10" fill="{color(i)}" '
            f'opacity="0.5"><title>{esc(z)}</title></rect>'
        )
        body.append(text(cx + 7, cy + 4, fit(z, width - cx - 9, lay.tick_font), "tick zone", tip=z))
    color_of = {z: color(i) for i, z in enumerate(sorted(zones))}
    for r in rows:
        ts, sse = r.get("traditional_secular"), r.get("survival_self_expression")
        if ts is None or sse is None:
            continue
        c = color_of.get(r["zone"], "#000")
        cx, cy = x(max(lo, min(hi, sse))), y(max(lo, min(hi, ts)))
        what = f"{r['variant']} agent of {r['zone']}"
        tip = f"<title>{esc(what)}</title>"
        if r["variant"] == "adapter":
            body.append(
                f'<polygon points="{cx:.1f},{cy - 7:.1f} {cx - 6:.1f},{cy + 5:.1f} '
                f'{cx + 6:.1f},{cy + 5:.1f}" fill="{c}" stroke="#000">{tip}</polygon>'
            )
        else:
            body.append(
                f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="6" fill="{c}" stroke="#000">{tip}</circle>'
            )
        zc = zones.get(r["zone"])
        if zc:
            body.append(
                f'<line x1="{cx:.1f}" y1="{cy:.1f}" x2="{x(zc["survival_self_expression"]):.1f}" '
                f'y2="{y(zc["traditional_secular"]):.1f}" stroke="{c}" stroke-dasharray="3 3"/>'
            )
    label = "agents and zones on the Inglehart-Welzel map"
    return svg(width, height, label, body, f"chart map {lay.cls}")


def validation_map(report: dict) -> str:
    zones = report.get("zones") or {}
    rows = report.get("table") or []
    trs = [
        [
            td(r["variant"]),
            td(r["zone"]),
            td(_fmt(r.get("traditional_secular"), 2), num=True),
            td(_fmt(r.get("survival_self_expression"), 2), num=True),
            td(_fmt(r.get("distance"), 2), num=True),
            td(str(r.get("nearest_zone"))),
            td("yes" if r.get("in_own_zone") else "no"),
            td(r.get("unparsed", 0), num=True),
        ]
        for r in rows
    ]
    head = ["Agent", "Zone", "Traditional → secular", "Survival → self-expression"]
    head += ["Distance to own zone", "Nearest zone", "Nearest is its own", "Unparsed answers"]
    return section(
        "validation",
        "Do the agents represent their cultures?",
        responsive(_iw_map(zones, rows, WIDE), _iw_map(zones, rows, NARROW)),
        table(head, trs),
        note=f"Ten IVS items under {esc(report.get('personas'))} demographic persona(s), in "
        f"{esc(report.get('language'))}. Squares: zones (survey coordinates); circles: prompt-only "
        "agents; triangles: adapter agents; dashed: distance to the agent's own zone. "
        f"{esc(report.get('note', ''))}.",
    )


def write_validation_report(out_dir: str | Path) -> Path:
    out_dir = Path(out_dir)
    report = json.loads((out_dir / "validation.json").read_text(encoding="utf-8"))
    path = out_dir / "report.html"
    write_text_atomic(path, page("valuealign agent validation", body=[validation_map(report)]))
    return path


def _topic_section(st: dict, events: list[dict], m: dict) -> str:
    tid = st["topic_id"]
    mine = [ev for ev in events if ev.get("topic_id") == tid]
    rounds = [ev for ev in mine if ev.get("type") == "round"]
    agents = st["agents"]
    out = []
    flags = m.get("degenerate") or []
    if flags:
        out.append('<p class="warn">Suspect run: ' + "; ".join(esc(f) for f in flags) + "</p>")
    if len(rounds) >= 2:
        util = {a: [r["expected_utilities"][i] for r in rounds] for i, a in enumerate(agents)}
        out.append(line_chart(util, "expected utility by round", "utility"))
        if all("best_response_utilities" in r for r in rounds):
            br = {
                a: [r["best_response_utilities"][i] for r in rounds] for i, a in enumerate(agents)
            }
            out.append(line_chart(br, "best-response utility U by round", "U"))
        top = {a: [max(r["mixtures"][i]) for r in rounds] for i, a in enumerate(agents)}
        out.append(line_chart(top, "weight of each agent's top guideline", "weight"))
    else:
        out.append(
            '<p class="note">One round only: no trajectory to draw (expected utility by round '
            "needs two).</p>"
        )
    cards = []
    for i, a in enumerate(agents):
        brs = [ev for ev in mine if ev.get("type") == "best_response" and ev.get("agent") == a]
        items = "".join(
            f"<li>round {esc(ev['round'] + 1)}: <b>{esc(ev['guideline']['content'])}</b> "
            f'<span class="muted">(U={esc(_fmt(ev.get("utility")))}, {esc(ev.get("mode", ""))})</span>'
            f"<br>{esc(ev.get('statement', ''))}</li>"
            for ev in brs
        )
        vsc = ((m.get("vsc") or {}).get("vsc") or {}).get(a)
        cards.append(
            f'<div class="card"><h4>{esc(a)}</h4><p class="muted">Opening</p>'
            f'<p class="stmt">{esc(st["openings"][i])}</p>'
            + (f'<p class="muted">Best responses</p><ol>{items}</ol>' if items else "")
            + f'<p class="muted">Final statement (VSC {esc(_fmt(vsc))})</p>'
            f'<p class="stmt">{esc(st["finals"][i])}</p></div>'
        )
    out.append('<div class="side">' + "".join(cards) + "</div>")
    methods = m.get("methods") or {}
    if len(methods) > 1:
        rows = []
        for name, res in methods.items():
            if name == "psro":
                continue
            finals = res.get("finals") or []
            statement = (
                finals[0]
                if finals and all(f == finals[0] for f in finals)
                else "\n".join(f"[{a}] {f}" for a, f in zip(agents, finals, strict=False))
            )
            sc = res.get("scores") or {}
            rows.append(
                [
                    th(METHOD_LABELS.get(name, name)),
                    td(statement, cls="stmt"),
                    td(_fmt(sc.get("mean_vsc")), num=True),
                    td(_fmt(sc.get("consensus_gain")), num=True),
                    td(_fmt(sc.get("pba_gain")), num=True),
                ]
            )
        head = ["Method", "Final statement(s)", "VSC", "Consensus gain", "PBA gain"]
        out.append("<h3>Other methods on this topic</h3>" + table(head, rows))
    stop = STOP_LABELS.get(m.get("stop_reason"), str(m.get("stop_reason")))
    return section(
        f"topic-{tid}",
        st["topic"],
        *out,
        note=f"Rounds: {esc(m.get('rounds_used'))} — stopped because {esc(stop)}; distance from "
        f"equilibrium (NashConv) of the final meta-game: {esc(_fmt(m.get('nash_conv')))}.",
    )


def _notes(summary: dict, failures: dict, n_topics: int) -> list[str]:
    notes = []
    bad = summary.get("degenerate_topics") or []
    if bad:
        notes.append(
            f"{len(bad)} of {n_topics} topic(s) look degenerate (an opening repeating the topic, a "
            "statement echoing the prompt, or a stop in round 1): "
            + ", ".join(str(t) for t in bad)
            + ". Read their scores with care."
        )
    if failures.get("failed"):
        cause = f" ({failures['cause']})" if failures.get("cause") else ""
        notes.append(
            f"{failures['failed']} of {failures.get('planned')} topic(s) failed{cause} and are "
            "not in this report; rerun the same command to retry them."
        )
    return notes


def write_consensus_report(run_dir: str | Path, validation: str | Path | None = None) -> Path:
    run_dir = Path(run_dir)
    tpath, spath, mpath = (
        run_dir / "transcript.jsonl",
        run_dir / "statements.jsonl",
        run_dir / "metrics.json",
    )
    if not spath.exists():
        raise UserError(f"{spath}: no negotiation results", fix="run `valuealign consensus` first")
    events = read_json_dicts(tpath, require=()) if tpath.exists() else []
    statements = read_json_dicts(spath, require=("topic_id",))
    metrics = read_json_object(mpath) if mpath.exists() else {"topics": {}}
    manifest = (
        json.loads((run_dir / "manifest.json").read_text())
        if (run_dir / "manifest.json").exists()
        else {}
    )
    summary = metrics.get("summary") or {}
    settings = manifest.get("settings") or {}
    first = next(iter(metrics.get("topics", {}).values()), {})
    rater = ((first.get("vsc") or {}).get("detector")) or "n/a"
    facts = [
        ("Agents", ", ".join(statements[0]["agents"]) if statements else ""),
        ("Model", settings.get("model", "")),
        ("Protocol", settings.get("protocol", "")),
        ("Language", settings.get("language", "")),
        ("Topics", str(summary.get("topics", len(statements)))),
        ("Value rater (VSC)", rater),
        ("Text similarity", (metrics.get("similarity") or {}).get("name", "not recorded")),
        ("Mean rounds used", str(summary.get("mean_rounds_used"))),
    ]
    body = [methods_table(summary)]
    vpath = Path(validation) if validation else run_dir / "validation.json"
    if vpath.exists():
        body.append(validation_map(json.loads(vpath.read_text(encoding="utf-8"))))
    for st in statements:
        body.append(_topic_section(st, events, metrics.get("topics", {}).get(st["topic_id"], {})))
    nav = [("methods", "Methods")] if summary.get("methods") else []
    nav += [("validation", "Agents")] if vpath.exists() else []
    nav += [(f"topic-{st['topic_id']}", short(st["topic"], 32)) for st in statements[:12]]
    path = run_dir / "report.html"
    notes = _notes(summary, metrics.get("failures") or {}, len(statements))
    fallback = (metrics.get("similarity") or {}).get("fallback")
    if fallback:
        notes.insert(
            0,
            f"The text similarity falls back to {metrics['similarity']['name']}: {fallback}. "
            "Utilities on Chinese text rest on surface overlap, not meaning.",
        )
    write_text_atomic(
        path, page("valuealign consensus report", facts=facts, notes=notes, nav=nav, body=body)
    )
    return path


def summary_lines(summary: dict) -> list[str]:
    """The methods table as plain lines for the terminal (readable labels, no raw keys)."""
    from valuealign.consensus.metrics import METRIC_LABELS

    lines = [f"consensus over {summary.get('topics', 0)} topic(s)"]
    bad = summary.get("degenerate_topics") or []
    if bad:
        lines.append(f"  degenerate run(s), read with care: {', '.join(bad)}")
    for name, row in (summary.get("methods") or {}).items():
        parts = []
        for key in ("mean_vsc", "consensus_gain", "vsc_balance", "pba_gain", "echo_ratio"):
            mean = (row.get(key) or {}).get("mean")
            parts.append(f"{METRIC_LABELS[key].split(' (')[0]} {_fmt(mean)}")
        lines.append(f"  {METHOD_LABELS.get(name, name)}: " + "; ".join(parts))
    return lines
