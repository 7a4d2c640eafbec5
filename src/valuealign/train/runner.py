"""Run a training stage with TRL: data -> trainer -> output folder with a manifest.

One stage is one call of :func:`run_stage`. The output folder is directly usable as a backend:

    OUT/                 the trained model (full fine-tuning) or the LoRA adapter, in safetensors,
                         with the tokenizer: ``hf/OUT``, or ``hf/BASE --adapter OUT``
    OUT/merged/          LoRA stages with ``merge: true``: the adapter merged into its base
    OUT/checkpoints/     trainer checkpoints (``--resume`` continues from the latest)
    OUT/manifest.json    config, data files with hashes and sizes, versions, loss history,
                         eval loss, tokens seen, wall time, perplexity drift vs the base

Everything that writes runs on the main process only, and the model is saved through the
trainer, so the same code runs unchanged under ``accelerate launch`` (DDP, DeepSpeed ZeRO-2/3,
FSDP). Merging and the drift check reload from disk on the main process, never from the sharded
in-memory model.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from valuealign.errors import MissingExtra, UserError
from valuealign.records import ensure_run_dir, read_json_object, write_json_atomic
from valuealign.runs import manifest_header
from valuealign.train.config import StageConfig, adapter_base, model_folder
from valuealign.train.data import (
    add_share,
    file_fingerprint,
    load_chat_data,
    load_cpt_data,
    split_eval,
)
from valuealign.train.drift import drift_report

MANIFEST = "manifest.json"
# A plain template for base models that have none (e.g. Gemma 3 270M base), so chat data can
# train them; the trained folder then carries it and serves as a chat model.
FALLBACK_CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}{{ eos_token }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
Progress = Callable[[str], None]


def require_train_extra() -> None:
    import importlib.util

    for mod, pkg in (
        ("torch", "torch"),
        ("transformers", "transformers"),
        ("trl", "trl"),
        ("peft", "peft"),
        ("datasets", "datasets"),
        ("accelerate", "accelerate"),
    ):
        if importlib.util.find_spec(mod) is None:
            raise MissingExtra(pkg, "train", "training")


def versions() -> dict[str, str]:
    out: dict[str, str] = {}  # valuealign and python are in the manifest header
    for pkg in ("torch", "transformers", "trl", "peft", "accelerate", "datasets"):
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def _device_and_precision(precision: str) -> tuple[str, str]:
    import torch

    if torch.cuda.is_available():
        if precision == "auto":
            precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return "cuda", precision
    if precision in ("bf16", "fp16"):
        raise UserError(
            f"precision {precision} needs a GPU; this machine has none",
            fix="use 'precision: auto' (fp32 on CPU)",
        )
    return "cpu", "fp32"


def _load_model_and_tokenizer_unlocked(
    spec: str, *, precision: str, qlora: bool = False, attn_implementation: str | None = None
) -> tuple[Any, Any]:
    """Model (an adapter folder is merged into its base first) and tokenizer, ready to train."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    folder = model_folder(spec).resolve()  # adapters record an absolute base path
    device, precision = _device_and_precision(precision)
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    kwargs: dict[str, Any] = {"dtype": dtype}
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    if qlora:
        import importlib.util

        if device != "cuda" or importlib.util.find_spec("bitsandbytes") is None:
            raise UserError(
                "QLoRA needs a CUDA GPU and the bitsandbytes package",
                fix="set 'lora.qlora: false', or run on a GPU machine with bitsandbytes installed",
            )
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_compute_dtype=dtype,
            bnb_4bit_use_double_quant=True,
        )
    if (folder / "adapter_config.json").exists() and not (folder / "config.json").exists():
        from peft import AutoPeftModelForCausalLM

        model = AutoPeftModelForCausalLM.from_pretrained(str(folder), dtype=dtype)
        model = model.merge_and_unload()
    else:
        model = AutoModelForCausalLM.from_pretrained(str(folder), **kwargs)
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None and not qlora:
        quantizer.remove_quantization_config(model)
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if not getattr(tokenizer, "chat_template", None):
        tokenizer.chat_template = FALLBACK_CHAT_TEMPLATE
    return model, tokenizer


def lora_config(cfg: StageConfig) -> Any:
    from peft import LoraConfig

    return LoraConfig(
        r=cfg.lora.r,
        lora_alpha=cfg.lora.alpha,
        lora_dropout=cfg.lora.dropout,
        target_modules=cfg.lora.targets,
        task_type="CAUSAL_LM",
    )


def training_arguments(
    cfg: StageConfig, *, has_eval: bool, packed_input: bool = False, extra: dict | None = None
) -> Any:
    """The one adapter from a stage config to TRL's ``SFTConfig`` (all three stages use it)."""
    from trl import SFTConfig

    device, precision = _device_and_precision(cfg.precision)
    packing = bool(getattr(cfg, "packing", False)) and not packed_input
    kwargs: dict[str, Any] = {
        "output_dir": str(Path(cfg.out) / "checkpoints"),
        "per_device_train_batch_size": cfg.batch_size,
        "per_device_eval_batch_size": cfg.batch_size,
        "gradient_accumulation_steps": cfg.grad_accum,
        "learning_rate": cfg.learning_rate,
        "lr_scheduler_type": cfg.lr_scheduler,
        "warmup_steps": cfg.warmup_ratio,  # transformers 5: a float < 1 is a ratio of the steps
        "num_train_epochs": cfg.epochs,
        "max_steps": cfg.max_steps if cfg.max_steps is not None else -1,
        "seed": cfg.seed,
        "data_seed": cfg.seed,
        "bf16": precision == "bf16",
        "fp16": precision == "fp16",
        "use_cpu": device == "cpu",
        "activation_checkpointing": cfg.gradient_checkpointing,
        "logging_steps": cfg.logging_steps,
        "logging_first_step": True,
        "save_strategy": "steps",
        "save_steps": cfg.save_steps,
        "save_total_limit": 2,
        "eval_strategy": "steps" if has_eval else "no",
        "eval_steps": cfg.save_steps if has_eval else None,
        "report_to": cfg.report_to,
        "max_length": cfg.seq_len,
        "packing": packing,
        "dataset_text_field": getattr(cfg, "text_field", "text"),
        "dataloader_num_workers": 0,
        "use_liger_kernel": cfg.liger_kernel,
        "disable_tqdm": False,
    }
    kwargs.update(cfg.trl_args)  # checked against SFTConfig's fields when the config loaded
    kwargs.update(extra or {})
    return SFTConfig(**kwargs)


def _check_out(out: Path, resume: bool) -> Path | None:
    """The checkpoint to resume from (or None); refuse to overwrite a finished stage."""
    ckpt_dir = out / "checkpoints"
    checkpoints = sorted(
        (p for p in ckpt_dir.glob("checkpoint-*") if p.is_dir()),
        key=lambda p: int(p.name.split("-")[-1]) if p.name.split("-")[-1].isdigit() else -1,
    )
    if (out / MANIFEST).exists() and not resume:
        raise UserError(
            f"{out}: a finished training run is already here",
            fix="choose another --out, or delete the folder to train again",
        )
    if checkpoints and not resume:
        raise UserError(
            f"{out}: an interrupted run left checkpoints here",
            fix="add --resume to continue from the latest one, or choose another --out",
        )
    return checkpoints[-1] if (resume and checkpoints) else None


def _check_data(cfg: StageConfig) -> None:
    """Read and validate every training row without a tokenizer (``UserError`` names the file
    and line); the real dataset is built after the model is loaded."""
    if cfg.stage == "cpt":
        load_cpt_data(cfg.data, cfg.text_field, cfg.model, cfg.seed)  # type: ignore[attr-defined]
        return
    load_chat_data(cfg.data, cfg.seed)
    mix = getattr(cfg, "sft_mix", None)
    if mix is not None:
        load_chat_data(mix.data, cfg.seed + 1)


def build_dataset(cfg: StageConfig, tokenizer: Any) -> tuple[Any, Any, dict[str, Any]]:
    """(train, eval, info) datasets for a stage, every input checked first."""
    from datasets import Dataset

    info: dict[str, Any] = {"notes": []}
    if cfg.stage == "cpt":
        cpt = load_cpt_data(cfg.data, cfg.text_field, cfg.model, cfg.seed)  # type: ignore[attr-defined]
        info["notes"] += cpt.notes
        if cpt.packed:
            rows = [{"input_ids": ids} for ids in cpt.packed]
            if cpt.texts:
                rows += [
                    {"input_ids": ids} for ids in pack_texts(tokenizer, cpt.texts, cfg.seq_len)
                ]
            info["packed_input"] = True
        else:
            rows = [{"text": t} for t in cpt.texts]
            info["packed_input"] = False
    else:
        rows = load_chat_data(cfg.data, cfg.seed)
        mix = getattr(cfg, "sft_mix", None)
        if mix is not None and mix.ratio > 0:
            extra = load_chat_data(mix.data, cfg.seed + 1)
            n = len(rows)
            rows = add_share(rows, extra, mix.ratio, cfg.seed)
            info["notes"].append(f"mixed {len(rows) - n} SFT rows into {n} adversarial rows")
        kinds = {isinstance(r["prompt"], str) for r in rows}
        if len(kinds) > 1:
            raise UserError(
                "the data mixes plain-text and chat-message rows",
                fix="use one kind: 'messages' rows, or text 'prompt'/'completion' rows",
            )
        info["packed_input"] = False
    if not rows:
        raise UserError("the training data is empty", fix="check the files in 'data:'")
    train, evals = split_eval(rows, cfg.eval_fraction, cfg.seed)
    info["train_rows"], info["eval_rows"] = len(train), len(evals)
    return Dataset.from_list(train), (Dataset.from_list(evals) if evals else None), info


def pack_texts(tokenizer: Any, texts: Sequence[str], seq_len: int) -> list[list[int]]:
    """Greedy packing with curate's packer: documents joined with EOS, cut into ``seq_len``
    pieces; the last one is kept, unpadded, unless it is shorter than half a sequence and not
    the only one (``remainder="half"``)."""
    from valuealign.curate.pack import pack_token_lists

    docs = (tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts)
    return pack_token_lists(docs, seq_len, tokenizer.eos_token_id, remainder="half")


def run_stage(
    cfg: StageConfig,
    *,
    resume: bool = False,
    callbacks: Sequence[Any] = (),
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Train one stage; returns the manifest (also written to OUT/manifest.json)."""
    require_train_extra()
    say = progress or (lambda _msg: None)
    out = Path(cfg.out)
    resume_from = _check_out(out, resume)
    start = time.perf_counter()
    # every input is checked before a model is loaded: bad data fails fast (exit 2)
    fingerprints = [file_fingerprint(s.path) for s in cfg.data]
    if getattr(cfg, "sft_mix", None) is not None:
        fingerprints += [file_fingerprint(s.path) for s in cfg.sft_mix.data]  # type: ignore[attr-defined]
    from valuealign.decontam import guard_files

    paths = [s.path for s in cfg.data]
    if getattr(cfg, "sft_mix", None) is not None:
        paths += [s.path for s in cfg.sft_mix.data]  # type: ignore[attr-defined]
    contamination = guard_files(
        paths, what=f"the {cfg.stage} training data", strict=cfg.strict_decontam, say=say
    )
    if cfg.liger_kernel:
        import importlib.util

        if importlib.util.find_spec("liger_kernel") is None:
            raise MissingExtra("liger-kernel", "gpu", "liger_kernel: true")
    _check_data(cfg)  # every row parsed before a model is loaded (a torn line costs no load)
    ensure_run_dir(out)  # writable and locked, also before the model is loaded
    say(f"[{cfg.stage}] loading {cfg.model}")
    model, tokenizer = load_model_and_tokenizer(
        cfg.model,
        precision=cfg.precision,
        qlora=cfg.lora.enabled and cfg.lora.qlora,
        attn_implementation=cfg.attn_implementation,
    )
    train_ds, eval_ds, info = build_dataset(cfg, tokenizer)
    say(f"[{cfg.stage}] {info['train_rows']} training rows, {info['eval_rows']} held out")
    for note in info["notes"]:
        say(f"[{cfg.stage}] {note}")

    from trl import SFTTrainer

    args = training_arguments(cfg, has_eval=eval_ds is not None, packed_input=info["packed_input"])
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=train_ds,
        eval_dataset=eval_ds,
        processing_class=tokenizer,
        peft_config=lora_config(cfg) if cfg.lora.enabled else None,
        callbacks=list(callbacks) or None,
    )
    quiet_trainer(trainer, cfg.stage, say)
    if resume_from is not None:
        say(f"[{cfg.stage}] resuming from {resume_from.name}")
    result = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    eval_loss = None
    if eval_ds is not None:
        eval_loss = float(trainer.evaluate()["eval_loss"])
    history = trainer.state.log_history
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
            "notes": info["notes"],
            "train_rows": info["train_rows"],
            "eval_rows": info["eval_rows"],
            "eval_history": [
                {"step": h["step"], "eval_loss": h["eval_loss"]}
                for h in history
                if "eval_loss" in h
            ],
            "train_loss": float(result.training_loss),
            "eval_loss": eval_loss,
        },
    )


def finish_stage(
    trainer: Any,
    tokenizer: Any,
    cfg: StageConfig,
    *,
    fingerprints: list[dict[str, Any]],
    resume_from: Path | None,
    start: float,
    say: Progress,
    extra: dict[str, Any],
) -> dict[str, Any]:
    """Save a trained stage; on the main process merge it (``merge: true``), measure the
    perplexity drift and write the manifest (the shared fields plus the stage's ``extra``)."""
    out = Path(cfg.out)
    trainer.save_model(str(out))
    manifest: dict[str, Any] = {}
    if trainer.is_world_process_zero():
        tokenizer.save_pretrained(str(out))
        merged = None
        if cfg.lora.enabled and cfg.merge:
            say(f"[{cfg.stage}] merging the adapter into its base")
            merged = merge_adapter(out, out / "merged", base=cfg.model)
        history = trainer.state.log_history
        manifest = {
            **manifest_header("train"),
            "stage": cfg.stage,
            "config": cfg.model_dump(mode="json"),
            "base_model": cfg.model,
            "base_model_path": str(model_folder(cfg.model)),
            "data": fingerprints,
            "versions": versions(),
            "device": trainer.args.device.type,
            "world_size": int(os.environ.get("WORLD_SIZE", "1")),
            "global_step": trainer.state.global_step,
            "resumed_from": resume_from.name if resume_from else None,
            "loss_history": [
                {"step": h["step"], "loss": h["loss"]} for h in history if "loss" in h
            ],
            **extra,
            "tokens_seen": _tokens_seen(trainer),
            "wall_seconds": round(time.perf_counter() - start, 2),
            "outputs": {
                "adapter": str(out) if cfg.lora.enabled else None,
                "model": str(out) if not cfg.lora.enabled else (str(merged) if merged else None),
            },
            "drift": None,
        }
        if cfg.drift:
            say(f"[{cfg.stage}] perplexity drift on the held-out text")
            manifest["drift"] = drift_report(
                base=cfg.model, trained=str(out), max_tokens=cfg.drift_max_tokens
            )
        write_json_atomic(out / MANIFEST, manifest)
    _wait_for_everyone()
    return manifest


def _tokens_seen(trainer: Any) -> int | None:
    seen = getattr(trainer.state, "num_input_tokens_seen", 0) or 0
    if seen:
        return int(seen)
    for h in reversed(trainer.state.log_history):
        if "num_tokens" in h:
            return int(h["num_tokens"])
    return None


def _wait_for_everyone() -> None:
    try:
        from accelerate import PartialState

        PartialState().wait_for_everyone()
    except Exception:  # a plain single process has nothing to wait for
        pass


def _merge_adapter_unlocked(
    adapter: str | Path, out: str | Path, *, base: str | None = None
) -> Path:
    """Merge a LoRA adapter into its base model; write a full model + tokenizer to ``out``.

    ``base`` defaults to the adapter's manifest (``base_model``), then to PEFT's
    ``base_model_name_or_path``.
    """
    require_train_extra()
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    adapter, out = Path(adapter), Path(out)
    if not (adapter / "adapter_config.json").exists():
        raise UserError(
            f"{adapter}: no adapter_config.json here", fix="point at a LoRA stage's output folder"
        )
    folder = model_folder(str(base if base is not None else adapter_base(adapter)))
    model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32)
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None:
        quantizer.remove_quantization_config(model)
    model = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    tok_src = adapter if (adapter / "tokenizer_config.json").exists() else folder
    tokenizer = AutoTokenizer.from_pretrained(str(tok_src))
    tmp = out.with_name(out.name + f".tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp), safe_serialization=True)
    tokenizer.save_pretrained(str(tmp))
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)
    return out


def run_chain(
    stages: Sequence[StageConfig],
    *,
    resume: bool = False,
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """Run stages back to back; a stage that already finished (its manifest exists) is skipped
    on ``resume``, so an interrupted chain continues where it stopped."""
    manifests = []
    for cfg in stages:
        done = Path(cfg.out) / MANIFEST
        if resume and done.exists():
            if progress:
                progress(f"[{cfg.stage}] already finished; skipping")
            manifests.append(read_json_object(done))
            continue
        manifests.append(run_stage(cfg, resume=resume, progress=progress))
    return manifests


def load_model_and_tokenizer(
    spec: str, *, precision: str, qlora: bool = False, attn_implementation: str | None = None
) -> tuple[Any, Any]:
    """Model (an adapter folder is merged into its base first) and tokenizer, ready to train.

    Loads are serialised process-wide with the backends' lock (see ``backends.hf.LOAD_LOCK``).
    """
    from valuealign.backends.hf import LOAD_LOCK

    with LOAD_LOCK:
        return _load_model_and_tokenizer_unlocked(
            spec, precision=precision, qlora=qlora, attn_implementation=attn_implementation
        )


def merge_adapter(adapter: str | Path, out: str | Path, *, base: str | None = None) -> Path:
    """Merge a LoRA adapter into its base model; write a full model + tokenizer to ``out``.

    ``base`` defaults to the adapter's manifest (``base_model``), then to PEFT's
    ``base_model_name_or_path``.
    """
    require_train_extra()
    from valuealign.backends.hf import LOAD_LOCK

    with LOAD_LOCK:
        return _merge_adapter_unlocked(adapter, out, base=base)


def quiet_trainer(trainer: Any, stage: str, say: Any) -> None:
    """Unless ``valuealign -v``: no tqdm bar and no raw ``{'loss': ...}`` dicts from the trainer,
    one formatted line per log step instead."""
    from valuealign.console import is_verbose

    if is_verbose():
        return
    from transformers.trainer_callback import PrinterCallback, ProgressCallback, TrainerCallback

    class LogLine(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):  # type: ignore[no-untyped-def]
            if not state.is_world_process_zero or not logs:
                return
            parts = [f"step {state.global_step}/{state.max_steps}"]
            for key in ("loss", "eval_loss", "grad_norm", "learning_rate", "reward"):
                if isinstance(logs.get(key), int | float):
                    parts.append(f"{key.replace('_', ' ')} {logs[key]:.4g}")
            if len(parts) > 1:
                say(f"[{stage}] " + ", ".join(parts))

    trainer.remove_callback(ProgressCallback)
    trainer.remove_callback(PrinterCallback)
    trainer.add_callback(LogLine())
