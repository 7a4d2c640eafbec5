"""``openai/<model>``: any OpenAI-compatible chat server (vLLM, SGLang, llama.cpp, Ollama, hosted).

Requests go through a lean aiohttp + orjson client (:mod:`valuealign.backends._http`: one POST
of a JSON body, about a fifth of the openai SDK's CPU per request); this backend retries 429,
5xx, timeouts, dropped connections and malformed bodies itself, with exponential backoff and full
jitter, honouring ``Retry-After``. Several base URLs spread load over replicas (least in-flight
first). A request that still fails raises :class:`BackendError`, which long jobs record on the
item instead of crashing. The API key is held in memory only: it is never logged and never
written to a record, manifest or cache.

``generate_streaming`` (what ``valuealign chat`` uses) asks for a streamed reply and hands its
text on as it comes, in whole characters only (see :class:`WholeChars`). It retries like
``generate`` until the first character arrives, never after: text already shown is not shown
twice.

>>> b = OpenAIBackend("qwen2.5-72b", base_urls=["http://10.0.0.5:8000/v1", "http://10.0.0.6:8000/v1"])
"""

from __future__ import annotations

import asyncio
import codecs
import email.utils
import os
import random
import socket
import sys
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from valuealign.backends._http import (
    HTTPConnectionError,
    HTTPStatusError,
    HTTPTimeout,
    JSONClient,
    dumps,
    require_http_libs,
)
from valuealign.backends._types import (
    Completion,
    GenerateConfig,
    Message,
    TokenLogprob,
    note_served,
    public_url,
)
from valuealign.errors import BackendError, UserError

DEFAULT_BASE_URL = "https://api.openai.com/v1"
RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


@dataclass
class RetryPolicy:
    max_retries: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0

    def backoff(self, attempt: int) -> float:
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


def parse_retry_after(headers: object) -> float | None:
    """Seconds to wait from ``retry-after-ms`` / ``Retry-After`` (seconds or HTTP date)."""
    get = getattr(headers, "get", None)
    if get is None:
        return None
    ms = get("retry-after-ms")
    if ms:
        try:
            return float(ms) / 1000
        except ValueError:
            pass
    value = get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


class _LoopState:
    def __init__(self, clients: list, concurrency: int) -> None:
        self.clients = clients
        self.semaphore = asyncio.Semaphore(concurrency)
        self.in_flight = [0] * len(clients)
        self.turn = 0
        self.preflight_lock = asyncio.Lock()


_WARNED: set[str] = set()


def _note(message: str) -> None:
    """One line for the person at the terminal (stderr, so it never mixes with results)."""
    print(message, file=sys.stderr, flush=True)


def _warn_once(message: str) -> None:
    if message not in _WARNED:
        _WARNED.add(message)
        _note(f"warning: {message}")


async def probe(url: str, connect_timeout: float = 3.0) -> str | None:
    """Open (and close) one TCP connection to ``url``'s host; ``None`` or the real cause."""
    parts = urlsplit(url)
    shown = public_url(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port), timeout=connect_timeout
        )
    except ConnectionRefusedError:
        return f"connection refused at {shown} (nothing listens on port {port})"
    except socket.gaierror:
        return f"cannot resolve host {host!r} of {shown}"
    except TimeoutError:
        return f"no connection within {connect_timeout:g}s to {shown} (host down or firewalled?)"
    except OSError as e:
        return f"cannot connect to {shown}: {e.strerror or e}"
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
    return None


class OpenAIBackend:
    supports_logprobs = True

    def __init__(
        self,
        model: str,
        *,
        base_urls: list[str] | None = None,
        api_key: str | None = None,
        concurrency: int = 16,
        timeout: float = 120.0,
        retry: RetryPolicy | None = None,
        connect_timeout: float = 3.0,
    ) -> None:
        require_http_libs()  # aiohttp and orjson (MissingExtra names the install line)
        if not model:
            raise UserError(
                "openai backend needs a model name",
                fix="use openai/<model>, e.g. openai/gpt-4o-mini",
            )
        env_urls = os.environ.get("OPENAI_BASE_URL", "")
        urls = list(
            base_urls or [u for u in env_urls.split(",") if u.strip()] or [DEFAULT_BASE_URL]
        )
        from valuealign.redact import has_url_credentials, redact_url, register_secret

        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise UserError(
                    f"bad base URL {redact_url(url)!r}",
                    fix="use a URL such as http://127.0.0.1:8000/v1",
                )
            if has_url_credentials(url):
                raise UserError(
                    f"base URL {redact_url(url)!r} has credentials in it (user:password@), "
                    "which valuealign does not support",
                    fix="remove them from the URL; pass the key with OPENAI_API_KEY or --api-key",
                )
        if concurrency < 1:
            raise UserError(
                f"concurrency must be at least 1 (got {concurrency})",
                fix="pass --concurrency 1 or more",
            )
        self.name = f"openai/{model}"
        self.model = model
        self.base_urls = [u.rstrip("/") for u in urls]
        self._api_key = api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY"
        register_secret(self._api_key)
        if self.base_urls == [DEFAULT_BASE_URL]:
            no_key = " with no API key" if self._api_key == "EMPTY" else ""
            _warn_once(
                f"{self.name}: no --base-url and no OPENAI_BASE_URL set, so requests go to the "
                f"public OpenAI API ({DEFAULT_BASE_URL}){no_key}; for a local server pass "
                "--base-url http://127.0.0.1:8000/v1"
            )
        self.connect_timeout = connect_timeout
        self._reachable: list[int] | None = None  # indexes of base_urls that passed preflight
        self._unreachable_error: str | None = None
        self._last_retry_note = 0.0
        self.concurrency = concurrency
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._states: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = (
            weakref.WeakKeyDictionary()
        )
        self.stats = {"requests": 0, "retries": 0, "failures": 0}
        self._client_url: list[int] = []

    def __repr__(self) -> str:  # never show the key
        return f"OpenAIBackend({self.model!r}, base_urls={self.base_urls!r})"

    def _state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        state = self._states.get(loop)
        if state is None:
            clients = [
                JSONClient(url, api_key=self._api_key, timeout=self.timeout)
                for url in self.base_urls
            ]
            self._client_url = list(range(len(clients)))
            state = _LoopState(clients, self.concurrency)
            self._states[loop] = state
        return state

    async def aclose(self) -> None:
        """Close this event loop's HTTP clients (call before the loop ends)."""
        state = self._states.pop(asyncio.get_running_loop(), None)
        if state is not None:
            for client in state.clients:
                await client.close()

    async def preflight(self) -> None:
        """Once per backend: can each base URL be reached at all (short connect timeout)?

        Unreachable replicas are left out (with a warning); when none is reachable every request
        fails at once with the real cause instead of after minutes of retries.
        """
        if self._reachable is not None:
            return
        async with self._state().preflight_lock:
            if self._reachable is not None:
                return
            problems = await asyncio.gather(
                *(probe(u, self.connect_timeout) for u in self.base_urls)
            )
            reachable = [i for i, p in enumerate(problems) if p is None]
            if not reachable:
                self._unreachable_error = (
                    "; ".join(p for p in problems if p) + " (checked before sending any request;"
                    " start the server or fix --base-url)"
                )
                _note(f"error: {self.name}: {self._unreachable_error}")
            else:
                for p in problems:
                    if p:
                        _warn_once(f"{self.name}: {p}; using the other servers")
            self._reachable = reachable

    def _note_retry(self, error: str, delay: float) -> None:
        """One line per retry, at most one every 5 s per backend (the rest are counted)."""
        now = time.monotonic()
        if now - self._last_retry_note < 5.0:
            return
        self._last_retry_note = now
        _note(
            f"{self.name}: retrying ({self.stats['retries']} retries so far): {error}; "
            f"next attempt in {delay:.1f}s"
        )

    def _pick(self, state: _LoopState) -> int:
        allowed = self._reachable
        if allowed is not None and len(allowed) < len(self.base_urls):
            pool = [i for i, u in enumerate(self._client_url) if u in allowed]
            low = min(state.in_flight[i] for i in pool)
            candidates = [i for i in pool if state.in_flight[i] == low]
            state.turn += 1
            return candidates[state.turn % len(candidates)]
        low = min(state.in_flight)
        candidates = [i for i, n in enumerate(state.in_flight) if n == low]
        state.turn += 1
        return candidates[state.turn % len(candidates)]

    def _request(self, messages: list[Message], config: GenerateConfig) -> dict:
        kwargs: dict = {
            "model": self.model,
            "messages": messages,
            "max_tokens": config.max_tokens,
            "temperature": config.temperature,
            "top_p": config.top_p,
        }
        if config.seed is not None:
            kwargs["seed"] = config.seed + config.sample_index
        if config.stop:
            kwargs["stop"] = list(config.stop)
        if config.logprobs:
            kwargs["logprobs"] = True
        return kwargs

    @staticmethod
    def _parse(data: object, model: str) -> Completion:
        """Read a chat.completion JSON body; anything unexpected is a malformed response."""
        if not isinstance(data, dict):
            raise ValueError("response body is not a JSON object")
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise ValueError("response has no choices")
        choice = choices[0]
        text = (choice.get("message") or {}).get("content")
        if not isinstance(text, str):
            raise ValueError("response has no message content")
        logprobs = None
        lp = choice.get("logprobs")
        if isinstance(lp, dict) and lp.get("content"):
            logprobs = [
                TokenLogprob(token=t["token"], logprob=float(t["logprob"])) for t in lp["content"]
            ]
        usage = data.get("usage") or {}
        return Completion(
            text=text,
            finish_reason=choice.get("finish_reason"),
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            logprobs=logprobs,
            model=data.get("model") or model,
        )

    async def generate(self, messages: list[Message], config: GenerateConfig) -> Completion:
        state = self._state()
        await self.preflight()
        if self._unreachable_error is not None:
            self.stats["failures"] += 1
            raise BackendError(self._unreachable_error, backend=self.name)
        body = dumps(self._request(messages, config))  # serialised once for every attempt
        last_error = "unknown error"
        async with state.semaphore:
            for attempt in range(self.retry.max_retries + 1):
                idx = self._pick(state)
                client = state.clients[idx]
                state.in_flight[idx] += 1
                wait: float | None = None
                self.stats["requests"] += 1
                try:
                    response = await client.post("/chat/completions", body)
                    completion = self._parse(response, self.model)
                    # provenance: the replica that answered, without credentials
                    completion.extra["server"] = public_url(self.base_urls[self._client_url[idx]])
                    note_served(completion)
                    return completion
                except HTTPStatusError as e:
                    last_error = f"HTTP {e.status} from {self.base_urls[self._client_url[idx]]}"
                    if e.status not in RETRYABLE_STATUS:
                        self.stats["failures"] += 1
                        raise BackendError(
                            last_error + f": {_short(str(e))}", backend=self.name
                        ) from None
                    wait = parse_retry_after(e.headers)
                except HTTPTimeout:
                    last_error = f"timed out after {self.timeout:g}s at {self.base_urls[self._client_url[idx]]}"
                except HTTPConnectionError as e:
                    last_error = f"connection error at {self.base_urls[self._client_url[idx]]}: {_short(str(e))}"
                except (ValueError, TypeError, AttributeError, KeyError) as e:
                    last_error = f"malformed response from {self.base_urls[self._client_url[idx]]}: {_short(str(e))}"
                finally:
                    state.in_flight[idx] -= 1
                if attempt == self.retry.max_retries:
                    break
                self.stats["retries"] += 1
                delay = self.retry.backoff(attempt)
                if wait is not None:
                    delay = max(delay, min(wait, self.retry.max_retry_after))
                self._note_retry(last_error, delay)
                await asyncio.sleep(delay)
        self.stats["failures"] += 1
        raise BackendError(
            f"{last_error} (gave up after {self.retry.max_retries + 1} attempts)",
            backend=self.name,
            retryable=True,
        )

    async def generate_streaming(
        self, messages: list[Message], config: GenerateConfig, on_text: Callable[[str], None]
    ) -> Completion:
        """One reply, streamed: ``on_text`` gets its text piece by piece as the server sends it
        (whole characters only). Failures before the first character are retried like
        :meth:`generate`; a stream that breaks after it raises :class:`BackendError`."""
        state = self._state()
        await self.preflight()
        if self._unreachable_error is not None:
            self.stats["failures"] += 1
            raise BackendError(self._unreachable_error, backend=self.name)
        request = self._request(messages, config) | {"stream": True}
        if config.logprobs:
            request.pop("logprobs")  # a streamed reply carries its text only
        body = dumps(request)
        last_error = "unknown error"
        async with state.semaphore:
            for attempt in range(self.retry.max_retries + 1):
                idx = self._pick(state)
                url = self.base_urls[self._client_url[idx]]
                state.in_flight[idx] += 1
                wait: float | None = None
                shown: list[str] = []
                self.stats["requests"] += 1
                try:
                    completion = await self._read_stream(state.clients[idx], body, on_text, shown)
                    completion.extra["server"] = public_url(url)
                    note_served(completion)
                    return completion
                except HTTPStatusError as e:
                    last_error = f"HTTP {e.status} from {url}"
                    if e.status not in RETRYABLE_STATUS:
                        self.stats["failures"] += 1
                        raise BackendError(
                            last_error + f": {_short(str(e))}", backend=self.name
                        ) from None
                    wait = parse_retry_after(e.headers)
                except HTTPTimeout:
                    last_error = f"no data for {self.timeout:g}s from {url}"
                except HTTPConnectionError as e:
                    last_error = f"connection error at {url}: {_short(str(e))}"
                except (ValueError, TypeError, AttributeError, KeyError) as e:
                    last_error = f"malformed stream from {url}: {_short(str(e))}"
                finally:
                    state.in_flight[idx] -= 1
                if shown:  # never again: the reader has seen this text
                    self.stats["failures"] += 1
                    n = sum(len(x) for x in shown)
                    raise BackendError(
                        f"the stream broke after {n} characters: {last_error}", backend=self.name
                    )
                if attempt == self.retry.max_retries:
                    break
                self.stats["retries"] += 1
                delay = self.retry.backoff(attempt)
                if wait is not None:
                    delay = max(delay, min(wait, self.retry.max_retry_after))
                self._note_retry(last_error, delay)
                await asyncio.sleep(delay)
        self.stats["failures"] += 1
        raise BackendError(
            f"{last_error} (gave up after {self.retry.max_retries + 1} attempts)",
            backend=self.name,
            retryable=True,
        )

    async def _read_stream(
        self, client: JSONClient, body: bytes, on_text: Callable[[str], None], shown: list[str]
    ) -> Completion:
        chars = WholeChars()
        finish: str | None = None
        usage: dict = {}
        model = self.model
        async for event in client.stream("/chat/completions", body):
            if not isinstance(event, dict):
                raise ValueError("an event is not a JSON object")
            if isinstance(event.get("error"), dict | str):
                raise ValueError(f"the server reported an error: {event['error']}")
            model = event.get("model") or model
            usage = event.get("usage") or usage
            for choice in (event.get("choices") or [])[:1]:
                # a streamed chunk has a delta; a server that ignored "stream" sends a message
                part = choice.get("delta") or choice.get("message") or {}
                text = chars.feed(part.get("content") or "")
                if text:
                    shown.append(text)
                    on_text(text)
                finish = choice.get("finish_reason") or finish
        tail = chars.end(cut_off=finish == "length")
        if tail:
            shown.append(tail)
            on_text(tail)
        return Completion(
            text="".join(shown),
            finish_reason=finish,
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            model=model,
        )


class WholeChars:
    """The pieces of a streamed reply, passed on in whole characters only.

    A piece can end inside a character: in the first half of a UTF-16 surrogate pair (a server
    that escapes characters outside the BMP and splits the pair over two events) or in U+FFFD
    (what a server sends for the first bytes of a character whose other bytes are in the next
    token). Both are held back until the next piece completes them. At the end of a reply cut by
    ``max_tokens`` they are dropped: they are the head of a character that never came, which is
    where a cut-off reply used to end in a broken character. A surrogate that no piece completes
    becomes U+FFFD, so the text can always be printed.
    """

    def __init__(self) -> None:
        self._held = ""

    def feed(self, piece: str) -> str:
        text = self._held + piece
        cut = len(text)
        while cut and (text[cut - 1] == "\ufffd" or "\ud800" <= text[cut - 1] <= "\udbff"):
            cut -= 1
        self._held = text[cut:]
        return _valid(text[:cut])

    def end(self, cut_off: bool) -> str:
        held, self._held = self._held, ""
        return "" if cut_off else _valid(held)


def _valid(text: str) -> str:
    """Surrogate pairs joined into their characters, lone surrogates replaced by U+FFFD."""
    if not any("\ud800" <= c <= "\udfff" for c in text):
        return text
    raw = text.encode("utf-16-le", "surrogatepass")
    return codecs.decode(raw, "utf-16-le", "replace")


def _short(text: str, n: int = 200) -> str:
    from valuealign.redact import redact

    text = redact(" ".join(text.split()))  # before cutting: a cut key would not match
    return text if len(text) <= n else text[: n - 3] + "..."
