"""Cross-cultural negotiation: cultural agents find a consensus guideline with PSRO.

An agent is a backend plus a cultural profile (its system prompt). On a topic, every agent opens
with a short guideline statement (its opening stance). Each PSRO round, every agent's oracle
writes three candidates given the others' current mixtures (a counter-proposal, a gap-filling
one and a new compromise); the candidate with the best expected utility against the others'
mixtures (plus a novelty bonus) joins the agent's pool. Utility of a statement for agent i:

    u_i = w_self * sim(statement, opening_i) + w_accept * mean_j sim(statement, statement_j)

(consistency with its own opening stance + acceptance by the others). Similarities come from
sentence embeddings where an offline model covers the language, else character n-gram TF-IDF.
After the loop each agent writes a consensus statement from the highest-weighted statements.

>>> result = asyncio.run(negotiate("How should societies balance elder care duties?", agents))
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from valuealign.backends import ChatBackend, GenerateConfig, Message
from valuealign.consensus.profiles import CultureProfile
from valuealign.consensus.psro import PSROResult, RoundRecord, run_psro

PROMPTS = {
    "en": {
        "opening": "Topic: {topic}\nWrite ONE short guideline (one or two sentences) on this topic that the people you represent would endorse. Output only the guideline.",
        "counter": "Topic: {topic}\nYour opening stance: {own}\nThe other side currently favours: {others}\nWrite ONE short guideline (one or two sentences) that answers their main concern while keeping what matters most to you. Output only the guideline.",
        "gap": "Topic: {topic}\nYour opening stance: {own}\nThe other side currently favours: {others}\nWrite ONE short guideline (one or two sentences) that fills what is missing from their proposal from your perspective. Output only the guideline.",
        "new": "Topic: {topic}\nYour opening stance: {own}\nThe other side currently favours: {others}\nWrite ONE new short compromise guideline (one or two sentences) that both sides could accept. Output only the guideline.",
        "final": "Topic: {topic}\nThe negotiation converged on these guidelines (most supported first):\n{pool}\nWrite ONE consensus guideline (one or two sentences) that all sides can accept. Output only the guideline.",
        "neutral": "You are a neutral facilitator who writes balanced guidelines that people from many cultures can accept.",
    },
    "zh": {
        "opening": "议题：{topic}\n请就此议题写出一条你所代表的人群会认同的简短准则（一两句话）。只输出这条准则。",
        "counter": "议题：{topic}\n你的初始立场：{own}\n对方目前倾向于：{others}\n请写出一条简短准则（一两句话），回应对方的主要关切，同时保留你最看重的东西。只输出这条准则。",
        "gap": "议题：{topic}\n你的初始立场：{own}\n对方目前倾向于：{others}\n请从你的角度写出一条简短准则（一两句话），补上对方提议中缺少的部分。只输出这条准则。",
        "new": "议题：{topic}\n你的初始立场：{own}\n对方目前倾向于：{others}\n请写出一条双方都能接受的新的折中准则（一两句话）。只输出这条准则。",
        "final": "议题：{topic}\n协商最终集中在以下准则上（支持度从高到低）：\n{pool}\n请写出一条各方都能接受的共识准则（一两句话）。只输出这条准则。",
        "neutral": "你是一名中立的协调人，负责写出多种文化背景的人都能接受的平衡准则。",
    },
}
MODES = ("counter", "gap", "new")
_LABEL = re.compile(
    r"^\s*(?:(?:the|one|my|our|a)\s+)?(?:consensus\s+)?(?:guideline|statement)[^:\n]{0,80}[:：]\s*"
    r"|^\s*(?:共识)?准则[^：:\n]{0,20}[：:]\s*",
    re.IGNORECASE,
)


@dataclass
class Agent:
    id: str
    profile: CultureProfile
    backend: ChatBackend

    def system(self, language: str) -> str:
        return self.profile.system_prompt(language)


@dataclass
class NegotiationResult:
    topic: str
    language: str
    agents: list[str]
    openings: list[str]
    finals: list[str]
    psro: PSROResult
    events: list[dict] = field(default_factory=list)


def clean_statement(text: str, max_chars: int = 400) -> str:
    """First one or two sentences of a reply, without labels or quotes."""
    text = _LABEL.sub("", text.strip())
    quoted = re.match(r"^[\"“「]([^\"”」]{8,})[\"”」]", text)
    if quoted:
        text = quoted.group(1)
    text = text.strip().strip("\"'“”「」")
    text = text.split("\n\n")[0].strip()
    parts = re.split(r"(?<=[.!?。！？])\s*", text)
    short = (
        "".join(parts[:2]).strip() if re.search(r"[。！？]", text) else " ".join(parts[:2]).strip()
    )
    return (short or text)[:max_chars] or "(no statement)"


async def _say(agent_backend: ChatBackend, system: str, user: str, config: GenerateConfig) -> str:
    messages: list[Message] = [
        {"role": "system", "content": system},
        {"role": "user", "content": user},
    ]
    return clean_statement((await agent_backend.generate(messages, config)).text)


def _top(pool: list[str], mixture: np.ndarray, k: int = 2) -> list[str]:
    order = np.argsort(-mixture)[:k]
    return [pool[i] for i in order if mixture[i] > 1e-3] or [pool[int(order[0])]]


async def negotiate(
    topic: str,
    agents: list[Agent],
    similarity: Callable[[str, str], float],
    *,
    language: str = "en",
    rounds: int = 4,
    epsilon: float = 1e-3,
    solver: str = "replicator",
    w_self: float = 0.4,
    w_accept: float = 0.6,
    novelty_weight: float = 0.1,
    max_tokens: int = 96,
    temperature: float = 0.7,
    seed: int = 0,
    on_event: Callable[[dict], None] | None = None,
) -> NegotiationResult:
    if len(agents) < 2:
        raise ValueError("a negotiation needs at least two agents")
    t = PROMPTS[language]
    events: list[dict] = []

    def emit(event: dict) -> None:
        events.append(event)
        if on_event:
            on_event(event)

    greedy = GenerateConfig(max_tokens=max_tokens, temperature=0.0, seed=seed)
    openings = await _each_says(
        agents, language, t["opening"].format(topic=topic), greedy, emit, "opening"
    )
    game = _PoolGame(
        topic=topic,
        agents=agents,
        language=language,
        openings=openings,
        similarity=similarity,
        w_self=w_self,
        w_accept=w_accept,
        emit=emit,
        max_tokens=max_tokens,
        temperature=temperature,
        seed=seed,
    )
    result = await run_psro(
        [[o] for o in openings],
        game.oracle,
        game.payoff,
        solver=solver,
        rounds=rounds,
        epsilon=epsilon,
        novelty=game.novelty,
        novelty_weight=novelty_weight,
        on_round=game.on_round,
    )
    emit(
        {
            "type": "final_game",
            "pools": result.pools,
            "mixtures": [m.round(6).tolist() for m in result.mixtures],
            "payoffs": [p.round(6).tolist() for p in result.payoffs],
            "nash_conv": round(result.nash_conv, 6),
            "stop_reason": result.stop_reason,
        }
    )
    ranked = [s for i in range(len(agents)) for s in _top(result.pools[i], result.mixtures[i], k=3)]
    pool = "\n".join(f"- {s}" for s in ranked)
    finals = await _each_says(
        agents, language, t["final"].format(topic=topic, pool=pool), greedy, emit, "final"
    )
    return NegotiationResult(
        topic, language, [a.id for a in agents], openings, finals, result, events
    )


@dataclass
class _PoolGame:
    """The statement-pool game PSRO plays: each agent's utility of a statement profile, the
    novelty of a candidate, and the oracle in which each agent writes its candidates."""

    topic: str
    agents: list[Agent]
    language: str
    openings: list[str]
    similarity: Callable[[str, str], float]
    w_self: float
    w_accept: float
    emit: Callable[[dict], None]
    max_tokens: int
    temperature: float
    seed: int
    _sims: dict[tuple[str, str], float] = field(default_factory=dict)

    def sim(self, x: str, y: str) -> float:
        key = (x, y) if x <= y else (y, x)
        if key not in self._sims:
            self._sims[key] = 1.0 if x == y else float(self.similarity(x, y))
        return self._sims[key]

    def payoff(self, i: int, profile: tuple) -> float:
        own = profile[i]
        others = [s for j, s in enumerate(profile) if j != i]
        return self.w_self * self.sim(own, self.openings[i]) + self.w_accept * float(
            np.mean([self.sim(own, s) for s in others])
        )

    def novelty(self, i: int, cand: str, pool: list) -> float:
        return 1.0 - max(self.sim(cand, s) for s in pool)

    async def oracle(
        self, i: int, pools: list[list], mixtures: list[np.ndarray], r: int
    ) -> list[str]:
        agent, t = self.agents[i], PROMPTS[self.language]
        others = " | ".join(
            s for j in range(len(self.agents)) if j != i for s in _top(pools[j], mixtures[j])
        )
        out = []
        for k, mode in enumerate(MODES):
            cfg = GenerateConfig(
                max_tokens=self.max_tokens,
                temperature=self.temperature,
                seed=self.seed + 1000 * r + k,
            )
            text = await _say(
                agent.backend,
                agent.system(self.language),
                t[mode].format(topic=self.topic, own=self.openings[i], others=others),
                cfg,
            )
            self.emit(
                {"type": "proposal", "round": r, "agent": agent.id, "mode": mode, "text": text}
            )
            out.append(text)
        return out

    def on_round(self, record: RoundRecord) -> None:
        self.emit(
            {
                "type": "round",
                "round": record.round,
                "pool_sizes": record.pool_sizes,
                "mixtures": record.mixtures,
                "expected_utilities": record.expected_utilities,
                "nash_conv": record.nash_conv,
                "added": record.added,
                "candidates": record.candidates,
            }
        )


async def _each_says(
    agents: list[Agent],
    language: str,
    prompt: str,
    config: GenerateConfig,
    emit: Callable[[dict], None],
    kind: str,
) -> list[str]:
    """Every agent answers ``prompt`` in turn (its opening, or its final statement)."""
    texts = []
    for a in agents:
        text = await _say(a.backend, a.system(language), prompt, config)
        texts.append(text)
        event = {"type": kind, "round": -1} if kind == "opening" else {"type": kind}
        emit({**event, "agent": a.id, "text": text})
    return texts


async def one_shot_baseline(
    topic: str, backend: ChatBackend, *, language: str = "en", max_tokens: int = 96, seed: int = 0
) -> str:
    """A neutral model writes the guideline in one go."""
    t = PROMPTS[language]
    user = (
        t["opening"]
        .format(topic=topic)
        .replace("the people you represent", "people from many cultures")
    )
    return await _say(
        backend,
        t["neutral"],
        user,
        GenerateConfig(max_tokens=max_tokens, temperature=0.0, seed=seed),
    )


async def best_of_n_baseline(
    topic: str,
    backend: ChatBackend,
    agents: list[Agent],
    openings: list[str],
    similarity: Callable[[str, str], float],
    *,
    n: int = 4,
    language: str = "en",
    max_tokens: int = 96,
    seed: int = 0,
) -> tuple[str, list[str], list[list[int]]]:
    """n neutral candidates, ranked by every agent (by similarity to its opening), Schulze winner."""
    from valuealign.consensus.schulze import schulze_ranking

    t = PROMPTS[language]
    user = t["new"].format(topic=topic, own="-", others=" | ".join(openings))
    candidates = list(
        await asyncio.gather(
            *(
                _say(
                    backend,
                    t["neutral"],
                    user,
                    GenerateConfig(
                        max_tokens=max_tokens, temperature=0.9, seed=seed + k, sample_index=k
                    ),
                )
                for k in range(n)
            )
        )
    )
    ballots = [
        sorted(range(n), key=lambda c, i=i: -similarity(candidates[c], openings[i]))
        for i in range(len(agents))
    ]
    winner = schulze_ranking(ballots)[0]
    return candidates[winner], candidates, ballots
