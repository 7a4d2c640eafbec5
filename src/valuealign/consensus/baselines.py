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

from valuealign.backends import GenerateConfig
from valuealign.consensus.negotiation import Agent
from valuealign.consensus.reference import _ask, _limit_words

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
        new = []
        for i, a in enumerate(agents):
            others = "\n".join(
                f"- {agents[j].id}: {answers[j]}" for j in range(len(agents)) if j != i
            )
            raw = await _ask(
                a.backend,
                a.system(language),
                t["debate"].format(topic=topic, own=answers[i], others=others, words=words),
                GenerateConfig(max_tokens=max_tokens, temperature=0.0, seed=seed + r),
            )
            new.append(_limit_words(raw, words) or answers[i])
        answers = new
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
    finals = []
    for i, a in enumerate(agents):
        others = "\n".join(
            "- "
            + t["values"].format(
                name=agents[j].profile._text(agents[j].profile.name, language),
                priorities="; ".join(
                    agents[j].profile._text(agents[j].profile.priorities, language)
                ),
                position=openings[j],
            )
            for j in range(len(agents))
            if j != i
        )
        raw = await _ask(
            a.backend,
            a.system(language),
            t["consult"].format(topic=topic, own=openings[i], others=others, words=words),
            GenerateConfig(max_tokens=max_tokens, temperature=0.0, seed=seed),
        )
        finals.append(_limit_words(raw, words) or openings[i])
    return finals
