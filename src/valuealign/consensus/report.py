"""The negotiation report: per topic, expected utilities and mixtures by round (inline SVG).

One self-contained HTML file with no scripts: every generated text is escaped.
"""

from __future__ import annotations

import html
from pathlib import Path

from valuealign.errors import UserError
from valuealign.records import read_json_dicts, read_json_object, write_text_atomic
from valuealign.report.assets import CSS

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


def write_consensus_report(run_dir: str | Path) -> Path:
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
    e = html.escape
    body = ["<h1>valuealign consensus report</h1>"]
    summary = metrics.get("summary") or {}
    if summary:
        body.append("<p>" + ", ".join(f"{e(k)}: {e(str(v))}" for k, v in summary.items()) + "</p>")
    for st in statements:
        tid = st["topic_id"]
        rounds = [ev for ev in events if ev.get("topic_id") == tid and ev.get("type") == "round"]
        agents = st["agents"]
        util = {a: [r["expected_utilities"][i] for r in rounds] for i, a in enumerate(agents)}
        top = {a: [max(r["mixtures"][i]) for r in rounds] for i, a in enumerate(agents)}
        m = metrics.get("topics", {}).get(tid, {})
        body.append(f"<section><h2>{e(st['topic'])}</h2>")
        body.append(_line_chart(util, "expected utility by round", "utility"))
        body.append(_line_chart(top, "weight of each agent's top statement", "max weight"))
        rows = "".join(
            f"<tr><th>{e(a)}</th><td>{e(o)}</td><td>{e(f)}</td><td>{e(str((m.get('vsc') or {}).get('vsc', {}).get(a)))}</td></tr>"
            for a, o, f in zip(agents, st["openings"], st["finals"], strict=True)
        )
        body.append(
            "<table class='data'><tr><th>agent</th><th>opening</th><th>final consensus statement</th><th>VSC</th></tr>"
            f"{rows}</table>"
        )
        for name in ("one_shot", "best_of_n_schulze"):
            if st.get("baselines", {}).get(name):
                body.append(f"<p><b>{e(name)}</b>: {e(st['baselines'][name])}</p>")
        pba = m.get("pba")
        body.append(
            f"<p>rounds used: {e(str(m.get('rounds_used')))} ({e(str(m.get('stop_reason')))}), "
            f"NashConv: {e(str(m.get('nash_conv')))}, PBA mean gain: "
            f"{e(str(pba['mean_gain'])) if pba else 'n/a (needs log-probabilities)'}, "
            f"VSC balance: {e(str((m.get('vsc') or {}).get('balance')))}</p></section>"
        )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>valuealign consensus</title><style>{CSS}"
        "table.data td,table.data th{text-align:left}svg{margin:4px;max-width:100%;height:auto}"
        "</style></head><body><main>" + "".join(body) + "</main></body></html>"
    )
    path = run_dir / "report.html"
    write_text_atomic(path, page)
    return path
