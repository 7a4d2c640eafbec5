import json
from pathlib import Path

import pytest

from valuealign.demo import run_demo
from valuealign.records import AnswerRecord, read_jsonl


def test_demo_with_mock_writes_a_run_and_resumes(tmp_path: Path) -> None:
    out = tmp_path / "run"
    m = run_demo(out, model="mock/echo", progress=False)
    records = read_jsonl(out / "answers.jsonl", AnswerRecord)
    assert m["counts"]["planned"] == 6 and m["counts"]["answered"] == 6
    assert sorted(r.language for r in records) == ["en"] * 3 + ["zh"] * 3
    assert len({r.subdomain for r in records}) == 3
    assert all(
        r.provenance.roles == {"actor": "mock/echo"} and r.provenance.template_hash for r in records
    )
    assert json.loads((out / "manifest.json").read_text())["charter_id"] == "balanced-v1"
    # a kill mid-write leaves a torn line and one missing item; a rerun finishes without duplicates
    lines = (out / "answers.jsonl").read_text().splitlines(keepends=True)
    (out / "answers.jsonl").write_text("".join(lines[:4]) + lines[4][:20])
    m2 = run_demo(out, model="mock/echo", progress=False)
    ids = [r.id for r in read_jsonl(out / "answers.jsonl", AnswerRecord)]
    assert len(ids) == len(set(ids)) == 6
    assert m2["counts"]["resumed_from_disk"] == 4


def test_demo_records_backend_failures(tmp_path: Path) -> None:
    from valuealign.backends import FunctionBackend, register_mock, unregister_mock
    from valuealign.errors import BackendError

    def flaky(messages, config):
        if "zh" in messages[-1]["content"] or any(
            "\u4e00" <= ch <= "\u9fff" for ch in messages[-1]["content"]
        ):
            raise BackendError("server down", backend="mock/flaky")
        return "fine"

    register_mock("flaky", FunctionBackend(flaky, name="mock/flaky"))
    try:
        m = run_demo(tmp_path / "r", model="mock/flaky", progress=False)
    finally:
        unregister_mock("flaky")
    assert m["counts"] == {**m["counts"], "answered": 3, "failed": 3}
    failed = [r for r in read_jsonl(tmp_path / "r" / "answers.jsonl", AnswerRecord) if r.error]
    assert all("server down" in r.error and r.language == "zh" for r in failed)


def test_demo_summary_speaks_only_of_the_stages_that_ran(cli, tmp_path: Path) -> None:
    code, out, _ = cli(
        "demo", "--model", "mock/echo", "--stages", "ask", "--out", str(tmp_path / "d"),
        "--no-progress",
    )  # fmt: skip
    assert code == 0 and "ask: 6/6 answered" in out
    assert "LoRA" not in out and "judge" not in out  # no training, no eval in this run


def test_demo_summary_number_formats(capsys) -> None:
    from valuealign.cli.demo import print_summary

    for mean, said in ((2.0, "2 rounds"), (1.0, "1 round "), (1.5, "1.5 rounds")):
        print_summary("d", {"consensus": {"mean_rounds_used": mean, "report": "c.html"}})
        out = capsys.readouterr().out
        assert f"PSRO): {said}" in out and ".0 round" not in out


def test_demo_bad_input_exits_2(cli, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = cli(
        "demo", "--model", "mock/echo", "--out", str(blocker / "sub"), "--no-progress"
    )
    assert code == 2 and "cannot write the run directory" in err
    code, _, err = cli(
        "demo", "--model", "mock/echo", "--languages", "fr", "--out", str(tmp_path / "x")
    )
    assert code == 2 and "'fr'" in err


def _broken_stage(out: Path, s: object, progress: bool) -> dict:
    raise ValueError("the stage broke\nsecond line of the message")


def test_a_bug_in_a_stage_process_is_one_line_and_exit_1(cli, tmp_path: Path, monkeypatch) -> None:
    import valuealign.demo as demo

    # as with local models: the stage runs in a process of its own (spawned: it imports
    # _broken_stage from this file)
    monkeypatch.setattr(demo, "_uses_local_models", lambda s: True)
    monkeypatch.setattr(demo, "generate_stage", _broken_stage)
    out = tmp_path / "d"
    args = ("demo", "--model", "mock/echo", "--stages", "generate", "--out", str(out))
    code, so, err = cli(*args, "--no-progress")
    assert code == 1, so + err
    (line,) = err.strip().splitlines()
    assert "demo stage 'generate' failed: ValueError: the stage broke" in line
    assert str(out / "errors.log") in line and "valuealign -v demo" in line
    log = (out / "errors.log").read_text()
    assert "Traceback" in log and "_broken_stage" in log and "second line" in log
    # -v prints the traceback too; the log keeps both failures
    code, _, err = cli("-v", *args, "--no-progress")
    assert code == 1 and "Traceback" in err and "_broken_stage" in err
    assert err.strip().splitlines()[-1].startswith("error: the demo stage 'generate' failed")
    assert (out / "errors.log").read_text().count("Traceback") == 2


@pytest.mark.slow  # the stages' own real-model tests stay in the default run (tests/train, ...)
def test_demo_cli_trains_and_evaluates_on_the_embedded_model(cli, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    code, stdout, err = cli(
        "demo",
        "--out",
        str(out),
        "--model",
        "hf/smollm2-135m-instruct",
        "--engine",
        "hf",
        "--judge",
        "hf/smollm2-135m-instruct",
        "--subdomains",
        "1",
        "--eval-subdomains",
        "1",
        "--max-tokens",
        "8",
        "--no-progress",
        "--stages",
        "ask,curate,train,eval",
        "--train-steps",
        "1",
    )
    assert code == 0, err
    records = read_jsonl(out / "answers.jsonl", AnswerRecord)
    assert len(records) == 2 and all(r.answer and r.error is None for r in records)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["roles"]["actor"]["name"] == "hf/smollm2-135m-instruct"
    assert manifest["usage_this_run"]["completion_tokens"] > 0
    assert "2/2 answered" in stdout
    # curate -> CPT on its packed shards -> SFT; no generated pairs: adversarial LoRA is skipped
    # loudly, never trained on shipped pairs
    assert manifest["curate"]["documents"]["curated"] > 50
    train = manifest["train"]
    assert list(train["stages"]) == ["cpt", "sft"]
    assert any(n.startswith("SKIPPED adversarial") for n in train["notes"])
    assert train["stages"]["cpt"]["data"] == [str(out / "curate")]
    assert train["stages"]["sft"]["data"] == ["builtin:sft-sample"]
    assert all(st["drift"]["en"]["base"] > 1 for st in train["stages"].values())
    assert set(manifest["eval"]["scores_trained"]) == {"zh", "en"}
    assert "SKIPPED adversarial" in stdout and "trained model: hf/" in stdout
    # every stage reports its time and peak memory
    assert set(manifest["timings"]) == {"ask", "curate", "train", "eval"}
    assert all(t["seconds"] >= 0 and t["peak_rss_mb"] > 100 for t in manifest["timings"].values())
    assert "peak memory" in stdout and "not an effect size" in stdout


def test_demo_default_model_answers_chinese_in_chinese(cli, tmp_path: Path) -> None:
    from valuealign.backends.embedded import is_installed

    if not is_installed("qwen2.5-0.5b-instruct"):
        import pytest

        pytest.skip("the embedded Qwen 0.5B is not installed (make test installs it)")
    out = tmp_path / "demo"
    code, stdout, err = cli(
        "demo", "--out", str(out), "--stages", "ask", "--subdomains", "2", "--no-progress"
    )
    assert code == 0, err
    zh = [r for r in read_jsonl(out / "answers.jsonl", AnswerRecord) if r.language == "zh"]
    assert len(zh) == 2
    for r in zh:
        letters = [c for c in r.answer if c.isalpha()]
        assert sum(0x4E00 <= ord(c) <= 0x9FFF for c in letters) / len(letters) > 0.6, r.answer
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["roles"]["actor"]["name"] == "ct2/qwen2.5-0.5b-instruct"
    assert manifest["zh_cjk_share"] > 0.6 and "CJK characters" in stdout
