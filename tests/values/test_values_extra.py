"""The extra training sets and the second annotator's labels: well-formed, kept off the test split."""

from __future__ import annotations

import json

from valuealign.values.labelled import (
    extra_labelled_path,
    extra_labelled_paths,
    load_labelled,
    training_set,
)


def test_training_set_adds_extra_and_never_test_items() -> None:
    shipped = load_labelled()
    test_ids = {it.id for it in shipped.split("test")}
    train = training_set()
    ids = [it.id for it in train]
    assert len(ids) == len(set(ids))
    assert not test_ids & set(ids)
    extra = load_labelled(extra_labelled_paths())
    assert extra_labelled_path() in extra_labelled_paths()
    assert {it.id for it in extra} <= set(ids)
    assert len(train) == len(shipped.split("train")) + len(extra)
    assert len(training_set(extra=False)) == len(shipped.split("train"))


def test_extra_set_is_oppose_heavy_and_bilingual() -> None:
    extra = load_labelled(extra_labelled_path())
    langs = [it.language for it in extra]
    assert langs.count("zh") >= 25 and langs.count("en") >= 25
    labels = extra.labels
    assert (labels == -1).sum() > (labels == 1).sum()


def test_second_annotator_labels_refer_to_shipped_items() -> None:
    shipped = load_labelled()
    by_id = {it.id: it for it in shipped}
    path = extra_labelled_path().with_name("second-annotator.jsonl")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    assert len(rows) >= 40
    for row in rows:
        assert row["id"] in by_id and row["annotator"] == "b"
        for value, label in row["values"].items():
            assert value in shipped.taxonomy.values and label in (-1, 1)
    assert {by_id[r["id"]].language for r in rows} == {"en", "zh"}
