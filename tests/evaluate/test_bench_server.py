"""The evaluation benchmark's fake server (``--answers per-model``): every model gets answers
of its own, so the judge's requests for one model are not cache hits on another's."""

from __future__ import annotations

import json
from pathlib import Path

from valuealign.evaluate import EvalSettings, run_eval
from valuealign.testing.server import FakeOpenAIServer, canned_responder, per_model_responder


def _judge_requests(responder, tmp: Path, models: int = 2) -> tuple[int, dict]:
    with FakeOpenAIServer(responder=responder) as server:
        settings = EvalSettings(
            models=[f"openai/bench-{i}" for i in range(models)],
            judges=["openai/bench-judge"],
            per_subdomain=1,
            concurrency=8,
            max_tokens=64,
        )
        options = {"base_urls": [server.base_url], "api_key": "bench"}
        run_eval(tmp / "run", settings, backend_options=options, progress=False)
        manifest = json.loads((tmp / "run" / "manifest.json").read_text())
        judged = sum(r["model"] == "bench-judge" for r in server.requests)
    return judged, manifest


def test_per_model_answers_make_every_judge_request_real(tmp_path: Path) -> None:
    one, m_one = _judge_requests(per_model_responder, tmp_path / "one", models=1)
    own, m_own = _judge_requests(per_model_responder, tmp_path / "own")
    same, _ = _judge_requests(canned_responder, tmp_path / "same")
    assert m_own["counts"]["planned_answers"] == 2 * m_one["counts"]["planned_answers"] > 0
    # answers of its own: the server judges every model's answers, none is a cache hit
    assert own == 2 * one > 0
    # the same answers: judgements already made for the other model come from the cache (how
    # many depends on timing: a judge request sent before the identical one is cached is sent)
    assert same < own


def test_per_model_responder_names_the_model_only_in_answers() -> None:
    answer = {"model": "m1", "messages": [{"role": "user", "content": "What happened?"}]}
    judge = {"model": "j", "messages": [{"role": "user", "content": "Reply VERDICT: [[k]]"}]}
    assert per_model_responder(answer) == canned_responder(answer) + " (m1)"
    assert per_model_responder(judge) == canned_responder(judge)
