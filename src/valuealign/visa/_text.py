"""Rewriter output as text: completions in either TRL format, preambles and leftovers.

A rewriter is asked for "the rewritten answer only"; small models still open with "Here is the
rewritten answer:", wrap the text in code fences or tags, or echo the instruction. The loop
cleans such artifacts off (:func:`clean_rewrite`); the training reward counts and penalises them
(:func:`find_artifacts`) so that the trained rewriter stops producing them.

>>> clean_rewrite("Sure! Here is the rewritten answer:\\n\\nWe keep our customs.")
'We keep our customs.'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

__all__ = ["clean_rewrite", "completion_text", "find_artifacts"]

_PREAMBLE_RES = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"^\s*(?:sure|certainly|of course|okay|ok|absolutely)\b[^\n]*?[!.,:]\s*",
        r"^\s*here(?:'s|’s| is| are)\b[^\n]{0,80}?(?:rewrit|revis|version|answer|response)[^\n]*?:\s*",
        r"^\s*(?:the )?(?:rewritten|revised|new|updated|edited) (?:answer|version|text|response)\s*[:：]\s*",
        r"^\s*(?:rewrite|answer|response)\s*[:：]\s*",
        r"^\s*rewrite (?:the|this) answer\b[^\n]{0,60}?[:：]\s*",
        r"^\s*answer to rewrite[^\n]{0,40}?[:：]\s*",
        r"^\s*the (?:rewritten |new |revised )?answer (?:should be|would be|is|rewrote)[^\n]{0,30}?[:：]\s*",
        r"^\s*(?:需要)?改写(?:的|这个)?回答[^\n]{0,20}?[:：]\s*",
        r"^\s*(?:好的|当然|没问题)[，,。！!：:]?\s*",
        r"^\s*(?:以下是|下面是)[^\n]{0,30}?(?:改写|修改|回答|版本)[^\n]*?[:：]\s*",
        r"^\s*(?:改写后的|修改后的)(?:回答|版本|文本)?\s*[:：]\s*",
    )
]
_TRAILER_RES = [
    re.compile(p, re.IGNORECASE | re.DOTALL)
    for p in (
        r"\n\s*(?:\(|\[)?\s*note\s*:.*$",
        r"\n\s*(?:i (?:have|'ve) (?:rewritten|kept|preserved|revised)).*$",
        r"\n\s*[（(]?\s*注[:：].*$",
    )
]
_LEFTOVER_RES = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"put(?:s)? (?:much )?(?:more|less) weight on",
        r"keep all facts",
        r"reply with the rewritten answer",
        r"rewritten answer",
        r"original answer",
        r"as (?:instructed|requested)",
        r"</?(?:answer|original|rewrite)[^>]*>",
        r"```",
        r"保留(?:原回答中的)?所有事实",
        r"只输出改写后的回答",
        r"改写后的回答",
        r"原回答",
    )
]
_TAG_RE = re.compile(r"</?(?:answer|original|rewrite|rewritten)[-\w]*>", re.IGNORECASE)
_FENCE_RE = re.compile(r"^\s*```[\w-]*\s*\n?(.*?)\n?\s*```\s*$", re.DOTALL)


def completion_text(completion: Any) -> str:
    """The text of one completion: a string, or TRL's chat format (a list of messages).

    In chat format the assistant messages' contents are joined; a content may itself be a list
    of parts (``{"type": "text", "text": ...}``).
    """
    if completion is None:
        return ""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        completion = [completion]
    parts: list[str] = []
    messages = list(completion)
    assistant = [m for m in messages if isinstance(m, dict) and m.get("role") == "assistant"]
    for m in assistant or messages:
        content = m.get("content") if isinstance(m, dict) else m
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in content)
        elif content is not None:
            parts.append(str(content))
    return "\n".join(p for p in parts if p)


def find_artifacts(text: str) -> list[str]:
    """Preambles, trailing notes and echoed instructions found in a rewriter's raw output."""
    found: list[str] = []
    spans: list[tuple[int, int]] = []
    for pattern in _PREAMBLE_RES:
        m = pattern.match(text)
        if m and m.group(0).strip():
            found.append(m.group(0).strip()[:60])
            spans.append(m.span())
            break
    for pattern in (*_TRAILER_RES, *_LEFTOVER_RES):
        m = pattern.search(text)
        if m and not any(a <= m.start() < b for a, b in spans):
            found.append(m.group(0).strip()[:60])
            spans.append(m.span())
    return found


def clean_rewrite(text: str, echoes: Sequence[str] = ()) -> str:
    """Strip code fences, tags, a leading preamble, trailing notes and wrapping quotes.

    ``echoes`` are prompt texts (the instruction) that a small model may repeat after its
    answer: the output is cut where one of them starts.
    """
    out = text.strip()
    for echo in echoes:
        head = echo.strip()[:40]
        at = out.find(head) if len(head) >= 12 else -1
        if at > 0:
            out = out[:at].strip()
    fence = _FENCE_RE.match(out)
    if fence:
        out = fence.group(1).strip()
    out = _TAG_RE.sub("", out).strip()
    for _ in range(3):
        before = out
        for pattern in _PREAMBLE_RES:
            out = pattern.sub("", out, count=1).strip()
        if out == before:
            break
    for pattern in _TRAILER_RES:
        out = pattern.sub("", out).strip()
    if len(out) >= 2 and out[0] + out[-1] in ('""', "“”", "''", "「」"):
        out = out[1:-1].strip()
    if out != text.strip() and out[:1].islower() and out[:1].isascii():
        out = out[0].upper() + out[1:]
    return out
