"""Metrics shared by every method, on fixtures with hand-computed numbers; the two baselines."""

import asyncio
import math
from types import SimpleNamespace

import pytest

from valuealign.backends import FunctionBackend
from valuealign.consensus.baselines import consultancy, debate
from valuealign.consensus.metrics import (
    echo_gap,
    echo_perplexity,
    echo_ratio,
    interval,
    method_row,
    vsc_from_vectors,
)
from valuealign.consensus.negotiation import Agent
from valuealign.consensus.profiles import get_profile
from valuealign.consensus.runner import degenerate_flags, restated_sentence


def test_vsc_by_hand():
    # opening A = e1+e2, final A = e1 -> cos = 1/sqrt2; opening B = e2, final B = e1+e2 -> 1/sqrt2
    e = [0] * 10
    a_open = [1, 1, *e[2:]]
    a_final = [1, 0, *e[2:]]
    b_open = [0, 1, *e[2:]]
    b_final = [1, 1, *e[2:]]
    out = vsc_from_vectors(["a", "b"], [a_open, b_open], [a_final, b_final], detector="llm:x")
    r = round(1 / math.sqrt(2), 4)
    assert out["vsc"] == {"a": r, "b": r}
    assert out["balance"] == 0.0
    # before: cos(a_open, b_open) = 1/sqrt2; after: cos(a_final, b_final) = 1/sqrt2 -> gain 0
    assert out["consensus_gain"] == 0.0
    pair = out["consensus"][0]
    assert pair["l1_final"] == 1.0 and pair["equal_share_final"] == 0.9
    assert pair["cross_a_final_b_opening"] == 0.0
    assert out["detector"] == "llm:x" and out["zero_vectors"] == []


def test_vsc_all_zero_and_failed_vectors_are_reported():
    z = [0] * 10
    one = [1] + [0] * 9
    nan = [float("nan")] * 10
    out = vsc_from_vectors(["a", "b", "c"], [one, z, one], [one, one, nan])
    assert out["vsc"] == {"a": 1.0, "b": None, "c": None}
    assert out["zero_vectors"] == ["b opening"] and out["failed"] == ["c final"]
    assert out["balance"] is None and out["mean_vsc"] == 1.0
    # only the pair (a, c) has a before; its after is NaN: no pair has a gain
    assert out["consensus_gain"] is None


def test_echo_ratio_by_hand():
    # ppl[j][i]: i's text under j's model. d = |ppl[1][0] - ppl[0][1]|
    opening = [[1.0, 1.5], [1.1, 1.0]]  # |1.1 - 1.5| = 0.4
    final = [[1.0, 1.2], [1.1, 1.0]]  # |1.1 - 1.2| = 0.1
    assert echo_gap(opening) == pytest.approx(0.4)
    out = echo_ratio(opening, final)
    assert out == {"d_init": 0.4, "d_final": 0.1, "ratio": 0.25}
    assert echo_ratio(opening, [[1.0, None], [1.1, 1.0]])["ratio"] is None
    # three agents: mean over the three pairs
    m = [[1, 2, 3], [4, 1, 5], [6, 7, 1]]
    assert echo_gap(m) == pytest.approx((abs(4 - 2) + abs(6 - 3) + abs(7 - 5)) / 3)


def test_method_row_share_below_one_and_interval():
    scores = [{"echo_ratio": 0.5, "mean_vsc": 0.2}, {"echo_ratio": 1.5}, {"echo_ratio": 0.9}]
    row = method_row(scores)
    assert row["echo_ratio_below_1"] == pytest.approx(0.6667, abs=1e-4)
    assert row["mean_vsc"] == {"mean": 0.2, "low": None, "high": None, "n": 1}
    assert row["echo_ratio"]["mean"] == pytest.approx(0.9667, abs=1e-4)
    iv = interval([1.0, 1.0, 1.0])
    assert iv["low"] == iv["high"] == 1.0
    iv = interval([0.0, 1.0])
    assert 0.0 <= iv["low"] <= iv["mean"] == 0.5 <= iv["high"] <= 1.0


class EchoModel:
    name = "mock/echo"

    def __init__(self, reply):
        self.reply = reply

    async def generate(self, messages, config):
        return SimpleNamespace(text=self.reply)

    def token_logprobs(self, text, messages):
        return [SimpleNamespace(logprob=-0.1), SimpleNamespace(logprob=-0.3)]


def test_echo_perplexity_accepts_only_a_matching_echo():
    ok = asyncio.run(echo_perplexity(EchoModel(' "Share the care." '), "Share the care.", "en"))
    assert ok == pytest.approx(math.exp(0.2))
    assert asyncio.run(echo_perplexity(EchoModel("Share care."), "Share the care.", "en")) is None


def test_degenerate_flags():
    result = SimpleNamespace(
        agents=["a", "b"],
        openings=["Who should care for the elderly?", "The state should."],
        finals=["Families and the state share.", "Who should care for the elderly"],
        psro=SimpleNamespace(rounds=1),
    )
    flags = degenerate_flags("Who should care for the elderly?", result, "Topic: Who should...")
    assert flags == [
        "a: the opening repeats the topic",
        "b: the final statement echoes the prompt",
        "the run stopped in round 1",
    ]


def test_debate_and_consultancy_rounds():
    seen = []

    def fn(messages, config):
        user = messages[-1]["content"]
        seen.append(user)
        own = user.split("\n")[1]
        return f"revised[{own.split(': ', 1)[1]}]"

    agents = [
        Agent(z, get_profile(z), FunctionBackend(fn, name=f"mock/{z}"))
        for z in ("confucian", "protestant-europe")
    ]
    finals, history = asyncio.run(debate("T?", agents, ["A", "B"], rounds=2))
    assert history[0] == ["A", "B"] and history[1] == ["revised[A]", "revised[B]"]
    assert finals == ["revised[revised[A]]", "revised[revised[B]]"]
    assert "- protestant-europe: B" in seen[0]  # agent 0 read agent 1's answer in round 1
    seen.clear()
    out = asyncio.run(consultancy("T?", agents, ["A", "B"]))
    assert out == ["revised[A]", "revised[B]"]
    assert "B" in seen[0] and "values" in seen[0]


def test_runner_scores_every_method_in_one_table(tmp_path):
    import json

    from valuealign.backends import register_mock, unregister_mock
    from valuealign.consensus.runner import ConsensusSettings, run_consensus

    vec = {
        v: 0
        for v in (
            "self-direction stimulation hedonism achievement power security conformity "
            "tradition benevolence universalism"
        ).split()
    }

    def fn(messages, config):
        user = messages[-1]["content"]
        if "careful annotator" in messages[0]["content"]:
            return json.dumps({**vec, "benevolence": 1})
        if "Opinion:" in user:
            return "Guideline: care\nReason: r\nDescription: d\nOpinion: Care for elders."
        return "Guideline: shared care\nReason: r\nDescription: d"

    register_mock("rater", FunctionBackend(fn, name="mock/rater"))
    try:
        metrics = run_consensus(
            tmp_path / "c",
            ConsensusSettings(
                zones=["confucian", "protestant-europe"],
                model="mock/rater",
                rounds=2,
                similarity="tfidf",
            ),
            [{"id": "t1", "en": "Who should care for the elderly?"}],
            progress=False,
        )
    finally:
        unregister_mock("rater")
    table = metrics.summary.methods
    assert list(table) == ["psro", "debate", "consultancy", "one_shot", "schulze"]
    m = metrics.topics["t1"]["methods"]
    # every statement rated benevolence only: VSC 1 for every side, gain 0
    assert all(m[k]["vsc"]["vsc"] == {"confucian": 1.0, "protestant-europe": 1.0} for k in m)
    assert m["psro"]["vsc"]["detector"] == "llm:mock/rater"
    assert m["psro"]["scores"]["pba_gain"] is None  # mocks have no log-probabilities


def test_report_labels_escaping_and_flags(tmp_path):
    import json

    from valuealign.report.consensus import write_consensus_report

    run = tmp_path / "r"
    run.mkdir()
    st = {
        "topic_id": "t1",
        "topic": "Elders?",
        "agents": ["a", "b"],
        "openings": ["<script>alert(1)</script>", "孝道很重要。"],
        "finals": ["Share care & respect.", "共同照顾。"],
    }
    (run / "statements.jsonl").write_text(json.dumps(st, ensure_ascii=False) + "\n")
    stats = {"mean": 0.5, "low": 0.4, "high": 0.6, "n": 3}
    metrics = {
        "topics": {
            "t1": {
                "rounds_used": 1,
                "stop_reason": "max_rounds",
                "nash_conv": 0.0,
                "degenerate": ["the run stopped in round 1"],
                "vsc": {"vsc": {"a": 1.0, "b": None}, "detector": "llm:mock/x"},
            }
        },
        "summary": {
            "topics": 1,
            "degenerate_topics": ["t1"],
            "methods": {"psro": {"mean_vsc": stats, "echo_ratio_below_1": 0.5, "topics": 1}},
        },
    }
    (run / "metrics.json").write_text(json.dumps(metrics))
    (run / "validation.json").write_text(
        json.dumps(
            {
                "zones": {
                    "confucian": {"traditional_secular": 1.0, "survival_self_expression": -0.5}
                },
                "table": [
                    {
                        "variant": "prompt-only",
                        "zone": "confucian",
                        "traditional_secular": 0.5,
                        "survival_self_expression": 0.1,
                        "distance": 0.78,
                        "nearest_zone": "confucian",
                        "in_own_zone": True,
                    }
                ],
                "personas": 4,
                "language": "en",
            }
        )
    )
    page = write_consensus_report(run).read_text()
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "孝道很重要。" in page and "Share care &amp; respect." in page
    assert "Negotiation (PSRO, reference protocol)" in page and "mean_nash_conv" not in page
    assert "0.500 [0.400, 0.600]" in page and "50%" in page
    assert "look degenerate" in page and "the run stopped in round 1" in page
    assert "Do the agents represent their cultures?" in page and "<circle" in page
    assert "llm:mock/x" in page


# Real openings written by ct2/qwen2.5-0.5b-instruct in the documented run (reference protocol,
# topic "satire-and-offence"; and, for the controls, "euthanasia" and "same-sex-marriage").
SATIRE = (
    "Should free speech protect satire that offends religious or ethnic groups, "
    "and where should the line be drawn?"
)
SATIRE_OPENING = (
    "Free speech should protect satire that offends religious or ethnic groups, and where the "
    "line should be drawn.\nReason: Free speech is a fundamental right, and it protects "
    "individuals from harmful content. Satire that offends religious or ethnic groups can be "
    "harmful, and it can harm individuals who are not religious or ethnic. Therefore, free speech "
    "should protect satire that offends religious or ethnic groups, and where the line should be "
    "drawn."
)


def test_an_opening_that_restates_the_topic_is_flagged_however_long():
    # longer than 1.3 x the topic: the old length rule let it through
    assert len(SATIRE_OPENING) > 1.3 * len(SATIRE)
    assert restated_sentence(SATIRE, SATIRE_OPENING) == (
        "Free speech should protect satire that offends religious or ethnic groups, and where "
        "the line should be drawn."
    )
    result = SimpleNamespace(
        agents=["confucian", "english-speaking"],
        openings=[SATIRE_OPENING, "Satire is protected unless it incites violence."],
        finals=["Protect satire, ban incitement.", "Protect satire, ban incitement."],
        psro=SimpleNamespace(rounds=2),
        events=[],
    )
    assert degenerate_flags(SATIRE, result, "Topic: ...") == [
        "confucian: the opening repeats the topic"
    ]
    # the opening guideline alone (reference protocol events) is checked too
    result.openings = ["Satire deserves protection.", "Satire is protected unless it incites."]
    result.events = [
        {
            "type": "opening",
            "agent": "english-speaking",
            "guideline": {"content": SATIRE_OPENING.split("\n")[0]},
        }
    ]
    assert degenerate_flags(SATIRE, result, "Topic: ...") == [
        "english-speaking: the opening repeats the topic"
    ]
    # asked back as a question, in Chinese
    zh = "成年子女是否有责任亲自照顾年迈的父母？"
    assert restated_sentence(zh, "成年子女是否有责任亲自照顾父母？这是一个复杂的问题。")
    assert restated_sentence(zh, "成年子女有责任亲自照顾年迈的父母，国家应当补贴。") is None


def test_a_position_in_the_topics_words_is_not_a_restatement():
    # real openings of the same run: each takes a side, in the topic's own words
    cases = [
        (
            "Should terminally ill adults have the right to end their lives with a doctor's "
            "assistance?",
            "Terminally ill adults should have the right to end their lives with a doctor's "
            "assistance.",
        ),
        (
            "Should the state legally recognise marriages or civil unions between same-sex "
            "partners?",
            "The state should not recognize marriages or civil unions between same-sex partners.",
        ),
        (
            "Should public schools offer religious education or allow religious practice, and if "
            "so, in what form?",
            "Public schools should offer religious education or allow religious practice, but "
            "religious practices are not universally accepted.",
        ),
    ]
    for topic, opening in cases:
        assert restated_sentence(topic, opening) is None, opening


def test_topics_run_concurrently_with_the_same_results_as_one_by_one(tmp_path):
    import json

    from valuealign.backends import register_mock, unregister_mock
    from valuealign.consensus.runner import ConsensusSettings, run_consensus

    vec = dict.fromkeys(
        "self-direction stimulation hedonism achievement power security conformity "
        "tradition benevolence universalism".split(),
        0,
    )
    topics_seen: dict = {"now": set(), "overlap": 0}

    async def fn(messages, config):
        user = messages[-1]["content"]
        topic = next((t for t in ("elderly", "schools", "satire") if t in user), None)
        if topic:
            topics_seen["now"].add(topic)
            topics_seen["overlap"] = max(topics_seen["overlap"], len(topics_seen["now"]))
        await asyncio.sleep(0.001)
        if topic:
            topics_seen["now"].discard(topic)
        if "careful annotator" in messages[0]["content"]:
            return json.dumps({**vec, "tradition": 1 if "elderly" in user else 0, "security": 1})
        if "Opinion:" in user:
            return f"Guideline: care {len(user) % 7}\nReason: r\nDescription: d\nOpinion: We care."
        return f"Guideline: shared {len(user) % 5}\nReason: r\nDescription: d"

    topics = [
        {"id": "t1", "en": "Who should care for the elderly?"},
        {"id": "t2", "en": "Should schools teach religion?"},
        {"id": "t3", "en": "Should satire be protected?"},
    ]
    runs = {}
    register_mock("para", FunctionBackend(fn, name="mock/para"))
    try:
        for k in (1, 3):
            topics_seen["overlap"] = 0
            run_consensus(
                tmp_path / f"p{k}",
                ConsensusSettings(
                    zones=["confucian", "protestant-europe", "latin-america"],
                    model="mock/para",
                    rounds=2,
                    similarity="tfidf",
                    parallel_topics=k,
                ),
                topics,
                progress=False,
            )
            runs[k] = topics_seen["overlap"]
    finally:
        unregister_mock("para")
    assert runs == {1: 1, 3: 3}  # one topic at a time, then all three at once

    def lines(k, name):
        return [json.loads(x) for x in (tmp_path / f"p{k}" / name).read_text().splitlines()]

    by_topic = {k: {d["topic_id"]: d for d in lines(k, "statements.jsonl")} for k in (1, 3)}
    assert by_topic[1] == by_topic[3]
    # a topic's transcript lines stay together, in the same order as one by one
    for k in (1, 3):
        ids = [d["topic_id"] for d in lines(k, "transcript.jsonl")]
        assert ids == sorted(ids, key=ids.index) and len(set(ids)) == 3
        blocks = [ids[i] for i in range(len(ids)) if i == 0 or ids[i] != ids[i - 1]]
        assert sorted(blocks) == ["t1", "t2", "t3"]
    per = {
        k: {t: [d for d in lines(k, "transcript.jsonl") if d["topic_id"] == t] for t in by_topic[k]}
        for k in (1, 3)
    }
    assert per[1] == per[3]
    m1 = json.loads((tmp_path / "p1" / "metrics.json").read_text())["topics"]
    m3 = json.loads((tmp_path / "p3" / "metrics.json").read_text())["topics"]
    assert m1 == m3


def test_a_final_statement_that_copies_the_final_prompt_is_flagged():
    from valuealign.consensus.runner import final_prompt

    topic = (
        "To what extent are adult children responsible for personally caring for their ageing "
        "parents rather than relying on care homes or social services?"
    )
    # a real final statement of ct2/qwen2.5-0.5b-instruct in the documented run (cut at 320
    # tokens): it copies the prompt's weight tables instead of stating a consensus
    copied = (
        "The negotiation ended with these weighted guidelines:\nconfucian: 'Children should be "
        "responsible for their ageing parents rather than relying on care homes or social "
        "services.' 0.17; 'Make informed decisions about your own life and well-being.' 0.17"
    )
    result = SimpleNamespace(
        agents=["confucian", "english-speaking"],
        openings=["Families first.", "Public care first."],
        finals=[copied, "We agreed that families and public services share the care."],
        psro=SimpleNamespace(rounds=2),
        events=[],
    )
    prompt = final_prompt("reference", "en", topic)
    assert "The negotiation ended with these weighted guidelines:" in prompt
    assert degenerate_flags(topic, result, "Topic: ...", prompt) == [
        "confucian: the final statement echoes the prompt"
    ]
    # the Chinese prompt's fixed line likewise
    zh = final_prompt("reference", "zh", "成年子女是否应当照顾父母？")
    result.finals = ["协商结束时各方准则及其权重如下：家庭优先 0.5", "家庭与国家共同承担。"]
    assert degenerate_flags("成年子女是否应当照顾父母？", result, "议题：", zh) == [
        "confucian: the final statement echoes the prompt"
    ]
    assert final_prompt("pool", "en", topic) == ""
