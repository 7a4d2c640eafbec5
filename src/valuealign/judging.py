"""Asking a model for a verdict about untrusted text: the helpers every judge shares.

The evaluation judge (:mod:`valuealign.evaluate.judge`), the Critic
(:mod:`valuealign.generate.critic`), the LLM value detector
(:mod:`valuealign.values.llm_detector`) and the VISA translator all put text they do not trust
(an answer, a document) between tags carrying a nonce that text cannot predict, ask a model for a
reply in a strict form, and re-ask a bounded number of times when the reply does not parse. This
module is that shared part; it depends only on the backend protocol.

>>> tag = f"answer-{nonce_for('salt', 'item-1', answer)}"
>>> asked = await ask_until_parsed(backend, messages, parse, ok, max_tokens=64, retries=2)
>>> asked.parsed, asked.attempts
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from valuealign.backends import ChatBackend, GenerateConfig, Message

__all__ = ["ZERO_WIDTH", "Asked", "ask_until_parsed", "nonce_for", "normalize", "strip_untrusted"]

T = TypeVar("T")
ZERO_WIDTH = dict.fromkeys(
    map(ord, "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad")
)


def normalize(text: str) -> str:
    """NFKC (full-width digits become ASCII) without zero-width characters."""
    return unicodedata.normalize("NFKC", text).translate(ZERO_WIDTH)


def nonce_for(salt: str, *parts: str) -> str:
    """A tag suffix the judged text cannot predict: a keyed hash of that text."""
    return hashlib.sha256("\x1f".join((salt, *parts)).encode()).hexdigest()[:12]


_LITERAL_TAG = re.compile(r"[\w-]*")  # tags that mean themselves in a pattern: answer-1a2b


def _drop_blocks(text: str, tag: str) -> str:
    """``re.sub(rf"<{tag}>.*?</{tag}>", " ", text, flags=re.DOTALL)`` without compiling a
    pattern per tag (tags carry a nonce, so every call had a new pattern to compile)."""
    if not _LITERAL_TAG.fullmatch(tag):  # a tag with pattern syntax keeps the pattern's meaning
        return re.sub(rf"<{tag}>.*?</{tag}>", " ", text, flags=re.DOTALL)
    opening, closing = f"<{tag}>", f"</{tag}>"
    out: list[str] = []
    pos = 0
    while (start := text.find(opening, pos)) >= 0:
        end = text.find(closing, start + len(opening))
        if end < 0:  # no closing tag after this opening one, nor after any later one
            break
        out += [text[pos:start], " "]
        pos = end + len(closing)
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


def strip_untrusted(raw: str, untrusted: list[str], tags: list[str]) -> str:
    """``raw`` normalised, without the tagged blocks and without verbatim copies of the
    untrusted texts, so a verdict planted in them and echoed by the model does not count."""
    text = normalize(raw)
    for tag in tags:
        text = _drop_blocks(text, tag)
    for chunk in untrusted:
        chunk = normalize(chunk).strip()
        if len(chunk) >= 8:
            text = text.replace(chunk, " ")
    return text


@dataclass
class Asked(Generic[T]):
    """The outcome of asking until the reply parses: the last parse, its raw text, the cost."""

    parsed: T
    raw: str
    attempts: int
    prompt_tokens: int = 0
    completion_tokens: int = 0


async def ask_until_parsed(
    backend: ChatBackend,
    messages: list[Message],
    parse: Callable[[str], T],
    ok: Callable[[T], bool],
    *,
    max_tokens: int,
    retries: int,
    shared_prefix_chars: int = 0,
) -> Asked[T]:
    """Ask once greedily; while the reply does not parse, re-ask a new sample (bounded).

    Shared by the judge, the Critic, the LLM detector and the translator, so all re-ask and
    count attempts the same way. ``shared_prefix_chars``: how much of the last message other
    requests share (a speed hint for backends that reuse a computed prompt prefix).
    """
    asked: Asked[T] | None = None
    prompt_tokens = completion_tokens = 0
    for attempt in range(retries + 1):
        config = GenerateConfig(
            max_tokens=max_tokens,
            temperature=0.0 if attempt == 0 else 0.7,
            seed=attempt,
            sample_index=attempt,
            prefix_chars=shared_prefix_chars,
        )
        completion = await backend.generate(messages, config)
        prompt_tokens += completion.prompt_tokens
        completion_tokens += completion.completion_tokens
        parsed = parse(completion.text)
        asked = Asked(parsed, completion.text, attempt + 1, prompt_tokens, completion_tokens)
        if ok(parsed):
            break
    assert asked is not None  # retries >= 0, so the loop ran at least once
    return asked
