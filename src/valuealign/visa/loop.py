"""The VISA closed loop: detect -> translate the gap -> rewrite -> shield, up to K rounds.

For each input the frozen answer (given, or written by ``answerer``) is scored by the detector;
the gap to the target on the constrained values becomes a concrete instruction
(:func:`~valuealign.visa.translator.gap_instruction`); the rewriter rewrites the current answer;
the **shield** rejects a rewrite that is empty, whose similarity to the *original* falls below
``min_similarity``, that keeps less than ``min_fact_share`` of the original's facts, or (with
``require_progress``) that does not bring the answer closer to the target. A rejected rewrite is
retried in the next round with sampling (round 1 is greedy); an accepted one becomes the
current answer. The loop stops early once every constrained value is within ``tolerance`` of
the target. Every round is recorded (:class:`~valuealign.visa.records.VisaStep`).

Inputs run concurrently (``concurrency`` at a time, each input's rounds in order); each ends in
exactly one :class:`~valuealign.visa.records.RewriteRecord` appended to ``DIR/rewrites.jsonl``,
and a rerun skips the ids already there.

>>> stats = run_rewrite(inputs, "tradition=+1,security=+1", "runs/visa",
...                     rewriter=get_backend("hf/smollm2-135m-instruct"))
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from valuealign.aio import ensure_no_running_loop, for_each, run_sync
from valuealign.backends import ChatBackend, GenerateConfig, describe, user
from valuealign.errors import BackendError, UserError
from valuealign.lang import language_of
from valuealign.records import (
    JsonlWriter,
    Provenance,
    Usage,
    ensure_run_dir,
    existing_ids,
    read_json_object,
    write_json_atomic,
)
from valuealign.runs import manifest_header
from valuealign.visa._measure import Measurer, vector_dict
from valuealign.visa._text import clean_rewrite
from valuealign.visa._values import ValueTarget
from valuealign.visa.prompts import TEMPLATE_VERSION, rewrite_messages, template_hash
from valuealign.visa.records import RewriteInput, RewriteRecord, VisaStep
from valuealign.visa.reward import RewardWeights, VisaReward
from valuealign.visa.translator import gap_instruction

__all__ = ["REWRITES_FILE", "VisaLoop", "VisaSettings", "arun_rewrite", "run_rewrite"]

REWRITES_FILE = "rewrites.jsonl"
MANIFEST_FILE = "manifest.json"


@dataclass(frozen=True)
class VisaSettings:
    """Knobs of the loop (the CLI's flags)."""

    max_rounds: int = 3
    """Rewrite attempts per input (accepted or rejected)."""
    min_similarity: float = 0.6
    """Shield: reject a rewrite less similar than this to the original."""
    min_fact_share: float = 0.6
    """Shield: reject a rewrite that keeps less than this share of the original's facts."""
    tolerance: float = 0.5
    """The target is met when every constrained value is within this of its target weight."""
    require_progress: bool = True
    """Shield: reject a rewrite that does not bring the answer closer to the target."""
    detector: str = "keywords"
    """Value detector spec (the same one the reward uses by default)."""
    similarity: str = "meaning"
    """Similarity: auto (embeddings for English pairs, TF-IDF otherwise), tfidf, embedding."""
    rewrite_max_tokens: int = 512
    answer_max_tokens: int = 384
    retry_temperature: float = 0.7
    """Sampling temperature of rounds after the first (round 1 is greedy)."""
    concurrency: int = 8
    """Inputs in flight at once."""
    seed: int = 0

    def __post_init__(self) -> None:
        if self.max_rounds < 1:
            raise UserError("--max-rounds must be at least 1", fix="use --max-rounds 1 or more")
        for name in ("min_similarity", "min_fact_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise UserError(f"{name} must be in [0, 1]", fix="use a number from 0 to 1")
        if not 0.0 <= self.tolerance <= 2.0:
            raise UserError("tolerance must be in [0, 2]", fix="use e.g. --tolerance 0.5")
        if self.concurrency < 1:
            raise UserError("concurrency must be at least 1", fix="use --concurrency 1 or more")


def _l1(target: ValueTarget, vector: np.ndarray) -> float:
    m = target.mask
    return float(np.abs(target.vector[m] - vector[m]).sum())


def _met(target: ValueTarget, vector: np.ndarray, tolerance: float) -> bool:
    m = target.mask
    return bool(np.all(np.abs(target.vector[m] - vector[m]) <= tolerance + 1e-9))


class VisaLoop:
    """The loop for one target, bound to a rewriter, a measurer and settings."""

    def __init__(
        self,
        target: ValueTarget,
        rewriter: ChatBackend,
        *,
        settings: VisaSettings | None = None,
        answerer: ChatBackend | None = None,
        measurer: Measurer | None = None,
        persona: str | None = None,
    ) -> None:
        self.settings = settings or VisaSettings()
        self.measurer = measurer or Measurer(self.settings.detector, self.settings.similarity)
        self.target = self.measurer.space(target)
        self.rewriter = rewriter
        self.answerer = answerer
        self.persona = persona
        self.reward = VisaReward(
            RewardWeights(
                gate_similarity=self.settings.min_similarity,
                gate_fact_share=self.settings.min_fact_share,
            ),
            taxonomy=self.target.taxonomy,
            measurer=self.measurer,
        )

    def roles(self) -> dict[str, str]:
        roles = {"rewriter": self.rewriter.name, "detector": self.measurer.detector.name}
        if self.answerer is not None:
            roles["answerer"] = self.answerer.name
        return roles

    async def _vector(self, text: str, language: str) -> np.ndarray:
        return (await self.measurer.avectors([text], [language], self.target))[0]

    async def run_one(self, item: RewriteInput) -> RewriteRecord:
        """Run the loop on one input; never raises for a backend failure (records it)."""
        usage = Usage()
        base = {
            "id": item.id,
            "query": item.query,
            "target": str(self.target),
            "taxonomy": self.target.taxonomy.id,
            "persona": self.persona,
        }
        language = language_of(item.answer or item.query, item.language, strict=False)
        source = "input"
        original = item.answer
        try:
            if original is None:
                if self.answerer is None:
                    raise UserError(f"input {item.id!r} has no answer and no --answerer is set")
                source = "answerer"
                done = await self.answerer.generate(
                    user(item.query),
                    GenerateConfig(
                        max_tokens=self.settings.answer_max_tokens, seed=self.settings.seed
                    ),
                )
                usage += Usage(
                    prompt_tokens=done.prompt_tokens, completion_tokens=done.completion_tokens
                )
                original = done.text.strip()
                language = language_of(original or item.query, item.language, strict=False)
                if not original:
                    raise BackendError(
                        "the answerer gave an empty answer", backend=self.answerer.name
                    )
            return await self._loop(item, original, language, source, base, usage)
        except BackendError as e:
            return RewriteRecord(
                **base,
                language=language,
                status="failed",
                original=original,
                original_source=source,  # type: ignore[arg-type]
                stop_reason="backend error",
                error=str(e),
                provenance=self._provenance(usage),
            )

    async def _loop(
        self,
        item: RewriteInput,
        original: str,
        language: str,
        source: str,
        base: dict[str, Any],
        usage: Usage,
    ) -> RewriteRecord:
        s, target, tax = self.settings, self.target, self.target.taxonomy
        original_vec = await self._vector(original, language)
        if not np.isfinite(original_vec).all():
            return RewriteRecord(
                **base,
                language=language,
                status="failed",
                original=original,
                original_source=source,  # type: ignore[arg-type]
                stop_reason="detector error",
                error="the detector could not score the original answer",
                provenance=self._provenance(usage),
            )
        current, current_vec = original, original_vec
        steps: list[VisaStep] = []
        met = _met(target, current_vec, s.tolerance)
        stop = "already on target" if met else "max rounds"
        round_no = 0
        while not met and round_no < s.max_rounds:
            round_no += 1
            instruction = gap_instruction(target, current_vec, language, tolerance=s.tolerance)
            assert instruction is not None  # not met, so some value is off by more than tolerance
            config = GenerateConfig(
                max_tokens=s.rewrite_max_tokens,
                temperature=0.0 if round_no == 1 else s.retry_temperature,
                seed=s.seed + round_no,
                sample_index=round_no - 1,
            )
            completion = await self.rewriter.generate(
                rewrite_messages(item.query, current, instruction, language), config
            )
            usage += Usage(
                prompt_tokens=completion.prompt_tokens,
                completion_tokens=completion.completion_tokens,
            )
            step = await self._shield(
                round_no, original, current_vec, completion.text, instruction, language
            )
            steps.append(step)
            if step.accepted:
                current = step.rewrite or current
                current_vec = np.array([step.rewrite_vector[v] for v in tax.values])  # type: ignore[index]
                met = _met(target, current_vec, s.tolerance)
                if met:
                    stop = "target met"
        reward = self.reward.score(original, current, target, language).to_dict()
        return RewriteRecord(
            **base,
            language=language,
            original=original,
            original_source=source,  # type: ignore[arg-type]
            final=current,
            changed=current != original,
            met=met,
            rounds=round_no,
            accepted_rounds=sum(st.accepted for st in steps),
            stop_reason=stop,
            original_vector=vector_dict(original_vec, tax),
            final_vector=vector_dict(current_vec, tax),
            reward=reward,
            steps=steps,
            provenance=self._provenance(usage),
        )

    async def _shield(
        self,
        round_no: int,
        original: str,
        current_vec: np.ndarray,
        raw: str,
        instruction: str,
        language: str,
    ) -> VisaStep:
        s, target, tax = self.settings, self.target, self.target.taxonomy
        text = clean_rewrite(raw, echoes=(instruction,))
        step = VisaStep(
            round=round_no,
            detected=vector_dict(current_vec, tax),
            gap=vector_dict(target.vector - current_vec, tax, target.mask),
            instruction=instruction,
            rewrite=text,
            raw=raw if raw.strip() != text else None,
            distance_before=round(_l1(target, current_vec), 4),
            reason="",
        )
        if not text:
            step.reason = "empty rewrite"
            return step
        sim = await asyncio.to_thread(self.measurer.similarity, original, text)
        facts = self.measurer.facts(original, text, language)
        vec = await self._vector(text, language)
        step.similarity = round(sim, 4)
        step.fact_share = round(float(facts.share), 4)
        step.missing_facts = list(facts.missing)
        step.novel_entities = list(facts.novel)
        if np.isfinite(vec).all():
            step.rewrite_vector = vector_dict(vec, tax)
            step.distance_after = round(_l1(target, vec), 4)
        if sim < s.min_similarity:
            step.reason = f"similarity {sim:.2f} < {s.min_similarity:.2f}"
        elif facts.share < s.min_fact_share:
            lost = ", ".join(facts.missing[:5])
            step.reason = f"fact share {facts.share:.2f} < {s.min_fact_share:.2f} (lost: {lost})"
        elif step.distance_after is None:
            step.reason = "the detector could not score the rewrite"
        elif s.require_progress and step.distance_after >= step.distance_before - 1e-9:
            step.reason = (
                f"no progress toward the target (distance {step.distance_before:.2f} -> "
                f"{step.distance_after:.2f})"
            )
        else:
            step.accepted = True
            step.reason = (
                f"accepted (distance {step.distance_before:.2f} -> {step.distance_after:.2f})"
            )
        return step

    def _provenance(self, usage: Usage) -> Provenance:
        return Provenance(
            roles=self.roles(), template_hash=template_hash(), seed=self.settings.seed, usage=usage
        )


# ---------------------------------------------------------------------------------------------
# Many inputs, resumable
# ---------------------------------------------------------------------------------------------


def _check_manifest(out: Path, manifest: dict[str, Any]) -> None:
    path = out / MANIFEST_FILE
    if not path.exists():
        return
    old = read_json_object(path, fix=f"delete {path} (the run resumes from its records)")
    for key in ("target", "detector", "taxonomy"):
        if key in old and old[key] != manifest[key]:
            raise UserError(
                f"{out}: this run directory was made with {key} {old[key]!r}, not "
                f"{manifest[key]!r}",
                fix="use a new --out for a different target or detector",
            )


async def arun_rewrite(
    inputs: Sequence[RewriteInput],
    target: ValueTarget,
    out: str | Path,
    *,
    rewriter: ChatBackend,
    answerer: ChatBackend | None = None,
    settings: VisaSettings | None = None,
    measurer: Measurer | None = None,
    persona: str | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the loop over ``inputs``, appending one record per new id to ``out/rewrites.jsonl``.

    Returns the run's stats (also written to ``out/manifest.json``). The backends stay open
    (the caller owns them).
    """
    settings = settings or VisaSettings()
    missing = [it.id for it in inputs if it.answer is None]
    if missing and answerer is None:
        raise UserError(
            f"{len(missing)} input(s) have no 'answer' (first: {missing[0]!r}) and no answerer "
            "is set",
            fix="add answers to the input, or pass --answerer PROVIDER/MODEL",
        )
    loop = VisaLoop(
        target,
        rewriter,
        settings=settings,
        answerer=answerer,
        measurer=measurer,
        persona=persona,
    )
    out = Path(out)
    manifest: dict[str, Any] = {
        **manifest_header("visa"),
        "target": str(loop.target),
        "persona": persona,
        "taxonomy": loop.target.taxonomy.id,
        "detector": settings.detector if measurer is None else measurer.detector_spec,
        "similarity": settings.similarity if measurer is None else measurer.similarity_kind,
        "settings": asdict(settings),
        "roles": {k: v for k, v in loop.roles().items()},
        "backends": {"rewriter": describe(rewriter)}
        | ({"answerer": describe(answerer)} if answerer is not None else {}),
        "template_version": TEMPLATE_VERSION,
        "template_hash": template_hash(),
    }
    _check_manifest(out, manifest)
    ensure_run_dir(out)
    path = out / REWRITES_FILE
    done = existing_ids(path)
    todo = [it for it in inputs if it.id not in done]
    counts: Counter[str] = Counter()
    write_json_atomic(out / MANIFEST_FILE, manifest | {"planned": len(inputs)})
    with JsonlWriter(path) as writer:

        def done(record: RewriteRecord) -> None:
            writer.append(record)
            counts[record.status] += 1
            counts["met"] += record.met
            counts["changed"] += record.changed
            if log is not None:
                log(
                    f"  {record.id}: {record.status}, {record.stop_reason}, "
                    f"{record.accepted_rounds}/{record.rounds} rounds accepted"
                )

        await for_each(todo, loop.run_one, limit=settings.concurrency, done=done)
    stats = {
        "planned": len(inputs),
        "skipped": len(inputs) - len(todo),
        "ok": counts["ok"],
        "failed": counts["failed"],
        "met": counts["met"],
        "changed": counts["changed"],
        "path": str(path),
    }
    write_json_atomic(out / MANIFEST_FILE, manifest | {"planned": len(inputs), "last_run": stats})
    return stats


def run_rewrite(
    inputs: Sequence[RewriteInput],
    target: ValueTarget,
    out: str | Path,
    **kwargs: Any,
) -> dict[str, Any]:
    """Sync entry point of :func:`arun_rewrite`."""
    ensure_no_running_loop("run_rewrite", "arun_rewrite")
    return run_sync(arun_rewrite(inputs, target, out, **kwargs))
