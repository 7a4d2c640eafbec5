"""A minimal, presence-based value detector: keyword hits -> a vector over Schwartz's ten values.

:class:`LexiconDetector` counts, for each value, how many ``promote`` and ``oppose`` terms of its
lexicon (see :mod:`valuealign.values.schwartz`) occur in a text, and squashes the difference into
[-1, 1]::

    score = tanh(k * (promote_hits - oppose_hits) / sqrt(length))

where ``length`` is the text's size in word-like units (English words plus Chinese characters
divided by 1.5, at least 1), so one hit in a short sentence counts for more than one hit in a long
essay. Oppose terms are matched before promote terms at the same position, and matches do not
overlap, so "反传统" or "non-discrimination" count once, with the right sign.

This is a baseline and nothing more: it sees words, not meaning. It knows no negation ("not
about tradition" still counts "tradition"), no irony, no context, and it scores only the value
words that its short lexicons happen to list. Use it for smoke tests, sanity checks and as a
floor to beat; the VISA issue adds an LLM-judged detector and a trained classifier behind the
same ``detect`` interface.

>>> d = LexiconDetector()
>>> v = d.detect("We honour the customs our ancestors handed down.")
>>> bool(v[VALUES.index("tradition")] > 0)
True
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import cache

import numpy as np

from valuealign.lang import CJK_RE as _CJK_RE
from valuealign.lang import language_of
from valuealign.values.schwartz import VALUE_SPECS, VALUES

_WORD_RE = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")  # runs of letters, CJK included


def text_length(text: str) -> float:
    """Size of ``text`` in word-like units: Latin-script words + CJK characters / 1.5 (>= 1)."""
    cjk = len(_CJK_RE.findall(text))
    words = sum(1 for w in _WORD_RE.findall(_CJK_RE.sub(" ", text)))
    return max(1.0, words + cjk / 1.5)


def _term_pattern(term: str, language: str) -> str:
    if language == "zh":
        return re.escape(term)
    parts = [re.escape(p) for p in term.split()]
    body = r"\s+".join(parts).replace(r"\*", r"\w*")
    head = r"\b" if term[0].isalnum() else ""
    tail = "" if term.endswith("*") else r"(?:s|es)?\b"
    return head + body + tail


@cache
def _compiled(value_id: str, language: str) -> re.Pattern[str]:
    """One regex per (value, language): oppose terms first, each group longest term first."""
    lexicon = VALUE_SPECS[value_id].lexicon[language]

    def alternation(terms: Sequence[str]) -> str:
        ordered = sorted(terms, key=len, reverse=True)
        return "|".join(_term_pattern(t, language) for t in ordered) or r"(?!x)x"

    return re.compile(
        f"(?P<oppose>{alternation(lexicon.oppose)})|(?P<promote>{alternation(lexicon.promote)})",
        re.IGNORECASE,
    )


@cache
def value_terms_pattern(language: str) -> re.Pattern[str]:
    """Every lexicon term of one language (both directions, every value) as one regex, longest
    term first, each term matched as the keyword detector matches it."""
    terms = {
        t
        for spec in VALUE_SPECS.values()
        if (lex := spec.lexicon.get(language)) is not None
        for t in (*lex.promote, *lex.oppose)
        if t.strip()
    }
    ordered = sorted(terms, key=len, reverse=True)
    return re.compile(
        "|".join(_term_pattern(t, language) for t in ordered) or r"(?!x)x", re.IGNORECASE
    )


class LexiconDetector:
    """Presence-based keyword detector over Schwartz's ten values (see the module docstring).

    ``k`` sets how fast hits saturate: with the default 2.5, one net hit in a ten-word sentence
    scores about 0.66 and two score about 0.92.
    """

    def __init__(self, k: float = 2.5) -> None:
        if k <= 0:
            raise ValueError("k must be positive")
        self.k = k

    def counts(self, text: str, language: str | None = None) -> dict[str, tuple[int, int]]:
        """Value id -> (promote hits, oppose hits) in ``text``."""
        lang = self._language(text, language)
        result: dict[str, tuple[int, int]] = {}
        for value_id in VALUES:
            promote = oppose = 0
            for match in _compiled(value_id, lang).finditer(text):
                if match.lastgroup == "oppose":
                    oppose += 1
                else:
                    promote += 1
            result[value_id] = (promote, oppose)
        return result

    def detect(self, text: str, language: str | None = None) -> np.ndarray:
        """Vector in [-1, 1]^10, in the order of :data:`VALUES`; all zeros when nothing matches.

        ``language`` is "zh" or "en"; None detects it from the share of CJK characters.
        """
        counts = self.counts(text, language)
        scale = self.k / math.sqrt(text_length(text))
        return np.array(
            [math.tanh(scale * (p - o)) for p, o in (counts[v] for v in VALUES)],
            dtype=np.float64,
        )

    def detect_many(self, texts: Sequence[str], language: str | None = None) -> np.ndarray:
        """Stack :meth:`detect` over ``texts``: shape (len(texts), 10)."""
        if not texts:
            return np.zeros((0, len(VALUES)))
        return np.stack([self.detect(t, language) for t in texts])

    @staticmethod
    def _language(text: str, language: str | None) -> str:
        # strict: an unknown tag raises UnsupportedLanguage (a ValueError)
        return language_of(text, language, strict=True)


def cosine(a: np.ndarray | Sequence[float], b: np.ndarray | Sequence[float]) -> float | None:
    """Cosine similarity of two vectors, or None when either is all zeros (no signal to compare)."""
    va = np.asarray(a, dtype=np.float64).ravel()
    vb = np.asarray(b, dtype=np.float64).ravel()
    if va.shape != vb.shape:
        raise ValueError(f"shape mismatch: {va.shape} vs {vb.shape}")
    na = float(np.linalg.norm(va))
    nb = float(np.linalg.norm(vb))
    if na == 0.0 or nb == 0.0:
        return None
    return float(np.clip(np.dot(va, vb) / (na * nb), -1.0, 1.0))
