"""A small OpenAI-compatible chat server on 127.0.0.1 for tests and benchmarks.

It answers ``POST /v1/chat/completions`` with a reply from ``responder(request_json)`` after an
optional fixed delay, or plays scripted faults first (429 with Retry-After, 500, a hang longer
than the client's timeout, a malformed body, a dropped connection). Every request is recorded.

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
    ) -> None:
        self.responder = responder or _default_responder
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
                    payload = json.dumps(
                        {"error": {"message": f"scripted {fault.status}", "type": "server_error"}}
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
