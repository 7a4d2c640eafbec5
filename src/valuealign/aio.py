"""Sync entry points over async jobs, safe to call from a notebook.

Every long job has an ``async`` variant (``arun_eval``, ``agenerate``, ``arun_consensus``,
``arun_rewrite``, ...). The sync one checks for a running event loop *before* it touches a
file: inside Jupyter it raises a :class:`UserError` that names the ``await`` form to use.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from valuealign.errors import UserError

T = TypeVar("T")


def ensure_no_running_loop(sync_name: str, async_name: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise UserError(
        f"{sync_name}() cannot run inside a running event loop (Jupyter, an async app); "
        "nothing was written",
        fix=f"use `await {async_name}(...)` with the same arguments",
    )


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` for a coroutine made after :func:`ensure_no_running_loop` passed."""
    return asyncio.run(coro)
