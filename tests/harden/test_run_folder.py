"""Run folders under attack: a second job into a busy folder, stale locks, planted symlinks,
corrupt resume files and the mode of whole-file outputs (issue 17, items 1, 2, 7 and 11)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from valuealign.errors import UserError
from valuealign.records import ensure_run_dir, existing_ids, write_json_atomic, write_text_atomic

SRC = str(Path(__file__).resolve().parents[2] / "src")
ENV = {**os.environ, "PYTHONPATH": SRC}

HOLDER = """
import sys, time
from valuealign.records import ensure_run_dir
ensure_run_dir(sys.argv[1])
print("locked", flush=True)
time.sleep(60)
"""


def _hold(out: Path) -> subprocess.Popen:
    p = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(out)], env=ENV, stdout=subprocess.PIPE, text=True
    )
    assert p.stdout is not None and p.stdout.readline().strip() == "locked"
    return p


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "valuealign", *args],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_a_second_job_into_a_busy_folder_is_refused_naming_the_pid(tmp_path: Path) -> None:
    out = tmp_path / "run"
    holder = _hold(out)
    try:
        r = _cli(
            "eval", "--model", "mock/echo", "--judge", "mock/echo", "--per-subdomain", "1",
            "--no-progress", "--out", str(out),
        )  # fmt: skip
        assert r.returncode == 2, r.stderr
        assert f"pid {holder.pid}" in r.stderr
        assert "Traceback" not in r.stderr
        assert not (out / "answers.jsonl").exists()
        r = _cli("generate", "--help")
        assert r.returncode == 0
    finally:
        holder.kill()
        holder.wait()


def test_a_lock_left_by_a_killed_process_does_not_block(tmp_path: Path) -> None:
    out = tmp_path / "run"
    holder = _hold(out)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert (out / ".valuealign.lock").read_text().strip() == str(holder.pid)
    r = _cli(
        "eval", "--model", "mock/echo", "--judge", "mock/echo", "--per-subdomain", "1",
        "--languages", "en", "--no-progress", "--out", str(out),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert (out / "answers.jsonl").exists()


def test_two_concurrent_evals_write_each_item_once(tmp_path: Path) -> None:
    """The reproduction from the issue: two runs started together into one --out."""
    out = tmp_path / "gen"
    args = [
        sys.executable, "-m", "valuealign", "eval", "--model", "mock/echo", "--judge",
        "mock/echo", "--per-subdomain", "1", "--languages", "en", "--no-consistency",
        "--no-progress", "--out", str(out),
    ]  # fmt: skip
    procs = [subprocess.Popen(args, env=ENV, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    codes = sorted(p.wait(timeout=120) for p in procs)
    errs = [p.stderr.read() for p in procs if p.stderr]
    ids = [json.loads(x)["id"] for x in (out / "answers.jsonl").read_text().split("\n") if x]
    assert len(ids) == len(set(ids)), "an item was answered twice"
    # Either the second waited out the first (then resumed everything) or it was refused.
    assert codes in ([0, 0], [0, 2]), errs


def test_the_same_process_may_reenter_its_own_folder(tmp_path: Path) -> None:
    ensure_run_dir(tmp_path / "a")
    ensure_run_dir(tmp_path / "a")


def test_a_write_test_symlink_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("keep me\n")
    out = tmp_path / "run"
    out.mkdir()
    (out / ".write-test").symlink_to(target)
    with pytest.raises(UserError, match="symbolic link"):
        ensure_run_dir(out)
    assert target.read_text() == "keep me\n"


def test_a_probe_left_by_a_killed_process_does_not_block(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / ".write-test").write_text("")  # a kill between creating and removing the probe
    assert ensure_run_dir(out) == out
    assert not (out / ".write-test").exists()


def test_an_answers_symlink_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    target = tmp_path / "precious.jsonl"
    target.write_text('{"id": "a"}\n{"id": "b", "torn')
    out = tmp_path / "run"
    out.mkdir()
    (out / "answers.jsonl").symlink_to(target)
    r = _cli(
        "eval", "--model", "mock/echo", "--judge", "mock/echo", "--per-subdomain", "1",
        "--languages", "en", "--no-progress", "--out", str(out),
    )  # fmt: skip
    assert r.returncode == 2, r.stderr
    assert "answers.jsonl" in r.stderr and "symbolic link" in r.stderr
    assert target.read_text() == '{"id": "a"}\n{"id": "b", "torn'


def test_atomic_writes_refuse_a_symlink(tmp_path: Path) -> None:
    target = tmp_path / "t.json"
    target.write_text("x")
    (tmp_path / "manifest.json").symlink_to(target)
    with pytest.raises(UserError, match="symbolic link"):
        write_json_atomic(tmp_path / "manifest.json", {})
    assert target.read_text() == "x"


def test_whole_file_outputs_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_json_atomic(tmp_path / "m.json", {"a": 1})
        write_text_atomic(tmp_path / "r.html", "<p>")
    finally:
        os.umask(old)
    assert (tmp_path / "m.json").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "r.html").stat().st_mode & 0o777 == 0o644
    old = os.umask(0o077)
    try:
        write_json_atomic(tmp_path / "private.json", {})
    finally:
        os.umask(old)
    assert (tmp_path / "private.json").stat().st_mode & 0o777 == 0o600


def test_cli_whole_file_outputs_are_0644_under_umask_022(tmp_path: Path) -> None:
    out = tmp_path / "run"
    old = os.umask(0o022)  # the child processes inherit it
    try:
        r = _cli(
            "eval", "--model", "mock/echo", "--judge", "mock/echo", "--per-subdomain", "1",
            "--languages", "en", "--no-progress", "--report", "--out", str(out),
        )  # fmt: skip
        r2 = _cli("charter", "init", str(tmp_path / "c.yaml"))
    finally:
        os.umask(old)
    assert r.returncode == 0, r.stderr
    assert r2.returncode == 0, r2.stderr
    for name in ("manifest.json", "scores.json", "report.html", "answers.jsonl"):
        assert (out / name).stat().st_mode & 0o777 == 0o644, name
    assert (tmp_path / "c.yaml").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize(
    "content, needle",
    [
        (b'{"id": "a"}\nnot json\n{"id": "c"}\n', ":2: not valid JSON"),
        (b'{"id": "a"}\n{"no_id": 1}\n', ":2: record has no string 'id'"),
        (b'{"id": "a"}\n{"id": "\xff\xfe"}\n', ":2: not valid UTF-8"),
        (b'{"id": "a"}\n[1, 2]\n', ":2: record has no string 'id'"),
    ],
)
def test_corrupt_resume_files_name_file_and_line(tmp_path: Path, content, needle) -> None:
    path = tmp_path / "judgements.jsonl"
    path.write_bytes(content)
    with pytest.raises(UserError) as e:
        existing_ids(path)
    assert str(path) + needle in str(e.value)


@pytest.mark.parametrize("name", ["answers.jsonl", "judgements.jsonl", "consistency.jsonl"])
@pytest.mark.parametrize("bad", [b"{oops\n", b'{"x": 1}\n', b'{"id": "\xc3\x28"}\n'])
def test_eval_resume_on_a_corrupt_file_exits_2_naming_it(cli, tmp_path: Path, name, bad) -> None:
    out = tmp_path / "run"
    args = ["eval", "--model", "mock/echo", "--judge", "mock/echo", "--per-subdomain", "1"]
    args += ["--no-progress", "--out", str(out)]
    assert cli(*args)[0] == 0
    lines = (out / name).read_bytes().split(b"\n")
    lines.insert(1, bad.rstrip(b"\n"))
    (out / name).write_bytes(b"\n".join(lines))
    code, _, err = cli(*args)
    assert code == 2, err
    assert f"{name}:2:" in err


def test_eval_resume_with_a_non_object_manifest_exits_2(cli, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["eval", "--model", "mock/echo", "--judge", "mock/echo", "--per-subdomain", "1"]
    args += ["--languages", "en", "--no-progress", "--out", str(out)]
    assert cli(*args)[0] == 0
    (out / "manifest.json").write_text("[1, 2, 3]\n")
    code, _, err = cli(*args)
    assert code == 2, err
    assert "manifest.json" in err
