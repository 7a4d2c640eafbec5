from __future__ import annotations

import pytest

from valuealign.cli import main

# marker -> (command-line flag, why it is skipped without the flag)
OPT_IN = {
    "slow": ("--run-slow", "slow real-model test (run with --run-slow)"),
    "gpu": ("--run-gpu", "needs a CUDA GPU (run with --run-gpu)"),
    "network": ("--run-network", "talks to a server outside loopback (run with --run-network)"),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    for marker, (flag, _) in OPT_IN.items():
        parser.addoption(flag, action="store_true", default=False, help=f"run {marker} tests")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``slow``, ``gpu`` and ``network`` tests are opt-in: skipped unless their flag is given."""
    for marker, (flag, reason) in OPT_IN.items():
        if config.getoption(flag):
            continue
        skip = pytest.mark.skip(reason=reason)
        for item in items:
            if marker in item.keywords:
                item.add_marker(skip)


@pytest.fixture(autouse=True)
def _no_real_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never reach a real API: no inherited keys or base URLs."""
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture):
    """Run the CLI in-process; returns (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture(scope="session")
def smollm():
    from valuealign.backends.hf import HFBackend

    backend = HFBackend("smollm2-135m-instruct")
    backend.load()
    return backend
