"""The PSRO loop on games whose equilibria are known, and the Schulze method."""

import asyncio

import numpy as np

from valuealign.consensus.psro import build_payoffs, response_value, run_psro
from valuealign.consensus.schulze import schulze_ranking

PD = {("C", "C"): (3, 3), ("C", "D"): (0, 5), ("D", "C"): (5, 0), ("D", "D"): (1, 1)}


def pd_payoff(i: int, profile: tuple) -> float:
    return PD[profile][i]


async def propose_all(i, pools, mixtures, r):
    return ["C", "D"]


def test_prisoners_dilemma_converges_to_defection() -> None:
    result = asyncio.run(run_psro([["C"], ["C"]], propose_all, pd_payoff, rounds=6))
    assert result.pools == [["C", "D"], ["C", "D"]]
    for pool, mix in zip(result.pools, result.mixtures, strict=True):
        assert mix[pool.index("D")] > 0.99
    assert result.converged and result.nash_conv < 1e-3
    assert result.history[0].added == ["D", "D"]


RPS = np.array([[0, -1, 1], [1, 0, -1], [-1, 1, 0]], dtype=float)
NAMES = ["R", "P", "S"]


def rps_payoff(i: int, profile: tuple) -> float:
    a, b = NAMES.index(profile[0]), NAMES.index(profile[1])
    return RPS[a, b] if i == 0 else -RPS[a, b]


def test_rock_paper_scissors_grows_the_pool_and_reaches_the_uniform_equilibrium() -> None:
    async def best_response_oracle(i, pools, mixtures, r):
        return NAMES  # the oracle may propose anything; PSRO keeps the best response

    result = asyncio.run(
        run_psro([["R"], ["R"]], best_response_oracle, rps_payoff, rounds=8, solver="lp")
    )
    assert sorted(result.pools[0]) == sorted(NAMES) and sorted(result.pools[1]) == sorted(NAMES)
    for mix in result.mixtures:
        assert np.allclose(mix, 1 / 3, atol=1e-6)
    assert result.nash_conv < 1e-6
    assert result.history[0].added == ["P", "P"]  # the best response to pure rock is paper


def test_payoff_tensors_and_response_values() -> None:
    pools = [["C", "D"], ["C", "D"]]
    tensors = build_payoffs(pools, pd_payoff)
    assert tensors[0].tolist() == [[3, 0], [5, 1]] and tensors[1].tolist() == [[3, 5], [0, 1]]
    mixtures = [np.array([0.5, 0.5]), np.array([0.25, 0.75])]
    assert response_value(0, "D", pools, mixtures, pd_payoff) == 0.25 * 5 + 0.75 * 1


def test_novelty_breaks_ties_and_no_improving_response_stops_the_loop() -> None:
    value = {"old": 0.0, "twin": 1.0, "fresh": 1.0}

    def payoff(i, profile):
        return value[profile[i]]

    async def oracle(i, pools, mixtures, r):
        return ["twin", "fresh"]

    def novelty(i, cand, pool):
        return 1.0 if cand == "fresh" else 0.0

    result = asyncio.run(
        run_psro([["old"], ["old"]], oracle, payoff, rounds=5, novelty=novelty, novelty_weight=0.1)
    )
    assert result.pools == [["old", "fresh"], ["old", "fresh"]]  # equal value: the novel one wins
    assert result.history[0].gains == [1.0, 1.0]
    assert result.stop_reason == "no_improving_response" and result.rounds == 2

    flat = asyncio.run(run_psro([["old"], ["old"]], oracle, lambda i, p: 1.0, rounds=5))
    assert flat.pools == [["old"], ["old"]] and flat.rounds == 1 and flat.converged


def test_schulze_method() -> None:
    assert schulze_ranking([["a", "b", "c"], ["b", "a", "c"], ["a", "c", "b"]])[0] == "a"
    # the classic 45-voter example: E wins under Schulze
    ballots = (
        [list("ACBED")] * 5
        + [list("ADECB")] * 5
        + [list("BEDAC")] * 8
        + [list("CABED")] * 3
        + [list("CAEBD")] * 7
        + [list("CBADE")] * 2
        + [list("DCEBA")] * 7
        + [list("EBADC")] * 8
    )
    assert schulze_ranking(ballots) == list("EACBD")
