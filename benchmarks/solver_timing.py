"""Wall-clock time of the PSRO meta-solvers on the two cases the tests once timed.

1. A three-player 8x8x8 game with strictly dominant strategies, 5000 iterations, no early stop
   (``replicator`` and ``mwu``); budget 3 s each.
2. The prisoner's dilemma with ``mwu``, up to 10**8 iterations but ``tol=1e-3``, so the solver
   must stop early; budget 5 s.

Each case runs ``--repeats`` times; the median and the maximum are reported with the budget.
Correctness is the tests' business (tests/consensus/test_solvers.py); this only measures speed.

    .venv/bin/python benchmarks/solver_timing.py [--repeats 5]

Results are printed and saved to benchmarks/results/solver_timing.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from valuealign.consensus.solvers import nash_conv, solve


def dominant_game() -> tuple[list[np.ndarray], tuple[int, ...]]:
    shape, dominant = (8, 8, 8), (5, 2, 7)
    rng = np.random.default_rng(3)
    payoffs = []
    for player, best in enumerate(dominant):
        payoff = rng.uniform(size=shape)
        index: list = [slice(None)] * 3
        index[player] = best
        payoff[tuple(index)] += 2.0
        payoffs.append(payoff)
    return payoffs, dominant


def timed(fn: Callable[[], object], repeats: int) -> tuple[list[float], object]:
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return times, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--out", default=str(Path(__file__).parent / "results" / "solver_timing.json")
    )
    args = parser.parse_args()

    payoffs, dominant = dominant_game()
    pd_row = np.array([[3.0, 0.0], [5.0, 1.0]])
    pd = [pd_row, pd_row.T.copy()]
    cases = {
        **{
            f"dominant-8x8x8-{method}": (
                (lambda m=method: solve(payoffs, method=m, iterations=5000, tol=0.0)),
                3.0,
                lambda xs: [int(np.argmax(x)) for x in xs] == list(dominant),
            )
            for method in ("replicator", "mwu")
        },
        "prisoners-dilemma-mwu-tol": (
            lambda: solve(pd, method="mwu", iterations=10**8, tol=1e-3),
            5.0,
            lambda xs: nash_conv(pd, xs) <= 1e-3,
        ),
    }
    rows = {}
    for name, (fn, budget, check) in cases.items():
        times, xs = timed(fn, args.repeats)
        rows[name] = {
            "median_s": round(statistics.median(times), 4),
            "max_s": round(max(times), 4),
            "budget_s": budget,
            "within_budget": max(times) < budget,
            "correct": bool(check(xs)),
        }
        print(
            f"{name:<28} median {rows[name]['median_s']:.3f}s  max {rows[name]['max_s']:.3f}s  "
            f"budget {budget:.0f}s  {'ok' if rows[name]['within_budget'] else 'OVER'}"
        )
    result = {
        "benchmark": "solver_timing",
        "repeats": args.repeats,
        "machine": {
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
        },
        "cases": rows,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
