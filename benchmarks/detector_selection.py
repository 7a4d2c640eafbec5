"""Choosing ``classifier:multilingual``'s settings on out-of-fold figures of the TRAINING data.

For each candidate (inverse L2 strength ``C``, embedding block weight), the per-value promote /
oppose heads are trained with 5-fold cross-validation on the training data (the shipped train
split plus every training-only extra set); the out-of-fold probabilities are then turned into
labels by each calibration rule (``head``: per-head thresholds; ``platt``: Platt scaling per head
and one global threshold) at the balanced (0.5) and the high-precision (0.8) targets. Reported
per language: macro-F1, oppose-direction macro-F1, micro precision and recall; and, as
``half_split_high_precision``, how each rule's 0.8 point carries to rows it was not fitted on
(fitted on a random half of the out-of-fold rows, scored on the other half). The held-out split
is never read here. The candidate with the best balanced macro-F1 in its weaker language is
``classifier:multilingual``'s.

    nice -n 19 env PYTHONPATH=src python benchmarks/detector_selection.py \
        [--out benchmarks/results/detector_selection.json]
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from valuealign.values.classifier import (
    _apply_platt,
    _fit_platt,
    _global_heads,
    _heads,
    multilingual_settings,
    train_classifier,
)
from valuealign.values.labelled import training_set
from valuealign.values.metrics import score_detections


def labels_from(q: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    k = q.shape[1] // 2
    t = thresholds.reshape(k, 2)
    t_plus = np.where(np.isnan(t[:, 0]), np.inf, t[:, 0])
    t_minus = np.where(np.isnan(t[:, 1]), np.inf, t[:, 1])
    p_plus, p_minus = q[:, 0::2], q[:, 1::2]
    fire_plus, fire_minus = p_plus >= t_plus, p_minus >= t_minus
    plus_wins = fire_plus & (~fire_minus | (p_plus - t_plus >= p_minus - t_minus))
    return np.where(plus_wins, p_plus, np.where(fire_minus, -p_minus, 0.0))


def figures(train, scores: np.ndarray) -> dict:
    langs = np.asarray(train.languages)
    out = {}
    for lang in ("en", "zh"):
        rep = score_detections(train.labels[langs == lang], scores[langs == lang], train.taxonomy)
        out[lang] = {
            "macro_f1": round(rep.macro_f1, 3),
            "oppose_f1": round(rep.macro_f1_oppose, 3),
            "precision": round(rep.micro.precision, 3),
            "recall": round(rep.micro.recall, 3),
        }
    return out


def half_split_check(raw: np.ndarray, targets: np.ndarray, train, draws: int = 10) -> dict:
    """How each calibration rule's high-precision point carries to unseen rows, on training data
    alone: fit the rule on a random half of the out-of-fold rows, score the other half; mean
    micro precision and recall per language over ``draws`` random halves."""
    langs = np.asarray(train.languages)
    gold = targets[:, 0::2].astype(np.int64) - targets[:, 1::2].astype(np.int64)
    rng = np.random.default_rng(23)
    got: dict[str, dict[str, list[tuple[float, float]]]] = {"head": {}, "platt": {}}
    for _ in range(draws):
        a = rng.random(len(raw)) < 0.5
        th, _ = _heads(raw[a], list(targets[a].T), train.taxonomy, 0.8, 0.3)
        head_pred = np.sign(labels_from(raw, np.asarray(th))).astype(np.int64)
        platt = np.array([_fit_platt(raw[a, h], targets[a, h]) for h in range(raw.shape[1])])
        q = _apply_platt(raw, platt)
        tg, _ = _global_heads(q[a], targets[a], langs[a], train.taxonomy, 0.8)
        platt_pred = np.sign(labels_from(q, np.asarray(tg))).astype(np.int64)
        for rule, pred in (("head", head_pred), ("platt", platt_pred)):
            for lang in ("en", "zh"):
                rows = ~a & (langs == lang)
                fired = pred[rows] != 0
                tp = int((pred[rows][fired] == gold[rows][fired]).sum())
                precision = tp / max(int(fired.sum()), 1)
                recall = tp / max(int((gold[rows] != 0).sum()), 1)
                got[rule].setdefault(lang, []).append((precision, recall))
    return {
        rule: {
            lang: {
                "precision": round(float(np.mean([p for p, _ in v])), 3),
                "recall": round(float(np.mean([r for _, r in v])), 3),
            }
            for lang, v in per.items()
        }
        for rule, per in got.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="benchmarks/results/detector_selection.json")
    parser.add_argument("--C", type=float, action="append", default=None)
    parser.add_argument("--embedding-weight", type=float, action="append", default=None)
    parser.add_argument("--dump", default=None, help="save each candidate's raw out-of-fold arrays")
    args = parser.parse_args()
    train = training_set()
    langs = np.asarray(train.languages)
    result: dict = {"train": {"n": len(train)}, "candidates": []}
    for C in args.C or [0.3, 1.0, 3.0]:
        for weight in args.embedding_weight or [2.0]:
            t0 = time.perf_counter()
            settings = replace(multilingual_settings(0.8), C=C, embedding_weight=weight)
            model = train_classifier(train, settings)
            raw, targets = model.oof, model.oof_targets
            if args.dump:
                np.savez(f"{args.dump}-C{C}-w{weight}.npz", oof=raw, targets=targets, langs=langs)
            rows: dict = {"C": C, "embedding_weight": weight}
            for target in (0.5, 0.8):
                th, _ = _heads(raw, list(targets.T), train.taxonomy, target, 0.3)
                rows[f"head@{target}"] = figures(train, labels_from(raw, np.asarray(th)))
            platt = np.array([_fit_platt(raw[:, h], targets[:, h]) for h in range(raw.shape[1])])
            q = _apply_platt(raw, platt)
            for target in (0.5, 0.8):
                th, _ = _global_heads(q, targets, langs, train.taxonomy, target)
                rows[f"platt@{target}"] = figures(train, labels_from(q, np.asarray(th)))
                rows[f"platt@{target}"]["threshold"] = th[0]
            rows["half_split_high_precision"] = half_split_check(raw, targets, train)
            rows["seconds"] = round(time.perf_counter() - t0, 1)
            result["candidates"].append(rows)
            print(json.dumps(rows), flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print("wrote", out)


if __name__ == "__main__":
    main()
