"""consensus --help names only things that exist: every zone it lists is a built-in profile."""

from __future__ import annotations

import re


def test_help_lists_the_real_zones_and_no_missing_flag(cli) -> None:
    from valuealign.consensus.profiles import load_profiles

    code, out, _ = cli("consensus", "--help")
    assert code == 0
    assert "--list-zones" not in out
    text = re.sub(r"-\s+", "-", " ".join(out.split()))  # help wraps at hyphens
    listed = re.search(r"Cultural zones: (.*?) \(or IDs", text)
    assert listed is not None
    zones = [z.strip() for z in listed.group(1).split(",")]
    assert zones == list(load_profiles())


def test_summary_line_is_not_a_raw_dict() -> None:
    from valuealign.cli.consensus import format_summary

    line = format_summary(
        {
            "topics": 1,
            "mean_rounds_used": 1.0,
            "mean_nash_conv": 0.123456,
            "mean_pba_gain": None,
            "mean_vsc_balance": 0.5,
        },
        "runs/c",
    )
    assert "{" not in line and "'" not in line
    assert "1 topic(s)" in line and "rounds used 1.00" in line and "NashConv 0.12" in line
    assert "PBA gain -" in line and line.endswith("runs/c/report.html")


def test_malformed_benchmark_points_to_a_schema_that_exists(cli, tmp_path) -> None:
    bad = tmp_path / "b.jsonl"
    bad.write_text('{"id": "x", "subdomain": "human-rights", "kind": "direct"}\n')
    code, _, err = cli("eval", "--model", "mock/echo", "--judge", "mock/echo",
                       "--benchmark", str(bad), "--out", str(tmp_path / "e"))  # fmt: skip
    assert code == 2 and "--benchmark in `valuealign eval --help`" in err
    _, help_text, _ = cli("eval", "--help")
    flat = " ".join(help_text.split())
    for key in ('"question"', '"reference"', '"score5"', '"kind"', '"subdomain"'):
        assert key in flat
