"""The shipped splits: train and held-out never share a text, and the written sets are balanced.

The oracle for "the same text" is written here (NFKC, case-folded, punctuation and spaces
dropped), not taken from the loader; the minimum counts are the ones the data was written to.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

import numpy as np
import pytest

from valuealign.values.labelled import (
    extra_labelled_paths,
    load_labelled,
    shipped_labelled_paths,
    training_set,
)

pytestmark = pytest.mark.skipif(
    len(shipped_labelled_paths()) < 3 or len(extra_labelled_paths()) < 3,
    reason="the shipped labelled sets are not in this checkout",
)


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


def _grams(text: str, n: int = 4) -> set[str]:
    t = _norm(text)
    return {t[i : i + n] for i in range(max(1, len(t) - n + 1))}


def _by_file(name: str):
    paths = [p for p in [*shipped_labelled_paths(), *extra_labelled_paths()] if p.name == name]
    assert len(paths) == 1, name
    return load_labelled(paths[0])


def _counts(data, language: str) -> dict[str, Counter]:
    sub = data.where(language)
    labels = sub.labels
    return {
        v: Counter({"+": int((labels[:, j] == 1).sum()), "-": int((labels[:, j] == -1).sum())})
        for j, v in enumerate(data.taxonomy.values)
    }


def test_no_text_is_in_both_train_and_held_out() -> None:
    train = training_set()
    test = load_labelled().split("test")
    assert len(test) >= 360 and len(train) >= 1000  # 119 + 244 held out; 333 + 60 + 404 + 228 + 641
    assert not set(train.ids) & set(test.ids)
    train_texts = {_norm(t) for t in train.texts}
    shared = [t for t in test.texts if _norm(t) in train_texts]
    assert shared == []
    # nor twice within the held-out split (a duplicate there would count one text twice)
    normed = [_norm(t) for t in test.texts]
    assert len(set(normed)) == len(normed)


def test_held_out_extension_is_never_near_a_training_text() -> None:
    """No held-out-extension text shares most of its character 4-grams with a training text."""
    held = _by_file("heldout.jsonl")
    train = training_set()
    train_grams = [(_grams(t), t) for t in train.texts]
    worst = (0.0, "", "")
    for text in held.texts:
        g = _grams(text)
        for tg, tt in train_grams:
            jac = len(g & tg) / len(g | tg)
            if jac > worst[0]:
                worst = (jac, text, tt)
    assert worst[0] < 0.5, worst


def test_every_held_out_extension_item_is_in_the_test_split_and_no_extra_item_is() -> None:
    held = _by_file("heldout.jsonl")
    assert all(it.id.startswith("h-") and it.split == "test" for it in held)
    test_ids = set(load_labelled().split("test").ids)
    assert set(held.ids) <= test_ids
    for path in extra_labelled_paths():
        extra = load_labelled(path)
        assert all(it.id.startswith(("x-", "m-")) and it.split == "train" for it in extra)
        assert not set(extra.ids) & test_ids
    # the old hashed test part is still all there: held-out = old held-out + the extension
    hashed = [p for p in shipped_labelled_paths() if p.name in ("en.jsonl", "zh.jsonl")]
    old_test = load_labelled(hashed).split("test")
    assert set(old_test.ids) | set(held.ids) == test_ids


@pytest.mark.parametrize(
    ("name", "per_language", "minimum"),
    [("balanced.jsonl", 200, 8), ("heldout.jsonl", 100, 4), ("implicit.jsonl", 100, 4)],
)
def test_written_sets_have_the_minimum_counts(name: str, per_language: int, minimum: int) -> None:
    data = _by_file(name)
    for lang in ("en", "zh"):
        sub = data.where(lang)
        assert len(sub) >= per_language, (lang, len(sub))
        low = {(v, d): c[d] for v, c in _counts(data, lang).items() for d in "+-" if c[d] < minimum}
        assert low == {}, (lang, low)
        nonzero = (sub.labels != 0).sum(axis=1)
        share_empty = float((nonzero == 0).mean())
        assert 0.12 <= share_empty <= 0.3, (lang, share_empty)  # about a fifth carry no value
        assert (nonzero == 2).sum() >= 10  # some carry two values
        # the labels are not predictable from the file order alone: values are mixed
        assert np.unique(sub.labels, axis=0).shape[0] >= 25


def test_ids_are_unique_across_every_shipped_file_and_follow_the_styles() -> None:
    every = load_labelled([*shipped_labelled_paths(), *extra_labelled_paths()])  # raises on dups
    for it in every:
        assert re.fullmatch(r"(?:(?:x|h|m)-)?(?:en|zh)-\d{3}", it.id), it.id
        assert re.sub(r"^(?:x|h|m)-", "", it.id).startswith(it.language)
