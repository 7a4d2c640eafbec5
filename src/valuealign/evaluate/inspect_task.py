"""The benchmark as an Inspect AI task (optional extra: ``pip install 'valuealign[inspect]'``).

Runs vcbench with any Inspect model and the same judge code and rubric as ``valuealign eval``;
the judge is the model bound to the ``grader`` role (or the evaluated model when none is bound).
A verdict the judge does not clearly give is an unscored sample (``grader_failed``), never 0.

    inspect eval src/valuealign/evaluate/inspect_task.py@vcbench \\
        --model openai/gpt-4o-mini --model-role grader=openai/gpt-4o -T languages=zh,en
"""

from __future__ import annotations

from typing import Any

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import (
    ChatMessageAssistant,
    ChatMessageSystem,
    ChatMessageUser,
    Model,
    get_model,
)
from inspect_ai.model import GenerateConfig as InspectGenerateConfig
from inspect_ai.scorer import Score, Scorer, Target, mean, scorer, stderr
from inspect_ai.solver import TaskState, generate

from valuealign.backends import Completion, GenerateConfig, Message
from valuealign.charter import DEFAULT_CHARTER, load_charter
from valuealign.evaluate.benchmark import BenchmarkItem, load_benchmark
from valuealign.evaluate.judge import Judge
from valuealign.evaluate.runner import _slice


class InspectBackend:
    """Our backend protocol over an Inspect ``Model``, so the judge code is shared."""

    supports_logprobs = False

    def __init__(self, model: Model) -> None:
        self.model = model
        self.name = f"inspect/{model}"

    async def generate(self, messages: list[Message], config: GenerateConfig) -> Completion:
        kinds: dict[str, Any] = {
            "system": ChatMessageSystem,
            "user": ChatMessageUser,
            "assistant": ChatMessageAssistant,
        }
        chat = [kinds[m["role"]](content=m["content"]) for m in messages]
        out = await self.model.generate(
            chat,
            config=InspectGenerateConfig(
                max_tokens=config.max_tokens, temperature=config.temperature, seed=config.seed
            ),
        )
        usage = out.usage
        return Completion(
            text=out.completion,
            finish_reason=out.stop_reason,
            prompt_tokens=usage.input_tokens if usage else 0,
            completion_tokens=usage.output_tokens if usage else 0,
            model=str(self.model),
        )


def vcbench_samples(
    benchmark: str, languages: list[str], per_subdomain: int | None
) -> list[Sample]:
    bench = load_benchmark(benchmark)
    return [
        Sample(
            id=f"{item.id}-{lang}",
            input=item.question.get(lang),
            metadata={
                "item": item.model_dump(),
                "language": lang,
                "subdomain": item.subdomain,
                "kind": item.kind,
            },
        )
        for item in _slice(bench.items, per_subdomain)
        for lang in languages
    ]


@scorer(metrics=[mean(), stderr()])
def charter_judge(charter: str = DEFAULT_CHARTER, max_parse_retries: int = 2) -> Scorer:
    loaded = load_charter(charter)

    async def score(state: TaskState, target: Target) -> Score:
        grader = get_model(role="grader")
        judge = Judge(
            InspectBackend(grader), loaded, salt="inspect", max_parse_retries=max_parse_retries
        )
        item = BenchmarkItem.model_validate(state.metadata["item"])
        answer = state.output.completion
        result = await judge.score(item, state.metadata["language"], answer)
        meta = {"raw": result.raw, "refusal": result.refusal, "attempts": result.attempts}
        if result.score is None:
            return Score.unscored(
                reason="grader_failed", answer=answer, explanation=result.parse_error, metadata=meta
            )
        return Score(value=result.score, answer=answer, explanation=result.reason, metadata=meta)

    return score


@task
def vcbench(
    languages: str = "zh,en",
    per_subdomain: int | None = None,
    benchmark: str = "builtin:vcbench",
    charter: str = DEFAULT_CHARTER,
) -> Task:
    langs = [x.strip() for x in languages.split(",") if x.strip()]
    load_benchmark(benchmark).check(load_charter(charter), langs)
    return Task(
        dataset=MemoryDataset(vcbench_samples(benchmark, langs, per_subdomain), name="vcbench"),
        solver=generate(),
        scorer=charter_judge(charter),
    )
