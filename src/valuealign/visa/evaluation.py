"""``eval-rewrite``: does VISA move answers to the target better than prompting, and at what cost?

Up to five systems are compared on the same inputs: the **original** (unrewritten) answer, a
**baseline** (the same rewriter model told once to rewrite as the persona: no gap, no loop, no
shield), the **VISA** loop's final answer and, when given, two trained rewriters asked once with
the loop's own rewrite prompt (the gap instruction under the steering detector, as in their
training data): an **sft** rewriter (``--sft-rewriter``: fine-tuned on gated rewrites, the
paper's other baseline; see :mod:`valuealign.visa.sft`) and a **grpo** rewriter
(``--grpo-rewriter``: ``valuealign train rewriter``). Each is scored with the composite reward's code
(:class:`~valuealign.visa.reward.VisaReward`) under a detector **independent of the one the loop
and the training reward used** (default: the reward uses ``keywords``, the evaluation
``lexicon``), because a rewriter tuned against one detector can learn that detector's words
instead of the values. Running with the same detector is refused unless explicitly allowed, and
then flagged in the scores. The loop detector's numbers are reported too, next to them, so that
a gap between the two shows up.

Metrics per system (means over inputs; the original is its own reference):

* value precision (share of the distance to the target closed), target distance (largest
  |target - detected| on the constrained values), hit rate (every constrained value within the
  tolerance), direction accuracy (constrained values moved the right way);
* untargeted drift (summed change on the other values);
* semantic preservation: similarity to the original, share of facts kept;
* hallucination proxy: entities (numbers, names) absent from the original, and the share of
  answers with at least one; gated rate (below the reward's content gate).

Outputs in ``--out``: ``scores.json``, ``rewrite-eval.jsonl`` (per input and system),
``baseline.jsonl``, ``sft.jsonl`` and ``grpo.jsonl`` (each resumable), ``rewrite-report.md`` and
``rewrite-report.html``.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from valuealign.aio import ensure_no_running_loop, for_each, run_sync
from valuealign.backends import ChatBackend, GenerateConfig
from valuealign.errors import BackendError, UserError
from valuealign.lang import LANGS, language_of
from valuealign.records import (
    JsonlWriter,
    Provenance,
    Usage,
    ensure_run_dir,
    existing_ids,
    iter_jsonl,
    read_jsonl,
    write_json_atomic,
)
from valuealign.runs import read_manifest
from valuealign.visa._measure import Measurer
from valuealign.visa._text import clean_rewrite
from valuealign.visa._values import ValueTarget, get_value_detector
from valuealign.visa.loop import REWRITES_FILE, VisaSettings, arun_rewrite
from valuealign.visa.prompts import persona_messages, rewrite_messages, template_hash
from valuealign.visa.records import BaselineRecord, RewriteRecord, load_inputs
from valuealign.visa.reward import RewardBreakdown, RewardWeights, VisaReward
from valuealign.visa.translator import (
    LLMTranslator,
    describe_target,
    gap_instruction,
    is_explicit_target,
    resolve_target,
)

__all__ = ["SYSTEMS", "EvalRewriteSettings", "arun_eval_rewrite", "run_eval_rewrite"]

SYSTEMS = ("original", "baseline", "sft", "grpo", "visa")
TRAINED = ("sft", "grpo")
"""The systems that are a trained rewriter asked once with the loop's rewrite prompt."""
SCORES_FILE = "scores.json"
BASELINE_FILE = "baseline.jsonl"
ITEMS_FILE = "rewrite-eval.jsonl"


@dataclass(frozen=True)
class EvalRewriteSettings:
    detector: str = "lexicon"
    """The evaluation's detector (independent of the reward's)."""
    reward_detector: str | None = None
    """The loop's/reward's detector; default: read from the rewrites, else ``keywords``."""
    similarity: str = "meaning"
    tolerance: float = 0.5
    allow_same_detector: bool = False
    baseline_max_tokens: int = 512
    concurrency: int = 8


def _input_kind(path: Path) -> str:
    if not path.is_file():
        raise UserError(f"{path}: input file not found", fix="check the --input path")
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.strip():
                try:
                    first = json.loads(line)
                except json.JSONDecodeError:
                    return "answers"  # load_inputs names the bad line
                return "rewrites" if isinstance(first, dict) and "steps" in first else "answers"
    raise UserError(f"{path}: the input is empty", fix="give a non-empty JSONL file")


def _mean(xs: Sequence[float]) -> float | None:
    vals = [x for x in xs if x is not None and math.isfinite(x)]
    return round(float(np.mean(vals)), 4) if vals else None


def _direction(target: ValueTarget, before: dict, after: dict) -> list[float]:
    """Per constrained value whose target differs from the original: 1 if moved toward it."""
    out = []
    for v, t in target.to_dict().items():
        b, a = before.get(v), after.get(v)
        if b is None or a is None or not (math.isfinite(b) and math.isfinite(a)):
            continue
        if abs(t - b) < 1e-9:
            continue
        out.append(1.0 if (a - b) * (t - b) > 1e-9 else 0.0)
    return out


def _untargeted(target: ValueTarget, before: dict, after: dict) -> float:
    free = [v for v in target.taxonomy.values if target.get(v) is None]
    diffs = [abs(after[v] - before[v]) for v in free if v in after and v in before]
    return float(sum(diffs)) if diffs else 0.0


def summarise(
    target: ValueTarget, breakdowns: Sequence[RewardBreakdown], tolerance: float
) -> dict[str, Any]:
    """The metrics of one system under one detector (see the module docstring)."""
    ok = [b for b in breakdowns if not b.detector_failed]
    directions = [d for b in ok for d in _direction(target, b.original_vector, b.rewrite_vector)]
    return {
        "n": len(breakdowns),
        "detector_failures": len(breakdowns) - len(ok),
        "value_precision": _mean([b.value_precision for b in ok]),
        "target_distance": _mean([b.distance_after for b in ok]),
        "hit_rate": _mean([float(b.distance_after <= tolerance + 1e-9) for b in ok]),
        "direction_accuracy": _mean(directions),
        "untargeted_drift": _mean(
            [_untargeted(target, b.original_vector, b.rewrite_vector) for b in ok]
        ),
        "similarity": _mean([b.similarity for b in breakdowns]),
        "fact_share": _mean([b.fact_share for b in breakdowns]),
        "novel_entities": _mean([float(len(b.novel_entities)) for b in breakdowns]),
        "hallucination_rate": _mean([float(bool(b.novel_entities)) for b in breakdowns]),
        "gated_rate": _mean([float(b.gated) for b in breakdowns]),
        "reward": _mean([b.reward for b in ok]),
    }


async def _baseline(
    records: Sequence[RewriteRecord],
    target: ValueTarget,
    rewriter: ChatBackend,
    out: Path,
    settings: EvalRewriteSettings,
) -> dict[str, BaselineRecord]:
    path = out / BASELINE_FILE
    done = existing_ids(path)

    async def one(r: RewriteRecord) -> BaselineRecord:
        persona = describe_target(target, r.language)
        messages = persona_messages(r.query, r.original or "", persona, r.language)
        prov = Provenance(roles={"rewriter": rewriter.name}, template_hash=template_hash())
        try:
            c = await rewriter.generate(
                messages, GenerateConfig(max_tokens=settings.baseline_max_tokens)
            )
        except BackendError as e:
            return BaselineRecord(id=r.id, status="failed", error=str(e), provenance=prov)
        prov.usage = Usage(prompt_tokens=c.prompt_tokens, completion_tokens=c.completion_tokens)
        text = clean_rewrite(c.text)
        return BaselineRecord(
            id=r.id, rewrite=text, raw=c.text if c.text.strip() != text else None, provenance=prov
        )

    with JsonlWriter(path) as writer:
        todo = [r for r in records if r.id not in done]
        await for_each(todo, one, limit=settings.concurrency, done=writer.append)
    return {b.id: b for b in iter_jsonl(path, BaselineRecord)}


async def _trained(
    system: str,
    records: Sequence[RewriteRecord],
    target: ValueTarget,
    rewriter: ChatBackend,
    out: Path,
    settings: EvalRewriteSettings,
    steering: str,
) -> dict[str, BaselineRecord]:
    """One greedy rewrite per input by a trained rewriter, with the prompt it was trained on:
    the loop's rewrite prompt carrying the gap instruction under the steering detector. An
    input already within tolerance of the target gets no request and keeps its answer."""
    path = out / f"{system}.jsonl"
    done = existing_ids(path)
    todo = [r for r in records if r.id not in done]
    measurer = Measurer(steering, settings.similarity)
    space = measurer.space(target)
    vectors = (
        await measurer.avectors(
            [r.original or "" for r in todo], [r.language for r in todo], target
        )
        if todo
        else []
    )
    vector_of = {r.id: v for r, v in zip(todo, vectors, strict=True)}

    async def one(r: RewriteRecord) -> BaselineRecord:
        prov = Provenance(roles={"rewriter": rewriter.name}, template_hash=template_hash())
        original, vec = r.original or "", vector_of[r.id]
        if not np.isfinite(vec).all():
            return BaselineRecord(
                id=r.id, status="failed", error="the steering detector failed", provenance=prov
            )
        instruction = gap_instruction(space, vec, r.language, tolerance=settings.tolerance)
        if instruction is None:
            return BaselineRecord(id=r.id, rewrite=original, provenance=prov)
        messages = rewrite_messages(r.query, original, instruction, r.language)
        try:
            c = await rewriter.generate(
                messages, GenerateConfig(max_tokens=settings.baseline_max_tokens)
            )
        except BackendError as e:
            return BaselineRecord(id=r.id, status="failed", error=str(e), provenance=prov)
        prov.usage = Usage(prompt_tokens=c.prompt_tokens, completion_tokens=c.completion_tokens)
        text = clean_rewrite(c.text, echoes=(instruction,))
        return BaselineRecord(
            id=r.id, rewrite=text, raw=c.text if c.text.strip() != text else None, provenance=prov
        )

    with JsonlWriter(path) as writer:
        await for_each(todo, one, limit=settings.concurrency, done=writer.append)
    return {b.id: b for b in iter_jsonl(path, BaselineRecord)}


def _loop_detector(records: Sequence[RewriteRecord], out_dir: Path) -> str | None:
    for r in records:
        name = r.provenance.roles.get("detector")
        if name:
            return name
    manifest = out_dir / "manifest.json"
    if manifest.exists():
        try:
            return read_manifest(manifest).get("detector")
        except UserError:
            return None
    return None


def _check_independent(
    eval_spec: str, reward_spec: str, allow: bool, languages: Sequence[str] = LANGS
) -> dict[str, Any]:
    """Are the evaluation and steering detectors different code, language by language? A
    detector that hands a language to another (``lexicon`` scores Chinese with ``keywords``)
    is that other detector there, and the fallback is named in the result."""
    eval_det = get_value_detector(eval_spec)
    try:
        reward_det = get_value_detector(reward_spec)
    except UserError:
        reward_det = None
    by_lang: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    for lang in languages:
        e_impl, e_fb = eval_det.implementation_for(lang)
        r_impl, r_fb = reward_det.implementation_for(lang) if reward_det else (reward_spec, None)
        same = eval_det.name == reward_spec or eval_spec == reward_spec or e_impl == r_impl
        e_label = f"{eval_spec} (falls back to {e_fb} for {lang})" if e_fb else eval_spec
        r_label = f"{reward_spec} (falls back to {r_fb} for {lang})" if r_fb else reward_spec
        by_lang[lang] = {"independent": not same, "evaluation": e_label, "steering": r_label}
        if same and (e_fb or r_fb):
            notes.append(f"{lang}: {e_label} and {r_label} are the same detector")
        elif same and eval_spec != reward_spec:
            notes.append(f"{lang}: {eval_spec!r} and {reward_spec!r} run the same code")
    all_same = all(not v["independent"] for v in by_lang.values())
    if all_same and not allow:
        raise UserError(
            f"the evaluation detector {eval_spec!r} is the one the rewrites were steered with "
            f"({reward_spec!r}){': ' + '; '.join(notes) if notes else ''}; its scores would "
            "reward gaming that detector",
            fix="pick another --detector (e.g. lexicon, classifier, llm:PROVIDER/MODEL), or "
            "pass --allow-same-detector to run anyway",
        )
    return {
        "independent": all(v["independent"] for v in by_lang.values()),
        "by_language": by_lang,
        "note": "; ".join(notes) or None,
    }


async def _score_systems(
    ok: list[RewriteRecord],
    texts: dict[str, list[str | None]],
    detectors: dict[str, str],
    value_target: ValueTarget,
    settings: EvalRewriteSettings,
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Every system's texts scored by every detector: the summaries per detector and system
    (pooled, then per language: language -> detector role -> system), and per item the
    evaluation detector's breakdown of each system's text."""
    weights = RewardWeights()
    per_detector: dict[str, dict[str, Any]] = {}
    languages = sorted({r.language for r in ok})
    by_language: dict[str, dict[str, Any]] = {lang: {} for lang in languages}
    items: dict[str, dict[str, Any]] = {
        r.id: {"id": r.id, "language": r.language, "query": r.query, "systems": {}} for r in ok
    }
    for role, spec in detectors.items():
        scorer = VisaReward(weights, measurer=Measurer(spec, settings.similarity))
        per_system: dict[str, Any] = {}
        for lang in languages:
            by_language[lang][role] = {}
        for system, column in texts.items():
            idx = [i for i, t in enumerate(column) if t is not None]
            if not idx:
                per_system[system] = {"n": 0}
                for lang in languages:
                    by_language[lang][role][system] = {"n": 0}
                continue
            bds = await asyncio.to_thread(
                scorer.score_many,
                [ok[i].original or "" for i in idx],
                [column[i] or "" for i in idx],
                [value_target] * len(idx),
                [ok[i].language for i in idx],
            )
            per_system[system] = summarise(scorer.target(value_target), bds, settings.tolerance)
            for lang in languages:
                part = [b for i, b in zip(idx, bds, strict=True) if ok[i].language == lang]
                by_language[lang][role][system] = (
                    summarise(scorer.target(value_target), part, settings.tolerance)
                    if part
                    else {"n": 0}
                )
            if role == "evaluation":
                for i, b in zip(idx, bds, strict=True):
                    items[ok[i].id]["systems"][system] = _finite({"text": column[i]} | b.to_dict())
        per_detector[role] = per_system
    return per_detector, items, by_language


async def arun_eval_rewrite(
    input_path: str | Path,
    out: str | Path | None = None,
    *,
    target: str | None = None,
    rewriter: ChatBackend | None = None,
    answerer: ChatBackend | None = None,
    translator: LLMTranslator | None = None,
    settings: EvalRewriteSettings | None = None,
    loop_settings: VisaSettings | None = None,
    log: Callable[[str], None] | None = None,
    sft_rewriter: ChatBackend | None = None,
    grpo_rewriter: ChatBackend | None = None,
) -> dict[str, Any]:
    """Evaluate rewrites (or run the loop first on plain answers); returns the scores.

    ``sft_rewriter`` and ``grpo_rewriter`` add the trained-rewriter systems (module docstring).
    """
    settings = settings or EvalRewriteSettings()
    input_path = Path(input_path)
    out_dir = Path(out) if out is not None else input_path.parent
    if _input_kind(input_path) == "rewrites":
        inputs = await _from_rewrites(input_path, target, translator, settings)
        ensure_run_dir(out_dir)
    else:
        inputs = await _from_answers(
            input_path,
            out_dir,
            target,
            rewriter,
            answerer,
            translator,
            settings,
            loop_settings,
            log,
        )
    records = inputs.records
    ok = [r for r in records if r.status == "ok" and r.original and r.final is not None]
    baselines: dict[str, BaselineRecord] = {}
    visa_rewriter = _role(records, "rewriter")
    if rewriter is not None and ok:
        if log is not None:
            log(f"  baseline: one-shot persona rewrites with {rewriter.name}")
            if visa_rewriter and visa_rewriter != rewriter.name:
                log(f"  warning: the rewrites were made by {visa_rewriter}, not {rewriter.name}")
        baselines = await _baseline(ok, inputs.target, rewriter, out_dir, settings)
    trained: dict[str, dict[str, BaselineRecord]] = {}
    for system, backend in (("sft", sft_rewriter), ("grpo", grpo_rewriter)):
        if backend is not None and ok:
            if log is not None:
                log(f"  {system}: one rewrite per input with {backend.name} (the loop's prompt)")
            trained[system] = await _trained(
                system, ok, inputs.target, backend, out_dir, settings, inputs.reward_spec
            )
    detectors = {"evaluation": settings.detector, "reward": inputs.reward_spec}
    per_detector, items, by_language = await _score_systems(
        ok, _texts(ok, baselines, trained), detectors, inputs.target, settings
    )
    scores = {
        "kind": "visa-eval",
        "input": input_path.name,
        "target": str(inputs.target),
        "persona": inputs.persona,
        "taxonomy": inputs.target.taxonomy.id,
        "detectors": detectors,
        "independent_detectors": inputs.independence["independent"],
        "independent_by_language": inputs.independence["by_language"],
        "detector_note": inputs.independence["note"],
        "similarity": settings.similarity,
        "tolerance": settings.tolerance,
        "rewriter": visa_rewriter,
        "baseline_rewriter": rewriter.name if rewriter is not None else None,
        "n_inputs": len(records),
        "n_scored": len(ok),
        "n_failed": len(records) - len(ok),
        "baseline_available": bool(baselines),
        "sft_available": bool(trained.get("sft")),
        "grpo_available": bool(trained.get("grpo")),
        "sft_rewriter": sft_rewriter.name if sft_rewriter is not None else None,
        "grpo_rewriter": grpo_rewriter.name if grpo_rewriter is not None else None,
        "systems": list(SYSTEMS),
        "scores": per_detector,
        "scores_by_language": by_language,
        "comparisons": [
            row for pair in _pairs(baselines, trained) for row in _compare(items, pair)
        ],
        "comparisons_by_language": {
            lang: [
                row
                for pair in _pairs(baselines, trained)
                for row in _compare(items, pair, language=lang)
            ]
            for lang in by_language
        },
        "visa_rounds": _mean([float(r.rounds) for r in ok]),
        "visa_met_rate": _mean([float(r.met) for r in ok]),
        "visa_changed_rate": _mean([float(r.changed) for r in ok]),
    }
    _write(out_dir, scores, items)
    return scores


def _texts(
    ok: list[RewriteRecord],
    baselines: dict[str, BaselineRecord],
    trained: dict[str, dict[str, BaselineRecord]] | None = None,
) -> dict[str, list[str | None]]:
    """Each system's text per input (None where a system has none); the trained rewriters
    only when they ran."""

    def column(records_by_id: dict[str, BaselineRecord]) -> list[str | None]:
        return [
            records_by_id[r.id].rewrite
            if r.id in records_by_id and records_by_id[r.id].status == "ok"
            else None
            for r in ok
        ]

    trained = trained or {}
    return {
        "original": [r.original for r in ok],
        "baseline": column(baselines),
        **{system: column(trained[system]) for system in TRAINED if system in trained},
        "visa": [r.final for r in ok],
    }


def _pairs(baselines: dict[str, Any], trained: dict[str, Any]) -> list[tuple[str, str]]:
    """The paired comparisons to report: VISA against the baseline and the original always,
    the trained rewriters against the others that ran."""
    pairs = [("visa", "baseline"), ("visa", "original")]
    if trained.get("sft"):
        pairs += [("visa", "sft")] + ([("sft", "baseline")] if baselines else [])
    if trained.get("grpo"):
        pairs += [("visa", "grpo")] + ([("grpo", "baseline")] if baselines else [])
        if trained.get("sft"):
            pairs.append(("grpo", "sft"))
    return pairs


@dataclass(frozen=True)
class _Inputs:
    """The rewrites to evaluate and what they were steered towards, with which detector."""

    records: list[RewriteRecord]
    target: ValueTarget
    persona: str | None
    reward_spec: str
    independence: dict[str, Any]


async def _from_rewrites(
    input_path: Path,
    target: str | None,
    translator: LLMTranslator | None,
    settings: EvalRewriteSettings,
) -> _Inputs:
    """Rewrites written by ``valuealign rewrite``: one target, the detector that steered them."""
    records = read_jsonl(input_path, RewriteRecord)
    targets = {(r.target, r.taxonomy) for r in records}
    if len(targets) != 1:
        raise UserError(
            f"{input_path}: the rewrites have {len(targets)} different targets",
            fix="evaluate one target at a time",
        )
    recorded = ValueTarget.parse(*next(iter(targets)))
    if target is not None:
        wanted = await resolve_target(target, recorded.taxonomy, translator)
        if str(wanted) != str(recorded):
            raise UserError(
                f"--target {target!r} means {wanted} but the rewrites in {input_path} were "
                f"made for {recorded}",
                fix="drop --target, or evaluate the matching rewrites",
            )
    reward_spec = (
        settings.reward_detector or _loop_detector(records, input_path.parent) or "keywords"
    )
    languages = {language_of(r.original or "", r.language, strict=False) for r in records}
    return _Inputs(
        records,
        recorded,
        next((r.persona for r in records if r.persona), None),
        reward_spec,
        _check_independent(
            settings.detector,
            reward_spec,
            settings.allow_same_detector,
            sorted(languages or set(LANGS)),
        ),
    )


async def _from_answers(
    input_path: Path,
    out_dir: Path,
    target: str | None,
    rewriter: ChatBackend | None,
    answerer: ChatBackend | None,
    translator: LLMTranslator | None,
    settings: EvalRewriteSettings,
    loop_settings: VisaSettings | None,
    log: Callable[[str], None] | None,
) -> _Inputs:
    """Plain answers: the VISA loop rewrites them first (into ``out_dir``)."""
    inputs = load_inputs(input_path)
    if target is None:
        raise UserError(
            f"{input_path} holds answers, not rewrites: --target is needed to rewrite them",
            fix="pass --target, or give DIR/rewrites.jsonl from `valuealign rewrite`",
        )
    if rewriter is None:
        raise UserError(
            f"{input_path} holds answers, not rewrites: --rewriter is needed to run VISA",
            fix="pass --rewriter PROVIDER/MODEL",
        )
    value_target = await resolve_target(target, "schwartz10", translator)
    persona = None if is_explicit_target(target) else target
    loop_settings = loop_settings or VisaSettings(similarity=settings.similarity)
    reward_spec = settings.reward_detector or loop_settings.detector
    independence = _check_independent(
        settings.detector,
        reward_spec,
        settings.allow_same_detector,
        sorted({language_of(it.query, it.language, strict=False) for it in inputs} or set(LANGS)),
    )
    if reward_spec != loop_settings.detector:
        loop_settings = replace(loop_settings, detector=reward_spec)
    await arun_rewrite(
        inputs,
        value_target,
        out_dir,
        rewriter=rewriter,
        answerer=answerer,
        settings=loop_settings,
        persona=persona,
        log=log,
    )
    wanted_ids = {it.id for it in inputs}
    records = [r for r in read_jsonl(out_dir / REWRITES_FILE, RewriteRecord) if r.id in wanted_ids]
    return _Inputs(records, value_target, persona, reward_spec, independence)


def _write(out_dir: Path, scores: dict[str, Any], items: dict[str, dict[str, Any]]) -> None:
    """scores.json, the per-item file (whole or not at all) and the reports."""
    from valuealign.report.visa import write_eval_report

    with JsonlWriter(out_dir / (ITEMS_FILE + ".tmp")) as w:
        for it in items.values():
            w.append_dict(it)
    (out_dir / (ITEMS_FILE + ".tmp")).replace(out_dir / ITEMS_FILE)
    write_json_atomic(out_dir / SCORES_FILE, scores)
    write_eval_report(out_dir, scores, list(items.values()))


COMPARED = ("value_precision", "distance_after", "similarity", "fact_share", "reward")


def _compare(
    items: dict[str, dict[str, Any]], pair: tuple[str, str], *, language: str | None = None
) -> list[dict[str, Any]]:
    """Paired differences ``a - b`` over the inputs both systems have (in ``language`` only,
    when given), with a bootstrap 95% CI (2000 resamples, fixed seed), under the evaluation
    detector."""
    a, b = pair
    rng = np.random.default_rng(0)
    out = []
    for metric in COMPARED:
        diffs = []
        for it in items.values():
            if language is not None and it["language"] != language:
                continue
            sa, sb = it["systems"].get(a), it["systems"].get(b)
            if sa and sb and sa.get(metric) is not None and sb.get(metric) is not None:
                diffs.append(float(sa[metric]) - float(sb[metric]))
        row: dict[str, Any] = {"a": a, "b": b, "metric": metric, "n": len(diffs)}
        if diffs:
            d = np.asarray(diffs)
            boot = d[rng.integers(0, len(d), size=(2000, len(d)))].mean(axis=1)
            row |= {
                "mean_diff": round(float(d.mean()), 4),
                "ci95": [round(float(np.quantile(boot, q)), 4) for q in (0.025, 0.975)],
            }
        out.append(row)
    return out


def _finite(obj: Any) -> Any:
    """``obj`` with every NaN/inf float replaced by None (strict JSON)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj


def _role(records: Sequence[RewriteRecord], role: str) -> str | None:
    return next((r.provenance.roles.get(role) for r in records if role in r.provenance.roles), None)


def run_eval_rewrite(input_path: str | Path, out: str | Path | None = None, **kwargs: Any) -> dict:
    """Sync entry point of :func:`arun_eval_rewrite`."""
    ensure_no_running_loop("run_eval_rewrite", "arun_eval_rewrite")
    return run_sync(arun_eval_rewrite(input_path, out, **kwargs))
