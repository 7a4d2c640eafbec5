"""Agreement between the first labels of the shipped value set and an independent annotator.

``data/values/extra/annotator-c.jsonl`` holds annotator c's labels for 80 items of
``labelled/en.jsonl`` and ``labelled/zh.jsonl`` (40 per language), drawn by :func:`draw` (seed
23). Annotator c is a different annotator from the author of the first labels (and of annotator
b, who was that same author relabelling): it labelled the drawn texts blind, from the text and
the value definitions alone, before reading the first labels. Items whose first labels it had
seen before the draw are left out of the pool (:data:`SEEN`).

Reported, per language and pooled: Cohen's kappa per value (3 classes: oppose, absent,
promote; over the items), the pooled kappa over every item x value cell, the raw cell agreement,
the agreement on the cells either pass labelled, the kappa of "labelled at all" (direction
ignored), and how often the two passes gave opposite directions. A per-value kappa is ``null``
when both passes left that value absent on every item (chance agreement 1). Annotator b's
figures (same author) are recomputed beside them for comparison.

Session 25 adds annotator d: a third engineering session, blind to every label file, labelled the
100 ids of ``extra/more-blind-sample.txt`` (drawn by ``benchmarks/more_blind_sample.py``, seed 25)
of the new training file ``extra/more.jsonl`` from the texts and the value definitions alone
(``extra/annotator-d.jsonl``); reported beside c as ``annotator_d``.

    PYTHONPATH=src python benchmarks/value_agreement.py --draw      # the drawn ids and texts only
    PYTHONPATH=src python benchmarks/value_agreement.py [--out benchmarks/results/value_agreement.json]
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np

from valuealign.values.labelled import extra_labelled_path, load_labelled, shipped_labelled_paths

SEED = 23
PER_LANGUAGE = 40
SEEN = frozenset(
    [f"en-00{i}" for i in range(1, 6)]
    + [f"zh-00{i}" for i in range(1, 6)]
    + ["en-003", "en-010", "en-054", "en-134", "en-189"]
)
"""Ids whose first (or annotator b's) labels annotator c read before the draw."""


def _first_pass():
    paths = [p for p in shipped_labelled_paths() if p.name in ("en.jsonl", "zh.jsonl")]
    return load_labelled(paths)


def draw(seed: int = SEED, per_language: int = PER_LANGUAGE) -> list[str]:
    """The drawn ids: ``per_language`` per language, by a seeded sample of the sorted ids."""
    data = _first_pass()
    rng = random.Random(seed)
    out: list[str] = []
    for lang in ("en", "zh"):
        pool = sorted(it.id for it in data.where(lang) if it.id not in SEEN)
        out += sorted(rng.sample(pool, per_language))
    return out


def kappa(a: np.ndarray, b: np.ndarray, classes: tuple[int, ...] = (-1, 0, 1)) -> float | None:
    """Cohen's kappa of two label arrays; None when chance agreement is 1 (one class only)."""
    po = float((a == b).mean())
    pe = sum(float((a == c).mean() * (b == c).mean()) for c in classes)
    if pe >= 1.0:
        return None
    return (po - pe) / (1.0 - pe)


def _rows(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def _vectors(rows: list[dict], data) -> tuple[np.ndarray, np.ndarray, list[str]]:
    first = {it.id: it for it in data}
    tax = data.taxonomy
    a, b, langs = [], [], []
    for r in rows:
        vec = np.zeros(len(tax), dtype=np.int64)
        for v, lab in r["values"].items():
            vec[tax.values.index(tax.resolve(v))] = lab
        a.append(first[r["id"]].vector(tax))
        b.append(vec)
        langs.append(first[r["id"]].language)
    return np.stack(a), np.stack(b), langs


def _figures(A: np.ndarray, B: np.ndarray, values: tuple[str, ...]) -> dict:
    def r(x: float | None) -> float | None:
        return None if x is None else round(x, 3)

    nonzero = (A != 0) | (B != 0)
    return {
        "items": int(A.shape[0]),
        "cells": int(A.size),
        "cohen_kappa_cells": r(kappa(A.ravel(), B.ravel())),
        "cell_agreement": round(float((A == B).mean()), 3),
        "agreement_on_labelled_cells": round(float((A[nonzero] == B[nonzero]).mean()), 3),
        "labelled_cells_first": int((A != 0).sum()),
        "labelled_cells_second": int((B != 0).sum()),
        "kappa_presence": r(
            kappa((A != 0).ravel().astype(int), (B != 0).ravel().astype(int), (0, 1))
        ),
        "opposite_direction_cells": int(((A * B) == -1).sum()),
        "kappa_per_value": {v: r(kappa(A[:, j], B[:, j])) for j, v in enumerate(values)},
        "labels_per_value": {
            v: {"first": int((A[:, j] != 0).sum()), "second": int((B[:, j] != 0).sum())}
            for j, v in enumerate(values)
        },
    }


def agreement(path: Path, data) -> dict:
    A, B, langs = _vectors(_rows(path), data)
    values = data.taxonomy.values
    langs_arr = np.asarray(langs)
    out = {"all": _figures(A, B, values)}
    for lang in ("en", "zh"):
        mask = langs_arr == lang
        out[lang] = _figures(A[mask], B[mask], values)
    vals = [k for k in out["all"]["kappa_per_value"].values() if k is not None]
    out["all"]["mean_kappa_over_values"] = round(float(np.mean(vals)), 3)
    return out


def _annotator_d(folder: Path) -> dict:
    """Annotator d's agreement with the author of ``extra/more.jsonl`` on its blind sample."""
    d_path = folder / "annotator-d.jsonl"
    lines = (folder / "more-blind-sample.txt").read_text(encoding="utf-8").splitlines()
    sample = [x.strip() for x in lines if x.strip() and not x.startswith("#")]
    rows = _rows(d_path)
    assert sorted(r["id"] for r in rows) == sorted(sample), "annotator-d.jsonl is not the sample"
    more = load_labelled([folder / "more.jsonl"])
    return {
        "annotator_d": agreement(d_path, more),
        "annotator_d_note": "100 drawn items of extra/more.jsonl (seed 25), labelled blind from "
        "the texts and value definitions by another engineer session of this project (not a "
        "human) who had not seen any label file",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--draw", action="store_true", help="print the drawn ids and texts only")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    data = _first_pass()
    if args.draw:
        by_id = {it.id: it for it in data}
        for item_id in draw():
            print(f"{item_id}\t{by_id[item_id].text}")
        return
    folder = extra_labelled_path().parent
    c_path = folder / "annotator-c.jsonl"
    rows = _rows(c_path)
    assert sorted(r["id"] for r in rows) == sorted(draw()), "annotator-c.jsonl is not the draw"
    result = {
        "checkout": "this checkout",
        "seed": SEED,
        "annotator_c": agreement(c_path, data),
        "annotator_c_note": "a different annotator from the first pass, labelling blind "
        "(another engineer session of this project, not a human); items drawn by seed",
        "annotator_b": agreement(folder / "second-annotator.jsonl", data)["all"],
        **_annotator_d(folder),
        "annotator_b_note": "the same author as the first pass, relabelling blind",
    }
    text = json.dumps(result, ensure_ascii=False, indent=2)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
