"""``hf/<folder | file.gguf | embedded name>``: a local transformers model.

The embedded names need no download (see ``backends/embedded.py``): ``smollm2-135m-instruct``
(the default), ``gemma3-270m`` (a multilingual base model), ``qwen2.5-0.5b-instruct`` and
``qwen2.5-1.5b-instruct`` (Chinese and English, assembled from chunk packages). A GGUF file is dequantised once and saved as safetensors
under the cache folder (``$VALUEALIGN_CACHE``, default ``~/.cache/valuealign``), so later loads take
well under a second instead of half a minute. An optional PEFT adapter is applied on top.

Concurrent ``generate`` calls are gathered into one padded batch (a small micro-batcher), so an
async pipeline that fires many requests gets batched generation for free. ``token_logprobs``
returns the log-probability of each token of a given text under the model (for perplexity).

>>> backend = HFBackend("smollm2-135m-instruct")
>>> asyncio.run(backend.generate(user("What is the capital of France?"), GenerateConfig(max_tokens=16)))
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from valuealign.backends._batching import ROW_DONE as BATCH_ROW_DONE
from valuealign.backends._batching import STOP as BATCH_STOP
from valuealign.backends._batching import _await_thread
from valuealign.backends._filelock import file_lock
from valuealign.backends._local import BASE_MODEL_STOPS, LOAD_LOCK, LocalBackend, render_messages
from valuealign.backends._local import apply_stop as _apply_stop
from valuealign.backends._scoring import first_token_logprobs
from valuealign.backends._types import Completion, GenerateConfig, Message, TokenLogprob
from valuealign.backends.embedded import DEFAULT_EMBEDDED, MODELS, cache_root, embedded_gguf
from valuealign.errors import BackendError, MissingExtra, UserError

EMBEDDED = MODELS
__all__ = [  # LOAD_LOCK and render_messages live in _local.py, shared with ct2/
    "BASE_MODEL_STOPS",
    "LOAD_LOCK",
    "HFBackend",
    "check_model_spec",
    "render_messages",
    "require_torch",
    "resolve_model_path",
]


def require_torch(purpose: str = "local models (hf/...)") -> None:
    for mod, pkg in (("torch", "torch"), ("transformers", "transformers"), ("gguf", "gguf")):
        if importlib.util.find_spec(mod) is None:
            raise MissingExtra(pkg, "train", purpose)


def converted_folder(gguf: Path, key: str) -> Path:
    """Dequantise a GGUF file once into a safetensors folder under the cache; return it."""
    target = cache_root() / "models" / key
    if (target / "config.json").exists():
        return target
    with file_lock(target.with_name(key + ".lock")):
        if (target / "config.json").exists():
            return target
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tmp = target.with_name(key + f".tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        # float32 asks transformers to dequantise fully: a packed (quantized) model runs far
        # slower on the CPU and cannot be trained
        model = AutoModelForCausalLM.from_pretrained(
            str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
        )
        quantizer = getattr(model, "hf_quantizer", None)
        if quantizer is not None:
            quantizer.remove_quantization_config(model)
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        os.replace(tmp, target)
    return target


def check_model_spec(spec: str) -> None:
    """Raise ``UserError`` for an ``hf/`` spec that cannot be loaded, without loading it."""
    if spec in EMBEDDED:
        return
    path = Path(spec).expanduser()
    if path.suffix == ".gguf" and not path.is_file():
        raise UserError(f"{path}: GGUF file not found", fix="check the path")
    if path.suffix == ".gguf":
        return
    if path.is_dir():
        if not (path / "config.json").exists() and not (path / "adapter_config.json").exists():
            raise UserError(
                f"{path}: no config.json in this folder",
                fix="point hf/ at a saved transformers model folder",
            )
        return
    raise UserError(
        f"hf model {spec!r} is neither an embedded name, a folder nor a .gguf file",
        fix=f"use one of {', '.join('hf/' + n for n in EMBEDDED)}, hf/PATH/TO/FOLDER or hf/PATH/TO/model.gguf",
    )


def resolve_model_path(spec: str) -> Path:
    """Turn an embedded name, a folder or a .gguf file into a loadable folder."""
    check_model_spec(spec)
    if spec in EMBEDDED:
        return converted_folder(embedded_gguf(spec), spec)
    path = Path(spec).expanduser()
    if path.suffix == ".gguf":
        return converted_folder(path.resolve(), "gguf-" + path.stem)
    return path


class HFBackend(LocalBackend):
    def __init__(
        self,
        model: str = DEFAULT_EMBEDDED,
        *,
        adapter: str | None = None,
        max_batch_size: int = 8,
        device: str | None = None,
        threads: int | None = None,
    ) -> None:
        require_torch()
        check_model_spec(model)  # a bad path fails here, before a job creates its run folder
        # the adapter is part of the name, so caches and records never mix base and adapted outputs
        name = f"hf/{model}" + (f"+adapter:{adapter}" if adapter else "")
        super().__init__(name, model, adapter=adapter, max_batch_size=max_batch_size)
        self._device = device
        self._threads = threads
        self._model: Any = None
        self._run_lock = threading.Lock()

    # -- loading -------------------------------------------------------------------------
    def load(self) -> None:
        # One load at a time in the whole process: transformers patches module-level torch
        # functions while it builds a model (meta-device creation, skipped initialisation), and
        # two loads in two threads can interleave those patches and leave them in place, after
        # which later models come up with tied weights stranded on the meta device.
        with LOAD_LOCK:
            if self._model is not None:
                return
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            if self._threads:
                torch.set_num_threads(self._threads)
            start = time.perf_counter()
            folder = resolve_model_path(self.spec)
            device = self._device or ("cuda" if torch.cuda.is_available() else "cpu")
            dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
            model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=dtype)
            tokenizer = AutoTokenizer.from_pretrained(str(folder))
            if self.adapter:
                if importlib.util.find_spec("peft") is None:
                    raise MissingExtra("peft", "train", "LoRA adapters")
                from peft import PeftModel

                if not Path(self.adapter, "adapter_config.json").exists():
                    raise UserError(
                        f"{self.adapter}: no adapter_config.json",
                        fix="point --adapter at a saved PEFT adapter folder",
                    )
                model = PeftModel.from_pretrained(model, self.adapter)
            model.to(device).eval()
            tokenizer.padding_side = "left"
            if tokenizer.pad_token is None:
                tokenizer.pad_token = tokenizer.eos_token
            self._model, self._tokenizer, self.device = model, tokenizer, device
            self.load_seconds = time.perf_counter() - start

    def _release(self) -> None:
        self._model = None

    @property
    def model(self) -> Any:
        self.load()
        return self._model

    # -- generation ----------------------------------------------------------------------
    def generate_batch(
        self,
        batch: list[list[Message]],
        config: GenerateConfig,
        on_text: Callable[[str], None] | None = None,
    ) -> list[Completion]:
        """Generate for several conversations at once (left-padded, one forward per step)."""
        import torch

        self.load()
        tok, model = self._tokenizer, self._model
        prompts = [self.render(m) for m in batch]
        enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(
            self.device
        )
        kwargs: dict = {"max_new_tokens": config.max_tokens, "pad_token_id": tok.pad_token_id}
        if config.temperature > 0:
            kwargs.update(do_sample=True, temperature=config.temperature, top_p=config.top_p)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        width = enc["input_ids"].shape[1]
        eos_ids = _eos_ids(model, tok)

        def finish_row(i: int, ids: list[int]) -> Completion:
            n = len(ids)
            while n and ids[n - 1] == tok.pad_token_id and tok.pad_token_id not in eos_ids:
                n -= 1
            stopped = next((j for j, t in enumerate(ids[:n]) if t in eos_ids), None)
            text_ids = ids[:stopped] if stopped is not None else ids[:n]
            text = tok.decode(text_ids, skip_special_tokens=True)
            finish = "stop" if stopped is not None else "length"
            if finish == "length":
                text = text.rstrip("\ufffd")  # never end inside a UTF-8 sequence
            stops = config.stop if self.is_chat_model else (*config.stop, *BASE_MODEL_STOPS)
            text, cut = _apply_stop(text, stops)
            return Completion(
                text=text.strip(),
                finish_reason="stop" if cut else finish,
                prompt_tokens=int(enc["attention_mask"][i].sum()),
                completion_tokens=len(text_ids),
                model=self.name,
            )

        # between tokens: stop at once on Ctrl-C, hand back each row when it ends (not logprobs
        # rows: their log-probs are added after the batch)
        stop_event = BATCH_STOP.get()
        row_done = None if config.logprobs else BATCH_ROW_DONE.get()
        early: dict[int, Completion] = {}
        watch = _watcher(width, eos_ids, stop_event, row_done, finish_row, early)
        with self._run_lock, torch.inference_mode():
            if config.seed is not None:
                torch.manual_seed(config.seed + config.sample_index)
            streamer = _Utf8Streamer(tok, on_text) if on_text and len(batch) == 1 else None
            out = model.generate(**enc, **kwargs, stopping_criteria=watch, streamer=streamer)
        if stop_event is not None and stop_event.is_set():
            raise BackendError("interrupted", backend=self.name)
        return [early.get(i) or finish_row(i, row[width:].tolist()) for i, row in enumerate(out)]

    async def generate_streaming(
        self, messages: list[Message], config: GenerateConfig, on_text: Callable[[str], None]
    ) -> Completion:
        """One reply, its text handed to ``on_text`` piece by piece (whole characters only)."""
        import asyncio

        stop = threading.Event()
        token = BATCH_STOP.set(stop)
        try:
            work = asyncio.to_thread(self.generate_batch, [messages], config, on_text)
            return (await _await_thread(work))[0]
        except asyncio.CancelledError:
            stop.set()
            raise
        finally:
            BATCH_STOP.reset(token)

    # -- scoring -------------------------------------------------------------------------
    def choice_logprobs(
        self, messages: list[Message], prefix: str, choices: list[str]
    ) -> dict[str, float]:
        """Log-probability of each choice as the next token after ``prefix`` in the reply.

        One forward pass: the prompt, the start of the assistant's reply (``prefix``), and the
        distribution of the next token. Each choice is scored by its first token.
        """
        import torch

        self.load()
        tok, model = self._tokenizer, self._model
        ids = tok(self.render(messages) + prefix, add_special_tokens=False)["input_ids"]
        with self._run_lock, torch.inference_mode():
            logits = model(input_ids=torch.tensor([ids], device=self.device)).logits[0, -1].float()
        logp = torch.log_softmax(logits, dim=-1)
        return first_token_logprobs(tok, lambda i: float(logp[i]), choices)

    def token_logprobs(
        self, text: str, context: list[Message] | str | None = None
    ) -> list[TokenLogprob]:
        """Log-probability of each token of ``text`` given ``context`` (chat or raw prefix)."""
        import torch

        self.load()
        tok, model = self._tokenizer, self._model
        if isinstance(context, list):
            prefix = self.render(context)
        else:
            prefix = context or ""
        prefix_ids = tok(prefix, add_special_tokens=False)["input_ids"] if prefix else []
        if not prefix_ids:
            bos = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
            prefix_ids = [bos]
        text_ids = tok(text, add_special_tokens=False)["input_ids"]
        if not text_ids:
            return []
        ids = torch.tensor([prefix_ids + text_ids], device=self.device)
        with self._run_lock, torch.inference_mode():
            logits = model(input_ids=ids).logits[0, len(prefix_ids) - 1 : -1].float()
        logp = torch.log_softmax(logits, dim=-1)
        target = torch.tensor(text_ids, device=self.device)
        values = logp.gather(1, target[:, None])[:, 0].tolist()
        return [
            TokenLogprob(token=tok.decode([t]), logprob=v)
            for t, v in zip(text_ids, values, strict=True)
        ]


def _eos_ids(model: Any, tok: Any) -> set[int]:
    ids: set[int] = set()
    cfg = getattr(model, "generation_config", None)
    eos = getattr(cfg, "eos_token_id", None)
    if isinstance(eos, int):
        ids.add(eos)
    elif eos:
        ids.update(eos)
    if tok.eos_token_id is not None:
        ids.add(tok.eos_token_id)
    return ids


def _watcher(width, eos_ids, stop_event, row_done, finish_row, early):  # type: ignore[no-untyped-def]
    """A stopping criterion that checks the Ctrl-C event and reports finished rows."""
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    class Watch(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):  # type: ignore[no-untyped-def]
            n = input_ids.shape[0]
            if stop_event is not None and stop_event.is_set():
                return torch.ones(n, dtype=torch.bool, device=input_ids.device)
            if row_done is not None:
                last = input_ids[:, -1].tolist()
                for i, token in enumerate(last):
                    if token in eos_ids and i not in early:
                        early[i] = finish_row(i, input_ids[i, width:].tolist())
                        row_done(i, early[i])
            return torch.zeros(n, dtype=torch.bool, device=input_ids.device)

    return StoppingCriteriaList([Watch()])


class _Utf8Streamer:
    """A ``generate`` streamer that hands out new text, never half a character.

    A token can end inside a multi-byte UTF-8 character (common in Chinese); the decoded text then
    ends in U+FFFD until the next token completes it, so that tail is held back.
    """

    def __init__(self, tokenizer: Any, on_text: Callable[[str], None]) -> None:
        self.tokenizer = tokenizer
        self.on_text = on_text
        self.ids: list[int] = []
        self.shown = 0
        self.prompt_seen = False

    def put(self, value: Any) -> None:
        if not self.prompt_seen:  # the first call carries the prompt
            self.prompt_seen = True
            return
        self.ids.extend(value.reshape(-1).tolist())
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True).rstrip("\ufffd")
        if len(text) > self.shown:
            self.on_text(text[self.shown :])
            self.shown = len(text)

    def end(self) -> None:
        pass
