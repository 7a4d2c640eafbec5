"""Tests for the PSRO meta-solvers, checked against brute force and against nashpy."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from valuealign.consensus.solvers import (
    METHODS,
    deviation_payoffs,
    expected_payoffs,
    nash_conv,
    solve,
)

RPS = np.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]])
# Prisoner's dilemma, strategies (cooperate, defect); defect strictly dominates.
PD_ROW = np.array([[3.0, 0.0], [5.0, 1.0]])
PD = [PD_ROW, PD_ROW.T.copy()]
SKEWED_START = [np.array([0.6, 0.3, 0.1]), np.array([0.2, 0.2, 0.6])]


# ---------------------------------------------------------------------------------------------
# independent brute-force reference implementations


def brute_expected(payoffs: list[np.ndarray], xs: list[np.ndarray]) -> np.ndarray:
    out = np.zeros(len(payoffs))
    for profile in itertools.product(*(range(n) for n in payoffs[0].shape)):
        prob = 1.0
        for x, action in zip(xs, profile, strict=True):
            prob *= x[action]
        for i, payoff in enumerate(payoffs):
            out[i] += prob * payoff[profile]
    return out


def brute_deviation(payoffs: list[np.ndarray], xs: list[np.ndarray], player: int) -> np.ndarray:
    n = payoffs[0].shape[player]
    out = np.zeros(n)
    for action in range(n):
        pure = np.zeros(n)
        pure[action] = 1.0
        profile = list(xs)
        profile[player] = pure
        out[action] = brute_expected(payoffs, profile)[player]
    return out


def brute_nash_conv(payoffs: list[np.ndarray], xs: list[np.ndarray]) -> float:
    values = brute_expected(payoffs, xs)
    return sum(brute_deviation(payoffs, xs, i).max() - values[i] for i in range(len(payoffs)))


def random_game(shape: tuple[int, ...], seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=shape) for _ in shape]


def random_mixtures(shape: tuple[int, ...], seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.dirichlet(np.ones(n)) for n in shape]


def assert_mixtures(xs: list[np.ndarray], shape: tuple[int, ...]) -> None:
    assert len(xs) == len(shape)
    for x, n in zip(xs, shape, strict=True):
        assert x.dtype == np.float64
        assert x.shape == (n,)
        assert np.all(x >= 0)
        assert x.sum() == pytest.approx(1.0, abs=1e-12)


@pytest.fixture(scope="module")
def nash():
    return pytest.importorskip("nashpy")


@pytest.fixture(scope="module")
def interior_game(nash) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """A random 3x3 zero-sum game whose unique equilibrium (per nashpy) has full support."""
    for seed in range(200):
        a = np.random.default_rng(seed).normal(size=(3, 3))
        equilibria = list(nash.Game(a).vertex_enumeration())
        if len(equilibria) == 1 and all(np.all(s > 1e-3) for s in equilibria[0]):
            return a, equilibria[0]
    raise AssertionError("no 3x3 zero-sum game with a full-support equilibrium found")


# ---------------------------------------------------------------------------------------------
# expected payoffs, deviation payoffs, nash_conv


@pytest.mark.parametrize("shape", [(3,), (4, 3), (3, 4, 2), (2, 3, 2, 2)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_expected_and_deviation_payoffs_match_brute_force(shape, seed):
    payoffs = random_game(shape, seed)
    xs = random_mixtures(shape, seed + 100)
    got = expected_payoffs(payoffs, xs)
    assert got.shape == (len(shape),)
    np.testing.assert_allclose(got, brute_expected(payoffs, xs), atol=1e-12)
    for player in range(len(shape)):
        np.testing.assert_allclose(
            deviation_payoffs(payoffs, xs, player),
            brute_deviation(payoffs, xs, player),
            atol=1e-12,
        )


@pytest.mark.parametrize("seed", range(5))
def test_three_player_nash_conv_matches_brute_force(seed):
    shape = (3, 4, 2)
    payoffs = random_game(shape, seed)
    xs = random_mixtures(shape, seed + 7)
    expected = brute_nash_conv(payoffs, xs)
    assert expected > 0
    assert nash_conv(payoffs, xs) == pytest.approx(expected, abs=1e-12)
    # pure profiles too (a mixture that is a unit vector)
    pure = [np.eye(n)[seed % n] for n in shape]
    assert nash_conv(payoffs, pure) == pytest.approx(brute_nash_conv(payoffs, pure), abs=1e-12)


def test_nash_conv_zero_at_equilibrium_positive_off_it():
    uniform = [np.full(3, 1 / 3), np.full(3, 1 / 3)]
    assert nash_conv([RPS, -RPS], uniform) == pytest.approx(0.0, abs=1e-12)
    rock = [np.array([1.0, 0.0, 0.0])] * 2
    assert nash_conv([RPS, -RPS], rock) == pytest.approx(2.0)  # both gain 1 by playing paper
    defect = [np.array([0.0, 1.0])] * 2
    cooperate = [np.array([1.0, 0.0])] * 2
    assert nash_conv(PD, defect) == 0.0
    assert nash_conv(PD, cooperate) == pytest.approx(4.0)  # both gain 5 - 3
    assert nash_conv([RPS, -RPS], SKEWED_START) > 0.1


def test_expected_payoffs_of_rps_at_known_profiles():
    paper_vs_rock = [np.array([0.0, 1.0, 0.0]), np.array([1.0, 0.0, 0.0])]
    np.testing.assert_allclose(expected_payoffs([RPS, -RPS], paper_vs_rock), [1.0, -1.0])
    np.testing.assert_allclose(deviation_payoffs([RPS, -RPS], paper_vs_rock, 1), [-1.0, 0.0, 1.0])


# ---------------------------------------------------------------------------------------------
# "lp" against nashpy


@pytest.mark.parametrize(
    "shape", [(2, 2), (2, 3), (3, 2), (3, 3), (4, 3), (4, 4), (5, 4), (5, 5), (6, 5)]
)
@pytest.mark.parametrize("seed", range(4))
def test_lp_value_matches_nashpy(nash, shape, seed):
    a = 3.0 * np.random.default_rng([*shape, seed]).normal(size=shape) + 1.0
    x, y = solve([a, -a], method="lp")
    assert_mixtures([x, y], shape)
    assert nash_conv([a, -a], [x, y]) < 1e-7
    value = float(x @ a @ y)
    np.testing.assert_allclose(expected_payoffs([a, -a], [x, y]), [value, -value], atol=1e-12)
    equilibria = list(nash.Game(a).vertex_enumeration())
    assert equilibria, "nashpy found no equilibrium"
    for sigma_r, sigma_c in equilibria:
        assert value == pytest.approx(float(sigma_r @ a @ sigma_c), abs=1e-6)


def test_lp_rps_is_uniform():
    x, y = solve([RPS, -RPS], method="lp")
    np.testing.assert_allclose(x, np.full(3, 1 / 3), atol=1e-9)
    np.testing.assert_allclose(y, np.full(3, 1 / 3), atol=1e-9)


def test_lp_constant_game_is_any_profile():
    zeros = np.zeros((2, 3))
    x, y = solve([zeros, zeros], method="lp")
    assert_mixtures([x, y], (2, 3))


# ---------------------------------------------------------------------------------------------
# replicator and MWU


@pytest.mark.parametrize("method", ["replicator", "mwu"])
def test_rps_uniform_start_stays_at_equilibrium(method):
    xs = solve([RPS, -RPS], method=method, iterations=2000)
    assert nash_conv([RPS, -RPS], xs) < 1e-12


def test_mwu_reaches_rps_equilibrium_from_skewed_start():
    xs = solve([RPS, -RPS], method="mwu", init=SKEWED_START, iterations=20000, step=1.0)
    assert nash_conv([RPS, -RPS], xs) < 1e-3
    np.testing.assert_allclose(xs[0], np.full(3, 1 / 3), atol=1e-2)


def test_mwu_reaches_interior_equilibrium(interior_game):
    a, (sigma_r, sigma_c) = interior_game
    xs = solve([a, -a], method="mwu", iterations=20000, step=1.0)
    assert nash_conv([a, -a], xs) < 1e-3
    np.testing.assert_allclose(xs[0], sigma_r, atol=2e-2)
    np.testing.assert_allclose(xs[1], sigma_c, atol=2e-2)


def test_replicator_average_approaches_interior_equilibrium(interior_game):
    # Discrete replicator dynamics orbit (and slowly spiral away from) an interior equilibrium of
    # a zero-sum game; only the running average converges, and slowly, so the bound is looser
    # than MWU's. Known limitation, documented in the module.
    a, _ = interior_game
    game = [a, -a]
    xs = solve(game, method="replicator", iterations=20000, step=0.05)
    assert nash_conv(game, xs) < 1e-2
    assert nash_conv(game, xs) < nash_conv(game, solve(game, method="uniform")) / 50
    skewed = solve([RPS, -RPS], method="replicator", init=SKEWED_START, iterations=20000)
    assert nash_conv([RPS, -RPS], skewed) < 2e-2


@pytest.mark.parametrize("method", ["replicator", "mwu"])
def test_prisoners_dilemma_converges_to_mutual_defection(method):
    xs = solve(PD, method=method)
    for x in xs:
        np.testing.assert_allclose(x, [0.0, 1.0], atol=1e-5)
    assert nash_conv(PD, xs) < 1e-4


def test_replicator_keeps_a_floor_under_dead_strategies():
    xs = solve(PD, method="replicator", init=[np.array([1.0, 0.0])] * 2)
    # started with defection absent, yet the floor lets it invade and take over
    for x in xs:
        assert x[0] > 0
        np.testing.assert_allclose(x, [0.0, 1.0], atol=1e-5)


@pytest.mark.parametrize("method", ["replicator", "mwu"])
def test_three_player_dominant_strategies(method):
    # its speed (budget 3 s, typically ~0.15 s) is measured by benchmarks/solver_timing.py
    shape = (8, 8, 8)
    rng = np.random.default_rng(3)
    dominant = (5, 2, 7)
    payoffs = []
    for player, best in enumerate(dominant):
        payoff = rng.uniform(size=shape)
        index = [slice(None)] * 3
        index[player] = best
        payoff[tuple(index)] += 2.0  # strictly dominant: beats every alternative by > 1
        payoffs.append(payoff)
    xs = solve(payoffs, method=method, iterations=5000, tol=0.0)
    assert_mixtures(xs, shape)
    assert [int(np.argmax(x)) for x in xs] == list(dominant)
    assert nash_conv(payoffs, xs) < 1e-3


@pytest.mark.parametrize("method", ["replicator", "mwu"])
def test_positive_affine_rescaling_does_not_change_the_result(method):
    # Payoffs are rescaled per player to [0, 1] internally, so the trajectory is invariant; the
    # final choice between last and average iterate uses nash_conv in the caller's units, which
    # is invariant when every player's payoffs go through the same positive affine map.
    payoffs = random_game((4, 3), seed=11)
    base = solve(payoffs, method=method, iterations=500)
    other = solve([7.0 * p - 3.0 for p in payoffs], method=method, iterations=500)
    for x, y in zip(base, other, strict=True):
        np.testing.assert_allclose(x, y, atol=1e-9)
    # different maps per player: the (unique, pure) equilibrium is found all the same
    rescaled = [1000.0 * PD[0] + 5.0, 0.001 * PD[1] - 2.0]
    for x in solve(rescaled, method=method):
        np.testing.assert_allclose(x, [0.0, 1.0], atol=1e-5)


def test_tol_stops_early():
    # 10**8 iterations would outlast the test timeout: returning at all means tol stopped it
    # (benchmarks/solver_timing.py measures how fast, budget 5 s)
    xs = solve(PD, method="mwu", iterations=10**8, tol=1e-3)
    assert nash_conv(PD, xs) <= 1e-3


def test_zero_iterations_returns_start():
    xs = solve([RPS, -RPS], method="mwu", init=SKEWED_START, iterations=0)
    np.testing.assert_allclose(xs[0], SKEWED_START[0], atol=1e-5)
    np.testing.assert_allclose(xs[1], SKEWED_START[1], atol=1e-5)


def test_uniform_method_returns_uniform():
    shape = (3, 4, 2)
    xs = solve(random_game(shape, 0), method="uniform", init=random_mixtures(shape, 1))
    assert_mixtures(xs, shape)
    for x, n in zip(xs, shape, strict=True):
        np.testing.assert_allclose(x, np.full(n, 1 / n))


def test_methods_tuple_and_every_method_returns_mixtures():
    assert METHODS == ("replicator", "mwu", "lp", "uniform")
    a = np.random.default_rng(5).normal(size=(4, 3))
    for method in METHODS:
        assert_mixtures(solve([a, -a], method=method, iterations=200), (4, 3))


# ---------------------------------------------------------------------------------------------
# input validation


@pytest.mark.parametrize(
    ("payoffs", "message"),
    [
        ([np.zeros((2, 2)), np.zeros((2, 3))], "shape"),
        ([np.zeros((2, 2, 2)), np.zeros((2, 2, 2))], "payoff array"),
        ([np.zeros((2, 2))], "payoff array"),
        ([np.zeros((2, 2)), np.full((2, 2), np.nan)], "NaN"),
        ([np.zeros((2, 2)), np.full((2, 2), np.inf)], "NaN or infinite"),
        ([], "empty"),
        ([np.zeros((0, 2)), np.zeros((0, 2))], "strategy"),
        ([np.zeros((2, 2)), [["a", "b"], ["c", "d"]]], "numeric"),
    ],
)
def test_bad_payoffs_raise(payoffs, message):
    with pytest.raises(ValueError, match=message):
        solve(payoffs)
    with pytest.raises(ValueError, match=message):
        nash_conv(payoffs, [np.ones(2) / 2, np.ones(2) / 2])


def test_unknown_method_lists_known_ones():
    with pytest.raises(ValueError, match="unknown method 'fictitious'") as info:
        solve([RPS, -RPS], method="fictitious")
    for method in METHODS:
        assert method in str(info.value)


def test_lp_rejects_non_zero_sum_and_non_two_player():
    with pytest.raises(ValueError, match="zero-sum"):
        solve(PD, method="lp")
    with pytest.raises(ValueError, match="zero-sum"):
        solve([RPS, -RPS + 1e-6], method="lp")
    with pytest.raises(ValueError, match="two-player"):
        solve(random_game((2, 2, 2), 0), method="lp")
    # tiny rounding noise is accepted
    x, y = solve([RPS, -RPS + 1e-12], method="lp")
    assert nash_conv([RPS, -RPS], [x, y]) < 1e-9


@pytest.mark.parametrize(
    ("strategies", "message"),
    [
        ([np.ones(3) / 3], "2 players"),
        ([np.ones(3) / 3, np.ones(2) / 2], "strategies"),
        ([np.ones(3) / 3, np.ones(3)], "sums to"),
        ([np.array([1.5, -0.5, 0.0]), np.ones(3) / 3], "negative"),
        ([np.ones(3) / 3, np.array([np.nan, 0.5, 0.5])], "NaN"),
        ([np.ones((3, 1)) / 3, np.ones(3) / 3], "shape"),
    ],
)
def test_bad_strategies_raise(strategies, message):
    game = [RPS, -RPS]
    with pytest.raises(ValueError, match=message):
        expected_payoffs(game, strategies)
    with pytest.raises(ValueError, match=message):
        nash_conv(game, strategies)
    with pytest.raises(ValueError, match=message):
        deviation_payoffs(game, strategies, 0)
    with pytest.raises(ValueError, match=message):
        solve(game, init=strategies)


@pytest.mark.parametrize("player", [-1, 2, 1.0, True])
def test_bad_player_raises(player):
    with pytest.raises(ValueError, match="player"):
        deviation_payoffs([RPS, -RPS], [np.ones(3) / 3] * 2, player)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"iterations": -1},
        {"iterations": 2.5},
        {"step": 0.0},
        {"step": float("nan")},
        {"tol": -1.0},
    ],
)
def test_bad_solver_options_raise(kwargs):
    with pytest.raises(ValueError):
        solve([RPS, -RPS], **kwargs)
