"""Capability drift: perplexity on general held-out text, trained model next to its base.

Alignment training can cost general ability (the "alignment tax"). After each stage the runner
measures perplexity on a short general-domain text in Chinese and in English, written for this
project and shipped in ``valuealign/data/heldout/``, for the base model and the trained one, so
the cost is visible in the manifest and the report. Lower is better; a large rise means the stage
damaged the model's general language modelling.

>>> report = drift_report(base="hf/smollm2-135m-instruct", trained="runs/train/sft")
>>> report["en"]["trained"] / report["en"]["base"]   # 1.0 = no drift
"""

from __future__ import annotations

import math
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from valuealign.lang import LANGS
from valuealign.train.config import adapter_base, model_folder

HELDOUT_LANGUAGES = LANGS


@cache
def heldout_text(language: str) -> str:
    ref = resources.files("valuealign") / "data" / "heldout" / f"general-{language}.txt"
    return ref.read_text(encoding="utf-8")


def _load_for_eval_unlocked(spec: str) -> tuple[Any, Any]:
    """A model (adapter folders are applied to their base) and its tokenizer, in eval mode."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    folder = model_folder(spec)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    if (folder / "adapter_config.json").exists() and not (folder / "config.json").exists():
        from peft import PeftModel

        base = adapter_base(folder)
        model = AutoModelForCausalLM.from_pretrained(str(model_folder(base)), dtype=dtype)
        model = PeftModel.from_pretrained(model, str(folder))
    else:
        model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=dtype)
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None:
        quantizer.remove_quantization_config(model)
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    return model.to(device).eval(), tokenizer


def perplexity(
    model: Any, tokenizer: Any, text: str, *, max_tokens: int = 2048, window: int = 512
) -> float:
    """exp(mean token NLL) over the first ``max_tokens`` tokens, in independent windows."""
    import torch

    ids = tokenizer(text, add_special_tokens=False)["input_ids"][:max_tokens]
    if len(ids) < 2:
        raise ValueError("text too short for perplexity")
    device = next(model.parameters()).device
    total_nll, total_tokens = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(ids), window):
            chunk = ids[start : start + window]
            if len(chunk) < 2:
                continue
            x = torch.tensor([chunk], device=device)
            logits = model(input_ids=x, use_cache=False).logits.float()
            logp = torch.log_softmax(logits[0, :-1], dim=-1)
            nll = -logp.gather(1, x[0, 1:, None]).sum().item()
            total_nll += nll
            total_tokens += len(chunk) - 1
    return math.exp(total_nll / total_tokens)


def drift_report(
    *,
    base: str,
    trained: str | Path,
    max_tokens: int = 2048,
    languages: tuple[str, ...] = HELDOUT_LANGUAGES,
) -> dict[str, dict[str, float]]:
    """{language: {base, trained, ratio}} perplexities on the shipped held-out text."""
    results: dict[str, dict[str, float]] = {lang: {} for lang in languages}
    for role, spec in (("base", base), ("trained", str(trained))):
        model, tok = load_for_eval(spec)
        for lang in languages:
            results[lang][role] = round(
                perplexity(model, tok, heldout_text(lang), max_tokens=max_tokens), 4
            )
        del model
    for lang in languages:
        results[lang]["ratio"] = round(results[lang]["trained"] / results[lang]["base"], 4)
    return results


def load_for_eval(spec: str) -> tuple[Any, Any]:
    """A model (adapter folders are applied to their base) and its tokenizer, in eval mode."""
    from valuealign.backends.hf import LOAD_LOCK

    with LOAD_LOCK:
        return _load_for_eval_unlocked(spec)
