"""The bilingual value-consistency benchmark: items, judge, statistics, runner.

>>> from valuealign.evaluate import EvalSettings, run_eval
>>> scores = run_eval("runs/eval", EvalSettings(models=["hf/smollm2-135m-instruct"],
...                                             judges=["openai/qwen2.5-72b"], per_subdomain=2))
"""

from valuealign.evaluate.benchmark import Benchmark, BenchmarkItem, load_benchmark
from valuealign.evaluate.judge import Judge, JudgeResult, parse_verdict
from valuealign.evaluate.records import ConsistencyJudgement, EvalAnswer, Judgement
from valuealign.evaluate.runner import EvalSettings, arun_eval, run_eval

__all__ = [
    "Benchmark",
    "BenchmarkItem",
    "ConsistencyJudgement",
    "EvalAnswer",
    "EvalSettings",
    "Judge",
    "JudgeResult",
    "Judgement",
    "arun_eval",
    "load_benchmark",
    "parse_verdict",
    "run_eval",
]
