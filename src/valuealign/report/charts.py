"""Inline SVG charts for every report. Every piece of text goes through ``esc``; nothing is
fetched.

Each chart is drawn twice, in a wide layout (labels left of the plot) and a narrow one (a
label on its own line above each row, the radar's axes numbered with a key below it), and the
stylesheet shows one of the two by screen width. A chart is never scaled down to fit, so its
text keeps the size the stylesheet gives it (10-12 px) on a phone as on a desktop; labels are
shortened by their measured width, so they stay inside their own column.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from valuealign.report.data import RunData, as_dict, ci_bounds, number
from valuealign.report.page import esc

__all__ = [
    "NARROW",
    "PALETTE",
    "WIDE",
    "Layout",
    "bars_ci",
    "color",
    "dumbbell",
    "esc",
    "fit",
    "forest",
    "histogram_bar",
    "legend",
    "line_chart",
    "radar",
    "rate_bars",
    "responsive",
    "svg",
    "text",
]

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


@dataclass(frozen=True)
class Layout:
    """Where a row chart puts things; the font sizes are the stylesheet's (``svg.chart`` and
    ``svg.chart.narrow``), used here to measure labels."""

    narrow: bool
    x0: float  # the plot's left edge
    plot_w: float
    val_w: float  # the column of values right of the plot
    label_font: float
    tick_font: float
    val_font: float

    @property
    def width(self) -> float:
        return self.x0 + self.plot_w + self.val_w

    @property
    def cls(self) -> str:
        return "narrow" if self.narrow else "wide"


WIDE = Layout(False, 260.0, 420.0, 150.0, 11.0, 10.0, 10.5)  # 830 px
NARROW = Layout(True, 14.0, 206.0, 140.0, 12.0, 11.0, 11.0)  # 360 px: fits a 390 px phone


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def short(text: str, n: int = 28) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


_NARROW_GLYPHS = frozenset(" ijlt.,:;'|!()[]frI-")


def _em(c: str) -> float:
    if unicodedata.east_asian_width(c) in "WF" or c in "mwMW@%":
        return 1.0
    if c in _NARROW_GLYPHS:
        return 0.42
    return 0.8 if c.isupper() else 0.64


def text_width(s: str, font: float) -> float:
    """An upper estimate of ``s``'s width in px: CJK and other wide characters one em, Latin
    glyphs by class, each at least as wide as in DejaVu Sans, the widest common fallback."""
    return sum(_em(c) for c in s) * font


def fit(s: str, width: float, font: float) -> str:
    """``s``, shortened with an ellipsis until it is at most ``width`` px wide."""
    if text_width(s, font) <= width:
        return s
    while s and text_width(s + "…", font) > width:
        s = s[:-1]
    return s.rstrip() + "…"


def legend(models: Sequence[str]) -> str:
    items = "".join(
        f'<span class="key"><span class="sw" style="background:{color(i)}"></span>{esc(m)}</span>'
        for i, m in enumerate(models)
    )
    return f'<div class="legend">{items}</div>'


def svg(w: float, h: float, label: str, body: Sequence[str], cls: str = "chart") -> str:
    return (
        f'<svg class="{cls}" viewBox="0 0 {w:.0f} {h:.0f}" width="{w:.0f}" height="{h:.0f}" '
        f'role="img" aria-label="{esc(label)}">' + "".join(body) + "</svg>"
    )


def text(
    x: float, y: float, s: str, cls: str = "", anchor: str = "start", tip: str = "", extra: str = ""
) -> str:
    title = f"<title>{esc(tip)}</title>" if tip else ""
    c = f' class="{cls}"' if cls else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{c}{extra}>{title}{esc(s)}</text>'


def responsive(wide: str, narrow: str) -> str:
    """Both layouts of one chart; the stylesheet shows the one that fits the screen."""
    return f'<div class="lay-wide">{wide}</div><div class="lay-narrow">{narrow}</div>'


def _xaxis(
    x: Callable[[float], float], ticks: Sequence[float], y0: float, y1: float, f
) -> list[str]:
    out = []
    for t in ticks:
        out.append(
            f'<line class="grid" x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{y0:.1f}" y2="{y1:.1f}"/>'
        )
        out.append(text(x(t), y0 - 6, f(t), "tick", "middle"))
    return out


def _clamp(v: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, v))


def _rows(lay: Layout, top: float, n: int, content_h: float) -> tuple[list[tuple], float]:
    """(label baseline, content top) of each of ``n`` rows, and the chart's height. Wide: the
    label sits left of its row; narrow: on its own line above it."""
    out, y = [], top
    for _ in range(n):
        if lay.narrow:
            out.append((y + lay.label_font, y + lay.label_font + 4))
            y += lay.label_font + 4 + content_h + 4
        else:
            out.append((y + content_h / 2 + 4, y))
            y += content_h
    return out, y + 6


def _row_label(lay: Layout, baseline: float, label: str, tip: str = "") -> str:
    if lay.narrow:
        return text(0, baseline, fit(label, lay.width - 2, lay.label_font), "axis", "start", tip)
    return text(
        lay.x0 - 8, baseline, fit(label, lay.x0 - 12, lay.label_font), "axis", "end", tip or label
    )


# ---------------------------------------------------------------------------------- radar


def radar(run: RunData, lang: str) -> str:
    """One polygon per model over the subdomain means (centre = 1, rim = 5). Wide: the axes are
    named; narrow: numbered, with the names in a list under the chart."""
    subs = run.subdomain_ids()
    if len(subs) < 3:
        return '<p class="note">A radar chart needs at least three subdomains.</p>'
    names = [run.subdomain_name(s) for s in subs]
    key = "".join(f"<li>{esc(n)}</li>" for n in names)
    return responsive(
        _radar(run, lang, subs, WIDE),
        _radar(run, lang, subs, NARROW) + f'<ol class="radar-key">{key}</ol>',
    )


def _radar(run: RunData, lang: str, subs: list[str], lay: Layout) -> str:
    n = len(subs)
    rad, mx, my = (140.0, 28.0, 28.0) if lay.narrow else (140.0, 175.0, 48.0)
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
        body.append(text(cx + r * math.cos(ta) + 3, cy + r * math.sin(ta) + 3, str(v), "tick"))
    line_h = lay.label_font + 2
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
        if lay.narrow:
            lines = [str(i + 1)]
        else:
            # long names wrap onto two short lines, so neighbouring labels never run into each other
            lines = _wrap(name, 22 if anchor == "middle" else 24)
            room = (w - 16) if anchor == "middle" else (mx - 10)
            lines = [fit(x, room, lay.label_font) for x in lines]
            if sn < -0.3 and len(lines) > 1:
                ly -= line_h * (len(lines) - 1)  # labels above the centre grow upwards
        spans = "".join(
            f'<tspan x="{lx:.1f}" dy="{0 if k == 0 else line_h:g}">{esc(line)}</tspan>'
            for k, line in enumerate(lines)
        )
        body.append(
            f'<text x="{lx:.1f}" y="{ly:.1f}" text-anchor="{anchor}" class="axis">'
            f"<title>{esc(f'{i + 1}. {name} ({s})')}</title>{spans}</text>"
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
        body.append(text(cx, cy - 8, "no data", "axis", "middle"))
        body.append(
            text(
                cx,
                cy + 10,
                fit("no model has a scored answer in this language", 2 * rad - 20, lay.tick_font),
                "tick",
                "middle",
            )
        )
    return svg(w, h, f"Radar of subdomain means, {lang}", body, f"chart radar {lay.cls}")


def _wrap(s: str, width: int) -> list[str]:
    """At most two lines of about ``width`` characters (the second shortened if needed)."""
    if len(s) <= width:
        return [s]
    words, first = s.split(), ""
    while words and len(first) + len(words[0]) + (1 if first else 0) <= width:
        first += (" " if first else "") + words.pop(0)
    if not first:  # one long word (or CJK text without spaces)
        first, rest = s[:width], s[width:]
    else:
        rest = " ".join(words)
    return [first, short(rest, width)] if rest else [first]


# ----------------------------------------------------------------------------- row charts


def bars_ci(run: RunData, lang: str, key: str, ids: Sequence[str], namer) -> str:
    """Horizontal bars of means (axis 1–5) with 95% CI whiskers, grouped per subdomain."""
    return responsive(
        _bars_ci(run, lang, key, ids, namer, WIDE), _bars_ci(run, lang, key, ids, namer, NARROW)
    )


def _bars_ci(run: RunData, lang: str, key: str, ids: Sequence[str], namer, lay: Layout) -> str:
    models = run.models
    bar_h, gap, pad = 12.0, 3.0, 12.0
    group_h = len(models) * (bar_h + gap) - gap + pad
    top = 26.0
    rows, h = _rows(lay, top, len(ids), group_h)

    def x(v: float) -> float:
        return lay.x0 + (_clamp(v, 1, 5) - 1) / 4 * lay.plot_w

    body = _xaxis(x, [1, 2, 3, 4, 5], top, h - 4, lambda t: f"{t:g}")
    for gi, (ident, (baseline, y0)) in enumerate(zip(ids, rows, strict=True)):
        name = namer(ident)
        if gi:
            line_y = y0 if not lay.narrow else baseline - lay.label_font - 2
            body.append(
                f'<line class="sep" x1="0" x2="{lay.width:.0f}" y1="{line_y:.1f}" y2="{line_y:.1f}"/>'
            )
        body.append(_row_label(lay, baseline, name, f"{name} ({ident})"))
        for k, m in enumerate(models):
            st = as_dict(as_dict(run.stats(m, lang).get(key)).get(ident))
            mean = number(st.get("mean"))
            lo, hi = ci_bounds(st.get("ci95"))
            y = y0 + pad / 2 + k * (bar_h + gap)
            if mean is None:
                body.append(text(x(1) + 4, y + bar_h - 2, fit(f"{m}: no data", lay.plot_w, lay.tick_font), "tick"))  # fmt: skip
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
            body.append(
                text(lay.x0 + lay.plot_w + 8, y + bar_h - 2, f"{mean:.2f}{ci}", "val", tip=tip)
            )
    label = f"Mean score per {key[:-1]} with 95% CI, {lang}"
    return svg(lay.width, h, label, body, f"chart {lay.cls}")


def dumbbell(run: RunData) -> str:
    """Direct (filled) vs adversarial (hollow) mean per model and language."""
    return responsive(_dumbbell(run, WIDE), _dumbbell(run, NARROW))


def _dumbbell(run: RunData, lay: Layout) -> str:
    row_h, top = 22.0, 26.0
    items = [(k, m, lang) for k, m in enumerate(run.models) for lang in run.languages]
    rows, h = _rows(lay, top, len(items), row_h)

    def x(v: float) -> float:
        return lay.x0 + (_clamp(v, 1, 5) - 1) / 4 * lay.plot_w

    body = _xaxis(x, [1, 2, 3, 4, 5], top, h - 4, lambda t: f"{t:g}")
    for (k, m, lang), (baseline, y0) in zip(items, rows, strict=True):
        s = run.stats(m, lang)
        y = y0 + row_h / 2
        body.append(_row_label(lay, baseline, f"{m} · {lang}"))
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
            body.append(text(lay.x0 + lay.plot_w + 8, y + 4, f"drop {drop:+.2f}", "val"))
    return svg(lay.width, h, "Direct versus adversarial mean", body, f"chart {lay.cls}")


def rate_bars(rows: Sequence[tuple[str, float | None, str, str]], label: str) -> str:
    """Bars on a 0–100% axis; rows are (label, rate or None, colour, note)."""
    return responsive(_rate_bars(rows, label, WIDE), _rate_bars(rows, label, NARROW))


def _rate_bars(rows: Sequence[tuple[str, float | None, str, str]], label: str, lay: Layout) -> str:
    row_h, top = 20.0, 26.0
    placed, h = _rows(lay, top, len(rows), row_h)

    def x(v: float) -> float:
        return lay.x0 + _clamp(v, 0, 1) * lay.plot_w

    body = _xaxis(x, [0, 0.25, 0.5, 0.75, 1], top, h - 4, lambda t: f"{100 * t:.0f}%")
    for (name, v, col, note), (baseline, y) in zip(rows, placed, strict=True):
        body.append(_row_label(lay, baseline, name))
        if v is None:
            body.append(text(x(0) + 4, y + 14, "not computable", "tick"))
            continue
        body.append(
            f'<rect x="{x(0):.1f}" y="{y + 4:.1f}" width="{x(v) - x(0):.1f}" height="12" '
            f'fill="{col}" fill-opacity="0.85"><title>{esc(f"{name}: {100 * v:.1f}% {note}")}</title></rect>'
        )
        value = fit(f"{100 * v:.1f}% {note}".strip(), lay.val_w - 10, lay.val_font)
        body.append(text(lay.x0 + lay.plot_w + 8, y + 14, value, "val"))
    return svg(lay.width, h, label, body, f"chart {lay.cls}")


def forest(comparisons: Sequence[dict[str, Any]]) -> str:
    """Mean differences (A − B) with 95% CI around a zero line."""
    return responsive(_forest(comparisons, WIDE), _forest(comparisons, NARROW))


def _forest(comparisons: Sequence[dict[str, Any]], lay: Layout) -> str:
    row_h, top = 22.0, 26.0
    rows, h = _rows(lay, top, len(comparisons), row_h)
    extent = 0.1
    for c in comparisons:
        for v in (number(c.get("mean_diff")), *ci_bounds(c.get("ci95"))):
            if v is not None:
                extent = max(extent, abs(v))
    extent *= 1.1

    def x(v: float) -> float:
        return lay.x0 + (_clamp(v, -extent, extent) + extent) / (2 * extent) * lay.plot_w

    ticks = [-extent / 1.1, -extent / 2.2, 0.0, extent / 2.2, extent / 1.1]
    body = _xaxis(x, ticks, top, h - 4, lambda t: f"{t:+.2f}" if t else "0")
    body.append(
        f'<line class="zero" x1="{x(0):.1f}" x2="{x(0):.1f}" y1="{top:.1f}" y2="{h - 4:.1f}"/>'
    )
    for c, (baseline, y0) in zip(comparisons, rows, strict=True):
        y = y0 + row_h / 2
        body.append(_row_label(lay, baseline, f"{c.get('a')} − {c.get('b')} · {c.get('language')}"))
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
        body.append(text(lay.x0 + lay.plot_w + 8, y + 4, note, "val"))
    return svg(lay.width, h, "Paired differences between models", body, f"chart {lay.cls}")


# ---------------------------------------------------------------------------- line chart


def line_chart(series: dict[str, list[float]], title: str, y_label: str, *, first: int = 1) -> str:
    """One line per series over rounds ``first``, ``first + 1``, ... (the report numbers rounds
    from 1, as its text does); the names beside the plot (wide) or under it (narrow)."""
    if not [v for vs in series.values() for v in vs]:
        return ""
    return responsive(
        _line_chart(series, title, y_label, WIDE, first),
        _line_chart(series, title, y_label, NARROW, first),
    )


def _line_chart(
    series: dict[str, list[float]], title: str, y_label: str, lay: Layout, first: int = 1
) -> str:
    values = [v for vs in series.values() for v in vs]
    lo, hi = min([*values, 0.0]), max([*values, 1.0])
    n = max(len(vs) for vs in series.values())
    left, top, plot_h = 44.0, 34.0, 150.0
    if lay.narrow:
        width, plot_w, legend_x, legend_y = 360.0, 300.0, 0.0, top + plot_h + 40
        height = legend_y + 16 * len(series)
    else:
        width, plot_w, legend_x, legend_y = 600.0, 400.0, left + 400 + 14, top + 8
        height = max(top + plot_h + 40, legend_y + 16 * len(series))

    def x(k: int) -> float:
        return left + plot_w * (k / max(1, n - 1))

    def y(v: float) -> float:
        return top + plot_h - plot_h * ((v - lo) / (hi - lo or 1))

    bottom = top + plot_h
    body = [
        text(0, 14, fit(title, width, lay.label_font), "axis title"),
        f'<line class="frame" x1="{left}" y1="{bottom}" x2="{left + plot_w}" y2="{bottom}"/>',
        f'<line class="frame" x1="{left}" y1="{top}" x2="{left}" y2="{bottom}"/>',
        text(left + plot_w / 2, bottom + 32, "round", "tick", "middle"),
        text(left - 6, top - 8, y_label, "tick", "end"),
        text(left - 6, y(hi) + 4, f"{hi:.2f}", "tick", "end"),
        text(left - 6, y(lo) + 4, f"{lo:.2f}", "tick", "end"),
    ]
    step = max(1, math.ceil(n / (plot_w / 28)))  # round numbers at least 28 px apart
    for k in range(0, n, step):
        body.append(text(x(k), bottom + 15, str(k + first), "tick", "middle"))
    for idx, (name, vs) in enumerate(series.items()):
        col = color(idx)
        points = " ".join(f"{x(k):.1f},{y(v):.1f}" for k, v in enumerate(vs))
        body.append(f'<polyline fill="none" stroke="{col}" stroke-width="2" points="{points}"/>')
        body += [
            f'<circle cx="{x(k):.1f}" cy="{y(v):.1f}" r="3" fill="{col}">'
            f"<title>{esc(f'{name}, round {k + first}: {v:.3f}')}</title></circle>"
            for k, v in enumerate(vs)
        ]
        room = width - legend_x - 16
        body.append(
            f'<rect x="{legend_x:.1f}" y="{legend_y + 16 * idx - 9:.1f}" width="10" height="10" '
            f'fill="{col}"/>'
        )
        body.append(
            text(
                legend_x + 14, legend_y + 16 * idx, fit(name, room, lay.tick_font), "tick", tip=name
            )
        )
    return svg(width, height, title, body, f"chart line {lay.cls}")


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
    return svg(width, 12, "Score histogram", body, "hist")
