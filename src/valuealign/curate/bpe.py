"""A faster way to the same token ids for GPT-2-style byte-level BPE tokenizers (the default
pack tokenizer, SmolLM2's, is one).

``tokenizers`` spends most of its time per document on bookkeeping (alignments of the
normalised string, offsets, one ``Encoding`` object per document), not on BPE merges, and a
corpus repeats the same words over and over. :class:`ByteLevelBPE` splits a document with the
tokenizer's own pre-tokenization rule (the GPT-2 pattern), looks every piece up in a cache of
piece -> ids, and asks the tokenizer's own BPE model (``tokenizer.model.tokenize``) only for
pieces it has not seen. The ids are exactly those of ``Tokenizer.encode``:

- it is used only for a ``tokenizer.json`` whose pipeline is exactly: no normaliser, the
  ``ByteLevel`` pre-tokenizer with its regular expression and no prefix space, a BPE model
  without dropout, and a post-processor that adds no tokens (checked in
  :meth:`ByteLevelBPE.for_tokenizer`; anything else keeps the plain ``tokenizers`` path);
- the GPT-2 pattern needs Unicode classes (letters, numbers, white space), which Python's ``re``
  lacks; they are spelled out here for the characters whose general category is the same in
  Unicode 3.2 and in this Python's Unicode database (every CJK ideograph of the basic block and
  extensions A and B, Latin, Greek, Cyrillic, the common punctuation...), where every Unicode
  version, and so the tokenizer's regular-expression engine, agrees. A document with any other
  character, or with the text of one of the tokenizer's added tokens (``<|endoftext|>``...,
  which ``tokenizers`` matches before splitting), goes through ``tokenizers`` unchanged;
- the tests compare the ids with ``Tokenizer.encode`` on every such character in several
  contexts, and on mixed zh/en text.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from functools import cache
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

# tokenizers' ByteLevel pre-tokenizer: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+|
# ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ (the GPT-2 pattern), with \s the White_Space property
_WHITE_SPACE = (
    *range(0x09, 0x0E),
    0x20,
    0x85,
    0xA0,
    0x1680,
    *range(0x2000, 0x200B),
    0x2028,
    0x2029,
    0x202F,
    0x205F,
    0x3000,
)
_MAX_CACHE = 1 << 18  # pieces (~40 MB at most); the cache starts afresh when full
_MAX_CHUNK = 40  # longer space-separated chunks are not cached whole (they rarely repeat)
# the same pattern for ASCII text, with ASCII classes (smaller classes match faster)
_ASCII_SPACE = r"\t\n\x0b\x0c\r "
_SPLIT_ASCII = re.compile(
    rf"'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^{_ASCII_SPACE}A-Za-z0-9]+"
    rf"|[{_ASCII_SPACE}]+(?![^{_ASCII_SPACE}])|[{_ASCII_SPACE}]+"
)


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> printable character table (what ByteLevel feeds the BPE model)."""
    keep = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    table = {b: chr(b) for b in keep}
    n = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + n)
            n += 1
    return table


def _class(code_points: list[int]) -> str:
    """A regular-expression character class body for sorted code points (as ranges)."""
    runs: list[list[int]] = []
    for c in code_points:
        if runs and runs[-1][1] == c - 1:
            runs[-1][1] = c
        else:
            runs.append([c, c])
    return "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in runs
    )


@cache
def stable_characters() -> tuple[int, ...]:
    """Code points (below U+30000) with the same general category in Unicode 3.2 and in this
    Python, excluding unassigned, surrogate and private-use ones."""
    old = unicodedata.ucd_3_2_0
    out = []
    for c in range(0x30000):
        if 0xD800 <= c < 0xE000:
            continue
        ch = chr(c)
        cat = unicodedata.category(ch)
        if cat not in ("Cn", "Cs", "Co") and old.category(ch) == cat:
            out.append(c)
    return tuple(out)


@cache
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(the pre-tokenization pattern, a search for a character outside the stable set)."""
    stable = stable_characters()
    cats = {c: unicodedata.category(chr(c))[0] for c in stable}
    letters = _class([c for c in stable if cats[c] == "L"])
    numbers = _class([c for c in stable if cats[c] == "N"])
    in_stable = set(stable)
    space = _class([c for c in _WHITE_SPACE if c in in_stable])
    split = re.compile(
        rf"'s|'t|'re|'ve|'m|'ll|'d| ?[{letters}]+| ?[{numbers}]+| ?[^{space}{letters}{numbers}]+"
        rf"|[{space}]+(?![^{space}])|[{space}]+"
    )
    return split, re.compile(f"[^{_class(list(stable))}]")


def _single_spaces(text: str) -> bool:
    """True when every space of the ASCII ``text`` is single and between two characters that
    are not white space (normalised text: collapsed spaces, stripped lines)."""
    return not (
        text[0] == " "
        or text[-1] == " "
        or "  " in text
        or " \n" in text
        or "\n " in text
        or "\t" in text
        or "\r" in text
        or "\x0b" in text
        or "\x0c" in text
    )


def _is_plain_byte_level(config: dict[str, Any]) -> bool:
    pre = config.get("pre_tokenizer") or {}
    model = config.get("model") or {}
    post = config.get("post_processor")
    if config.get("normalizer") is not None or config.get("truncation") or config.get("padding"):
        return False
    if pre.get("type") != "ByteLevel" or pre.get("add_prefix_space") or not pre.get("use_regex"):
        return False
    if model.get("type") != "BPE" or model.get("dropout") not in (None, 0, 0.0):
        return False
    if model.get("byte_fallback") or model.get("continuing_subword_prefix") not in (None, ""):
        return False
    if model.get("end_of_word_suffix") not in (None, ""):
        return False
    if post is None or post.get("type") == "ByteLevel":
        return True
    if post.get("type") == "TemplateProcessing":
        return post.get("single") == [{"Sequence": {"id": "A", "type_id": 0}}]
    return False


class _IdsCache(dict):
    """text -> its ids as native int32 bytes; a miss asks ``encode`` (``__missing__``, so a hit
    is one C-level look-up through ``map``). Texts longer than ``longest`` are encoded but not
    kept (they rarely repeat); the cache starts afresh when full."""

    def __init__(self, encode: Callable[[str], bytes], longest: int | None = None) -> None:
        super().__init__()
        self.encode = encode
        self.longest = longest

    def __missing__(self, key: str) -> bytes:
        ids = self.encode(key)
        if self.longest is None or len(key) <= self.longest:
            if len(self) >= _MAX_CACHE:
                self.clear()
            self[key] = ids
        return ids


class ByteLevelBPE:
    """Exact, cached encoding for a plain byte-level BPE ``tokenizers.Tokenizer``.

    Ids are kept and joined as native int32 bytes (``bytes.join`` and one ``np.frombuffer``
    per batch instead of a Python list per piece and one array conversion per document)."""

    def __init__(self, tokenizer: Any, added: list[str]) -> None:
        self.model = tokenizer.model
        self.cache = _IdsCache(self._piece)  # piece -> its ids
        # chunk -> the ids of " " + chunk
        self.spaced = _IdsCache(lambda chunk: self._encode_pieces(" " + chunk), _MAX_CHUNK)
        self.split, self.unstable = _patterns()
        table = _bytes_to_unicode()
        self.byte_chars = {b: table[b] for b in range(256)}
        self.added = [a for a in added if a]
        self.added_first = "".join(sorted({a[0] for a in self.added}))
        self.fast_documents = 0
        self.slow_documents = 0

    @classmethod
    def for_tokenizer(cls, tokenizer: Any, tokenizer_json: Path) -> ByteLevelBPE | None:
        """The fast path for this tokenizer, or ``None`` where it would not be exact."""
        try:
            config = json.loads(Path(tokenizer_json).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(config, dict) or not _is_plain_byte_level(config):
            return None
        if not hasattr(tokenizer, "model") or not hasattr(tokenizer.model, "tokenize"):
            return None
        added = [t.get("content", "") for t in config.get("added_tokens") or []]
        return cls(tokenizer, added)

    def usable(self, text: str) -> bool:
        """True when this path gives ``tokenizers``' ids for ``text`` by construction."""
        if not text.isascii() and self.unstable.search(text):
            return False
        for ch in self.added_first:
            if ch in text:
                return not any(a in text for a in self.added)
        return True

    def _piece(self, piece: str) -> bytes:
        chars = "".join(map(self.byte_chars.__getitem__, piece.encode("utf-8")))
        return _int32_bytes([t.id for t in self.model.tokenize(chars)])

    def encode_one(self, text: str) -> list[int]:
        """The ids of a text for which :meth:`usable` is true."""
        return np.frombuffer(self.encode_bytes(text), dtype=np.int32).tolist()

    def encode_bytes(self, text: str) -> bytes:
        """:meth:`encode_one`'s ids as native int32 bytes."""
        if text.isascii() and " " in text and _single_spaces(text):
            return self._encode_spaced(text)
        return self._encode_pieces(text)

    def _encode_pieces(self, text: str) -> bytes:
        pattern = _SPLIT_ASCII if text.isascii() else self.split
        return b"".join(map(self.cache.__getitem__, pattern.findall(text)))

    def _encode_spaced(self, text: str) -> bytes:
        """ASCII text whose every space is single, between two characters that are not white
        space: every such space starts a piece of the pattern (no piece can run into it from
        the left, since none holds a space after its first character; and white space runs
        never touch it), and no piece looks past the next such space, so the pieces of the
        text are those of ``chunk0``, `` chunk1``, `` chunk2``... (``text.split(" ")``), and
        each chunk's ids can be cached whole: one look-up per word instead of a pattern match
        and a look-up per piece."""
        chunks = text.split(" ")
        head = self._encode_pieces(chunks[0])
        return head + b"".join(map(self.spaced.__getitem__, islice(chunks, 1, None)))

    def fallback_to(
        self, encode: Callable[[list[str]], list[list[int]]]
    ) -> Callable[[list[str]], list[list[int]]]:
        """An ``encode_batch`` that takes this path where it is exact and ``encode`` elsewhere."""
        flat = self.flat_fallback_to(encode)

        def encode_batch(texts: list[str]) -> list[list[int]]:
            return [np.frombuffer(b, dtype=np.int32).tolist() for b in flat(texts)]

        return encode_batch

    def flat_fallback_to(
        self, encode: Callable[[list[str]], list[list[int]]]
    ) -> Callable[[list[str]], list[bytes]]:
        """Like :meth:`fallback_to`, each document's ids as native int32 bytes."""

        def encode_batch(texts: list[str]) -> list[bytes]:
            out: list[bytes] = []
            slow: list[int] = []
            for i, text in enumerate(texts):
                if self.usable(text):
                    out.append(self.encode_bytes(text))
                else:
                    out.append(b"")
                    slow.append(i)
            self.fast_documents += len(texts) - len(slow)
            self.slow_documents += len(slow)
            if slow:
                for i, ids in zip(slow, encode([texts[i] for i in slow]), strict=True):
                    out[i] = _int32_bytes(ids)
            return out

        return encode_batch


def _int32_bytes(ids: list[int]) -> bytes:
    return np.asarray(ids, dtype=np.int32).tobytes()
