"""Network trouble is named at once: a preflight per backend, one line per retry, a warning
before anything goes to the public OpenAI endpoint. Real loopback sockets, no mocks."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from valuealign.backends import GenerateConfig, get_backend, user
from valuealign.backends import openai as openai_backend
from valuealign.errors import BackendError
from valuealign.testing import FakeOpenAIServer, Fault


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens


def _ask(backend):
    return asyncio.run(backend.generate(user("hi"), GenerateConfig(max_tokens=8)))


@pytest.fixture(autouse=True)
def _fresh_warnings():
    openai_backend._WARNED.clear()
    yield
    openai_backend._WARNED.clear()


def test_connection_refused_is_named_at_once(capfd) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    backend = get_backend("openai/x", base_urls=[url], max_retries=6, timeout=120)
    start = time.perf_counter()
    with pytest.raises(BackendError) as info:
        _ask(backend)
    took = time.perf_counter() - start
    assert f"connection refused at {url}" in str(info.value)
    assert "timed out" not in str(info.value)
    assert took < 3.0, f"took {took:.1f}s; 6 retries with backoff would take far longer"
    assert backend.stats["requests"] == 0, "nothing was sent to a closed port"
    # a second request does not probe again and fails the same way
    with pytest.raises(BackendError, match="connection refused"):
        _ask(backend)
    assert f"connection refused at {url}" in capfd.readouterr().err


def test_an_unreachable_replica_is_left_out(capfd) -> None:
    dead = f"http://127.0.0.1:{_closed_port()}/v1"
    with FakeOpenAIServer(lambda req: "ok") as live:
        backend = get_backend("openai/x", base_urls=[dead, live.base_url], max_retries=0)

        async def many():
            return await asyncio.gather(
                *(backend.generate(user(f"q{i}"), GenerateConfig(max_tokens=4)) for i in range(6))
            )

        replies = asyncio.run(many())
    assert [r.text for r in replies] == ["ok"] * 6
    assert {r.extra["server"] for r in replies} == {live.base_url}
    assert len(live.requests) == 6
    err = capfd.readouterr().err
    assert f"connection refused at {dead}" in err and "using the other servers" in err


def test_retries_show_as_they_happen_rate_limited(capfd) -> None:
    faults = [Fault("status", 503), Fault("status", 503), Fault("status", 503)]
    with FakeOpenAIServer(lambda req: "fine", faults=faults) as server:
        backend = get_backend("openai/x", base_urls=[server.base_url], max_retries=4)
        backend.retry.base_delay = 0.01
        assert _ask(backend).text == "fine"
    err = capfd.readouterr().err
    lines = [x for x in err.splitlines() if "retrying" in x]
    assert backend.stats["retries"] == 3
    assert len(lines) == 1, err  # three retries within 5 s: one line
    assert "HTTP 503 from" in lines[0] and server.base_url in lines[0]


def test_warns_before_using_the_public_endpoint(capfd, monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    get_backend("openai/gpt-x")
    get_backend("openai/gpt-x")
    err = capfd.readouterr().err
    assert err.count("public OpenAI API") == 1 and "with no API key" in err
    with FakeOpenAIServer() as server:
        get_backend("openai/gpt-x", base_urls=[server.base_url])
    assert "public OpenAI API" not in capfd.readouterr().err


def test_eval_against_a_closed_port_names_the_cause_quickly(cli, tmp_path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    start = time.perf_counter()
    _, out, err = cli(
        "eval", "--model", "openai/x", "--judge", "openai/x", "--base-url", url,
        "--per-subdomain", "1", "--subdomains", "sovereignty-territory", "--benign", "none",
        "--no-report", "--no-progress", "--out", str(tmp_path / "e"),
    )  # fmt: skip
    assert time.perf_counter() - start < 20
    assert f"connection refused at {url}" in err
    assert "timed out" not in out + err
