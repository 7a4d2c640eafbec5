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
    agents: list,
    topic_prompt: str,
    language: str,
    openings: list[str],
    finals: list[str],
    memo: dict | None = None,
) -> dict | None:
    """``memo`` ((judge index, text) -> PPL), shared between calls on the same topic, spares
    scoring the openings again for every method (and a statement that several agents share)."""
    n = len(agents)
    memo = {} if memo is None else memo
    before = [[None] * n for _ in range(n)]
    after = [[None] * n for _ in range(n)]

    def ppl(j: int, text: str) -> float | None:
        if (j, text) not in memo:
            judge = agents[j]
            memo[(j, text)] = _ppl(judge.backend, judge.system(language), topic_prompt, text)
        return memo[(j, text)]

    for j in range(n):
        for i in range(n):
            before[j][i] = ppl(j, openings[i])
            after[j][i] = ppl(j, finals[i])
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


# --------------------------------------------------------------------------------------------
# metrics shared by every method (negotiation, debate, consultancy, one-shot, Schulze)

NEUTRAL = {"en": "Question: {topic}\nAnswer:", "zh": "问题：{topic}\n回答："}
ECHO = {
    "en": "Repeat the following text exactly, with nothing before or after it:\n{text}",
    "zh": "请一字不差地重复下面的文字，前后不要添加任何内容：\n{text}",
}


def neutral_context(topic: str, language: str) -> str:
    """The neutral context of teacher-forced PBA: ``Question: topic / Answer:``."""
    return NEUTRAL[language].format(topic=topic)


def _norm(text: str) -> str:
    return " ".join(text.split()).strip().strip("\"'“”「」").strip()


async def echo_perplexity(backend: object, text: str, language: str) -> float | None:
    """The reference PBA's PPL: the model repeats ``text`` at temperature 0; if its echo matches,
    PPL = exp(-mean log-probability of the text's tokens as that reply). None when the echo does
    not match or the backend has no log-probabilities."""
    from valuealign.backends import GenerateConfig

    fn = getattr(backend, "token_logprobs", None) or getattr(
        getattr(backend, "inner", None), "token_logprobs", None
    )
    if fn is None or not text.strip():
        return None
    messages = [{"role": "user", "content": ECHO[language].format(text=text)}]
    # room for the whole echo, rounded up to a multiple of 128 tokens so that echoes of texts
    # of similar length share settings and a local backend can batch them (a greedy echo ends
    # at its end-of-turn token; a longer limit never turns a matching echo into another one)
    limit = -(-(int(len(text) * 1.5) + 16) // 128) * 128
    reply = await backend.generate(messages, GenerateConfig(max_tokens=limit, temperature=0.0))
    if _norm(reply.text) != _norm(text):
        return None
    lps = fn(text, messages)
    if not lps:
        return None
    return math.exp(-sum(t.logprob for t in lps) / len(lps))


def echo_gap(ppl: list[list[float | None]]) -> float | None:
    """Mean over unordered pairs of ``|PPL_j(s_i) - PPL_i(s_j)|`` (``ppl[j][i]`` = PPL of i's
    statement under j's model); two agents: the reference's ``|PPL_B(s_A) - PPL_A(s_B)|``."""
    n = len(ppl)
    gaps = []
    for i, j in combinations(range(n), 2):
        a, b = ppl[j][i], ppl[i][j]
        if a is None or b is None:
            return None
        gaps.append(abs(a - b))
    return float(np.mean(gaps)) if gaps else None


def echo_ratio(ppl_opening: list[list[float | None]], ppl_final: list[list[float | None]]) -> dict:
    """The reference PBA: ``d_final / d_init``; below 1 the sides' mutual acceptance evened out."""
    d0, d1 = echo_gap(ppl_opening), echo_gap(ppl_final)
    ratio = d1 / d0 if d0 is not None and d1 is not None and d0 > 1e-12 else None
    return {"d_init": _r(d0), "d_final": _r(d1), "ratio": _r(ratio)}


def _cos(a: np.ndarray, b: np.ndarray) -> float | None:
    if np.isnan(a).any() or np.isnan(b).any():
        return None
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0.0 or nb == 0.0:
        return None
    return float(a @ b / (na * nb))


def vsc_from_vectors(
    agent_ids: list[str], opening: list, final: list, *, detector: str = ""
) -> dict:
    """VSC, consensus gain and balance from value vectors (each in {-1, 0, 1}^10).

    An all-zero vector (no value expressed) or a failed rating (NaN) has no direction: its
    cosines are None and it is listed under ``zero_vectors`` / ``failed``, never dropped silently.
    """
    v_open = [np.asarray(v, dtype=float) for v in opening]
    v_final = [np.asarray(v, dtype=float) for v in final]
    zero, failed = [], []
    for kind, vs in (("opening", v_open), ("final", v_final)):
        for a, v in zip(agent_ids, vs, strict=True):
            if np.isnan(v).any():
                failed.append(f"{a} {kind}")
            elif not v.any():
                zero.append(f"{a} {kind}")
    vsc = {a: _r(_cos(f, o)) for a, f, o in zip(agent_ids, v_final, v_open, strict=True)}
    pairs, gains = [], []
    for i, j in combinations(range(len(agent_ids)), 2):
        before, after = _cos(v_open[i], v_open[j]), _cos(v_final[i], v_final[j])
        gain = after - before if before is not None and after is not None else None
        ok = not (np.isnan(v_final[i]).any() or np.isnan(v_final[j]).any())
        pairs.append(
            {
                "a": agent_ids[i],
                "b": agent_ids[j],
                "before": _r(before),
                "after": _r(after),
                "consensus_gain": _r(gain),
                "cross_a_final_b_opening": _r(_cos(v_final[i], v_open[j])),
                "cross_b_final_a_opening": _r(_cos(v_final[j], v_open[i])),
                "l1_final": _r(float(np.abs(v_final[i] - v_final[j]).sum())) if ok else None,
                "equal_share_final": _r(float(np.mean(v_final[i] == v_final[j]))) if ok else None,
            }
        )
        if gain is not None:
            gains.append(gain)
    known = [v for v in vsc.values() if v is not None]
    return {
        "detector": detector,
        "vsc": vsc,
        "mean_vsc": _r(float(np.mean(known))) if known else None,
        "consensus": pairs,
        "consensus_gain": _r(float(np.mean(gains))) if gains else None,
        "balance": _r(max(known) - min(known)) if len(known) >= 2 else None,
        "zero_vectors": zero,
        "failed": failed,
        "vectors_opening": [v.tolist() for v in v_open],
        "vectors_final": [v.tolist() for v in v_final],
    }


METRIC_LABELS = {
    "pba_gain": "PBA gain (teacher-forced PPL, opening − final)",
    "pba_balance": "PBA balance (spread of gains)",
    "echo_ratio": "Echo-PPL gap ratio (final / opening)",
    "mean_vsc": "VSC (value self-consistency)",
    "consensus_gain": "Consensus gain (value cosine after − before)",
    "vsc_balance": "VSC balance (spread across agents)",
}


def interval(values: list[float], *, resamples: int = 2000, seed: int = 0) -> dict:
    """Mean and a 95% percentile-bootstrap interval over topics; n counts the known values."""
    vals = np.array([v for v in values if v is not None], dtype=float)
    if len(vals) == 0:
        return {"mean": None, "low": None, "high": None, "n": 0}
    if len(vals) == 1:
        return {"mean": _r(vals[0]), "low": None, "high": None, "n": 1}
    rng = np.random.default_rng(seed)
    means = vals[rng.integers(0, len(vals), size=(resamples, len(vals)))].mean(axis=1)
    return {
        "mean": _r(vals.mean()),
        "low": _r(float(np.percentile(means, 2.5))),
        "high": _r(float(np.percentile(means, 97.5))),
        "n": len(vals),
    }


def method_row(topic_scores: list[dict]) -> dict:
    """One row of the comparison table from one method's per-topic scores."""
    row = {key: interval([s.get(key) for s in topic_scores]) for key in METRIC_LABELS}
    ratios = [s.get("echo_ratio") for s in topic_scores if s.get("echo_ratio") is not None]
    row["echo_ratio_below_1"] = _r(sum(r < 1 for r in ratios) / len(ratios)) if ratios else None
    row["topics"] = len(topic_scores)
    row["zero_vectors"] = sum(s.get("zero_vectors", 0) for s in topic_scores)
    return row
