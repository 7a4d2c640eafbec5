"""The consensus report, on the shared report design (valuealign.report's stylesheet).

Sections: warnings (degenerate runs), the comparison table of methods (same PBA, VSC, consensus
gain and balance for every method, means with 95% bootstrap intervals over topics), the
agent-validation map (when a validate-agents result is next to the run or given), and per topic:
trajectories by round, each agent's opening, best responses and final statement side by side,
and every method's final statements. One self-contained HTML file with no scripts: every
generated text is escaped.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from valuealign.errors import UserError
from valuealign.records import read_json_dicts, read_json_object, write_text_atomic

COLORS = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#ff9da6", "#9d755d")


def _line_chart(
    series: dict[str, list[float]], title: str, y_label: str, width: int = 460, height: int = 220
) -> str:
    pad = 40
    legend = 130  # room on the right for the agents' names
    values = [v for vs in series.values() for v in vs]
    if not values:
        return ""
    lo, hi = min([*values, 0.0]), max([*values, 1.0])
    n = max(len(vs) for vs in series.values())

    def x(k: int) -> float:
        return pad + (width - 2 * pad) * (k / max(1, n - 1))

    def y(v: float) -> float:
        return height - pad - (height - 2 * pad) * ((v - lo) / (hi - lo or 1))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width + legend}" height="{height}" role="img" '
        f'aria-label="{html.escape(title)}">',
        f'<text x="{pad}" y="16" font-size="12" font-weight="bold">{html.escape(title)}</text>',
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#999"/>',
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#999"/>',
        f'<text x="{pad}" y="{height - 8}" font-size="10">round</text>',
        f'<text x="2" y="{pad - 6}" font-size="10">{html.escape(y_label)}</text>',
        f'<text x="{pad - 4}" y="{y(hi) + 4:.1f}" font-size="9" text-anchor="end">{hi:.2f}</text>',
        f'<text x="{pad - 4}" y="{y(lo) + 4:.1f}" font-size="9" text-anchor="end">{lo:.2f}</text>',
    ]
    for k in range(n):
        parts.append(
            f'<text x="{x(k):.1f}" y="{height - pad + 14}" font-size="9" text-anchor="middle">{k}</text>'
        )
    for idx, (name, vs) in enumerate(series.items()):
        color = COLORS[idx % len(COLORS)]
        points = " ".join(f"{x(k):.1f},{y(v):.1f}" for k, v in enumerate(vs))
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{points}"/>')
        parts += [
            f'<circle cx="{x(k):.1f}" cy="{y(v):.1f}" r="3" fill="{color}"/>'
            for k, v in enumerate(vs)
        ]
        parts.append(
            f'<text x="{width - pad + 4}" y="{pad + 14 * idx}" font-size="10" fill="{color}">{html.escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


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


def _css() -> str:
    from valuealign.report.assets import CSS

    return CSS + (
        ".side{display:grid;grid-template-columns:repeat(auto-fit,minmax(280px,1fr));gap:10px}"
        ".card{border:1px solid var(--line);border-radius:4px;padding:8px 10px;background:#fff}"
        ".card h4{margin:0 0 4px;font-size:13px}.card ol{padding-left:18px;margin:4px 0}"
        ".stmt{white-space:pre-wrap}"
    )


def _fmt(x, nd: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{nd}f}"


def _cell(stats: dict) -> str:
    e = html.escape
    if not stats or stats.get("mean") is None:
        return '<td class="num muted">n/a</td>'
    ci = f" [{_fmt(stats['low'])}, {_fmt(stats['high'])}]" if stats.get("low") is not None else ""
    return f'<td class="num">{e(_fmt(stats["mean"]))}{e(ci)} <span class="muted">n={stats["n"]}</span></td>'


def methods_table(summary: dict) -> str:
    from valuealign.consensus.metrics import METRIC_LABELS

    e = html.escape
    table = summary.get("methods") or {}
    if not table:
        return ""
    head = "".join(f"<th>{e(v)}</th>" for v in METRIC_LABELS.values())
    rows = []
    for name, row in table.items():
        cells = "".join(_cell(row.get(k) or {}) for k in METRIC_LABELS)
        below = row.get("echo_ratio_below_1")
        rows.append(
            f"<tr><th>{e(METHOD_LABELS.get(name, name))}</th>{cells}"
            f'<td class="num">{e("n/a" if below is None else f"{below:.0%}")}</td>'
            f'<td class="num">{row.get("zero_vectors", 0)}</td><td class="num">{row.get("topics")}</td></tr>'
        )
    return (
        '<section id="methods"><h2>Methods compared</h2>'
        '<p class="note">Every method is scored on the same topics against the same opening '
        "opinions. Means with 95% bootstrap intervals over topics. PBA gain: how much less "
        "perplexing the other agents find each final statement than its opening (higher is "
        "better). Echo-PPL gap ratio: the reference PBA, below 1 means the sides' mutual "
        "acceptance evened out. VSC: cosine between each agent's final and opening value "
        "vectors. Consensus gain: value-vector cosine between agents after minus before. "
        "Balance: spread across agents (small is fair).</p>"
        f'<table class="data"><tr><th>Method</th>{head}<th>Topics with echo ratio &lt; 1</th>'
        f"<th>All-zero value vectors</th><th>Topics</th></tr>{''.join(rows)}</table></section>"
    )


def validation_map(report: dict, width: int = 560, height: int = 420) -> str:
    """Zones and agents on the Inglehart-Welzel plane (x: survival -> self-expression,
    y: traditional -> secular-rational)."""
    e = html.escape
    zones = report.get("zones") or {}
    rows = report.get("table") or []
    pad = 46
    lo, hi = -2.5, 2.5

    def x(v: float) -> float:
        return pad + (width - 2 * pad) * (v - lo) / (hi - lo)

    def y(v: float) -> float:
        return height - pad - (height - 2 * pad) * (v - lo) / (hi - lo)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        'aria-label="agents and zones on the Inglehart-Welzel map">',
        f'<line x1="{x(0):.1f}" y1="{pad}" x2="{x(0):.1f}" y2="{height - pad}" stroke="#ccc"/>',
        f'<line x1="{pad}" y1="{y(0):.1f}" x2="{width - pad}" y2="{y(0):.1f}" stroke="#ccc"/>',
        f'<text x="{width / 2}" y="{height - 10}" font-size="11" text-anchor="middle">survival ← → self-expression</text>',
        f'<text x="12" y="{height / 2}" font-size="11" transform="rotate(-90 12 {height / 2})" text-anchor="middle">traditional ← → secular-rational</text>',
    ]
    for i, (z, c) in enumerate(sorted(zones.items())):
        color = COLORS[i % len(COLORS)]
        cx, cy = x(c["survival_self_expression"]), y(c["traditional_secular"])
        parts.append(
            f'<rect x="{cx - 5:.1f}" y="{cy - 5:.1f}" width="10" height="10" fill="{color}" opacity="0.5"/>'
        )
        parts.append(
            f'<text x="{cx + 7:.1f}" y="{cy + 4:.1f}" font-size="10" fill="#555">{e(z)}</text>'
        )
    color_of = {z: COLORS[i % len(COLORS)] for i, z in enumerate(sorted(zones))}
    for r in rows:
        ts, sse = r.get("traditional_secular"), r.get("survival_self_expression")
        if ts is None or sse is None:
            continue
        c = color_of.get(r["zone"], "#000")
        cx, cy = x(max(lo, min(hi, sse))), y(max(lo, min(hi, ts)))
        if r["variant"] == "adapter":
            parts.append(
                f'<polygon points="{cx:.1f},{cy - 7:.1f} {cx - 6:.1f},{cy + 5:.1f} {cx + 6:.1f},{cy + 5:.1f}" fill="{c}" stroke="#000"/>'
            )
        else:
            parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="6" fill="{c}" stroke="#000"/>')
        zc = zones.get(r["zone"])
        if zc:
            parts.append(
                f'<line x1="{cx:.1f}" y1="{cy:.1f}" x2="{x(zc["survival_self_expression"]):.1f}" '
                f'y2="{y(zc["traditional_secular"]):.1f}" stroke="{c}" stroke-dasharray="3 3"/>'
            )
    parts.append("</svg>")
    trs = "".join(
        f"<tr><td>{e(r['variant'])}</td><td>{e(r['zone'])}</td>"
        f'<td class="num">{e(_fmt(r.get("traditional_secular"), 2))}</td>'
        f'<td class="num">{e(_fmt(r.get("survival_self_expression"), 2))}</td>'
        f'<td class="num">{e(_fmt(r.get("distance"), 2))}</td><td>{e(str(r.get("nearest_zone")))}</td>'
        f"<td>{'yes' if r.get('in_own_zone') else 'no'}</td>"
        f'<td class="num">{r.get("unparsed", 0)}</td></tr>'
        for r in rows
    )
    return (
        '<section id="validation"><h2>Do the agents represent their cultures?</h2>'
        f'<p class="note">Ten IVS items under {report.get("personas")} demographic persona(s), '
        f"in {e(str(report.get('language')))}. Squares: zones (survey coordinates); circles: "
        "prompt-only agents; triangles: adapter agents; dashed: distance to the agent's own zone. "
        f"{e(report.get('note', ''))}.</p>"
        + "".join(parts)
        + '<table class="data"><tr><th>Agent</th><th>Zone</th><th>Traditional → secular</th>'
        "<th>Survival → self-expression</th><th>Distance to own zone</th><th>Nearest zone</th>"
        f"<th>Nearest is its own</th><th>Unparsed answers</th></tr>{trs}</table></section>"
    )


def _page(title: str, header: str, body: list[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        '<meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_css()}</style></head><body>"
        f"<header><h1>{html.escape(title)}</h1>{header}</header><main>"
        + "".join(body)
        + "</main></body></html>\n"
    )


def write_validation_report(out_dir: str | Path) -> Path:
    out_dir = Path(out_dir)
    report = json.loads((out_dir / "validation.json").read_text(encoding="utf-8"))
    path = out_dir / "report.html"
    write_text_atomic(path, _page("valuealign agent validation", "", [validation_map(report)]))
    return path


def _topic_section(st: dict, events: list[dict], m: dict) -> str:
    e = html.escape
    tid = st["topic_id"]
    mine = [ev for ev in events if ev.get("topic_id") == tid]
    rounds = [ev for ev in mine if ev.get("type") == "round"]
    agents = st["agents"]
    out = [f'<section id="topic-{e(tid)}"><h2>{e(st["topic"])}</h2>']
    flags = m.get("degenerate") or []
    if flags:
        out.append('<p class="warn">Suspect run: ' + "; ".join(e(f) for f in flags) + "</p>")
    out.append(
        f'<p class="note">Rounds: {e(str(m.get("rounds_used")))} — stopped because '
        f"{e(STOP_LABELS.get(m.get('stop_reason'), str(m.get('stop_reason'))))}; distance from "
        f"equilibrium (NashConv) of the final meta-game: {e(_fmt(m.get('nash_conv')))}.</p>"
    )
    if len(rounds) >= 2:
        util = {a: [r["expected_utilities"][i] for r in rounds] for i, a in enumerate(agents)}
        out.append(_line_chart(util, "expected utility by round", "utility"))
        if all("best_response_utilities" in r for r in rounds):
            br = {
                a: [r["best_response_utilities"][i] for r in rounds] for i, a in enumerate(agents)
            }
            out.append(_line_chart(br, "best-response utility U by round", "U"))
        top = {a: [max(r["mixtures"][i]) for r in rounds] for i, a in enumerate(agents)}
        out.append(_line_chart(top, "weight of each agent's top guideline", "weight"))
    else:
        out.append(
            '<p class="note">One round only: no trajectory to draw (expected utility by round needs two).</p>'
        )
    cards = []
    for i, a in enumerate(agents):
        brs = [ev for ev in mine if ev.get("type") == "best_response" and ev.get("agent") == a]
        items = "".join(
            f"<li>round {ev['round'] + 1}: <b>{e(ev['guideline']['content'])}</b> "
            f'<span class="muted">(U={_fmt(ev.get("utility"))}, {e(ev.get("mode", ""))})</span>'
            f"<br>{e(ev.get('statement', ''))}</li>"
            for ev in brs
        )
        vsc = ((m.get("vsc") or {}).get("vsc") or {}).get(a)
        cards.append(
            f'<div class="card"><h4>{e(a)}</h4><p class="muted">Opening</p>'
            f'<p class="stmt">{e(st["openings"][i])}</p>'
            + (f'<p class="muted">Best responses</p><ol>{items}</ol>' if items else "")
            + f'<p class="muted">Final statement (VSC {e(_fmt(vsc))})</p>'
            f'<p class="stmt">{e(st["finals"][i])}</p></div>'
        )
    out.append('<div class="side">' + "".join(cards) + "</div>")
    methods = m.get("methods") or {}
    if len(methods) > 1:
        rows = []
        for name, res in methods.items():
            if name == "psro":
                continue
            finals = res.get("finals") or []
            text = (
                finals[0]
                if finals and all(f == finals[0] for f in finals)
                else "\n".join(f"[{a}] {f}" for a, f in zip(agents, finals, strict=False))
            )
            sc = res.get("scores") or {}
            rows.append(
                f'<tr><th>{e(METHOD_LABELS.get(name, name))}</th><td class="stmt">{e(text)}</td>'
                f'<td class="num">{e(_fmt(sc.get("mean_vsc")))}</td>'
                f'<td class="num">{e(_fmt(sc.get("consensus_gain")))}</td>'
                f'<td class="num">{e(_fmt(sc.get("pba_gain")))}</td></tr>'
            )
        out.append(
            '<h3>Other methods on this topic</h3><table class="data"><tr><th>Method</th>'
            "<th>Final statement(s)</th><th>VSC</th><th>Consensus gain</th><th>PBA gain</th></tr>"
            + "".join(rows)
            + "</table>"
        )
    out.append("</section>")
    return "".join(out)


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
    e = html.escape
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
        ("Mean rounds used", str(summary.get("mean_rounds_used"))),
    ]
    header = "<dl>" + "".join(f"<dt>{e(k)}</dt><dd>{e(str(v))}</dd>" for k, v in facts) + "</dl>"
    body = []
    bad = summary.get("degenerate_topics") or []
    if bad:
        body.append(
            f'<p class="warn">{len(bad)} of {len(statements)} topic(s) look degenerate (an opening '
            "repeating the topic, a statement echoing the prompt, or a stop in round 1): "
            + ", ".join(e(t) for t in bad)
            + ". Read their scores with care.</p>"
        )
    body.append(methods_table(summary))
    vpath = Path(validation) if validation else run_dir / "validation.json"
    if vpath.exists():
        body.append(validation_map(json.loads(vpath.read_text(encoding="utf-8"))))
    for st in statements:
        body.append(_topic_section(st, events, metrics.get("topics", {}).get(st["topic_id"], {})))
    path = run_dir / "report.html"
    write_text_atomic(path, _page("valuealign consensus report", header, body))
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
