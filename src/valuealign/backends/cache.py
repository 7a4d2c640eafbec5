"""A SQLite request cache: reruns are free and long jobs resume from it.

Keyed by :func:`request_key` (backend, messages, sampling settings, sample index, template
version). Only successful completions are stored: an error is never cached, so a rerun retries
it. WAL mode and a busy timeout make it safe with several writer processes; each thread gets its
own connection.

>>> backend = CachedBackend(get_backend("openai/qwen"), RequestCache("runs/r1/cache.sqlite"))
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

from valuealign.backends._types import (
    ChatBackend,
    Completion,
    GenerateConfig,
    Message,
    forward_capabilities,
    note_served,
    request_key,
)

# json.dumps(..., ensure_ascii=False) without building an encoder per stored reply
_VALUE_ENCODER = json.JSONEncoder(ensure_ascii=False)


class RequestCache:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self.hits = 0
        self.misses = 0
        with self._conn() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS completions ("
                "key TEXT PRIMARY KEY, backend TEXT NOT NULL, value TEXT NOT NULL, "
                "created_at TEXT DEFAULT CURRENT_TIMESTAMP)"
            )

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def get(self, key: str) -> Completion | None:
        row = self._conn().execute("SELECT value FROM completions WHERE key = ?", (key,)).fetchone()
        if row is None:
            self.misses += 1
            return None
        self.hits += 1
        completion = Completion.from_json(json.loads(row[0]))
        completion.cached = True
        return completion

    def put(self, key: str, backend: str, completion: Completion) -> None:
        self._conn().execute(
            "INSERT OR REPLACE INTO completions (key, backend, value) VALUES (?, ?, ?)",
            (key, backend, _VALUE_ENCODER.encode(completion.to_json())),
        )

    def __len__(self) -> int:
        return self._conn().execute("SELECT COUNT(*) FROM completions").fetchone()[0]

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


class CachedBackend:
    """Wrap a backend so identical requests are answered from a :class:`RequestCache`.

    The optional capabilities (``choice_logprobs``, ``token_logprobs``) are forwarded as they
    are, uncached: only local models have them, they are deterministic forward passes over
    weights the run already holds, and the cache stores :class:`Completion` objects keyed by
    sampling settings, which these calls do not have. Other attributes (``base_urls``,
    ``adapter``, for provenance) read through to the inner backend.
    """

    def __init__(
        self,
        inner: ChatBackend,
        cache: RequestCache,
        template_version: str = "",
        *,
        read: bool = True,
    ) -> None:
        """``read=False``: ask the backend again and overwrite the cached reply (a retry of a
        reply that could not be parsed would otherwise get the same reply back)."""
        self.read = read
        self.inner = inner
        self.cache = cache
        self.template_version = template_version
        self.name = inner.name
        self.supports_logprobs = inner.supports_logprobs
        forward_capabilities(self, inner)

    async def generate(self, messages: list[Message], config: GenerateConfig) -> Completion:
        key = request_key(self.name, messages, config, self.template_version)
        hit = self.cache.get(key) if self.read else None
        if hit is not None:
            note_served(hit)  # a cached reply keeps the server that first gave it
            return hit
        completion = await self.inner.generate(messages, config)
        self.cache.put(key, self.name, completion)
        return completion

    async def aclose(self) -> None:
        close = getattr(self.inner, "aclose", None)
        if close is not None:
            await close()

    def __getattr__(self, item: str):
        return getattr(self.inner, item)
