"""Session 25: ``classifier:prompted``'s settings with the new training texts, on TRAINING data.

Out-of-fold figures (5 folds by item id, as the classifier's own) of the full detector
(prompted vectors at layers 15 + 21, n-grams, keywords, Platt calibration) for a few settings,
each trained on the training set with or without ``extra/more.jsonl``. So that the rows scored
are the same, every figure is computed on the rows of the *base* training set only (the
1,025 texts of session 24); the new texts only add training rows to each fold. Balanced
point: the global Platt threshold with out-of-fold precision >= 0.5 (the shipped rule) and,
for comparison, the grid point with the best weaker-language macro-F1. The held-out split is
never read.

    nice -n 10 env PYTHONPATH=src python benchmarks/prompted_settings_s25.py \
        [--out benchmarks/results/prompted_settings_s25.json]
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

import numpy as np
from prompted_selection import language_figures, write_results

from valuealign.values.classifier import (
    PLATT_GRID,
    _global_heads,
    _labels_at,
    prompted_settings,
    train_classifier,
)
from valuealign.values.labelled import LabelledSet, training_set


def figures(pred: np.ndarray, gold: np.ndarray, langs: np.ndarray, taxonomy) -> dict:
    per = language_figures(pred, gold, langs, taxonomy)
    return {lg: {"n": int((langs == lg).sum()), **v} for lg, v in per.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="benchmarks/results/prompted_settings_s25.json")
    parser.add_argument(
        "--config",
        action="append",
        default=None,
        help="name=C,weight,more[,model,layer+layer] (more: 1 with extra/more.jsonl)",
    )
    args = parser.parse_args()
    full = training_set()
    base_rows = np.array([not i.startswith("m-") for i in full.ids])
    base = LabelledSet(
        tuple(it for it, r in zip(full.items, base_rows, strict=True) if r), full.taxonomy
    )
    configs = args.config or ["base=3,2,0", "more=3,2,1"]
    result: dict = {"train": {"base": len(base), "with_more": len(full)}, "configs": []}
    for spec in configs:
        name, _, rest = spec.partition("=")
        C, weight, more, *vectors = rest.split(",")
        data = full if more == "1" else base
        settings = replace(prompted_settings(0.8), C=float(C), embedding_weight=float(weight))
        if vectors:
            layers = tuple(int(x) for x in vectors[1].split("+"))
            settings = replace(settings, embedding=vectors[0], embedding_layers=layers)
        started = time.perf_counter()
        model = train_classifier(data, settings)
        assert model.oof is not None and model.oof_targets is not None
        keep = np.array([not i.startswith("m-") for i in data.ids])
        q, targets = model.oof[keep], model.oof_targets[keep]
        langs = np.asarray(data.languages)[keep]
        gold = data.labels[keep]
        row: dict = {"name": name, "C": float(C), "weight": float(weight), "more": more == "1"}
        row["embedding"] = [settings.embedding, list(settings.embedding_layers)]
        row["seconds"] = round(time.perf_counter() - started, 1)
        for target in (0.5, 0.8, 0.85, 0.9):
            t, _ = _global_heads(
                model.oof, model.oof_targets, np.asarray(data.languages), data.taxonomy, target
            )
            if more == "1" and target == 0.9:  # every row, for the shipped margin's figures
                every = figures(
                    _labels_at(model.oof, t[0]),
                    data.labels,
                    np.asarray(data.languages),
                    data.taxonomy,
                )
                row["precision>=0.9 all rows"] = {"threshold": t[0], **every}
            row[f"precision>={target}"] = {
                "threshold": t[0],
                **figures(_labels_at(q, t[0]), gold, langs, data.taxonomy),
            }
        best = None
        for t in PLATT_GRID:
            f = figures(_labels_at(q, float(t)), gold, langs, data.taxonomy)
            weaker = min(f["en"]["macro_f1"], f["zh"]["macro_f1"])
            if best is None or weaker > best[0]:
                best = (weaker, float(t), f)
        assert best is not None
        row["best_f1"] = {"threshold": best[1], **best[2]}
        if more == "1":
            balanced = model.at_best_f1()
            every = figures(
                _labels_at(model.oof, float(balanced.thresholds[0])),
                data.labels,
                np.asarray(data.languages),
                data.taxonomy,
            )
            row["best_f1 all rows"] = {"threshold": float(balanced.thresholds[0]), **every}
        del targets
        result["configs"].append(row)
        print(json.dumps(row), flush=True)
    write_results(args.out, result)


if __name__ == "__main__":
    main()
