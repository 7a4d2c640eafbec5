"""A lean JSON-over-HTTP client for chat completions: aiohttp for the transport, orjson for the
bodies.

The openai SDK spends about a millisecond of CPU per request (request options, header building,
its httpx-shaped wrappers around the transport, response models); on a small machine that, not
the server, caps how many requests a run keeps in flight. A chat completion is one POST of a
JSON body that returns a JSON body, so this module does only that and leaves every decision
(retry, backoff, ``Retry-After``, replica choice, error text) to the backend that uses it.

Failures come out as three exception types the caller maps to its own errors:
:class:`HTTPStatusError` (a non-2xx answer, with its headers and body), :class:`HTTPTimeout`
(no connection, or no data for ``timeout`` seconds) and :class:`HTTPConnectionError` (refused,
reset or dropped connections, a truncated body). A 2xx body that is not JSON raises
``ValueError``.

``stream`` is the same POST for a streamed reply (``"stream": true``): it yields the JSON of
each server-sent event as it arrives. The body is split into lines as bytes and each line
decoded whole, so a character whose UTF-8 bytes the network delivered in two pieces is never
decoded in halves.

>>> client = JSONClient("http://127.0.0.1:8000/v1", api_key="sk-...", timeout=60)
>>> data = await client.post("/chat/completions", b'{"model": "m", "messages": []}')
>>> async for event in client.stream("/chat/completions", b'{"model": "m", "stream": true}'):
...     print(event["choices"][0]["delta"].get("content", ""), end="")
>>> await client.close()
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from valuealign.errors import MissingExtra


class HTTPStatusError(Exception):
    def __init__(self, status: int, headers: Any, body: str) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        super().__init__(f"Error code: {status} - {body}")


class HTTPTimeout(Exception):
    pass


class HTTPConnectionError(Exception):
    pass


def require_http_libs() -> tuple[Any, Any]:
    try:
        import aiohttp
    except ImportError:  # pragma: no cover - aiohttp comes with openai[aiohttp], a core dependency
        raise MissingExtra("aiohttp", "all", "the openai backend") from None
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson is a core dependency
        raise MissingExtra("orjson", "all", "the openai backend") from None
    return aiohttp, orjson


def dumps(obj: object) -> bytes:
    """JSON bytes (UTF-8, non-ASCII kept as is)."""
    return require_http_libs()[1].dumps(obj)


def _env_proxy(url: str) -> str | None:
    """The proxy that ``HTTP_PROXY`` / ``HTTPS_PROXY`` / ``NO_PROXY`` name for ``url`` (as httpx
    and the SDK honour them), looked up once rather than per request."""
    import urllib.request
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return urllib.request.getproxies().get(parts.scheme)


class JSONClient:
    """POST JSON to one base URL; one connection pool per client, created in the running loop."""

    def __init__(self, base_url: str, *, api_key: str, timeout: float, limit: int = 0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._api_key = api_key
        self._limit = limit
        self._session: Any = None
        self._proxy = _env_proxy(self.base_url)

    def __repr__(self) -> str:  # never show the key
        return f"JSONClient({self.base_url!r})"

    def _open(self) -> Any:
        aiohttp, _ = require_http_libs()
        # plain http needs no TLS context (building the default one costs ~0.2 s of CPU)
        tls = self.base_url.startswith("https://")
        connector = aiohttp.TCPConnector(
            limit=self._limit, limit_per_host=0, ttl_dns_cache=300, ssl=tls
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            # like the SDK's httpx timeout: a limit on connecting and on each wait for data,
            # not on the whole exchange
            timeout=aiohttp.ClientTimeout(
                total=None, sock_connect=self.timeout, sock_read=self.timeout
            ),
            headers={
                "Authorization": f"Bearer {self._api_key}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
            # bodies are parsed here with orjson; status codes are checked here
            raise_for_status=False,
        )
        return self._session

    async def post(self, path: str, body: bytes) -> object:
        aiohttp, orjson = require_http_libs()
        session = self._session or self._open()
        try:
            async with session.post(self.base_url + path, data=body, proxy=self._proxy) as response:
                raw = await response.read()
                if response.status >= 300:
                    text = raw.decode("utf-8", errors="replace")
                    raise HTTPStatusError(response.status, response.headers, text)
        except (TimeoutError, aiohttp.ServerTimeoutError) as e:
            raise HTTPTimeout(str(e) or "timed out") from None
        except aiohttp.ClientError as e:
            raise HTTPConnectionError(f"{type(e).__name__}: {e}") from None
        return orjson.loads(raw)

    async def stream(self, path: str, body: bytes) -> AsyncIterator[Any]:
        """POST ``body`` and yield the JSON payload of each server-sent event (``data: ...``)
        until ``data: [DONE]`` or the end of the body. A server that answers with plain JSON
        instead of an event stream yields that one object."""
        aiohttp, _ = require_http_libs()
        session = self._session or self._open()
        try:
            async with session.post(
                self.base_url + path,
                data=body,
                proxy=self._proxy,
                headers={"Accept": "text/event-stream"},
            ) as response:
                if response.status >= 300:
                    raw = await response.read()
                    text = raw.decode("utf-8", errors="replace")
                    raise HTTPStatusError(response.status, response.headers, text)
                if "event-stream" not in response.headers.get("Content-Type", ""):
                    yield json.loads(await response.read())
                    return
                events = _SSEParser()
                async for chunk in response.content.iter_any():
                    for payload in events.feed(chunk):
                        if payload is _DONE:
                            return
                        yield payload
                for payload in events.end():
                    if payload is _DONE:
                        return
                    yield payload
        except (TimeoutError, aiohttp.ServerTimeoutError) as e:
            raise HTTPTimeout(str(e) or "timed out") from None
        except aiohttp.ClientError as e:
            raise HTTPConnectionError(f"{type(e).__name__}: {e}") from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


_DONE = object()


class _SSEParser:
    """Server-sent events from body bytes: ``data:`` lines joined per event (a blank line ends
    one), comments and other fields ignored, ``[DONE]`` marked. Lines are cut from the bytes
    before they are decoded, so no UTF-8 sequence is ever decoded in two halves."""

    def __init__(self) -> None:
        self._buf = b""
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[Any]:
        self._buf += chunk
        *lines, self._buf = self._buf.split(b"\n")
        out: list[Any] = []
        for line in lines:
            self._line(line.rstrip(b"\r"), out)
        return out

    def end(self) -> list[Any]:
        out: list[Any] = []
        if self._buf:
            self._line(self._buf.rstrip(b"\r"), out)
            self._buf = b""
        self._line(b"", out)
        return out

    def _line(self, line: bytes, out: list[Any]) -> None:
        if not line:
            if self._data:
                payload = b"\n".join(self._data)
                self._data = []
                # json.loads keeps an escaped lone surrogate: the backend rejoins split pairs
                out.append(_DONE if payload.strip() == b"[DONE]" else json.loads(payload))
            return
        if line.startswith(b"data:"):
            value = line[5:]
            self._data.append(value[1:] if value.startswith(b" ") else value)
