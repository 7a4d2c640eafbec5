"""Session 25: does Qwen2.5 1.5B's prompted vectors beat the 0.5B's? A TRAINING-data screen.

On a fixed subsample of the training texts (``--per-language`` per language, chosen by a hash
of the id; the held-out split is never read), the vectors-only out-of-fold screen of
``benchmarks/prompted_selection.py`` (20 promote / oppose heads fitted jointly, 5 folds by id,
one global threshold, weaker language's macro-F1) for the 0.5B's chosen vectors (text-mean +
last token at layers 15 + 21) and the 1.5B's at a few layer sets (the 1.5B has 28 layers; the
prompted pass stores layers 6, 9, ..., 24). The 1.5B pass costs about three times the 0.5B's.

    nice -n 10 env PYTHONPATH=src python benchmarks/prompted_15b_screen.py \
        [--out benchmarks/results/prompted_15b_screen.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time

import numpy as np
from prompted_selection import best_threshold, out_of_fold, write_results

from valuealign.values.embed import embed_prompted
from valuealign.values.labelled import LabelledSet, training_set

BIG = "qwen2.5-1.5b-instruct"
SMALL = "qwen2.5-0.5b-instruct"
CANDIDATES = (
    (SMALL, "mean+last", (15, 21)),
    (BIG, "mean+last", (15, 21)),
    (BIG, "mean+last", (18, 24)),
    (BIG, "mean+last", (12, 18, 24)),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-language", type=int, default=200)
    parser.add_argument("--out", default="benchmarks/results/prompted_15b_screen.json")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(2)
    full = training_set()
    order = sorted(full.items, key=lambda it: hashlib.sha256(f"s25:{it.id}".encode()).digest())
    picked = [it for it in order if it.language == "en"][: args.per_language]
    picked += [it for it in order if it.language == "zh"][: args.per_language]
    sub = LabelledSet(tuple(picked), full.taxonomy)
    started = time.perf_counter()
    embed_prompted(sub.texts, BIG, layers=(24,), pooling="last")
    cost = time.perf_counter() - started
    result: dict = {"n": len(sub), "big_seconds_uncached": round(cost, 1), "candidates": []}
    print("1.5B vectors:", round(cost, 1), "s", flush=True)
    torch.set_num_threads(1)
    for model, pooling, layers in CANDIDATES:
        X = embed_prompted(sub.texts, model, layers=layers, pooling=pooling).astype(np.float32)
        for C in (1.0, 3.0):
            row = {"model": model, "vectors": f"{pooling}@{layers}", "C": C}
            row.update(best_threshold(out_of_fold(X, sub, C), sub))
            result["candidates"].append(row)
            print(json.dumps(row), flush=True)
    write_results(args.out, result)


if __name__ == "__main__":
    main()
