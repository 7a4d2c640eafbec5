"""A small OpenAI-compatible chat server on 127.0.0.1 for tests and benchmarks.

It answers ``POST /v1/chat/completions`` with a reply from ``responder(request_json)`` after an
optional fixed delay, or plays scripted faults first (429 with Retry-After, 500, a hang longer
than the client's timeout, a malformed body, a dropped connection). Every request is recorded.

A request with ``"stream": true`` gets the reply as server-sent events (chunked, one ``delta``
per piece, then ``data: [DONE]``), the way vLLM and llama.cpp send it: ``stream_pieces`` cuts
the reply into pieces (default: three characters each), ``split_utf8`` writes every event in
two network writes cut inside a character's UTF-8 bytes, ``before_piece(k)`` runs before piece
``k`` is sent (a test can wait there for the client) and ``finish_reason`` ends the stream.

>>> with FakeOpenAIServer(responder=lambda req: "hello") as server:
...     backend = get_backend("openai/test", base_urls=[server.base_url])
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Fault:
    """One scripted misbehaviour, used for the next request that arrives."""

    kind: str  # "status" | "hang" | "malformed" | "drop"
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    echo_headers: bool = False
    """A "status" fault whose error body repeats the request headers (Authorization too), as
    some proxies do: the client must not copy them into anything it writes."""


def _default_responder(request: dict) -> str:
    last = [m for m in request.get("messages", []) if m.get("role") == "user"]
    return f"echo: {last[-1]['content']}" if last else "hello"


class FakeOpenAIServer:
    def __init__(
        self,
        responder: Callable[[dict], str] | None = None,
        *,
        delay: float = 0.0,
        faults: list[Fault] | None = None,
        host: str = "127.0.0.1",
        stream_pieces: Callable[[str], list[str]] | None = None,
        split_utf8: bool = False,
        before_piece: Callable[[int], None] | None = None,
        finish_reason: str = "stop",
    ) -> None:
        self.responder = responder or _default_responder
        self.stream_pieces = stream_pieces or (
            lambda t: [t[i : i + 3] for i in range(0, len(t), 3)]
        )
        self.split_utf8 = split_utf8
        self.before_piece = before_piece
        self.finish_reason = finish_reason
        self.delay = delay
        self.faults: deque[Fault] = deque(faults or [])
        self.requests: list[dict] = []
        self.headers_seen: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with owner._lock:
                    owner.requests.append(body)
                    owner.headers_seen.append({k.lower(): v for k, v in self.headers.items()})
                    fault = owner.faults.popleft() if owner.faults else None
                if fault is not None and fault.kind == "hang":
                    owner._stop.wait(fault.seconds)
                    fault = None
                    self.close_connection = True
                    return
                if fault is not None and fault.kind == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if fault is not None and fault.kind == "status":
                    message = f"scripted {fault.status}"
                    if fault.echo_headers:
                        message += " for request headers " + json.dumps(dict(self.headers.items()))
                    payload = json.dumps(
                        {"error": {"message": message, "type": "server_error"}}
                    ).encode()
                    self.send_response(fault.status)
                    for k, v in fault.headers.items():
                        self.send_header(k, v)
                    self._send_body(payload)
                    return
                if fault is not None and fault.kind == "malformed":
                    self.send_response(200)
                    self._send_body(b'{"id": "x", "choices": [ {"message": ')
                    return
                if owner.delay:
                    time.sleep(owner.delay)
                text = owner.responder(body)
                if body.get("stream"):
                    self._stream(body, text)
                    return
                payload = {
                    "id": f"chatcmpl-{len(owner.requests)}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body.get("model", "fake"),
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text},
                            "finish_reason": "stop",
                            "logprobs": None,
                        }
                    ],
                    "usage": {
                        "prompt_tokens": sum(
                            len(m.get("content", "").split()) for m in body.get("messages", [])
                        ),
                        "completion_tokens": len(text.split()),
                        "total_tokens": 0,
                    },
                }
                self.send_response(200)
                self._send_body(json.dumps(payload).encode())

            def _stream(self, body: dict, text: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                base = {"id": f"chatcmpl-{len(owner.requests)}", "object": "chat.completion.chunk"}
                base["model"] = body.get("model", "fake")

                def event(choice: dict, **extra: object) -> None:
                    data = {**base, "choices": [{"index": 0, **choice}], **extra}
                    try:  # a lone surrogate (half a pair) can only travel escaped
                        raw = json.dumps(data, ensure_ascii=False).encode("utf-8")
                    except UnicodeEncodeError:
                        raw = json.dumps(data).encode("ascii")
                    send(b"data: " + raw + b"\n\n")

                def send(data: bytes) -> None:
                    cut = next((i for i in range(1, len(data)) if data[i] & 0xC0 == 0x80), 0)
                    parts = [data[:cut], data[cut:]] if owner.split_utf8 and cut else [data]
                    for k, part in enumerate(parts):
                        if k:
                            time.sleep(0.01)  # the two halves arrive as two reads
                        self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                        self.wfile.flush()

                event({"delta": {"role": "assistant", "content": ""}, "finish_reason": None})
                for k, piece in enumerate(owner.stream_pieces(text)):
                    if owner.before_piece is not None:
                        owner.before_piece(k)
                    event({"delta": {"content": piece}, "finish_reason": None})
                usage = {"prompt_tokens": 1, "completion_tokens": len(text.split())}
                event({"delta": {}, "finish_reason": owner.finish_reason}, usage=usage)
                send(b"data: [DONE]\n\n")
                self.wfile.write(b"0\r\n\r\n")

            def _send_body(self, payload: bytes) -> None:
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 256

        self._server = Server((host, 0), Handler)
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def canned_responder(request: dict) -> str:
    """Valid replies for every valuealign role, so pipelines run end to end against the server."""
    body = "\n".join(str(m.get("content", "")) for m in request.get("messages", []))
    if "SAME_STANCE" in body:
        return "REASON: Both answers state the same facts.\nSAME_STANCE: [[yes]]"
    if "VERDICT: [[k]]" in body:
        refusal = "REFUSAL: [[no]]\n" if "REFUSAL" in body else ""
        return f"REASON: Accurate and balanced.\n{refusal}VERDICT: [[4]]"
    return "A balanced answer: the main positions, attributed to those who hold them, and the documented facts."


def per_model_responder(request: dict) -> str:
    """:func:`canned_responder`, with each model's answers its own (the model's name in the
    text), so judging one model's answers is real work, not a cache hit on another's: the
    evaluation benchmark's realistic workload."""
    text = canned_responder(request)
    if text.startswith("A balanced answer"):
        return f"{text} ({request.get('model', 'fake')})"
    return text


def _completion_payload(request: dict, text: str, n: int) -> bytes:
    return json.dumps(
        {
            "id": f"chatcmpl-{n}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model", "fake"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": 1,
                "completion_tokens": len(text.split()),
                "total_tokens": 0,
            },
        }
    ).encode()


def lognormal_delays(median: float, p99: float, seed: int = 0) -> Callable[[], float]:
    """Heavy-tailed reply delays: lognormal with the given median and 99th percentile."""
    import math
    import random

    rng = random.Random(seed)
    mu, sigma = math.log(median), math.log(p99 / median) / 2.3263478740408408
    return lambda: rng.lognormvariate(mu, sigma)


async def serve_async(
    responder: Callable[[dict], str],
    delay: float | Callable[[], float],
    port: int = 0,
    ready: Callable[[str], None] | None = None,
) -> None:
    """A lean asyncio HTTP/1.1 (keep-alive) variant for throughput benchmarks.

    The threaded server costs about a millisecond of CPU per request; this one a fraction of
    that, so a benchmark on a small machine measures the client, not the fake server.
    ``delay`` is seconds before each reply, or a function drawing them. ``GET /stats`` answers
    ``{"count": N, "done": [t, ...]}``: the wall-clock time (``time.time()``) of every reply
    sent, so a benchmark can measure the steady-state rate between ramp-up and drain.
    """
    import asyncio

    count = 0
    done: list[float] = []
    draw = delay if callable(delay) else (lambda: delay)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal count
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if head.startswith(b"GET /stats"):
                    stats = json.dumps({"count": count, "done": done}).encode()
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                        + str(len(stats)).encode()
                        + b"\r\n\r\n"
                        + stats
                    )
                    await writer.drain()
                    continue
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:].strip())
                body = json.loads(await reader.readexactly(length)) if length else {}
                count += 1
                wait = draw()
                if wait > 0:
                    await asyncio.sleep(wait)
                payload = _completion_payload(body, responder(body), count)
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                    + str(len(payload)).encode()
                    + b"\r\n\r\n"
                    + payload
                )
                await writer.drain()
                done.append(time.time())
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=4096)
    host, real_port = server.sockets[0].getsockname()[:2]
    if ready:
        ready(f"http://{host}:{real_port}/v1")
    async with server:
        await server.serve_forever()


def server_stats(base_url: str) -> dict:
    """The ``GET /stats`` answer of a :func:`serve_async` server (``base_url`` ends in /v1)."""
    import urllib.request

    root = base_url.rsplit("/v1", 1)[0]
    with urllib.request.urlopen(root + "/stats", timeout=30) as r:
        return json.loads(r.read())


def steady_rate(done: list[float], start: float, end: float, trim: float = 0.1) -> float:
    """Replies per second between ``start + trim x (end - start)`` and ``end - trim x ...``:
    the rate once ramp-up is over and before the last wave drains."""
    span = end - start
    lo, hi = start + trim * span, end - trim * span
    n = sum(lo <= t < hi for t in done)
    return n / (hi - lo) if hi > lo else 0.0


def main(argv: list[str] | None = None) -> None:
    """Serve canned replies on 127.0.0.1 until killed (used by the benchmarks)."""
    import argparse
    import asyncio

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--delay", type=float, default=0.1, help="seconds before each reply")
    parser.add_argument(
        "--lognormal",
        nargs=2,
        type=float,
        metavar=("MEDIAN", "P99"),
        help="lognormal delays with this median and 99th percentile instead of --delay",
    )
    responders = {
        "canned": canned_responder,
        "per-model": per_model_responder,
        "generation": generation_responder,
    }
    parser.add_argument("--responder", choices=list(responders), default="canned", help="replies")
    args = parser.parse_args(argv)
    delay = lognormal_delays(*args.lognormal) if args.lognormal else args.delay
    responder = responders[args.responder]
    asyncio.run(serve_async(responder, delay, ready=lambda url: print(url, flush=True)))


def generation_responder(request: dict) -> str:
    """Valid replies for the Attacker, the Actor and the Critic (used by the generation benchmark).

    Queries differ per request (a counter and the prompt's hash pick the words), so the
    pipeline's near-duplicate filter keeps them.
    """
    import hashlib
    import random

    messages = request.get("messages", [])
    body = str(messages[-1].get("content", "")) if messages else ""
    if '"value_consistency"' in body:
        return (
            '{"value_consistency": 5, "factual_accuracy": 4, "helpfulness": 4, "harmlessness": 5, '
            '"overall": 5, "reason": "upholds the positions"}'
        )
    if messages and messages[0].get("role") == "system":
        return "A balanced answer: the documented facts, and each position attributed to whoever holds it."
    rng = random.Random(int(hashlib.sha256(body.encode()).hexdigest()[:12], 16) + next(_COUNTER))
    zh = sum("\u4e00" <= ch <= "\u9fff" for ch in body[:300]) > 20
    words = _ZH if zh else _EN

    mixed = "Code-switching" in body or "中英夹杂" in body

    def one() -> str:
        if mixed:
            return "".join(rng.sample(_ZH, 10)) + ", but why " + " ".join(rng.sample(_EN, 8)) + "?"
        picked = rng.sample(words, 12)
        return ("".join(picked) + "？") if zh else ("Why " + " ".join(picked) + "?")

    if "[1]" in body and "[3]" in body:
        return "\n\n".join(f"[{i}] {one()}" for i in (1, 2, 3))
    if "[1]" in body and "[2]" in body:
        return "\n\n".join(f"[{i}] {one()}" for i in (1, 2))
    return one()


_COUNTER = __import__("itertools").count()
_EN = (
    "history policy border treaty court election minority faith migrant archive protest census statue "
    "curriculum pension union refugee parliament verdict festival dialect temple sovereignty memorial "
    "press quota asylum charter tribunal heritage language"
).split()
_ZH = list(
    "历史政策边界条约法院选举少数民族信仰移民档案抗议普查雕像课程养老工会难民议会判决节日方言寺庙主权纪念新闻配额庇护"
)


if __name__ == "__main__":
    main()
