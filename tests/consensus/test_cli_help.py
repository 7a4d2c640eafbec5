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
