"""Meta-solvers for PSRO: equilibria of small empirical N-player normal-form games.

Why this exists
---------------
Cross-cultural consensus is searched with PSRO (policy-space response oracles). Each player
(for instance an English-speaking and a Chinese-speaking value charter) keeps a growing pool of
strategies; PSRO plays every pool member against every other, records the outcome as an
*empirical* normal-form game, and asks a **meta-solver** which mixture over its pool each player
should use. The next best response is then trained against those mixtures. This module is that
meta-solver, plus the quantities PSRO reports to decide whether it has converged:

* :func:`expected_payoffs` -- each player's payoff under a mixed profile;
* :func:`deviation_payoffs` -- what each pure strategy of one player earns against the others;
* :func:`nash_conv` -- the sum over players of what a best pure deviation gains (0 at a Nash
  equilibrium, the usual PSRO exploitability measure);
* :func:`solve` -- mixtures for every player, with the methods in :data:`METHODS`:

  ``"replicator"``
      projected replicator dynamics ``x += step * x * (u - x.u)``, projected back onto the
      simplex with a floor of ``1e-6`` so no strategy ever dies out (PSRO must be able to revive
      an old strategy once the opponents change);
  ``"mwu"``
      multiplicative weights (entropic mirror ascent) with learning rate ``step``;
  ``"lp"``
      the exact Nash equilibrium of a two-player zero-sum game, by linear programming;
  ``"uniform"``
      uniform mixtures over each pool (with this meta-solver PSRO reduces to fictitious play).

  Players update in turn (each against the others' latest mixtures). For both iterative
  methods the running average of the iterates is tracked next to the last iterate, and whichever
  has the lower :func:`nash_conv` is returned: in games with a strict pure equilibrium the last
  iterate gets there first, while around an interior equilibrium of a zero-sum game the iterates
  cycle and only their average converges. MWU is the method to use for such games (its orbits
  stay bounded, so the average converges quickly with a large ``step``); discrete replicator
  dynamics spiral out towards the boundary there and their average converges only slowly.

Payoffs are cast to float64 and, for the iterative methods, rescaled per player to ``[0, 1]``
(``(u - min) / (max - min)``). A positive affine transform of one player's payoffs leaves the set
of Nash equilibria unchanged, so this only makes ``step`` mean the same thing for every game.
:func:`nash_conv` and the early stop (``tol``) use the payoffs as given.

Example
-------
>>> import numpy as np
>>> rps = np.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]])
>>> x, y = solve([rps, -rps], method="lp")
>>> np.round(x, 6).tolist(), np.round(y, 6).tolist()
([0.333333, 0.333333, 0.333333], [0.333333, 0.333333, 0.333333])
>>> nash_conv([rps, -rps], [x, y]) < 1e-9
True
>>> start = [np.array([0.6, 0.3, 0.1]), np.array([0.2, 0.2, 0.6])]
>>> mixed = solve([rps, -rps], method="mwu", init=start, iterations=10000, step=1.0)
>>> bool(nash_conv([rps, -rps], mixed) < 1e-3)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral

import numpy as np

__all__ = ["METHODS", "deviation_payoffs", "expected_payoffs", "nash_conv", "solve"]

METHODS: tuple[str, ...] = ("replicator", "mwu", "lp", "uniform")

_FLOOR = 1e-6  # smallest probability a replicator strategy can fall to
_CHECK_EVERY = 50  # iterations between two early-stopping checks
_ZERO_SUM_TOL = 1e-9  # |A + B| allowed for "lp", relative to max(1, max |payoff|)
_MIXTURE_TOL = 1e-6  # slack allowed on a mixture's sum and on negative entries


# --------------------------------------------------------------------------------------------
# validation


def _as_payoffs(payoffs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Validated float64 copies of ``payoffs`` (one array per player, one axis per player)."""
    if isinstance(payoffs, np.ndarray) and payoffs.ndim == 0:
        raise ValueError("payoffs must be a sequence of arrays, one per player")
    try:
        items = list(payoffs)
    except TypeError:
        raise ValueError("payoffs must be a sequence of arrays, one per player") from None
    n_players = len(items)
    if n_players == 0:
        raise ValueError("payoffs is empty: a game needs at least one player")
    arrays: list[np.ndarray] = []
    for i, item in enumerate(items):
        try:
            array = np.array(item, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"payoffs[{i}] is not a numeric array: {exc}") from None
        if array.ndim != n_players:
            raise ValueError(
                f"got {n_players} payoff array(s) but payoffs[{i}] has {array.ndim} axes; an "
                f"N-player game needs N payoff arrays, each with one axis per player "
                f"(shape (n_1, ..., n_N))"
            )
        if arrays and array.shape != arrays[0].shape:
            raise ValueError(
                f"payoff shapes differ: payoffs[{i}] has shape {array.shape} but payoffs[0] "
                f"has shape {arrays[0].shape}"
            )
        if array.size == 0:
            raise ValueError(f"payoffs have shape {array.shape}: every player needs a strategy")
        if not np.all(np.isfinite(array)):
            raise ValueError(f"payoffs[{i}] contains NaN or infinite values")
        arrays.append(array)
    return arrays


def _as_strategies(
    strategies: Sequence[np.ndarray], shape: tuple[int, ...], name: str = "strategies"
) -> list[np.ndarray]:
    """Validated float64 mixtures, one per player, matching the game ``shape``."""
    try:
        items = list(strategies)
    except TypeError:
        raise ValueError(f"{name} must be a sequence of arrays, one per player") from None
    if len(items) != len(shape):
        raise ValueError(
            f"{name} has {len(items)} mixture(s) but the game has {len(shape)} players"
        )
    mixtures: list[np.ndarray] = []
    for i, (item, size) in enumerate(zip(items, shape, strict=True)):
        try:
            x = np.array(item, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name}[{i}] is not a numeric array: {exc}") from None
        if x.shape != (size,):
            raise ValueError(
                f"{name}[{i}] has shape {x.shape} but player {i} has {size} strategies"
            )
        if not np.all(np.isfinite(x)):
            raise ValueError(f"{name}[{i}] contains NaN or infinite values")
        if x.min() < -_MIXTURE_TOL:
            raise ValueError(f"{name}[{i}] has negative probabilities")
        total = x.sum()
        if abs(total - 1.0) > _MIXTURE_TOL:
            raise ValueError(f"{name}[{i}] sums to {total}, not 1")
        x = np.clip(x, 0.0, None)
        mixtures.append(x / x.sum())
    return mixtures


def _check_player(player: int, n_players: int) -> int:
    if isinstance(player, bool) or not isinstance(player, Integral):
        raise ValueError(f"player must be an int, got {player!r}")
    if not 0 <= player < n_players:
        raise ValueError(f"player {player} out of range for a {n_players}-player game")
    return int(player)


# --------------------------------------------------------------------------------------------
# core quantities (no validation; arrays already float64 and consistent)


def _deviation(payoff: np.ndarray, xs: Sequence[np.ndarray], player: int) -> np.ndarray:
    """Payoff of each pure strategy of ``player`` when the others play ``xs``."""
    n = payoff.ndim
    if n == 2:
        return payoff @ xs[1] if player == 0 else xs[0] @ payoff
    operands: list = [payoff, list(range(n))]
    for j, x in enumerate(xs):
        if j != player:
            operands += [x, [j]]
    operands.append([player])
    return np.einsum(*operands)


def _all_deviations(arrays: Sequence[np.ndarray], xs: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [_deviation(p, xs, i) for i, p in enumerate(arrays)]


def _nash_conv(arrays: Sequence[np.ndarray], xs: Sequence[np.ndarray]) -> float:
    total = 0.0
    for i, p in enumerate(arrays):
        u = _deviation(p, xs, i)
        total += max(0.0, float(u.max() - xs[i] @ u))
    return total


def _uniform(shape: tuple[int, ...]) -> list[np.ndarray]:
    return [np.full(n, 1.0 / n) for n in shape]


def _normalise(payoff: np.ndarray) -> np.ndarray:
    """Positive affine rescale to [0, 1]; a constant payoff becomes all zeros."""
    lo, hi = payoff.min(), payoff.max()
    if hi <= lo:
        return np.zeros_like(payoff)
    return (payoff - lo) / (hi - lo)


def _floor(x: np.ndarray) -> np.ndarray:
    floor = min(_FLOOR, 0.1 / x.size)
    x = np.maximum(x, floor)
    return x / x.sum()


def _project_simplex(v: np.ndarray) -> np.ndarray:
    """Euclidean projection of ``v`` onto the probability simplex."""
    u = np.sort(v)[::-1]
    cumulative = np.cumsum(u) - 1.0
    ks = np.arange(1, v.size + 1)
    rho = np.nonzero(u - cumulative / ks > 0)[0][-1]
    theta = cumulative[rho] / (rho + 1)
    return np.maximum(v - theta, 0.0)


# --------------------------------------------------------------------------------------------
# public API


def expected_payoffs(payoffs: list[np.ndarray], strategies: list[np.ndarray]) -> np.ndarray:
    """Expected payoff of every player under the mixed profile ``strategies`` (shape ``(N,)``)."""
    arrays = _as_payoffs(payoffs)
    xs = _as_strategies(strategies, arrays[0].shape)
    joint = xs[0]
    for x in xs[1:]:
        joint = np.multiply.outer(joint, x)
    return np.array([float(np.sum(p * joint)) for p in arrays], dtype=np.float64)


def deviation_payoffs(
    payoffs: list[np.ndarray], strategies: list[np.ndarray], player: int
) -> np.ndarray:
    """Payoff of each pure strategy of ``player`` against the other players' mixtures."""
    arrays = _as_payoffs(payoffs)
    xs = _as_strategies(strategies, arrays[0].shape)
    player = _check_player(player, len(arrays))
    return np.asarray(_deviation(arrays[player], xs, player), dtype=np.float64)


def nash_conv(payoffs: list[np.ndarray], strategies: list[np.ndarray]) -> float:
    """Sum over players of (best pure deviation payoff - expected payoff); 0 exactly at a Nash
    equilibrium and positive elsewhere."""
    arrays = _as_payoffs(payoffs)
    xs = _as_strategies(strategies, arrays[0].shape)
    return _nash_conv(arrays, xs)


def solve(
    payoffs: list[np.ndarray],
    method: str = "replicator",
    *,
    iterations: int = 5000,
    step: float = 0.1,
    init: list[np.ndarray] | None = None,
    tol: float = 1e-9,
) -> list[np.ndarray]:
    """Mixtures (one per player) approximating a Nash equilibrium of the game ``payoffs``.

    ``payoffs[i]`` has shape ``(n_1, ..., n_N)`` and holds player ``i``'s payoff for every pure
    profile. ``method`` is one of :data:`METHODS`. ``iterations``, ``step``, ``init`` (starting
    mixtures, uniform by default; entries are floored at ``1e-6`` so no strategy is excluded for
    good) and ``tol`` (stop once :func:`nash_conv` is at most ``tol``,
    checked every few iterations) apply to ``"replicator"`` and ``"mwu"``; ``step`` is on the
    ``[0, 1]`` payoff scale. ``"lp"`` needs a two-player zero-sum game and raises
    :class:`ValueError` otherwise.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known methods: {', '.join(METHODS)}")
    arrays = _as_payoffs(payoffs)
    shape = arrays[0].shape
    if isinstance(iterations, bool) or not isinstance(iterations, Integral) or iterations < 0:
        raise ValueError(f"iterations must be a non-negative int, got {iterations!r}")
    step = float(step)
    if not np.isfinite(step) or step <= 0:
        raise ValueError(f"step must be a positive finite number, got {step!r}")
    tol = float(tol)
    if np.isnan(tol) or tol < 0:
        raise ValueError(f"tol must be non-negative, got {tol!r}")
    start = _uniform(shape) if init is None else _as_strategies(init, shape, "init")

    if method == "uniform":
        return _uniform(shape)
    if method == "lp":
        return _solve_lp(arrays)
    scaled = [_normalise(p) for p in arrays]
    return _iterate(arrays, scaled, start, int(iterations), step, tol, method)


# --------------------------------------------------------------------------------------------
# iterative methods


def _replicator_update(x: np.ndarray, u: np.ndarray, step: float) -> np.ndarray:
    """One projected replicator step for a mixture ``x`` facing deviation payoffs ``u``."""
    y = x + step * x * (u - x @ u)
    if y.min() < 0.0:  # only possible for step > 1 on the [0, 1] payoff scale
        y = _project_simplex(y)
    return _floor(y)


def _softmax(logits: np.ndarray) -> np.ndarray:
    w = np.exp(logits - logits.max())
    return w / w.sum()


def _iterate(
    arrays: list[np.ndarray],
    scaled: list[np.ndarray],
    start: list[np.ndarray],
    iterations: int,
    step: float,
    tol: float,
    method: str,
) -> list[np.ndarray]:
    """Shared driver for "replicator" and "mwu".

    Players update in turn (Gauss-Seidel), each against the others' latest mixtures: the
    fixed points are those of simultaneous updates, but in zero-sum games the MWU orbits stay
    bounded instead of spiralling out to the boundary, so the running average converges much
    faster. Returns the better (by nash_conv on the original payoffs) of the last iterate and
    the running average of the iterates.
    """
    xs = [_floor(x) for x in start]
    logits = [np.log(x) for x in xs]  # MWU state; the replicator state is ``xs`` itself
    total = [np.zeros_like(x) for x in xs]
    played = 0
    for t in range(iterations):
        for acc, x in zip(total, xs, strict=True):
            acc += x
        played += 1
        for i, payoff in enumerate(scaled):
            u = _deviation(payoff, xs, i)
            if method == "mwu":
                z = logits[i] + step * u
                logits[i] = z - z.max()
                xs[i] = _softmax(logits[i])
            else:
                xs[i] = _replicator_update(xs[i], u, step)
        if (t + 1) % _CHECK_EVERY == 0:
            if _nash_conv(arrays, xs) <= tol:
                return xs
            average = [acc / played for acc in total]
            if _nash_conv(arrays, average) <= tol:
                return average
    if played == 0:
        return xs
    average = [acc / acc.sum() for acc in total]
    if _nash_conv(arrays, average) < _nash_conv(arrays, xs):
        return average
    return xs


# --------------------------------------------------------------------------------------------
# linear programming (two-player zero-sum)


def _solve_lp(arrays: list[np.ndarray]) -> list[np.ndarray]:
    if len(arrays) != 2:
        raise ValueError(f"method 'lp' needs a two-player game, got {len(arrays)} players")
    a, b = arrays
    scale = max(1.0, float(np.abs(a).max()), float(np.abs(b).max()))
    gap = float(np.abs(a + b).max())
    if gap > _ZERO_SUM_TOL * scale:
        raise ValueError(
            f"method 'lp' needs a zero-sum game (payoffs[1] == -payoffs[0]); max |A + B| = {gap:g}"
        )
    m = _normalise(a)  # same affine map for both players keeps the game constant-sum
    if not m.any():
        return _uniform(a.shape)
    x = _maximin(m)
    y = _maximin(1.0 - m.T)
    return [x, y]


def _maximin(m: np.ndarray) -> np.ndarray:
    """Row mixture maximising the worst-case column payoff of ``m`` (entries in [0, 1])."""
    from scipy.optimize import linprog

    k, cols = m.shape
    # variables: x_1..x_k, v ; maximise v  s.t.  v <= (x^T m)_j for every column j
    c = np.zeros(k + 1)
    c[-1] = -1.0
    a_ub = np.hstack([-m.T, np.ones((cols, 1))])
    b_ub = np.zeros(cols)
    a_eq = np.hstack([np.ones((1, k)), np.zeros((1, 1))])
    b_eq = np.ones(1)
    bounds = [(0.0, None)] * k + [(None, None)]
    result = linprog(
        c,
        A_ub=a_ub,
        b_ub=b_ub,
        A_eq=a_eq,
        b_eq=b_eq,
        bounds=bounds,
        method="highs",
        options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10},
    )
    if not result.success:  # pragma: no cover - a bounded feasible LP always solves
        raise RuntimeError(f"linear program failed: {result.message}")
    x = np.clip(result.x[:k], 0.0, None)
    return x / x.sum()


# --------------------------------------------------------------------------------------------
# the consensus paper's meta-solver


def mirror_descent(
    payoffs: list[np.ndarray],
    *,
    eta: float = 0.05,
    iterations: int = 1000,
    tol: float = 1e-6,
) -> tuple[list[np.ndarray], int]:
    """Simultaneous entropic mirror descent from uniform, as the consensus paper's code runs it.

    Every player updates at once against the others' mixtures of the previous iterate,
    ``x_i <- x_i * exp(eta * u_i) / Z`` with ``u_i`` the deviation payoffs of player ``i``'s
    pure strategies (for two players ``A @ b`` and ``B.T @ a``), on the payoffs as given (no
    rescaling). Stops after ``iterations`` updates or once no entry moved by ``tol`` or more.
    Returns the mixtures and the number of updates made.
    """
    arrays = _as_payoffs(payoffs)
    if not np.isfinite(eta) or eta <= 0:
        raise ValueError(f"eta must be a positive finite number, got {eta!r}")
    xs = _uniform(arrays[0].shape)
    done = 0
    for done in range(1, int(iterations) + 1):  # noqa: B007 (the count is returned)
        us = _all_deviations(arrays, xs)
        new = []
        for x, u in zip(xs, us, strict=True):
            logits = np.log(x) + eta * u
            new.append(_softmax(logits))
        moved = max(float(np.max(np.abs(n - x))) for n, x in zip(new, xs, strict=True))
        xs = new
        if moved < tol:
            break
    return xs, done


def explore_mix(mixture: np.ndarray, share: float = 0.5, decimals: int | None = 2) -> np.ndarray:
    """``share * uniform + (1 - share) * mixture``, rounded to ``decimals`` like the reference."""
    x = np.asarray(mixture, dtype=np.float64)
    out = share / len(x) + (1.0 - share) * x
    return out.round(decimals) if decimals is not None else out
