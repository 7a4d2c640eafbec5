"""generate: each role on its own server, and the server that answered in provenance."""

from __future__ import annotations

import json
from pathlib import Path

from gen_fakes import actor_fn, critic_json, fake_query

from valuealign.testing import FakeOpenAIServer


def _server_responder(request: dict) -> str:
    msgs = request["messages"]
    body = msgs[-1]["content"]
    if '"value_consistency"' in body:
        return critic_json(overall=5)
    if msgs[0]["role"] == "system":
        return actor_fn(msgs, None)
    return fake_query(body)


def _lines(path: Path) -> list[dict]:
    return (
        [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.exists() else []
    )


def test_generate_records_the_server_of_each_role(cli, tmp_path: Path) -> None:
    out = tmp_path / "g"
    with (
        FakeOpenAIServer(_server_responder) as att,
        FakeOpenAIServer(_server_responder) as rest,
    ):
        code, stdout, err = cli(
            "generate", "--n", "2", "--strategies", "direct",
            "--attacker", "openai/att", "--attacker-base-url", att.base_url,
            "--actor", "openai/act", "--critic", "openai/cri", "--base-url", rest.base_url,
            "--no-progress", "--out", str(out),
        )  # fmt: skip
        assert code == 0, err
        assert {r["model"] for r in att.requests} == {"att"}
        assert {r["model"] for r in rest.requests} == {"act", "cri"}
    records = [*_lines(out / "samples.jsonl"), *_lines(out / "rejected.jsonl")]
    assert records
    # the summary: typed stats, numbers in one format (two decimals, never 0.0583333333)
    summary = next(line for line in stdout.splitlines() if line.startswith("generate:"))
    assert summary.endswith(f"of 2 planned (0 pending) -> {out}")
    diversity = next(line for line in stdout.splitlines() if "diversity:" in line)
    numbers = __import__("re").findall(r"\d+\.\d+", diversity)
    assert numbers and all(len(n.split(".")[1]) == 2 for n in numbers), diversity
    for r in records:
        assert r["provenance"]["servers"]["attacker"] == att.base_url
        if "answer" in r and r.get("answer"):
            assert r["provenance"]["servers"]["actor"] == rest.base_url
