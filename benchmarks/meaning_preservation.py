"""Does the meaning measure separate paraphrases from meaning-changing edits and unrelated text?

Reads the shipped zh/en pair set (``valuealign/data/values/meaning-pairs.jsonl``: paraphrases,
negations, swapped actors, changed numbers, unrelated pairs), scores every pair with each
similarity, and reports per language the AUC of "paraphrase scores higher than X" for
X = meaning-changed (negation, swap, number) and X = unrelated, plus the AUC of the fact-keeping
check (numbers, names, key phrases) and of the combined measure used by VISA.

    PYTHONPATH=src python benchmarks/meaning_preservation.py [--out benchmarks/results/meaning_preservation.json]

Vectors are cached on disk (``values/embed.py``), so a rerun takes seconds.
"""

from __future__ import annotations

import argparse
import json
import time
from importlib import resources
from pathlib import Path

import numpy as np

from valuealign.values.facts import fact_keeping
from valuealign.values.similarity import (
    EmbeddingSimilarity,
    MultilingualSimilarity,
    TfidfSimilarity,
    meaning_score,
)

CHANGED = ("negation", "swap", "number")


def auc(pos: list[float], neg: list[float]) -> float:
    """P(score(pos) > score(neg)), ties counted half (Mann-Whitney)."""
    p = np.asarray(pos)[:, None]
    n = np.asarray(neg)[None, :]
    return float(((p > n).sum() + 0.5 * (p == n).sum()) / (p.size * n.size))


def load_pairs() -> list[dict]:
    path = resources.files("valuealign.data.values").joinpath("meaning-pairs.jsonl")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="benchmarks/results/meaning_preservation.json")
    args = parser.parse_args()
    pairs = load_pairs()
    multi = MultilingualSimilarity()
    measures = {
        "tfidf-char": TfidfSimilarity().similarity,
        "minilm-en": EmbeddingSimilarity().similarity,
        "qwen0.5b-meanpool": multi.similarity,
        "facts": lambda a, b: fact_keeping(a, b).score,
        "meaning (qwen x facts)": lambda a, b: meaning_score(a, b, similarity=multi),
    }
    started = time.perf_counter()
    multi.matrix([p["a"] for p in pairs] + [p["b"] for p in pairs])  # warm the cache in one batch
    result: dict = {"n_pairs": {}, "auc": {}}
    for lang in ("en", "zh"):
        mine = [p for p in pairs if p["language"] == lang]
        result["n_pairs"][lang] = {
            k: sum(p["kind"] == k for p in mine) for k in ("paraphrase", *CHANGED, "unrelated")
        }
        for name, fn in measures.items():
            scores = {p["id"]: fn(p["a"], p["b"]) for p in mine}
            para = [scores[p["id"]] for p in mine if p["kind"] == "paraphrase"]
            changed = [scores[p["id"]] for p in mine if p["kind"] in CHANGED]
            unrel = [scores[p["id"]] for p in mine if p["kind"] == "unrelated"]
            row = {
                "paraphrase_vs_changed": round(auc(para, changed), 3),
                "paraphrase_vs_unrelated": round(auc(para, unrel), 3),
                "mean_paraphrase": round(float(np.mean(para)), 3),
                "mean_changed": round(float(np.mean(changed)), 3),
                "mean_unrelated": round(float(np.mean(unrel)), 3),
            }
            for kind in CHANGED:
                sub = [scores[p["id"]] for p in mine if p["kind"] == kind]
                row[f"paraphrase_vs_{kind}"] = round(auc(para, sub), 3)
            result["auc"].setdefault(lang, {})[name] = row
            print(lang, f"{name:24s}", row)
    result["seconds"] = round(time.perf_counter() - started, 1)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print("wrote", out)


if __name__ == "__main__":
    main()
