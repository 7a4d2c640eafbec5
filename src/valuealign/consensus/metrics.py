"""Scoring a negotiation: Perplexity-based Acceptance (PBA) and Values Self-Consistency (VSC).

PBA: how acceptable is agent i's statement to agent j? The teacher-forced perplexity of the
statement under j's model conditioned on j's cultural profile (lower = more acceptable),
before (opening) and after (final consensus). Per ordered pair (i -> j) the acceptance gain is
``ppl_j(opening_i) - ppl_j(final_i)``; the balance is the spread of gains across pairs. The
cross-perplexity gap ratio of a pair is ``(ppl_j(final_i) - ppl_i(final_i)) /
(ppl_j(opening_i) - ppl_i(opening_i))``: below 1 the gap between how i and j receive i's words
shrank. Needs backends that expose log-probabilities (``hf/`` models); otherwise PBA is None.

VSC: cosine between an agent's final and opening value vectors (a value detector over Schwartz's
10 values): how much of its values an agent kept. Consensus gain: value-vector cosine between
agents after minus before. Balance: the spread of VSC across agents; a large one means one side
yielded (the WEIRD-bias signature).
"""

from __future__ import annotations

import math
from itertools import combinations, permutations

import numpy as np

from valuealign.backends import capability
from valuealign.values import LexiconDetector, cosine


def _ppl(backend: object, system: str, prompt: str, text: str) -> float | None:
    fn = capability(backend, "token_logprobs")
    if fn is None or not text.strip():
        return None
    lps = fn(text, [{"role": "system", "content": system}, {"role": "user", "content": prompt}])
    if not lps:
        return None
    return math.exp(-sum(t.logprob for t in lps) / len(lps))


def perplexity_acceptance(
    agents: list, topic_prompt: str, language: str, openings: list[str], finals: list[str]
) -> dict | None:
    n = len(agents)
    before = [[None] * n for _ in range(n)]
    after = [[None] * n for _ in range(n)]
    for j, judge in enumerate(agents):
        system = judge.system(language)
        for i in range(n):
            before[j][i] = _ppl(judge.backend, system, topic_prompt, openings[i])
            after[j][i] = _ppl(judge.backend, system, topic_prompt, finals[i])
            if before[j][i] is None or after[j][i] is None:
                return None
    pairs = []
    for i, j in permutations(range(n), 2):
        gap_before = before[j][i] - before[i][i]
        gap_after = after[j][i] - after[i][i]
        pairs.append(
            {
                "speaker": agents[i].id,
                "listener": agents[j].id,
                "ppl_opening": round(before[j][i], 4),
                "ppl_final": round(after[j][i], 4),
                "acceptance_gain": round(before[j][i] - after[j][i], 4),
                "cross_gap_ratio": round(gap_after / gap_before, 4)
                if abs(gap_before) > 1e-9
                else None,
            }
        )
    gains = [p["acceptance_gain"] for p in pairs]
    return {
        "pairs": pairs,
        "mean_gain": round(float(np.mean(gains)), 4),
        "balance": round(float(max(gains) - min(gains)), 4),
        "ppl_matrix_opening": [[round(v, 4) for v in row] for row in before],
        "ppl_matrix_final": [[round(v, 4) for v in row] for row in after],
    }


def values_self_consistency(
    agent_ids: list[str],
    openings: list[str],
    finals: list[str],
    language: str,
    detector: LexiconDetector | None = None,
) -> dict:
    detector = detector or LexiconDetector()
    v_open = [detector.detect(t, language) for t in openings]
    v_final = [detector.detect(t, language) for t in finals]
    vsc = {a: _r(cosine(f, o)) for a, f, o in zip(agent_ids, v_final, v_open, strict=True)}
    gains = []
    for i, j in combinations(range(len(agent_ids)), 2):
        before, after = cosine(v_open[i], v_open[j]), cosine(v_final[i], v_final[j])
        gains.append(
            {
                "a": agent_ids[i],
                "b": agent_ids[j],
                "before": _r(before),
                "after": _r(after),
                "consensus_gain": _r(after - before)
                if before is not None and after is not None
                else None,
            }
        )
    known = [v for v in vsc.values() if v is not None]
    return {
        "vsc": vsc,
        "consensus": gains,
        "balance": _r(max(known) - min(known)) if len(known) >= 2 else None,
        "vectors_opening": [v.round(4).tolist() for v in v_open],
        "vectors_final": [v.round(4).tolist() for v in v_final],
    }


def text_agreement(texts: list[str], similarity) -> float | None:
    """Mean pairwise similarity of statements (how close the agents' texts are)."""
    pairs = [similarity(a, b) for a, b in combinations(texts, 2)]
    return _r(float(np.mean(pairs))) if pairs else None


def _r(x: float | None) -> float | None:
    return None if x is None else round(float(x), 4)
