"""The negotiation with scripted agents, the consensus runner and CLI, and a real short one."""

import asyncio
import json
from pathlib import Path

import pytest

from valuealign.backends import FunctionBackend, register_mock, unregister_mock
from valuealign.consensus.negotiation import Agent, clean_statement, negotiate
from valuealign.consensus.profiles import get_profile


def word_overlap(a: str, b: str) -> float:
    x, y = set(a.lower().split()), set(b.lower().split())
    return len(x & y) / len(x | y) if x | y else 0.0


def scripted(zone_words: str):
    def fn(messages, config):
        user = messages[-1]["content"]
        if "consensus guideline" in user:
            return "Families and the state share elder care with respect for every choice."
        if "compromise" in user:
            return SHARED
        if "fills what is missing" in user:
            return f"{zone_words} and public support for carers."
        if "answers their main concern" in user:
            return f"{zone_words} with state help."
        return zone_words

    return fn


OPEN_A = "Children must care for their parents at home."
OPEN_B = "The state must guarantee professional elder care for all."
SHARED = "Families and the state share elder care."


def known_similarity(x: str, y: str) -> float:
    """A similarity whose game is known: the shared statement is close to both openings."""
    if x == y:
        return 1.0
    pair = {x, y}
    if pair == {OPEN_A, OPEN_B}:
        return 0.1
    if SHARED in pair and pair & {OPEN_A, OPEN_B}:
        return 0.6
    return 0.3 * word_overlap(x, y)


def test_negotiation_converges_towards_the_shared_statement() -> None:
    a = Agent(
        "confucian", get_profile("confucian"), FunctionBackend(scripted(OPEN_A), name="mock/a")
    )
    b = Agent(
        "protestant-europe",
        get_profile("protestant-europe"),
        FunctionBackend(scripted(OPEN_B), name="mock/b"),
    )
    events = []
    # u_i = 0.3 sim(s, opening_i) + 0.7 sim(s, s_other): both openings give 0.37, the shared
    # statement against the other's opening 0.6, and (shared, shared) 0.88: the known equilibrium
    result = asyncio.run(
        negotiate(
            "Who should care for the elderly?",
            [a, b],
            known_similarity,
            rounds=4,
            w_self=0.3,
            w_accept=0.7,
            on_event=events.append,
        )
    )
    assert result.openings[0].startswith("Children") and len(result.finals) == 2
    assert all(len(pool) >= 2 for pool in result.psro.pools)
    assert {e["type"] for e in events} >= {"opening", "proposal", "round", "final_game", "final"}
    rounds = [e for e in events if e["type"] == "round"]
    assert all(len(r["mixtures"]) == 2 and abs(sum(r["mixtures"][0]) - 1) < 1e-6 for r in rounds)
    assert result.psro.nash_conv < 1e-2
    for pool, mix in zip(result.psro.pools, result.psro.mixtures, strict=True):
        assert mix[pool.index(SHARED)] > 0.99
    assert result.psro.stop_reason == "no_improving_response"


def test_clean_statement() -> None:
    assert (
        clean_statement('Guideline: "Care is shared. Families help. The state pays."')
        == "Care is shared. Families help."
    )
    assert (
        clean_statement("准则：家庭和国家共同承担养老责任。尊重个人选择。第三句。")
        == "家庭和国家共同承担养老责任。尊重个人选择。"
    )


@pytest.fixture
def agents_mock():
    register_mock(
        "zone-a",
        FunctionBackend(
            scripted("Children must care for their parents at home."), name="mock/zone-a"
        ),
    )
    register_mock(
        "zone-b",
        FunctionBackend(
            scripted("The state must guarantee professional elder care."), name="mock/zone-b"
        ),
    )
    yield
    unregister_mock("zone-a")
    unregister_mock("zone-b")


def test_cli_consensus_writes_transcript_metrics_and_report(
    cli, tmp_path: Path, agents_mock
) -> None:
    out = tmp_path / "c"
    code, _stdout, err = cli(
        "consensus",
        "--topic",
        "Who should care for the elderly?",
        "--agents",
        "confucian,protestant-europe",
        "--model",
        "mock/zone-b",
        "--agent-model",
        "confucian=mock/zone-a",
        "--rounds",
        "3",
        "--similarity",
        "tfidf",
        "--out",
        str(out),
    )
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    m = metrics["topics"]["topic"]
    assert (
        m["rounds_used"] >= 1 and m["nash_conv"] >= 0 and m["pba"] is None
    )  # mocks have no log-probs
    assert set(m["vsc"]["vsc"]) == {"confucian", "protestant-europe"}
    assert set(m["baselines"]) == {"one_shot", "best_of_n_schulze", "psro_final"}
    events = [json.loads(line) for line in (out / "transcript.jsonl").read_text().splitlines()]
    assert {e["type"] for e in events} >= {"opening", "proposal", "round", "final"}
    page = (out / "report.html").read_text()
    assert "<svg" in page and "expected utility by round" in page
    # rerun: the topic is done, nothing is appended
    n = len(events)
    assert (
        cli(
            "consensus",
            "--topic",
            "Who should care for the elderly?",
            "--agents",
            "confucian,protestant-europe",
            "--model",
            "mock/zone-b",
            "--similarity",
            "tfidf",
            "--out",
            str(out),
        )[0]
        == 0
    )
    assert len((out / "transcript.jsonl").read_text().splitlines()) == n


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--agents", "confucian"], "at least two"),
        (["--agents", "confucian,atlantis"], "atlantis"),
        (["--agents", "confucian,confucian"], "twice"),
        (
            ["--agents", "confucian,latin-america", "--agent-model", "orthodox-europe=mock/echo"],
            "not in --agents",
        ),
    ],
)
def test_bad_input_exits_2(cli, tmp_path: Path, args, message) -> None:
    code, _, err = cli(
        "consensus", "--topic", "x?", "--model", "mock/echo", "--out", str(tmp_path / "c"), *args
    )
    assert code == 2 and message in err


def test_bad_topics_file(cli, tmp_path: Path) -> None:
    bad = tmp_path / "t.jsonl"
    bad.write_text('{"id": "a", "en": "ok?"}\n{broken\n')
    code, _, err = cli(
        "consensus",
        "--topics",
        str(bad),
        "--agents",
        "confucian,latin-america",
        "--model",
        "mock/echo",
        "--out",
        str(tmp_path / "c"),
    )
    assert code == 2 and f"{bad}:2" in err


def test_builtin_topics() -> None:
    from valuealign.consensus.runner import load_topics

    topics = load_topics("builtin:topics")
    assert len(topics) >= 30 and all(t["zh"] and t["en"] for t in topics)


@pytest.mark.slow  # token_logprobs and generation stay covered by tests/backends/test_hf.py
def test_real_short_negotiation_with_the_embedded_model(tmp_path: Path) -> None:
    from valuealign.consensus.runner import ConsensusSettings, run_consensus

    settings = ConsensusSettings(
        zones=["confucian", "protestant-europe"],
        rounds=1,
        max_tokens=32,
        similarity="tfidf",
        baselines=False,
        # the same cost as before the reference protocol became the default: the statement-pool
        # protocol, the lexicon, no echo PBA (the reference protocol and the LLM rater are
        # covered with scripted backends in test_reference.py and test_method_metrics.py)
        protocol="pool",
        vsc_detector="lexicon",
        echo_pba=False,
    )
    metrics = run_consensus(
        tmp_path / "c",
        settings,
        [
            {
                "id": "elder",
                "en": "Should adult children care for their parents?",
                "zh": "成年子女应当照顾父母吗？",
            }
        ],
        progress=False,
    )
    m = metrics.topics["elder"]
    assert m["pba"] is not None and len(m["pba"]["pairs"]) == 2
    assert all(p["ppl_opening"] > 1 and p["ppl_final"] > 1 for p in m["pba"]["pairs"])
    statements = json.loads((tmp_path / "c" / "statements.jsonl").read_text().splitlines()[0])
    assert all(s and s != "(no statement)" for s in statements["finals"])


def test_agent_from_a_survey_file(cli, tmp_path: Path, agents_mock) -> None:
    survey = tmp_path / "opinions.jsonl"
    rows = [
        {
            "question": "Is it important to follow traditions?",
            "options": ["Yes", "No"],
            "selections": {"Atlantis": [0.8, 0.2], "Utopia": [0.3, 0.7]},
        },
        {
            "question": "Should the state provide elder care?",
            "options": ["Yes", "No"],
            "selections": {"Atlantis": [0.4, 0.6], "Utopia": [0.9, 0.1]},
        },
    ]
    survey.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "c"
    code, _, err = cli(
        "consensus",
        "--topic",
        "Who should care for the elderly?",
        "--agents",
        "atl,confucian",
        "--agent-profile",
        f"atl={survey}#Atlantis",
        "--model",
        "mock/zone-b",
        "--rounds",
        "1",
        "--similarity",
        "tfidf",
        "--no-baselines",
        "--out",
        str(out),
    )
    assert code == 0, err
    assert json.loads((out / "statements.jsonl").read_text().splitlines()[0])["agents"] == [
        "atl",
        "confucian",
    ]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        json.dumps(rows[0])
        + "\n"
        + '{"question": "q", "options": ["a"], "selections": {"X": [0.5, 0.5]}}\n'
    )
    code, _, err = cli(
        "consensus",
        "--topic",
        "x?",
        "--agents",
        "atl,confucian",
        "--agent-profile",
        f"atl={bad}#X",
        "--model",
        "mock/echo",
        "--out",
        str(tmp_path / "c2"),
    )
    assert code == 2 and f"{bad}:2" in err
    code, _, err = cli(
        "consensus",
        "--topic",
        "x?",
        "--agents",
        "atl,confucian",
        "--agent-profile",
        f"atl={survey}#Nowhere",
        "--model",
        "mock/echo",
        "--out",
        str(tmp_path / "c3"),
    )
    assert code == 2 and "Nowhere" in err


def test_agent_adapter_flag_is_validated(cli, tmp_path: Path) -> None:
    code, _, err = cli(
        "consensus",
        "--topic",
        "x?",
        "--agents",
        "confucian,latin-america",
        "--model",
        "mock/echo",
        "--agent-adapter",
        "orthodox-europe=some-adapter-dir",
        "--out",
        str(tmp_path / "c"),
    )
    assert code == 2 and "not in --agents" in err
    code, _, err = cli(
        "consensus",
        "--topic",
        "x?",
        "--agents",
        "confucian,latin-america",
        "--model",
        "mock/echo",
        "--agent-adapter",
        "confucian",
        "--out",
        str(tmp_path / "c"),
    )
    assert code == 2 and "ZONE=ADAPTER_DIR" in err
