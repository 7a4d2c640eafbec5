"""VISA: value injection via shielded adaptation (detect -> translate -> rewrite -> shield).

A frozen model's answer is moved toward a target value profile without losing its meaning:

* :mod:`~valuealign.visa.translator`: persona text -> :class:`ValueTarget` (rules or an LLM),
  and a value gap -> a concrete rewrite instruction (zh/en);
* :mod:`~valuealign.visa.loop`: the closed loop with the similarity/fact shield, resumable over
  many inputs (``valuealign rewrite``);
* :mod:`~valuealign.visa.reward`: the composite GRPO reward (value precision, drift, semantic
  integrity, format, content gate) and TRL reward functions;
* :mod:`~valuealign.visa.dataset`: the rewriter's GRPO training data;
* :mod:`~valuealign.visa.evaluation`: original vs prompting baseline vs VISA under an
  independent detector (``valuealign eval-rewrite``).

Importing this package does not import torch.

>>> from valuealign.visa import translate_persona, score
>>> t = translate_persona("someone who prizes tradition and security")
>>> str(t)
'security=+1,tradition=+1'
"""

from valuealign.visa._values import ValueTarget, get_value_detector, parse_target
from valuealign.visa.dataset import (
    DEFAULT_PERSONAS,
    QueryItem,
    abuild_rewriter_dataset,
    build_rewriter_dataset,
    default_queries,
)
from valuealign.visa.evaluation import EvalRewriteSettings, arun_eval_rewrite, run_eval_rewrite
from valuealign.visa.loop import VisaLoop, VisaSettings, arun_rewrite, run_rewrite
from valuealign.visa.prompts import persona_messages, rewrite_messages
from valuealign.visa.records import (
    BaselineRecord,
    RewriteInput,
    RewriteRecord,
    VisaStep,
    load_inputs,
)
from valuealign.visa.reward import (
    RewardBreakdown,
    RewardFunction,
    RewardWeights,
    VisaReward,
    score,
    trl_reward_functions,
    trl_reward_weights,
)
from valuealign.visa.translator import (
    LLMTranslator,
    describe_target,
    gap_instruction,
    is_explicit_target,
    resolve_target,
    translate_persona,
)

__all__ = [
    "DEFAULT_PERSONAS",
    "BaselineRecord",
    "EvalRewriteSettings",
    "LLMTranslator",
    "QueryItem",
    "RewardBreakdown",
    "RewardFunction",
    "RewardWeights",
    "RewriteInput",
    "RewriteRecord",
    "ValueTarget",
    "VisaLoop",
    "VisaReward",
    "VisaSettings",
    "VisaStep",
    "abuild_rewriter_dataset",
    "arun_eval_rewrite",
    "arun_rewrite",
    "build_rewriter_dataset",
    "default_queries",
    "describe_target",
    "gap_instruction",
    "get_value_detector",
    "is_explicit_target",
    "load_inputs",
    "parse_target",
    "persona_messages",
    "resolve_target",
    "rewrite_messages",
    "run_eval_rewrite",
    "run_rewrite",
    "score",
    "translate_persona",
    "trl_reward_functions",
    "trl_reward_weights",
]
