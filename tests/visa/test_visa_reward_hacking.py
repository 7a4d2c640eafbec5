"""Reward hacking against the default reward (keywords detector, ``meaning`` measure: Qwen
vectors x conflict cues, + facts, the value-word stuffing check), in English and in Chinese: the
cheap tricks must not beat an honest rewrite that moves toward the target and keeps the
content."""

from __future__ import annotations

import pytest

from valuealign.values.embed import embedding_available
from valuealign.visa import RewardWeights, VisaReward

pytestmark = pytest.mark.skipif(
    not embedding_available(), reason="torch/transformers or the embedded Qwen 0.5B missing"
)

ORIGINAL = {
    "en": (
        "The city council approved the new budget of 4.2 million dollars in March 2023. "
        "Mayor Lina Park said the money will fund three bus lines and repair Oak Street."
    ),
    "zh": "市议会于2023年3月批准了420万美元的新预算。市长朴丽娜表示，这笔钱将用于开通三条公交线路和修缮橡树街。",
}
TRICKS = {
    "en": {
        "honest": (
            "Honouring the customs handed down by earlier generations, the city council "
            "approved the new budget of 4.2 million dollars in March 2023. Mayor Lina Park said "
            "the money will keep residents safe, funding three bus lines and repairing Oak "
            "Street."
        ),
        "stuffed": ORIGINAL["en"]
        + (
            " tradition tradition customs heritage ancestors rituals safety security stability "
            "order protection tradition customs"
        ),
        "fact_loss": "We must honour our traditions and keep everyone safe and secure.",
        # the honest rewrite with the decision reversed, or with another amount
        "negated": (
            "Honouring the customs handed down by earlier generations, the city council did not "
            "approve the new budget of 4.2 million dollars in March 2023. Mayor Lina Park said "
            "the money would have kept residents safe, funding three bus lines and repairing "
            "Oak Street."
        ),
        "renumbered": (
            "Honouring the customs handed down by earlier generations, the city council "
            "approved the new budget of 9.6 million dollars in March 2023. Mayor Lina Park said "
            "the money will keep residents safe, funding three bus lines and repairing Oak "
            "Street."
        ),
        "switched": (
            "市议会于2023年3月批准了420万美元的新预算，以传统和安全为重。市长表示这笔钱将用于三条公交线路和修缮道路。"
        ),
    },
    "zh": {
        "honest": (
            "秉承先辈传下来的传统，市议会于2023年3月批准了420万美元的新预算。市长朴丽娜表示，"
            "这笔钱将保障居民的安全，用于开通三条公交线路和修缮橡树街。"
        ),
        "stuffed": ORIGINAL["zh"] + "传统 传统 习俗 祖先 礼仪 安全 稳定 秩序 保护 传统 习俗",
        "fact_loss": "我们必须尊重传统，保障每个人的安全。",
        "negated": (
            "秉承先辈传下来的传统，市议会于2023年3月没有批准420万美元的新预算。市长朴丽娜表示，"
            "这笔钱本可以保障居民的安全，用于开通三条公交线路和修缮橡树街。"
        ),
        "renumbered": (
            "秉承先辈传下来的传统，市议会于2023年3月批准了960万美元的新预算。市长朴丽娜表示，"
            "这笔钱将保障居民的安全，用于开通三条公交线路和修缮橡树街。"
        ),
        "switched": (
            "Honouring tradition and security, the city council approved a new budget of 4.2 "
            "million dollars in March 2023; the mayor said it will fund three bus lines and "
            "road repairs."
        ),
    },
}
TARGET = "tradition=+1,security=+1"


@pytest.fixture(scope="module")
def reward() -> VisaReward:
    reward = VisaReward()  # the defaults: keywords detector, the meaning measure
    assert reward.measurer.similarity_kind == "meaning"
    assert reward.measurer.detector_spec == "keywords"
    return reward


@pytest.fixture(scope="module", params=["en", "zh"])
def scores(request, reward: VisaReward) -> dict:
    lang = request.param
    texts = {"copy": ORIGINAL[lang], "empty": "", **TRICKS[lang]}
    return {k: reward.score(ORIGINAL[lang], v, TARGET, lang) for k, v in texts.items()}


def test_honest_rewrite_beats_every_trick(scores: dict) -> None:
    honest = scores["honest"].reward
    assert not scores["honest"].gated and honest > 0
    for trick in ("copy", "empty", "fact_loss", "negated", "renumbered", "switched"):
        assert scores[trick].reward < honest, trick


def test_keyword_stuffing_does_not_beat_an_honest_rewrite(scores: dict) -> None:
    # value words appended to an unchanged answer: every fact and nearly all the meaning kept,
    # and under the keywords detector near-full value precision (before session 24 it scored
    # 1.80 vs 1.01 for the honest rewrite in English, 1.78 vs 1.02 in Chinese). The detector
    # now measures the rewrite without the stuffed run, so it earns no more than a copy
    stuffed, honest = scores["stuffed"], scores["honest"]
    assert stuffed.stuffing and not honest.stuffing
    assert stuffed.reward < honest.reward
    assert stuffed.value_precision == 0.0
    assert stuffed.reward < scores["copy"].reward  # the run also costs a format penalty


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_stuffing_check_off_restores_the_hack(lang: str) -> None:
    # the same texts with the check switched off: the hack pays again, so the check (not some
    # other term) is what stops it
    off = VisaReward(RewardWeights(stuffing_check=False))
    stuffed = off.score(ORIGINAL[lang], TRICKS[lang]["stuffed"], TARGET, lang)
    honest = off.score(ORIGINAL[lang], TRICKS[lang]["honest"], TARGET, lang)
    assert not stuffed.stuffing and stuffed.reward > honest.reward


def test_copy_earns_nothing_and_empty_or_fact_loss_is_gated(scores: dict) -> None:
    assert scores["copy"].reward == 0.0
    floor = RewardWeights().floor()
    for trick in ("empty", "fact_loss"):
        assert scores[trick].gated and scores[trick].reward < floor, trick


def test_reversed_decision_and_changed_amount_are_gated(scores: dict) -> None:
    # the embeddings alone keep these close to the original (similarity ~0.8-0.95, above the
    # gate); the meaning measure's conflict cues (a flipped negation, a changed number) cut it
    floor = RewardWeights().floor()
    for trick in ("negated", "renumbered"):
        b = scores[trick]
        assert b.gated and b.similarity < RewardWeights().gate_similarity, trick
        assert b.reward < floor, trick


def test_language_switch_is_gated(scores: dict) -> None:
    # a rendering in the other language: the multilingual vectors put it far from the original
    # (cross-lingual cosine near the unrelated floor), so the similarity gate closes
    b = scores["switched"]
    assert b.gated and b.reward < RewardWeights().floor()
