"""Data for the SFT rewriter baseline: the best gated rewrite of each ``visa make-data`` row.

VISA's paper compares its GRPO rewriter with a rewriter fine-tuned (SFT) on rewrites that pass
the same checks. :func:`build_sft_dataset` makes that training set by rejection sampling:

1. each row of ``visa make-data`` (the loop's rewrite prompt for one frozen answer and target)
   is sent to a ``rewriter`` ``samples`` times: the first greedily, the rest sampled at
   ``temperature``, each a distinct sample (``sample_index``) so the request cache keeps them
   apart;
2. each completion is cleaned as the loop cleans it and scored with the composite reward
   (:class:`~valuealign.visa.reward.VisaReward`: its detector, meaning measure and gate);
3. the row keeps the best-scoring completion that **passes the gate** (content kept), was scored
   by the detector and earns more than ``min_reward`` (default 0: an unchanged copy earns exactly
   0, so it never qualifies); a row without one is left out and counted.

Each output line is a chat conversation that ``valuealign train sft`` reads (the make-data
prompt, system and user, then the chosen rewrite as the assistant turn), with the reward terms
beside it::

    {"id": "...", "messages": [{"role": "system", ...}, {"role": "user", ...},
                               {"role": "assistant", "content": "<the rewrite>"}],
     "reward": 0.62, "value_precision": 0.5, "similarity": 0.81, "fact_share": 1.0,
     "target": "tradition=+1", "language": "en", "rewriter": "hf/...", "candidates": 4,
     "passed_gate": 3}

The trained model is then one more system in ``valuealign eval-rewrite`` (``--sft-rewriter``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from valuealign.backends import ChatBackend, GenerateConfig
from valuealign.errors import BackendError, UserError
from valuealign.records import read_text_lines, write_text_atomic
from valuealign.visa._text import clean_rewrite
from valuealign.visa.reward import RewardBreakdown, VisaReward

__all__ = ["abuild_sft_dataset", "build_sft_dataset", "load_rewriter_rows"]

_ROW_KEYS = ("id", "prompt", "original", "target", "language")


def load_rewriter_rows(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a ``visa make-data`` file; a bad line raises UserError naming it."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: file not found", fix="give the JSONL that visa make-data wrote")
    rows: list[dict[str, Any]] = []
    for lineno, line in enumerate(read_text_lines(path), start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(
                f"{where}: invalid JSON ({exc.msg})", fix="one JSON object per line"
            ) from None
        if not isinstance(row, dict):
            raise UserError(f"{where}: not a JSON object", fix="one JSON object per line")
        missing = [k for k in _ROW_KEYS if k not in row]
        if missing:
            raise UserError(
                f"{where}: missing {', '.join(missing)}",
                fix="use the output of `valuealign visa make-data`",
            )
        prompt = row["prompt"]
        if (
            not isinstance(prompt, list)
            or not prompt
            or not all(isinstance(m, dict) and {"role", "content"} <= set(m) for m in prompt)
            or prompt[-1].get("role") != "user"
        ):
            raise UserError(
                f"{where}: 'prompt' must be a list of chat messages ending with the user's",
                fix="use the output of `valuealign visa make-data`",
            )
        if not isinstance(row["original"], str) or not row["original"].strip():
            raise UserError(f"{where}: 'original' is empty", fix="give the frozen answer")
        rows.append(row)
    if not rows:
        raise UserError(f"{path}: no rows", fix="run `valuealign visa make-data` first")
    return rows


def _instruction(prompt: list[dict[str, Any]]) -> str:
    """The rewrite instruction at the end of the user turn (a small model may echo it)."""
    content = str(prompt[-1]["content"])
    return content.rsplit("</answer>", 1)[-1].strip()


def _best(candidates: Sequence[tuple[str, RewardBreakdown]], min_reward: float) -> int | None:
    best: int | None = None
    for i, (text, b) in enumerate(candidates):
        if not text.strip() or b.gated or b.detector_failed or not b.reward > min_reward:
            continue
        if best is None or b.reward > candidates[best][1].reward:
            best = i
    return best


async def abuild_sft_dataset(
    rows: Sequence[dict[str, Any]],
    rewriter: ChatBackend,
    *,
    reward: VisaReward | None = None,
    samples: int = 4,
    temperature: float = 0.8,
    max_tokens: int = 256,
    min_reward: float = 0.0,
    concurrency: int = 8,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """SFT rows (see the module docstring) and counts: rows, kept, all_gated, no_gain, failed."""
    if samples < 1:
        raise UserError("samples must be at least 1", fix="use --samples 1 or more")
    reward = reward or VisaReward()
    sem = asyncio.Semaphore(max(1, concurrency))
    errors: list[str] = []

    async def one(row: dict[str, Any], k: int) -> tuple[str, str] | None:
        config = GenerateConfig(
            max_tokens=max_tokens,
            temperature=0.0 if k == 0 else temperature,
            seed=seed + k,
            sample_index=k,
        )
        async with sem:
            try:
                done = await rewriter.generate(list(row["prompt"]), config)
            except BackendError as exc:
                errors.append(str(exc))
                return None
        return done.text, clean_rewrite(done.text, echoes=(_instruction(row["prompt"]),))

    out: list[dict[str, Any]] = []
    counts = {"rows": len(rows), "kept": 0, "all_gated": 0, "no_gain": 0, "failed": 0}
    # every row's requests are in flight together (the semaphore caps them), so a local backend
    # batches across rows; rows are then scored and kept in input order
    pending = [
        asyncio.ensure_future(asyncio.gather(*[one(row, k) for k in range(samples)]))
        for row in rows
    ]
    for n, (row, fut) in enumerate(zip(rows, pending, strict=True), start=1):
        got = await fut
        pairs = [g for g in got if g is not None]
        if not pairs:
            counts["failed"] += 1
            continue
        scored = await asyncio.to_thread(
            reward.score_many,
            [row["original"]] * len(pairs),
            [text for _, text in pairs],
            [row["target"]] * len(pairs),
            [row["language"]] * len(pairs),
            raws=[raw for raw, _ in pairs],
        )
        candidates = [(text, b) for (_, text), b in zip(pairs, scored, strict=True)]
        passed = sum(not b.gated and not b.detector_failed for _, b in candidates)
        pick = _best(candidates, min_reward)
        if pick is None:
            counts["all_gated" if passed == 0 else "no_gain"] += 1
        else:
            text, b = candidates[pick]
            counts["kept"] += 1
            out.append(
                {
                    "id": row["id"],
                    "messages": [*row["prompt"], {"role": "assistant", "content": text}],
                    "reward": b.reward,
                    "value_precision": b.value_precision,
                    "similarity": b.similarity,
                    "fact_share": b.fact_share,
                    "target": row["target"],
                    "language": row["language"],
                    "rewriter": rewriter.name,
                    "candidates": len(candidates),
                    "passed_gate": passed,
                }
            )
        if progress is not None:
            progress(f"  {n}/{len(rows)} rows, {counts['kept']} kept")
    counts["requests_failed"] = len(errors)
    if errors:
        counts["first_error"] = errors[0]
    return out, counts


def build_sft_dataset(
    input_path: str | Path, rewriter: ChatBackend, out: str | Path, **kwargs: Any
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Read ``input_path`` (visa make-data rows), build the SFT rows and write them to ``out``
    as JSONL (atomically; nothing is written when no row qualifies). Returns the rows and the
    counts."""
    from valuealign.aio import ensure_no_running_loop

    ensure_no_running_loop("build_sft_dataset", "abuild_sft_dataset")
    rows = load_rewriter_rows(input_path)
    built, counts = asyncio.run(abuild_sft_dataset(rows, rewriter, **kwargs))
    if built:
        write_text_atomic(out, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in built))
    return built, counts
