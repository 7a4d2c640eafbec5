"""The lean HTTP client under the openai backend: proxies from the environment, error types."""

from __future__ import annotations

import asyncio

import pytest

from valuealign.backends._http import HTTPConnectionError, HTTPStatusError, JSONClient
from valuealign.testing import FakeOpenAIServer, Fault


def test_proxy_from_the_environment_is_looked_up_once(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "no_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    assert JSONClient("http://10.0.0.5:8000/v1", api_key="k", timeout=1)._proxy == (
        "http://proxy.internal:3128"
    )
    assert JSONClient("http://127.0.0.1:8000/v1", api_key="k", timeout=1)._proxy is None
    assert "k" not in repr(JSONClient("http://10.0.0.5:8000/v1", api_key="k", timeout=1))


def test_status_and_dropped_connections_come_out_typed() -> None:
    async def post(url: str) -> object:
        client = JSONClient(url, api_key="sk-test", timeout=5)
        try:
            return await client.post("/chat/completions", b'{"model": "m", "messages": []}')
        finally:
            await client.close()

    with FakeOpenAIServer(faults=[Fault("status", 429, headers={"Retry-After": "2"})]) as server:
        with pytest.raises(HTTPStatusError) as info:
            asyncio.run(post(server.base_url))
        assert info.value.status == 429 and info.value.headers.get("retry-after") == "2"
        assert server.headers_seen[0]["authorization"] == "Bearer sk-test"
    with FakeOpenAIServer(faults=[Fault("drop")]) as server:
        with pytest.raises(HTTPConnectionError):
            asyncio.run(post(server.base_url))
