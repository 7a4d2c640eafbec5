"""``extra/more.jsonl``: well-formed, training-only, new, balanced, mostly without keywords.

The oracles are written here from the brief the file was written to (id style, lengths, counts
per value and direction, at most a third of labelled texts carrying one of their values'
lexicon terms), not taken from the loader; "the same text" is NFKC, case-folded, letters and
digits only, as in ``test_values_splits.py``.
"""

from __future__ import annotations

import importlib.util
import json
import random
import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest

from valuealign.values.labelled import (
    extra_labelled_path,
    extra_labelled_paths,
    load_labelled,
    shipped_labelled_paths,
    training_set,
)
from valuealign.values.schwartz import VALUES

MORE = extra_labelled_path().with_name("more.jsonl")
SAMPLE = extra_labelled_path().with_name("more-blind-sample.txt")
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not MORE.is_file(), reason="more.jsonl is not in this checkout")


def _rows() -> list[dict]:
    return [json.loads(ln) for ln in MORE.read_text(encoding="utf-8").splitlines() if ln.strip()]


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


def _cjk(text: str) -> int:
    return sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")


def test_more_is_well_formed() -> None:
    rows = _rows()
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))
    for lang in ("en", "zh"):
        mine = [r["id"] for r in rows if r["language"] == lang]
        # numbered m-<lang>-001 upwards without gaps
        assert mine == [f"m-{lang}-{i:03d}" for i in range(1, len(mine) + 1)]
    for r in rows:
        assert set(r) == {"id", "text", "language", "values"}, r["id"]
        assert re.fullmatch(r"m-(en|zh)-\d{3}", r["id"]) and r["id"][2:4] == r["language"]
        text = r["text"]
        assert text == text.strip() and "\t" not in text and "\n" not in text, r["id"]
        if r["language"] == "en":
            assert _cjk(text) == 0 and 15 <= len(text.split()) <= 60, r["id"]
        else:
            assert _cjk(text) >= 0.6 * len(_norm(text)) and 20 <= len(text) <= 90, r["id"]
        assert len(r["values"]) <= 2, r["id"]
        for value, label in r["values"].items():
            assert value in VALUES and label in (-1, 1), r["id"]
    # the loader accepts it as written (ids, values, languages)
    data = load_labelled(MORE)
    assert len(data) == len(rows)
    assert [dict(it.labels) for it in data] == [r["values"] for r in rows]


def test_more_is_training_only() -> None:
    assert MORE in extra_labelled_paths()
    ids = {r["id"] for r in _rows()}
    train_ids = set(training_set().ids)
    test_ids = set(load_labelled().split("test").ids)
    assert ids <= train_ids
    assert not ids & test_ids
    assert all(it.split == "train" for it in load_labelled(MORE))


def test_more_repeats_no_text_of_any_other_file_nor_itself() -> None:
    normed = [_norm(r["text"]) for r in _rows()]
    assert len(set(normed)) == len(normed), [t for t, c in Counter(normed).items() if c > 1]
    others = [p for p in [*shipped_labelled_paths(), *extra_labelled_paths()] if p != MORE]
    assert len(others) >= 6
    other_texts = {_norm(t) for t in load_labelled(others).texts}
    assert not set(normed) & other_texts


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_more_is_balanced_per_value_and_direction(lang: str) -> None:
    rows = [r for r in _rows() if r["language"] == lang]
    assert len(rows) >= 300
    counts = Counter((v, d) for r in rows for v, d in r["values"].items())
    low = {(v, d): counts[(v, d)] for v in VALUES for d in (1, -1) if counts[(v, d)] < 12}
    assert low == {}
    empty = sum(not r["values"] for r in rows)
    assert 0.1 <= empty / len(rows) <= 0.2, empty
    assert sum(len(r["values"]) == 2 for r in rows) >= 30
    # two-value texts pair many different values, not one fixed pair
    pairs = {tuple(sorted(r["values"])) for r in rows if len(r["values"]) == 2}
    assert len(pairs) >= 12


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_more_mostly_carries_values_without_their_keywords(lang: str) -> None:
    """At most a third of the labelled texts contain a lexicon term of a value they carry."""
    from valuealign.values.detector import LexiconDetector

    detector = LexiconDetector()
    labelled = [r for r in _rows() if r["language"] == lang and r["values"]]
    with_term = [
        r["id"]
        for r in labelled
        if any(sum(detector.counts(r["text"], lang)[v]) > 0 for v in r["values"])
    ]
    assert len(with_term) <= len(labelled) / 3, with_term


def test_blind_sample_is_the_seeded_draw() -> None:
    ids = [ln for ln in SAMPLE.read_text(encoding="utf-8").splitlines() if ln and ln[0] != "#"]
    rows = {r["id"]: r for r in _rows()}
    assert len(ids) == len(set(ids)) == 100
    assert set(ids) <= set(rows)
    assert Counter(rows[i]["language"] for i in ids) == {"en": 50, "zh": 50}
    # the draw: seed 25, 50 sorted ids per language, en first
    rng = random.Random(25)
    expected: list[str] = []
    for lang in ("en", "zh"):
        pool = sorted(i for i, r in rows.items() if r["language"] == lang)
        expected += sorted(rng.sample(pool, 50))
    assert ids == expected
    spec = importlib.util.spec_from_file_location("mbs", ROOT / "benchmarks/more_blind_sample.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.draw() == ids == module.read_sample()
