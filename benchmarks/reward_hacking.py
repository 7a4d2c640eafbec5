"""The reward-hacking texts of ``tests/visa/test_visa_reward_hacking.py`` scored under any
detector: which tricks (copy, empty, keyword stuffing, fact loss, reversed decision, changed
amount, language switch) earn what, beside the honest rewrite, in English and Chinese.

The test asserts the default reward (``keywords``); this script measures the others, e.g. the
learned detectors, whose first use trains them (``classifier:prompted-1.5b``: about 17 minutes
of embedding on 2 CPU cores when its vectors are not cached, then about 3 minutes).

    PYTHONPATH=src python benchmarks/reward_hacking.py --detector classifier:prompted-1.5b
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detector", action="append", help="detector spec (repeatable)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "reward_hacking.json")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE.parent / "tests" / "visa"))
    from test_visa_reward_hacking import ORIGINAL, TARGET, TRICKS

    from valuealign.visa import VisaReward

    rows = []
    for spec in args.detector or ["keywords"]:
        reward = VisaReward(detector=spec)
        for lang in ("en", "zh"):
            t0 = time.perf_counter()
            texts = {"copy": ORIGINAL[lang], "empty": "", **TRICKS[lang]}
            for name, text in texts.items():
                b = reward.score(ORIGINAL[lang], text, TARGET, lang)
                rows.append(
                    {
                        "detector": spec,
                        "language": lang,
                        "text": name,
                        "reward": round(b.reward, 3),
                        "value_precision": round(b.value_precision, 3),
                        "similarity": round(b.similarity, 3),
                        "gated": b.gated,
                        "stuffing": bool(b.stuffing),
                    }
                )
                print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
            print(f"{spec} {lang}: {time.perf_counter() - t0:.1f} s", flush=True)
    verdict = {}
    for spec in args.detector or ["keywords"]:
        for lang in ("en", "zh"):
            mine = {
                r["text"]: r["reward"]
                for r in rows
                if (r["detector"], r["language"]) == (spec, lang)
            }
            tricks = [k for k in mine if k not in ("honest", "copy")]
            verdict[f"{spec}|{lang}"] = {
                "honest": mine["honest"],
                "copy": mine["copy"],
                "best_trick": max(tricks, key=mine.__getitem__),
                "best_trick_reward": max(mine[k] for k in tricks),
                "honest_beats_every_trick": all(mine[k] < mine["honest"] for k in tricks),
                "no_trick_beats_a_copy": all(mine[k] <= mine["copy"] for k in tricks),
            }
    result = {
        "benchmark": "reward_hacking",
        "checkout": "this checkout",
        "machine": f"{os.cpu_count()} CPU cores",
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "target": TARGET,
        "rows": rows,
        "verdict": verdict,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(verdict, indent=2))


if __name__ == "__main__":
    main()
