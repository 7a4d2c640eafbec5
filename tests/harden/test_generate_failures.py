"""generate under backend failure (issue 17, item 3): all failed exits 1 with the cause; a rerun
retries backend failures but not parse failures unless asked."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "generate"))
from gen_fakes import actor_fn, attacker_fn, critic_json

from valuealign.backends import FunctionBackend, register_mock, unregister_mock
from valuealign.errors import BackendError

STATE = {"attacker_down": False, "critic": "json"}


def _attacker(messages, config):
    if STATE["attacker_down"]:
        raise BackendError("HTTP 401 from http://127.0.0.1:1/v1: bad key", backend="mock/atk")
    return attacker_fn(messages, config)


def _critic(messages, config):
    return critic_json(5) if STATE["critic"] == "json" else "I will not give JSON"


@pytest.fixture
def roles():
    register_mock("h-atk", FunctionBackend(_attacker, name="mock/h-atk"))
    register_mock("h-act", FunctionBackend(actor_fn, name="mock/h-act"))
    register_mock("h-crit", FunctionBackend(_critic, name="mock/h-crit"))
    STATE.update(attacker_down=False, critic="json")
    yield
    for n in ("h-atk", "h-act", "h-crit"):
        unregister_mock(n)


def _args(out: Path) -> list[str]:
    return [
        "generate", "--n", "6", "--attacker", "mock/h-atk", "--actor", "mock/h-act",
        "--critic", "mock/h-crit", "--critic-retries", "0", "--no-progress", "--out", str(out),
    ]  # fmt: skip


def test_all_failed_exits_1_and_a_rerun_retries_them(cli, tmp_path: Path, roles) -> None:
    out = tmp_path / "gen"
    STATE["attacker_down"] = True
    code, stdout, err = cli(*_args(out))
    assert code == 1, err
    assert "401 from the server: check the API key" in err
    assert "6 failed" in stdout
    STATE["attacker_down"] = False
    code, stdout, err = cli(*_args(out))
    assert code == 0, err
    stats = json.loads((out / "stats.json").read_text())
    assert stats["counts"]["failed"] == 0 and stats["counts"]["kept"] == 6
    assert stats["counts"]["pending"] == 0


def test_parse_failures_are_kept_unless_asked(cli, tmp_path: Path, roles) -> None:
    out = tmp_path / "gen"
    STATE["critic"] = "prose"
    code, _, err = cli(*_args(out))
    assert code == 1, err  # nothing kept, every item failed
    assert "parse failure" in err
    STATE["critic"] = "json"
    assert cli(*_args(out))[0] == 1  # not redone: still all failed
    code, _, err = cli(*_args(out), "--retry-parse-failures")
    assert code == 0, err
    stats = json.loads((out / "stats.json").read_text())
    assert stats["counts"]["kept"] == 6 and stats["counts"]["failed"] == 0
