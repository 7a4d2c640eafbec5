"""Every value detector side by side on the shipped held-out split, per language.

Detectors: ``keywords``, ``lexicon`` (English dictionaries), the shipped ``classifier`` (MiniLM +
n-grams), the learned multilingual detector ``classifier:multilingual`` (Qwen2.5 0.5B sentence
vectors of layers 12 and 24, standardised, + n-grams + keywords, per-value promote / oppose
logistic heads; trained on the shipped *train* split plus every training-only set under
``data/values/extra/``; settings chosen on out-of-fold figures of the training data, see
``benchmarks/detector_selection.py``) beside the same features with session 22's settings, and
``classifier:prompted`` (the same heads over Qwen vectors of each text read inside a question
about values, text-mean and last-token states; vectors chosen on the training data, see
``benchmarks/prompted_selection.py``), each at two operating points; optionally one raw hidden layer per ``--layer``; and, when asked with
``--llm``, an LLM judge (prompt ``value-detector-v3``: per value a direction and a confidence)
at two operating points: every label it states, and only those stated with a confidence at or
above a threshold chosen on ``--llm-calibrate`` training texts per language (the lowest
confidence level at which its labels there reach precision 0.8; never on the test split).

The LLM run is resumable: each text's reply (scores, attempts, error, raw reply) goes to
``llm-detections-<model>-<prompt version>-<form>.json`` beside ``--out`` after every
``--llm-chunk`` texts, and a rerun asks only for the texts not yet there. Any
``provider/model`` works, e.g. the 1.5B::

    nice -n 19 env PYTHONPATH=src python benchmarks/value_detectors.py --only-llm \
        --llm ct2/qwen2.5-1.5b-instruct --out benchmarks/results/value_detectors-llm.json

Operating points of the learned detector (fitted on out-of-fold probabilities of the training
data, never on the test split): ``balanced`` (precision target 0.5) and ``high-precision``
(0.8; below the threshold the detector abstains: it reports 0 for that value).

Reported per language: n, macro-F1 (direction-correct, macro over values), promote- and
oppose-direction macro-F1, micro precision and recall overall and per direction, each with a
95% bootstrap interval (texts resampled, 500 draws), pooled over the held-out split and, in
``detectors_by_part``, separately for session 22's held-out items ("old") and the held-out
extension (``h-`` ids, "new"); the gold label counts per value and direction in the training
data and in each language's test split (``label_counts``). The second annotator's agreement
(Cohen's kappa over item x value cells, 3 classes) is computed from
``data/values/extra/second-annotator.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from valuealign.values import get_detector, load_labelled
from valuealign.values.base import run_sync
from valuealign.values.classifier import (
    ClassifierDetector,
    ClassifierSettings,
    multilingual_settings,
    prompted_large_settings,
    prompted_settings,
    train_classifier,
)
from valuealign.values.labelled import (
    TRAIN_PREFIXES,
    LabelledSet,
    extra_labelled_path,
    training_set,
)
from valuealign.values.llm_detector import LLM_DETECTOR_TEMPLATE_VERSION
from valuealign.values.metrics import Counts, score_detections

EMBED_MODEL = "qwen2.5-0.5b-instruct"
PROMPTED_TAG = "prompted-s25"
PROMPTED_LARGE_TAG = "prompted-1.5b-s25"
"""Rows of this session's ``classifier:prompted`` (session 24's rows are ``prompted``)."""
BOOTSTRAP = 500


def _figures(gold: np.ndarray, scores: np.ndarray, data: LabelledSet) -> dict[str, float]:
    rep = score_detections(gold, scores, data.taxonomy)
    promote = sum((v.promote for v in rep.values), start=Counts(0, 0, 0))
    oppose = sum((v.oppose for v in rep.values), start=Counts(0, 0, 0))
    return {
        "macro_f1": rep.macro_f1,
        "promote_f1": rep.macro_f1_promote,
        "oppose_f1": rep.macro_f1_oppose,
        "precision": rep.micro.precision,
        "recall": rep.micro.recall,
        "promote_precision": promote.precision,
        "promote_recall": promote.recall,
        "oppose_precision": oppose.precision,
        "oppose_recall": oppose.recall,
    }


def summarise(gold: np.ndarray, scores: np.ndarray, data: LabelledSet, name: str) -> dict:
    """Point figures and 95% bootstrap intervals (texts resampled) for one detector and language.

    Rows the detector could not score (NaN) are left out of the figures and counted in
    ``failed``; ``n`` is every text asked.
    """
    rep = score_detections(gold, scores, data.taxonomy, detector=name)
    micro = rep.micro
    point = _figures(gold, scores, data)
    rng = np.random.default_rng(15)
    boot: dict[str, list[float]] = {k: [] for k in point}
    for _ in range(BOOTSTRAP):
        idx = rng.integers(0, len(gold), len(gold))
        for k, v in _figures(gold[idx], scores[idx], data).items():
            boot[k].append(v)
    ok = ~np.isnan(scores).any(axis=1)
    out: dict = {"n": len(gold), "failed": int((~ok).sum())}
    for k, v in point.items():
        out[k] = round(v, 3)
        out[f"{k}_ci95"] = [
            round(float(np.percentile(boot[k], 2.5)), 3),
            round(float(np.percentile(boot[k], 97.5)), 3),
        ]
    out["predicted"] = int(micro.predicted)
    out["support"] = int(micro.support)
    return out


def by_language(gold: np.ndarray, s: np.ndarray, langs: np.ndarray, data, name: str) -> dict:
    return {lg: summarise(gold[langs == lg], s[langs == lg], data, name) for lg in ("en", "zh")}


def by_part(
    gold: np.ndarray, s: np.ndarray, langs: np.ndarray, ids: np.ndarray, data, name: str
) -> dict:
    """Figures per language on the session-22 held-out items ("old": the hashed test part of
    en.jsonl / zh.jsonl) and on the held-out extension ("new": ``h-`` ids), when both exist."""
    new = np.char.startswith(ids.astype(str), "h-")
    if not new.any() or new.all():
        return {}
    return {
        part: by_language(gold[rows], s[rows], langs[rows], data, name)
        for part, rows in (("old", ~new), ("new", new))
    }


def oof_figures(model: ClassifierDetector, train: LabelledSet) -> dict:
    """Macro-F1 per language of the out-of-fold probabilities at the model's thresholds: what
    the settings were chosen on (training data only)."""
    assert model.oof is not None
    k = len(train.taxonomy)
    p_plus, p_minus = model.oof[:, 0::2], model.oof[:, 1::2]
    t = model.thresholds.reshape(k, 2)
    t_plus = np.where(np.isnan(t[:, 0]), np.inf, t[:, 0])
    t_minus = np.where(np.isnan(t[:, 1]), np.inf, t[:, 1])
    fire_plus, fire_minus = p_plus >= t_plus, p_minus >= t_minus
    plus_wins = fire_plus & (~fire_minus | (p_plus - t_plus >= p_minus - t_minus))
    s = np.where(plus_wins, p_plus, np.where(fire_minus, -p_minus, 0.0))
    langs = np.asarray(train.languages)
    out = {}
    for lang in ("en", "zh"):
        rep = score_detections(train.labels[langs == lang], s[langs == lang], train.taxonomy)
        out[lang] = {
            "n": int((langs == lang).sum()),
            "macro_f1": round(rep.macro_f1, 3),
            "oppose_f1": round(rep.macro_f1_oppose, 3),
            "precision": round(rep.micro.precision, 3),
            "recall": round(rep.micro.recall, 3),
        }
    return out


def label_counts(train: LabelledSet, test: LabelledSet) -> dict:
    """Gold labels per value and direction ("+" promote, "-" oppose), per language and split."""
    out: dict = {}
    for split, data in (("train", train), ("test", test)):
        labels, langs = data.labels, np.asarray(data.languages)
        for lang in ("en", "zh"):
            rows = labels[langs == lang]
            out.setdefault(split, {})[lang] = {
                v: {"+": int((rows[:, j] == 1).sum()), "-": int((rows[:, j] == -1).sum())}
                for j, v in enumerate(data.taxonomy.values)
            }
    return out


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


def llm_rows(data: LabelledSet, limit: int) -> list[int]:
    """The first ``limit`` items per language by id (all when ``limit`` is 0), en then zh;
    session 22's held-out items before the held-out extension (``h-`` ids)."""
    rows = []
    for lang in ("en", "zh"):
        mine = sorted(
            (i for i, it in enumerate(data) if it.language == lang),
            key=lambda i: (data.items[i].id.startswith("h-"), data.items[i].id),
        )
        rows += mine[:limit] if limit else mine
    return rows


def calibration_rows(train: LabelledSet, per_language: int) -> list[int]:
    """``per_language`` shipped-train items per language (not the extra set), picked by a hash
    of the id (so not the first ids, which the authors wrote first): the LLM's training-side
    texts for choosing its answer form and confidence threshold."""
    import hashlib

    rows = []
    for lang in ("en", "zh"):
        mine = [
            i
            for i, it in enumerate(train)
            if it.language == lang and not it.id.startswith(TRAIN_PREFIXES)
        ]
        mine.sort(key=lambda i: hashlib.sha256(f"calib:{train.items[i].id}".encode()).hexdigest())
        rows += mine[:per_language]
    return rows


def llm_scores(
    spec: str, data: LabelledSet, rows: list[int], cache: Path, chunk: int, form: str
) -> tuple[np.ndarray, dict]:
    """The LLM's scores (direction x confidence, NaN rows for texts it never answered
    parseably) for ``data``'s ``rows``, and a cost summary.

    Each text's outcome is stored in ``cache`` (keyed by item id) every ``chunk`` texts, so an
    interrupted run resumes where it stopped.
    """
    stored: dict = json.loads(cache.read_text(encoding="utf-8")) if cache.is_file() else {}
    stored = {k: v if isinstance(v, dict) else {"vector": v} for k, v in stored.items()}
    todo = [i for i in rows if data.items[i].id not in stored]
    if todo:
        from valuealign.values.llm_detector import LLMDetector

        det = get_detector(f"llm:{spec}", form=form)
        assert isinstance(det, LLMDetector)
        t0 = time.perf_counter()
        for start in range(0, len(todo), chunk):
            part = todo[start : start + chunk]
            t_part = time.perf_counter()
            out = run_sync(
                det.adetect_detailed(
                    [data.items[i].text for i in part], [data.items[i].language for i in part]
                )
            )
            per_text = (time.perf_counter() - t_part) / len(part)
            for i, r in zip(part, out, strict=True):
                stored[data.items[i].id] = {
                    "vector": None if r.vector is None else [float(x) for x in r.vector],
                    "attempts": r.attempts,
                    "error": r.error,
                    "raw": r.raw[-400:],
                    "prompt_tokens": r.prompt_tokens,
                    "completion_tokens": r.completion_tokens,
                    "seconds": round(per_text, 1),
                }
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(".tmp")
            tmp.write_text(json.dumps(stored, ensure_ascii=False, indent=0), encoding="utf-8")
            tmp.replace(cache)
            done = start + len(part)
            print(
                f"llm {spec} ({form}): {done}/{len(todo)} texts, {time.perf_counter() - t0:.0f}s",
                flush=True,
            )
    k = len(data.taxonomy)
    scores = np.array(
        [
            [np.nan] * k
            if stored[data.items[i].id]["vector"] is None
            else stored[data.items[i].id]["vector"]
            for i in rows
        ],
        dtype=np.float64,
    )
    recs = [stored[data.items[i].id] for i in rows]
    secs = [r["seconds"] for r in recs if r.get("seconds") is not None]
    cost = {
        "texts": len(rows),
        "unparsed": sum(r["vector"] is None for r in recs),
        "re_asked": sum((r.get("attempts") or 1) > 1 for r in recs),
        "mean_attempts": round(float(np.mean([r.get("attempts") or 1 for r in recs])), 2),
        "prompt_tokens": sum(r.get("prompt_tokens") or 0 for r in recs),
        "completion_tokens": sum(r.get("completion_tokens") or 0 for r in recs),
        "seconds_per_text": round(float(np.mean(secs)), 1) if secs else None,
    }
    return scores, cost


def confidence_threshold(gold: np.ndarray, scores: np.ndarray, target: float = 0.8) -> dict:
    """The lowest confidence at which the LLM's stated labels reach ``target`` micro precision
    (at least 3 predicted) on calibration texts; the highest stated confidence level when none
    does (recorded as such)."""
    ok = ~np.isnan(scores).any(axis=1)
    g, s = gold[ok], scores[ok]
    levels = sorted({round(float(abs(x)), 4) for x in s.ravel() if x != 0})
    table = []
    for level in levels:
        fire = np.abs(s) >= level - 1e-9
        pred = np.sign(s) * fire
        tp = int(((pred == g) & fire).sum())
        n = int(fire.sum())
        table.append({"confidence": level, "predicted": n, "precision": round(tp / n, 3)})
    reach = [r for r in table if r["predicted"] >= 3 and r["precision"] >= target]
    if reach:
        return {"threshold": reach[0]["confidence"], "rule": f"precision>={target}", "table": table}
    top = levels[-1] if levels else 1.0
    return {"threshold": top, "rule": "no level reaches the target: highest level", "table": table}


def merged(old: dict, new: dict) -> dict:
    """The earlier run's results with this run's rows added (same names replaced); the rows
    kept from before are listed in ``rows_from_earlier_runs``, the training set of this run
    under ``train_latest``."""
    out = dict(old)
    kept = [name for name in old.get("detectors", {}) if name not in new["detectors"]]
    for key in ("detectors", "detectors_by_part", "learned_heads"):
        out[key] = {**old.get(key, {}), **new.get(key, {})}
    out["rows_from_earlier_runs"] = sorted(set(old.get("rows_from_earlier_runs", [])) | set(kept))
    out["train_latest"] = new["train"]
    out["label_counts_latest"] = new["label_counts"]
    out["seconds_latest"] = new["seconds"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="benchmarks/results/value_detectors.json")
    parser.add_argument("--llm", action="append", default=[], help="provider/model (repeatable)")
    parser.add_argument(
        "--layer",
        type=int,
        action="append",
        default=None,
        help="also a learned detector on this one hidden layer, raw (repeatable; -1 last, 0 "
        "token embeddings; default: none)",
    )
    parser.add_argument("--skip", action="append", default=[], help="detector spec to skip")
    parser.add_argument(
        "--no-multilingual",
        action="store_true",
        help="leave out classifier:multilingual's settings (layers 12 + last, standardised)",
    )
    parser.add_argument(
        "--no-prompted",
        action="store_true",
        help="leave out classifier:prompted (the text read inside a question about values)",
    )
    parser.add_argument("--llm-limit", type=int, default=0, help="test items per language (0: all)")
    parser.add_argument("--llm-chunk", type=int, default=8, help="texts between cache writes")
    parser.add_argument(
        "--llm-form",
        action="append",
        default=None,
        choices=["pair", "nested"],
        help="answer shape(s) of the v3 prompt (repeatable; default pair)",
    )
    parser.add_argument(
        "--llm-calibrate",
        type=int,
        default=16,
        help="training texts per language the LLM also labels, to choose its confidence "
        "threshold (the high-precision point) without the test split",
    )
    parser.add_argument(
        "--llm-calibrate-only",
        action="store_true",
        help="run the LLM on the calibration texts only (choosing a form), not the test split",
    )
    parser.add_argument(
        "--only-llm", action="store_true", help="skip every detector but the --llm ones"
    )
    parser.add_argument(
        "--large", action="store_true", help="also classifier:prompted-1.5b (the 1.5B's vectors)"
    )
    parser.add_argument(
        "--large-only",
        action="store_true",
        help="with --only-prompted: classifier:prompted-1.5b alone",
    )
    parser.add_argument(
        "--only-prompted",
        action="store_true",
        help="score classifier:prompted only (trained on today's training set) and keep every "
        "other row of the existing --out file as it was",
    )
    args = parser.parse_args()
    forms = args.llm_form or ["pair"]
    if args.only_llm:
        args.skip += ["keywords", "lexicon", "classifier"]
        args.layer, args.no_multilingual, args.no_prompted = [], True, True
    if args.only_prompted:
        args.skip += ["keywords", "lexicon", "classifier"]
        args.layer, args.no_multilingual, args.llm = [], True, []
    layers = [] if args.layer is None else args.layer

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
    heads: dict[str, dict] = {}
    variants = [
        (
            f"L{'last' if layer == -1 else layer}",
            ClassifierSettings(embedding=EMBED_MODEL, embedding_layer=layer, precision_target=0.8),
        )
        for layer in layers
    ]
    if not args.no_multilingual:
        session22 = replace(multilingual_settings(0.8), C=1.0, calibration="head")
        variants.append(("L12+Llast std, session-22 settings", session22))
        variants.append(("multilingual", multilingual_settings(0.8)))
    if not args.no_prompted and not args.large_only:
        variants.append((PROMPTED_TAG, prompted_settings(0.8)))
    if args.large or args.large_only:
        variants.append((PROMPTED_LARGE_TAG, prompted_large_settings(0.8)))
    for tag, settings in variants:
        started = time.perf_counter()
        hp = train_classifier(train, settings)
        best_f1 = tag in (PROMPTED_TAG, PROMPTED_LARGE_TAG)
        balanced = hp.at_best_f1() if best_f1 else hp.at_precision(0.5)
        learned = {"balanced": balanced, "high-precision": hp}
        for point, model in learned.items():
            scores[f"learned-qwen-{tag} ({point})"] = model.detect_many(test.texts, test.languages)
        heads[tag] = {
            "settings": {k: v for k, v in settings.__dict__.items() if k not in ("max_features",)},
            "seconds": round(time.perf_counter() - started, 1),
            "heads_reaching_0.8": hp.training["heads_reaching_target"],
            "out_of_fold": {point: oof_figures(model, train) for point, model in learned.items()},
            "heads": [h.to_json() for h in hp.heads],
        }
    result: dict = {
        "test_split": {
            "n": len(test),
            "by_language": {lg: int((langs == lg).sum()) for lg in ("en", "zh")},
        },
        "train": {
            "n": len(train),
            "extra_items": sum(it.id.startswith(TRAIN_PREFIXES) for it in train),
        },
        "embedding": {"model": EMBED_MODEL, "pooling": "mean", "layers": layers},
        "detectors": {},
    }
    ids = np.asarray(test.ids)
    result["detectors_by_part"] = {}
    for name, s in scores.items():
        result["detectors"][name] = by_language(gold, s, langs, test, name)
        result["detectors_by_part"][name] = by_part(gold, s, langs, ids, test, name)
    result["llm_cost"] = {}
    result["llm_calibration"] = {}
    for spec, form in ((sp, fm) for sp in args.llm for fm in forms):
        cache = Path(args.out).with_name(
            f"llm-detections-{spec.replace('/', '_')}-{LLM_DETECTOR_TEMPLATE_VERSION}-{form}.json"
        )
        key = f"{spec} [{form}]"
        calib = calibration_rows(train, args.llm_calibrate)
        c_scores, c_cost = llm_scores(spec, train, calib, cache, args.llm_chunk, form)
        c_gold, c_langs = train.labels[calib], np.asarray(train.languages)[calib]
        theta = confidence_threshold(c_gold, c_scores)
        result["llm_calibration"][key] = {
            "texts": len(calib),
            "cost": c_cost,
            "confidence_threshold": theta,
            "all_stated": {
                lg: summarise(c_gold[c_langs == lg], c_scores[c_langs == lg], train, spec)
                for lg in ("en", "zh")
            },
        }
        if args.llm_calibrate_only:
            continue
        rows = llm_rows(test, args.llm_limit)
        s, cost = llm_scores(spec, test, rows, cache, args.llm_chunk, form)
        result["llm_cost"][key] = cost
        sub_langs = langs[rows]
        partial = len(rows) < len(test)
        base = f"llm:{spec} {LLM_DETECTOR_TEMPLATE_VERSION} {form}" + (
            f" (first {args.llm_limit} per language)" if partial else ""
        )
        hp = np.where(np.abs(s) < theta["threshold"] - 1e-9, 0.0, s)
        for name, sc in ((f"{base} (all stated)", s), (f"{base} (high-precision)", hp)):
            result["detectors"][name] = by_language(gold[rows], sc, sub_langs, test, spec)
            result["detectors_by_part"][name] = by_part(
                gold[rows], sc, sub_langs, ids[rows], test, spec
            )
        if partial:  # the other detectors on the same subset, for a fair comparison
            for other_name, other in scores.items():
                result["detectors"].setdefault(f"{other_name} [llm subset]", {})
                for lg in ("en", "zh"):
                    result["detectors"][f"{other_name} [llm subset]"][lg] = summarise(
                        gold[rows][sub_langs == lg], other[rows][sub_langs == lg], test, other_name
                    )
    result["label_counts"] = label_counts(train, test)
    result["second_annotator"] = agreement()
    result["learned_heads"] = heads
    result["seconds"] = round(time.perf_counter() - t0, 1)
    for name, per in result["detectors"].items():
        parts = {"all": per, **result["detectors_by_part"].get(name, {})}
        for part, figs in parts.items():
            for lg, r in figs.items():
                print(
                    f"{name:40s} {part:3s} {lg} n={r['n']:3d} F1={r['macro_f1']:.3f} "
                    f"{r['macro_f1_ci95']} opp={r['oppose_f1']:.3f} {r['oppose_f1_ci95']} "
                    f"P={r['precision']:.3f} {r['precision_ci95']} R={r['recall']:.3f} "
                    f"fail={r['failed']}"
                )
    print(result["second_annotator"])
    out = Path(args.out)
    if args.only_prompted and out.is_file():
        result = merged(json.loads(out.read_text(encoding="utf-8")), result)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print("wrote", out)


if __name__ == "__main__":
    main()
