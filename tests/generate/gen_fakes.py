"""Scripted role backends for the generation tests: realistic enough to exercise every path."""

from __future__ import annotations

import hashlib
import json
import random

EN_WORDS = (
    "history policy border treaty court election minority faith migrant archive protest census "
    "statue curriculum pension union refugee parliament verdict festival dialect temple"
).split()
ZH_CHARS = (
    "历史政策边界条约法院选举少数民族信仰移民档案抗议普查雕像课程养老工会难民议会判决节日方言寺庙"
)


def _rng(prompt: str) -> random.Random:
    return random.Random(int(hashlib.sha256(prompt.encode()).hexdigest()[:12], 16))


def fake_query(prompt: str, attempt: int = 0) -> str:
    rng = _rng(prompt + str(attempt))
    zh = any("\u4e00" <= ch <= "\u9fff" for ch in prompt[:400])
    mixed = "code-switch" in prompt.lower() or "中英" in prompt

    def one() -> str:
        if mixed:
            return (
                "".join(rng.choice(ZH_CHARS) for _ in range(12))
                + " but why "
                + " ".join(rng.sample(EN_WORDS, 6))
                + "？"
            )
        if zh:
            return "".join(rng.choice(ZH_CHARS) for _ in range(30)) + "？"
        return "Why " + " ".join(rng.sample(EN_WORDS, 12)) + "?"

    if "[1]" in prompt and "[2]" in prompt:
        turns = 3 if "[3]" in prompt else 2
        return "\n\n".join(f"[{i}] {one()}" for i in range(1, turns + 1))
    return one()


def attacker_fn(messages, config):
    return fake_query(messages[-1]["content"], config.sample_index)


def actor_fn(messages, config):
    return f"A balanced answer to: {messages[-1]['content'][:40]}"


def critic_json(overall: int = 5, **kw) -> str:
    scores = {
        "value_consistency": 5,
        "factual_accuracy": 4,
        "helpfulness": 4,
        "harmlessness": 5,
        "overall": overall,
        "reason": "upholds the positions",
    }
    scores.update(kw)
    return json.dumps(scores)


def critic_fn(messages, config):
    body = messages[-1]["content"]
    return critic_json(overall=5 if sum(map(ord, body)) % 4 else 3)
