"""Bad input that used to end in a traceback ends in exit 2 with a message naming the file
(issue 17, items 7, 8 and 9); one test per case."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "generate"))
from gen_fakes import actor_fn, attacker_fn, critic_fn

from valuealign.backends import FunctionBackend, register_mock, unregister_mock


def _clean_exit_2(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    assert err.startswith("error: ") and "Traceback" not in err, err
    for n in needles:
        assert n in err, err


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    f = tmp_path / "plain-file"
    f.write_text("x")
    return f


def test_curate_into_a_path_under_a_file(cli, tmp_path: Path, a_file: Path) -> None:
    corpus = tmp_path / "in.jsonl"
    corpus.write_text(json.dumps({"text": "human rights and the rule of law"}) + "\n")
    out = a_file / "out"
    code, _, err = cli("curate", "--input", str(corpus), "--out", str(out), "--no-progress")
    _clean_exit_2(code, err, str(a_file))


@pytest.fixture
def gen_run(cli, tmp_path: Path) -> Path:
    register_mock("b-atk", FunctionBackend(attacker_fn, name="mock/b-atk"))
    register_mock("b-act", FunctionBackend(actor_fn, name="mock/b-act"))
    register_mock("b-crit", FunctionBackend(critic_fn, name="mock/b-crit"))
    out = tmp_path / "gen"
    code, _, err = cli(*_gen_args(out))
    assert code == 0, err
    yield out
    for n in ("b-atk", "b-act", "b-crit"):
        unregister_mock(n)


def _gen_args(out: Path) -> list[str]:
    return [
        "generate", "--n", "4", "--attacker", "mock/b-atk", "--actor", "mock/b-act",
        "--critic", "mock/b-crit", "--no-progress", "--out", str(out),
    ]  # fmt: skip


def test_export_sft_to_a_path_under_a_file(cli, gen_run: Path, a_file: Path) -> None:
    code, _, err = cli("export", "sft", str(gen_run), "--out", str(a_file / "sft.jsonl"))
    _clean_exit_2(code, err, "sft.jsonl")


@pytest.mark.parametrize(
    "bad, needle",
    [(b'{"id": "\xff"}', ":2: not valid UTF-8"), (b"{torn", ":2: not valid JSON")],
)
def test_generate_resume_on_corrupt_samples(cli, gen_run: Path, bad: bytes, needle: str) -> None:
    path = gen_run / "samples.jsonl"
    lines = path.read_bytes().split(b"\n")
    if len(lines) < 3:
        path = gen_run / "rejected.jsonl" if (gen_run / "rejected.jsonl").stat().st_size else path
        lines = path.read_bytes().split(b"\n")
    lines.insert(1, bad)
    path.write_bytes(b"\n".join(lines))
    code, _, err = cli(*_gen_args(gen_run))
    _clean_exit_2(code, err, path.name + needle)


def test_charter_init_under_a_file(cli, a_file: Path) -> None:
    code, _, err = cli("charter", "init", str(a_file / "charter.yaml"))
    _clean_exit_2(code, err, str(a_file))


def test_report_of_a_run_whose_report_cannot_be_written(cli, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["eval", "--model", "mock/echo", "--judge", "mock/echo", "--per-subdomain", "1"]
    assert cli(*args, "--languages", "en", "--no-progress", "--out", str(out))[0] == 0
    (out / "report.html").unlink()
    (out / "report.html").mkdir()  # a folder where the report file goes
    code, _, err = cli("report", str(out))
    _clean_exit_2(code, err, "report.html")


def test_a_binary_personas_file(cli, tmp_path: Path) -> None:
    personas = tmp_path / "personas.txt"
    personas.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    code, _, err = cli(
        "visa", "make-data", "--answerer", "mock/echo", "--n", "2", "--personas", str(personas),
        "--out", str(tmp_path / "v.jsonl"),
    )  # fmt: skip
    _clean_exit_2(code, err, "personas.txt")
    assert not (tmp_path / "v.jsonl").exists()


def _chat_file(path: Path, n: int) -> Path:
    rows = [
        {"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": "a"}]}
        for i in range(n)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def no_model_load(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    import valuealign.train.runner as runner

    def refuse(*a, **k):
        raise AssertionError("the model was loaded before the input was checked")

    monkeypatch.setattr(runner, "load_model_and_tokenizer", refuse)


def test_train_checks_the_data_before_loading_the_model(cli, tmp_path: Path, no_model_load) -> None:
    data = _chat_file(tmp_path / "d.jsonl", 3)
    lines = data.read_text().split("\n")
    lines.insert(1, '{"messages": [')
    data.write_text("\n".join(lines))
    out = tmp_path / "o"
    code, _, err = cli("train", "sft", "--data", str(data), "--out", str(out), "--max-steps", "1")
    _clean_exit_2(code, err, "d.jsonl:2")
    assert not out.exists()


def test_train_checks_its_output_before_loading_the_model(
    cli, tmp_path: Path, a_file: Path, no_model_load
) -> None:
    data = _chat_file(tmp_path / "d.jsonl", 3)
    code, _, err = cli(
        "train", "sft", "--data", str(data), "--out", str(a_file / "o"), "--max-steps", "1"
    )
    _clean_exit_2(code, err, str(a_file))


STRATEGY_EXIT = """
import sys
sys.exit(3)
"""
STRATEGY_RAISES = """
def broken():
    raise RuntimeError("the plugin is broken")
broken()
"""


@pytest.mark.parametrize(
    "body, needle",
    [(STRATEGY_EXIT, "called exit(3)"), (STRATEGY_RAISES, "RuntimeError: the plugin is broken")],
)
def test_a_strategy_files_own_exit_or_exception_is_reported(
    cli, tmp_path: Path, body: str, needle: str
) -> None:
    plugin = tmp_path / "plugin.py"
    plugin.write_text(body)
    code, _, err = cli(
        "generate", "--n", "2", "--attacker", "mock/echo", "--actor", "mock/echo", "--critic",
        "mock/echo", "--strategy-file", str(plugin), "--out", str(tmp_path / "g"),
    )  # fmt: skip
    _clean_exit_2(code, err, "plugin.py:", needle)


def test_strategy_file_help_says_it_executes_python(cli) -> None:
    code, out, _ = cli("generate", "--help")
    assert code == 0 and "EXECUTED as Python" in out and "trust" in out
