"""The backend protocol: one async method, optional capabilities as declared methods.

Every model valuealign talks to (a vLLM server, a local transformers model, a scripted mock) is a
``ChatBackend``: ``await backend.generate(messages, config)`` returns a :class:`Completion`.
Roles (attacker, actor, critic, judge, ...) are just names bound to backends at run time.

Some backends (local ``hf/`` models) can do more, declared here as optional capabilities:

* ``choice_logprobs(messages, prefix, choices)`` (:class:`ChoiceLogprobs`): the log-probability
  of each choice as the next token of the reply after ``prefix`` (the judge's logprobs mode);
* ``token_logprobs(text, context)`` (:class:`TokenLogprobs`): the log-probability of each token
  of ``text`` after ``context`` (perplexity: training drift, consensus acceptance).

A backend has a capability when it has the method. Callers reach one only through
:func:`capability` (the bound method, or None); wrappers (:class:`~valuealign.backends.CachedBackend`,
generate's per-role limiter) pass them on with :func:`forward_capabilities`.

>>> backend = get_backend("mock/echo")
>>> asyncio.run(backend.generate([{"role": "user", "content": "hi"}], GenerateConfig())).text
'hi'
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any, Literal, Protocol, TypedDict, runtime_checkable
from urllib.parse import urlsplit, urlunsplit


class Message(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class GenerateConfig:
    """Sampling settings of one request.

    ``sample_index`` tells apart several samples of the same prompt (it is part of the cache key,
    so asking for sample 2 never returns sample 1 from the cache).

    ``prefix_chars`` is a speed hint, not part of the request: the first ``prefix_chars``
    characters of the last message are shared with other requests (a judge's charter and item
    text before the answer). Backends that can keep a computed prompt prefix (``ct2/``) reuse it;
    the others ignore it. It never changes what is asked, so it is left out of the cache key.
    """

    max_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = ()
    logprobs: bool = False
    sample_index: int = 0
    prefix_chars: int = 0

    def key_dict(self) -> dict:
        # asdict(self) without prefix_chars; the fields are scalars and a tuple of strings,
        # which asdict would copy into an equal tuple
        return {
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "seed": self.seed,
            "stop": tuple(self.stop),
            "logprobs": self.logprobs,
            "sample_index": self.sample_index,
        }


# values asdict would copy into an equal immutable value (deepcopy returns them as they are)
_SCALARS = frozenset({str, int, float, bool, type(None)})


@dataclass
class TokenLogprob:
    token: str
    logprob: float


@dataclass
class Completion:
    text: str
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    logprobs: list[TokenLogprob] | None = None
    model: str = ""
    cached: bool = False
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        """``asdict(self)`` without ``cached``: the same dict, built field by field for the
        common reply (no logprobs; ``extra`` of plain scalars, e.g. the answering server), as
        ``asdict``'s deep copy of every value costs more than the rest of a cached request."""
        extra = self.extra
        if self.logprobs is not None or not all(
            type(k) is str and type(v) in _SCALARS for k, v in extra.items()
        ):
            d = asdict(self)
            d.pop("cached")
            return d
        return {
            "text": self.text,
            "finish_reason": self.finish_reason,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "logprobs": None,
            "model": self.model,
            "extra": dict(extra),  # a copy, as asdict's; str keys and immutable scalar values
        }

    @classmethod
    def from_json(cls, d: dict) -> Completion:
        lps = d.get("logprobs")
        return cls(
            text=d["text"],
            finish_reason=d.get("finish_reason"),
            prompt_tokens=d.get("prompt_tokens", 0),
            completion_tokens=d.get("completion_tokens", 0),
            logprobs=[TokenLogprob(**t) for t in lps] if lps is not None else None,
            model=d.get("model", ""),
            extra=d.get("extra", {}),
        )


@runtime_checkable
class ChatBackend(Protocol):
    """Anything that can answer a chat. ``name`` is its ``provider/model`` address."""

    name: str
    supports_logprobs: bool

    async def generate(self, messages: list[Message], config: GenerateConfig) -> Completion: ...


class ChoiceLogprobs(Protocol):
    """Optional capability: next-token log-probabilities of ``choices`` after ``prefix``."""

    def __call__(
        self, messages: list[Message], prefix: str, choices: list[str]
    ) -> dict[str, float]: ...


class TokenLogprobs(Protocol):
    """Optional capability: the log-probability of each token of ``text`` given ``context``."""

    def __call__(
        self, text: str, context: list[Message] | str | None = None
    ) -> list[TokenLogprob]: ...


CAPABILITIES = ("choice_logprobs", "token_logprobs")


def capability(backend: object, name: Literal["choice_logprobs", "token_logprobs"]) -> Any:
    """The backend's ``name`` method (see :data:`CAPABILITIES`), or None when it has none.

    Typed by ``name``: :class:`ChoiceLogprobs` or :class:`TokenLogprobs`.
    """
    if name not in CAPABILITIES:
        raise ValueError(f"unknown backend capability {name!r}; known: {', '.join(CAPABILITIES)}")
    return getattr(backend, name, None)


def forward_capabilities(wrapper: object, inner: object) -> None:
    """Give ``wrapper`` the optional capabilities ``inner`` has (the same bound methods)."""
    for name in CAPABILITIES:
        method = getattr(inner, name, None)
        if method is not None:
            setattr(wrapper, name, method)


def request_key(
    backend: str, messages: list[Message], config: GenerateConfig, template_version: str = ""
) -> str:
    """Stable hash of everything that determines a reply."""
    payload = _KEY_ENCODER.encode(  # json.dumps(..., sort_keys=True, ensure_ascii=False)
        {
            "backend": backend,
            "messages": messages,
            "config": config.key_dict(),
            "template": template_version,
        }
    )
    return hashlib.sha256(payload.encode()).hexdigest()


# what json.dumps(sort_keys=True, ensure_ascii=False) builds on every call, built once: the same
# bytes (existing caches keep hitting), without constructing an encoder per request
_KEY_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False)


def user(content: str, system: str | None = None) -> list[Message]:
    """Shorthand for a one-turn conversation."""
    msgs: list[Message] = []
    if system:
        msgs.append({"role": "system", "content": system})
    msgs.append({"role": "user", "content": content})
    return msgs


async def aclose_all(*backends: object) -> None:
    """Close backends that hold connections (those with an ``aclose`` method)."""
    for backend in backends:
        close = getattr(backend, "aclose", None)
        if close is not None:
            await close()


@lru_cache(maxsize=256)
def public_url(url: str) -> str:
    """A base URL as provenance may show it: no user, password, query or fragment.

    Cached: every reply of an ``openai/`` backend records one of its few base URLs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


_SERVED: ContextVar[list[str] | None] = ContextVar("valuealign_served", default=None)


@contextmanager
def served_by() -> Iterator[list[str]]:
    """Collect the servers that answer the requests made inside the block (in this task).

    >>> with served_by() as servers:
    ...     await backend.generate(messages, config)
    >>> servers  # ['http://127.0.0.1:8000/v1'] for an openai/ backend, [] for hf/ or mock/
    """
    collected: list[str] = []
    token = _SERVED.set(collected)
    try:
        yield collected
    finally:
        _SERVED.reset(token)


def note_served(completion: Completion) -> None:
    """Tell the enclosing :func:`served_by` block which server answered ``completion``."""
    server = completion.extra.get("server")
    collected = _SERVED.get()
    if server and collected is not None and server not in collected:
        collected.append(server)
