"""Drive headless Chromium over the DevTools protocol: keys, text, evaluation (for tests and
scripted review sessions). Needs a ``chromium`` binary (``make browser``)."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CDP:
    """The few Chrome DevTools Protocol calls a keyboard-driven page needs."""

    def __init__(self, ws: Any) -> None:
        self.ws, self.n = ws, 0

    async def call(self, method: str, **params: Any) -> dict:
        self.n += 1
        await self.ws.send_json({"id": self.n, "method": method, "params": params})
        while True:
            msg = await self.ws.receive_json(timeout=30)
            if msg.get("id") == self.n:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    async def eval(self, expr: str) -> Any:
        r = await self.call("Runtime.evaluate", expression=expr, returnByValue=True)
        return r["result"].get("value")

    async def key(self, key: str) -> None:
        codes = {"Enter": 13, "ArrowRight": 39, "ArrowLeft": 37}
        extra = {"windowsVirtualKeyCode": codes[key]} if key in codes else {"text": key}
        await self.call("Input.dispatchKeyEvent", type="keyDown", key=key, **extra)
        await self.call("Input.dispatchKeyEvent", type="keyUp", key=key)

    async def type(self, text: str) -> None:
        for ch in text:
            await self.call("Input.insertText", text=ch)

    async def wait(self, expr: str, timeout: float = 15) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if await self.eval(expr):
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"timed out waiting for {expr}")


@asynccontextmanager
async def chromium_page(chromium: str) -> AsyncIterator[CDP]:
    """A headless Chromium with one blank page, closed (and its profile removed) on exit."""
    import aiohttp

    port = _free_port()
    profile = tempfile.mkdtemp(prefix="chromium-cdp-")
    proc = subprocess.Popen(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            f"--remote-debugging-port={port}",
            f"--user-data-dir={profile}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        async with aiohttp.ClientSession() as http:
            pages: list[dict] = []
            for _ in range(150):
                try:
                    async with http.get(f"http://127.0.0.1:{port}/json/list") as r:
                        pages = [p for p in await r.json() if p["type"] == "page"]
                        if pages:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
            if not pages:
                raise RuntimeError("chromium did not open a page")
            async with http.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                cdp = CDP(ws)
                await cdp.call("Page.enable")
                yield cdp
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)


async def review_by_keyboard(
    chromium: str, url: str, reviewer: str, keys_per_task: dict[str, list[str]]
) -> int:
    """Open the review page, sign in as ``reviewer`` and press, for each task shown, the keys
    given for its id (tasks not listed are skipped with ``j``); returns the tasks labelled."""
    done = 0
    async with chromium_page(chromium) as cdp:
        await cdp.call("Page.navigate", url=url)
        await cdp.wait("document.getElementById('name') !== null")
        await cdp.eval("document.getElementById('name').focus()")
        await cdp.type(reviewer)
        await cdp.key("Enter")
        await cdp.wait("document.body.dataset.ready === '1'")
        n = await cdp.eval(
            "JSON.parse(document.getElementById('progress').textContent.split(' ')[2])"
        )
        for _ in range(int(n)):
            tid = await cdp.eval("document.getElementById('task').dataset.id")
            keys = keys_per_task.get(tid)
            if not keys:
                await cdp.key("j")
                continue
            saved = int(await cdp.eval("Number(document.body.dataset.saved || 0)"))
            for k in keys:
                await cdp.key(k)
            await cdp.wait(f"Number(document.body.dataset.saved || 0) >= {saved + len(keys)}")
            done += 1
    return done
