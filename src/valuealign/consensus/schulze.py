"""The Schulze method: aggregate several rankings into one winner (used by the best-of-n baseline).

>>> schulze_ranking([["a", "b", "c"], ["b", "a", "c"], ["a", "c", "b"]])
['a', 'b', 'c']
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence


def schulze_ranking(ballots: Sequence[Sequence[Hashable]]) -> list[Hashable]:
    """Candidates ordered by the Schulze method (ties broken by first appearance)."""
    candidates: list[Hashable] = []
    for ballot in ballots:
        for c in ballot:
            if c not in candidates:
                candidates.append(c)
    n = len(candidates)
    pos = {c: i for i, c in enumerate(candidates)}
    d = [[0] * n for _ in range(n)]
    for ballot in ballots:
        rank = {c: k for k, c in enumerate(ballot)}
        for a in candidates:
            for b in candidates:
                if a != b and rank.get(a, n) < rank.get(b, n):
                    d[pos[a]][pos[b]] += 1
    p = [[d[i][j] if d[i][j] > d[j][i] else 0 for j in range(n)] for i in range(n)]
    for k in range(n):
        for i in range(n):
            if i == k:
                continue
            for j in range(n):
                if j not in (i, k):
                    p[i][j] = max(p[i][j], min(p[i][k], p[k][j]))
    wins = [sum(p[i][j] > p[j][i] for j in range(n) if j != i) for i in range(n)]
    order = sorted(range(n), key=lambda i: (-wins[i], i))
    return [candidates[i] for i in order]
