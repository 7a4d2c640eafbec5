"""Gather concurrent ``generate`` calls into batches for a local model.

A local backend (transformers, CTranslate2) runs one batch at a time in a worker thread; an
async pipeline that fires many requests at once gets batched generation for free. Requests are
batched only with others that share their sampling settings.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from valuealign.backends._types import Completion, GenerateConfig, Message
from valuealign.errors import BackendError, UserError

RunBatch = Callable[[list[list[Message]], GenerateConfig], list[Completion]]


@dataclass
class _Pending:
    messages: list[Message]
    config: GenerateConfig
    future: asyncio.Future = field(repr=False)


class MicroBatcher:
    def __init__(self, run_batch: RunBatch, *, max_batch_size: int, name: str) -> None:
        self._run_batch = run_batch
        self.max_batch_size = max_batch_size
        self._name = name
        self._pending: list[_Pending] = []
        self._worker: asyncio.Task | None = None

    async def submit(self, messages: list[Message], config: GenerateConfig) -> Completion:
        loop = asyncio.get_running_loop()
        item = _Pending(messages, config, loop.create_future())
        self._pending.append(item)
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._drain())
        return await item.future

    async def _drain(self) -> None:
        await asyncio.sleep(0)  # let concurrent callers enqueue first
        while self._pending:
            config = self._pending[0].config
            batch = [p for p in self._pending if p.config == config][: self.max_batch_size]
            for p in batch:
                self._pending.remove(p)
            try:
                results = await asyncio.to_thread(
                    self._run_batch, [p.messages for p in batch], config
                )
            except Exception as e:
                err = (
                    e
                    if isinstance(e, (UserError, BackendError))
                    else BackendError(f"{type(e).__name__}: {e}", backend=self._name)
                )
                for p in batch:
                    if not p.future.done():
                        p.future.set_exception(err)
                continue
            for p, r in zip(batch, results, strict=True):
                if not p.future.done():
                    p.future.set_result(r)
