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


def test_annotator_c_labels_a_seeded_draw_of_both_languages() -> None:
    shipped = load_labelled()
    by_id = {it.id: it for it in shipped}
    path = extra_labelled_path().with_name("annotator-c.jsonl")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)) == 80
    langs = [by_id[i].language for i in ids]
    assert langs.count("en") == 40 and langs.count("zh") == 40
    for row in rows:
        assert row["annotator"] == "c" and not row["id"].startswith(("x-", "h-"))
        for value, label in row["values"].items():
            assert value in shipped.taxonomy.values and label in (-1, 1)
    # the labels are not a copy of the first pass (they were written blind)
    assert any(dict(by_id[r["id"]].labels) != r["values"] for r in rows)


def test_saved_agreement_matches_scikit_learn() -> None:
    """The saved kappa (benchmarks/value_agreement.py) recomputed with scikit-learn."""
    from pathlib import Path

    from sklearn.metrics import cohen_kappa_score

    saved = Path(__file__).resolve().parents[2] / "benchmarks/results/value_agreement.json"
    result = json.loads(saved.read_text(encoding="utf-8"))["annotator_c"]
    shipped = load_labelled()
    by_id = {it.id: it for it in shipped}
    tax = shipped.taxonomy
    path = extra_labelled_path().with_name("annotator-c.jsonl")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    for lang in ("en", "zh", "all"):
        mine = [r for r in rows if lang == "all" or by_id[r["id"]].language == lang]
        first = [int(x) for r in mine for x in by_id[r["id"]].vector(tax)]
        second = [int(r["values"].get(v, 0)) for r in mine for v in tax.values]
        expected = cohen_kappa_score(first, second)
        assert abs(result[lang]["cohen_kappa_cells"] - expected) < 1e-3, lang
        j = tax.values.index("self-direction")  # the value with most disagreement
        col_a = [int(by_id[r["id"]].vector(tax)[j]) for r in mine]
        col_b = [int(r["values"].get("self-direction", 0)) for r in mine]
        expected_sd = cohen_kappa_score(col_a, col_b)
        assert abs(result[lang]["kappa_per_value"]["self-direction"] - expected_sd) < 1e-3, lang


def test_annotator_d_labels_the_blind_sample_and_its_saved_kappa_matches_scikit_learn() -> None:
    """Annotator d's file covers exactly the committed sample of more.jsonl, and the saved kappa
    (benchmarks/value_agreement.py) is what scikit-learn computes from the two files."""
    from pathlib import Path

    from sklearn.metrics import cohen_kappa_score

    from valuealign.values.labelled import load_labelled as load

    folder = extra_labelled_path().parent
    sample = [
        x.strip()
        for x in (folder / "more-blind-sample.txt").read_text(encoding="utf-8").splitlines()
        if x.strip() and not x.startswith("#")
    ]
    rows = [
        json.loads(line)
        for line in (folder / "annotator-d.jsonl").read_text(encoding="utf-8").splitlines()
        if line
    ]
    assert [r["id"] for r in rows] == sample and len(sample) == 100
    assert all(r["annotator"] == "d" for r in rows)
    more = load([folder / "more.jsonl"])
    by_id = {it.id: it for it in more}
    tax = more.taxonomy
    saved = Path(__file__).resolve().parents[2] / "benchmarks/results/value_agreement.json"
    result = json.loads(saved.read_text(encoding="utf-8"))["annotator_d"]
    for lang in ("en", "zh", "all"):
        mine = [r for r in rows if lang == "all" or by_id[r["id"]].language == lang]
        first = [int(x) for r in mine for x in by_id[r["id"]].vector(tax)]
        second = [int(r["values"].get(v, 0)) for r in mine for v in tax.values]
        assert abs(result[lang]["cohen_kappa_cells"] - cohen_kappa_score(first, second)) < 1e-3
    assert any(dict(by_id[r["id"]].labels) != r["values"] for r in rows)  # written blind
