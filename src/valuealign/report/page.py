"""The page every report shares: head, Content-Security-Policy, fonts, header, navigation, the
"Read this first" block, sections and tables. Each report (evaluation, VISA rewrites,
consensus, agent validation) only supplies its content.

The page is one self-contained file: the stylesheet is inline, charts are inline SVG, and at
most one inline script runs, allowed by its hash. The Content-Security-Policy forbids every
fetch, so a report opened from disk or mailed around never loads anything.

Escaping: everything that comes from a run (titles with topic text, facts, notes, cell values)
goes through :func:`esc` here. The only raw markup these helpers accept is markup the reports
build themselves: ``html`` cells, section ``parts`` and ``note`` texts (our own static prose).

>>> page("valuealign report", facts=[("Model", "mock/echo")], notes=["1 answer failed"],
...      body=[section("scores", "Scores", table(["Model", "Mean"], [[th("m"), td("4.00")]]))])
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Sequence
from typing import Any

from valuealign.report.assets import CSS

__all__ = [
    "csp",
    "esc",
    "page",
    "read_first",
    "section",
    "table",
    "td",
    "th",
]


def esc(x: Any) -> str:
    """``x`` as text that cannot become markup (quotes included, for attribute values)."""
    return html.escape(str(x), quote=True)


def csp(script: str | None = None) -> str:
    """No fetches at all; inline styles; the one ``script`` (if any) allowed by its SHA-256."""
    allow = "'none'"
    if script is not None:
        digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
        allow = f"'sha256-{digest}'"
    return (
        "default-src 'none'; style-src 'unsafe-inline'; "
        f"script-src {allow}; base-uri 'none'; form-action 'none'"
    )


def td(value: Any, *, num: bool = False, cls: str = "", html_: str | None = None) -> str:
    """A table cell: ``value`` escaped (or ``html_``, markup built by the report itself)."""
    classes = " ".join(c for c in ("num" if num else "", cls) if c)
    attr = f' class="{classes}"' if classes else ""
    return f"<td{attr}>{html_ if html_ is not None else esc(value)}</td>"


def th(value: Any, *, cls: str = "", html_: str | None = None, span: str = "") -> str:
    """A header cell (row or column); ``span`` is e.g. ``colspan="3"``."""
    attrs = (f' class="{cls}"' if cls else "") + (f" {span}" if span else "")
    return f"<th{attrs}>{html_ if html_ is not None else esc(value)}</th>"


def table(
    head: Sequence[str] | None,
    rows: Sequence[Sequence[str] | str],
    *,
    cls: str = "data",
    head_html: str | None = None,
    table_id: str = "",
) -> str:
    """A table whose ``head`` labels are escaped here; ``rows`` are lists of :func:`td` /
    :func:`th` cells (or whole ``<tr>`` strings). ``head_html`` replaces the head for tables
    with grouped columns. On a narrow screen a ``data`` table scrolls inside its own box."""
    if head_html is None:
        head_html = "<tr>" + "".join(th(h) for h in head) + "</tr>" if head else ""
    body = "".join(r if isinstance(r, str) else "<tr>" + "".join(r) + "</tr>" for r in rows)
    ident = f' id="{esc(table_id)}"' if table_id else ""
    thead = f"<thead>{head_html}</thead>" if head_html else ""
    return f'<table class="{cls}"{ident}>{thead}<tbody>{body}</tbody></table>'


def section(sid: str, title: str, *parts: str, note: str = "") -> str:
    """``<section id=sid>`` with an escaped ``title``, an optional note (our own prose, may hold
    entities) and the report's ``parts``."""
    note_html = f'<p class="note">{note}</p>' if note else ""
    return f'<section id="{esc(sid)}"><h2>{esc(title)}</h2>{note_html}{"".join(parts)}</section>'


def read_first(notes: Sequence[str]) -> str:
    """The warnings a reader must see before any number, one list item each (escaped)."""
    if not notes:
        return ""
    items = "".join(f"<li>{esc(n)}</li>" for n in notes)
    return f'<section id="warnings" class="warn"><h2>Read this first</h2><ul>{items}</ul></section>'


def header(title: str, facts: Sequence[tuple[str, Any]] = ()) -> str:
    dl = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts)
    return f"<header><h1>{esc(title)}</h1>" + (f"<dl>{dl}</dl>" if dl else "") + "</header>"


def page(
    title: str,
    *,
    facts: Sequence[tuple[str, Any]] = (),
    notes: Sequence[str] = (),
    nav: Sequence[tuple[str, str]] = (),
    body: Sequence[str] = (),
    script: str | None = None,
    data_json: str | None = None,
) -> str:
    """The whole HTML document.

    ``facts`` go into the header (label, value), ``notes`` into "Read this first", ``nav`` is
    (section id, label) pairs, ``body`` the report's sections. ``data_json`` (already made safe
    by :func:`valuealign.report.data.json_for_script`) is embedded as
    ``<script type="application/json" id="data">`` for ``script``, the page's one script.
    """
    links = "".join(f'<a href="#{esc(i)}">{esc(t)}</a>' for i, t in nav)
    tail = ""
    if data_json is not None:
        tail += f'<script type="application/json" id="data">{data_json}</script>'
    if script is not None:
        tail += f"<script>{script}</script>"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{esc(csp(script))}">'
        '<meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head>\n<body>"
        + header(title, facts)
        + (f"<nav>{links}</nav>" if links else "")
        + "<main>"
        + read_first(notes)
        + "".join(body)
        + "</main>"
        + tail
        + "</body></html>\n"
    )
