"""--config FILE.yaml for eval, generate and consensus (strict, flags win) and builtin: configs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return path


def _answers(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / "answers.jsonl").read_text().splitlines() if x.strip()]


BASE = """model: [mock/echo]
judge: mock/echo
subdomains: sovereignty-territory,human-rights
languages: en
benign: none
per-subdomain: 2
no-consistency: true
report: false
no-progress: true
"""


def test_config_values_apply_and_flags_override_them(cli, tmp_path: Path) -> None:
    cfg = _write(tmp_path, BASE)
    code, _, err = cli("eval", "--config", str(cfg), "--out", str(tmp_path / "a"))
    assert code == 0, err
    answers = _answers(tmp_path / "a")
    assert len(answers) == 4  # 2 subdomains x 2 items x 1 language, all from the file
    assert {a["subdomain"] for a in answers} == {"sovereignty-territory", "human-rights"}
    assert {a["language"] for a in answers} == {"en"}
    code, _, err = cli(
        "eval", "--per-subdomain", "1", "--config", str(cfg), "--out", str(tmp_path / "b")
    )
    assert code == 0, err
    assert len(_answers(tmp_path / "b")) == 2  # the flag wins over the file
    assert not (tmp_path / "b" / "report.html").exists()  # report: false from the file


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        (BASE + "per-subdomian: 1\n", 10, "did you mean 'per-subdomain'?"),
        (BASE.replace("per-subdomain: 2", "per-subdomain: zero"), 6, "'per-subdomain'"),
        (BASE + "api-key: sk-abc\n", 10, "does not belong in a config file"),
        (BASE.replace("report: false", "report: maybe"), 8, "true or false"),
    ],
)
def test_bad_config_is_exit_2_with_file_line_and_fix(
    cli, tmp_path: Path, text: str, line: int, needle: str
) -> None:
    cfg = _write(tmp_path, text)
    code, out, err = cli("eval", "--config", str(cfg), "--out", str(tmp_path / "e"))
    assert code == 2, out + err
    assert f"{cfg}:{line}:" in err and needle in err
    assert "sk-abc" not in err
    assert not (tmp_path / "e").exists(), "nothing written"


@pytest.mark.parametrize("command", ["eval", "generate", "consensus"])
def test_builtin_command_configs_are_valid(cli, command: str) -> None:
    code, _, err = cli(command, "--config", "builtin:quick", "--help")
    assert code == 0, err
    code, _, err = cli(command, "--config", "builtin:nope", "--help")
    assert code == 2 and "builtin:quick" in err


def test_generate_config_is_strict_too(cli, tmp_path: Path) -> None:
    cfg = _write(
        tmp_path, "n: 2\nattacker: mock/echo\nactor: mock/echo\ncritic: mock/echo\ncritc: x\n"
    )
    code, _, err = cli("generate", "--config", str(cfg), "--out", str(tmp_path / "g"))
    assert code == 2 and f"{cfg}:5: unknown key 'critc'" in err and "'critic'" in err


def test_train_builtin_configs_work_outside_a_clone(tmp_path: Path, monkeypatch) -> None:
    from valuealign.train import load_stage_config

    monkeypatch.chdir(tmp_path)  # no configs/ folder here
    for stage in ("cpt", "sft", "adversarial"):
        cfg = load_stage_config(stage, f"builtin:{stage}", {"max_steps": 1})
        assert cfg.stage == stage and cfg.max_steps == 1
    from valuealign.errors import UserError

    with pytest.raises(UserError, match="builtin:sft"):
        load_stage_config("sft", "builtin:sfft")
