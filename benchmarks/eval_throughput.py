"""Throughput of `valuealign eval` against a fixed-delay OpenAI-compatible server on 127.0.0.1.

The server (a separate process) answers every request after DELAY seconds with canned valid
replies. The whole benchmark (vcbench + vcbench-benign, zh + en) is answered by one model and
judged by one judge, plus the cross-lingual consistency judgements. Ideal rate:
concurrency / delay requests per second; we report the achieved fraction of it, items/s, and
the orchestration's CPU time per request (client process only).

    .venv/bin/python benchmarks/eval_throughput.py [--delay 0.1] [--concurrency 64]

Results are printed and saved to benchmarks/results/eval_throughput.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _bare_backend(base_url: str, concurrency: int, n: int) -> float:
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
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--out", default=str(Path(__file__).parent / "results" / "eval_throughput.json")
    )
    args = parser.parse_args()

    import openai  # noqa: F401  (import cost is start-up, not throughput: paid before timing)

    from valuealign.evaluate import EvalSettings, run_eval

    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from valuealign.testing.server import main; main()",
            "--delay",
            str(args.delay),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        base_url = server.stdout.readline().strip()
        with tempfile.TemporaryDirectory() as tmp:
            settings = EvalSettings(
                models=["openai/bench-model"],
                judges=["openai/bench-judge"],
                concurrency=args.concurrency,
                max_tokens=256,
            )
            options = {"base_urls": [base_url], "api_key": "bench", "concurrency": args.concurrency}
            cpu0 = resource.getrusage(resource.RUSAGE_SELF)
            t0 = time.perf_counter()
            run_eval(Path(tmp) / "run", settings, backend_options=options, progress=False)
            wall = time.perf_counter() - t0
            cpu1 = resource.getrusage(resource.RUSAGE_SELF)
            manifest = json.loads((Path(tmp) / "run" / "manifest.json").read_text())
        bare_wall = _bare_backend(base_url, args.concurrency, 1118)
    finally:
        server.kill()
    c = manifest["counts"]
    units = c["planned_answers"]
    requests = (
        c.get("answers", 0) + c.get("judgements", 0) + c.get("parse_failures", 0) + units // 2 * 0
    )
    consistency = units // 2 - 52  # consistency pairs: non-benign items (182) x 1 model
    requests = (
        c.get("answers", 0) + c.get("judgements", 0) + c.get("parse_failures", 0) + consistency
    )
    ideal_seconds = requests * args.delay / args.concurrency
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    result = {
        "benchmark": "eval_throughput",
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores, Python {platform.python_version()}",
        "delay_s": args.delay,
        "concurrency": args.concurrency,
        "answer_units": units,
        "requests": requests,
        "wall_s": round(wall, 3),
        "requests_per_s": round(requests / wall, 1),
        "ideal_requests_per_s": round(args.concurrency / args.delay, 1),
        "fraction_of_ideal": round(ideal_seconds / wall, 3),
        "items_per_s": round(units / wall, 1),
        "client_cpu_ms_per_request": round(1000 * cpu / requests, 3),
        "target_fraction": 0.9,
        "bare_backend_fraction_of_ideal": round(
            1118 * args.delay / args.concurrency / bare_wall, 3
        ),
        "note": "bare_backend: the same number of requests through OpenAIBackend alone (no pipeline), "
        "the floor set by the openai SDK and the event loop on this machine",
    }
    print(json.dumps(result, indent=2))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
