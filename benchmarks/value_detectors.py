"""Every value detector side by side on the shipped held-out split, per language.

Detectors: ``keywords``, ``lexicon`` (English dictionaries), the shipped ``classifier`` (MiniLM +
n-grams), the learned multilingual detector (Qwen2.5 0.5B sentence vectors + n-grams +
keywords, per-value logistic heads; trained on the shipped *train* split plus the extra
oppose-heavy set in ``data/values/extra/extra.jsonl``) at two operating points, and, when asked
with ``--llm``, an LLM judge on a subset of the test split.

Operating points of the learned detector (thresholds fitted on out-of-fold probabilities of the
training data, never on the test split):

* ``balanced``: each head fires from the lowest threshold with out-of-fold precision >= 0.5;
* ``high-precision``: the same with precision >= 0.8; below the threshold the detector abstains
  (reports 0 for that value).

Reported per language: n, macro-F1 (direction-correct, macro over values) with a 95% bootstrap
interval (texts resampled, 500 draws), oppose-direction macro-F1, micro precision and recall.
The second annotator's agreement (Cohen's kappa over item x value cells, 3 classes) is computed
from ``data/values/extra/second-annotator.jsonl``.

    PYTHONPATH=src python benchmarks/value_detectors.py \\
        [--llm ct2/qwen2.5-1.5b-instruct --llm-limit 20] [--out benchmarks/results/value_detectors.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from valuealign.values import get_detector, load_labelled
from valuealign.values.classifier import ClassifierSettings, train_classifier
from valuealign.values.labelled import LabelledSet, extra_labelled_path, training_set
from valuealign.values.metrics import score_detections

EMBED_MODEL = "qwen2.5-0.5b-instruct"
BOOTSTRAP = 500


def summarise(gold: np.ndarray, scores: np.ndarray, data: LabelledSet, name: str) -> dict:
    rep = score_detections(gold, scores, data.taxonomy, detector=name)
    micro = rep.micro
    rng = np.random.default_rng(15)
    boot = []
    for _ in range(BOOTSTRAP):
        idx = rng.integers(0, len(gold), len(gold))
        boot.append(score_detections(gold[idx], scores[idx], data.taxonomy).macro_f1)
    ok = ~np.isnan(scores).any(axis=1)
    return {
        "n": len(gold),
        "failed": int((~ok).sum()),
        "macro_f1": round(rep.macro_f1, 3),
        "macro_f1_ci95": [
            round(float(np.percentile(boot, 2.5)), 3),
            round(float(np.percentile(boot, 97.5)), 3),
        ],
        "oppose_f1": round(rep.macro_f1_oppose, 3),
        "promote_f1": round(rep.macro_f1_promote, 3),
        "precision": round(micro.precision, 3),
        "recall": round(micro.recall, 3),
        "predicted": int(micro.predicted),
        "support": int(micro.support),
    }


def agreement() -> dict:
    data = load_labelled()
    first = {it.id: it.vector(data.taxonomy) for it in data}
    path = extra_labelled_path().with_name("second-annotator.jsonl")
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    a, b = [], []
    for r in rows:
        vec = np.zeros(len(data.taxonomy), dtype=np.int64)
        for v, lab in r["values"].items():
            vec[data.taxonomy.values.index(v)] = lab
        a.append(first[r["id"]])
        b.append(vec)
    A, B = np.concatenate(a), np.concatenate(b)
    po = float((A == B).mean())
    pe = sum(float((A == c).mean() * (B == c).mean()) for c in (-1, 0, 1))
    nonzero = (A != 0) | (B != 0)
    return {
        "items": len(rows),
        "cells": int(A.size),
        "cell_agreement": round(po, 3),
        "cohen_kappa": round((po - pe) / (1 - pe), 3),
        "agreement_on_labelled_cells": round(float((A[nonzero] == B[nonzero]).mean()), 3),
        "note": "annotator b is the same author as the first pass, relabelling blind; "
        "not an independent annotator",
    }


def llm_scores(
    spec: str, test: LabelledSet, limit: int, cache: Path
) -> tuple[list[int], np.ndarray]:
    """Indices (first ``limit`` test items per language, by id) and the LLM's scores, cached."""
    rows = []
    for lang in ("en", "zh"):
        mine = sorted(
            (i for i, it in enumerate(test) if it.language == lang), key=lambda i: test.items[i].id
        )
        rows += mine[:limit]
    stored = json.loads(cache.read_text()) if cache.is_file() else {}
    todo = [i for i in rows if test.items[i].id not in stored]
    if todo:
        det = get_detector(f"llm:{spec}")
        t0 = time.perf_counter()
        out = det.detect_many(
            [test.items[i].text for i in todo], [test.items[i].language for i in todo]
        )
        print(f"llm {spec}: {len(todo)} texts in {time.perf_counter() - t0:.0f}s")
        for i, row in zip(todo, out, strict=True):
            stored[test.items[i].id] = [None if np.isnan(x) else float(x) for x in row]
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(stored, ensure_ascii=False))
    scores = np.array(
        [[np.nan if x is None else x for x in stored[test.items[i].id]] for i in rows]
    )
    return rows, scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="benchmarks/results/value_detectors.json")
    parser.add_argument("--llm", action="append", default=[], help="provider/model (repeatable)")
    parser.add_argument("--layer", type=int, default=0, help="-1: last hidden layer; 0: tokens")
    parser.add_argument("--skip", action="append", default=[], help="detector spec to skip")
    parser.add_argument("--llm-limit", type=int, default=20, help="test items per language")
    args = parser.parse_args()

    data = load_labelled()
    test = data.split("test")
    train = training_set()
    gold = test.labels
    langs = np.asarray(test.languages)
    scores: dict[str, np.ndarray] = {}
    t0 = time.perf_counter()
    for spec in ("keywords", "lexicon", "classifier"):
        if spec in args.skip:
            continue
        scores[spec] = get_detector(spec).detect_many(test.texts, test.languages)
    settings = ClassifierSettings(
        embedding=EMBED_MODEL, embedding_layer=args.layer, precision_target=0.8
    )
    hp = train_classifier(train, settings)
    learned = {"balanced": hp.at_precision(0.5), "high-precision": hp}
    for point, model in learned.items():
        scores[f"learned-qwen-L{args.layer} ({point})"] = model.detect_many(
            test.texts, test.languages
        )
    result: dict = {
        "test_split": {
            "n": len(test),
            "by_language": {lg: int((langs == lg).sum()) for lg in ("en", "zh")},
        },
        "train": {"n": len(train), "extra_items": sum(it.id.startswith("x-") for it in train)},
        "detectors": {},
    }
    for name, s in scores.items():
        result["detectors"][name] = {
            lg: summarise(gold[langs == lg], s[langs == lg], test, name) for lg in ("en", "zh")
        }
    for spec in args.llm:
        cache = Path(args.out).with_name(f"llm-detections-{spec.replace('/', '_')}.json")
        rows, s = llm_scores(spec, test, args.llm_limit, cache)
        sub_langs = langs[rows]
        result["detectors"][f"llm:{spec}"] = {
            lg: summarise(gold[rows][sub_langs == lg], s[sub_langs == lg], test, spec)
            for lg in ("en", "zh")
        }
        # the other detectors on the same subset, for a fair comparison
        for name, other in scores.items():
            result["detectors"].setdefault(f"{name} [llm subset]", {})
            for lg in ("en", "zh"):
                result["detectors"][f"{name} [llm subset]"][lg] = summarise(
                    gold[rows][sub_langs == lg], other[rows][sub_langs == lg], test, name
                )
    result["second_annotator"] = agreement()
    result["heads_reaching_0.8"] = learned["high-precision"].training["heads_reaching_target"]
    result["seconds"] = round(time.perf_counter() - t0, 1)
    for name, per in result["detectors"].items():
        for lg, r in per.items():
            print(
                f"{name:40s} {lg} n={r['n']:3d} F1={r['macro_f1']:.3f} {r['macro_f1_ci95']} "
                f"opp={r['oppose_f1']:.3f} P={r['precision']:.3f} R={r['recall']:.3f}"
            )
    print(result["second_annotator"])
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print("wrote", out)


if __name__ == "__main__":
    main()
