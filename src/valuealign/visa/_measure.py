"""What VISA measures about a rewrite: its value vector, its similarity and its facts.

One :class:`Measurer` binds a detector and a similarity; the loop's shield, the training reward
and the evaluation all use it, so "similarity 0.71" means the same thing in each. Detector and
similarity are built on first use (a :class:`Measurer` pickles without them), so that a reward
function can travel to another process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from valuealign.values import get_similarity
from valuealign.visa._values import (
    FactSummary,
    Taxonomy,
    ValueDetectorAdapter,
    ValueTarget,
    check_facts,
    common_space,
    get_value_detector,
    to_space,
)

__all__ = ["Measurer", "distance", "gap_closed", "vector_dict"]


def vector_dict(vector: np.ndarray, taxonomy: Taxonomy, mask: Sequence[bool] | None = None) -> dict:
    """``{value: round(x, 4)}`` (only where ``mask`` is True, when one is given)."""
    return {
        v: round(float(x), 4)
        for i, (v, x) in enumerate(zip(taxonomy.values, vector, strict=True))
        if mask is None or mask[i]
    }


def distance(target: ValueTarget, vector: np.ndarray) -> float:
    """Largest |target - vector| over the constrained values (0 when none is constrained)."""
    mask = target.mask
    if not mask.any():
        return 0.0
    return float(np.max(np.abs(target.vector[mask] - np.asarray(vector)[mask])))


def gap_closed(target: ValueTarget, before: np.ndarray, after: np.ndarray) -> float:
    """Share of the original's distance to the target that the rewrite closes, in [-1, 1].

    Summed over the constrained values: (sum|t - before| - sum|t - after|) / sum|t - before|.
    A rewrite that does not move scores 0, whatever its distance to the target; when the
    original is already on target, only moving away counts (negatively).
    """
    mask = target.mask
    t = target.vector[mask]
    d_before = float(np.abs(t - np.asarray(before)[mask]).sum())
    d_after = float(np.abs(t - np.asarray(after)[mask]).sum())
    if d_before < 1e-9:
        return float(np.clip(-d_after / (2.0 * max(1, int(mask.sum()))), -1.0, 0.0))
    return float(np.clip((d_before - d_after) / d_before, -1.0, 1.0))


@dataclass
class Measurer:
    """A detector and a similarity, built lazily from their names."""

    detector_spec: str = "keywords"
    similarity_kind: str = "meaning"

    def __post_init__(self) -> None:
        self._detector: ValueDetectorAdapter | None = None
        self._similarity: Any = None

    def __getstate__(self) -> dict:
        return {"detector_spec": self.detector_spec, "similarity_kind": self.similarity_kind}

    def __setstate__(self, state: dict) -> None:
        self.detector_spec = state["detector_spec"]
        self.similarity_kind = state["similarity_kind"]
        self.__post_init__()

    @property
    def detector(self) -> ValueDetectorAdapter:
        if self._detector is None:
            self._detector = get_value_detector(self.detector_spec)
        return self._detector

    @property
    def similarity_model(self) -> Any:
        if self._similarity is None:
            self._similarity = get_similarity(self.similarity_kind)
        return self._similarity

    def space(self, target: ValueTarget) -> ValueTarget:
        """``target`` in the taxonomy where it and this detector's vectors are compared."""
        return common_space(target, self.detector.taxonomy)[0]

    def vectors(
        self, texts: Sequence[str], languages: Sequence[str | None], target: ValueTarget
    ) -> np.ndarray:
        """Detected vectors (n, K) over :meth:`space`'s taxonomy."""
        raw = self.detector.detect_many(list(texts), list(languages))
        return to_space(raw, self.detector.taxonomy, self.space(target).taxonomy)

    async def avectors(
        self, texts: Sequence[str], languages: Sequence[str | None], target: ValueTarget
    ) -> np.ndarray:
        raw = await self.detector.adetect(list(texts), list(languages))
        return to_space(raw, self.detector.taxonomy, self.space(target).taxonomy)

    def similarity(self, a: str, b: str) -> float:
        if not a.strip() or not b.strip():
            return 0.0
        return float(self.similarity_model.similarity(a, b))

    @staticmethod
    def facts(original: str, rewrite: str, language: str | None = None) -> FactSummary:
        return check_facts(original, rewrite, language)
