"""Training throughput: valuealign's LoRA SFT path against plain TRL SFTTrainer, same run.

On a CUDA GPU (the issue's setting): LoRA (r 16, all linear layers) on a Llama-3-8B-shaped model
with random weights (throughput does not depend on the values), bf16, sequence length 2048,
variable-length pre-tokenized data with a mean of ~550 tokens. Three variants, one process:

  trl-default   SFTTrainer defaults: no packing, padded batches of 8
  trl-packed    SFTTrainer best-fit-decreasing packing, batch 4 x 2048
  valuealign    the arguments valuealign's adapter (train.runner.training_arguments) builds
                from a GPU stage config: padding-free BFD packing (document-masked attention
                through position_ids on a fused kernel), Liger fused linear + cross-entropy
                (no 128k-vocab logits), no full activation checkpointing, batch 8 x 2048

Reported per variant: tokens/s (real tokens, padding excluded, after warm-up steps), model FLOPs
utilisation (4N FLOPs per token for LoRA against a 989 TFLOP/s bf16 peak), peak GPU memory and
the final loss (mean of the last logged steps).

Without a GPU the script says so, runs the small CPU figure instead (SmolLM2-135M, the embedded
model, sequence length 512, mean ~150 tokens) and exits 0.

    .venv/bin/python benchmarks/train_throughput.py [--steps 30] [--warmup 5] [--cpu]

Results are printed and saved to benchmarks/results/train_throughput[-cpu].json.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import random
import tempfile
import time
from pathlib import Path

PEAK_BF16 = 989e12  # H100 SXM dense bf16
_BENCH_DIR = str(Path(tempfile.gettempdir()) / "va-train-bench")  # scratch output of the trainers


def synthetic(n: int, mean: int, max_len: int, vocab: int, seed: int = 0) -> list[dict]:
    """Pre-tokenized rows with log-normal lengths (mean ~``mean``), clipped to [16, max_len]."""
    rng = random.Random(seed)
    sigma = 0.8
    mu = math.log(mean) - sigma**2 / 2
    rows = []
    for _ in range(n):
        length = int(min(max_len, max(16, rng.lognormvariate(mu, sigma))))
        rows.append({"input_ids": [rng.randrange(3, vocab) for _ in range(length)]})
    return rows


class Meter:
    """Times the steps after warm-up and counts the real tokens they trained on."""

    def __init__(self, warmup: int) -> None:
        from transformers import TrainerCallback

        meter = self

        class CB(TrainerCallback):
            def on_log(self, args, state, control, logs=None, **kw):
                if logs and "num_tokens" in logs:
                    meter.points.append(
                        (state.global_step, time.perf_counter(), logs["num_tokens"])
                    )
                if logs and "loss" in logs:
                    meter.losses.append(float(logs["loss"]))

        self.warmup = warmup
        self.points: list[tuple[int, float, float]] = []
        self.losses: list[float] = []
        self.callback = CB()

    def tokens_per_second(self) -> float:
        pts = [p for p in self.points if p[0] >= self.warmup]
        (_, t0, n0), (_, t1, n1) = pts[0], pts[-1]
        return (n1 - n0) / (t1 - t0)


def run_variant(name, model_fn, tokenizer, rows, args_kwargs, *, steps, warmup, n_params, gpu):
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from trl import SFTConfig, SFTTrainer

    if gpu:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    meter = Meter(warmup)
    args = args_kwargs if not isinstance(args_kwargs, dict) else SFTConfig(**args_kwargs)
    args.max_steps = steps
    args.logging_steps = 1
    args.save_strategy = "no"
    args.report_to = []
    trainer = SFTTrainer(
        model=model_fn(),
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=LoraConfig(
            r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM"
        ),
        callbacks=[meter.callback],
    )
    trainer.train()
    tps = meter.tokens_per_second()
    result = {
        "variant": name,
        "tokens_per_s": round(tps, 1),
        "final_loss": round(sum(meter.losses[-5:]) / len(meter.losses[-5:]), 4),
        "batch": args.per_device_train_batch_size,
        "packing": bool(args.packing),
        "padding_free": bool(getattr(args, "padding_free", False)),
        "liger": bool(args.use_liger_kernel),
    }
    if gpu:
        result["mfu"] = round(tps * 4 * n_params / PEAK_BF16, 4)
        result["peak_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    print(json.dumps(result), flush=True)
    del trainer
    return result


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--warmup", type=int, default=None)
    ap.add_argument("--cpu", action="store_true", help="the small CPU figure even with a GPU")
    opts = ap.parse_args()

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig

    from valuealign.train.config import SFTStageConfig
    from valuealign.train.runner import model_folder, training_arguments

    gpu = torch.cuda.is_available() and not opts.cpu
    tok_folder = model_folder("hf/smollm2-135m-instruct")
    tokenizer = AutoTokenizer.from_pretrained(str(tok_folder))
    tokenizer.pad_token = tokenizer.pad_token or tokenizer.eos_token
    if gpu:
        steps, warmup = opts.steps or 30, opts.warmup or 5
        seq_len, mean, vocab = 2048, 550, 128256
        config = LlamaConfig(
            hidden_size=4096,
            intermediate_size=14336,
            num_hidden_layers=32,
            num_attention_heads=32,
            num_key_value_heads=8,
            vocab_size=vocab,
            max_position_embeddings=8192,
            rope_theta=500000.0,
            tie_word_embeddings=False,
        )

        def model_fn():
            torch.manual_seed(0)
            return AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16).cuda()

        precision = {"bf16": True, "fp16": False, "use_cpu": False}
        machine = torch.cuda.get_device_name(0)
    else:
        if not opts.cpu:
            print("no CUDA GPU here: skipping the 8B GPU benchmark; running the 135M CPU figure")
        steps, warmup = opts.steps or 8, opts.warmup or 2
        seq_len, mean, vocab = 512, 150, 49152
        folder = tok_folder

        def model_fn():
            return AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32)

        precision = {"bf16": False, "fp16": False, "use_cpu": True}
        machine = f"{platform.machine()} CPU, {torch.get_num_threads()} threads"
    probe = model_fn()
    n_params = sum(p.numel() for p in probe.parameters())
    del probe
    batch_default, batch_packed, batch_ours = (8, 4, 8) if gpu else (8, 2, 4)
    rows = synthetic(max(steps * batch_default * 4, 2000 if gpu else 400), mean, seq_len, vocab)
    common = {
        "output_dir": _BENCH_DIR,
        "max_length": seq_len,
        "learning_rate": 1e-4,
        "activation_checkpointing": False,
        "dataloader_num_workers": 0,
        **precision,
    }
    results = [
        run_variant(
            "trl-default",
            model_fn,
            tokenizer,
            rows,
            {**common, "per_device_train_batch_size": batch_default},
            steps=steps,
            warmup=warmup,
            n_params=n_params,
            gpu=gpu,
        ),
        run_variant(
            "trl-packed",
            model_fn,
            tokenizer,
            rows,
            {**common, "per_device_train_batch_size": batch_packed, "packing": True},
            steps=steps,
            warmup=warmup,
            n_params=n_params,
            gpu=gpu,
        ),
    ]
    import importlib.util

    liger = gpu and importlib.util.find_spec("liger_kernel") is not None
    cfg = SFTStageConfig(
        model="hf/bench",
        data=["unused"],
        out=_BENCH_DIR,
        seq_len=seq_len,
        batch_size=batch_ours,
        packing=True,
        learning_rate=1e-4,
        precision="auto",
        liger_kernel=liger,
        attn_implementation=None,
        lora={"enabled": True},
    )
    ours = training_arguments(cfg, has_eval=False, extra={"padding_free": True})
    results.append(
        run_variant(
            "valuealign",
            model_fn,
            tokenizer,
            rows,
            ours,
            steps=steps,
            warmup=warmup,
            n_params=n_params,
            gpu=gpu,
        )
    )
    packed = results[1]["tokens_per_s"]
    summary = {
        "machine": machine,
        "gpu": gpu,
        "model_params": n_params,
        "seq_len": seq_len,
        "mean_tokens": mean,
        "steps": steps,
        "warmup_steps": warmup,
        "results": results,
        "speedup_vs_trl_packed": round(results[2]["tokens_per_s"] / packed, 3),
        "speedup_vs_trl_default": round(results[2]["tokens_per_s"] / results[0]["tokens_per_s"], 3),
        "notes": [] if liger or not gpu else ["liger-kernel not installed: fused CE not used"],
    }
    print(json.dumps(summary, indent=2))
    out = (
        Path(__file__).parent
        / "results"
        / ("train_throughput.json" if gpu else "train_throughput-cpu.json")
    )
    out.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"saved {out}")


if __name__ == "__main__":
    main()
