"""The reference protocol: mirror descent, stopping rule, guideline parsing, a scripted run."""

import asyncio
import math

import numpy as np
import pytest

from valuealign.backends import FunctionBackend
from valuealign.consensus.negotiation import Agent
from valuealign.consensus.profiles import get_profile
from valuealign.consensus.reference import (
    Guideline,
    ReferenceSettings,
    negotiate_reference,
    parse_guidelines,
    should_stop,
)
from valuealign.consensus.solvers import explore_mix, mirror_descent


def independent_md(A, B, eta=0.05, iters=1000, tol=1e-6):
    """Written from the update rule a <- a*exp(eta A b), b <- b*exp(eta B^T a), simultaneous."""
    A, B = np.asarray(A, float), np.asarray(B, float)
    a = np.ones(A.shape[0]) / A.shape[0]
    b = np.ones(A.shape[1]) / A.shape[1]
    for _ in range(iters):
        na = a * np.exp(eta * (A @ b))
        nb = b * np.exp(eta * (B.T @ a))
        na, nb = na / na.sum(), nb / nb.sum()
        delta = max(np.abs(na - a).max(), np.abs(nb - b).max())
        a, b = na, nb
        if delta < tol:
            break
    return a, b


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mirror_descent_matches_an_independent_implementation(seed):
    rng = np.random.default_rng(seed)
    A = rng.uniform(0, 3, size=(3, 4))
    B = rng.uniform(0, 3, size=(3, 4))
    (x, y), _ = mirror_descent([A, B], eta=0.05, iterations=1000, tol=1e-6)
    ea, eb = independent_md(A, B)
    np.testing.assert_allclose(x, ea, atol=1e-12)
    np.testing.assert_allclose(y, eb, atol=1e-12)


def test_mirror_descent_one_step_by_hand():
    # a = (1/2, 1/2), b = (1/2, 1/2); A b = (1, 0); B^T a = (0.5, 1.5)
    A = np.array([[2.0, 0.0], [0.0, 0.0]])
    B = np.array([[0.0, 1.0], [1.0, 2.0]])
    (x, y), n = mirror_descent([A, B], eta=1.0, iterations=1)
    assert n == 1
    e = math.e
    assert x[0] == pytest.approx(e / (e + 1))
    assert y[1] == pytest.approx(math.exp(1.5) / (math.exp(0.5) + math.exp(1.5)))


def test_explore_mix_halves_towards_uniform_and_rounds():
    out = explore_mix(np.array([1.0, 0.0, 0.0]), 0.5)
    assert out.tolist() == [0.67, 0.17, 0.17]


def test_stopping_rule_on_hand_made_sequences():
    # round 1 never stops
    assert not should_stop([[0.5], [0.4]], [None, None])
    # both within 0.02 -> stop
    assert should_stop([[0.50, 0.51], [0.40, 0.39]], [0.5, 0.5])
    # one agent moved 0.03 -> keep going
    assert not should_stop([[0.50, 0.53], [0.40, 0.40]], [0.5, 0.5])
    # ... unless its two newest guidelines are near-duplicates (epsilon doubles to 0.04)
    assert should_stop([[0.50, 0.53], [0.40, 0.40]], [0.9, 0.5])
    # a drop of 0.1: the absolute rule continues, the reference code's signed rule stops
    assert not should_stop([[0.60, 0.50], [0.40, 0.40]], [0.5, 0.5])
    assert should_stop([[0.60, 0.50], [0.40, 0.40]], [0.5, 0.5], signed=True)
    # only the last two rounds count
    assert should_stop([[0.1, 0.9, 0.91], [0.2, 0.2, 0.2]], [0.1, 0.1])


def test_parse_guidelines_labels_en_zh_and_fallback():
    text = (
        "Guideline: Shared family and state care\nReason: Both duties matter.\n"
        "Description: Subsidise home carers.\n\n**Guideline 2:** Respect elder choice\n"
        "Reason: Autonomy.\nDescription: Ask the elder."
    )
    gs, _ = parse_guidelines(text)
    assert [g.content for g in gs] == ["Shared family and state care", "Respect elder choice"]
    assert gs[0].reason == "Both duties matter." and gs[1].description == "Ask the elder."
    gs, opinion = parse_guidelines(
        "准则：家庭与国家共担\n理由：孝道与公平。\n说明：补贴。\n观点：老人应被尊重。"
    )
    assert gs[0].content == "家庭与国家共担" and opinion == "老人应被尊重。"
    gs, _ = parse_guidelines("Families should care. And more.")
    assert not gs[0].parsed and gs[0].content.startswith("Families should care")
    assert Guideline("a", "b", "c").text() == "a: b. detail: c"


def scripted(name: str, calls: list):
    def fn(messages, config):
        user = messages[-1]["content"]
        calls.append((name, user.split("\n")[-1][:30], config.temperature))
        if "Opinion:" in user:
            return f"Guideline: {name} way\nReason: ours\nDescription: d\nOpinion: We favour the {name} way."
        if "TWO" in user:
            return f"Guideline: {name} counter one\nReason: r\nDescription: d\nGuideline: {name} counter two\nReason: r\nDescription: d"
        if "weaknesses" in user:
            return "Too vague."
        if "blind spots" in user:
            return "Costs."
        if "fills these gaps" in user:
            return "Guideline: shared funding\nReason: r\nDescription: d"
        if "creative" in user:
            return "Guideline: shared care plan\nReason: r\nDescription: d"
        if "State your proposal" in user:
            return "We propose shared care."
        return f"The {name} side agrees on shared care."

    return fn


def words(a: str, b: str) -> float:
    x, y = set(a.lower().replace(":", " ").split()), set(b.lower().replace(":", " ").split())
    return len(x & y) / len(x | y)


def test_scripted_reference_negotiation_runs_the_oracle_and_stops():
    calls: list = []
    agents = [
        Agent(z, get_profile(z), FunctionBackend(scripted(z, calls), name=f"mock/{z}"))
        for z in ("confucian", "protestant-europe", "latin-america")
    ]
    events: list = []
    result = asyncio.run(
        negotiate_reference(
            "Who should care for the elderly?",
            agents,
            words,
            settings=ReferenceSettings(rounds=4),
            on_event=events.append,
        )
    )
    kinds = [e["type"] for e in events]
    assert kinds.count("opening") == 3 and kinds.count("final") == 3
    # per agent and round: weakness, gaps, counter (2 candidates), gap, innovation = 4 candidates
    first = [e for e in events if e["type"] == "proposal" and e["round"] == 0]
    assert len(first) == 12
    temps = sorted({c[2] for c in calls})
    assert temps == [0.0, 0.3, 0.6, 0.8]
    best = [e for e in events if e["type"] == "best_response" and e["round"] == 0]
    for b in best:
        cands = [p for p in first if p["agent"] == b["agent"]]
        assert b["utility"] == max(p["utility"] for p in cands)
        # U = 0.5 consist + 0.3 accept + 0.2 novel
        assert b["utility"] == pytest.approx(
            0.5 * b["consist"] + 0.3 * b["accept"] + 0.2 * b["novel"], abs=1e-5
        )
    rounds = [e for e in events if e["type"] == "round"]
    assert rounds[0]["mixtures"][0] == [1.0]  # one guideline each in round 1
    assert all(abs(sum(m) - 1) < 0.03 for r in rounds for m in r["mixtures"])
    # the scripted agents propose the same things every round: utilities stabilise, run stops
    assert result.psro.stop_reason == "utility_stable" and 2 <= result.psro.rounds < 4
    us = {}
    for e in events:
        if e["type"] == "best_response":
            us.setdefault(e["agent"], []).append(e["utility"])
    last = result.psro.rounds - 1
    assert all(abs(u[last] - u[last - 1]) < 0.04 for u in us.values())
    for r in range(1, last):  # it did not stop earlier: some agent still moved by >= 0.02
        assert any(abs(u[r] - u[r - 1]) >= 0.02 for u in us.values())
    assert result.openings[0] == "We favour the confucian way."


KINDS = ("Opinion:", "TWO", "weaknesses", "fills these gaps", "blind spots", "creative",
         "State your proposal")  # fmt: skip


def test_agents_ask_concurrently_with_batchable_settings_and_a_stable_transcript():
    """The agents' oracles run at once (a local backend can batch them): calls of one kind share
    their settings, and the transcript still lists each round's events agent by agent."""
    calls: list = []
    inflight = {"now": 0, "peak": 0}
    configs: dict[str, set] = {}

    def tracked(name):
        script = scripted(name, calls)

        async def fn(messages, config):
            inflight["now"] += 1
            inflight["peak"] = max(inflight["peak"], inflight["now"])
            user = messages[-1]["content"]
            kind = next(
                (k for k in KINDS if k in user), "final"
            )  # the prompt kinds, told apart as the scripted agents do
            configs.setdefault(kind, set()).add(config)
            await asyncio.sleep(0.001)
            inflight["now"] -= 1
            return script(messages, config)

        return fn

    zones = ("confucian", "protestant-europe", "latin-america")
    agents = [
        Agent(z, get_profile(z), FunctionBackend(tracked(z), name=f"mock/{z}")) for z in zones
    ]
    events: list = []
    result = asyncio.run(
        negotiate_reference(
            "Who should care for the elderly?",
            agents,
            words,
            settings=ReferenceSettings(rounds=3),
            on_event=events.append,
        )
    )
    # three agents x (counter, gap, innovation) in flight together
    assert inflight["peak"] >= 9
    # every kind of call (by its prompt's last line) went out with one setting: batchable
    assert all(len(c) == 1 for c in configs.values())
    for r in range(result.psro.rounds):
        order = [e["agent"] for e in events if e.get("round") == r and e["type"] == "analysis"]
        assert order == list(zones)
        best = [e["agent"] for e in events if e.get("round") == r and e["type"] == "best_response"]
        assert best == list(zones)
    assert [e["agent"] for e in events if e["type"] == "final"] == list(zones)
