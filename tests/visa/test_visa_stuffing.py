"""The value-word stuffing rule (valuealign.visa._stuffing): it flags runs of added value words
and leaves value-laden prose alone. No model needed."""

from __future__ import annotations

import json
import re
from importlib import resources

import pytest

from valuealign.visa._stuffing import StuffingRule, strip_stuffing, stuffed_spans

ORIGINAL = {
    "en": "The council approved the budget in March. It funds two bus lines.",
    "zh": "议会在三月批准了预算。这笔钱用于两条公交线路。",
}


def _labelled_texts() -> list[str]:
    """Every text of the shipped labelled sets: natural prose written to carry values."""
    root = resources.files("valuealign") / "data" / "values"
    texts = []
    for folder in ("labelled", "extra"):
        for f in (root / folder).iterdir():
            if f.name.endswith(".jsonl"):
                for line in f.read_text(encoding="utf-8").splitlines():
                    if line.strip():
                        row = json.loads(line)
                        if isinstance(row.get("text"), str):
                            texts.append(row["text"])
    return texts


@pytest.mark.parametrize(
    ("lang", "appended"),
    [
        ("en", " tradition customs heritage ancestors safety security"),
        ("en", " Tradition, customs, heritage, security, stability."),
        ("en", " tradition tradition tradition security security"),
        ("zh", "传统 习俗 祖先 安全 稳定"),
        ("zh", "传统习俗祖先礼仪安全稳定秩序"),
        ("zh", "传统、习俗、安全、稳定、秩序。"),
    ],
)
def test_appended_value_words_are_stuffing(lang: str, appended: str) -> None:
    rewrite = ORIGINAL[lang] + appended
    text, removed = strip_stuffing(ORIGINAL[lang], rewrite)
    assert len(removed) == 1
    # what is left is the original: the stuffed run is exactly what was added
    assert re.sub(r"\W", "", text) == re.sub(r"\W", "", ORIGINAL[lang])


@pytest.mark.parametrize(
    ("lang", "inserted"),
    [
        # the value carried by a statement: function words join the value words
        ("en", " We honour the customs of our ancestors and keep everyone safe and secure."),
        ("en", " Respect for tradition and for the safety of every family guided the vote."),
        ("zh", "我们尊重祖先传下来的习俗，也要保障每个人的安全。"),
        ("zh", "议员们表示，这是为了守护传统街区和居民的安全。"),
        # added text without value words is not stuffing, however list-like
        ("en", " Buses, trams, bicycles, ferries, taxis."),
        ("zh", "公交 地铁 出租车 自行车 轮渡"),
    ],
)
def test_statements_and_plain_lists_are_not_stuffing(lang: str, inserted: str) -> None:
    assert stuffed_spans(ORIGINAL[lang], ORIGINAL[lang] + inserted) == []


def test_stuffing_inside_the_text_is_found_and_the_rest_kept() -> None:
    original = ORIGINAL["en"]
    rewrite = original.replace("in March.", "in March. safety security stability order protection")
    text, removed = strip_stuffing(original, rewrite)
    assert removed == ["safety security stability order protection"]
    assert text == original


def test_a_copy_or_an_empty_rewrite_has_no_stuffing() -> None:
    assert stuffed_spans(ORIGINAL["en"], ORIGINAL["en"]) == []
    assert stuffed_spans(ORIGINAL["zh"], "") == []


def test_the_thresholds_decide() -> None:
    rewrite = ORIGINAL["en"] + " tradition customs heritage"  # three hits, no function word
    assert stuffed_spans(ORIGINAL["en"], rewrite)
    assert not stuffed_spans(ORIGINAL["en"], rewrite, StuffingRule(min_hits=4))


def test_no_labelled_text_or_clause_is_flagged() -> None:
    # the oracle: the shipped labelled texts were written as natural, value-laden prose (not by
    # this rule); none of them, whole or clause by clause, added to an answer, is stuffing
    texts = _labelled_texts()
    assert len(texts) > 1000
    flagged = []
    clauses = 0
    for text in texts:
        parts = [text] + [c for c in re.split(r"[,.;:!?，。；：！？、\n]", text) if c.strip()]
        for part in parts:
            clauses += 1
            if stuffed_spans("", part) or stuffed_spans(ORIGINAL["en"], ORIGINAL["en"] + part):
                flagged.append(part)
    assert clauses > 3000
    assert flagged == []
