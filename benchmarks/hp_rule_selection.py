"""Choosing the high-precision rule of the learned detector on the TRAINING data alone.

Session 24's ``classifier:prompted`` chose one global Platt threshold at which the out-of-fold
micro precision reached 0.8 (0.81 out of fold) and got 0.71 on the held-out split: the rule
did not carry. This script measures, before any held-out text is read, whether a rule carries:
it emulates deployment inside the training data. The training texts are split in two parts
(``--split half``: by a hash of the id, both ways round; ``--split source``: the texts of one
training file against all the others, a shift between separately written sets like the one
between the training data and the held-out extension); the whole detector (vectors, n-grams,
keywords, 5-fold out-of-fold probabilities, Platt scaling) is trained on one part, each rule
picks its threshold on that part's out-of-fold probabilities only, and the other part is
scored at that threshold. Reported per rule and language: the precision and recall on the
unseen part, pooled over the splits.

Rules (``t`` is a threshold on the Platt-scaled probabilities, one for every head):

* ``point>=P``: the lowest t from which the out-of-fold precision stays >= P in each language
  (session 24's rule with P = 0.8);
* ``wilson>=0.8``: the lowest t from which the Wilson 95% lower bound of the out-of-fold
  precision stays >= 0.8 in each language;
* ``*-lang``: the same, one threshold per language;
* ``agree``: a label is given only when the prompted detector and ``classifier:multilingual``
  both give it at their own thresholds (with ``--agree``).

The held-out split is never read. Per-split probabilities are kept in ``--cache`` (an .npz per
split and detector), so new rules cost no retraining.

    nice -n 10 env PYTHONPATH=src python benchmarks/hp_rule_selection.py \
        [--split half] [--split source] [--agree] [--out benchmarks/results/hp_rule_selection.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from valuealign.values.classifier import (
    PLATT_GRID,
    ClassifierSettings,
    _labels_at,
    best_f1_threshold,
    multilingual_settings,
    prompted_settings,
    train_classifier,
    wilson_lower,
)
from valuealign.values.labelled import LabelledSet, training_set
from valuealign.values.taxonomy import SCHWARTZ10

MIN_LABELS = 20


def gold_of(labels: np.ndarray) -> np.ndarray:
    return labels.astype(np.int64)


def precision_table(q: np.ndarray, gold: np.ndarray) -> list[tuple[float, int, int]]:
    """(t, labels given, labels right) at each grid point."""
    out = []
    for t in PLATT_GRID:
        pred = _labels_at(q, float(t))
        fired = pred != 0
        out.append((float(t), int(fired.sum()), int((pred[fired] == gold[fired]).sum())))
    return out


def choose(q: np.ndarray, gold: np.ndarray, langs: np.ndarray, rule: str) -> dict[str, float]:
    """Threshold(s) per language chosen by ``rule`` on out-of-fold (q, gold)."""
    if rule == "best-f1":
        t = best_f1_threshold(q, gold, langs, SCHWARTZ10)[0]
        return {"en": t, "zh": t}
    kind, _, rest = rule.partition(">=")
    per_lang = rest.endswith("-lang")
    target = float(rest.removesuffix("-lang"))
    tables = {lg: precision_table(q[langs == lg], gold[langs == lg]) for lg in ("en", "zh")}

    def ok(n: int, k: int) -> bool | None:
        if n < MIN_LABELS:
            return None
        return (k / n if kind == "point" else wilson_lower(k, n)) >= target

    def lowest(langs_counted: tuple[str, ...]) -> float:
        chosen = float(PLATT_GRID[-1])
        for i in range(len(PLATT_GRID) - 1, -1, -1):
            verdicts = [ok(*tables[lg][i][1:]) for lg in langs_counted]
            if any(v is False for v in verdicts):
                break
            if any(v for v in verdicts):
                chosen = float(PLATT_GRID[i])
        return chosen

    if per_lang:
        return {lg: lowest((lg,)) for lg in ("en", "zh")}
    t = lowest(("en", "zh"))
    return {"en": t, "zh": t}


def labels(q: np.ndarray, langs: np.ndarray, t: dict[str, float]) -> np.ndarray:
    out = np.zeros((len(q), q.shape[1] // 2), dtype=np.int64)
    for lg, thr in t.items():
        rows = langs == lg
        out[rows] = _labels_at(q[rows], thr)
    return out


def subset(data: LabelledSet, rows: np.ndarray) -> LabelledSet:
    return LabelledSet(
        tuple(it for it, r in zip(data.items, rows, strict=True) if r), data.taxonomy
    )


def splits(data: LabelledSet, kinds: list[str]) -> list[tuple[str, np.ndarray]]:
    """(name, rows of the part trained on); the rest is scored."""
    out = []
    ids = data.ids
    for kind in kinds:
        if kind == "half":
            h = np.array([hashlib.sha256(f"half:{i}".encode()).digest()[0] % 2 for i in ids])
            out += [("half-A", h == 0), ("half-B", h == 1)]
        elif kind == "source":
            src = np.array([it.source.rsplit(":", 1)[0].rsplit("/", 1)[-1] for it in data])
            for name in ("implicit.jsonl", "balanced.jsonl", "more.jsonl"):
                if not (src == name).any():
                    continue
                out.append((f"without-{name}", src != name))
        else:
            raise SystemExit(f"unknown split {kind!r}: half or source")
    return out


def run_split(
    data: LabelledSet, rows: np.ndarray, settings: ClassifierSettings, cache: Path
) -> dict[str, np.ndarray]:
    if cache.is_file():
        with np.load(cache, allow_pickle=False) as z:
            return dict(z)
    train, test = subset(data, rows), subset(data, ~rows)
    started = time.perf_counter()
    model = train_classifier(train, settings)
    probs = model.probabilities(test.texts, test.languages)
    out = {
        "oof": model.oof,
        "oof_gold": train.labels,
        "oof_langs": np.asarray(train.languages),
        "q": probs.reshape(len(test), -1),
        "gold": test.labels,
        "langs": np.asarray(test.languages),
        "seconds": np.array(time.perf_counter() - started),
    }
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **out)
    return out


RULES = (
    "best-f1",
    "point>=0.5",
    "point>=0.8",
    "point>=0.85",
    "point>=0.9",
    "wilson>=0.8",
    "wilson>=0.85",
    "point>=0.8-lang",
    "point>=0.85-lang",
    "point>=0.9-lang",
)


def macro_f1(gold: np.ndarray, pred: np.ndarray, taxonomy) -> float:
    from valuealign.values.metrics import score_detections

    return float(score_detections(gold, pred.astype(float), taxonomy).macro_f1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", action="append", default=None, choices=["half", "source"])
    parser.add_argument("--agree", action="store_true", help="also classifier:multilingual")
    parser.add_argument("--cache", default=".hp-rule-cache")
    parser.add_argument("--embedding", default=None, help="another model's prompted vectors")
    parser.add_argument("--layers", default=None, help="their layers, e.g. 18+24")
    parser.add_argument("--out", default="benchmarks/results/hp_rule_selection.json")
    args = parser.parse_args()
    data = training_set()
    detectors = {"prompted": prompted_settings(0.8)}
    if args.embedding:
        layers = tuple(int(x) for x in (args.layers or "15+21").split("+"))
        detectors = {
            "prompted": replace(
                prompted_settings(0.8), embedding=args.embedding, embedding_layers=layers
            )
        }
    if args.agree:
        detectors["multilingual"] = multilingual_settings(0.8)
    tally: dict[str, list[int]] = {}
    f1s: dict[str, list[float]] = {}
    per_split = []
    for name, rows in splits(data, args.split or ["half"]):
        kind = name.split("-")[0]
        runs = {
            det: run_split(
                data, rows, s, Path(args.cache) / f"{det}-{name}-{data.fingerprint()[:12]}.npz"
            )
            for det, s in detectors.items()
        }
        if "multilingual" in runs:
            a, b = runs["prompted"], runs["multilingual"]
            runs["mean"] = {**a, "oof": (a["oof"] + b["oof"]) / 2, "q": (a["q"] + b["q"]) / 2}
        chosen_labels: dict[str, np.ndarray] = {}
        record: dict = {"split": name, "train": int(rows.sum()), "scored": int((~rows).sum())}
        for det, r in runs.items():
            for rule in RULES:
                t = choose(r["oof"], r["oof_gold"], r["oof_langs"], rule)
                chosen_labels[f"{det} {rule}"] = labels(r["q"], r["langs"], t)
                record[f"{det} {rule} t"] = t
        if "multilingual" in runs:
            for rule in ("point>=0.5", "point>=0.8"):
                a, b = chosen_labels[f"prompted {rule}"], chosen_labels[f"multilingual {rule}"]
                chosen_labels[f"agree {rule}"] = np.where(a == b, a, 0)
        r = runs["prompted"]
        for key, pred in chosen_labels.items():
            for lg in ("en", "zh"):
                m = r["langs"] == lg
                fired = pred[m] != 0
                n, k = int(fired.sum()), int((pred[m][fired] == r["gold"][m][fired]).sum())
                support = int((r["gold"][m] != 0).sum())
                f1 = macro_f1(r["gold"][m], pred[m], data.taxonomy)
                for group in (kind, "all"):
                    c = tally.setdefault(f"{key} | {group} | {lg}", [0, 0, 0])
                    for i, v in enumerate((n, k, support)):
                        c[i] += v
                    f1s.setdefault(f"{key} | {group} | {lg}", []).append(f1)
                record[f"{key} | {lg}"] = {
                    "given": n,
                    "precision": round(k / max(n, 1), 3),
                    "macro_f1": round(f1, 3),
                }
        per_split.append(record)
        print(name, "done", flush=True)
    summary = {}
    for key, (n, k, support) in sorted(tally.items()):
        summary[key] = {
            "given": n,
            "precision": round(k / max(n, 1), 3),
            "wilson_lower": round(wilson_lower(k, n), 3),
            "recall": round(k / max(support, 1), 3),
            "mean_macro_f1": round(float(np.mean(f1s[key])), 3),
        }
        print(
            f"{key:44s} n={n:4d} P={k / max(n, 1):.3f} R={k / max(support, 1):.3f} "
            f"F1={np.mean(f1s[key]):.3f}"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    result = {"train_n": len(data), "splits": per_split, "pooled": summary}
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print("wrote", out)


if __name__ == "__main__":
    main()
