"""Quality rules that work for Chinese (no whitespace between words) as well as English.

Text is measured in *units*: an English word or a single CJK character (a Chinese character
carries about as much as a short word, and needs no segmenter). The rules, in order (the first
that fails names the drop reason):

- ``too-short`` / ``too-long``: units below ``min_units_en`` (English) or ``min_units_zh``
  (Chinese), or above ``max_units``;
- ``symbol-ratio``: symbols (``#{}<>|~^``, arrows, box drawing, emoji, ...) over non-space
  characters above ``max_symbol_ratio``;
- ``digit-ratio``: digits over non-space characters above ``max_digit_ratio``;
- ``repeated-lines``: the share of non-empty lines that repeat an earlier line above
  ``max_repeated_lines`` (from three lines up);
- ``repeated-ngrams``: the share of units covered by an n-gram that occurs more than once
  (5-grams of words for English, 10-grams of characters for Chinese) above
  ``max_repeated_ngrams``;
- ``boilerplate``: a hard marker (``lorem ipsum``, ``enable JavaScript``, ``页面不存在``...)
  anywhere, or soft markers (``all rights reserved``, ``click here``, ``版权所有``,
  ``上一篇``...) on more than ``max_boilerplate_lines`` of the lines.

>>> check_quality("点击这里 点击这里 点击这里", "zh", QualityConfig())
('too-short', '12 units < 40')
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
_UNIT = re.compile(rf"[{_CJK}]|[^\W\d_{_CJK}]+(?:['’][^\W\d_{_CJK}]+)*|\d+")
_SYMBOL = re.compile(
    r"[#$%&*+<=>@\\^_`{|}~/\[\]\u00a2-\u00a9\u00ac-\u00b1\u2190-\u23ff\u2500-\u27bf"
    r"\u2900-\u2bff\U0001f000-\U0001faff]"
)
_DIGIT = re.compile(r"\d")

HARD_MARKERS = (
    "lorem ipsum",
    "enable javascript",
    "javascript is disabled",
    "javascript is required",
    "please enable cookies",
    "404 not found",
    "page not found",
    "页面不存在",
    "您访问的页面不存在",
    "请启用javascript",
    "请开启javascript",
)
SOFT_MARKERS = (
    "all rights reserved",
    "copyright ©",
    "cookie policy",
    "privacy policy",
    "terms of use",
    "terms of service",
    "subscribe to our newsletter",
    "sign up for our newsletter",
    "click here",
    "read more",
    "share this article",
    "follow us on",
    "log in",
    "sign in",
    "版权所有",
    "免责声明",
    "点击这里",
    "点击查看",
    "阅读原文",
    "上一篇",
    "下一篇",
    "返回顶部",
    "扫码关注",
    "关注我们",
    "转载请注明",
    "登录",
    "注册",
    "分享到",
    "责任编辑",
)
_HARD = re.compile("|".join(re.escape(m) for m in HARD_MARKERS))
_SOFT = re.compile("|".join(re.escape(m) for m in SOFT_MARKERS))
_markers: Any = None


def _marker_automaton() -> Any:
    """One Aho-Corasick automaton over the hard and the soft markers (daachorse, as the lexicon
    step uses), or ``False`` without daachorse (the regular expressions are used instead)."""
    global _markers
    if _markers is None:
        try:
            import daachorse
        except ImportError:
            _markers = False
        else:
            _markers = daachorse.CharwiseDoubleArrayAhoCorasick([*HARD_MARKERS, *SOFT_MARKERS])
    return _markers


def find_markers(low_text: str) -> tuple[str | None, bool]:
    """(the hard marker ``_HARD.search`` finds in the lowercased text, or ``None``; whether a
    soft marker occurs in it), in one pass over every occurrence of every marker."""
    automaton = _marker_automaton()
    if automaton is False:
        hard = _HARD.search(low_text)
        return (hard.group(0) if hard else None), _SOFT.search(low_text) is not None
    n_hard = len(HARD_MARKERS)
    first: tuple[int, int] | None = None
    soft = False
    for start, _end, idx in automaton.find_overlapping(low_text):
        if idx >= n_hard:
            soft = True
        elif first is None or (start, idx) < first:
            # a regular expression's alternation: the leftmost start, then the first alternative
            first = (start, idx)
    return (HARD_MARKERS[first[1]] if first else None), soft


@dataclass(frozen=True)
class QualityConfig:
    min_units_en: int = 20
    min_units_zh: int = 40
    max_units: int = 100_000
    max_symbol_ratio: float = 0.1
    max_digit_ratio: float = 0.25
    max_repeated_lines: float = 0.3
    max_repeated_ngrams: float = 0.3
    max_boilerplate_lines: float = 0.4

    def min_units(self, language: str) -> int:
        return self.min_units_zh if language == "zh" else self.min_units_en


# _UNIT on ASCII text, where [^\W\d_] is [a-z] after lowercasing and \d is [0-9]
_UNIT_ASCII = re.compile(r"[a-z]+(?:'[a-z]+)*|[0-9]+")
# _UNIT with runs of CJK characters in one match (split into characters afterwards: one match
# per run instead of one per character)
_UNIT_RUNS = re.compile(rf"[{_CJK}]+|[^\W\d_{_CJK}]+(?:['’][^\W\d_{_CJK}]+)*|\d+")
_CJK_TABLE = bytearray(0xFB00)
for _a, _b in re.findall(r"(.)-(.)", _CJK):
    _CJK_TABLE[ord(_a) : ord(_b) + 1] = b"\x01" * (ord(_b) - ord(_a) + 1)


def units(text: str) -> list[str]:
    """Words and single CJK characters, lowercased."""
    low = text.lower()
    if low.isascii():
        return _UNIT_ASCII.findall(low)
    out: list[str] = []
    cjk, size = _CJK_TABLE, len(_CJK_TABLE)
    for tok in _UNIT_RUNS.findall(low):
        c = ord(tok[0])
        if c < size and cjk[c]:
            out += tok  # a run of CJK characters: one unit each
        else:
            out.append(tok)
    return out


def repeated_ngram_share(items: list[str], n: int) -> float:
    """Share of items covered by an n-gram that occurs more than once."""
    if len(items) < 2 * n:
        return 0.0
    grams = [tuple(items[i : i + n]) for i in range(len(items) - n + 1)]
    counts = Counter(grams)
    covered = bytearray(len(items))
    ones = b"\x01" * n
    for i, g in enumerate(grams):
        if counts[g] > 1:
            covered[i : i + n] = ones
    return sum(covered) / len(items)


_POLY = np.uint64(0x100000001B3)
_CJK_ARRAY = np.frombuffer(bytes(_CJK_TABLE), dtype=np.uint8).astype(bool)


# ASCII unit codes with numpy (lowercased text): a class per byte, 1 letter, 2 digit, 3
# apostrophe, 0 anything else; powers of the (odd) multiplier and of its inverse mod 2**64
_ASCII_CLASS = np.zeros(128, dtype=np.int8)
_ASCII_CLASS[ord("a") : ord("z") + 1] = 1
_ASCII_CLASS[ord("0") : ord("9") + 1] = 2
_ASCII_CLASS[ord("'")] = 3
_MAX_VECTOR = 1 << 16  # longer texts take the pattern (the power tables stay small)
_POLY_INV = np.uint64(pow(int(_POLY), -1, 1 << 64))


def _powers(base: np.uint64, n: int) -> np.ndarray:
    """``base**i`` mod 2**64 for ``i < n``."""
    out = np.ones(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        out[1:] = np.cumprod(np.full(n - 1, base, dtype=np.uint64), dtype=np.uint64)
    return out


_POW = _powers(_POLY, _MAX_VECTOR)
_POW_INV = _powers(_POLY_INV, _MAX_VECTOR)


def _ascii_unit_codes(low: str) -> np.ndarray:
    """:func:`unit_codes` for lowercased ASCII text of at most ``_MAX_VECTOR`` characters,
    without a string per unit: the units of ``_UNIT_ASCII`` are the maximal runs of letters
    (an apostrophe with a letter on both sides counts as a letter: ``[a-z]+(?:'[a-z]+)*``)
    and of digits; a unit's code is the polynomial ``sum(c[j] * P**(end - 1 - j))`` over its
    bytes, taken for all units at once from one prefix sum of ``c[j] * P**-j`` (mod 2**64).
    Equal units get equal codes (the polynomial depends only on the bytes)."""
    b = np.frombuffer(low.encode("ascii"), dtype=np.uint8)
    n = b.size
    if not n:
        return np.zeros(0, dtype=np.int64)
    cls = _ASCII_CLASS[b]
    apos = cls == 3
    if apos.any():
        inner = np.zeros(n, dtype=bool)
        inner[1:-1] = apos[1:-1] & (cls[:-2] == 1) & (cls[2:] == 1)
        cls = np.where(inner, np.int8(1), np.where(apos, np.int8(0), cls))
    unit = cls != 0
    first = unit.copy()
    first[1:] &= cls[1:] != cls[:-1]
    last = unit.copy()
    last[:-1] &= cls[:-1] != cls[1:]
    starts = np.flatnonzero(first)
    if not starts.size:
        return np.zeros(0, dtype=np.int64)
    ends = np.flatnonzero(last)  # the index of each unit's last byte
    with np.errstate(over="ignore"):
        prefix = np.cumsum(b.astype(np.uint64) * _POW_INV[:n], dtype=np.uint64)
        before = np.where(starts > 0, prefix[starts - 1], np.uint64(0))
        codes = (prefix[ends] - before) * _POW[ends]
    return codes.view(np.int64)


def unit_codes(text: str) -> np.ndarray:
    """One int64 per unit of :func:`units` (the same count, in order), equal for equal units:
    a CJK character's code point, a word's or number's ``hash``. Equal units always get equal
    codes; a collision (two different units, one code) can only make two n-grams look alike,
    which is all :func:`_repeated_share_bound` needs. No unit string is made for a CJK
    character (the cost of :func:`units` on Chinese text)."""
    low = text.lower()
    if low.isascii():
        if len(low) <= _MAX_VECTOR:
            return _ascii_unit_codes(low)
        toks = _UNIT_ASCII.findall(low)
        return np.fromiter(map(hash, toks), dtype=np.int64, count=len(toks))
    toks = _UNIT_RUNS.findall(low)
    m = len(toks)
    if not m:
        return np.zeros(0, dtype=np.int64)
    lens = np.fromiter(map(len, toks), dtype=np.int64, count=m)
    points = np.frombuffer("".join(toks).encode("utf-32-le"), dtype=np.uint32)
    starts = np.cumsum(lens) - lens
    first = points[starts]
    size = len(_CJK_ARRAY)
    cjk = _CJK_ARRAY[np.minimum(first, size - 1)] & (first < size)  # a run of CJK characters
    codes = points.astype(np.int64)
    keep = np.repeat(cjk, lens)  # every character of a CJK run is a unit
    other = np.flatnonzero(~cjk)  # a word or number: one unit, at its first character
    if other.size:
        at = starts[other]
        codes[at] = [hash(toks[i]) for i in other.tolist()]
        keep[at] = True
    return codes[keep]


def _repeated_share_bound(codes: np.ndarray, n: int) -> float:
    """An upper bound of :func:`repeated_ngram_share`, computed with numpy on 64-bit hashes of
    the n-grams of :func:`unit_codes`: equal n-grams always hash alike, and a collision can
    only mark more items as covered, so a text under the limit here is under it exactly."""
    m = len(codes)
    if m < 2 * n:
        return 0.0
    h = codes.view(np.uint64)
    k = m - n + 1
    with np.errstate(over="ignore"):
        grams = h[:k].copy()
        for j in range(1, n):
            grams *= _POLY
            grams += h[j : j + k]
    ordered = np.sort(grams)
    same = ordered[1:] == ordered[:-1]
    if not same.any():
        return 0.0
    repeated = np.isin(grams, ordered[1:][same]).astype(np.int8)
    covered = np.convolve(repeated, np.ones(n, dtype=np.int8))[:m] > 0
    return int(covered.sum()) / m


# per ASCII character: 1 white space (``str.isspace``, what ``str.split()`` splits on), 2 a
# character ``_SYMBOL`` matches, 3 a digit ``_DIGIT`` matches, 0 anything else
_ASCII_KIND = np.array(
    [
        1 if chr(c).isspace() else 2 if _SYMBOL.match(chr(c)) else 3 if _DIGIT.match(chr(c)) else 0
        for c in range(128)
    ],
    dtype=np.uint8,
)


def _ascii_counts(text: str) -> tuple[int, int, int]:
    """(non-space characters, ``_SYMBOL`` matches, ``_DIGIT`` matches) of ASCII text, from
    one table look-up per byte instead of a split and two pattern scans."""
    kinds = _ASCII_KIND[np.frombuffer(text.encode("ascii"), dtype=np.uint8)]
    _, space, symbols, digits = np.bincount(kinds, minlength=4).tolist()
    return len(text) - space, symbols, digits


def check_quality(
    text: str, language: str, config: QualityConfig, codes: np.ndarray | None = None
) -> tuple[str, str] | None:
    """``None`` when the text passes, else ``(reason, detail)`` for the first failed rule
    (``codes``: the text's :func:`unit_codes`, when the caller has them)."""
    codes = unit_codes(text) if codes is None else codes
    n = len(codes)
    low = config.min_units(language)
    if n < low:
        return "too-short", f"{n} units < {low}"
    if n > config.max_units:
        return "too-long", f"{n} units > {config.max_units}"
    if text.isascii():
        nonspace, n_symbols, n_digits = _ascii_counts(text)
    else:
        nonspace = sum(map(len, text.split()))  # str.split() and \s agree on white space
        n_symbols = len(_SYMBOL.findall(text)) if nonspace else 0
        n_digits = len(_DIGIT.findall(text)) if nonspace else 0
    if nonspace:
        symbols = n_symbols / nonspace
        if symbols > config.max_symbol_ratio:
            return "symbol-ratio", f"{symbols:.2f} > {config.max_symbol_ratio}"
        digits = n_digits / nonspace
        if digits > config.max_digit_ratio:
            return "digit-ratio", f"{digits:.2f} > {config.max_digit_ratio}"
    lines = [line for line in text.split("\n") if line]
    if len(lines) >= 3:
        repeated = 1 - len(set(lines)) / len(lines)
        if repeated > config.max_repeated_lines:
            return "repeated-lines", f"{repeated:.2f} > {config.max_repeated_lines}"
    n_gram = 10 if language == "zh" else 5
    share = _repeated_share_bound(codes, n_gram)
    if share > config.max_repeated_ngrams:
        # exact, on the units themselves, for the decision and the detail
        share = repeated_ngram_share(units(text), n_gram)
    if share > config.max_repeated_ngrams:
        return "repeated-ngrams", f"{share:.2f} > {config.max_repeated_ngrams}"
    hard, soft = find_markers(text.lower())
    if hard is not None:
        return "boilerplate", f"marker {hard!r}"
    if not soft:  # most documents have no soft marker at all
        return None
    marked = sum(1 for line in lines if _SOFT.search(line.lower()))
    if lines and marked >= 2 and marked / len(lines) > config.max_boilerplate_lines:
        return "boilerplate", f"{marked} of {len(lines)} lines are boilerplate"
    return None
