"""The openai backend against a real HTTP server on 127.0.0.1, with the official SDK as client."""

import asyncio
import threading
import time
from pathlib import Path

import pytest

from valuealign.backends import CachedBackend, GenerateConfig, RequestCache, get_backend, user
from valuealign.errors import BackendError
from valuealign.testing import FakeOpenAIServer, Fault


def _backend(server: FakeOpenAIServer, **kw):
    kw.setdefault("max_retries", 3)
    kw.setdefault("timeout", 5.0)
    return get_backend("openai/test-model", base_urls=[server.base_url], **kw)


def _ask(backend, text: str = "hello", **cfg):
    return asyncio.run(backend.generate(user(text), GenerateConfig(**cfg)))


def test_success_uses_the_official_sdk_protocol() -> None:
    with FakeOpenAIServer() as server:
        c = _ask(_backend(server, api_key="sk-abc"), "hi there", max_tokens=12, seed=3)
    assert c.text == "echo: hi there" and c.finish_reason == "stop"
    assert c.completion_tokens == 3 and c.prompt_tokens == 2
    req = server.requests[0]
    assert req["model"] == "test-model" and req["max_tokens"] == 12 and req["seed"] == 3
    assert req["messages"] == [{"role": "user", "content": "hi there"}]
    assert server.headers_seen[0]["authorization"] == "Bearer sk-abc"


def test_429_with_retry_after_is_honoured() -> None:
    faults = [Fault("status", 429, headers={"Retry-After": "1"})]
    with FakeOpenAIServer(faults=faults) as server:
        start = time.perf_counter()
        c = _ask(_backend(server))
        elapsed = time.perf_counter() - start
    assert c.text == "echo: hello"
    assert len(server.requests) == 2
    assert elapsed >= 0.95  # waited for Retry-After, not just the (shorter) backoff


def test_500_then_success() -> None:
    with FakeOpenAIServer(faults=[Fault("status", 500), Fault("status", 503)]) as server:
        backend = _backend(server)
        assert _ask(backend).text == "echo: hello"
    assert len(server.requests) == 3
    assert backend.stats["retries"] == 2


def test_timeout_is_retried_then_gives_a_typed_error() -> None:
    with FakeOpenAIServer(faults=[Fault("hang", seconds=3)]) as server:
        assert _ask(_backend(server, timeout=0.5)).text == "echo: hello"
    with FakeOpenAIServer(faults=[Fault("hang", seconds=3)] * 2) as server:
        with pytest.raises(BackendError, match="timed out") as info:
            _ask(_backend(server, timeout=0.5, max_retries=1))
    assert info.value.backend == "openai/test-model"
    assert "gave up after 2 attempts" in str(info.value)


def test_malformed_body_is_retried_then_a_typed_error() -> None:
    with FakeOpenAIServer(faults=[Fault("malformed")]) as server:
        assert _ask(_backend(server)).text == "echo: hello"
    with FakeOpenAIServer(faults=[Fault("malformed")] * 3) as server:
        with pytest.raises(BackendError, match=r"malformed|connection"):
            _ask(_backend(server, max_retries=2))
        assert len(server.requests) == 3


def test_dropped_connection_is_retried() -> None:
    with FakeOpenAIServer(faults=[Fault("drop")]) as server:
        assert _ask(_backend(server)).text == "echo: hello"
    assert len(server.requests) == 2


def test_client_errors_are_not_retried() -> None:
    with FakeOpenAIServer(faults=[Fault("status", 400)]) as server:
        with pytest.raises(BackendError, match="HTTP 400"):
            _ask(_backend(server))
    assert len(server.requests) == 1


def test_replicas_share_the_load_and_concurrency_is_bounded() -> None:
    in_flight = 0
    peak = 0
    lock = threading.Lock()

    def slow(req: dict) -> str:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        time.sleep(0.1)
        with lock:
            in_flight -= 1
        return "ok"

    with FakeOpenAIServer(slow) as a, FakeOpenAIServer(slow) as b:
        backend = get_backend("openai/m", base_urls=[a.base_url, b.base_url], concurrency=3)

        async def many() -> list:
            return await asyncio.gather(
                *[backend.generate(user(str(i)), GenerateConfig()) for i in range(12)]
            )

        results = asyncio.run(many())
    assert [r.text for r in results] == ["ok"] * 12
    assert peak == 3
    assert len(a.requests) >= 4 and len(b.requests) >= 4


def test_cache_makes_a_second_run_free_and_never_caches_errors(tmp_path: Path) -> None:
    with FakeOpenAIServer(faults=[Fault("status", 400)]) as server:
        cache = RequestCache(tmp_path / "cache.sqlite")
        backend = CachedBackend(_backend(server), cache)
        with pytest.raises(BackendError):
            _ask(backend, "one")
        assert len(cache) == 0
        first = [_ask(backend, q).text for q in ("one", "two")]
        n = len(server.requests)
        again = CachedBackend(_backend(server), RequestCache(tmp_path / "cache.sqlite"))
        second = [_ask(again, q).text for q in ("one", "two")]
        assert second == first and len(server.requests) == n == 3
        _ask(again, "one", sample_index=1)  # another sample is another request
        assert len(server.requests) == 4


def test_base_url_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeOpenAIServer() as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
        assert _ask(get_backend("openai/x")).text == "echo: hello"
    assert server.headers_seen[0]["authorization"] == "Bearer sk-from-env"


def test_api_key_never_written_to_the_run_directory(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-live-DO-NOT-LEAK-8f3a1c"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    out = tmp_path / "run"
    with FakeOpenAIServer() as server:
        code, stdout, stderr = cli(
            "demo",
            "--model",
            "openai/judge-x",
            "--base-url",
            server.base_url,
            "--out",
            str(out),
            "--no-progress",
        )
    assert code == 0, stderr
    assert server.headers_seen[0]["authorization"] == f"Bearer {secret}"
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"answers.jsonl", "manifest.json", "cache.sqlite"}
    for p in files:
        assert secret.encode() not in p.read_bytes(), p
    assert secret not in stdout + stderr
    assert "sk-live" not in repr(get_backend("openai/x"))


def test_cli_chat_against_the_server(cli) -> None:
    with FakeOpenAIServer(lambda req: "pong") as server:
        code, out, _ = cli(
            "chat",
            "--model",
            "openai/m",
            "--base-url",
            server.base_url,
            "--system",
            "be brief",
            "ping",
        )
    assert code == 0 and out.strip() == "pong"
    assert server.requests[0]["messages"][0] == {"role": "system", "content": "be brief"}


def test_cli_reports_backend_failure_with_exit_1(cli) -> None:
    with FakeOpenAIServer(faults=[Fault("status", 401)]) as server:
        code, _, err = cli("chat", "--model", "openai/m", "--base-url", server.base_url, "ping")
    assert code == 1 and "HTTP 401" in err
