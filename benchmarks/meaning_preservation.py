"""Does the meaning measure separate paraphrases from meaning-changing edits and unrelated text?

Reads the shipped zh/en pair sets (paraphrases, negations, swapped actors, changed numbers,
unrelated pairs): ``meaning-pairs.jsonl`` (the **dev** set: the conflict cues and the judge
prompt of :mod:`valuealign.values.meaning` were written while looking at it) and
``meaning-pairs-heldout.jsonl`` (the **held-out** set: written before those were tuned, scored
once). Every pair is scored with each measure, and per set and language the AUC of "paraphrase
scores higher than X" is reported for X = meaning-changed (negation, swap, number; and each
kind) and X = unrelated, with a 95% bootstrap interval (pairs resampled within each class,
1000 draws) and the class counts.

Measures: character TF-IDF, MiniLM (English model), Qwen 0.5B vectors, facts kept, the old
``meaning_score`` (Qwen x facts x negation parity), the conflict cues alone, Qwen x cues
without the swapped-roles cue (session 22's measure), Qwen x cues (``MeaningMeasure`` without
a judge, what ``similarity: meaning`` uses by default; the swap cue was written on the dev set
and scored once on the held-out set) and, with
``--judge ct2/qwen2.5-0.5b-instruct``, the judge's P(same facts) alone and Qwen x cues x judge.
Judge answers are cached per pair in ``meaning-judge-<model>.json`` beside ``--out``.

    nice -n 19 env PYTHONPATH=src python benchmarks/meaning_preservation.py \
        [--judge ct2/qwen2.5-0.5b-instruct] [--out benchmarks/results/meaning_preservation.json]

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
from valuealign.values.meaning import MeaningMeasure
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


def auc_ci(pos: list[float], neg: list[float], draws: int = 1000) -> list[float]:
    """95% percentile bootstrap interval of :func:`auc` (each class resampled on its own)."""
    rng = np.random.default_rng(15)
    p, n = np.asarray(pos), np.asarray(neg)
    vals = [
        auc(list(p[rng.integers(0, len(p), len(p))]), list(n[rng.integers(0, len(n), len(n))]))
        for _ in range(draws)
    ]
    return [round(float(np.percentile(vals, 2.5)), 3), round(float(np.percentile(vals, 97.5)), 3)]


def load_pairs(name: str = "meaning-pairs.jsonl") -> list[dict]:
    path = resources.files("valuealign.data.values").joinpath(name)
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


SETS = {"dev": "meaning-pairs.jsonl", "heldout": "meaning-pairs-heldout.jsonl"}


def judge_scores(spec: str, pairs: list[dict], cache: Path) -> dict[str, float]:
    """P(same facts) per pair id from the judge model, cached in ``cache`` (resumable)."""
    stored: dict[str, float] = (
        json.loads(cache.read_text(encoding="utf-8")) if cache.is_file() else {}
    )
    todo = [p for p in pairs if p["id"] not in stored]
    if todo:
        from valuealign.backends import get_backend

        measure = MeaningMeasure(judge=get_backend(spec))
        t0 = time.perf_counter()
        for k, pair in enumerate(todo, start=1):
            stored[pair["id"]] = round(measure.p_same(pair["a"], pair["b"], pair["language"]), 5)
            if k % 10 == 0 or k == len(todo):
                cache.write_text(json.dumps(stored, indent=0) + "\n", encoding="utf-8")
                print(f"judge {spec}: {k}/{len(todo)} pairs, {time.perf_counter() - t0:.0f}s")
    return stored


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="benchmarks/results/meaning_preservation.json")
    parser.add_argument("--judge", default=None, help="local model for the same-meaning judge")
    args = parser.parse_args()
    sets = {name: load_pairs(file) for name, file in SETS.items()}
    multi = MultilingualSimilarity()
    cues_only = MeaningMeasure(similarity_model=_One())
    with_cues = MeaningMeasure(similarity_model=multi)
    without_swap = MeaningMeasure(similarity_model=multi, swap_cue=False)
    measures = {
        "tfidf-char": TfidfSimilarity().similarity,
        "minilm-en": EmbeddingSimilarity().similarity,
        "qwen0.5b-meanpool": multi.similarity,
        "facts": lambda a, b, lang: fact_keeping(a, b).score,
        "meaning_score (qwen x facts x parity, old)": lambda a, b, lang: meaning_score(
            a, b, similarity=multi
        ),
        "conflict cues alone": lambda a, b, lang: cues_only.check(a, b, lang).score,
        "qwen x cues without the swap cue (session 22)": lambda a, b, lang: (
            without_swap.check(a, b, lang).score
        ),
        "qwen x cues (MeaningMeasure)": lambda a, b, lang: with_cues.check(a, b, lang).score,
    }
    started = time.perf_counter()
    every = [p for pairs in sets.values() for p in pairs]
    multi.matrix([p["a"] for p in every] + [p["b"] for p in every])  # warm the cache
    judged: dict[str, float] = {}
    if args.judge:
        cache = Path(args.out).with_name(f"meaning-judge-{args.judge.replace('/', '_')}.json")
        judged = judge_scores(args.judge, every, cache)
        measures[f"judge {args.judge} P(same)"] = lambda a, b, lang, _p=None: _p
        measures[f"qwen x cues x judge {args.judge}"] = lambda a, b, lang, _p=None: (
            with_cues.check(a, b, lang).score * _p
        )
    result: dict = {"sets": SETS, "n_pairs": {}, "auc": {}, "judge": args.judge}
    for set_name, pairs in sets.items():
        for lang in ("en", "zh"):
            mine = [p for p in pairs if p["language"] == lang]
            result["n_pairs"].setdefault(set_name, {})[lang] = {
                k: sum(p["kind"] == k for p in mine) for k in ("paraphrase", *CHANGED, "unrelated")
            }
            for name, fn in measures.items():
                if name.startswith(("judge ", "qwen x cues x judge")):
                    scores = {p["id"]: fn(p["a"], p["b"], lang, judged[p["id"]]) for p in mine}
                elif name in ("tfidf-char", "minilm-en", "qwen0.5b-meanpool"):
                    scores = {p["id"]: fn(p["a"], p["b"]) for p in mine}
                else:
                    scores = {p["id"]: fn(p["a"], p["b"], lang) for p in mine}
                para = [scores[p["id"]] for p in mine if p["kind"] == "paraphrase"]
                changed = [scores[p["id"]] for p in mine if p["kind"] in CHANGED]
                unrel = [scores[p["id"]] for p in mine if p["kind"] == "unrelated"]
                row = {
                    "paraphrase_vs_changed": round(auc(para, changed), 3),
                    "paraphrase_vs_changed_ci95": auc_ci(para, changed),
                    "paraphrase_vs_unrelated": round(auc(para, unrel), 3),
                    "paraphrase_vs_unrelated_ci95": auc_ci(para, unrel),
                    "mean_paraphrase": round(float(np.mean(para)), 3),
                    "mean_changed": round(float(np.mean(changed)), 3),
                    "mean_unrelated": round(float(np.mean(unrel)), 3),
                }
                for kind in CHANGED:
                    sub = [scores[p["id"]] for p in mine if p["kind"] == kind]
                    row[f"paraphrase_vs_{kind}"] = round(auc(para, sub), 3)
                result["auc"].setdefault(set_name, {}).setdefault(lang, {})[name] = row
                print(
                    f"{set_name:7s} {lang} {name:44s} vs-changed {row['paraphrase_vs_changed']:.2f}"
                    f" {row['paraphrase_vs_changed_ci95']} vs-unrelated "
                    f"{row['paraphrase_vs_unrelated']:.2f} (neg {row['paraphrase_vs_negation']:.2f}"
                    f" swap {row['paraphrase_vs_swap']:.2f} num {row['paraphrase_vs_number']:.2f})"
                )
    result["seconds"] = round(time.perf_counter() - started, 1)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print("wrote", out)


class _One:
    """A similarity that is always 1: isolates the conflict cues."""

    def similarity(self, a: str, b: str) -> float:
        return 1.0


if __name__ == "__main__":
    main()
