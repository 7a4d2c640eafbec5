"""Local generation a person can watch and stop: Ctrl-C stops between tokens, rows come back as
they finish, chat streams whole characters. The real embedded model, real signals."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from valuealign.backends import GenerateConfig, user

pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[2]
LONG = "Count from 1 to 1000, separated by commas."


def test_streamed_chinese_never_splits_a_character(smollm) -> None:
    pieces: list[str] = []
    prompt = user("请用中文详细介绍一下长城的历史。")
    c = asyncio.run(smollm.generate_streaming(prompt, GenerateConfig(max_tokens=24), pieces.append))
    assert pieces and all("\ufffd" not in p for p in pieces)
    # the oracle: decode the same greedy tokens with the tokenizer directly
    tok = smollm.tokenizer
    enc = tok(smollm.render(prompt), return_tensors="pt", add_special_tokens=False)
    ids = smollm.model.generate(**enc, max_new_tokens=24, do_sample=False)[
        0, enc["input_ids"].shape[1] :
    ]
    ids = ids.tolist()
    assert "".join(pieces) == tok.decode(ids, skip_special_tokens=True).rstrip("\ufffd")
    assert "\ufffd" not in c.text
    cut = [k for k in range(1, len(ids)) if tok.decode(ids[:k]).endswith("\ufffd")]
    assert cut, "some prefix of a Chinese reply ends inside a character (the hazard exists)"
    k = cut[0]
    short = asyncio.run(smollm.generate(prompt, GenerateConfig(max_tokens=k)))
    assert short.finish_reason == "length" and not short.text.endswith("\ufffd")
    assert short.text == tok.decode(ids[:k], skip_special_tokens=True).rstrip("\ufffd").strip()


def test_rows_come_back_as_they_finish(smollm) -> None:
    async def both() -> dict[str, float]:
        t0 = time.perf_counter()
        done: dict[str, float] = {}

        async def one(name: str, prompt: str) -> None:
            c = await smollm.generate(user(prompt), GenerateConfig(max_tokens=96))
            done[name] = time.perf_counter() - t0
            done[name + "_tokens"] = c.completion_tokens

        await asyncio.gather(one("short", "Reply with only the word yes."), one("long", LONG))
        return done

    done = asyncio.run(both())
    assert done["short_tokens"] < done["long_tokens"] == 96
    # one padded batch: without early hand-back both would resolve at the same moment
    assert done["short"] < done["long"] * 0.7, done


def _interrupt(cmd: list[str], ready: str) -> tuple[float, int, str, str, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
        # a job started in the background of a non-interactive shell (as CI may be) inherits an
        # ignored SIGINT, and Python then installs no handler: give the child the default back
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stdout is not None
    seen = ""
    while ready not in seen:  # generation is under way
        ch = proc.stdout.read(1)
        assert ch, f"exited early: {proc.stderr.read() if proc.stderr else ''}"
        seen += ch
    # keep reading while generation runs, with the time each character arrived: what counts is
    # what is printed after the signal (on an idle machine the model prints a dozen tokens in
    # the second before it, which is not a failure to stop)
    arrived: list[tuple[float, str]] = []

    def drain() -> None:
        while ch := proc.stdout.read(1):
            arrived.append((time.time(), ch))

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    time.sleep(1.0)
    sent = time.time()
    proc.send_signal(signal.SIGINT)
    err = proc.stderr.read() if proc.stderr else ""
    proc.wait(timeout=300)
    reader.join(timeout=10)
    rest = "".join(ch for t, ch in arrived if t > sent)
    return time.time() - sent, proc.returncode, rest, err, sent


# This machine is shared and slow (a decoding step can take seconds), so "promptly" is checked
# as "between tokens": what the model produces after the signal, not wall time alone.


def test_ctrl_c_in_chat_stops_between_tokens() -> None:
    took, code, rest, err, _ = _interrupt(
        [sys.executable, "-m", "valuealign", "chat", "--model", "hf/smollm2-135m-instruct",
         "--max-tokens", "2000", LONG],
        ready="2.",
    )  # fmt: skip
    assert code == 130, err
    assert "rerun the same command to resume" in err
    assert len(rest.strip()) <= 24, f"{rest!r} printed after Ctrl-C"  # a token or two
    assert took < 120, f"took {took:.1f}s to stop; 2000 tokens take many minutes here"


def test_ctrl_c_stops_a_batch_between_tokens(tmp_path: Path) -> None:
    script = tmp_path / "batch.py"
    script.write_text(
        "import asyncio, sys, time\n"
        "import valuealign.backends.hf as hf\n"
        "from valuealign.backends import GenerateConfig, user\n"
        "real = hf._watcher\n"
        "def watcher(*args):\n"  # log a timestamp per decoding step
        "    inner = real(*args)[0]\n"
        "    def step(ids, scores, **kw):\n"
        "        print(f'step {time.time()}', file=sys.stderr, flush=True)\n"
        "        return inner(ids, scores, **kw)\n"
        "    return [step]\n"
        "hf._watcher = watcher\n"
        "b = hf.HFBackend('smollm2-135m-instruct'); b.load()\n"
        "print('ready', flush=True)\n"
        "async def main():\n"
        f"    await asyncio.gather(*(b.generate(user({LONG!r} + str(i)), GenerateConfig(max_tokens=2000)) for i in range(4)))\n"
        "try:\n"
        "    asyncio.run(main())\n"
        "except KeyboardInterrupt:\n"
        "    sys.exit(130)\n"
    )
    took, code, _, err, sent = _interrupt([sys.executable, str(script)], ready="ready\n")
    assert code == 130, err
    steps = [float(x.split()[1]) for x in err.splitlines() if x.startswith("step ")]
    after = [t for t in steps if t > sent]
    assert len(after) <= 2, f"{len(after)} decoding steps after Ctrl-C"
    assert took < 120, f"took {took:.1f}s to stop"
