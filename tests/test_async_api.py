"""The Python API in a notebook: inside a running event loop the sync entry points refuse before
writing anything, and the async variants do the work."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from valuealign.backends import FunctionBackend, register_mock, unregister_mock
from valuealign.errors import UserError


@pytest.fixture
def judge():
    register_mock(
        "a-judge", FunctionBackend(lambda m, c: "REASON: ok.\nVERDICT: [[4]]", name="mock/a-judge")
    )
    yield "mock/a-judge"
    unregister_mock("a-judge")


def test_eval_in_a_running_loop(tmp_path: Path, judge: str) -> None:
    from valuealign.evaluate import EvalSettings, arun_eval, run_eval
    from valuealign.runs import LanguageScores, ScoresSummary

    settings = EvalSettings(
        models=["mock/echo"],
        judges=[judge],
        subdomains=["human-rights"],
        per_subdomain=1,
        languages=["en"],
        benign=None,
        consistency=False,
    )
    out = tmp_path / "e"

    async def notebook_cell() -> ScoresSummary:
        with pytest.raises(UserError, match=r"await arun_eval\(") as info:
            run_eval(out, settings, progress=False)
        assert "nothing was written" in str(info.value)
        assert not out.exists()
        return await arun_eval(out, settings, progress=False)

    scores = asyncio.run(notebook_cell())
    # typed: the run's scores as a model, the same numbers as scores.json
    assert isinstance(scores, ScoresSummary)
    en = scores.per_model["mock/echo"].languages["en"]
    assert isinstance(en, LanguageScores) and scores.scores("mock/echo", "en") is en
    assert en.mean == 4.0 and en.n == 1 and en.total == 4 and en.max_total == 5  # judge says 4
    assert scores.failures["answers"].failed == 0 and scores.judges == [judge]
    on_disk = json.loads((out / "scores.json").read_text())
    assert scores.model_dump(mode="json", exclude_unset=True) == on_disk
    with pytest.raises(KeyError, match="no scores for 'mock/echo' in 'zh'"):
        scores.scores("mock/echo", "zh")
    lines = (out / "judgements.jsonl").read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["score"] == 4


def test_generate_and_consensus_in_a_running_loop(tmp_path: Path) -> None:
    from valuealign.consensus.runner import ConsensusSettings, arun_consensus, run_consensus
    from valuealign.generate import GenerateSettings, agenerate, run_generate
    from valuealign.runs import ConsensusResult, GenerateStats

    settings = GenerateSettings(n=2, attacker="mock/echo", actor="mock/echo", critic="mock/echo")
    csettings = ConsensusSettings(
        zones=["confucian", "protestant-europe"], model="mock/echo", rounds=2, similarity="tfidf"
    )
    topics = [{"id": "t", "en": "Should we?", "zh": "我们应该吗？"}]

    async def notebook_cell() -> tuple[GenerateStats, ConsensusResult]:
        with pytest.raises(UserError, match=r"await agenerate\("):
            run_generate(tmp_path / "g", settings, progress=False)
        with pytest.raises(UserError, match=r"await arun_consensus\("):
            run_consensus(tmp_path / "c", csettings, topics)
        assert not (tmp_path / "g").exists() and not (tmp_path / "c").exists()
        stats = await agenerate(tmp_path / "g", settings, progress=False)
        metrics = await arun_consensus(tmp_path / "c", csettings, topics, progress=False)
        return stats, metrics

    stats, metrics = asyncio.run(notebook_cell())
    assert isinstance(stats, GenerateStats) and stats.counts.planned == 2
    on_disk = json.loads((tmp_path / "g" / "stats.json").read_text())
    assert stats.counts.model_dump() == on_disk["counts"]
    assert stats.failures.planned == 2 and stats.failures.failed == on_disk["failures"]["failed"]
    assert isinstance(metrics, ConsensusResult)
    assert metrics.summary.topics == 1 and list(metrics.topics) == ["t"]
    on_disk = json.loads((tmp_path / "c" / "metrics.json").read_text())
    assert metrics.summary.mean_rounds_used == on_disk["summary"]["mean_rounds_used"] >= 1
    assert metrics.failures.planned == 1 and metrics.failures.failed == 0


def test_jobs_without_an_async_form_refuse_a_running_loop_and_name_a_thread(
    tmp_path: Path,
) -> None:
    from valuealign.demo import run_demo
    from valuealign.evaluate.judgecheck import run_judge_check

    async def notebook_cell() -> str:
        with pytest.raises(UserError, match=r"asyncio\.to_thread\(run_judge_check"):
            run_judge_check("mock/echo", cache_dir=tmp_path / "j")
        with pytest.raises(UserError, match=r"run_demo\(\) cannot run inside") as info:
            run_demo(tmp_path / "d", model="mock/echo", progress=False, stages=("ask",))
        assert not (tmp_path / "j").exists() and not (tmp_path / "d").exists()
        # the way the message names works
        await asyncio.to_thread(
            run_demo, tmp_path / "d", model="mock/echo", progress=False, stages=("ask",)
        )
        return str(info.value)

    message = asyncio.run(notebook_cell())
    assert "nothing was written" in message
    assert (tmp_path / "d" / "answers.jsonl").exists()
