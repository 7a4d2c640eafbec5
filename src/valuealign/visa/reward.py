"""The composite reward of a value rewrite: value precision plus preservation of meaning.

One function scores one (original, rewrite, target) triple; the GRPO trainer, the loop's
bookkeeping and ``valuealign eval-rewrite`` all use it (the evaluation with a different detector).

Terms (each reported in :class:`RewardBreakdown`):

* ``value_precision`` in [-1, 1]: the share of the original's distance to the target (summed
  over the constrained values) that the rewrite closes, measured by the detector. Credit is for
  *movement*: a rewrite that copies the original scores exactly 0, however close the original
  already was; moving away from the target is negative.
* ``drift`` in [-1, 0]: minus the summed change on the values the target does not constrain,
  divided by ``drift_scale`` (2.0: one value swinging fully from 0 to 1 costs half).
* ``semantic_integrity`` in [-novel_cap, 1]: ``similarity_share`` x similarity to the original
  + the rest x the share of its facts (numbers, names, quoted phrases) kept, minus
  ``novel_penalty`` per entity the original did not have (at most ``novel_cap``). When
  positive it enters the reward scaled by the movement (see ``credit`` below).
* ``format_penalty`` in [-1, 0]: a length ratio outside [min_length_ratio, max_length_ratio]
  (word-like units), every preamble, trailing note or echoed instruction ("Here is the
  rewritten answer:") found in the raw output, and every run of **value-word stuffing**.

**Stuffing** (:mod:`valuealign.visa._stuffing`): a run of text the rewrite adds that is mostly
value-lexicon words with hardly a function word ("... Oak Street. tradition customs heritage
safety security") carries no statement. The detector measures the rewrite *without* such runs,
so value precision is credited only where the change carries the value in a sentence, and each
run costs ``stuffing_penalty`` in the format term (``stuffing_check=False`` turns both off).

``reward = value*value_precision + drift*drift + semantic*credit + format*format_penalty``
where ``credit = semantic_integrity x clip(value_precision, 0, 1)`` when integrity is positive
and the full (negative) integrity otherwise: keeping the content is worth something only in
proportion to the movement toward the target, so **a copy of the original earns exactly 0**
(and a rewrite that moves nowhere earns nothing for keeping its facts),
unless the **gate** closes: an empty rewrite, similarity below ``gate_similarity`` or fact share
below ``gate_fact_share`` gets ``gate_reward + gate_slope x content`` (content = the similarity/
fact mix in [0, 1]), which always lies below the lowest reward any rewrite that passes the gate
can get, so discarding the content is never worth it; the small slope only orders gated samples
among themselves (a GRPO group where every sample is gated would otherwise carry no signal).

A detector that cannot score a text (an LLM detector's NaN row) makes the value terms and the
reward NaN (``detector_failed``); the TRL functions return None for it, which TRL leaves out.

For TRL's GRPO, :func:`trl_reward_functions` returns one function per term plus the combined
one, all with TRL's reward signature. The combined function already applies the weights and the
gate, so train with ``reward_weights=[0, 0, 0, 0, 1]`` (:func:`trl_reward_weights`): TRL still
computes and logs every term (``rewards/visa_value_precision/mean`` ...), but only the gated
combination drives the policy. (Weighting the term functions instead would bypass the gate.)

>>> b = score("The council met in 2023.", "The council met in 2023.", "tradition=+1", "en")
>>> b.value_precision, b.gated, b.reward
(0.0, False, 0.0)
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from valuealign.lang import language_of
from valuealign.visa._measure import Measurer, distance, gap_closed, vector_dict
from valuealign.visa._stuffing import strip_stuffing
from valuealign.visa._text import completion_text, find_artifacts
from valuealign.visa._values import Taxonomy, ValueTarget, get_taxonomy, text_length

__all__ = [
    "RewardBreakdown",
    "RewardFunction",
    "RewardWeights",
    "VisaReward",
    "score",
    "trl_reward_functions",
    "trl_reward_weights",
]

TERMS = ("value_precision", "drift", "semantic_integrity", "format_penalty")


@dataclass(frozen=True)
class RewardWeights:
    """Weights of the four terms, and the knobs of the terms and of the gate."""

    value: float = 1.0
    """Weight of value precision (movement toward the target on the constrained values)."""
    drift: float = 1.0
    """Weight of the drift penalty (change on the values the target leaves free)."""
    semantic: float = 1.0
    """Weight of semantic integrity (similarity and facts kept)."""
    format: float = 0.5
    """Weight of the length/format penalty."""
    similarity_share: float = 0.5
    """Semantic integrity = share x similarity + (1 - share) x fact share - novel penalty."""
    novel_penalty: float = 0.05
    """Subtracted from semantic integrity per entity the original did not contain."""
    novel_cap: float = 0.25
    """The most the novel-entity penalty can subtract."""
    drift_scale: float = 2.0
    """Summed absolute change on unconstrained values that costs the full drift penalty."""
    min_length_ratio: float = 0.5
    """Rewrites shorter than this share of the original are penalised."""
    max_length_ratio: float = 2.0
    """Rewrites longer than this multiple of the original are penalised."""
    artifact_penalty: float = 0.5
    """Format penalty per preamble, trailing note or echoed instruction."""
    stuffing_check: bool = True
    """Measure the value vector without value-word stuffing (runs of added value words with
    hardly a function word) and penalise each run; see :mod:`valuealign.visa._stuffing`."""
    stuffing_penalty: float = 0.5
    """Format penalty per run of value-word stuffing."""
    gate_similarity: float = 0.5
    """Below this similarity to the original, the gate closes."""
    gate_fact_share: float = 0.5
    """Below this share of the original's facts kept, the gate closes."""
    gate_reward: float | None = None
    """Base reward of a gated rewrite; None: 0.5 below the lowest reward of an ungated one."""
    gate_slope: float = 0.4
    """A gated rewrite gets ``gate_reward + gate_slope * content`` (content: the semantic mix of
    similarity and fact share, in [0, 1]), so a GRPO group in which every sample is gated still
    ranks them by how much content they kept. Must stay below the ungated floor."""

    def __post_init__(self) -> None:
        for name in (
            "value",
            "drift",
            "semantic",
            "format",
            "novel_penalty",
            "novel_cap",
            "stuffing_penalty",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"RewardWeights.{name} must be >= 0")
        if not 0.0 <= self.similarity_share <= 1.0:
            raise ValueError("RewardWeights.similarity_share must be in [0, 1]")
        if self.drift_scale <= 0:
            raise ValueError("RewardWeights.drift_scale must be > 0")
        if not 0 < self.min_length_ratio < self.max_length_ratio:
            raise ValueError("need 0 < min_length_ratio < max_length_ratio")
        if self.gate_slope < 0 or self.gated_value() + self.gate_slope >= self.floor():
            raise ValueError(
                "gate_reward + gate_slope must stay below floor(), the lowest ungated reward, "
                "or discarding content could pay"
            )

    def floor(self) -> float:
        """The lowest reward a rewrite that passes the gate can get."""
        worst_semantic = (
            self.similarity_share * self.gate_similarity
            + (1 - self.similarity_share) * self.gate_fact_share
            - self.novel_cap
        )
        return -self.value - self.drift + self.semantic * min(0.0, worst_semantic) - self.format

    def gated_value(self) -> float:
        return self.gate_reward if self.gate_reward is not None else self.floor() - 0.5


@dataclass
class RewardBreakdown:
    """Every term of one rewrite's reward, the measurements behind them and the total."""

    reward: float
    value_precision: float
    drift: float
    semantic_integrity: float
    format_penalty: float
    similarity: float
    fact_share: float
    gated: bool
    gate_reason: str | None = None
    novel_entities: list[str] = field(default_factory=list)
    missing_facts: list[str] = field(default_factory=list)
    artifacts: list[str] = field(default_factory=list)
    stuffing: list[str] = field(default_factory=list)
    """Runs of value-word stuffing: not seen by the detector, penalised in the format term."""
    length_ratio: float = 1.0
    distance_before: float = 0.0
    distance_after: float = 0.0
    detector_failed: bool = False
    original_vector: dict[str, float] = field(default_factory=dict)
    rewrite_vector: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _length_penalty(ratio: float, w: RewardWeights) -> float:
    if ratio > w.max_length_ratio:
        return min(1.0, (ratio - w.max_length_ratio) / w.max_length_ratio)
    if ratio < w.min_length_ratio:
        return min(1.0, (w.min_length_ratio - ratio) / w.min_length_ratio)
    return 0.0


class VisaReward:
    """The composite reward bound to one detector, similarity and set of weights.

    Results are cached (LRU, keyed by the texts, the target and the language), so the per-term
    TRL functions that score the same completions one after another compute each only once.
    """

    def __init__(
        self,
        weights: RewardWeights | None = None,
        *,
        detector: str = "keywords",
        similarity: str = "meaning",
        taxonomy: Taxonomy | str = "schwartz10",
        cache_size: int = 4096,
        measurer: Measurer | None = None,
    ) -> None:
        self.weights = weights or RewardWeights()
        self.measurer = measurer or Measurer(detector, similarity)
        self.taxonomy = get_taxonomy(taxonomy)
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple, RewardBreakdown] = OrderedDict()
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_cache"] = OrderedDict()
        state["taxonomy"] = self.taxonomy.id  # taxonomies are looked up again, not pickled
        state.pop("_lock", None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.taxonomy = get_taxonomy(state["taxonomy"])
        self._lock = threading.Lock()

    def target(self, target: ValueTarget | str) -> ValueTarget:
        return ValueTarget.coerce(target, self.taxonomy)

    def score(
        self,
        original: str,
        rewrite: str,
        target: ValueTarget | str,
        language: str | None = None,
        *,
        raw: str | None = None,
    ) -> RewardBreakdown:
        """Score one rewrite; ``raw`` is the unedited output, if ``rewrite`` was cleaned."""
        return self.score_many([original], [rewrite], [target], [language], raws=[raw])[0]

    def score_many(
        self,
        originals: Sequence[str],
        rewrites: Sequence[str],
        targets: Sequence[ValueTarget | str],
        languages: Sequence[str | None] | None = None,
        *,
        raws: Sequence[str | None] | None = None,
    ) -> list[RewardBreakdown]:
        n = len(rewrites)
        if not (len(originals) == len(targets) == n):
            raise ValueError(
                f"got {len(originals)} originals, {len(rewrites)} rewrites, {len(targets)} targets"
            )
        languages = list(languages) if languages is not None else [None] * n
        raws = list(raws) if raws is not None else [None] * n
        langs = [
            language_of(o, lang, strict=False) for o, lang in zip(originals, languages, strict=True)
        ]
        tgts = [self.target(t) for t in targets]
        keys = [
            (o or "", r or "", str(t), t.taxonomy.id, lang, raw)
            for o, r, t, lang, raw in zip(originals, rewrites, tgts, langs, raws, strict=True)
        ]
        out: list[RewardBreakdown | None] = [None] * n
        todo: list[int] = []
        with self._lock:
            for i, key in enumerate(keys):
                hit = self._cache.get(key)
                if hit is not None:
                    self._cache.move_to_end(key)
                    out[i] = hit
                else:
                    todo.append(i)
        if todo:
            # the detector sees each rewrite without its value-word stuffing (see the module
            # docstring); similarity, facts and length use the whole rewrite
            stuffed: dict[int, list[str]] = {}
            measured: dict[int, str] = {}
            for i in todo:
                o, r = keys[i][0], keys[i][1]
                if self.weights.stuffing_check and r.strip():
                    measured[i], stuffed[i] = strip_stuffing(o, r)
                else:
                    measured[i], stuffed[i] = r, []
            groups: dict[str, list[int]] = {}
            for i in todo:
                groups.setdefault(tgts[i].taxonomy.id, []).append(i)
            before: dict[int, np.ndarray] = {}
            after: dict[int, np.ndarray] = {}
            for idx in groups.values():
                texts = [keys[i][0] for i in idx] + [measured[i] for i in idx]
                vecs = self.measurer.vectors(texts, [langs[i] for i in idx] * 2, tgts[idx[0]])
                for j, i in enumerate(idx):
                    before[i], after[i] = vecs[j], vecs[j + len(idx)]
            for i in todo:
                b = self._score_one(
                    keys[i][0],
                    keys[i][1],
                    tgts[i],
                    langs[i],
                    before[i],
                    after[i],
                    raws[i],
                    stuffed[i],
                )
                out[i] = b
                with self._lock:
                    self._cache[keys[i]] = b
                    while len(self._cache) > self.cache_size:
                        self._cache.popitem(last=False)
        return [b for b in out if b is not None]

    def _score_one(
        self,
        original: str,
        rewrite: str,
        target: ValueTarget,
        language: str,
        before: np.ndarray,
        after: np.ndarray,
        raw: str | None,
        stuffing: list[str] | None = None,
    ) -> RewardBreakdown:
        w = self.weights
        space = self.measurer.space(target)
        tax = space.taxonomy
        scored = bool(np.isfinite(before).all() and np.isfinite(after).all())
        if scored:
            value = gap_closed(space, before, after)
            free = ~space.mask
            drift_sum = float(np.abs(after[free] - before[free]).sum()) if free.any() else 0.0
            drift = 0.0 - min(1.0, drift_sum / w.drift_scale)
        else:
            value = drift = math.nan
        sim = self.measurer.similarity(original, rewrite)
        facts = self.measurer.facts(original, rewrite, language)
        novel_cost = min(w.novel_cap, w.novel_penalty * len(facts.novel))
        semantic = w.similarity_share * sim + (1 - w.similarity_share) * facts.share - novel_cost
        ratio = text_length(rewrite) / text_length(original) if rewrite.strip() else 0.0
        artifacts = find_artifacts(raw if raw is not None else rewrite)
        stuffing = list(stuffing or [])
        fmt = 0.0 - min(
            1.0,
            _length_penalty(ratio, w)
            + w.artifact_penalty * len(artifacts)
            + w.stuffing_penalty * len(stuffing),
        )
        reason = None
        if not rewrite.strip():
            reason = "empty rewrite"
        elif sim < w.gate_similarity:
            reason = f"similarity {sim:.2f} < {w.gate_similarity:.2f}"
        elif facts.share < w.gate_fact_share:
            reason = f"fact share {facts.share:.2f} < {w.gate_fact_share:.2f}"
        if reason:
            content = w.similarity_share * sim + (1 - w.similarity_share) * facts.share
            total = w.gated_value() + w.gate_slope * min(1.0, max(0.0, content))
        elif not scored:
            total = math.nan
        else:
            # preservation is credited only in proportion to the movement it accompanies: a
            # copy (or a rewrite that does not move toward the target) keeps every fact but
            # earns nothing for it; losses (negative integrity) always count in full
            credit = semantic if semantic < 0 else semantic * min(1.0, max(0.0, value))
            total = w.value * value + w.drift * drift + w.semantic * credit + w.format * fmt
        return RewardBreakdown(
            reward=round(float(total), 6),
            value_precision=round(value, 6),
            drift=round(drift, 6),
            semantic_integrity=round(float(semantic), 6),
            format_penalty=round(fmt, 6),
            similarity=round(sim, 6),
            fact_share=round(float(facts.share), 6),
            gated=reason is not None,
            gate_reason=reason,
            novel_entities=list(facts.novel),
            missing_facts=list(facts.missing),
            artifacts=artifacts,
            stuffing=stuffing,
            length_ratio=round(ratio, 4),
            distance_before=round(distance(space, before), 4),
            distance_after=round(distance(space, after), 4),
            detector_failed=not scored,
            original_vector=vector_dict(before, tax),
            rewrite_vector=vector_dict(after, tax),
        )


_DEFAULT: dict[tuple, VisaReward] = {}


def score(
    original: str,
    rewrite: str,
    target: ValueTarget | str,
    language: str | None = None,
    *,
    weights: RewardWeights | None = None,
    detector: str = "keywords",
    similarity: str = "meaning",
) -> RewardBreakdown:
    """Score one rewrite of ``original`` toward ``target`` (see the module docstring)."""
    key = (weights or RewardWeights(), detector, similarity)
    if key not in _DEFAULT:
        _DEFAULT[key] = VisaReward(key[0], detector=detector, similarity=similarity)
    return _DEFAULT[key].score(original, rewrite, target, language)


# ---------------------------------------------------------------------------------------------
# TRL
# ---------------------------------------------------------------------------------------------


def _or_none(x: float) -> float | None:
    """TRL's "no reward" is None (it becomes NaN there and is left out of the means)."""
    return float(x) if math.isfinite(x) else None


class RewardFunction:
    """One reward term as a TRL GRPO reward function (picklable; TRL logs it by ``__name__``).

    Called as ``f(prompts, completions, completion_ids=None, **columns)`` where ``columns``
    holds the dataset's ``original``, ``target`` (string form) and ``language`` lists; returns
    one float per completion. Completions may be strings or chat messages.
    """

    def __init__(self, reward: VisaReward, term: str) -> None:
        if term not in (*TERMS, "reward"):
            raise ValueError(f"unknown reward term {term!r}")
        self.reward = reward
        self.term = term
        self.__name__ = "visa_reward" if term == "reward" else f"visa_{term}"

    def __call__(
        self,
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Any] | None = None,
        completion_ids: Sequence[Any] | None = None,
        **columns: Any,
    ) -> list[float | None]:
        completions = list(completions or [])
        n = len(completions)
        missing = [c for c in ("original", "target") if c not in columns]
        if missing:
            raise KeyError(
                f"{self.__name__}: the dataset has no column(s) {', '.join(missing)}; "
                "build it with valuealign.visa.build_rewriter_dataset"
            )
        originals = [str(x) for x in columns["original"]]
        targets = [str(x) for x in columns["target"]]
        languages = columns.get("language") or [None] * n
        if not (len(originals) == len(targets) == n):
            raise ValueError(
                f"{self.__name__}: {n} completions but {len(originals)} originals and "
                f"{len(targets)} targets"
            )
        raws = [completion_text(c) for c in completions]
        breakdowns = self.reward.score_many(originals, raws, targets, list(languages), raws=raws)
        if self.term == "reward":
            log_metric = columns.get("log_metric")
            if callable(log_metric) and breakdowns:
                log_metric("visa/gated_share", sum(b.gated for b in breakdowns) / n)
            return [_or_none(b.reward) for b in breakdowns]
        return [_or_none(getattr(b, self.term)) for b in breakdowns]

    def __repr__(self) -> str:
        return f"RewardFunction({self.__name__})"


def trl_reward_functions(
    weights: RewardWeights | None = None,
    *,
    detector: str = "keywords",
    similarity: str = "meaning",
    taxonomy: Taxonomy | str = "schwartz10",
    terms: bool = True,
) -> list[RewardFunction]:
    """GRPO reward functions: one per term (when ``terms``) and, last, the gated combination.

    Pair them with :func:`trl_reward_weights` (0 for every term, 1 for the combination); see
    the module docstring for why.
    """
    reward = VisaReward(weights, detector=detector, similarity=similarity, taxonomy=taxonomy)
    funcs = [RewardFunction(reward, t) for t in TERMS] if terms else []
    return [*funcs, RewardFunction(reward, "reward")]


def trl_reward_weights(functions: Sequence[RewardFunction]) -> list[float]:
    """``GRPOConfig.reward_weights`` for ``functions``: 1 for the combination, 0 for terms."""
    return [1.0 if getattr(f, "term", None) == "reward" else 0.0 for f in functions]
