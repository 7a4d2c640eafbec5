"""What the two local backends (``hf/`` transformers, ``ct2/`` CTranslate2) share.

Both hold a tokenizer loaded from the same transformers folder, render chat messages with its
chat template (or a Q/A transcript for base models), gather concurrent ``generate`` calls into
batches, and load one model at a time in the whole process (:data:`LOAD_LOCK`). A subclass
loads its weights in ``load()``, runs a batch in ``generate_batch()`` and scores text in
``token_logprobs()``; it frees its weights in ``_release()``.
"""

from __future__ import annotations

import threading
from typing import Any

from valuealign.backends._batching import MicroBatcher
from valuealign.backends._scoring import perplexity_of, with_logprobs
from valuealign.backends._types import Completion, GenerateConfig, Message, TokenLogprob

# One load at a time in the whole process: transformers patches module-level torch functions
# while it builds a model and its lazy imports are not thread-safe, so two loads in two threads
# (two roles' models) can leave a model half-built.
LOAD_LOCK = threading.RLock()
BASE_MODEL_STOPS = ("\nQuestion:", "\n\n\n")


def render_messages(tok: Any, messages: list[Message]) -> str:
    """The prompt text: the model's chat template, or a Q/A transcript for base models."""
    if getattr(tok, "chat_template", None):
        return tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    parts = [tok.bos_token or ""]
    for m in messages:
        if m["role"] == "system":
            parts.append(m["content"].strip() + "\n\n")
        elif m["role"] == "user":
            parts.append(f"Question: {m['content'].strip()}\n")
        else:
            parts.append(f"Answer: {m['content'].strip()}\n\n")
    parts.append("Answer:")
    return "".join(parts)


def apply_stop(text: str, stop: tuple[str, ...]) -> tuple[str, bool]:
    """``text`` cut at the first stop string, and whether it was cut."""
    cut = min((text.find(s) for s in stop if s and s in text), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


class LocalBackend:
    """The accessors and the async entry point of a local model; see the module docstring."""

    supports_logprobs = True
    supports_choice_logprobs = True

    def __init__(
        self, name: str, spec: str, *, adapter: str | None = None, max_batch_size: int = 8
    ) -> None:
        self.name = name
        self.spec = spec
        self.adapter = adapter
        self.max_batch_size = max_batch_size
        self._tokenizer: Any = None
        self._batcher = MicroBatcher(
            with_logprobs(self), max_batch_size=max_batch_size, name=self.name
        )
        self.load_seconds: float | None = None

    def load(self) -> None:
        raise NotImplementedError

    def token_logprobs(
        self, text: str, context: list[Message] | str | None = None
    ) -> list[TokenLogprob]:
        raise NotImplementedError

    def _release(self) -> None:
        """Drop the model's weights (the tokenizer is dropped by :meth:`close`)."""
        raise NotImplementedError

    def close(self) -> None:
        """Free the model's memory now (the demo loads models one at a time)."""
        with LOAD_LOCK:
            self._release()
            self._tokenizer = None

    @property
    def tokenizer(self) -> Any:
        self.load()
        return self._tokenizer

    @property
    def is_chat_model(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))

    def render(self, messages: list[Message]) -> str:
        return render_messages(self.tokenizer, messages)

    async def generate(self, messages: list[Message], config: GenerateConfig) -> Completion:
        return await self._batcher.submit(messages, config)

    def perplexity(self, text: str, context: list[Message] | str | None = None) -> float:
        return perplexity_of(self.token_logprobs(text, context))
