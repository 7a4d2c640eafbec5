"""Honest totals: every planned item counts in the maximum, missing items are listed and flagged,
and comparisons of models scored on different item sets say so. Numbers computed by hand."""

from valuealign.charter import load_charter
from valuealign.evaluate.records import EvalAnswer, Judgement
from valuealign.evaluate.scores import compute_scores
from valuealign.report.tables import fmt_total

SUB = "religion-belief"


def _answer(model: str, item: str, error: bool = False) -> EvalAnswer:
    return EvalAnswer(
        id=f"{model}|{item}|en",
        model=model,
        item_id=item,
        benchmark="b",
        domain="d",
        subdomain=SUB,
        item_kind="direct",
        language="en",
        question="q",
        answer=None if error else "a",
        error="HTTP 503" if error else None,
    )


def _verdict(model: str, item: str, score: int | None) -> Judgement:
    return Judgement(
        id=f"j|{model}|{item}|en",
        judge="j",
        model=model,
        item_id=item,
        benchmark="b",
        domain="d",
        subdomain=SUB,
        item_kind="direct",
        language="en",
        score=score,
        parse_error=None if score is not None else "no VERDICT",
    )


def _run(answers, judgements, planned, benchmark_items=None):
    return compute_scores(
        answers=answers,
        judgements=judgements,
        consistency=[],
        charter=load_charter("builtin:balanced-v1"),
        models=["A", "B"],
        judges=["j"],
        languages=["en"],
        benchmark="b",
        planned=planned,
        benchmark_items=benchmark_items,
    )


def test_missing_items_stay_in_the_maximum_and_flag_the_total() -> None:
    items = ["i1", "i2", "i3", "i4", "i5"]
    planned = [(i, "direct") for i in items]
    # A: scores 5,4,3 on i1..i3; a parse failure on i4; i5 failed to answer (no judgement).
    # B: 2 on every item.
    answers = [_answer("A", i, error=(i == "i5")) for i in items] + [_answer("B", i) for i in items]
    judgements = [_verdict("A", "i1", 5), _verdict("A", "i2", 4), _verdict("A", "i3", 3)]
    judgements += [_verdict("A", "i4", None)] + [_verdict("B", i, 2) for i in items]
    s = _run(answers, judgements, planned, benchmark_items=10)
    a = s["per_model"]["A"]["languages"]["en"]
    b = s["per_model"]["B"]["languages"]["en"]
    assert (a["total"], a["max_total"], a["n"], a["items"]) == (12, 25, 3, 5)
    assert a["missing"] == 2 and a["missing_ids"] == ["i4", "i5"] and a["incomplete"] is True
    assert a["mean"] == 4.0
    assert (b["total"], b["max_total"], b["missing"], b["incomplete"]) == (10, 25, 0, False)
    assert a["slice"] == {"items": 5, "benchmark_items": 10}
    assert fmt_total(a) == "12 / 25 (incomplete: 2 missing) [slice: 5 of 10 items]"
    # paired comparison only over i1..i3: A 4.0 vs B 2.0, and it says two items were left out
    (c,) = s["comparisons"]
    assert (c["n"], c["shared_items"], c["a_only"], c["b_only"]) == (3, 3, 0, 2)
    assert c["mean_a"] == 4.0 and c["mean_b"] == 2.0 and c["mean_diff"] == 2.0
    assert "different item sets" in c["note"]
    assert any("A (en): total is incomplete, 2 of 5" in w for w in s["total_warnings"])
    assert any("different item sets" in w for w in s["total_warnings"])


def test_a_complete_run_has_no_warnings() -> None:
    planned = [("i1", "direct"), ("i2", "direct"), ("bn", "benign")]
    answers = [_answer(m, i) for m in "AB" for i in ("i1", "i2")]
    judgements = [_verdict(m, i, 3 if m == "A" else 4) for m in "AB" for i in ("i1", "i2")]
    s = _run(answers, judgements, planned, benchmark_items=2)
    a = s["per_model"]["A"]["languages"]["en"]
    assert (a["total"], a["max_total"], a["incomplete"], a["slice"]) == (6, 10, False, None)
    assert s["total_warnings"] == [] and s["comparisons"][0]["note"] is None
    assert fmt_total(a) == "6 / 10"


def test_an_item_never_answered_counts_as_missing() -> None:
    # planned but absent from answers.jsonl (e.g. the run was killed): still in the maximum
    s = _run([_answer("A", "i1")], [_verdict("A", "i1", 5)], [("i1", "direct"), ("i2", "direct")])
    a = s["per_model"]["A"]["languages"]["en"]
    assert (a["total"], a["max_total"], a["missing_ids"]) == (5, 10, ["i2"])
    assert s["per_model"]["B"]["languages"]["en"]["missing"] == 2
