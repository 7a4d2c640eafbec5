"""``ct2/<embedded name | folder | file.gguf>``: the same local weights, served by CTranslate2.

transformers runs a dequantised model in float32 on the CPU; CTranslate2 runs it with int8
weights and fused kernels, which on 2 CPU cores is several times faster for the Qwen models (see
``benchmarks/local_speed.py``). The model is converted once, from the same transformers folder
that ``hf/`` loads (embedded GGUF dequantised, a trained and merged model, any saved folder),
into ``$VALUEALIGN_CACHE/ct2/`` and reused. Chat templates and tokenisation come from the
transformers tokenizer, so ``hf/X`` and ``ct2/X`` see the same prompt tokens.

Use ``hf/`` to train, to apply a PEFT adapter without merging, and for exact float32
log-probabilities; use ``ct2/`` for the Attacker, Critic, judge and evaluation of any model whose
weights are merged. Concurrent ``generate`` calls are gathered into batches.

>>> backend = CT2Backend("qwen2.5-0.5b-instruct")
>>> asyncio.run(backend.generate(user("台湾的首府是哪座城市？"), GenerateConfig(max_tokens=32)))
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from valuealign.backends._filelock import file_lock
from valuealign.backends._local import BASE_MODEL_STOPS, LOAD_LOCK, LocalBackend, apply_stop
from valuealign.backends._scoring import first_token_logprobs
from valuealign.backends._types import Completion, GenerateConfig, Message, TokenLogprob
from valuealign.backends.embedded import DEFAULT_EMBEDDED, MODELS, cache_root
from valuealign.errors import MissingExtra, UserError

COMPUTE_TYPE = "int8"
MIN_PREFIX_TOKENS = 64  # shorter shared prefixes are not worth a separate call
PREFIX_CACHE_TOKENS = 8192  # kept prefix tokens per model (1.5B: 57 kB each in float32, 0.47 GB)
CONVERTER_VERSION = "1"  # bump when the conversion recipe changes


def require_ct2() -> None:
    if importlib.util.find_spec("ctranslate2") is None:
        raise MissingExtra("ctranslate2", "train", "fast local inference (ct2/...)")


def _folder_key(folder: Path) -> str:
    """A cache key that changes when a model folder's weights change (e.g. retrained)."""
    h = hashlib.sha256(str(folder.resolve()).encode())
    for f in [*sorted(folder.glob("*.safetensors")), folder / "config.json"]:
        if f.exists():
            st = f.stat()
            h.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return f"{folder.name}-{h.hexdigest()[:16]}"


def converted_ct2(spec: str) -> tuple[Path, Path]:
    """(CTranslate2 model folder, transformers folder) of a model spec, converting once."""
    from valuealign.backends.hf import resolve_model_path

    hf_folder = resolve_model_path(spec)
    if not (hf_folder / "config.json").exists():
        raise UserError(
            f"{hf_folder}: ct2/ needs a full model folder (an adapter alone cannot be converted)",
            fix="merge the adapter first (train with merge: true) or use hf/ with --adapter",
        )
    key = (
        spec if spec in MODELS else _folder_key(hf_folder)
    ) + f"-{COMPUTE_TYPE}-v{CONVERTER_VERSION}"
    target = cache_root() / "ct2" / key
    if (target / "model.bin").exists():
        return target, hf_folder
    with file_lock(target.with_name(key + ".lock")):
        if (target / "model.bin").exists():
            return target, hf_folder
        import ctranslate2

        tmp = target.with_name(key + f".tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            converter = ctranslate2.converters.TransformersConverter(
                str(hf_folder), low_cpu_mem_usage=True
            )
            converter.convert(str(tmp), quantization=COMPUTE_TYPE, force=True)
            os.replace(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target, hf_folder


class CT2Backend(LocalBackend):
    def __init__(
        self,
        model: str = DEFAULT_EMBEDDED,
        *,
        adapter: str | None = None,
        max_batch_size: int = 8,
        threads: int | None = None,
        device: str | None = None,
        prefix_cache_tokens: int = PREFIX_CACHE_TOKENS,
    ) -> None:
        require_ct2()
        if adapter:
            raise UserError(
                "ct2/ models cannot apply a PEFT adapter at run time",
                fix="merge the adapter into the model (train ... merge: true) and point ct2/ at "
                "the merged folder, or use hf/ with --adapter",
            )
        super().__init__(f"ct2/{model}", model, max_batch_size=max_batch_size)
        self._threads = threads or min(os.cpu_count() or 1, 8)
        self._device = device or "cpu"
        self._generator: Any = None
        self._lock = threading.Lock()
        self.prefix_cache_tokens = prefix_cache_tokens
        self._kept_prefixes: set[tuple[str, ...]] = set()
        self._kept_tokens = 0
        self.prefix_hits = 0

    # -- loading -------------------------------------------------------------------------
    def load(self) -> None:
        # one load at a time in the whole process: transformers' lazy imports are not safe when
        # two threads import it at once (two roles' models load in two worker threads)
        with LOAD_LOCK:
            if self._generator is not None:
                return
            import ctranslate2
            from transformers import AutoTokenizer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            start = time.perf_counter()
            ct2_folder, hf_folder = converted_ct2(self.spec)
            self._tokenizer = AutoTokenizer.from_pretrained(str(hf_folder))
            self._generator = ctranslate2.Generator(
                str(ct2_folder),
                device=self._device,
                compute_type=COMPUTE_TYPE,
                intra_threads=self._threads,
            )
            self._eos = _eos_tokens(self._tokenizer, hf_folder)
            self.load_seconds = time.perf_counter() - start

    def _release(self) -> None:
        self._generator = None
        self._kept_prefixes.clear()
        self._kept_tokens = 0

    def _tokens(self, text: str) -> list[str]:
        tok = self.tokenizer
        return tok.convert_ids_to_tokens(tok(text, add_special_tokens=False)["input_ids"])

    def _prompt_tokens(self, messages: list[Message], rendered: str | None = None) -> list[str]:
        tokens = self._tokens(self.render(messages) if rendered is None else rendered)
        if not tokens:
            bos = self.tokenizer.bos_token or self.tokenizer.eos_token
            tokens = [bos]
        return tokens

    # -- generation ----------------------------------------------------------------------
    def generate_batch(
        self, batch: list[list[Message]], config: GenerateConfig
    ) -> list[Completion]:
        self.load()
        rendered = [self.render(m) for m in batch]
        prompts = [self._prompt_tokens(m, r) for m, r in zip(batch, rendered, strict=True)]
        statics = [
            self._static_prefix(m, p, config.prefix_chars, r)
            for m, p, r in zip(batch, prompts, rendered, strict=True)
        ]
        kwargs: dict[str, Any] = {
            "max_length": config.max_tokens,
            "include_prompt_in_result": False,
            "end_token": self._eos,
            "max_batch_size": self.max_batch_size,
        }
        if config.temperature > 0:
            kwargs.update(
                sampling_topk=0,
                sampling_temperature=config.temperature,
                sampling_topp=config.top_p,
            )
        else:
            kwargs.update(sampling_topk=1)
        with self._lock:
            if config.temperature > 0 and config.seed is not None:
                import ctranslate2

                ctranslate2.set_random_seed(config.seed + config.sample_index)
            results = self._generate_grouped(prompts, statics, kwargs)
        tok = self._tokenizer
        stops = config.stop if self.is_chat_model else (*config.stop, *BASE_MODEL_STOPS)
        out = []
        for prompt, res in zip(prompts, results, strict=True):
            ids = res.sequences_ids[0]
            text = tok.decode(ids, skip_special_tokens=True)
            finish = "length" if len(ids) >= config.max_tokens else "stop"
            text, cut = apply_stop(text, stops)
            out.append(
                Completion(
                    text=text.strip(),
                    finish_reason="stop" if cut else finish,
                    prompt_tokens=len(prompt),
                    completion_tokens=len(ids),
                    model=self.name,
                )
            )
        return out

    # -- prompt-prefix cache ---------------------------------------------------------------
    def _static_prefix(
        self,
        messages: list[Message],
        tokens: list[str],
        prefix_chars: int,
        rendered: str | None = None,
    ) -> int:
        """How many leading prompt tokens are the shared prefix the caller declared (0: none).

        The prefix is cut on the full prompt's own tokens (the longest run on which the full
        prompt and the prefix alone tokenise alike), so a cached prefix is exactly the tokens a
        full prompt would have had there.
        """
        if prefix_chars <= 0 or not messages:
            return 0
        if rendered is None:
            rendered = self.render(messages)
        start = rendered.rfind(messages[-1]["content"])
        if start < 0:
            return 0
        head = self._tokens(rendered[: start + prefix_chars])
        k = 0
        for a, b in zip(head, tokens, strict=False):
            if a != b:
                break
            k += 1
        # at least one token must remain for the generator to start from
        k = min(k, len(tokens) - 1)
        return k if k >= MIN_PREFIX_TOKENS else 0

    def _generate_grouped(
        self, prompts: list[list[str]], statics: list[int], kwargs: dict[str, Any]
    ) -> list[Any]:
        """Run a batch, one generator call per distinct shared prefix (CTranslate2 takes one
        ``static_prompt`` per call and keeps its computed state for the next call with it).

        The kept states are bounded by ``prefix_cache_tokens`` in all; past it, prefixes are
        still computed once per call but no longer kept.
        """
        groups: dict[tuple[str, ...], list[int]] = {}
        for i, (p, k) in enumerate(zip(prompts, statics, strict=True)):
            groups.setdefault(tuple(p[:k]), []).append(i)
        results: list[Any] = [None] * len(prompts)
        for static, rows in groups.items():
            call = dict(kwargs)
            k = len(static)
            if k:
                hit = static in self._kept_prefixes  # its state was kept by an earlier call
                keep = hit or self._kept_tokens + k <= self.prefix_cache_tokens
                if keep and not hit:
                    self._kept_prefixes.add(static)
                    self._kept_tokens += k
                call.update(static_prompt=list(static), cache_static_prompt=keep)
                self.prefix_hits += hit
            out = self._generator.generate_batch([prompts[i][k:] for i in rows], **call)
            for i, r in zip(rows, out, strict=True):
                results[i] = r
        return results

    # -- scoring -------------------------------------------------------------------------
    def choice_logprobs(
        self, messages: list[Message], prefix: str, choices: list[str]
    ) -> dict[str, float]:
        """Log-probability of each choice as the next token after ``prefix`` in the reply."""
        import numpy as np

        self.load()
        tokens = self._tokens(self.render(messages) + prefix)
        # one decoding step that returns only the next token's logits (forward_batch would
        # return every position's, prompt length x vocabulary)
        with self._lock:
            (res,) = self._generator.generate_batch(
                [tokens],
                max_length=1,
                return_logits_vocab=True,
                include_prompt_in_result=False,
                sampling_topk=1,
            )
        row = np.asarray(res.logits[0]).reshape(-1).astype(np.float64)
        logp = row - (row.max() + math.log(np.exp(row - row.max()).sum()))
        tok = self._tokenizer
        return first_token_logprobs(tok, lambda i: float(logp[i]), choices)

    def token_logprobs(
        self, text: str, context: list[Message] | str | None = None
    ) -> list[TokenLogprob]:
        """Log-probability of each token of ``text`` given ``context`` (chat or raw prefix)."""
        self.load()
        prefix = self.render(context) if isinstance(context, list) else (context or "")
        prefix_tokens = self._tokens(prefix) if prefix else []
        if not prefix_tokens:
            prefix_tokens = [self._tokenizer.bos_token or self._tokenizer.eos_token]
        text_tokens = self._tokens(text)
        if not text_tokens:
            return []
        with self._lock:
            (res,) = self._generator.score_batch([prefix_tokens + text_tokens])
        values = list(res.log_probs)[-len(text_tokens) :]
        tok = self._tokenizer
        return [
            TokenLogprob(token=tok.convert_tokens_to_string([t]), logprob=float(v))
            for t, v in zip(text_tokens, values, strict=True)
        ]


def _eos_tokens(tok: Any, folder: Path) -> list[str]:
    import json

    ids: set[int] = set()
    if tok.eos_token_id is not None:
        ids.add(tok.eos_token_id)
    gen = folder / "generation_config.json"
    if gen.exists():
        eos = json.loads(gen.read_text()).get("eos_token_id")
        ids.update([eos] if isinstance(eos, int) else (eos or []))
    for special in ("<|im_end|>", "<|endoftext|>"):
        tid = tok.convert_tokens_to_ids(special)
        if isinstance(tid, int) and tid != tok.unk_token_id and tid is not None:
            ids.add(tid)
    return tok.convert_ids_to_tokens(sorted(ids))
