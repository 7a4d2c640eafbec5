"""The one seam between VISA and :mod:`valuealign.values`: detectors, facts, targets.

VISA needs five things from the values package: a detector that maps texts to value vectors
(:func:`~valuealign.values.get_detector`), the value target type
(:class:`~valuealign.values.ValueTarget` over a :class:`~valuealign.values.Taxonomy`), a fact
check (:func:`~valuealign.values.fact_keeping`) and the length measure the reward's length term
uses (:func:`~valuealign.values.detector.text_length`), and the lexicon's terms as one pattern
for the stuffing check (:func:`~valuealign.values.detector.value_terms_pattern`). Everything in :mod:`valuealign.visa` reaches
them through this module, so a change over there is absorbed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from valuealign.errors import UserError
from valuealign.values import (
    Taxonomy,
    ValueTarget,
    fact_keeping,
    get_detector,
    get_taxonomy,
    parse_target,
)
from valuealign.values.detector import text_length, value_terms_pattern

__all__ = [
    "FactSummary",
    "Taxonomy",
    "ValueDetectorAdapter",
    "ValueTarget",
    "check_facts",
    "common_space",
    "get_taxonomy",
    "get_value_detector",
    "parse_target",
    "text_length",
    "to_space",
    "value_terms_pattern",
]


class ValueDetectorAdapter:
    """A detector with the spec it was made from and the code that actually scores.

    Two specs with the same ``implementation`` are not independent of each other.
    """

    def __init__(self, inner: Any, spec: str) -> None:
        self.inner = inner
        self.spec = spec
        self.name = str(getattr(inner, "name", spec) or spec)
        self.taxonomy: Taxonomy = getattr(inner, "taxonomy", None) or get_taxonomy("schwartz10")
        self.implementation = f"{type(inner).__module__}.{type(inner).__qualname__}"
        self.language_fallbacks: dict[str, str] = dict(
            getattr(inner, "language_fallbacks", {}) or {}
        )

    def implementation_for(self, language: str) -> tuple[str, str | None]:
        """(the code that scores ``language``, the fallback detector's name when it is not
        this detector's own)."""
        fallback = self.language_fallbacks.get(language)
        if fallback is None:
            return self.implementation, None
        return get_value_detector(fallback).implementation_for(language)[0], fallback

    def detect_many(
        self, texts: Sequence[str], languages: Sequence[str | None] | None = None
    ) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, len(self.taxonomy)))
        langs = list(languages) if languages is not None else None
        return np.asarray(self.inner.detect_many(texts, langs), dtype=np.float64)

    async def adetect(
        self, texts: Sequence[str], languages: Sequence[str | None] | None = None
    ) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, len(self.taxonomy)))
        langs = list(languages) if languages is not None else None
        return np.asarray(await self.inner.adetect(texts, langs), dtype=np.float64)


def get_value_detector(spec: str) -> ValueDetectorAdapter:
    """A detector by spec (``keywords``, ``lexicon``, ``llm:<backend>``, ``classifier[:PATH]``)."""
    spec = (spec or "").strip()
    if not spec:
        raise UserError("empty detector name", fix="use e.g. --detector keywords")
    return ValueDetectorAdapter(get_detector(spec), spec)


@dataclass
class FactSummary:
    """How much of the original's facts a rewrite keeps, and which entities it adds."""

    share: float
    kept: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    novel: list[str] = field(default_factory=list)


def check_facts(original: str, rewrite: str, language: str | None = None) -> FactSummary:
    """:func:`~valuealign.values.fact_keeping` of the pair, as VISA records it: the weighted
    share of numbers, names and key phrases kept, and the novel numbers and names."""
    report = fact_keeping(original, rewrite, language=language)
    return FactSummary(
        share=float(report.score),
        kept=list(report.kept),
        missing=list(report.missing),
        novel=list(report.novel),
    )


def common_space(target: ValueTarget, taxonomy: Taxonomy) -> tuple[ValueTarget, Taxonomy]:
    """The taxonomy in which ``target`` and a detector over ``taxonomy`` are compared.

    The target's own taxonomy when the detector scores it; otherwise the ten basic values,
    onto which both are projected (see :meth:`Taxonomy.project`).
    """
    if target.taxonomy == taxonomy:
        return target, taxonomy
    basic = get_taxonomy("schwartz10")
    return target.project(basic), basic


def to_space(vectors: np.ndarray, source: Taxonomy, space: Taxonomy) -> np.ndarray:
    """Detector vectors over ``source`` expressed over ``space`` (identity when equal)."""
    return vectors if source == space else source.project(vectors, space)
