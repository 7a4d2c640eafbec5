"""Inline SVG charts. Every piece of text goes through :func:`esc`; nothing is fetched."""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from typing import Any

from valuealign.report.data import RunData, as_dict, ci_bounds, number

PALETTE = [
    "#4e79a7",
    "#e15759",
    "#59a14f",
    "#f28e2b",
    "#b07aa1",
    "#76b7b2",
    "#9c755f",
    "#d4a017",
    "#ff9da7",
    "#6b6b6b",
]
SCORE_COLORS = {"1": "#d73027", "2": "#fc8d59", "3": "#e6c74c", "4": "#91cf60", "5": "#1a9850"}


def esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def short(text: str, n: int = 28) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def legend(models: Sequence[str]) -> str:
    items = "".join(
        f'<span class="key"><span class="sw" style="background:{color(i)}"></span>{esc(m)}</span>'
        for i, m in enumerate(models)
    )
    return f'<div class="legend">{items}</div>'


def _svg(w: float, h: float, label: str, body: list[str], cls: str = "chart") -> str:
    return (
        f'<svg class="{cls}" viewBox="0 0 {w:.0f} {h:.0f}" width="{w:.0f}" height="{h:.0f}" '
        f'role="img" '
        f'aria-label="{esc(label)}">' + "".join(body) + "</svg>"
    )


def _text(
    x: float, y: float, text: str, cls: str = "", anchor: str = "start", tip: str = ""
) -> str:
    title = f"<title>{esc(tip)}</title>" if tip else ""
    c = f' class="{cls}"' if cls else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{c}>{title}{esc(text)}</text>'


def _xaxis(
    x: Callable[[float], float], ticks: Sequence[float], y0: float, y1: float, f
) -> list[str]:
    out = []
    for t in ticks:
        out.append(
            f'<line class="grid" x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{y0:.1f}" y2="{y1:.1f}"/>'
        )
        out.append(_text(x(t), y0 - 6, f(t), "tick", "middle"))
    return out


def _clamp(v: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, v))


def radar(run: RunData, lang: str) -> str:
    """One polygon per model over the subdomain means (centre = 1, rim = 5)."""
    subs = run.subdomain_ids()
    n = len(subs)
    if n < 3:
        return '<p class="note">A radar chart needs at least three subdomains.</p>'
    rad, mx, my = 140.0, 175.0, 48.0
    w, h = 2 * (rad + mx), 2 * (rad + my)
    cx, cy = w / 2, h / 2

    def pt(i: int, v: float) -> tuple[float, float]:
        a = -math.pi / 2 + 2 * math.pi * i / n
        r = rad * (_clamp(v, 1, 5) - 1) / 4
        return cx + r * math.cos(a), cy + r * math.sin(a)

    def poly(vals: Sequence[float]) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y in (pt(i, v) for i, v in enumerate(vals)))

    body = []
    # rim ticks on the bisector between the first two axes, where no data point sits
    ta = -math.pi / 2 + math.pi / n
    for v in (2, 3, 4, 5):
        body.append(f'<polygon class="grid" points="{poly([v] * n)}"/>')
        r = rad * (v - 1) / 4
        body.append(_text(cx + r * math.cos(ta) + 3, cy + r * math.sin(ta) + 3, str(v), "tick"))
    for i, s in enumerate(subs):
        x, y = pt(i, 5)
        body.append(f'<line class="grid" x1="{cx:.1f}" y1="{cy:.1f}" x2="{x:.1f}" y2="{y:.1f}"/>')
        a = -math.pi / 2 + 2 * math.pi * i / n
        c, sn = math.cos(a), math.sin(a)
        anchor = "start" if c > 0.1 else "end" if c < -0.1 else "middle"
        lx, ly = (
            cx + (rad + 10) * c,
            cy + (rad + 10) * sn + (12 if sn > 0.3 else 4 if sn > -0.3 else -4),
        )
        name = run.subdomain_name(s)
        # long names wrap onto two short lines, so neighbouring labels never run into each other
        lines = _wrap(name, 22 if anchor == "middle" else 24)
        if sn < -0.3 and len(lines) > 1:
            ly -= 13 * (len(lines) - 1)  # labels above the centre grow upwards
        spans = "".join(
            f'<tspan x="{lx:.1f}" dy="{0 if k == 0 else 13}">{esc(line)}</tspan>'
            for k, line in enumerate(lines)
        )
        body.append(
            f'<text x="{lx:.1f}" y="{ly:.1f}" text-anchor="{anchor}" class="axis">'
            f"<title>{esc(f'{name} ({s})')}</title>{spans}</text>"
        )
    drawn = 0
    for k, m in enumerate(run.models):
        subs_stats = as_dict(run.stats(m, lang).get("subdomains"))
        means = [number(as_dict(subs_stats.get(s)).get("mean")) for s in subs]
        if all(v is None for v in means):
            continue
        drawn += 1
        col = color(k)
        body.append(
            f'<polygon points="{poly([v or 1.0 for v in means])}" fill="{col}" '
            f'fill-opacity="0.12" stroke="{col}" stroke-width="2"/>'
        )
        for i, v in enumerate(means):
            if v is not None:
                x, y = pt(i, v)
                tip = f"{m} · {run.subdomain_name(subs[i])}: {v:.2f}"
                body.append(
                    f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{col}">'
                    f"<title>{esc(tip)}</title></circle>"
                )
    if not drawn:
        body.append(_text(cx, cy - 8, "no data", "axis", "middle"))
        body.append(
            _text(cx, cy + 10, "no model has a scored answer in this language", "tick", "middle")
        )
    return _svg(w, h, f"Radar of subdomain means, {lang}", body, "chart radar")


def _wrap(text: str, width: int) -> list[str]:
    """At most two lines of about ``width`` characters (the second shortened if needed)."""
    if len(text) <= width:
        return [text]
    words, first = text.split(), ""
    while words and len(first) + len(words[0]) + (1 if first else 0) <= width:
        first += (" " if first else "") + words.pop(0)
    if not first:  # one long word (or CJK text without spaces)
        first, rest = text[:width], text[width:]
    else:
        rest = " ".join(words)
    return [first, short(rest, width)] if rest else [first]


def bars_ci(run: RunData, lang: str, key: str, ids: Sequence[str], namer) -> str:
    """Horizontal bars of means (axis 1–5) with 95% CI whiskers, grouped per subdomain."""
    models = run.models
    label_w, plot_w, val_w, bar_h, gap, pad = 220.0, 420.0, 150.0, 12.0, 3.0, 12.0
    group_h = len(models) * (bar_h + gap) - gap + pad
    top = 26.0
    h = top + len(ids) * group_h + 6

    def x(v: float) -> float:
        return label_w + (_clamp(v, 1, 5) - 1) / 4 * plot_w

    body = _xaxis(x, [1, 2, 3, 4, 5], top, h - 4, lambda t: f"{t:g}")
    for gi, ident in enumerate(ids):
        y0 = top + gi * group_h
        name = namer(ident)
        body.append(
            _text(
                label_w - 8,
                y0 + group_h / 2 + 4,
                short(name, 34),
                "axis",
                "end",
                f"{name} ({ident})",
            )
        )
        if gi:
            body.append(
                f'<line class="sep" x1="0" x2="{label_w + plot_w + val_w:.0f}" y1="{y0:.1f}" y2="{y0:.1f}"/>'
            )
        for k, m in enumerate(models):
            st = as_dict(as_dict(run.stats(m, lang).get(key)).get(ident))
            mean = number(st.get("mean"))
            lo, hi = ci_bounds(st.get("ci95"))
            y = y0 + pad / 2 + k * (bar_h + gap)
            if mean is None:
                body.append(_text(x(1) + 4, y + bar_h - 2, f"{m}: no data", "tick"))
                continue
            n = number(st.get("n"))
            if n is not None and n < 2:  # an interval over one score means nothing
                lo = hi = None
                ci = " (n too small)"
            else:
                ci = f" [{lo:.2f}, {hi:.2f}]" if lo is not None and hi is not None else ""
            tip = f"{m} · {name}: {mean:.2f}{ci} (n={st.get('n')})"
            body.append(
                f'<rect x="{x(1):.1f}" y="{y:.1f}" width="{x(mean) - x(1):.1f}" height="{bar_h:.0f}" '
                f'fill="{color(k)}" fill-opacity="0.85"><title>{esc(tip)}</title></rect>'
            )
            if lo is not None and hi is not None:
                yc = y + bar_h / 2
                body.append(
                    f'<path class="ci" d="M{x(lo):.1f},{yc:.1f}H{x(hi):.1f}M{x(lo):.1f},{y + 2:.1f}'
                    f'V{y + bar_h - 2:.1f}M{x(hi):.1f},{y + 2:.1f}V{y + bar_h - 2:.1f}"/>'
                )
            body.append(_text(label_w + plot_w + 8, y + bar_h - 2, f"{mean:.2f}{ci}", "val"))
    return _svg(label_w + plot_w + val_w, h, f"Mean score per {key[:-1]} with 95% CI, {lang}", body)


def dumbbell(run: RunData) -> str:
    """Direct (filled) vs adversarial (hollow) mean per model and language."""
    label_w, plot_w, val_w, row_h, top = 220.0, 420.0, 110.0, 22.0, 26.0
    rows = [(k, m, lang) for k, m in enumerate(run.models) for lang in run.languages]
    h = top + len(rows) * row_h + 6

    def x(v: float) -> float:
        return label_w + (_clamp(v, 1, 5) - 1) / 4 * plot_w

    body = _xaxis(x, [1, 2, 3, 4, 5], top, h - 4, lambda t: f"{t:g}")
    for r, (k, m, lang) in enumerate(rows):
        s = run.stats(m, lang)
        y = top + r * row_h + row_h / 2
        body.append(
            _text(label_w - 8, y + 4, short(f"{m} · {lang}", 34), "axis", "end", f"{m} · {lang}")
        )
        d, a = number(s.get("direct_mean")), number(s.get("adversarial_mean"))
        if d is not None and a is not None:
            body.append(
                f'<line class="link" x1="{x(d):.1f}" x2="{x(a):.1f}" y1="{y:.1f}" y2="{y:.1f}"/>'
            )
        for v, kind, fill in ((d, "direct", color(k)), (a, "adversarial", "#fff")):
            if v is not None:
                body.append(
                    f'<circle cx="{x(v):.1f}" cy="{y:.1f}" r="5" fill="{fill}" stroke="{color(k)}" '
                    f'stroke-width="2"><title>{esc(f"{m} · {lang} · {kind}: {v:.2f}")}</title></circle>'
                )
        drop = number(s.get("adversarial_drop"))
        if drop is not None:
            body.append(_text(label_w + plot_w + 8, y + 4, f"drop {drop:+.2f}", "val"))
    return _svg(label_w + plot_w + val_w, h, "Direct versus adversarial mean", body)


def rate_bars(rows: Sequence[tuple[str, float | None, str, str]], label: str) -> str:
    """Bars on a 0–100% axis; rows are (label, rate or None, colour, note)."""
    label_w, plot_w, val_w, row_h, top = 220.0, 420.0, 110.0, 20.0, 26.0
    h = top + len(rows) * row_h + 6

    def x(v: float) -> float:
        return label_w + _clamp(v, 0, 1) * plot_w

    body = _xaxis(x, [0, 0.25, 0.5, 0.75, 1], top, h - 4, lambda t: f"{100 * t:.0f}%")
    for r, (name, v, col, note) in enumerate(rows):
        y = top + r * row_h
        body.append(_text(label_w - 8, y + 14, short(name, 34), "axis", "end", name))
        if v is None:
            body.append(_text(x(0) + 4, y + 14, "not computable", "tick"))
            continue
        body.append(
            f'<rect x="{x(0):.1f}" y="{y + 4:.1f}" width="{x(v) - x(0):.1f}" height="12" '
            f'fill="{col}" fill-opacity="0.85"><title>{esc(f"{name}: {100 * v:.1f}% {note}")}</title></rect>'
        )
        body.append(_text(label_w + plot_w + 8, y + 14, f"{100 * v:.1f}% {note}".strip(), "val"))
    return _svg(label_w + plot_w + val_w, h, label, body)


def forest(comparisons: Sequence[dict[str, Any]]) -> str:
    """Mean differences (A − B) with 95% CI around a zero line."""
    label_w, plot_w, val_w, row_h, top = 260.0, 380.0, 190.0, 22.0, 26.0
    h = top + len(comparisons) * row_h + 6
    extent = 0.1
    for c in comparisons:
        for v in (number(c.get("mean_diff")), *ci_bounds(c.get("ci95"))):
            if v is not None:
                extent = max(extent, abs(v))
    extent *= 1.1

    def x(v: float) -> float:
        return label_w + (_clamp(v, -extent, extent) + extent) / (2 * extent) * plot_w

    ticks = [-extent / 1.1, -extent / 2.2, 0.0, extent / 2.2, extent / 1.1]
    body = _xaxis(x, ticks, top, h - 4, lambda t: f"{t:+.2f}" if t else "0")
    body.append(
        f'<line class="zero" x1="{x(0):.1f}" x2="{x(0):.1f}" y1="{top:.1f}" y2="{h - 4:.1f}"/>'
    )
    for r, c in enumerate(comparisons):
        y = top + r * row_h + row_h / 2
        name = f"{c.get('a')} − {c.get('b')} · {c.get('language')}"
        body.append(_text(label_w - 8, y + 4, short(name, 40), "axis", "end", name))
        d = number(c.get("mean_diff"))
        lo, hi = ci_bounds(c.get("ci95"))
        if lo is not None and hi is not None:
            body.append(
                f'<line class="ci" x1="{x(lo):.1f}" x2="{x(hi):.1f}" y1="{y:.1f}" y2="{y:.1f}"/>'
            )
        if d is not None:
            body.append(
                f'<rect x="{x(d) - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="#333"/>'
            )
        p = number(c.get("p_value"))
        note = f"{d:+.2f}" if d is not None else "–"
        note += f"  p{'<0.001' if p < 0.001 else f'={p:.3f}'}" if p is not None else ""
        body.append(_text(label_w + plot_w + 8, y + 4, note, "val"))
    return _svg(label_w + plot_w + val_w, h, "Paired differences between models", body)


def histogram_bar(hist: Any, width: float = 160.0) -> str:
    """A stacked bar of the score histogram (1 red … 5 green)."""
    counts = {str(k): number(v) or 0.0 for k, v in as_dict(hist).items()}
    total = sum(counts.values())
    if not total:
        return ""
    body, x = [], 0.0
    for k in ("1", "2", "3", "4", "5"):
        c = counts.get(k, 0.0)
        if c:
            w = c / total * width
            body.append(
                f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="12" fill="{SCORE_COLORS[k]}">'
                f"<title>score {k}: {c:g}</title></rect>"
            )
            x += w
    return _svg(width, 12, "Score histogram", body, "hist")
