"""Resolve ``provider/model`` addresses to backends (the one place that knows the providers).

Heavy providers are imported inside their factory, so ``import valuealign`` never loads torch.

>>> get_backend("mock/echo")
>>> get_backend("openai/qwen2.5-72b", base_urls=["http://127.0.0.1:8000/v1"], concurrency=64)
>>> get_backend("hf/smollm2-135m-instruct")
>>> get_backend("ct2/qwen2.5-1.5b-instruct")
"""

from __future__ import annotations

from typing import Any

from valuealign.backends._types import ChatBackend, public_url
from valuealign.errors import UserError

PROVIDERS = ("openai", "hf", "ct2", "mock")


def parse_spec(spec: str) -> tuple[str, str]:
    provider, sep, model = spec.partition("/")
    if not sep or not model or provider not in PROVIDERS:
        raise UserError(
            f"bad model address {spec!r}",
            fix="use provider/model with provider one of openai, hf, ct2, mock (e.g. hf/qwen2.5-0.5b-instruct)",
        )
    return provider, model


def get_backend(
    spec: str,
    *,
    base_urls: list[str] | None = None,
    api_key: str | None = None,
    concurrency: int = 16,
    timeout: float = 120.0,
    max_retries: int = 6,
    adapter: str | None = None,
    **hf_options: Any,
) -> ChatBackend:
    provider, model = parse_spec(spec)
    if provider == "openai":
        from valuealign.backends.openai import OpenAIBackend, RetryPolicy

        return OpenAIBackend(
            model,
            base_urls=base_urls,
            api_key=api_key,
            concurrency=concurrency,
            timeout=timeout,
            retry=RetryPolicy(max_retries=max_retries),
        )
    if provider in ("hf", "ct2"):
        # one instance per local model in a process: two roles bound to the same weights share
        # one copy in memory (release_local_backends frees them between stages)
        key = (provider, model, adapter, tuple(sorted(hf_options.items())))
        if key not in _LOCAL:
            if provider == "hf":
                from valuealign.backends.hf import HFBackend

                _LOCAL[key] = HFBackend(model, adapter=adapter, **hf_options)
            else:
                from valuealign.backends.ct2 import CT2Backend

                _LOCAL[key] = CT2Backend(model, adapter=adapter, **hf_options)
        return _LOCAL[key]
    from valuealign.backends.mock import make_mock

    return make_mock(model)  # type: ignore[return-value]


_LOCAL: dict[tuple, ChatBackend] = {}


def release_local_backends() -> int:
    """Forget the shared local models so their memory can be freed; returns how many."""
    import gc

    n = len(_LOCAL)
    for backend in _LOCAL.values():
        close = getattr(backend, "close", None)
        if close is not None:
            close()
    _LOCAL.clear()
    gc.collect()
    return n


def describe(backend: ChatBackend) -> dict[str, Any]:
    """What a record's provenance says about a backend (never its API key)."""
    info: dict[str, Any] = {"name": backend.name}
    urls = getattr(backend, "base_urls", None)
    if urls:
        info["base_urls"] = [public_url(u) for u in urls]
    adapter = getattr(backend, "adapter", None)
    if adapter:
        info["adapter"] = adapter
    return info
