"""Reports say why a figure is missing: no interval over one score, no alpha with one judge."""

from __future__ import annotations

from pathlib import Path

from valuealign.backends import FunctionBackend, register_mock, unregister_mock
from valuealign.report.tables import N_TOO_SMALL, alpha_line, fmt_ci


def test_interval_needs_two_scores() -> None:
    assert fmt_ci([2.0, 2.0], n=1) == N_TOO_SMALL
    assert fmt_ci([1.5, 2.5], n=2) == "[1.50, 2.50]"
    assert fmt_ci(None) == ""


def test_alpha_line_names_the_reason() -> None:
    assert "at least two judges (this run has 1" in alpha_line({"n_units": 0}, ["j"])
    assert "no item has a parsed score from two judges" in alpha_line({"n_units": 0}, ["a", "b"])
    assert "same score on all 5 units" in alpha_line({"n_units": 5}, ["a", "b"])
    line = alpha_line({"krippendorff_alpha_ordinal": 0.8123, "n_units": 7}, ["a", "b"])
    assert line == "Krippendorff's alpha (ordinal): 0.81 over 7 units"


def test_report_of_a_one_item_one_judge_run(cli, tmp_path: Path) -> None:
    register_mock(
        "h-judge", FunctionBackend(lambda m, c: "REASON: ok.\nVERDICT: [[2]]", name="mock/h-judge")
    )
    try:
        code, out, err = cli(
            "eval", "--model", "mock/echo", "--judge", "mock/h-judge",
            "--subdomains", "human-rights", "--per-subdomain", "1", "--languages", "en",
            "--benign", "none", "--no-consistency", "--no-progress", "--out", str(tmp_path / "e"),
        )  # fmt: skip
    finally:
        unregister_mock("h-judge")
    assert code == 0, err
    html = (tmp_path / "e" / "report.html").read_text()
    assert N_TOO_SMALL in html and "[2.00, 2.00]" not in html
    assert "no figure, it needs at least two judges (this run has 1" in html
    assert "over 0 units" not in html
    # the terminal says the same: no interval over one score, a total without a stray ".0"
    row = next(line for line in out.splitlines() if line.startswith("mock/echo"))
    assert row.split()[1:5] == ["en", "2/5", "2.00", "n"] and "n too small" in row
    assert "[2.00,2.00]" not in out
