"""Fake backends that are real, addressable providers: ``mock/<name>``.

Tests, docs and the CLI use them exactly like a real model. ``ScriptedBackend`` replays a queue
of replies; ``FunctionBackend`` calls a function of the messages. Register one under a name and
``get_backend("mock/<name>")`` finds it.

>>> register_mock("critic", ScriptedBackend(['{"overall": 5}']))
>>> get_backend("mock/critic")
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Iterable

from valuealign.backends._types import Completion, GenerateConfig, Message
from valuealign.errors import BackendError, UserError

Reply = str | Completion | Exception


def _as_completion(reply: Reply, name: str) -> Completion:
    if isinstance(reply, Exception):
        raise reply
    if isinstance(reply, Completion):
        return reply
    return Completion(
        text=reply,
        finish_reason="stop",
        completion_tokens=len(reply.split()),
        model=name,
    )


class ScriptedBackend:
    """Answers with the next reply of a queue; an ``Exception`` in the queue is raised."""

    supports_logprobs = False

    def __init__(self, replies: Iterable[Reply] = (), name: str = "mock/scripted") -> None:
        self.name = name
        self.replies: deque[Reply] = deque(replies)
        self.calls: list[tuple[list[Message], GenerateConfig]] = []

    def enqueue(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    async def generate(self, messages: list[Message], config: GenerateConfig) -> Completion:
        self.calls.append((messages, config))
        if not self.replies:
            raise BackendError("scripted backend has no replies left", backend=self.name)
        return _as_completion(self.replies.popleft(), self.name)


class FunctionBackend:
    """Answers with ``fn(messages, config)``; ``fn`` may be sync or async."""

    supports_logprobs = False

    def __init__(
        self,
        fn: Callable[[list[Message], GenerateConfig], Reply | Awaitable[Reply]],
        name: str = "mock/function",
    ) -> None:
        self.name = name
        self.fn = fn
        self.calls = 0

    async def generate(self, messages: list[Message], config: GenerateConfig) -> Completion:
        self.calls += 1
        result = self.fn(messages, config)
        if asyncio.iscoroutine(result):
            result = await result
        return _as_completion(result, self.name)  # type: ignore[arg-type]


def _echo(messages: list[Message], config: GenerateConfig) -> str:
    last = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
    return " ".join(last.split(" ")[: config.max_tokens])


_REGISTRY: dict[str, Callable[[], object]] = {
    "echo": lambda: FunctionBackend(_echo, name="mock/echo"),
}


def register_mock(name: str, backend: object) -> None:
    """Make ``backend`` reachable as ``mock/<name>`` (the same object every time)."""
    _REGISTRY[name] = lambda: backend


def unregister_mock(name: str) -> None:
    _REGISTRY.pop(name, None)


def make_mock(name: str) -> object:
    if name not in _REGISTRY:
        raise UserError(
            f"unknown mock backend 'mock/{name}'",
            fix=f"use one of: {', '.join('mock/' + n for n in sorted(_REGISTRY))}, or register_mock() it",
        )
    return _REGISTRY[name]()
