"""MeaningMeasure: similarity x conflict cues x same-meaning judge (cues and arithmetic without a
model; the ranking on fixed zh/en pairs with the embedded Qwen 0.5B vectors)."""

from __future__ import annotations

import math

import pytest

from valuealign.errors import UserError
from valuealign.values.embed import embedding_available
from valuealign.values.meaning import (
    MeaningMeasure,
    conflict_cues,
    negation_count,
    same_meaning_messages,
    swapped_roles,
)

needs_model = pytest.mark.skipif(
    not embedding_available(), reason="torch/transformers or the embedded Qwen 0.5B missing"
)


class _Fixed:
    def __init__(self, value: float) -> None:
        self.value = value

    def similarity(self, a: str, b: str) -> float:
        return self.value


class _Judge:
    """Next-token log-probabilities of a fixed P(yes) = 0.75; records the chats it saw."""

    name = "stub/judge"

    def __init__(self) -> None:
        self.seen: list[tuple[list[dict], list[str]]] = []

    def choice_logprobs(self, messages, prefix, choices):
        self.seen.append((messages, list(choices)))
        yes, no = choices
        return {yes: math.log(0.6), no: math.log(0.2)}  # renormalised: 0.75


@pytest.mark.parametrize(
    ("a", "b", "cues"),
    [
        ("The budget was 2 million dollars.", "The budget was 9 million dollars.", ["number"]),
        ("The budget was 2 million dollars.", "The budget was two million dollars.", []),
        ("About 1,200 people came in 2019.", "In 2019 some 1200 people came.", []),
        ("Exercise lowers the risk.", "Exercise does not lower the risk.", ["negation"]),
        ("Exercise lowers the risk.", "It is not true that exercise never lowers it.", []),
        ("市议会批准了2000万元的预算。", "市议会批准了9000万元的预算。", ["number"]),
        ("市议会批准了预算。", "市议会没有批准预算。", ["negation"]),
        ("阳台上可以吸烟。", "阳台上禁止吸烟。", ["negation"]),
        # words that contain a negating character but do not negate
        ("这个计划非常好，未来会帮助别人。", "这个计划很好，将来会帮到他人。", []),
        ("经济不断发展。", "经济持续增长。", []),
        (
            "The fee rose from 5 to 7 euros.",
            "The fee fell from 7 to 5 euros.",
            ["antonym", "swap"],  # the two amounts exchanged, too
        ),
        # number words and Chinese numerals are numbers
        ("The company hired forty engineers.", "The company hired 40 engineers.", []),
        ("The company hired forty engineers.", "The company hired 14 engineers.", ["number"]),
        ("约有一万两千人参加。", "大约12000人参加了。", []),
        ("预算是两百万元。", "预算是九百万元。", ["number"]),
        ("火车八点半从二号站台出发。", "火车六点一刻从七号站台出发。", ["number"]),
        ("我们一起少吃一点。", "大家一同少吃些。", []),
        # opposite words, in both languages; "against" is a stance, not a negation
        ("The museum is open on Sundays.", "The museum is closed on Sundays.", ["antonym"]),
        ("Prices will rise next year.", "Prices will fall next year.", ["antonym"]),
        ("博物馆周日开放。", "博物馆周日关闭。", ["antonym"]),
        ("She won a game against her brother.", "She beat her brother at a game.", []),
    ],
)
def test_conflict_cues(a: str, b: str, cues: list[str]) -> None:
    assert conflict_cues(a, b) == cues


@pytest.mark.parametrize(
    ("a", "b", "swap"),
    [
        # two actors exchanged (the verb may change too): a swap
        ("Peter sent a letter to Grace last week.", "Grace sent a letter to Peter last week.", 1),
        (
            "The landlord sued the tenant over the rent.",
            "The tenant sued the landlord over the rent.",
            1,
        ),
        (
            "The mayor thanked the nurses at the hospital.",
            "The nurses thanked the mayor at the hospital.",
            1,
        ),
        ("老张上个月给小陈寄了一封信。", "小陈上个月给老张寄了一封信。", 1),
        ("房东因为房租起诉了租客。", "租客因为房租起诉了房东。", 1),
        # the same facts: a passive, a fronted phrase, a coordination, a rewording
        (
            "The landlord sued the tenant over the rent.",
            "The tenant was sued by the landlord over the rent.",
            0,
        ),
        ("The mayor thanked the nurses on Friday.", "On Friday the mayor thanked the nurses.", 0),
        ("Peter and Grace sent a letter.", "Grace and Peter sent a letter.", 0),
        ("Peter sent a letter to Grace.", "Grace got a letter from Peter.", 0),
        ("房东因为房租起诉了租客。", "租客因为房租被房东起诉了。", 0),
        ("老张和小陈周五去了医院。", "小陈和老张周五去了医院。", 0),
        ("市长周五感谢了医院的护士。", "周五，市长向医院的护士表示感谢。", 0),
    ],
)
def test_swapped_roles(a: str, b: str, swap: int) -> None:
    assert swapped_roles(a, b) is bool(swap)
    assert ("swap" in conflict_cues(a, b)) is bool(swap)


def test_swapped_roles_in_a_long_text_is_found_sentence_by_sentence() -> None:
    filler = "The weather was mild and the streets were quiet all afternoon. " * 8
    a = filler + "The landlord sued the tenant over the rent."
    b = filler + "The tenant sued the landlord over the rent."
    assert swapped_roles(a, b) and not swapped_roles(a, a + " It rained later.")


def test_negation_count_both_languages() -> None:
    assert negation_count("We can't and won't, never.") == 3
    assert negation_count("我们不去，也没有时间。") == 2
    assert negation_count("特别是别人的未来无论如何非常重要。") == 0
    assert negation_count("They voted against the plan.") == 0


def test_score_is_similarity_times_cues_times_judge() -> None:
    judge = _Judge()
    m = MeaningMeasure(similarity_model=_Fixed(0.8), judge=judge, cue_factor=0.5)
    a, b = "The fund paid 3 grants.", "The fund did not pay 5 grants."  # number and negation
    got = m.check(a, b, "en")
    assert got.cues == ("number", "negation")
    assert got.p_same == pytest.approx(0.75)
    assert got.score == pytest.approx(0.8 * 0.5**2 * 0.75)
    assert m.similarity(a, b) == pytest.approx(got.score)
    assert len(judge.seen) == 1  # cached
    messages, choices = judge.seen[0]
    assert choices == ["Yes", "No"] and a in messages[-1]["content"]
    m.check("会议批准了预算。", "会议通过了预算。", "zh")
    assert judge.seen[-1][1] == ["是", "否"]
    assert same_meaning_messages("甲", "乙", "zh")[0]["content"].startswith("文本A：甲")
    assert m.check(a, a).score == 1.0 and m.check(a, " ").score == 0.0
    no_judge = MeaningMeasure(similarity_model=_Fixed(0.8))
    assert no_judge.check(a, b).p_same is None
    assert no_judge.check(a, b).score == pytest.approx(0.8 * 0.4**2)


def test_a_judge_without_logprobs_is_refused() -> None:
    with pytest.raises(UserError, match="log-probabilities"):
        MeaningMeasure(similarity_model=_Fixed(1.0), judge=object())
    with pytest.raises(ValueError):
        MeaningMeasure(similarity_model=_Fixed(1.0), cue_factor=2.0)


@needs_model
@pytest.mark.parametrize(
    ("original", "paraphrase", "number", "negation"),
    [
        (
            "The clinic treated 40 patients on Monday.",
            "Forty people were seen as patients at the clinic on Monday, 40 in all.",
            "The clinic treated 70 patients on Monday.",
            "The clinic did not treat 40 patients on Monday.",
        ),
        (
            "诊所周一接诊了40名病人。",
            "周一有40位患者在这家诊所看了病。",
            "诊所周一接诊了70名病人。",
            "诊所周一没有接诊40名病人。",
        ),
    ],
)
def test_paraphrase_outranks_number_and_negation_edits(
    original: str, paraphrase: str, number: str, negation: str
) -> None:
    m = MeaningMeasure()
    para = m.check(original, paraphrase).score
    # the embeddings alone rank the edits above the paraphrase (the reason for the cues)
    assert m.similarity_model.similarity(original, number) > m.similarity_model.similarity(
        original, paraphrase
    )
    assert para > m.check(original, number).score
    assert para > m.check(original, negation).score
