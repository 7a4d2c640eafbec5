"""The composite reward: properties that make it safe to optimise, and the TRL signature."""

from __future__ import annotations

import math
import pickle

import pytest

from valuealign.visa import RewardWeights, VisaReward, trl_reward_functions, trl_reward_weights

ORIGINAL = (
    "The city council approved the new budget of 4.2 million dollars in March 2023. "
    "Mayor Lina Park said the money will fund three bus lines and repair Oak Street."
)
ON_TARGET = (
    "Honouring the customs handed down by earlier generations, the city council approved the "
    "new budget of 4.2 million dollars in March 2023. Mayor Lina Park said the money will keep "
    "residents safe, funding three bus lines and repairing Oak Street."
)
DROPS_FACTS = (
    "We must honour the customs and traditions handed down by our ancestors and keep everyone "
    "safe and secure."
)
DRIFTS = ON_TARGET + " It is also about luxury, pleasure, winning, success and wealth."
TARGET = "tradition=+1,security=+1"


@pytest.fixture(scope="module")
def reward() -> VisaReward:
    return VisaReward(similarity="tfidf")


def test_copy_gets_no_value_credit(reward: VisaReward) -> None:
    b = reward.score(ORIGINAL, ORIGINAL, TARGET, "en")
    assert b.value_precision == 0.0
    assert b.drift == 0.0 and not b.gated
    # even an original that already sits on the target earns nothing by being copied
    b2 = reward.score(ON_TARGET, ON_TARGET, TARGET, "en")
    assert b2.value_precision == 0.0


def test_copy_earns_nothing_in_total(reward: VisaReward) -> None:
    # the reward's own rule: credit is for movement, so keeping every fact of an unchanged
    # answer is worth exactly nothing, in both languages
    for original, lang in (
        (ORIGINAL, "en"),
        (ON_TARGET, "en"),
        ("根据2015年修订的法律，成年子女有赡养父母的义务。", "zh"),
    ):
        b = reward.score(original, original, TARGET, lang)
        assert b.reward == 0.0 and b.semantic_integrity > 0.9
    moved = reward.score(ORIGINAL, ON_TARGET, TARGET, "en")
    assert moved.reward > moved.value_precision > 0  # movement that keeps content earns more


def test_hitting_the_target_but_dropping_facts_is_gated(reward: VisaReward) -> None:
    b = reward.score(ORIGINAL, DROPS_FACTS, TARGET, "en")
    assert b.value_precision > 0.5  # the detector does see the values...
    assert b.gated and b.gate_reason  # ...but the content is gone
    w = RewardWeights()
    assert w.gated_value() < b.reward < w.gated_value() + w.gate_slope < w.floor()
    empty = reward.score(ORIGINAL, "", TARGET, "en")
    assert empty.gated and empty.reward == w.gated_value() < b.reward  # less content, less
    assert {"2023", "4.2", "Mayor Lina Park"} <= set(b.missing_facts)


def test_hitting_the_target_and_keeping_facts_scores_highest(reward: VisaReward) -> None:
    scores = {
        name: reward.score(ORIGINAL, text, TARGET, "en").reward
        for name, text in {
            "copy": ORIGINAL,
            "good": ON_TARGET,
            "drops": DROPS_FACTS,
            "drifts": DRIFTS,
            "empty": "",
            "preamble": "Here is the rewritten answer: " + ON_TARGET,
        }.items()
    }
    assert max(scores, key=scores.__getitem__) == "good"
    assert scores["empty"] == RewardWeights().gated_value()


def test_untargeted_drift_lowers_the_reward(reward: VisaReward) -> None:
    good = reward.score(ORIGINAL, ON_TARGET, TARGET, "en")
    drift = reward.score(ORIGINAL, DRIFTS, TARGET, "en")
    assert drift.drift < good.drift == 0.0
    assert drift.reward < good.reward


def test_moving_away_from_the_target_is_negative(reward: VisaReward) -> None:
    away = ORIGINAL + " Such customs are outdated, obsolete and antiquated."
    b = reward.score(ORIGINAL, away, "tradition=+1", "en")
    assert b.value_precision < 0


def test_format_penalty_for_preambles_and_length(reward: VisaReward) -> None:
    pre = reward.score(ORIGINAL, "Here is the rewritten answer: " + ON_TARGET, TARGET, "en")
    assert pre.format_penalty < 0 and pre.artifacts
    long = reward.score(ORIGINAL, " ".join([ON_TARGET] * 5), TARGET, "en")
    assert long.length_ratio > 2 and long.format_penalty < 0


def test_novel_entities_cost_semantic_integrity(reward: VisaReward) -> None:
    plain = reward.score(ORIGINAL, ON_TARGET, TARGET, "en")
    invented = reward.score(
        ORIGINAL, ON_TARGET + " Governor Max Weber added 17 more lines.", TARGET, "en"
    )
    assert {"Governor Max Weber", "17"} <= set(invented.novel_entities)
    assert invented.semantic_integrity < plain.semantic_integrity


def test_chinese_pair(reward: VisaReward) -> None:
    original = "根据2015年修订的法律，成年子女有赡养父母的义务。许多家庭每月给父母500元生活费。"
    rewrite = original + "这也体现了尊重传统习俗、维护家庭安定的精神。"
    b = reward.score(original, rewrite, TARGET, "zh")
    assert b.value_precision > 0 and not b.gated and b.fact_share == 1.0


def test_weights_validate_and_gate_sits_below_every_open_reward() -> None:
    with pytest.raises(ValueError):
        RewardWeights(value=-1)
    w = RewardWeights(value=2.0, format=0.0)
    assert w.gated_value() + w.gate_slope < w.floor()
    assert RewardWeights(gate_reward=-9.0).gated_value() == -9.0
    with pytest.raises(ValueError, match="below floor"):
        RewardWeights(gate_reward=0.0)


def _columns(n: int) -> dict:
    return {"original": [ORIGINAL] * n, "target": [TARGET] * n, "language": ["en"] * n}


def test_trl_functions_accept_plain_strings() -> None:
    funcs = trl_reward_functions(similarity="tfidf")
    names = [f.__name__ for f in funcs]
    assert names == [
        "visa_value_precision",
        "visa_drift",
        "visa_semantic_integrity",
        "visa_format_penalty",
        "visa_reward",
    ]
    assert trl_reward_weights(funcs) == [0.0, 0.0, 0.0, 0.0, 1.0]
    completions = [ORIGINAL, ON_TARGET, DROPS_FACTS]
    out = {f.__name__: f(prompts=["p"] * 3, completions=completions, **_columns(3)) for f in funcs}
    assert all(len(v) == 3 and all(isinstance(x, float) for x in v) for v in out.values())
    assert out["visa_value_precision"][0] == 0.0
    assert out["visa_reward"][1] == max(out["visa_reward"])
    assert out["visa_reward"][2] < RewardWeights().floor()


def test_trl_functions_accept_chat_completions_and_trl_kwargs() -> None:
    funcs = trl_reward_functions(similarity="tfidf")
    chat = [[{"role": "assistant", "content": t}] for t in (ORIGINAL, ON_TARGET)]
    plain = [ORIGINAL, ON_TARGET]
    logged: list[tuple[str, float]] = []
    for f in funcs:
        a = f(
            prompts=[[{"role": "user", "content": "q"}]] * 2,
            completions=chat,
            completion_ids=[[1, 2], [3]],
            trainer_state=None,
            log_extra=lambda *a, **k: None,
            log_metric=lambda name, value: logged.append((name, value)),
            **_columns(2),
        )
        b = f(prompts=["q", "q"], completions=plain, **_columns(2))
        assert a == b
    assert logged == [("visa/gated_share", 0.0)]


def test_trl_functions_name_missing_columns_and_pickle() -> None:
    f = trl_reward_functions(similarity="tfidf", terms=False)[0]
    with pytest.raises(KeyError, match="original"):
        f(prompts=["q"], completions=["x"], target=[TARGET])
    g = pickle.loads(pickle.dumps(f))
    assert g.__name__ == "visa_reward"
    r = g(prompts=["q"], completions=[ON_TARGET], **_columns(1))
    assert math.isfinite(r[0]) and r[0] > 1.0


def test_a_copy_earns_nothing_in_total(reward: VisaReward) -> None:
    """The reward's own rule, for the composite too: an unchanged answer is worth 0, less than
    any rewrite that moves towards the target while keeping the facts."""
    copy = reward.score(ORIGINAL, ORIGINAL, TARGET, "en")
    assert copy.semantic_integrity > 0.9  # the measurement is still reported...
    assert copy.reward == 0.0  # ...but earns nothing without movement
    on_target_copy = reward.score(ON_TARGET, ON_TARGET, TARGET, "en")
    assert on_target_copy.reward == 0.0
    good = reward.score(ORIGINAL, ON_TARGET, TARGET, "en")
    assert good.reward > copy.reward
