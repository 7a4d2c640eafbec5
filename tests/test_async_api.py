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

    async def notebook_cell() -> dict:
        with pytest.raises(UserError, match=r"await arun_eval\(") as info:
            run_eval(out, settings, progress=False)
        assert "nothing was written" in str(info.value)
        assert not out.exists()
        return await arun_eval(out, settings, progress=False)

    scores = asyncio.run(notebook_cell())
    assert json.loads((out / "scores.json").read_text()) == json.loads(json.dumps(scores))
    lines = (out / "judgements.jsonl").read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["score"] == 4


def test_generate_and_consensus_in_a_running_loop(tmp_path: Path) -> None:
    from valuealign.consensus.runner import ConsensusSettings, arun_consensus, run_consensus
    from valuealign.generate import GenerateSettings, agenerate, run_generate

    settings = GenerateSettings(n=2, attacker="mock/echo", actor="mock/echo", critic="mock/echo")

    async def notebook_cell() -> dict:
        with pytest.raises(UserError, match=r"await agenerate\("):
            run_generate(tmp_path / "g", settings, progress=False)
        with pytest.raises(UserError, match=r"await arun_consensus\("):
            run_consensus(
                tmp_path / "c",
                ConsensusSettings(zones=["confucian", "protestant-europe"], model="mock/echo"),
                [{"id": "t", "en": "Should we?", "zh": "我们应该吗？"}],
            )
        assert not (tmp_path / "g").exists() and not (tmp_path / "c").exists()
        assert callable(arun_consensus)
        return await agenerate(tmp_path / "g", settings, progress=False)

    stats = asyncio.run(notebook_cell())
    assert stats["counts"]["planned"] == 2
    assert json.loads((tmp_path / "g" / "stats.json").read_text())["counts"] == stats["counts"]


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
