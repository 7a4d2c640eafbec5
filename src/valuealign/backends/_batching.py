"""Gather concurrent ``generate`` calls into batches for a local model.

A local backend (transformers, CTranslate2) runs one batch at a time in a worker thread; an
async pipeline that fires many requests at once gets batched generation for free. Requests are
batched only with others that share their sampling settings.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from valuealign.backends._types import Completion, GenerateConfig, Message
from valuealign.errors import BackendError, UserError

RunBatch = Callable[[list[list[Message]], GenerateConfig], list[Completion]]

# Seen by the worker thread of the batch being run (asyncio.to_thread copies the context):
# STOP is set when the waiting task is cancelled (Ctrl-C), so a local model can stop between
# tokens; ROW_DONE(i, completion) hands back row i as soon as it is finished, so callers (and
# progress bars) move before the whole batch ends.
STOP: ContextVar[threading.Event | None] = ContextVar("valuealign_batch_stop", default=None)
ROW_DONE: ContextVar[Callable[[int, Completion], None] | None] = ContextVar(
    "valuealign_batch_row_done", default=None
)


@dataclass
class _Pending:
    messages: list[Message]
    config: GenerateConfig
    future: asyncio.Future = field(repr=False)


def _settle_soon(
    loop: asyncio.AbstractEventLoop, batch: list[_Pending], i: int, completion: Completion
) -> None:
    """From the worker thread: resolve row ``i`` of ``batch`` on the loop's thread."""

    def settle() -> None:
        if not batch[i].future.done():
            batch[i].future.set_result(completion)

    try:
        loop.call_soon_threadsafe(settle)
    except RuntimeError:  # the loop already closed (Ctrl-C): nobody is waiting
        pass


async def _await_thread(coro: Any) -> Any:
    """Await work running in a thread, waking the event loop every 0.25 s meanwhile.

    A loop with nothing else to do blocks in ``select()``; a Ctrl-C that the kernel hands to the
    worker thread then waits until the batch ends. The periodic wake-up lets Python run its
    SIGINT handler at once, which cancels us and so stops the batch between tokens.
    """
    task = asyncio.ensure_future(coro)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=0.25)
            if done:
                return task.result()
    except asyncio.CancelledError:
        task.cancel()
        raise


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
            stop = threading.Event()

            row_done = functools.partial(_settle_soon, asyncio.get_running_loop(), batch)

            stop_token, row_token = STOP.set(stop), ROW_DONE.set(row_done)
            try:
                results = await _await_thread(
                    asyncio.to_thread(self._run_batch, [p.messages for p in batch], config)
                )
            except asyncio.CancelledError:
                stop.set()  # the thread stops at its next token instead of finishing the batch
                raise
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
            finally:
                STOP.reset(stop_token)
                ROW_DONE.reset(row_token)
            for p, r in zip(batch, results, strict=True):
                if not p.future.done():
                    p.future.set_result(r)
