"""Choosing ``classifier:prompted``'s vectors on out-of-fold figures of the TRAINING data.

A fast screen of which Qwen2.5 0.5B vectors carry the values best, before the full classifier
(n-grams, keywords, Platt calibration) is trained on the winner. For each candidate vector
(the plain text, mean-pooled at layers 12 + 24, as ``classifier:multilingual`` reads it; or the
text read inside the value question of :func:`valuealign.values.embed.embed_prompted`, pooled
over the text's own tokens, at the prompt's last token, or both, at a set of layers) and each
inverse L2 strength C, the 20 promote / oppose heads are fitted jointly (one multi-output
logistic regression, balanced class weights, features standardised on the training folds) with
the same 5 folds by item id as the classifier; the out-of-fold probabilities become labels at
one global threshold (a value fires in the direction of its more probable head when that
probability reaches it), and the threshold with the best macro-F1 in the weaker language is
reported with that language's figures. Vectors only: no n-grams, keywords or calibration, so the
figures are for ranking candidates, not the detector's. The held-out split is never read.

    nice -n 10 env PYTHONPATH=src python benchmarks/prompted_selection.py \
        [--out benchmarks/results/prompted_selection.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from valuealign.values.classifier import _fold_of
from valuealign.values.embed import embed, embed_prompted
from valuealign.values.labelled import LabelledSet, training_set
from valuealign.values.metrics import score_detections

CANDIDATES = (
    "plain@12,24",
    "mean@12,24",
    "last@12,24",
    "mean+last@12,24",
    "mean+last@15,21",
    "mean+last@12,18,24",
    "mean+last@6,9,12,15,18,21,24",
    "last@6,9,12,15,18,21,24",
)


def vectors(spec: str, texts: list[str]) -> np.ndarray:
    """The vectors a candidate names: ``pooling@layers``, several joined by ``|``."""
    if "|" in spec:
        return np.hstack([vectors(part, texts) for part in spec.split("|")])
    pooling, _, layers = spec.partition("@")
    ids = tuple(int(x) for x in layers.split(","))
    if pooling == "plain":
        return np.hstack([embed(texts, layer=layer if layer != 24 else -1) for layer in ids])
    return embed_prompted(texts, layers=ids, pooling=pooling)


def fit_predict(X: np.ndarray, T: np.ndarray, test: np.ndarray, C: float) -> np.ndarray:
    """Balanced multi-output logistic regression (L-BFGS in torch), probabilities for ``test``."""
    import torch

    Xt, Tt = torch.tensor(X), torch.tensor(T)
    pos = Tt.mean(0).clamp(1e-3, 1 - 1e-3)
    weight = Tt * (0.5 / pos) + (1 - Tt) * (0.5 / (1 - pos))
    W = torch.zeros(X.shape[1], T.shape[1], requires_grad=True)
    b = torch.zeros(T.shape[1], requires_grad=True)
    opt = torch.optim.LBFGS([W, b], max_iter=300, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            Xt @ W + b, Tt, reduction="none"
        )
        total = (loss * weight).sum() + (W**2).sum() / (2 * C)
        total.backward()
        return total

    opt.step(closure)
    with torch.no_grad():
        return torch.sigmoid(torch.tensor(test) @ W + b).numpy()


def out_of_fold(X: np.ndarray, train: LabelledSet, C: float, folds: int = 5) -> np.ndarray:
    Y = train.labels
    T = np.stack([(Y[:, j] == s) for j in range(Y.shape[1]) for s in (1, -1)], 1)
    T = T.astype(np.float32)
    fold = np.array([_fold_of(i, folds) for i in train.ids])
    P = np.zeros(T.shape, dtype=np.float32)
    for f in range(folds):
        tr, te = fold != f, fold == f
        mean, sd = X[tr].mean(0), X[tr].std(0) + 1e-6
        Z = ((X - mean) / sd * (2 / np.sqrt(X.shape[1]))).astype(np.float32)
        P[te] = fit_predict(Z[tr], T[tr], Z[te], C)
    return P


def language_figures(pred: np.ndarray, gold: np.ndarray, langs: np.ndarray, taxonomy) -> dict:
    """Per language: macro-F1, oppose-direction macro-F1, micro precision and recall."""
    out = {}
    for lang in ("en", "zh"):
        rows = langs == lang
        rep = score_detections(gold[rows], pred[rows].astype(float), taxonomy)
        out[lang] = {
            "macro_f1": round(rep.macro_f1, 3),
            "oppose_f1": round(rep.macro_f1_oppose, 3),
            "precision": round(rep.micro.precision, 3),
            "recall": round(rep.micro.recall, 3),
        }
    return out


def best_threshold(P: np.ndarray, train: LabelledSet) -> dict:
    langs = np.asarray(train.languages)
    p_plus, p_minus = P[:, 0::2], P[:, 1::2]
    best: dict = {}
    for t in np.round(np.arange(0.30, 0.99, 0.02), 2):
        pred = np.where((p_plus >= t) & (p_plus >= p_minus), 1, np.where(p_minus >= t, -1, 0))
        per = language_figures(pred, train.labels, langs, train.taxonomy)
        weaker = min(v["macro_f1"] for v in per.values())
        if not best or weaker > best["weaker_macro_f1"]:
            best = {"threshold": float(t), "weaker_macro_f1": weaker, **per}
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="benchmarks/results/prompted_selection.json")
    parser.add_argument("--candidate", action="append", default=None)
    parser.add_argument("--C", type=float, action="append", default=None)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    train = training_set()
    result: dict = {"train": {"n": len(train)}, "candidates": []}
    for spec in args.candidate or CANDIDATES:
        X = vectors(spec, train.texts).astype(np.float32)
        for C in args.C or [0.3, 1.0, 3.0]:
            t0 = time.perf_counter()
            row = {"vectors": spec, "C": C, "dims": X.shape[1]}
            row.update(best_threshold(out_of_fold(X, train, C), train))
            row["seconds"] = round(time.perf_counter() - t0, 1)
            result["candidates"].append(row)
            print(json.dumps(row), flush=True)
    result["chosen"] = max(result["candidates"], key=lambda r: r["weaker_macro_f1"])
    write_results(args.out, result)


def write_results(path: str | Path, result: dict) -> None:
    """Write a selection script's JSON results (creating the folder) and say where."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print("wrote", out)


if __name__ == "__main__":
    main()
