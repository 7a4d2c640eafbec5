"""One way to address servers: --ROLE-base-url / --ROLE-api-key-env in every command, and the
server that actually answered recorded in each record's provenance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from valuealign.testing import FakeOpenAIServer


def _judge_reply(req: dict) -> str:
    body = req["messages"][-1]["content"]
    if "SAME_STANCE" in body:
        return "REASON: same.\nSAME_STANCE: [[yes]]"
    flag = "REFUSAL: [[no]]\n" if "REFUSAL" in body else ""
    return f"REASON: fine.\n{flag}VERDICT: [[4]]"


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def test_eval_roles_go_to_their_own_servers_with_their_own_keys(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUDGE_KEY_FOR_TEST", "sk-judge-secret")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-default-secret")
    out = tmp_path / "e"
    with (
        FakeOpenAIServer(lambda req: "canned answer") as canned,
        FakeOpenAIServer(_judge_reply) as judge,
    ):
        code, _, err = cli(
            "eval",
            "--model", "openai/canned",
            "--model-base-url", canned.base_url,
            "--judge", "openai/qwen",
            "--judge-base-url", judge.base_url,
            "--judge-api-key-env", "JUDGE_KEY_FOR_TEST",
            "--per-subdomain", "1", "--subdomains", "sovereignty-territory",
            "--benign", "none", "--no-report", "--no-progress", "--max-retries", "0",
            "--out", str(out),
        )  # fmt: skip
        assert code == 0, err
        # the oracle: what each server itself saw
        assert canned.requests and {r["model"] for r in canned.requests} == {"canned"}
        assert judge.requests and {r["model"] for r in judge.requests} == {"qwen"}
        assert {h["authorization"] for h in judge.headers_seen} == {"Bearer sk-judge-secret"}
        assert {h["authorization"] for h in canned.headers_seen} == {"Bearer sk-default-secret"}
        answers = _lines(out / "answers.jsonl")
        judgements = _lines(out / "judgements.jsonl")
        assert answers and all(
            a["provenance"]["servers"] == {"model": canned.base_url} for a in answers
        )
        assert judgements and all(
            j["provenance"]["servers"] == {"judge": judge.base_url} for j in judgements
        )
    manifest = (out / "manifest.json").read_text()
    assert "sk-judge-secret" not in manifest and "sk-default-secret" not in manifest
    roles = json.loads(manifest)["roles"]
    assert roles["model:openai/canned"]["base_urls"] == [canned.base_url]
    assert roles["judge:openai/qwen"]["base_urls"] == [judge.base_url]


def test_repeated_base_url_over_two_models_warns(cli, tmp_path: Path) -> None:
    with FakeOpenAIServer(_judge_reply) as a, FakeOpenAIServer(_judge_reply) as b:
        code, _, err = cli(
            "eval", "--model", "openai/m", "--judge", "openai/j",
            "--base-url", a.base_url, "--base-url", b.base_url,
            "--per-subdomain", "1", "--subdomains", "sovereignty-territory", "--languages", "en",
            "--benign", "none", "--no-report", "--no-progress", "--out", str(tmp_path / "e"),
        )  # fmt: skip
    assert code == 0, err
    assert "replicas" in err and "--model-base-url, --judge-base-url" in err


def test_api_key_env_takes_a_name_never_a_key(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    common = ["--model", "mock/echo", "--judge", "mock/echo", "--out", str(tmp_path / "e")]
    code, _, err = cli("eval", *common, "--judge-api-key-env", "sk-abc123-def")
    assert code == 2 and "NAME of an environment variable" in err and "sk-abc123" not in err
    code, _, err = cli("eval", *common, "--judge-api-key-env", "NOT_SET_ANYWHERE")
    assert code == 2 and "NOT_SET_ANYWHERE is not set" in err
    assert not (tmp_path / "e").exists(), "nothing written before the check"


def test_public_url_drops_credentials() -> None:
    from valuealign.backends import public_url

    assert (
        public_url("https://user:pw@host.example:8443/v1/?key=x#f")
        == "https://host.example:8443/v1"
    )
    assert public_url("http://127.0.0.1:8000/v1/") == "http://127.0.0.1:8000/v1"
