"""Adversarial data generation (VC-LLM): Attacker -> Actor -> Critic, at scale, resumable.

>>> from valuealign.generate import GenerateSettings, run_generate
>>> stats = run_generate("runs/r1", GenerateSettings(n=100, attacker="mock/...", actor="hf/smollm2-135m-instruct",
...                                                  critic="openai/judge"))
"""

from valuealign.generate.critic import Critic, parse_critic
from valuealign.generate.export import export_sft
from valuealign.generate.pipeline import GenerateSettings, agenerate, arun_generate, run_generate
from valuealign.generate.plan import PlannedItem, plan_items
from valuealign.generate.records import CriticScores, Failed, Rejected, Sample
from valuealign.generate.strategies import Strategy, register_strategy, resolve_strategies

__all__ = [
    "Critic",
    "CriticScores",
    "Failed",
    "GenerateSettings",
    "PlannedItem",
    "Rejected",
    "Sample",
    "Strategy",
    "agenerate",
    "arun_generate",
    "export_sft",
    "parse_critic",
    "plan_items",
    "register_strategy",
    "resolve_strategies",
    "run_generate",
]
