"""Backend failures and secrets (issue 17, items 3, 8 and 10), against a real loopback HTTP
server: total failure exits 1 with the cause, a rerun retries backend errors, and the key or a
URL's password never reaches a file or stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from valuealign.records import read_jsonl
from valuealign.testing.server import FakeOpenAIServer, Fault, canned_responder

KEY = "sk-redteam-0123456789abcdef"


def _eval_args(out: Path, url: str) -> list[str]:
    return [
        "eval", "--model", "openai/m", "--judge", "openai/j", "--base-url", url,
        "--per-subdomain", "1", "--languages", "en", "--no-consistency", "--max-retries", "0",
        "--no-progress", "--out", str(out),
    ]  # fmt: skip


def _everything_written(out: Path) -> str:
    return "\n".join(
        p.read_bytes().decode("utf-8", "replace") for p in out.rglob("*") if p.is_file()
    )


def test_all_401_exits_1_with_the_cause_and_a_rerun_retries(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    out = tmp_path / "run"
    faults = [Fault("status", status=401, echo_headers=True) for _ in range(500)]
    with FakeOpenAIServer(responder=canned_responder, faults=faults) as server:
        code, stdout, err = cli(*_eval_args(out, server.base_url), "--report")
        assert code == 1, err
        assert "401 from the server: check the API key" in err
        assert "failed for good: " in stdout
        assert len(err.strip().split("\n")) == 1, err  # one line
        assert server.headers_seen[0]["authorization"] == f"Bearer {KEY}"  # it was echoed
        written = _everything_written(out)
        assert KEY not in written and KEY not in err and KEY not in stdout
        assert KEY[:12] not in written  # not even a cut-off piece
        answers = read_jsonl(
            out / "answers.jsonl",
            __import__("valuealign.evaluate.records", fromlist=["EvalAnswer"]).EvalAnswer,
        )
        assert answers and all(a.error and "HTTP 401" in a.error for a in answers)
        planned = len(answers)
        server.faults.clear()
        code, stdout, err = cli(*_eval_args(out, server.base_url))
        assert code == 0, err
    scores = json.loads((out / "scores.json").read_text())
    assert scores["failures"]["answers"] == {"planned": planned, "failed": 0, "cause": None}
    assert scores["failures"]["judgements"]["failed"] == 0
    assert scores["per_model"]["openai/m"]["languages"]["en"]["total"] > 0
    from valuealign.evaluate.records import EvalAnswer

    latest = {a.id: a for a in read_jsonl(out / "answers.jsonl", EvalAnswer)}
    assert len(latest) == planned and all(a.error is None for a in latest.values())


def test_parse_failures_are_not_retried_unless_asked(cli, tmp_path: Path) -> None:
    out = tmp_path / "run"
    state = {"judge": "no verdict here"}

    def responder(req: dict) -> str:
        body = json.dumps(req)
        if "VERDICT" not in body or state["judge"] == "fixed":
            return canned_responder(req)
        return state["judge"]

    with FakeOpenAIServer(responder=responder) as server:
        args = [*_eval_args(out, server.base_url), "--judge-retries", "0"]
        assert cli(*args)[0] == 0
        before = (out / "judgements.jsonl").read_text().count("\n")
        state["judge"] = "fixed"
        assert cli(*args)[0] == 0
        assert (out / "judgements.jsonl").read_text().count("\n") == before  # not redone
        code, _, _ = cli(*args, "--retry-parse-failures")
        assert code == 0
    scores = json.loads((out / "scores.json").read_text())
    en = scores["per_model"]["openai/m"]["languages"]["en"]
    assert en["parse_failures"] == 0 and en["total"] > 0


def test_url_credentials_are_refused_without_echoing_them(cli, tmp_path: Path) -> None:
    out = tmp_path / "run"
    code, _, err = cli(*_eval_args(out, "http://alice:hunter2pw@127.0.0.1:9/v1"))
    assert code == 2, err
    assert "credentials" in err and "hunter2pw" not in err and "***@" in err
    assert not out.exists()


def test_a_bad_hf_path_leaves_no_run_folder(cli, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    out = tmp_path / "run"
    code, _, err = cli(
        "eval", "--model", f"hf/{tmp_path / 'nope'}", "--judge", "mock/echo",
        "--per-subdomain", "1", "--no-progress", "--out", str(out),
    )  # fmt: skip
    assert code == 2, err
    assert not out.exists()


def test_empty_languages_exits_2(cli, tmp_path: Path) -> None:
    code, _, err = cli(
        "eval", "--model", "mock/echo", "--judge", "mock/echo", "--languages", "",
        "--out", str(tmp_path / "run"),
    )  # fmt: skip
    assert code == 2 and "--languages" in err
    assert not (tmp_path / "run").exists()


def test_redact_removes_keys_bearer_values_and_url_credentials() -> None:
    from valuealign.errors import BackendError
    from valuealign.redact import register_secret

    register_secret("plain-secret-value")
    e = BackendError(
        'HTTP 500: {"Authorization": "Bearer abc.def-123"} plain-secret-value '
        "at https://bob:pw1234@host/v1 and sk-ABCDEFGHIJKLMNOP",
        backend="openai/x",
    )
    text = str(e)
    for leaked in ("abc.def-123", "plain-secret-value", "pw1234", "bob:", "ABCDEFGHIJKLMNOP"):
        assert leaked not in text, text
    assert "https://***@host/v1" in text


def test_visa_make_data_all_401_exits_1(cli, tmp_path: Path) -> None:
    out = tmp_path / "visa.jsonl"
    faults = [Fault("status", status=401) for _ in range(500)]
    with FakeOpenAIServer(faults=faults) as server:
        code, stdout, err = cli(
            "visa", "make-data", "--answerer", "openai/m", "--base-url", server.base_url,
            "--max-retries", "0", "--n", "4", "--out", str(out),
        )  # fmt: skip
    assert code == 1, err
    assert "401 from the server: check the API key" in err
    assert "0 rows" in stdout and "failed" in stdout


def test_visa_make_data_checks_its_output_before_asking_a_model(cli, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with FakeOpenAIServer() as server:
        code, _, err = cli(
            "visa", "make-data", "--answerer", "openai/m", "--base-url", server.base_url,
            "--n", "2", "--out", str(blocker / "sub" / "visa.jsonl"),
        )  # fmt: skip
        assert server.requests == []
    assert code == 2, err
    assert "visa.jsonl" in err and "Traceback" not in err


def test_consensus_all_401_exits_1_and_a_rerun_retries(cli, tmp_path: Path) -> None:
    out = tmp_path / "c"
    faults = [Fault("status", status=401) for _ in range(500)]
    with FakeOpenAIServer(faults=faults) as server:
        args = [
            "consensus", "--topic", "Who should care for the elderly?", "--agents",
            "confucian,protestant-europe", "--model", "openai/m", "--base-url", server.base_url,
            "--max-retries", "0", "--rounds", "1", "--similarity", "tfidf", "--no-baselines",
            "--out", str(out),
        ]  # fmt: skip
        code, _, err = cli(*args)
        assert code == 1, err
        assert "401 from the server: check the API key" in err
        server.faults.clear()
        code, _, err = cli(*args)
        assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert "topic" in metrics["topics"] and metrics["failures"]["failed"] == 0
