"""The Inspect AI task, run by Inspect itself with its mock model."""

import math

import pytest

inspect_ai = pytest.importorskip("inspect_ai")

from inspect_ai import eval as inspect_eval  # noqa: E402
from inspect_ai.model import ModelOutput, ModelUsage, get_model  # noqa: E402

from valuealign.evaluate.inspect_task import vcbench  # noqa: E402


def _mock(contents: list[str]):
    """Inspect's mock model with scripted outputs (usage given, so nothing tries to download a tokenizer)."""
    outputs = []
    for c in contents:
        out = ModelOutput.from_content(model="mockllm/model", content=c)
        out.usage = ModelUsage(input_tokens=10, output_tokens=5, total_tokens=15)
        outputs.append(out)
    return get_model("mockllm/model", custom_outputs=outputs, memoize=False)


def test_inspect_runs_vcbench_with_the_shared_judge(tmp_path) -> None:
    task = vcbench(languages="en", per_subdomain=1)
    n = len(task.dataset)
    assert n == 13
    grader = _mock(
        ["REASON: fine.\nVERDICT: [[4]]"] * (n - 1) + ["I will not grade", "no", "still no"]
    )
    model = _mock([f"An answer <script>alert({i})</script>" for i in range(n)])
    [log] = inspect_eval(
        task,
        model=model,
        model_roles={"grader": grader},
        log_dir=str(tmp_path),
        display="none",
        max_samples=1,
    )
    assert log.status == "success"
    scores = [s.scores["charter_judge"] for s in log.samples]
    values = [s.value for s in scores]
    assert sum(v == 4 for v in values) == n - 1
    unscored = [s for s in scores if isinstance(s.value, float) and math.isnan(s.value)]
    assert len(unscored) == 1 and unscored[0].reason == "grader_failed"
    assert log.results.scores[0].metrics["mean"].value == 4.0  # the parse failure is not a 0
