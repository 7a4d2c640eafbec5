"""Survey-grounded agents: distribution-faithful data, consistency filter, map validation."""

import asyncio
import json
from collections import Counter

import pytest

from valuealign.backends import FunctionBackend, register_mock, unregister_mock
from valuealign.consensus.agents import (
    ITEMS,
    build_mc_rows,
    build_open_rows,
    direction,
    distribution_counts,
    match_option,
    personas,
    position,
    zone_check,
)


def test_distribution_counts_by_hand():
    # 0.81*10 = 8.1 -> 8, 0.17*10 = 1.7 -> 2, 0.015*10 -> 0, 0.005*10 -> 0: sum 10
    assert distribution_counts({"a": 0.81, "b": 0.17, "c": 0.015, "d": 0.005}, 10) == {
        "a": 8,
        "b": 2,
        "c": 0,
        "d": 0,
    }
    # 1/3 each of 10: 3+3+3 = 9, the deficit of 1 goes to the largest (the first of ties)
    assert distribution_counts({"x": 1 / 3, "y": 1 / 3, "z": 1 / 3}, 10) == {"x": 4, "y": 3, "z": 3}
    # rounding surplus: 0.25/0.25/0.25/0.25 of 2 -> round(0.5) = 0 each (banker's), deficit 2
    assert sum(distribution_counts({"a": 0.25, "b": 0.25, "c": 0.25, "d": 0.25}, 2).values()) == 2
    # 0.55/0.25/0.2 of 20 -> 11/5/4 exactly
    assert distribution_counts({"A": 0.55, "N": 0.25, "D": 0.2}, 20) == {"A": 11, "N": 5, "D": 4}


def test_mc_rows_reproduce_the_distribution_exactly():
    shares = {"Agree": 0.55, "Neither": 0.25, "Disagree": 0.2}
    rows = build_mc_rows("Is it a duty to have children?", shares, 20)
    for lang in ("en", "zh"):
        answers = Counter(r["messages"][1]["content"] for r in rows if r["language"] == lang)
        assert answers == {"A. Agree": 11, "B. Neither": 5, "C. Disagree": 4}
    zh = next(r for r in rows if r["language"] == "zh")
    assert "选项" in zh["messages"][0]["content"] and "A. Agree" in zh["messages"][0]["content"]


def test_open_rows_follow_counts_and_the_judge_filters():
    def writer(messages, config):
        user = messages[-1]["content"]
        if "Agree" in user.split("\n")[1] and "Disagree" not in user.split("\n")[1]:
            return "I agree, having children is a duty."
        return "It is a personal choice."

    def judge(messages, config):
        user = messages[-1]["content"]
        if "personal choice" in user:
            return "Agree"  # a wrong verdict: the 'Disagree' rewrite is dropped
        return "Agree"

    rows, decisions = asyncio.run(
        build_open_rows(
            "Is it a duty to have children?",
            {"Agree": 0.7, "Disagree": 0.3},
            10,
            FunctionBackend(writer, name="mock/w"),
            languages=("en",),
            judge=FunctionBackend(judge, name="mock/j"),
        )
    )
    assert [(d["option"], d["kept"]) for d in decisions] == [("Agree", True), ("Disagree", False)]
    assert Counter(r["option"] for r in rows) == {"Agree": 7}


def test_match_option():
    opts = ["Agree", "Disagree", "Neither"]
    assert match_option("Disagree.", opts) == "Disagree"
    assert match_option("B) because", opts) == "Disagree"
    assert match_option("unclear", opts) is None


def test_72_personas():
    en, zh = personas("en"), personas("zh")
    assert len(en) == len(set(en)) == 72 and len(zh) == len(set(zh)) == 72


def test_validation_arithmetic_by_hand():
    items = {i.id: i for i in ITEMS}
    # directions: Q164 (1..10, high = traditional): answer 10 -> -1, answer 1 -> +1
    assert direction(items["Q164"], 10) == -1.0 and direction(items["Q164"], 1) == 1.0
    # Q45 (1..3, 1 = good thing = traditional): 2 -> 0
    assert direction(items["Q45"], 2) == 0.0
    # Q46 happiness (1..4, 1 = very happy = self-expression): 1 -> +1, 4 -> -1
    assert direction(items["Q46"], 1) == 1.0
    answers = {
        # traditional/secular items: Q45 -> -1 (1), Q164 -> -1 (10), Q184 -> -1 (1),
        # Q27 -> -1 (1), Y003 -> +1 (3): mean -0.6, position 2 * -0.6 = -1.2
        "Q45": [1, 1],
        "Q164": [10, 10],
        "Q184": [1],
        "Q27": [1, None],
        "Y003": [3],
        # survival/self-expression: Q46 answers 1 and 4 -> mean 0; Q57 1 -> +1; Q209 3 -> -1;
        # Q182 10 -> +1; Y002 2 -> 0: mean 0.2, position 0.4
        "Q46": [1, 4],
        "Q57": [1],
        "Q209": [3],
        "Q182": [10],
        "Y002": [2],
    }
    pos = position(answers)
    assert pos["traditional_secular"] == pytest.approx(-1.2)
    assert pos["survival_self_expression"] == pytest.approx(0.4)
    assert pos["unparsed"] == 1
    zones = {
        "a": {"traditional_secular": -1.0, "survival_self_expression": 0.4},  # distance 0.2
        "b": {"traditional_secular": -1.2, "survival_self_expression": 0.0},  # distance 0.4
    }
    check = zone_check(pos, "b", zones)
    assert check == {"distance": 0.4, "nearest_zone": "a", "in_own_zone": False}


def test_cli_train_agents_data_only_and_validate(cli, tmp_path):
    def fn(messages, config):
        user = messages[-1]["content"]
        if "Which option" in user:
            return user.split("Answer: ")[1].split(" ")[0]  # echoes the option named first
        if "Rewrite" in user or "改写" in user:
            return user.split("\n")[1].split("：")[-1].split(": ")[-1] + " is my view."
        return "7"

    register_mock("agentmock", FunctionBackend(fn, name="mock/agentmock"))
    try:
        code, _out, err = cli(
            "consensus",
            "train-agents",
            "--survey",
            "builtin:survey-sample",
            "--zones",
            "confucian,protestant-europe",
            "--model",
            "hf/none",
            "--writer",
            "mock/agentmock",
            "--no-train",
            "--out",
            str(tmp_path / "a"),
        )
        assert code == 0, err
        meta = [
            json.loads(x)
            for x in (tmp_path / "a" / "data" / "confucian.meta.jsonl").read_text().splitlines()
        ]
        # China, "duty to have children": 0.55/0.25/0.2 of 10 -> 6/2/2 (5.5 -> 6 by rounding
        # half to even gives 6; 2.5 -> 2; 2): 10 per language and kind
        mc = Counter(
            m["option"]
            for m in meta
            if m["kind"] == "mc" and m["language"] == "en" and "duty" in m["question"]
        )
        assert mc == {"Agree": 6, "Neither agree nor disagree": 2, "Disagree": 2}
        code, _out, err = cli(
            "consensus",
            "validate-agents",
            "--zones",
            "confucian,protestant-europe",
            "--model",
            "mock/agentmock",
            "--personas",
            "3",
            "--out",
            str(tmp_path / "v"),
        )
        assert code == 0, err
        report = json.loads((tmp_path / "v" / "validation.json").read_text())
        # every answer "7": valid only on the 1..10 items; Q164 7 -> -(−1+2*6/9) = -1/3,
        # Q184 7 -> 1/3: TS mean 0 -> 0; Q182 7 -> 1/3 -> SSE 2/3
        pos = report["results"]["prompt-only"]["confucian"]["position"]
        assert pos["traditional_secular"] == pytest.approx(0.0, abs=1e-4)
        assert pos["survival_self_expression"] == pytest.approx(0.6667, abs=1e-4)
        assert pos["unparsed"] == 7 * 3
    finally:
        unregister_mock("agentmock")
