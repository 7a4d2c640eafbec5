"""How well a detector finds values: per-value precision, recall and F1, and macro-F1.

A detector's score becomes a label by its sign: ``+1`` when the score is above ``threshold``,
``-1`` when it is below ``-threshold``, else 0 (default threshold 0: any non-zero score is a
decision). Gold labels are -1, 0 or +1.

**Direction-correct (the headline).** Per value, a prediction counts only when it is non-zero:

* true positive: predicted non-zero and equal to gold (right value, right direction);
* false positive: predicted non-zero and not equal to gold (a value the text does not carry,
  or the wrong direction);
* false negative: gold non-zero and prediction not equal to it (missed, or wrong direction).

Precision, recall and F1 follow as usual. This is scikit-learn's micro average over the labels
{-1, +1} (``precision_recall_fscore_support(gold, pred, labels=[-1, 1], average="micro")``),
so a wrong-direction prediction costs both a false positive and a false negative.

**Per direction.** The same counts for +1 alone ("promote") and -1 alone ("oppose").

**Macro-F1** is the mean of the per-value direction-correct F1 over the values that have any
gold or predicted non-zero label in the data (a value absent from both is left out and listed in
``skipped``); F1 is 0 when there is no true positive. ``micro`` pools the counts of all values.

Rows a detector could not score (NaN) are left out of every count and reported as ``failed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from valuealign.errors import UserError
from valuealign.values.base import ValueDetector, run_sync
from valuealign.values.labelled import LabelledSet
from valuealign.values.taxonomy import Taxonomy

__all__ = [
    "Counts",
    "DetectorReport",
    "ValueScores",
    "aevaluate_detector",
    "evaluate_detector",
    "score_detections",
    "to_labels",
]


def to_labels(scores: np.ndarray, threshold: float = 0.0) -> np.ndarray:
    """Detector scores -> labels in {-1, 0, 1} (NaN stays NaN as float)."""
    arr = np.asarray(scores, dtype=np.float64)
    labels = np.where(arr > threshold, 1.0, np.where(arr < -threshold, -1.0, 0.0))
    return np.where(np.isnan(arr), np.nan, labels)


@dataclass(frozen=True)
class Counts:
    """tp/fp/fn with precision, recall, F1 (0 when undefined) and support (gold count)."""

    tp: int
    fp: int
    fn: int

    @property
    def support(self) -> int:
        return self.tp + self.fn

    @property
    def predicted(self) -> int:
        return self.tp + self.fp

    @property
    def precision(self) -> float:
        return self.tp / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.tp / self.support if self.support else 0.0

    @property
    def f1(self) -> float:
        denom = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denom if denom else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "support": self.support,
        }

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)


def _counts(gold: np.ndarray, pred: np.ndarray, direction: int | None) -> Counts:
    if direction is None:
        tp = int(np.sum((pred != 0) & (pred == gold)))
        fp = int(np.sum((pred != 0) & (pred != gold)))
        fn = int(np.sum((gold != 0) & (pred != gold)))
    else:
        tp = int(np.sum((pred == direction) & (gold == direction)))
        fp = int(np.sum((pred == direction) & (gold != direction)))
        fn = int(np.sum((gold == direction) & (pred != direction)))
    return Counts(tp, fp, fn)


@dataclass(frozen=True)
class ValueScores:
    """One value's counts: direction-correct, promote-only (+1) and oppose-only (-1)."""

    value: str
    overall: Counts
    promote: Counts
    oppose: Counts

    def to_json(self) -> dict[str, Any]:
        return {
            **self.overall.to_json(),
            "promote": self.promote.to_json(),
            "oppose": self.oppose.to_json(),
        }


@dataclass
class DetectorReport:
    """Per-value scores and aggregates for one detector on one labelled set."""

    detector: str
    taxonomy: str
    n: int
    failed: int
    threshold: float
    values: list[ValueScores]
    skipped: list[str]
    by_language: dict[str, dict[str, float | int]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def scored(self) -> list[ValueScores]:
        return [v for v in self.values if v.value not in self.skipped]

    @property
    def macro_f1(self) -> float:
        scored = self.scored
        return float(np.mean([v.overall.f1 for v in scored])) if scored else 0.0

    @property
    def macro_f1_promote(self) -> float:
        scored = [v for v in self.values if v.promote.support or v.promote.predicted]
        return float(np.mean([v.promote.f1 for v in scored])) if scored else 0.0

    @property
    def macro_f1_oppose(self) -> float:
        scored = [v for v in self.values if v.oppose.support or v.oppose.predicted]
        return float(np.mean([v.oppose.f1 for v in scored])) if scored else 0.0

    @property
    def micro(self) -> Counts:
        total = Counts(0, 0, 0)
        for v in self.values:
            total = total + v.overall
        return total

    def to_json(self) -> dict[str, Any]:
        return {
            "detector": self.detector,
            "taxonomy": self.taxonomy,
            "n": self.n,
            "failed": self.failed,
            "threshold": self.threshold,
            "metric": "direction-correct per value (micro over -1/+1), macro over values",
            "macro_f1": round(self.macro_f1, 4),
            "macro_f1_promote": round(self.macro_f1_promote, 4),
            "macro_f1_oppose": round(self.macro_f1_oppose, 4),
            "micro": self.micro.to_json(),
            "values": {v.value: v.to_json() for v in self.values},
            "skipped": self.skipped,
            "by_language": self.by_language,
            **self.extra,
        }


def score_detections(
    gold: np.ndarray,
    scores: np.ndarray,
    taxonomy: Taxonomy,
    *,
    detector: str = "",
    threshold: float = 0.0,
    languages: Sequence[str] | None = None,
) -> DetectorReport:
    """Score a detector's (n, K) output against gold labels (n, K) (see the module docstring)."""
    g = np.asarray(gold, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64)
    if g.shape != s.shape or g.ndim != 2 or g.shape[1] != len(taxonomy):
        raise ValueError(f"gold {g.shape} and scores {s.shape} must both be (n, {len(taxonomy)})")
    failed_rows = np.isnan(s).any(axis=1)
    g, p = g[~failed_rows], to_labels(s[~failed_rows], threshold)
    values = []
    skipped = []
    for j, value in enumerate(taxonomy.values):
        gj, pj = g[:, j], p[:, j]
        values.append(
            ValueScores(value, _counts(gj, pj, None), _counts(gj, pj, 1), _counts(gj, pj, -1))
        )
        if not (gj != 0).any() and not (pj != 0).any():
            skipped.append(value)
    report = DetectorReport(
        detector=detector,
        taxonomy=taxonomy.id,
        n=int(s.shape[0]),
        failed=int(failed_rows.sum()),
        threshold=threshold,
        values=values,
        skipped=skipped,
    )
    if languages is not None:
        langs = np.asarray(list(languages))
        for lang in sorted(set(langs.tolist())):
            rows = langs == lang
            sub = score_detections(
                np.asarray(gold)[rows], s[rows], taxonomy, detector=detector, threshold=threshold
            )
            report.by_language[lang] = {
                "n": sub.n,
                "failed": sub.failed,
                "macro_f1": round(sub.macro_f1, 4),
            }
    return report


async def aevaluate_detector(
    detector: ValueDetector, data: LabelledSet, *, threshold: float = 0.0
) -> DetectorReport:
    """Run ``detector`` on ``data`` and score it (failed rows counted, not scored)."""
    if detector.taxonomy != data.taxonomy:
        raise UserError(
            f"detector {detector.name} works over {detector.taxonomy.id}, the data over "
            f"{data.taxonomy.id}",
            fix=f"load the data with taxonomy {detector.taxonomy.id}",
        )
    before = len(getattr(detector, "failures", []))
    scores = await detector.adetect(data.texts, data.languages)
    report = score_detections(
        data.labels,
        scores,
        data.taxonomy,
        detector=detector.name,
        threshold=threshold,
        languages=data.languages,
    )
    failures = getattr(detector, "failures", [])[before:]
    if failures:
        report.extra["failures"] = [
            {"id": data.ids[f.index], "error": f.error, "attempts": f.attempts, "raw": f.raw[:500]}
            for f in failures
        ]
    return report


def evaluate_detector(
    detector: ValueDetector, data: LabelledSet, *, threshold: float = 0.0
) -> DetectorReport:
    """Sync :func:`aevaluate_detector`."""
    return run_sync(aevaluate_detector(detector, data, threshold=threshold))
