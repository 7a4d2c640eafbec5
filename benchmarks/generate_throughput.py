"""Throughput of `valuealign generate` against a fixed-delay OpenAI-compatible server on 127.0.0.1,
side by side with distilabel running an equivalent three-step pipeline against the same server.

The server (a separate process) answers after DELAY seconds with canned valid replies for the
Attacker, the Actor and the Critic. Ideal items/s = concurrency / (delay x calls per item), with
3 calls per single-turn item. We report our items/s, the fraction of ideal, the orchestration's
CPU time per item (client process), and distilabel's items/s for the same work (installed in its
own virtual environment by this script: benchmarks/.venv-distilabel).

    .venv/bin/python benchmarks/generate_throughput.py [--items 7000] [--concurrency 64] [--delay 0.1]
        [--lognormal 1 10] [--skip-distilabel] [--skip-per-role] [--label after] [--out FILE]

The server is `valuealign.testing.server` of this checkout (fixed or lognormal delays, reply
times at GET /stats); besides the whole-run rate, the steady-state rate (the middle 80% of the
run, ramp-up and the last wave excluded) is reported for every contender.

Figures are printed and saved to benchmarks/results/generate_throughput.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).parent
DISTILABEL_VENV = HERE / ".venv-distilabel"
SINGLE_TURN = [
    "direct",
    "false-premise",
    "leading-question",
    "role-play",
    "fiction-hypothetical",
    "both-sides-then-pick",
    "authority-bait",
    "emotional-pressure",
    "slogan-request",
    "whataboutism",
]

DISTILABEL_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    from distilabel.llms import OpenAILLM
    from distilabel.pipeline import Pipeline
    from distilabel.steps import LoadDataFromDicts
    from distilabel.steps.tasks import TextGeneration

    base_url, n, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rows = [{"instruction": f"Write an adversarial question number {i} about history."} for i in range(n)]

    def llm():
        return OpenAILLM(model="bench", base_url=base_url, api_key="bench",
                         generation_kwargs={"max_new_tokens": 256})

    with Pipeline(name="three-roles") as pipeline:
        load = LoadDataFromDicts(data=rows, batch_size=batch)
        attacker = TextGeneration(llm=llm(), input_batch_size=batch, output_mappings={"generation": "query"})
        actor = TextGeneration(llm=llm(), input_batch_size=batch, input_mappings={"instruction": "query"},
                               output_mappings={"generation": "answer"})
        critic = TextGeneration(llm=llm(), input_batch_size=batch, input_mappings={"instruction": "answer"},
                                output_mappings={"generation": "critic"})
        load >> attacker >> actor >> critic
    t0 = time.perf_counter()
    distiset = pipeline.run(use_cache=False)
    wall = time.perf_counter() - t0
    print(json.dumps({"items": len(distiset["default"]["train"]), "wall_s": wall}))
    """
)


def _start_server(args: argparse.Namespace) -> tuple[subprocess.Popen, str]:
    from eval_throughput import start_server

    return start_server(args, "generation")


def _timed(base_url: str, fn, *a):
    """Run ``fn``; return its result with the run's wall-clock window and the server's reply
    times inside it."""
    from eval_throughput import server_done

    before = len(server_done(base_url))
    t0 = time.time()
    out = fn(*a)
    t1 = time.time()
    done = server_done(base_url)[before:]
    return out, t0, t1, done


def _tail_share(done: list[float]) -> dict | None:
    """Replies per second in the first and last 10% of the span from the first reply to the
    last, as a fraction of the middle 80%'s (ramp-up and the last wave)."""
    if len(done) < 10:
        return None
    lo, hi = min(done), max(done)
    span = hi - lo
    cuts = (lo, lo + 0.1 * span, hi - 0.1 * span, hi + 1e-9)
    rates = [
        sum(a <= t < b for t in done) / (b - a) if b > a else 0.0
        for a, b in itertools.pairwise(cuts)
    ]
    mid = rates[1] or 1.0
    return {"first_10pct": round(rates[0] / mid, 3), "last_10pct": round(rates[2] / mid, 3)}


def run_ours(base_url: str, items: int, concurrency: int, in_flight: int | None) -> dict:
    # import cost is start-up, paid before timing (as distilabel's imports are): the openai SDK
    # and, since session 25, the lean client's modules (aiohttp alone takes about 0.1 s)
    import openai  # noqa: F401

    import valuealign.backends.openai  # noqa: F401
    from valuealign.generate import GenerateSettings, run_generate

    with tempfile.TemporaryDirectory() as tmp:
        settings = GenerateSettings(
            n=items,
            attacker="openai/bench",
            actor="openai/bench",
            critic="openai/bench",
            strategies=SINGLE_TURN,
            concurrency={"attacker": concurrency, "actor": concurrency, "critic": concurrency},
            max_items_in_flight=in_flight,
        )
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        started = time.time()  # the run's clock starts here, after the imports (as distilabel's)
        t0 = time.perf_counter()
        stats = run_generate(
            Path(tmp) / "g",
            settings,
            backend_options={"base_urls": [base_url], "api_key": "bench"},
            progress=False,
        )
        wall = time.perf_counter() - t0
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = cpu1.ru_utime - cpu0.ru_utime + cpu1.ru_stime - cpu0.ru_stime
    return {
        "pipeline_wall_s": wall,
        "pipeline_started_at": started,
        "counts": stats.counts.model_dump(),
        "cpu_ms_per_item": round(1000 * cpu / items, 3),
    }


def run_distilabel(base_url: str, items: int, concurrency: int) -> dict:
    python = DISTILABEL_VENV / "bin" / "python"
    try:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(DISTILABEL_VENV)], check=True)
            subprocess.run(
                [str(python), "-m", "pip", "install", "-q", "distilabel[openai]", "requests"],
                check=True,
            )
        script = Path(tempfile.mkstemp(suffix=".py")[1])
        script.write_text(DISTILABEL_SCRIPT)
        env = {**os.environ, "DISTILABEL_LOG_LEVEL": "ERROR"}
        r = subprocess.run(
            [str(python), str(script), base_url, str(items), str(concurrency)],
            capture_output=True,
            text=True,
            env=env,
            timeout=1800,
        )
        if r.returncode != 0:
            return {"error": r.stderr[-800:]}
        return json.loads(r.stdout.strip().splitlines()[-1])
    except (subprocess.SubprocessError, OSError, ValueError) as e:
        return {"error": f"{type(e).__name__}: {e}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=7000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--lognormal", nargs=2, type=float, metavar=("MEDIAN", "P99"))
    parser.add_argument("--skip-distilabel", action="store_true")
    parser.add_argument("--skip-per-role", action="store_true")
    parser.add_argument("--label", default="")
    parser.add_argument("--out", default=str(HERE / "results" / "generate_throughput.json"))
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    from eval_throughput import mean_delay, window_rate

    import valuealign

    server, base_url = _start_server(args)
    ideal = args.concurrency / (mean_delay(args) * 3)

    def summary(run: tuple, note: str) -> dict:
        out, t0, t1, done = run
        # every contender's clock starts after its interpreter and imports are up: distilabel's
        # at pipeline.run(), ours at run_generate() (before session 24 ours started before
        # importing the openai SDK and valuealign.generate, about 0.4 s, against the intent)
        wall = out.pop("pipeline_wall_s", t1 - t0)
        process_wall = t1 - t0
        started = out.pop("pipeline_started_at", None)
        if started is not None:  # the run's own window (first and last reply measured in it)
            t0, t1 = started, started + wall
        steady = window_rate(done, min(done), max(done)) / 3 if done else 0.0  # 3 replies/item
        return {
            **out,
            "wall_s": round(wall, 2),
            "process_wall_s": round(process_wall, 2),
            "items_per_s": round(args.items / wall, 1),
            "fraction_of_ideal": round(args.items / wall / ideal, 3),
            "steady_items_per_s": round(steady, 1),
            "steady_fraction_of_ideal": round(steady / ideal, 3),
            "requests_seen_by_server": len(done),
            # where the whole run loses against the steady state: before the first reply (the
            # run's start-up, plus one delay), and after the last reply (writing the results)
            "first_reply_after_s": round(min(done) - t0, 3) if done else None,
            "after_last_reply_s": round(t1 - max(done), 3) if done else None,
            "tail_share": _tail_share(done),
            "note": note,
        }

    try:
        # (a) at most `concurrency` requests in flight in all: the ideal rate applies
        ours = _timed(base_url, run_ours, base_url, args.items, args.concurrency, args.concurrency)
        # (b) `concurrency` per role, as `valuealign generate --concurrency` means it and as
        #     distilabel runs (each of its three steps sends batches of `concurrency` at once)
        per_role = (
            None
            if args.skip_per_role
            else _timed(base_url, run_ours, base_url, args.items, args.concurrency, None)
        )
        theirs = (
            None
            if args.skip_distilabel
            else _timed(base_url, run_distilabel, base_url, args.items, args.concurrency)
        )
    finally:
        server.kill()
    result = {
        "benchmark": "generate_throughput",
        "label": args.label,
        "valuealign_src": "this checkout"
        if Path(valuealign.__file__).parent.parent.resolve() == Path("src").resolve()
        else "another checkout",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "items": args.items,
        "concurrency": args.concurrency,
        "delay": {"lognormal_median_p99": args.lognormal}
        if args.lognormal
        else {"fixed_s": args.delay},
        "mean_delay_s": round(mean_delay(args), 4),
        "calls_per_item": 3,
        "ideal_items_per_s": round(ideal, 1),
        "valuealign": summary(ours, f"at most {args.concurrency} requests in flight in all"),
        "target_fraction": 0.9,
        "note": "wall_s: the run (for distilabel its pipeline.run(), start-up excluded); steady = "
        "replies the server sent in the middle 80% of the span from the first reply to the "
        "last / that time / 3, the same for every contender, from the same server",
    }
    if per_role is not None:
        result["valuealign_per_role"] = summary(
            per_role,
            f"{args.concurrency} requests in flight per role, as distilabel's three steps run",
        )
    if theirs is not None:
        if "wall_s" in theirs[0]:
            theirs[0]["pipeline_wall_s"] = theirs[0].pop("wall_s")
            result["distilabel"] = summary(
                theirs, f"three TextGeneration steps, batches of {args.concurrency}"
            )
            d = result["distilabel"]["items_per_s"]
            if per_role is not None:
                result["speedup_vs_distilabel"] = round(
                    result["valuealign_per_role"]["items_per_s"] / d, 2
                )
            result["speedup_vs_distilabel_total_bounded"] = round(
                result["valuealign"]["items_per_s"] / d, 2
            )
        else:
            result["distilabel"] = theirs[0]
        result["target_speedup"] = 2.0
    print(json.dumps(result, indent=2))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
