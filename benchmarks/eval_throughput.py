"""Throughput of `valuealign eval` against an OpenAI-compatible server on 127.0.0.1.

The server (a separate process, always this checkout's `valuealign.testing.server`) answers
every request after a fixed DELAY, or after a lognormal delay (`--lognormal MEDIAN P99`), with
canned valid replies. The whole benchmark (vcbench + vcbench-benign, zh + en) is answered by
`--models` models (distinct names, so their answers are not cached; one global concurrency
bound) and judged by one judge, plus the cross-lingual consistency judgements.

`--answers per-model` (the default since session 24): the fake server's answers name the model
that gives them, so every model's answers differ and every judge request is real work, as in a
real evaluation: 468 answers and 650 judge requests per model, 20,124 requests for the default
18 models (31 s at the ideal rate of 640/s). `--answers same` is the earlier workload: every
model gets the same answers, so the judge's requests after the first model's are cache hits
that the server never sees (468 answers per model plus 650 judge requests once, 19,370
requests for the then default 40 models); those cache hits queue behind all the answers and run
after the last server reply, which held the whole-run rate down (0.77) in a way no real
evaluation sees. Ideal rate: concurrency / mean delay requests per second. Reported: the
achieved fraction of it over the whole run and in the steady state (the middle 80% of the span
from the first reply to the last, from the server's reply times: ramp-up and the last wave
excluded), items/s, the orchestration's CPU time per request (client process), and the time
before the first reply and after the last. Then the same number of requests through the bare
backend (no pipeline).

    .venv/bin/python benchmarks/eval_throughput.py [--delay 0.1] [--concurrency 64] [--models 40]
        [--lognormal 1 10] [--answers per-model|same] [--label after] [--out FILE]

Run with another checkout's `src` first on PYTHONPATH to measure that code's client against the
same server (the README's before/after figures). Results are printed and saved to
benchmarks/results/eval_throughput.json (or --out).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
SRC = HERE.parent / "src"


def start_server(args: argparse.Namespace, responder: str) -> tuple[subprocess.Popen, str]:
    """The lean asyncio server of this checkout (it has the /stats endpoint)."""
    cmd = [
        sys.executable,
        "-c",
        "from valuealign.testing.server import main; main()",
        "--responder",
        responder,
    ]
    cmd += (
        ["--lognormal", *map(str, args.lognormal)]
        if args.lognormal
        else ["--delay", str(args.delay)]
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    return proc, proc.stdout.readline().strip()


def server_done(base_url: str) -> list[float]:
    import urllib.request

    root = base_url.rsplit("/v1", 1)[0]
    with urllib.request.urlopen(root + "/stats", timeout=60) as r:
        return json.loads(r.read())["done"]


def mean_delay(args: argparse.Namespace) -> float:
    if not args.lognormal:
        return args.delay
    median, p99 = args.lognormal
    sigma = math.log(p99 / median) / 2.3263478740408408
    return median * math.exp(sigma**2 / 2)


def window_rate(done: list[float], start: float, end: float, trim: float = 0.1) -> float:
    """Replies per second in the middle of [start, end] (``trim`` cut off each side)."""
    span = end - start
    lo, hi = start + trim * span, end - trim * span
    n = sum(lo <= t < hi for t in done)
    return n / (hi - lo) if hi > lo else 0.0


def bare_backend(base_url: str, concurrency: int, n: int) -> float:
    import asyncio

    from valuealign.backends import GenerateConfig, aclose_all, get_backend, user

    backend = get_backend(
        "openai/bare", base_urls=[base_url], api_key="bench", concurrency=concurrency
    )

    async def run() -> float:
        t0 = time.perf_counter()
        await asyncio.gather(*[backend.generate(user(f"q{i}"), GenerateConfig()) for i in range(n)])
        wall = time.perf_counter() - t0
        await aclose_all(backend)
        return wall

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--lognormal", nargs=2, type=float, metavar=("MEDIAN", "P99"))
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--answers",
        choices=["per-model", "same"],
        default="per-model",
        help="each model its own answers (default), or all the same (judge requests cached)",
    )
    parser.add_argument(
        "--models", type=int, help="models answering (default 18 per-model, 40 same)"
    )
    parser.add_argument("--label", default="", help="a name for this run in the results")
    parser.add_argument("--out", default=str(HERE / "results" / "eval_throughput.json"))
    args = parser.parse_args()
    if args.models is None:
        args.models = 18 if args.answers == "per-model" else 40

    import valuealign
    import valuealign.backends.openai  # start-up, paid before the clock (session 25)
    from valuealign.evaluate import EvalSettings, run_eval

    server, base_url = start_server(args, "per-model" if args.answers == "per-model" else "canned")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = EvalSettings(
                models=[f"openai/bench-model-{i}" for i in range(args.models)],
                judges=["openai/bench-judge"],
                concurrency=args.concurrency,
                max_tokens=256,
            )
            options = {"base_urls": [base_url], "api_key": "bench", "concurrency": args.concurrency}
            before = len(server_done(base_url))
            cpu0 = resource.getrusage(resource.RUSAGE_SELF)
            t0 = time.time()
            run_eval(Path(tmp) / "run", settings, backend_options=options, progress=False)
            t1 = time.time()
            cpu1 = resource.getrusage(resource.RUSAGE_SELF)
            manifest = json.loads((Path(tmp) / "run" / "manifest.json").read_text())
        done = server_done(base_url)
        requests = len(done) - before
        eval_done = done[before:]
        bare_wall = bare_backend(base_url, args.concurrency, requests)
        bare_done = server_done(base_url)[len(done) :]
    finally:
        server.kill()
    wall = t1 - t0
    ideal = args.concurrency / mean_delay(args)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    steady = window_rate(eval_done, min(eval_done), max(eval_done))
    bare_steady = window_rate(bare_done, min(bare_done), max(bare_done))
    result = {
        "benchmark": "eval_throughput",
        "label": args.label,
        "valuealign_src": "this checkout"
        if Path(valuealign.__file__).parent.parent.resolve() == Path("src").resolve()
        else "another checkout",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "delay": {"lognormal_median_p99": args.lognormal}
        if args.lognormal
        else {"fixed_s": args.delay},
        "mean_delay_s": round(mean_delay(args), 4),
        "concurrency": args.concurrency,
        "models": args.models,
        "answers": args.answers,
        "answer_units": manifest["counts"]["planned_answers"],
        "requests": requests,
        "wall_s": round(wall, 2),
        "ideal_requests_per_s": round(ideal, 1),
        "requests_per_s": round(requests / wall, 1),
        "fraction_of_ideal": round(requests / wall / ideal, 3),
        "steady_requests_per_s": round(steady, 1),
        "steady_fraction_of_ideal": round(steady / ideal, 3),
        "client_cpu_ms_per_request": round(1000 * cpu / requests, 3),
        # where the whole run loses against the steady state (session 25): before the first
        # reply (start-up, plus one delay) and after the last (reading back, scoring, writing)
        "first_reply_after_s": round(min(eval_done) - t0, 3),
        "after_last_reply_s": round(t1 - max(eval_done), 3),
        "bare_backend": {
            "requests": requests,
            "wall_s": round(bare_wall, 2),
            "fraction_of_ideal": round(requests / bare_wall / ideal, 3),
            "steady_fraction_of_ideal": round(bare_steady / ideal, 3),
        },
        "target_fraction": 0.9,
        "note": "requests counted by the server; steady = replies in the middle 80% of the span "
        "from the first reply to the last / that time; bare_backend: the same number of requests through "
        "OpenAIBackend alone (no pipeline)",
    }
    print(json.dumps(result, indent=2))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
