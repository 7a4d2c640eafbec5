"""Baselines the consensus paper compares with: multi-agent debate and consultancy.

Both start from the same opening opinions as the negotiation (so every method is scored against
the same "before"), and end with one statement per agent:

* **debate** (Du et al. style): for ``rounds`` rounds every agent reads the others' latest
  answers and revises its own; its last answer is its final statement;
* **consultancy**: every agent states its position (its opening), then revises it once given the
  other agents' values (their culture profiles' value priorities) and positions.

One-shot (a neutral model writes one guideline) and the Schulze vote over neutral candidates stay
in :mod:`valuealign.consensus.negotiation`; their single statement stands for every agent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from valuealign.backends import GenerateConfig
from valuealign.consensus.negotiation import Agent
from valuealign.consensus.reference import SHARED_PREFIX, _ask, _limit_words

T = {
    "en": {
        "debate": "Topic: {topic}\nYour previous answer: {own}\nThe other participants answered:\n{others}\nUsing their answers as additional advice, give your revised answer on the topic in at most {words} words. Output only the answer.",
        "consult": "Topic: {topic}\nYour position: {own}\nThe other side's values and position:\n{others}\nRevise your position so that it also respects the other side's values, in at most {words} words. Output only the revised position.",
        "values": "{name} (values: {priorities}): {position}",
    },
    "zh": {
        "debate": "议题：{topic}\n你之前的回答：{own}\n其他参与者的回答：\n{others}\n请把他们的回答作为参考，给出你修改后的回答（不超过{words}字）。只输出回答。",
        "consult": "议题：{topic}\n你的立场：{own}\n对方的价值观与立场：\n{others}\n请修改你的立场，使其也尊重对方的价值观（不超过{words}字）。只输出修改后的立场。",
        "values": "{name}（价值观：{priorities}）：{position}",
    },
}


async def debate(
    topic: str,
    agents: list[Agent],
    openings: list[str],
    *,
    language: str = "en",
    rounds: int = 2,
    words: int = 100,
    max_tokens: int = 200,
    seed: int = 0,
) -> tuple[list[str], list[list[str]]]:
    """Final statements and every round's answers (round 0 = the openings)."""
    t = T[language]
    answers = list(openings)
    history = [list(answers)]
    for r in range(rounds):
        prompts = [
            t["debate"].format(
                topic=topic,
                own=answers[i],
                others=_others(agents, i, lambda j, said=answers: f"{agents[j].id}: {said[j]}"),
                words=words,
            )
            for i in range(len(agents))
        ]
        # the agents answer each round concurrently (a local backend batches them)
        answers = list(
            await asyncio.gather(
                *(
                    _revise(a, language, prompt, answers[i], words, max_tokens, seed + r)
                    for i, (a, prompt) in enumerate(zip(agents, prompts, strict=True))
                )
            )
        )
        history.append(list(answers))
    return answers, history


async def consultancy(
    topic: str,
    agents: list[Agent],
    openings: list[str],
    *,
    language: str = "en",
    words: int = 100,
    max_tokens: int = 200,
    seed: int = 0,
) -> list[str]:
    t = T[language]

    def position(j: int) -> str:
        profile = agents[j].profile
        return t["values"].format(
            name=profile._text(profile.name, language),
            priorities="; ".join(profile._text(profile.priorities, language)),
            position=openings[j],
        )

    prompts = [
        t["consult"].format(
            topic=topic, own=openings[i], others=_others(agents, i, position), words=words
        )
        for i in range(len(agents))
    ]
    return list(
        await asyncio.gather(
            *(
                _revise(a, language, prompt, openings[i], words, max_tokens, seed)
                for i, (a, prompt) in enumerate(zip(agents, prompts, strict=True))
            )
        )
    )


def _others(agents: list[Agent], i: int, line: Callable[[int], str]) -> str:
    """One ``- line`` per agent other than agent ``i``."""
    return "\n".join(f"- {line(j)}" for j in range(len(agents)) if j != i)


async def _revise(
    agent: Agent, language: str, prompt: str, own: str, words: int, max_tokens: int, seed: int
) -> str:
    """The agent's revised statement in at most ``words`` words (``own`` if it said nothing)."""
    raw = await _ask(
        agent.backend,
        agent.system(language),
        prompt,
        GenerateConfig(
            max_tokens=max_tokens, temperature=0.0, seed=seed, prefix_chars=SHARED_PREFIX
        ),
    )
    return _limit_words(raw, words) or own
