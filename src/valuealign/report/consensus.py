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
import math
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
LANGUAGE_NAMES = {"en": "English", "zh": "Chinese (中文)"}
HTML_LANG = {"en": "en", "zh": "zh-Hans"}
PROTOCOL_LABELS = {
    "reference": "the paper's negotiation (mirror descent, weakness and gap analyses)",
    "pool": "statement-pool PSRO (earlier protocol)",
}
MODE_LABELS = {"counter": "counter-proposal", "gap": "fills a gap", "innovate": "new idea"}
VARIANT_LABELS = {"prompt-only": "Prompt-only", "adapter": "Adapter"}


def agent_name(agent: str) -> str:
    """A zone id as readers know it ("confucian" -> "Confucian"); other ids unchanged."""
    from valuealign.consensus.ivs import ZONES

    return ZONES[agent]["en"] if agent in ZONES else agent


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


def _map_range(values: list[float]) -> tuple[float, float]:
    """Axis range covering ``values`` and -2..2, padded to whole halves."""
    return math.floor((min([*values, -2.0]) - 0.3) * 2) / 2, math.ceil(
        (max([*values, 2.0]) + 0.3) * 2
    ) / 2


def _placed(rows: list[dict]) -> list[dict]:
    return [
        r
        for r in rows
        if r.get("traditional_secular") is not None
        and r.get("survival_self_expression") is not None
    ]


def _iw_map(zones: dict, rows: list[dict], lay: Layout) -> str:
    """Zones and agents on the Inglehart-Welzel plane (x: survival -> self-expression, y:
    traditional -> secular-rational); the range grows to hold every point."""
    width, height = (360.0, 360.0) if lay.narrow else (620.0, 460.0)
    pad, top, right = 46.0, 30.0, (16.0 if lay.narrow else 120.0)
    placed = _placed(rows)
    xlo, xhi = _map_range(
        [c["survival_self_expression"] for c in zones.values()]
        + [r["survival_self_expression"] for r in placed]
    )
    ylo, yhi = _map_range(
        [c["traditional_secular"] for c in zones.values()]
        + [r["traditional_secular"] for r in placed]
    )
    plot_w, plot_h = width - pad - right, height - pad - top

    def x(v: float) -> float:
        return pad + plot_w * (v - xlo) / (xhi - xlo)

    def y(v: float) -> float:
        return top + plot_h - plot_h * (v - ylo) / (yhi - ylo)

    body = [
        f'<rect class="grid" x="{pad}" y="{top}" width="{plot_w:.1f}" height="{plot_h:.1f}"/>',
        f'<line class="grid" x1="{x(0):.1f}" y1="{top}" x2="{x(0):.1f}" y2="{top + plot_h:.1f}"/>',
        f'<line class="grid" x1="{pad}" y1="{y(0):.1f}" x2="{pad + plot_w:.1f}" y2="{y(0):.1f}"/>',
        text(pad + plot_w / 2, height - 8, "survival ← → self-expression", "tick", "middle"),
        text(
            14,
            top + plot_h / 2,
            "traditional ← → secular-rational",
            "tick",
            "middle",
            extra=f' transform="rotate(-90 14 {top + plot_h / 2:.1f})"',
        ),
        text(
            pad,
            16,
            fit(
                "■ zone (survey)  ● prompt-only agent  ▲ adapter agent", width - pad, lay.tick_font
            ),
            "tick",
        ),
    ]
    body += [
        text(x(t), top + plot_h + 15, str(t), "tick", "middle")
        for t in range(math.ceil(xlo), math.floor(xhi) + 1)
    ]
    body += [
        text(pad - 5, y(t) + 4, str(t), "tick", "end")
        for t in range(math.ceil(ylo), math.floor(yhi) + 1)
    ]
    color_of = {z: color(i) for i, z in enumerate(sorted(zones))}
    for z, c in sorted(zones.items()):
        cx, cy = x(c["survival_self_expression"]), y(c["traditional_secular"])
        name = agent_name(z)
        body.append(
            f'<rect x="{cx - 6:.1f}" y="{cy - 6:.1f}" width="12" height="12" fill="{color_of[z]}" '
            f'opacity="0.6"><title>{esc(name)} (survey)</title></rect>'
        )
        body.append(
            text(cx + 9, cy + 4, fit(name, width - cx - 11, lay.tick_font), "tick zone", tip=name)
        )
    for r in placed:
        c = color_of.get(r["zone"], "#000")
        cx, cy = x(r["survival_self_expression"]), y(r["traditional_secular"])
        zc = zones.get(r["zone"])
        if zc:
            body.append(
                f'<line x1="{cx:.1f}" y1="{cy:.1f}" x2="{x(zc["survival_self_expression"]):.1f}" '
                f'y2="{y(zc["traditional_secular"]):.1f}" stroke="{c}" stroke-dasharray="4 3"/>'
            )
        what = f"{agent_name(r['zone'])} agent ({VARIANT_LABELS.get(r['variant'], r['variant'])})"
        tip = f"<title>{esc(what)}</title>"
        if r["variant"] == "adapter":
            body.append(
                f'<polygon points="{cx:.1f},{cy - 8:.1f} {cx - 7:.1f},{cy + 6:.1f} '
                f'{cx + 7:.1f},{cy + 6:.1f}" fill="{c}" stroke="#000">{tip}</polygon>'
            )
        else:
            body.append(
                f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="6" fill="{c}" stroke="#000">{tip}</circle>'
            )
    label = "agents and zones on the Inglehart-Welzel map"
    return svg(width, height, label, body, f"chart map {lay.cls}")


def validation_map(report: dict) -> str:
    zones = {
        z: c
        for z, c in (report.get("zones") or {}).items()
        if c.get("traditional_secular") is not None
    }
    rows = report.get("table") or []
    trs = [
        [
            td(VARIANT_LABELS.get(r["variant"], r["variant"])),
            td(agent_name(r["zone"])),
            td(_fmt(r.get("traditional_secular"), 2), num=True),
            td(_fmt(r.get("survival_self_expression"), 2), num=True),
            td(_fmt(r.get("distance"), 2), num=True),
            td(agent_name(r["nearest_zone"]) if r.get("nearest_zone") else "n/a"),
            td("n/a" if r.get("in_own_zone") is None else "yes" if r["in_own_zone"] else "no"),
            td(r.get("unparsed", 0), num=True),
        ]
        for r in rows
    ]
    head = ["Agent", "Zone", "Traditional → secular", "Survival → self-expression"]
    head += ["Distance to own zone", "Nearest zone", "Nearest is its own", "Unparsed answers"]
    method = (report.get("map") or {}).get("method", "linear proxy")
    how = str(report.get("note", ""))
    how = esc(how[:1].upper() + how[1:]) + "."
    how = f'<p class="warn">{how}</p>' if method == "linear proxy" else f'<p class="note">{how}</p>'
    language = LANGUAGE_NAMES.get(report.get("language"), str(report.get("language")))
    return section(
        "validation",
        "Do the agents represent their cultures?",
        how,
        responsive(_iw_map(zones, rows, WIDE), _iw_map(zones, rows, NARROW)),
        table(head, trs),
        note=f"Each agent answered the ten Inglehart-Welzel survey items under "
        f"{esc(report.get('personas'))} demographic persona(s), in {esc(language)}; its answers "
        "place it on the cultural map next to the zones' survey coordinates (squares). Circles: "
        "prompt-only agents; triangles: adapter agents; dashed: distance to the agent's own "
        "zone. An agent represents its culture when it lands nearer its own zone than any other.",
    )


def write_validation_report(out_dir: str | Path) -> Path:
    out_dir = Path(out_dir)
    report = json.loads((out_dir / "validation.json").read_text(encoding="utf-8"))
    path = out_dir / "report.html"
    write_text_atomic(path, page("valuealign agent validation", body=[validation_map(report)]))
    return path


def _trajectories(rounds: list[dict], agents: list[str], m: dict) -> str:
    """Charts by round when there are two rounds or more; otherwise a sentence saying why not."""
    if len(rounds) < 2:
        reason = STOP_LABELS.get(m.get("stop_reason"), str(m.get("stop_reason") or "unknown"))
        return (
            f'<p class="note">No trajectory to draw: the negotiation stopped after {len(rounds)} '
            f"round ({esc(reason)}), and a trajectory needs two rounds or more.</p>"
        )
    names = [agent_name(a) for a in agents]
    util = {a: [r["expected_utilities"][i] for r in rounds] for i, a in enumerate(names)}
    out = [line_chart(util, "expected utility by round (each agent's mixture)", "utility")]
    if all("best_response_utilities" in r for r in rounds):
        br = {a: [r["best_response_utilities"][i] for r in rounds] for i, a in enumerate(names)}
        out.append(line_chart(br, "utility U of each agent's best response by round", "U"))
    top = {a: [max(r["mixtures"][i]) for r in rounds] for i, a in enumerate(names)}
    out.append(line_chart(top, "weight on each agent's strongest guideline", "weight"))
    return "".join(out)


def _agent_card(agent: str, i: int, st: dict, mine: list[dict], m: dict, lang: str) -> str:
    brs = [ev for ev in mine if ev.get("type") == "best_response" and ev.get("agent") == agent]
    items = "".join(
        f"<li>round {esc(ev['round'] + 1)}: <b>{esc(ev['guideline']['content'])}</b> "
        f'<span class="muted">({esc(MODE_LABELS.get(ev.get("mode", ""), ev.get("mode", "")))}, '
        f"U = {esc(_fmt(ev.get('utility')))})</span><br>{esc(ev.get('statement', ''))}</li>"
        for ev in brs
    )
    vsc = ((m.get("vsc") or {}).get("vsc") or {}).get(agent)
    return (
        f'<div class="card"><h4>{esc(agent_name(agent))}</h4><p class="muted">Opening</p>'
        f'<p class="stmt" lang="{lang}">{esc(st["openings"][i])}</p>'
        + (
            f'<p class="muted">Best responses</p><ol lang="{lang}">{items}</ol>'
            if items
            else '<p class="muted">Best responses: none (no round was played)</p>'
        )
        + f'<p class="muted">Final statement (value self-consistency {esc(_fmt(vsc))})</p>'
        f'<p class="stmt" lang="{lang}">{esc(st["finals"][i])}</p></div>'
    )


def _readable_flag(flag: str) -> str:
    """'confucian: the opening repeats the topic' -> 'Confucian: the opening repeats the topic'."""
    agent, sep, rest = flag.partition(": ")
    return f"{agent_name(agent)}: {rest}" if sep else flag


def _topic_section(st: dict, events: list[dict], m: dict) -> str:
    tid = st["topic_id"]
    lang = HTML_LANG.get(st.get("language", "en"), "en")
    mine = [ev for ev in events if ev.get("topic_id") == tid]
    rounds = [ev for ev in mine if ev.get("type") == "round"]
    agents = st["agents"]
    out = []
    flags = m.get("degenerate") or []
    if flags:
        out.append(
            '<p class="warn">Suspect run: '
            + "; ".join(esc(_readable_flag(f)) for f in flags)
            + ". Read this topic's scores with care.</p>"
        )
    out.append(_trajectories(rounds, agents, m))
    out.append(
        "<h3>Each agent: opening, best responses, final statement</h3>"
        '<div class="side">'
        + "".join(_agent_card(a, i, st, mine, m, lang) for i, a in enumerate(agents))
        + "</div>"
    )
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
                else "\n".join(
                    f"[{agent_name(a)}] {f}" for a, f in zip(agents, finals, strict=False)
                )
            )
            sc = res.get("scores") or {}
            rows.append(
                [
                    th(METHOD_LABELS.get(name, name)),
                    td(None, cls="stmt", html_=f'<span lang="{lang}">{esc(statement)}</span>'),
                    td(_fmt(sc.get("mean_vsc")), num=True),
                    td(_fmt(sc.get("consensus_gain")), num=True),
                    td(_fmt(sc.get("pba_gain")), num=True),
                ]
            )
        head = ["Method", "Final statement(s)", "Value self-consistency", "Consensus gain"]
        out.append("<h3>Other methods on this topic</h3>" + table([*head, "PBA gain"], rows))
    stop = STOP_LABELS.get(m.get("stop_reason"), str(m.get("stop_reason")))
    html_ = section(
        f"topic-{tid}",
        st["topic"],
        *out,
        note=f"Rounds played: {esc(m.get('rounds_used'))}, stopped because {esc(stop)}. "
        "Distance from equilibrium of the final meta-game (NashConv: how much the agents "
        "together could still gain by shifting weight; 0 is an equilibrium): "
        f"{esc(_fmt(m.get('nash_conv')))}.",
    )
    return html_.replace("<h2>", f'<h2 lang="{lang}">', 1)  # the topic is generated-language text


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
    protocol, language = settings.get("protocol", ""), settings.get("language", "")
    facts = [
        ("Agents", ", ".join(agent_name(a) for a in statements[0]["agents"]) if statements else ""),
        ("Model", settings.get("model", "")),
        ("Protocol", PROTOCOL_LABELS.get(protocol, protocol)),
        ("Language", LANGUAGE_NAMES.get(language, language)),
        ("Topics", str(summary.get("topics", len(statements)))),
        ("Value rater (VSC)", rater),
        ("Text similarity", (metrics.get("similarity") or {}).get("name", "not recorded")),
        ("Rounds played (mean)", _fmt(summary.get("mean_rounds_used"), 1)),
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
