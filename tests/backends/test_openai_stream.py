"""Streamed replies from an OpenAI-compatible server (``valuealign chat --model openai/...``),
against the real loopback server: server-sent events over chunked HTTP, each event's bytes cut
inside a character on the wire."""

from __future__ import annotations

import asyncio
import threading

import pytest

from valuealign.backends import GenerateConfig, get_backend, user
from valuealign.errors import BackendError
from valuealign.testing import FakeOpenAIServer, Fault

TEXT = "长城东起山海关，西至嘉峪关。😀 The Great Wall, «long» — 2.1万公里。"


def _backend(server: FakeOpenAIServer, **kw):
    kw.setdefault("max_retries", 2)
    kw.setdefault("timeout", 5.0)
    return get_backend("openai/test-model", base_urls=[server.base_url], **kw)


def _stream(backend, max_tokens: int = 64) -> tuple[object, list[str]]:
    pieces: list[str] = []

    async def go():
        try:
            return await backend.generate_streaming(
                user("长城有多长？"), GenerateConfig(max_tokens=max_tokens), pieces.append
            )
        finally:
            await backend.aclose()

    return asyncio.run(go()), pieces


def _whole(pieces: list[str]) -> bool:
    """Every piece printable on its own: no broken character, no half of a pair."""
    return all(p and "\ufffd" not in p and p.encode("utf-8") for p in pieces)


def test_the_reply_streams_in_whole_characters_though_the_wire_cuts_them() -> None:
    with FakeOpenAIServer(lambda req: TEXT, split_utf8=True) as server:
        completion, pieces = _stream(_backend(server))
    assert server.requests[0]["stream"] is True
    assert "".join(pieces) == TEXT == completion.text
    assert len(pieces) == len(range(0, len(TEXT), 3)) > 10  # one piece per event, as sent
    assert _whole(pieces)
    assert completion.finish_reason == "stop" and completion.completion_tokens == len(TEXT.split())
    assert completion.extra["server"] == server.base_url


def test_text_is_shown_before_the_server_has_sent_the_rest() -> None:
    """The server holds piece 3 back until the reader has shown something: a client that
    waited for the whole reply would never show anything, and the server would give up."""
    shown = threading.Event()
    waited: list[bool] = []

    def before_piece(k: int) -> None:
        if k == 3:
            waited.append(shown.wait(timeout=10))

    with FakeOpenAIServer(lambda req: TEXT, before_piece=before_piece) as server:
        backend = _backend(server)

        def on_text(text: str) -> None:
            got.append(text)
            shown.set()

        got: list[str] = []

        async def go():
            try:
                return await backend.generate_streaming(user("q"), GenerateConfig(), on_text)
            finally:
                await backend.aclose()

        completion = asyncio.run(go())
    assert waited == [True] and "".join(got) == TEXT == completion.text


def test_a_surrogate_pair_split_over_two_events_is_joined() -> None:
    """A server that escapes characters outside the BMP may cut the pair between events."""
    pieces_sent = ["ab", "\ud83d", "\ude00cd"]
    with FakeOpenAIServer(lambda req: "ab😀cd", stream_pieces=lambda t: pieces_sent) as server:
        completion, pieces = _stream(_backend(server))
    assert "".join(pieces) == "ab😀cd" == completion.text and _whole(pieces)


def test_a_reply_cut_at_max_tokens_never_ends_in_a_broken_character() -> None:
    """The last token held only the first bytes of a character: the server sent U+FFFD."""
    with FakeOpenAIServer(
        lambda req: "长城很长",
        stream_pieces=lambda t: ["长城", "很长", "\ufffd"],
        finish_reason="length",
    ) as server:
        completion, pieces = _stream(_backend(server), max_tokens=5)
    assert "".join(pieces) == "长城很长" == completion.text and _whole(pieces)
    assert completion.finish_reason == "length"
    # mid-stream, the same character is passed on once the reply goes on
    with FakeOpenAIServer(
        lambda req: "a\ufffdb", stream_pieces=lambda t: ["a\ufffd", "b"]
    ) as server:
        completion, pieces = _stream(_backend(server))
    assert "".join(pieces) == "a\ufffdb" and pieces[0] == "a"


def test_failures_before_the_first_character_are_retried_not_after() -> None:
    with FakeOpenAIServer(lambda req: TEXT, faults=[Fault("status", 503)]) as server:
        _, pieces = _stream(_backend(server))
    assert len(server.requests) == 2 and "".join(pieces) == TEXT

    def before_piece(k: int) -> None:
        if k == 2:
            raise ConnectionError("the server process died")  # the handler drops the socket

    with FakeOpenAIServer(lambda req: TEXT, before_piece=before_piece) as server:
        with pytest.raises(BackendError, match="the stream broke after 6 characters"):
            _stream(_backend(server))
    assert len(server.requests) == 1  # shown text is never shown twice


def test_chat_streams_openai_models(cli) -> None:
    with FakeOpenAIServer(lambda req: TEXT, split_utf8=True) as server:
        code, out, err = cli(
            "chat", "--model", "openai/test-model", "--base-url", server.base_url, "长城有多长？"
        )
    assert code == 0, err
    assert out == TEXT + "\n" and server.requests[0]["stream"] is True
    with FakeOpenAIServer(
        lambda req: "长城很长",
        stream_pieces=lambda t: ["长城很长", "\ufffd"],
        finish_reason="length",
    ) as server:
        code, out, err = cli(
            "chat", "-m", "openai/x", "--base-url", server.base_url, "--max-tokens", "3", "q"
        )
    assert code == 0 and out == "长城很长\n" and "[stopped at --max-tokens 3]" in err
