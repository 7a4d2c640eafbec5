"""The consensus paper's negotiation (the default protocol), generalised to N agents.

A pure strategy is a :class:`Guideline` (content of at most about eight words, a reason and a
description); its embedded text is ``"content: reason. detail: description"``. Each agent opens
with one guideline and a two-to-three sentence opinion (weight 1.0). Every round:

1. the meta-game over the pools is solved by simultaneous entropic mirror descent from uniform
   (eta 0.05, at most 1000 iterations, tolerance 1e-6; :func:`~.solvers.mirror_descent`), then
   mixed with uniform (``w <- 0.5 uniform + 0.5 w``) and rounded to two decimals;
2. a rule-written message with every agent's weights and their change goes into the shared
   dialogue memory;
3. each agent's best-response oracle runs a weakness analysis of each opponent's top-3 weighted
   guidelines, a coverage-gap analysis of all opponent guidelines (3-5 blind spots) and three
   generation calls: counter (two guidelines, temperature 0.6), gap-filling (0.6) and innovation
   (0.8). The candidate with the highest utility
   ``U = w_consist * Consist + w_accept * Accept + w_novel * Novel`` (0.5/0.3/0.2) is the best
   response; the agent states it in one or two sentences and it joins the pool;
4. from the second round on, the run stops when ``|U(t) - U(t-1)| < epsilon`` for every agent
   (epsilon 0.02, doubled when the agent's two newest guidelines have similarity above 0.8).

Consist(g) is the similarity of g to the agent's opening opinion (0 for the opening guideline),
Accept(g) the weighted similarity to an opponent's guidelines (weights normalised by their sum;
with N agents the mean over opponents), Novel(g) one minus the largest similarity to the agent's
own pool (1 for the opening guideline). Meta-game payoff of a profile for agent i: mean over
opponents of sim(g_i, g_j) + Consist(g_i) + Novel(g_i) (for two agents the reference's
``A[i, j]``), with Consist and Novel fixed when the guideline joined the pool.

Differences kept from the reference code, on purpose: the stopping rule uses the absolute
difference (``signed=True`` gives the code's signed one); N agents instead of two; a reply that
does not follow the labelled format becomes a guideline whose content is its first sentence
(recorded as ``parsed: false``), not a retry loop.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from valuealign.backends import ChatBackend, GenerateConfig, Message
from valuealign.consensus.negotiation import Agent, NegotiationResult, clean_statement
from valuealign.consensus.psro import PSROResult, RoundRecord
from valuealign.consensus.solvers import explore_mix, mirror_descent, nash_conv


@dataclass(frozen=True)
class Guideline:
    content: str
    reason: str = ""
    description: str = ""
    parsed: bool = True

    def text(self) -> str:
        """What is embedded: ``content: reason. detail: description``."""
        return f"{self.content}: {self.reason}. detail: {self.description}"


@dataclass(frozen=True)
class ReferenceSettings:
    rounds: int = 10
    epsilon: float = 0.02
    epsilon_similar: float = 0.04
    similar_above: float = 0.8
    signed_stop: bool = False
    w_consist: float = 0.5
    w_accept: float = 0.3
    w_novel: float = 0.2
    eta: float = 0.05
    md_iterations: int = 1000
    md_tol: float = 1e-6
    explore: float = 0.5
    top_k: int = 3
    max_tokens: int = 160
    final_words: int = 100
    final_max_tokens: int = 200
    memory_lines: int = 6


SHARED_PREFIX = 1
"""``prefix_chars`` of every agent call: what comes before the user message's first character
(the agent's system prompt, its culture card, and the chat template's turn header) is the same
in all of an agent's calls, on every topic and round. ``ct2/`` keeps that prefix's computed
state and skips it in every later call (most of a prompt's cost on a CPU); other backends ignore
the hint, and it is no part of a request's cache key."""

FORMAT = {
    "en": "Guideline: <at most 8 words>\nReason: <one sentence>\nDescription: <one sentence>",
    "zh": "准则：<不超过15个字>\n理由：<一句话>\n说明：<一句话>",
}
P = {
    "en": {
        "opening": "Topic: {topic}\nState your position as the people you represent would. Reply in exactly this format:\n{fmt}\nOpinion: <2-3 sentences>",
        "weakness": "Topic: {topic}\n{memory}The other side's most supported guidelines:\n{items}\nFrom your cultural perspective, point out their weaknesses: contradictions, unclear boundaries, conflicts with your values, and difficulties of implementation. Be brief.",
        "gaps": "Topic: {topic}\nAll of the other side's guidelines:\n{items}\nList 3-5 blind spots: issues important to the people you represent that these guidelines do not cover. Be brief.",
        "counter": "Topic: {topic}\n{memory}Your opening opinion: {opinion}\nWeaknesses of the other side's guidelines:\n{analysis}\nWrite TWO counter-proposal guidelines that fix these weaknesses while keeping your values. For each use this format:\n{fmt}",
        "gap": "Topic: {topic}\n{memory}Your opening opinion: {opinion}\nBlind spots of the other side's guidelines:\n{analysis}\nWrite ONE guideline that fills these gaps. Use this format:\n{fmt}",
        "innovate": "Topic: {topic}\n{memory}Your opening opinion: {opinion}\nThe other side's most supported guidelines:\n{items}\nWrite ONE new, creative guideline that both sides could accept. Use this format:\n{fmt}",
        "state": "Topic: {topic}\nYou now propose this guideline: {guideline}\nState your proposal to the other side in one or two sentences.",
        "final": "Topic: {topic}\nThe negotiation ended with these weighted guidelines:\n{tables}\nWrite your consensus statement (at most {words} words): the common ground agreed, what you conceded, and how the values of all sides were integrated.",
        "memory": "Negotiation so far:\n{lines}\n",
        "weights": "Round {round}, {agent}: {items}",
    },
    "zh": {
        "opening": "议题：{topic}\n请以你所代表的人群的立场表态。严格按以下格式回答：\n{fmt}\n观点：<两三句话>",
        "weakness": "议题：{topic}\n{memory}对方支持度最高的准则：\n{items}\n请从你的文化视角指出它们的弱点：自相矛盾之处、边界不清之处、与你的价值观冲突之处以及实施上的困难。请简要回答。",
        "gaps": "议题：{topic}\n对方的全部准则：\n{items}\n请列出3到5个盲点：对你所代表的人群重要、而这些准则没有涉及的问题。请简要回答。",
        "counter": "议题：{topic}\n{memory}你的初始观点：{opinion}\n对方准则的弱点：\n{analysis}\n请写出两条反提案准则，在保留你的价值观的同时弥补这些弱点。每条都用以下格式：\n{fmt}",
        "gap": "议题：{topic}\n{memory}你的初始观点：{opinion}\n对方准则的盲点：\n{analysis}\n请写出一条填补这些盲点的准则，格式如下：\n{fmt}",
        "innovate": "议题：{topic}\n{memory}你的初始观点：{opinion}\n对方支持度最高的准则：\n{items}\n请写出一条双方都能接受的、新的、有创意的准则，格式如下：\n{fmt}",
        "state": "议题：{topic}\n你现在提出这条准则：{guideline}\n请用一两句话向对方陈述你的提议。",
        "final": "议题：{topic}\n协商结束时各方准则及其权重如下：\n{tables}\n请写出你的共识声明（不超过{words}字）：双方达成的共同点、你做出的让步，以及各方价值观是如何融合的。",
        "memory": "协商记录：\n{lines}\n",
        "weights": "第{round}轮，{agent}：{items}",
    },
}
_FIELDS = {
    "content": r"(?:guideline|content|准则|内容)",
    "reason": r"(?:reason|理由)",
    "description": r"(?:description|detail|说明|描述)",
    "opinion": r"(?:opinion|观点)",
}
_LINE = re.compile(
    r"^\s*(?:[-*\d.)]+\s*)?\**\s*(guideline|content|准则|内容|reason|理由|description|detail|说明|描述|opinion|观点)"
    r"\s*(?:\d+\s*)?\**\s*[:：]\s*\**\s*(.*)$",
    re.IGNORECASE,
)
_KEY = {
    "guideline": "content",
    "content": "content",
    "准则": "content",
    "内容": "content",
    "reason": "reason",
    "理由": "reason",
    "description": "description",
    "detail": "description",
    "说明": "description",
    "描述": "description",
    "opinion": "opinion",
    "观点": "opinion",
}


def _strip(text: str) -> str:
    return text.strip().strip("*\"'“”「」<>").strip()


def parse_guidelines(text: str) -> tuple[list[Guideline], str]:
    """Guidelines in the labelled format, and the ``Opinion:`` text if any.

    A new ``Guideline:`` line starts a new guideline. A reply without any ``Guideline:`` line
    becomes one unparsed guideline whose content is its first sentence.
    """
    blocks: list[dict[str, str]] = []
    opinion: list[str] = []
    current_key = None
    for line in text.splitlines():
        m = _LINE.match(line)
        if m:
            key = _KEY[m.group(1).lower()]
            value = _strip(m.group(2))
            if key == "content" or (not blocks and key != "opinion"):
                blocks.append({})
            if key == "opinion":
                opinion.append(value)
            else:
                blocks[-1][key] = value
            current_key = key
        elif line.strip() and current_key:
            if current_key == "opinion":
                opinion.append(line.strip())
            elif blocks and current_key in ("reason", "description"):
                blocks[-1][current_key] = (
                    blocks[-1].get(current_key, "") + " " + line.strip()
                ).strip()
    out = [
        Guideline(b["content"], b.get("reason", ""), b.get("description", ""))
        for b in blocks
        if b.get("content")
    ]
    if not out:
        first = clean_statement(text)
        out = [Guideline(first, "", "", parsed=False)]
    return out, " ".join(opinion).strip()


def should_stop(
    utilities: Sequence[Sequence[float]],
    newest_similarity: Sequence[float | None],
    *,
    epsilon: float = 0.02,
    epsilon_similar: float = 0.04,
    similar_above: float = 0.8,
    signed: bool = False,
) -> bool:
    """The reference stopping rule, checked after a round.

    ``utilities[i]`` is agent i's best-response utility per round so far; ``newest_similarity[i]``
    the similarity of its two newest guidelines (None with fewer than two). Stops from the second
    round on when every agent's ``|U(t) - U(t-1)|`` is below its epsilon (``epsilon_similar``
    when the two newest guidelines are more similar than ``similar_above``). ``signed`` uses
    ``U(t) - U(t-1)`` like the reference code, so any drop also stops the run.
    """
    if not utilities or any(len(u) < 2 for u in utilities):
        return False
    for u, s in zip(utilities, newest_similarity, strict=True):
        eps = epsilon_similar if s is not None and s > similar_above else epsilon
        diff = u[-1] - u[-2]
        if (diff if signed else abs(diff)) >= eps:
            return False
    return True


def _limit_words(text: str, words: int) -> str:
    text = text.strip()
    if re.search(r"[\u4e00-\u9fff]", text):
        return text[: words * 2]
    parts = text.split()
    return " ".join(parts[:words])


async def _ask(backend: ChatBackend, system: str, user: str, config: GenerateConfig) -> str:
    messages: list[Message] = [
        {"role": "system", "content": system},
        {"role": "user", "content": user},
    ]
    return (await backend.generate(messages, config)).text.strip()


async def negotiate_reference(
    topic: str,
    agents: list[Agent],
    similarity: Callable[[str, str], float],
    *,
    language: str = "en",
    settings: ReferenceSettings | None = None,
    seed: int = 0,
    on_event: Callable[[dict], None] | None = None,
) -> NegotiationResult:
    """One negotiation with the reference protocol (see the module docstring)."""
    if len(agents) < 2:
        raise ValueError("a negotiation needs at least two agents")
    s = settings or ReferenceSettings()
    t = P[language]
    fmt = FORMAT[language]
    n = len(agents)
    events: list[dict] = []

    def emit(event: dict) -> None:
        events.append(event)
        if on_event:
            on_event(event)

    cache: dict[tuple[str, str], float] = {}

    def sim(x: str, y: str) -> float:
        key = (x, y) if x <= y else (y, x)
        if key not in cache:
            cache[key] = 1.0 if x == y else float(similarity(x, y))
        return cache[key]

    def cfg(temperature: float, max_tokens: int | None = None) -> GenerateConfig:
        # One seed for every call: the prompts already differ (so do their cache keys), and
        # equal settings let a local backend batch the agents' concurrent calls (and other
        # topics' calls) into one generation.
        return GenerateConfig(
            max_tokens=max_tokens or s.max_tokens,
            temperature=temperature,
            seed=seed,
            prefix_chars=SHARED_PREFIX,
        )

    # -- openings (the agents write theirs concurrently)
    pools: list[list[Guideline]] = []
    consist: list[list[float]] = []
    novel: list[list[float]] = []
    opinions: list[str] = []
    opening_raw = await asyncio.gather(
        *(
            _ask(a.backend, a.system(language), t["opening"].format(topic=topic, fmt=fmt), cfg(0.0))
            for a in agents
        )
    )
    for a, raw in zip(agents, opening_raw, strict=True):
        gs, opinion = parse_guidelines(raw)
        opinion = opinion or clean_statement(raw)
        pools.append([gs[0]])
        consist.append([0.0])
        novel.append([1.0])
        opinions.append(opinion)
        emit(
            {
                "type": "opening",
                "round": -1,
                "agent": a.id,
                "text": opinion,
                "guideline": asdict(gs[0]),
                "raw": raw,
            }
        )

    def payoffs() -> list[np.ndarray]:
        shape = tuple(len(p) for p in pools)
        tensors = [np.zeros(shape) for _ in range(n)]
        for idx in np.ndindex(*shape):
            for i in range(n):
                g = pools[i][idx[i]].text()
                acc = np.mean([sim(g, pools[j][idx[j]].text()) for j in range(n) if j != i])
                tensors[i][idx] = acc + consist[i][idx[i]] + novel[i][idx[i]]
        return tensors

    def utility(i: int, g: Guideline, weights: list[np.ndarray]) -> dict:
        text = g.text()
        c = sim(text, opinions[i])
        accs = []
        for j in range(n):
            if j == i:
                continue
            w = weights[j]
            total = float(w.sum()) or 1.0
            accs.append(
                sum(float(w[k]) / total * sim(text, h.text()) for k, h in enumerate(pools[j]))
            )
        a = float(np.mean(accs))
        nv = 1.0 - max(sim(text, h.text()) for h in pools[i])
        u = s.w_consist * c + s.w_accept * a + s.w_novel * nv
        return {
            "consist": round(c, 6),
            "accept": round(a, 6),
            "novel": round(nv, 6),
            "utility": round(u, 6),
        }

    memory: list[str] = []
    previous: list[np.ndarray] | None = None
    history: list[RoundRecord] = []
    best_utilities: list[list[float]] = [[] for _ in range(n)]
    reason = "max_rounds"
    converged = False
    weights: list[np.ndarray] = [np.ones(1) for _ in range(n)]
    for r in range(s.rounds):
        tensors = payoffs()
        solved, _ = mirror_descent(tensors, eta=s.eta, iterations=s.md_iterations, tol=s.md_tol)
        weights = [explore_mix(x, s.explore) for x in solved]
        for i, a in enumerate(agents):
            items = []
            for k, g in enumerate(pools[i]):
                before = (
                    float(previous[i][k]) if previous is not None and k < len(previous[i]) else None
                )
                change = "" if before is None else f" ({weights[i][k] - before:+.2f})"
                items.append(f"'{g.content}' {weights[i][k]:.2f}{change}")
            memory.append(t["weights"].format(round=r + 1, agent=a.id, items="; ".join(items)))
        previous = weights
        mem = t["memory"].format(lines="\n".join(memory[-s.memory_lines :]))
        norm = [w / (w.sum() or 1.0) for w in weights]
        values = [float(v) for v in _expected(tensors, norm)]
        record = RoundRecord(
            r,
            [len(p) for p in pools],
            [w.tolist() for w in weights],
            [round(v, 6) for v in values],
            round(nash_conv(tensors, norm), 6),
        )
        snapshot = [list(p) for p in pools]

        async def oracle(
            i: int,
            a: Agent,
            r: int = r,
            weights: list[np.ndarray] = weights,
            snapshot: list[list[Guideline]] = snapshot,
            mem: str = mem,
        ) -> tuple[list[dict], list, tuple]:
            """Agent i's best response this round: (its events, its scored candidates, (mode,
            best, utility)). The agents' oracles run concurrently, as in the reference."""
            system = a.system(language)
            opp = [j for j in range(n) if j != i]
            top = [
                snapshot[j][k]
                for j in opp
                for k in np.argsort(-weights[j], kind="stable")[: s.top_k]
            ]
            items_top = "\n".join(f"- {g.content} ({g.reason})" for g in top)
            items_all = "\n".join(f"- {g.content} ({g.reason})" for j in opp for g in snapshot[j])
            own: list[dict] = []
            weakness, gaps = await asyncio.gather(
                _ask(
                    a.backend,
                    system,
                    t["weakness"].format(topic=topic, memory=mem, items=items_top),
                    cfg(0.3),
                ),
                _ask(a.backend, system, t["gaps"].format(topic=topic, items=items_all), cfg(0.3)),
            )
            own.append(
                {"type": "analysis", "round": r, "agent": a.id, "weakness": weakness, "gaps": gaps}
            )
            calls = (
                (
                    "counter",
                    0.6,
                    t["counter"].format(
                        topic=topic, memory=mem, opinion=opinions[i], analysis=weakness, fmt=fmt
                    ),
                ),
                (
                    "gap",
                    0.6,
                    t["gap"].format(
                        topic=topic, memory=mem, opinion=opinions[i], analysis=gaps, fmt=fmt
                    ),
                ),
                (
                    "innovate",
                    0.8,
                    t["innovate"].format(
                        topic=topic, memory=mem, opinion=opinions[i], items=items_top, fmt=fmt
                    ),
                ),
            )
            raws = await asyncio.gather(
                *(_ask(a.backend, system, prompt, cfg(temp)) for _, temp, prompt in calls)
            )
            candidates: list[tuple[str, Guideline]] = []
            for (mode, _, _), raw in zip(calls, raws, strict=True):
                gs, _ = parse_guidelines(raw)
                for g in gs[: 2 if mode == "counter" else 1]:
                    candidates.append((mode, g))
            scored = [(mode, g, utility(i, g, weights)) for mode, g in candidates]
            for mode, g, u in scored:
                own.append(
                    {
                        "type": "proposal",
                        "round": r,
                        "agent": a.id,
                        "mode": mode,
                        "text": g.content,
                        "guideline": asdict(g),
                        **u,
                    }
                )
            mode, best, u = max(scored, key=lambda c: c[2]["utility"])
            statement = clean_statement(
                await _ask(
                    a.backend,
                    system,
                    t["state"].format(topic=topic, guideline=best.content),
                    cfg(0.0),
                )
            )
            own.append(
                {
                    "type": "best_response",
                    "round": r,
                    "agent": a.id,
                    "mode": mode,
                    "guideline": asdict(best),
                    "statement": statement,
                    **u,
                }
            )
            return own, scored, (mode, best, u)

        added: list[tuple[Guideline, dict]] = []
        # events are emitted in agent order once every oracle is done (a stable transcript)
        for i, (own, scored, (_, best, u)) in enumerate(
            await asyncio.gather(*(oracle(i, a) for i, a in enumerate(agents)))
        ):
            for event in own:
                emit(event)
            record.candidates.append(
                [{"candidate": g.content, "mode": m, **uu} for m, g, uu in scored]
            )
            best_utilities[i].append(u["utility"])
            added.append((best, u))
            record.gains.append(u["utility"])
        for i, (g, u) in enumerate(added):
            pools[i].append(g)
            consist[i].append(u["consist"])
            novel[i].append(u["novel"])
        record.added = [g.content for g, _ in added]
        history.append(record)
        emit(
            {
                "type": "round",
                "round": r,
                "pool_sizes": record.pool_sizes,
                "mixtures": record.mixtures,
                "expected_utilities": record.expected_utilities,
                "best_response_utilities": [u[-1] for u in best_utilities],
                "nash_conv": record.nash_conv,
                "added": record.added,
            }
        )
        newest = [sim(p[-1].text(), p[-2].text()) if len(p) >= 2 else None for p in pools]
        if should_stop(
            best_utilities,
            newest,
            epsilon=s.epsilon,
            epsilon_similar=s.epsilon_similar,
            similar_above=s.similar_above,
            signed=s.signed_stop,
        ):
            converged, reason = True, "utility_stable"
            break
    tensors = payoffs()
    solved, _ = mirror_descent(tensors, eta=s.eta, iterations=s.md_iterations, tol=s.md_tol)
    weights = [explore_mix(x, s.explore) for x in solved]
    norm = [w / (w.sum() or 1.0) for w in weights]
    emit(
        {
            "type": "final_game",
            "pools": [[asdict(g) for g in p] for p in pools],
            "mixtures": [w.tolist() for w in weights],
            "payoffs": [p.round(6).tolist() for p in tensors],
            "nash_conv": round(nash_conv(tensors, norm), 6),
            "stop_reason": reason,
        }
    )
    tables = "\n".join(
        f"{a.id}: "
        + "; ".join(f"'{g.content}' {w:.2f}" for g, w in zip(pools[i], weights[i], strict=True))
        for i, a in enumerate(agents)
    )
    finals = []
    final_raw = await asyncio.gather(
        *(
            _ask(
                a.backend,
                a.system(language),
                t["final"].format(topic=topic, tables=tables, words=s.final_words),
                cfg(0.0, s.final_max_tokens),
            )
            for a in agents
        )
    )
    for a, raw in zip(agents, final_raw, strict=True):
        text = _limit_words(
            re.sub(r"^\s*(?:consensus statement|共识声明)\s*[:：]\s*", "", raw, flags=re.I),
            s.final_words,
        )
        finals.append(text or "(no statement)")
        emit({"type": "final", "agent": a.id, "text": finals[-1]})
    psro = PSROResult(
        [[g.content for g in p] for p in pools], norm, tensors, history, converged, reason
    )
    return NegotiationResult(
        topic, language, [a.id for a in agents], opinions, finals, psro, events
    )


def _expected(tensors: list[np.ndarray], mixtures: list[np.ndarray]) -> list[float]:
    from valuealign.consensus.solvers import expected_payoffs

    return list(expected_payoffs(tensors, mixtures))
