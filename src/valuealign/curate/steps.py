"""The document and the step: a small object over an iterator of documents.

A :class:`Step` looks at each live document, may change it (normalise, tag, mask) and may drop
it with a reason; a dropped document keeps flowing (untouched by later steps) so the caller can
send it to the audit. Every step counts what it saw, kept and dropped, why, and the seconds it
spent.

>>> docs = ReadStep(shard, ReadOptions())()
>>> for step in (NormaliseStep(), LanguageStep(["zh", "en"]), QualityStep()):
...     docs = step(docs)
>>> kept = [d for d in docs if d.dropped is None]

Steps here: normalise (Unicode NFKC, but full-width CJK punctuation such as ``，？（）`` stays
as it is, since Chinese text uses it; control and zero-width characters removed; runs of spaces
collapsed, lines stripped, at most one blank line), language (zh / en /
other: a script and function-word fast path for text that is plainly Chinese or English, lingua
for the rest, restricted to a handful of languages so it loads fast) and quality (see
:mod:`valuealign.curate.quality`). Lexicon, privacy and dedup live in their own modules.
"""

from __future__ import annotations

import functools
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from valuealign.curate.quality import QualityConfig, check_quality, unit_codes
from valuealign.lang import LANGS


@dataclass(frozen=True, slots=True)
class Drop:
    step: str
    reason: str  # a short code: malformed, other-language, too-short, duplicate, ...
    detail: str = ""


@dataclass(slots=True)
class Document:
    id: str
    text: str
    file: str
    line: int = 0
    language: str | None = None
    subdomains: list[str] = field(default_factory=list)
    subdomain_hits: dict[str, int] = field(default_factory=dict)
    relevance: float = 0.0
    red_line_terms: list[str] = field(default_factory=list)
    n_units: int = -1  # words + CJK characters, set by the quality step
    dropped: Drop | None = None


@dataclass
class StepCounts:
    seen: int = 0
    kept: int = 0
    dropped: int = 0
    seconds: float = 0.0
    reasons: Counter = field(default_factory=Counter)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "seen": self.seen,
            "kept": self.kept,
            "dropped": self.dropped,
            "seconds": round(self.seconds, 4),
            "reasons": dict(sorted(self.reasons.items())),
        }
        out.update(self.extra)
        return out

    @staticmethod
    def merge(items: Iterable[dict[str, Any]]) -> dict[str, Any]:
        """Add up ``to_dict`` results (numbers add, nested counters add)."""
        total: dict[str, Any] = {}
        for item in items:
            _add_into(total, item)
        if "seconds" in total:
            total["seconds"] = round(total["seconds"], 4)
        return total


def _add_into(total: dict[str, Any], item: dict[str, Any]) -> None:
    for key, value in item.items():
        if isinstance(value, dict):
            _add_into(total.setdefault(key, {}), value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            total[key] = total.get(key, 0) + value
        else:
            total[key] = value


class Step:
    """Base class: override :meth:`process`; return ``None`` to keep, ``(reason, detail)`` to drop."""

    name: ClassVar[str] = "step"

    def __init__(self) -> None:
        self.counts = StepCounts()

    def process(self, doc: Document) -> tuple[str, str] | None:
        raise NotImplementedError

    def __call__(self, docs: Iterable[Document]) -> Iterator[Document]:
        c = self.counts
        clock = time.perf_counter
        for doc in docs:
            if doc.dropped is not None:
                yield doc
                continue
            t0 = clock()
            verdict = self.process(doc)
            c.seconds += clock() - t0
            c.seen += 1
            if verdict is None:
                c.kept += 1
            else:
                reason, detail = verdict
                doc.dropped = Drop(self.name, reason, detail)
                c.dropped += 1
                c.reasons[reason] += 1
            yield doc


# -- normalise -------------------------------------------------------------------------------

# C0/C1 controls except \t \n, zero-width and bidi controls, BOM, soft hyphen
_CONTROL = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]"
)
_SPACES = re.compile(r"[^\S\n]+")  # whitespace other than newline (NFKC has mapped NBSP etc.)
_ODD_SPACE = re.compile(r"[^\S\n ]")  # what _SPACES would change, besides runs of spaces
_ASCII_ODD_SPACE = "\t\x0b\x0c\x1c\x1d\x1e\x1f"  # the same for ASCII text (\r is gone)
_BLANK_RUNS = re.compile(r"\n{3,}")


# full-width CJK punctuation (，！？：；（）…) that NFKC would turn into ASCII; Chinese keeps it
_CJK_PUNCT = re.compile("([\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65\u2026]+)")


def _nfkc(text: str) -> str:
    # already NFKC (the quick check, no copy): it then holds none of the protected punctuation
    # either (every character of _CJK_PUNCT has a compatibility mapping), so nothing changes
    if unicodedata.is_normalized("NFKC", text):
        return text
    if not _CJK_PUNCT.search(text):
        return unicodedata.normalize("NFKC", text)
    parts = _CJK_PUNCT.split(text)  # odd items are the protected punctuation runs
    return "".join(p if i % 2 else unicodedata.normalize("NFKC", p) for i, p in enumerate(parts))


def normalise_text(text: str) -> str:
    """NFKC (keeping full-width CJK punctuation), no control characters, single spaces,
    stripped lines, at most one blank line."""
    text = _nfkc(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n")
    text = _CONTROL.sub("", text)
    # each substitution only where it would change something (a scan is cheaper than a copy)
    if "  " in text or (
        any(c in text for c in _ASCII_ODD_SPACE) if text.isascii() else _ODD_SPACE.search(text)
    ):
        text = _SPACES.sub(" ", text)
    text = "\n".join(map(str.strip, text.split("\n")))
    if "\n\n\n" in text:
        text = _BLANK_RUNS.sub("\n\n", text)
    return text.strip()


class NormaliseStep(Step):
    name = "normalise"

    def process(self, doc: Document) -> tuple[str, str] | None:
        text = normalise_text(doc.text)
        if text != doc.text:
            self.counts.extra["changed"] = self.counts.extra.get("changed", 0) + 1
        doc.text = text
        if not text:
            return "empty", "no text left after normalisation"
        return None


# -- language --------------------------------------------------------------------------------

# lingua is told only about these; anything else comes out as the closest of them, then "other"
DETECTED_LANGUAGES = (
    "CHINESE",
    "ENGLISH",
    "JAPANESE",
    "KOREAN",
    "FRENCH",
    "GERMAN",
    "SPANISH",
    "RUSSIAN",
)
_CODES = {"CHINESE": "zh", "ENGLISH": "en"}
_NAMES = {"zh": "chinese", "en": "english"}
_LETTER = re.compile(r"[^\W\d_]")
_detector: Any = None


def _lingua() -> Any:
    global _detector
    if _detector is None:
        try:
            from lingua import Language, LanguageDetectorBuilder
        except ImportError:
            from valuealign.errors import MissingExtra

            raise MissingExtra("lingua-language-detector", "curate", "language detection") from None
        langs = [getattr(Language, n) for n in DETECTED_LANGUAGES]
        _detector = LanguageDetectorBuilder.from_languages(*langs).build()
    return _detector


# The script fast path: most of a zh/en corpus is plainly one or the other, and lingua (which
# weighs 8 languages' n-gram models) is only needed for the rest. Clear Chinese: at least 20 Han
# characters, no kana or hangul, and Han at least 90% of the letters. Clear English: ASCII only,
# at least 20 words, at least 5% of them English function words and at most 2% French, German
# or Spanish ones. On the benchmark corpus the fast path decides ~90% of the documents and
# agrees with lingua on every one of them; everything else goes to lingua as before.
_HAN_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))
_KANA_HANGUL_RANGES = (
    (0x1100, 0x11FF),
    (0x3040, 0x30FF),
    (0x3130, 0x318F),
    (0x31F0, 0x31FF),
    (0xAC00, 0xD7AF),
)


def _class_body(ranges: tuple[tuple[int, int], ...]) -> str:
    """The inside of a character class for code point ranges (``\\uXXXX-\\uXXXX`` each)."""
    return "".join(f"\\u{lo:04x}-\\u{hi:04x}" for lo, hi in ranges)


_HAN = re.compile(f"[{_class_body(_HAN_RANGES)}]")
_KANA_HANGUL = re.compile(f"[{_class_body(_KANA_HANGUL_RANGES)}]")
_NON_HAN_LETTER = re.compile(f"[^\\W\\d_{_class_body(_HAN_RANGES)}]")
_ASCII_WORD = re.compile(r"[a-z]+")
EN_MARKERS = frozenset(
    "the of and to that with was are this from have for it be by at not were which their has "
    "been".split()
)
FOREIGN_MARKERS = frozenset(
    "le la les des une et est dans pour avec sur sont nous vous ils elle mais donc parce que "
    "der die das und ist nicht mit von auf für eine einen dem den wir sie aber oder weil "
    "el los las y del por con una es".split()
)


def clear_language(sample: str) -> str | None:
    """``zh`` or ``en`` when the script and function words leave no doubt, else ``None``."""
    if sample.isascii():
        words = _ASCII_WORD.findall(sample.lower())
        n = len(words)
        if n < 20:
            return None
        en = sum(map(EN_MARKERS.__contains__, words))
        foreign = sum(map(FOREIGN_MARKERS.__contains__, words))
        return "en" if en >= 0.05 * n and foreign <= 0.02 * n else None
    points = np.frombuffer(sample.encode("utf-32-le"), dtype=np.uint32)
    if points.size and int(points.max()) <= 0xFFFF:
        # the three patterns' counts in one table look-up (every range involved is in the BMP)
        han, kana_hangul, other = np.bincount(_script_table()[points], minlength=4)[1:].tolist()
    else:
        han = len(sample) - len(_HAN.sub("", sample))
        kana_hangul = _KANA_HANGUL.search(sample) is not None
        other = len(_NON_HAN_LETTER.findall(sample))
    if han < 20 or kana_hangul:
        return None
    # Han >= 90% of the letters, i.e. at most one other letter per nine Han characters
    return "zh" if 9 * other <= han else None


@functools.cache
def _script_table() -> np.ndarray:
    """Per BMP code point: 1 Han (``_HAN``), 2 kana or hangul (``_KANA_HANGUL``), 3 another
    letter (``_NON_HAN_LETTER``: a word character that is not a decimal digit, ``_`` or Han;
    for ``re``, a word character is one ``str.isalnum`` accepts, or ``_``), 0 anything else."""
    table = np.frombuffer(
        bytes(3 if (c := chr(i)).isalnum() and not c.isdecimal() else 0 for i in range(1 << 16)),
        dtype=np.uint8,
    ).copy()
    for lo, hi in _KANA_HANGUL_RANGES:
        table[lo : hi + 1] = 2
    for lo, hi in _HAN_RANGES:
        table[lo : hi + 1] = 1
    return table


def detect_language(text: str, sample_chars: int = 1000) -> tuple[str, str]:
    """Return (``zh`` | ``en`` | ``other``, the detector's own name for it)."""
    sample = text[:sample_chars]
    clear = clear_language(sample)
    if clear is not None:
        return clear, _NAMES[clear]
    if not _LETTER.search(sample):
        return "other", "no letters"
    found = _lingua().detect_language_of(sample)
    if found is None:
        return "other", "undetermined"
    name = found.name
    return _CODES.get(name, "other"), name.lower()


class LanguageStep(Step):
    """Tag zh / en / other; keep the charter's languages."""

    name = "language"

    def __init__(self, keep: Sequence[str] = LANGS) -> None:
        super().__init__()
        self.keep = set(keep)
        self.detected: Counter = Counter()
        self.counts.extra["detected"] = self.detected

    def process(self, doc: Document) -> tuple[str, str] | None:
        code, name = detect_language(doc.text)
        doc.language = code
        self.detected[code] += 1
        if code == "other":
            return "other-language", name
        if code not in self.keep:
            return "language-not-in-charter", code
        return None


# -- quality ---------------------------------------------------------------------------------


class QualityStep(Step):
    """Length, symbol and digit ratios, repeated lines and n-grams, boilerplate (zh and en)."""

    name = "quality"

    def __init__(self, config: QualityConfig | None = None) -> None:
        super().__init__()
        self.config = config or QualityConfig()

    def process(self, doc: Document) -> tuple[str, str] | None:
        codes = unit_codes(doc.text)
        doc.n_units = len(codes)
        return check_quality(doc.text, doc.language or "en", self.config, codes)
