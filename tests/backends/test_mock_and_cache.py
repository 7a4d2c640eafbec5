import asyncio
import multiprocessing
from pathlib import Path

import pytest

from valuealign.backends import (
    CachedBackend,
    Completion,
    FunctionBackend,
    GenerateConfig,
    RequestCache,
    ScriptedBackend,
    get_backend,
    parse_spec,
    register_mock,
    request_key,
    unregister_mock,
    user,
)
from valuealign.errors import BackendError, UserError


def _ask(backend, text="q", **cfg):
    return asyncio.run(backend.generate(user(text), GenerateConfig(**cfg)))


def test_scripted_backend_replays_and_raises() -> None:
    b = ScriptedBackend(
        ["one", BackendError("boom"), Completion(text="three", finish_reason="length")]
    )
    assert _ask(b).text == "one"
    with pytest.raises(BackendError, match="boom"):
        _ask(b)
    assert _ask(b).finish_reason == "length"
    with pytest.raises(BackendError, match="no replies left"):
        _ask(b)
    assert len(b.calls) == 4


def test_function_backend_sync_and_async() -> None:
    assert _ask(FunctionBackend(lambda m, c: m[-1]["content"].upper()), "abc").text == "ABC"

    async def fn(messages, config):
        return str(config.max_tokens)

    assert _ask(FunctionBackend(fn), max_tokens=7).text == "7"


def test_mock_registry_by_name() -> None:
    assert _ask(get_backend("mock/echo"), "hello world").text == "hello world"
    scripted = ScriptedBackend(["x"])
    register_mock("critic-test", scripted)
    try:
        assert get_backend("mock/critic-test") is scripted
    finally:
        unregister_mock("critic-test")
    with pytest.raises(UserError, match="unknown mock backend"):
        get_backend("mock/critic-test")


@pytest.mark.parametrize("spec", ["gpt-4o", "azure/x", "openai/", "/x"])
def test_bad_address(spec: str) -> None:
    with pytest.raises(UserError, match="bad model address"):
        parse_spec(spec)


def test_cli_chat_with_mock(cli) -> None:
    code, out, _ = cli("chat", "--model", "mock/echo", "bonjour")
    assert code == 0 and out.strip() == "bonjour"
    code, _, err = cli("chat", "--model", "nope", "x")
    assert code == 2 and "bad model address" in err
    # a reply cut at --max-tokens says so, streamed or not
    from valuealign.backends import Completion, ScriptedBackend, register_mock, unregister_mock

    register_mock("cut", ScriptedBackend([Completion("长城很", finish_reason="length")]))
    try:
        code, out, err = cli("chat", "--model", "mock/cut", "--max-tokens", "3", "q")
    finally:
        unregister_mock("cut")
    assert code == 0 and out == "长城很\n" and "[stopped at --max-tokens 3]" in err


def test_request_key_covers_everything_that_changes_a_reply() -> None:
    base = request_key("a/b", user("q"), GenerateConfig())
    assert base == request_key("a/b", user("q"), GenerateConfig())
    assert base != request_key("a/c", user("q"), GenerateConfig())
    assert base != request_key("a/b", user("q2"), GenerateConfig())
    assert base != request_key("a/b", user("q"), GenerateConfig(temperature=0.7))
    assert base != request_key("a/b", user("q"), GenerateConfig(sample_index=1))
    assert base != request_key("a/b", user("q"), GenerateConfig(), template_version="v2")


def test_cached_backend_hits(tmp_path: Path) -> None:
    inner = FunctionBackend(lambda m, c: "r")
    cached = CachedBackend(inner, RequestCache(tmp_path / "c.sqlite"))
    assert not _ask(cached).cached
    assert _ask(cached).cached and inner.calls == 1


def _writer(path: str, worker: int) -> None:
    cache = RequestCache(path)
    for i in range(50):
        cache.put(f"{worker}-{i}", "b", Completion(text=f"{worker}-{i}"))


def test_cache_is_safe_with_concurrent_writer_processes(tmp_path: Path) -> None:
    path = str(tmp_path / "c.sqlite")
    RequestCache(path)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, w)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    cache = RequestCache(path)
    assert len(cache) == 200
    assert cache.get("3-49").text == "3-49"
