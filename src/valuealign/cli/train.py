"""``valuealign train cpt|sft|adversarial|chain|merge``: the training stages.

Every stage reads a small YAML config (the shipped examples: ``--config builtin:sft`` etc.); the common settings are also
flags and override the file. Runs unchanged under ``accelerate launch -m valuealign train ...``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click


def _say(msg: str) -> None:
    click.echo(msg, err=True)


def _stage_options(f: Callable) -> Callable:
    f = click.option(
        "--resume", is_flag=True, help="Continue from the latest checkpoint in OUT/checkpoints."
    )(f)
    f = click.option(
        "--lora/--no-lora", "lora_enabled", default=None, help="Train a LoRA adapter (or not)."
    )(f)
    f = click.option("--max-steps", type=click.IntRange(1), default=None)(f)
    f = click.option(
        "--strict-decontam",
        is_flag=True,
        default=None,
        help="Stop (exit 1) when the data overlaps the benchmark; by default warn and record it.",
    )(f)
    f = click.option("--out", type=click.Path(file_okay=False), default=None)(f)
    f = click.option(
        "--data",
        multiple=True,
        type=click.Path(),
        help="Data file or curation folder (repeat for several); replaces the config's data.",
    )(f)
    f = click.option("--model", default=None, help="Model to start from: hf/NAME or hf/PATH.")(f)
    f = click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        default=None,
        help="Stage config: FILE.yaml or builtin:NAME (cpt, sft, adversarial, sft-8b); unknown "
        "keys are errors.",
    )(f)
    return f


def _flags(overrides: dict[str, Any]) -> dict[str, Any]:
    """The stage flags as config overrides: no --data given means the config's data."""
    data = overrides.get("data")
    return {**overrides, "data": list(data) if data else None}


def _run(stage: str, config_path: str | None, resume: bool, **overrides: Any) -> None:
    from valuealign.train import load_stage_config, run_stage

    cfg = load_stage_config(stage, config_path, _flags(overrides))
    manifest = run_stage(cfg, resume=resume, progress=_say)
    _summary(manifest)


def _summary(manifest: dict[str, Any]) -> None:
    if not manifest:
        return
    losses = manifest["loss_history"]
    first = f"{losses[0]['loss']:.4f}" if losses else "-"
    last = f"{losses[-1]['loss']:.4f}" if losses else "-"
    lines = [
        f"stage {manifest['stage']}: {manifest['global_step']} steps in "
        f"{manifest['wall_seconds']:.0f} s, loss {first} -> {last}",
    ]
    if manifest.get("eval_loss") is not None:
        lines.append(f"  held-out eval loss {manifest['eval_loss']:.4f}")
    for lang, d in (manifest.get("drift") or {}).items():
        lines.append(
            f"  perplexity ({lang} held-out text): base {d['base']:.2f} -> trained "
            f"{d['trained']:.2f} (x{d['ratio']:.3f})"
        )
    out = manifest["outputs"]
    if out.get("adapter"):
        lines.append(
            f"  adapter: {out['adapter']}  (use: hf/{manifest['base_model'].removeprefix('hf/')} --adapter {out['adapter']})"
        )
    if out.get("model"):
        lines.append(f"  model:   {out['model']}  (use: hf/{out['model']})")
    click.echo("\n".join(lines))


@click.group()
def train() -> None:
    """Train: continued pre-training, SFT, adversarial LoRA (one stage or the chain).

    \b
    Examples (CPU, embedded model, a few steps):
      valuealign train sft --config builtin:sft --max-steps 5 --out runs/sft
      valuealign train chain --config builtin:chain
      valuealign train merge runs/adv --out runs/adv-merged
    On GPUs: accelerate launch --config_file configs/accelerate/zero2.yaml \\
               -m valuealign train sft --config builtin:sft-8b
    """


@train.command()
@_stage_options
def cpt(config_path, resume, **overrides) -> None:
    """Continued pre-training on raw text or `valuealign curate` output."""
    _run("cpt", config_path, resume, **overrides)


@train.command()
@_stage_options
def sft(config_path, resume, **overrides) -> None:
    """Instruction tuning on chat `messages` data (loss on the answer only)."""
    _run("sft", config_path, resume, **overrides)


@train.command()
@_stage_options
def adversarial(config_path, resume, **overrides) -> None:
    """Adversarial LoRA on kept Attacker/Actor/Critic pairs (optionally mixed with SFT data)."""
    _run("adversarial", config_path, resume, **overrides)


@train.command()
@_stage_options
def rewriter(config_path, resume, **overrides) -> None:
    """VISA value rewriter: GRPO with LoRA on `valuealign visa make-data` triples."""
    from valuealign.train.rewriter import load_rewriter_config, run_rewriter

    cfg = load_rewriter_config(config_path, _flags(overrides))
    manifest = run_rewriter(cfg, resume=resume, progress=_say)
    _summary(manifest)
    rewards = manifest.get("reward_history") or []
    if rewards:
        click.echo(f"  reward {rewards[0]['reward']:.3f} -> {rewards[-1]['reward']:.3f}")


@train.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), required=True)
@click.option("--model", default=None, help="Model the first stage starts from.")
@click.option("--out", type=click.Path(file_okay=False), default=None)
@click.option("--resume", is_flag=True, help="Skip finished stages; resume the interrupted one.")
def chain(config_path, model, out, resume) -> None:
    """Run cpt -> sft -> adversarial, each starting from the previous stage's output."""
    from valuealign.train import load_chain_config, run_chain

    _, stages = load_chain_config(config_path, {"model": model, "out": out})
    for manifest in run_chain(stages, resume=resume, progress=_say):
        _summary(manifest)


@train.command()
@click.argument("adapter", type=click.Path(file_okay=False))
@click.option("--out", type=click.Path(file_okay=False), required=True)
@click.option("--base", default=None, help="Base model (default: the adapter's manifest).")
def merge(adapter, out, base) -> None:
    """Merge a LoRA ADAPTER into its base model; write a full model to --out."""
    from valuealign.train import merge_adapter

    path = merge_adapter(adapter, out, base=base)
    click.echo(f"merged model written to {path} (use: hf/{path})")
