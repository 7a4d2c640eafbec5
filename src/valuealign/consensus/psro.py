"""Policy-Space Response Oracles over pools of statements.

Each player's strategies are a growing pool (here: short guideline statements). Each round the
empirical game over the pools is rebuilt (one payoff tensor per player), a meta-solver gives each
player a mixture over its pool, and every player's oracle proposes candidates of which the best
response to the others' mixtures (plus an optional novelty bonus) joins its pool if it improves
the player's expected utility by more than ``epsilon``. The loop stops when no player's best
response improves its utility by more than ``epsilon`` (the empirical game's equilibrium is then
an epsilon-equilibrium against every proposed strategy), or after ``rounds`` rounds.

The loop is generic: strategies are any hashable values, ``payoff(player, profile)`` any function.
The LLM negotiation plugs statements and similarity-based utilities into it; the tests plug in
matrix games with known equilibria.

>>> result = asyncio.run(run_psro([["C"], ["C"]], oracle, payoff, rounds=5))
>>> result.mixtures
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np

from valuealign.consensus.solvers import expected_payoffs, nash_conv, solve

Payoff = Callable[[int, tuple], float]
Oracle = Callable[[int, list[list], list[np.ndarray], int], Awaitable[Sequence[Hashable]]]


@dataclass
class RoundRecord:
    round: int
    pool_sizes: list[int]
    mixtures: list[list[float]]
    expected_utilities: list[float]
    nash_conv: float
    added: list[Hashable | None] = field(default_factory=list)
    gains: list[float] = field(default_factory=list)
    """Per player: best response's expected utility minus the current one (the PSRO gap)."""
    candidates: list[list[dict]] = field(default_factory=list)


@dataclass
class PSROResult:
    pools: list[list]
    mixtures: list[np.ndarray]
    payoffs: list[np.ndarray]
    history: list[RoundRecord]
    converged: bool
    stop_reason: str

    @property
    def rounds(self) -> int:
        return len(self.history)

    @property
    def nash_conv(self) -> float:
        return nash_conv(self.payoffs, self.mixtures)


def build_payoffs(pools: list[list], payoff: Payoff) -> list[np.ndarray]:
    """One tensor per player over the pools' cartesian product."""
    shape = tuple(len(p) for p in pools)
    tensors = [np.zeros(shape) for _ in pools]
    for idx in itertools.product(*(range(n) for n in shape)):
        profile = tuple(pool[k] for pool, k in zip(pools, idx, strict=True))
        for i in range(len(pools)):
            tensors[i][idx] = payoff(i, profile)
    return tensors


def response_value(
    player: int, candidate: Hashable, pools: list[list], mixtures: list[np.ndarray], payoff: Payoff
) -> float:
    """Expected payoff of ``candidate`` for ``player`` against the others' mixtures."""
    others = [j for j in range(len(pools)) if j != player]
    total = 0.0
    for idx in itertools.product(*(range(len(pools[j])) for j in others)):
        weight = float(np.prod([mixtures[j][k] for j, k in zip(others, idx, strict=True)]))
        if weight == 0.0:
            continue
        profile = [None] * len(pools)
        profile[player] = candidate
        for j, k in zip(others, idx, strict=True):
            profile[j] = pools[j][k]
        total += weight * payoff(player, tuple(profile))
    return total


async def run_psro(
    initial: list[list],
    oracle: Oracle,
    payoff: Payoff,
    *,
    solver: str = "replicator",
    rounds: int = 5,
    epsilon: float = 1e-3,
    novelty: Callable[[int, Hashable, list], float] | None = None,
    novelty_weight: float = 0.0,
    on_round: Callable[[RoundRecord], None] | None = None,
) -> PSROResult:
    if len(initial) < 2 or any(not pool for pool in initial):
        raise ValueError("PSRO needs at least two players, each with a non-empty initial pool")
    pools = [list(pool) for pool in initial]
    history: list[RoundRecord] = []
    converged, reason = False, "max_rounds"
    for r in range(rounds):
        tensors = build_payoffs(pools, payoff)
        mixtures = solve(tensors, solver)
        values = expected_payoffs(tensors, mixtures)
        record = RoundRecord(
            r,
            [len(p) for p in pools],
            [m.round(6).tolist() for m in mixtures],
            [round(float(v), 6) for v in values],
            round(nash_conv(tensors, mixtures), 6),
        )
        history.append(record)
        added_any = False
        snapshot = [list(p) for p in pools]  # all players respond to the same empirical game
        for i in range(len(pools)):
            scored = []
            for cand in await oracle(i, snapshot, mixtures, r):
                value = response_value(i, cand, snapshot, mixtures, payoff)
                bonus = novelty_weight * novelty(i, cand, snapshot[i]) if novelty else 0.0
                scored.append(
                    {"candidate": cand, "value": round(value, 6), "score": round(value + bonus, 6)}
                )
            record.candidates.append(scored)
            best = max(scored, key=lambda s: s["score"], default=None)
            gain = best["value"] - float(values[i]) if best is not None else 0.0
            record.gains.append(round(gain, 6))
            if best is not None and best["candidate"] not in pools[i] and gain > epsilon:
                pools[i].append(best["candidate"])
                record.added.append(best["candidate"])
                added_any = True
            else:
                record.added.append(None)
        if on_round:
            on_round(record)
        if not added_any:
            converged, reason = True, "no_improving_response"
            break
    tensors = build_payoffs(pools, payoff)
    mixtures = solve(tensors, solver)
    return PSROResult(pools, mixtures, tensors, history, converged, reason)
