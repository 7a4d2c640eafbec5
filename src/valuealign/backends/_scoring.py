"""Scoring helpers shared by the local backends (transformers and CTranslate2)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from valuealign.backends._types import Completion, GenerateConfig, Message, TokenLogprob
from valuealign.errors import UserError


def first_token_logprobs(
    tokenizer: Any, logprob_of: Callable[[int], float], choices: list[str]
) -> dict[str, float]:
    """Each choice scored by the log-probability of its first token."""
    out: dict[str, float] = {}
    for choice in choices:
        first = tokenizer(choice, add_special_tokens=False)["input_ids"][:1]
        if not first:
            raise UserError(f"choice {choice!r} has no tokens", fix="pass non-empty choices")
        out[choice] = float(logprob_of(first[0]))
    return out


def perplexity_of(logprobs: list[TokenLogprob]) -> float:
    if not logprobs:
        raise UserError("cannot compute perplexity of empty text", fix="pass non-empty text")
    return math.exp(-sum(t.logprob for t in logprobs) / len(logprobs))


def with_logprobs(
    backend: Any,
) -> Callable[[list[list[Message]], GenerateConfig], list[Completion]]:
    """A batch runner over ``backend.generate_batch`` (looked up at call time) that adds each
    reply's token log-probabilities when the config asks for them."""

    def run(batch: list[list[Message]], config: GenerateConfig) -> list[Completion]:
        results = backend.generate_batch(batch, config)
        if config.logprobs:
            for messages, r in zip(batch, results, strict=True):
                r.logprobs = backend.token_logprobs(r.text, messages)
        return results

    return run
