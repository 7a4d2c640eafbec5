"""The typed run records: one manifest header, old runs still readable, renamed keys caught."""

from __future__ import annotations

import json
import platform

import pytest
from pydantic import ValidationError

import valuealign
from valuealign.errors import UserError
from valuealign.runs import GenerateStats, ScoresSummary, manifest_header, read_manifest


def test_manifest_header_names_the_job_version_and_python() -> None:
    header = manifest_header("eval")
    assert header == {
        "schema_version": 1,
        "job": "eval",
        "valuealign_version": valuealign.__version__,
        "python": platform.python_version(),
    }
    assert manifest_header("consensus", started_at="2026-01-01T00:00:00Z")["started_at"] == (
        "2026-01-01T00:00:00Z"
    )


def test_old_manifests_are_read_with_their_old_version_keys(tmp_path) -> None:
    old_eval = tmp_path / "eval.json"
    old_eval.write_text(json.dumps({"job": "eval", "valuealign": "0.0.9", "counts": {"n": 3}}))
    m = read_manifest(old_eval)
    assert (m.job, m.valuealign_version, m.get("counts")) == ("eval", "0.0.9", {"n": 3})
    old_train = tmp_path / "train.json"
    old_train.write_text(
        json.dumps({"stage": "sft", "versions": {"valuealign": "0.0.8"}, "base_model": "hf/x"})
    )
    m = read_manifest(old_train)
    assert (m.job, m.valuealign_version, m.get("base_model")) == ("train", "0.0.8", "hf/x")


def test_unreadable_manifest_is_a_user_error_naming_the_file(tmp_path) -> None:
    bad = tmp_path / "manifest.json"
    bad.write_text("{not json")
    with pytest.raises(UserError, match=r"manifest\.json: not valid JSON"):
        read_manifest(bad)


def test_a_renamed_key_in_scores_or_stats_is_a_validation_error() -> None:
    scores = {
        "benchmark": "vcbench",
        "charter": "balanced-v1",
        "languages": ["zh"],
        "models": ["m"],
        "judges": ["j"],
        "per_model": {},
        "comparisons": [],
        "total_warnings": [],
        "judge_agreement": {},
        "parse_failures": {"j": 0},
        "subdomain_names": {},
        "domain_names": {},
    }
    assert ScoresSummary.model_validate(scores).judge_warnings == []
    renamed = {("per_models" if k == "per_model" else k): v for k, v in scores.items()}
    with pytest.raises(ValidationError, match="per_model"):
        ScoresSummary.model_validate(renamed)
    with pytest.raises(ValidationError, match="counts"):
        GenerateStats.model_validate({"count": {}})


def test_job_run_caches_requests_and_closes_its_cache_when_the_job_fails(tmp_path) -> None:
    import asyncio

    from valuealign.backends import FunctionBackend, GenerateConfig, user
    from valuealign.runs import JobRun

    calls: list[str] = []

    def reply(messages, config):
        calls.append(messages[-1]["content"])
        return "answer"

    backend = FunctionBackend(reply, name="mock/counting")
    with JobRun(tmp_path / "run") as run:
        model = run.cached(backend, "v1")
        for _ in range(2):
            asyncio.run(model.generate(user("q"), GenerateConfig(max_tokens=4)))
        run.write("manifest.json", {"started_at": run.started_at})
        assert run.seconds() >= 0
    assert calls == ["q"] and run.cache.hits == 1
    assert json.loads((tmp_path / "run" / "manifest.json").read_text())["started_at"]
    # a second run of the same folder gets the reply from disk; a failing job still closes it
    with pytest.raises(RuntimeError), JobRun(tmp_path / "run") as again:
        asyncio.run(again.cached(backend, "v1").generate(user("q"), GenerateConfig(max_tokens=4)))
        raise RuntimeError("the job failed")
    assert calls == ["q"] and again.cache.hits == 1
    assert getattr(again.cache._local, "conn", None) is None
