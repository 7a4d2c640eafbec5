"""``valuealign train rewriter``: the VISA value rewriter, trained with GRPO and LoRA.

The data are (query, frozen answer, target) triples made by
``valuealign visa make-data`` (:func:`valuealign.visa.build_rewriter_dataset`): each row has a
chat ``prompt`` asking to rewrite the answer toward the target, the ``original`` answer, the
``target`` in string form (``tradition=+1,security=+1``) and the ``language``. TRL's
GRPOTrainer samples ``num_generations`` rewrites per prompt and scores them with the composite
reward of :mod:`valuealign.visa.reward`: every term is logged, and only the gated combination
drives the policy (see that module for why).

The output folder is laid out like every other stage (adapter or model, tokenizer,
``manifest.json`` with the loss and reward history, checkpoints for ``--resume``).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from valuealign.errors import UserError
from valuealign.records import parse_jsonl_lines
from valuealign.train.config import (
    LoraSettings,
    StageConfig,
    check_trl_extras,
    read_yaml,
    validate,
    with_overrides,
)
from valuealign.train.data import _check_exists, _open_text, file_fingerprint, resolve_path


class RewardSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    detector: str = "keywords"
    similarity: str = "meaning"
    taxonomy: str = "schwartz10"
    weights: dict[str, float | None] = Field(default_factory=dict)


class RewriterStageConfig(StageConfig):
    """GRPO on rewrite prompts; LoRA by default."""

    stage: Literal["rewriter"] = "rewriter"  # type: ignore[assignment]
    lora: LoraSettings = Field(default_factory=lambda: LoraSettings(enabled=True))
    learning_rate: Annotated[float, Field(gt=0)] = 1e-5
    seq_len: Annotated[int, Field(ge=16)] = 512  # the longest prompt kept
    num_generations: Annotated[int, Field(ge=2)] = 4
    max_completion_length: Annotated[int, Field(ge=4)] = 256
    temperature: Annotated[float, Field(gt=0)] = 1.0
    beta: Annotated[float, Field(ge=0)] = 0.0  # KL coefficient (0: no reference model)
    reward: RewardSettings = Field(default_factory=RewardSettings)


class RewriterRow(BaseModel):
    model_config = ConfigDict(extra="ignore")
    prompt: list[dict[str, str]] | str
    original: str
    target: str
    language: str | None = None


def load_rewriter_config(
    path: str | Path | None = None, overrides: dict[str, Any] | None = None
) -> RewriterStageConfig:
    data: dict[str, Any] = {}
    lines: dict = {}
    name = "<command line>"
    if path is not None:
        data, lines, name = read_yaml(path)
    data = with_overrides({**data, "stage": "rewriter"}, overrides, name)
    cfg = validate(RewriterStageConfig, data, name=name, lines=lines)
    check_trl_extras(cfg, "GRPOConfig", name=name, lines=lines)
    if (cfg.batch_size * cfg.grad_accum) % cfg.num_generations:
        raise UserError(
            f"{name}: batch_size x grad_accum ({cfg.batch_size} x {cfg.grad_accum}) must be a "
            f"multiple of num_generations ({cfg.num_generations})",
            fix="GRPO compares the generations of one prompt within a batch; e.g. set "
            f"batch_size: {cfg.num_generations}",
        )
    _reward_weights(cfg)  # unknown weight names fail here, before anything loads
    return cfg


def _reward_weights(cfg: RewriterStageConfig) -> Any:
    from valuealign.visa.reward import RewardWeights

    known = {f.name for f in dataclasses.fields(RewardWeights)}
    unknown = sorted(set(cfg.reward.weights) - known)
    if unknown:
        raise UserError(
            f"unknown reward weight(s): {', '.join(unknown)}",
            fix=f"known: {', '.join(sorted(known))}",
        )
    try:
        return RewardWeights(**cfg.reward.weights)
    except (TypeError, ValueError) as e:
        raise UserError(f"reward weights: {e}", fix="see valuealign.visa.reward") from None


def read_rewriter_rows(path: str | Path, taxonomy: str = "schwartz10") -> list[dict[str, Any]]:
    p = resolve_path(path)
    _check_exists(p)
    with _open_text(p) as f:
        rows = [
            r.model_dump()
            for _, r in parse_jsonl_lines(
                f,
                str(p),
                RewriterRow,
                schema_fix="rows need prompt, original, target (and language); make them with "
                "`valuealign visa make-data`",
            )
        ]
    if not rows:
        raise UserError(f"{p}: no rows", fix="make data with `valuealign visa make-data`")
    # the target must parse: a bad one fails now, not in the middle of training
    from valuealign.values.target import ValueTarget

    for i, r in enumerate(rows, start=1):
        try:
            ValueTarget.parse(r["target"], taxonomy)
        except UserError as e:
            raise UserError(f"{p}: row {i}: {e.message}", fix=e.fix) from None
    return rows


def run_rewriter(
    cfg: RewriterStageConfig, *, resume: bool = False, progress: Any = None
) -> dict[str, Any]:
    """GRPO-train the rewriter; returns the manifest (also written to OUT/manifest.json)."""
    from valuealign.train.runner import (
        _check_out,
        _device_and_precision,
        finish_stage,
        load_model_and_tokenizer,
        lora_config,
        require_train_extra,
    )

    require_train_extra()
    say = progress or (lambda _m: None)
    out = Path(cfg.out)
    resume_from = _check_out(out, resume)
    start = time.perf_counter()
    fingerprints = [file_fingerprint(s.path) for s in cfg.data]
    from valuealign.decontam import guard_files

    contamination = guard_files(
        [s.path for s in cfg.data],
        what="the rewriter's training prompts",
        strict=cfg.strict_decontam,
        say=say,
    )
    rows = [r for s in cfg.data for r in read_rewriter_rows(s.path, cfg.reward.taxonomy)]
    weights = _reward_weights(cfg)
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from valuealign.visa.reward import trl_reward_functions, trl_reward_weights

    say(f"[rewriter] loading {cfg.model}")
    model, tokenizer = load_model_and_tokenizer(
        cfg.model, precision=cfg.precision, attn_implementation=cfg.attn_implementation
    )
    funcs = trl_reward_functions(
        weights,
        detector=cfg.reward.detector,
        similarity=cfg.reward.similarity,
        taxonomy=cfg.reward.taxonomy,
    )
    device, precision = _device_and_precision(cfg.precision)
    args = GRPOConfig(
        output_dir=str(out / "checkpoints"),
        per_device_train_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        num_generations=cfg.num_generations,
        max_completion_length=cfg.max_completion_length,
        temperature=cfg.temperature,
        beta=cfg.beta,
        learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.lr_scheduler,
        warmup_steps=cfg.warmup_ratio,
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps if cfg.max_steps is not None else -1,
        seed=cfg.seed,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        use_cpu=device == "cpu",
        activation_checkpointing=cfg.gradient_checkpointing,
        logging_steps=cfg.logging_steps,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=2,
        report_to=cfg.report_to,
        reward_weights=trl_reward_weights(funcs),
        use_liger_kernel=cfg.liger_kernel,
        **cfg.trl_args,
    )
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=funcs,
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=lora_config(cfg) if cfg.lora.enabled else None,
    )
    say(f"[rewriter] {len(rows)} prompts, {cfg.num_generations} rewrites each per step")
    from valuealign.train.runner import quiet_trainer

    quiet_trainer(trainer, "rewriter", say)
    trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    history = trainer.state.log_history
    reward_keys = sorted({k for h in history for k in h if k.startswith("rewards/")})
    return finish_stage(
        trainer,
        tokenizer,
        cfg,
        fingerprints=fingerprints,
        resume_from=resume_from,
        start=start,
        say=say,
        extra={
            "decontamination": contamination,
            "train_rows": len(rows),
            "reward_history": [
                {
                    "step": h["step"],
                    "reward": h.get("reward"),
                    **{k: h[k] for k in reward_keys if k in h},
                }
                for h in history
                if "reward" in h
            ],
        },
    )
