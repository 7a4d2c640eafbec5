"""Data out: per-item CSV/Parquet, and KTO / DPO preference data that `datasets` loads."""

from __future__ import annotations

from pathlib import Path

import pytest
from gen_fakes import attacker_fn, critic_json

from valuealign.backends import FunctionBackend, register_mock, unregister_mock
from valuealign.generate import GenerateSettings, run_generate

datasets = pytest.importorskip("datasets")


def _critic(messages, config):
    return critic_json(overall=5 if "GOOD-ANSWER" in messages[-1]["content"] else 2)


@pytest.fixture
def two_runs(tmp_path: Path):
    register_mock("p-attacker", FunctionBackend(attacker_fn, name="mock/p-attacker"))
    register_mock("p-good", FunctionBackend(lambda m, c: "GOOD-ANSWER: facts", name="mock/p-good"))
    register_mock("p-bad", FunctionBackend(lambda m, c: "BAD-ANSWER: slogans", name="mock/p-bad"))
    register_mock("p-critic", FunctionBackend(_critic, name="mock/p-critic"))
    runs = {}
    try:
        for actor in ("good", "bad"):
            settings = GenerateSettings(
                n=6,
                attacker="mock/p-attacker",
                actor=f"mock/p-{actor}",
                critic="mock/p-critic",
                strategies=["direct"],
                seed=3,
            )
            runs[actor] = tmp_path / actor
            run_generate(runs[actor], settings, progress=False)
    finally:
        for n in ("p-attacker", "p-good", "p-bad", "p-critic"):
            unregister_mock(n)
    return runs


def test_kto_kept_desirable_low_scored_undesirable(cli, two_runs, tmp_path: Path) -> None:
    out = tmp_path / "kto.jsonl"
    code, stdout, err = cli(
        "export", "kto", str(two_runs["good"]), str(two_runs["bad"]), "--out", str(out)
    )
    assert code == 0, err
    assert "6 desirable and 6 undesirable" in stdout
    ds = datasets.load_dataset("json", data_files=str(out), split="train")
    assert {"prompt", "completion", "label"} <= set(ds.column_names) and len(ds) == 12
    for row in ds:
        text = row["completion"][0]["content"]
        assert row["label"] == text.startswith("GOOD-ANSWER")
        assert row["prompt"][-1]["role"] == "user" and row["completion"][0]["role"] == "assistant"
        assert all(t["role"] != "system" for t in row["prompt"])  # as export sft: none by default
    kept = tmp_path / "kto-charter.jsonl"
    code, _, err = cli(
        "export", "kto", str(two_runs["good"]), "--system", "charter", "--out", str(kept)
    )
    assert code == 0, err
    ds = datasets.load_dataset("json", data_files=str(kept), split="train")
    assert all(row["prompt"][0]["role"] == "system" for row in ds)


def test_dpo_pairs_two_answers_to_one_attack(cli, two_runs, tmp_path: Path) -> None:
    out = tmp_path / "dpo.jsonl"
    code, _, err = cli(
        "export", "dpo", str(two_runs["good"]), str(two_runs["bad"]), "--out", str(out)
    )
    assert code == 0, err
    ds = datasets.load_dataset("json", data_files=str(out), split="train")
    assert len(ds) == 6 and {"prompt", "chosen", "rejected"} <= set(ds.column_names)
    for row in ds:
        assert row["chosen"][0]["content"].startswith("GOOD-ANSWER")
        assert row["rejected"][0]["content"].startswith("BAD-ANSWER")
        assert row["score_chosen"] == 5 and row["score_rejected"] == 2
    # one run has one answer per attack: nothing to pair, exit 2 and no file
    code, _, err = cli("export", "dpo", str(two_runs["good"]), "--out", str(tmp_path / "x.jsonl"))
    assert code == 2 and "same --seed" in err and not (tmp_path / "x.jsonl").exists()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_generate_items_table(cli, two_runs, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"items.{fmt}"
    code, _, err = cli("export", fmt, str(two_runs["bad"]), "--out", str(out))
    assert code == 0, err
    ds = datasets.load_dataset(fmt, data_files=str(out), split="train")
    assert len(ds) == 6 and set(ds["status"]) == {"rejected"}
    assert set(ds["critic_overall"]) == {2}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_eval_answers_and_verdicts_table(cli, tmp_path: Path, fmt: str) -> None:
    register_mock(
        "x-judge", FunctionBackend(lambda m, c: "REASON: ok.\nVERDICT: [[4]]", name="mock/x-judge")
    )
    try:
        code, _, err = cli(
            "eval", "--model", "mock/echo", "--judge", "mock/x-judge",
            "--subdomains", "human-rights", "--per-subdomain", "2", "--languages", "en",
            "--benign", "none", "--no-consistency", "--no-report", "--no-progress",
            "--out", str(tmp_path / "e"),
        )  # fmt: skip
    finally:
        unregister_mock("x-judge")
    assert code == 0, err
    out = tmp_path / f"items.{fmt}"
    code, _, err = cli("export", fmt, str(tmp_path / "e"), "--out", str(out))
    assert code == 0, err
    ds = datasets.load_dataset(fmt, data_files=str(out), split="train")
    assert len(ds) == 2 and set(ds["score"]) == {4} and set(ds["judge"]) == {"mock/x-judge"}
    for row in ds:
        assert row["answer"] == row["question"]  # mock/echo answers with the question
    code, _, err = cli("export", "csv", str(tmp_path / "e"), "--out", str(tmp_path / "a.parquet"))
    assert code == 2
