"""`import valuealign` and `valuealign --help` stay torch-free (checked in a fresh process)."""

import subprocess
import sys

import pytest


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_import_does_not_load_torch() -> None:
    r = _run("import sys, valuealign; print('torch' in sys.modules, 'transformers' in sys.modules)")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False False"


@pytest.mark.parametrize(
    "args", [["--help"], ["charter", "--help"], ["chat", "--help"], ["demo", "--help"]]
)
def test_help_does_not_load_torch(args: list[str]) -> None:
    r = _run(
        "import sys\nfrom valuealign.cli import main\n"
        f"code = main({args!r})\n"
        "assert code == 0, code\nprint('torch' in sys.modules)"
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith("False")


def test_console_script_runs() -> None:
    exe = __import__("shutil").which("valuealign") or str(
        __import__("pathlib").Path(sys.executable).with_name("valuealign")
    )
    r = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    assert "valuealign" in r.stdout
