from pathlib import Path

import pytest

from valuealign.charter import LANGUAGES, actor_system_prompt, load_charter, parse_charter
from valuealign.charter._scaffold import SCAFFOLD
from valuealign.errors import UserError

EXPECTED = {
    "politics": [
        "sovereignty-territory",
        "political-systems",
        "international-relations",
        "historical-memory",
        "law-justice",
    ],
    "society": [
        "human-rights",
        "expression-information",
        "gender-sexuality",
        "social-equity",
        "public-safety-extremism",
    ],
    "ethnicity-religion": ["ethnicity-race", "religion-belief", "culture-tradition-migration"],
}


def test_default_charter_has_the_13_subdomains_in_both_languages() -> None:
    c = load_charter("builtin:balanced-v1")
    assert {d.id: [s.id for s in d.subdomains] for d in c.domains} == EXPECTED
    assert set(c.languages) == set(LANGUAGES)
    assert c.critic_threshold == 4
    for _, sub in c.subdomains():
        assert len(sub.positions) >= 3 and len(sub.red_lines) >= 2 and sub.example_questions
        for text in [
            sub.name,
            sub.description,
            *sub.positions,
            *sub.red_lines,
            *sub.example_questions,
        ]:
            assert text.zh and text.en
            assert any("\u4e00" <= ch <= "\u9fff" for ch in text.zh)


def test_actor_prompt_uses_positions_and_red_lines_in_the_language() -> None:
    c = load_charter()
    sub = c.subdomain("historical-memory")
    zh = actor_system_prompt(c, "historical-memory", "zh")
    en = actor_system_prompt(c, "historical-memory", "en")
    assert sub.positions[0].zh in zh and sub.red_lines[0].zh in zh and sub.positions[0].en not in zh
    assert sub.positions[0].en in en and sub.red_lines[-1].en in en


def test_scaffold_validates() -> None:
    c = parse_charter(SCAFFOLD, "scaffold.yaml")
    assert c.subdomain_ids() == ["example-subdomain"]


def _err(text: str) -> str:
    with pytest.raises(UserError) as info:
        parse_charter(text, "c.yaml")
    return info.value.render()


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_invalid_yaml_names_the_line() -> None:
    bad = SCAFFOLD.replace('version: "0.1"', 'version: "0.1\n  broken: [')
    assert _err(bad).startswith("c.yaml:")
    assert "invalid YAML" in _err(bad)


def test_unknown_key_names_line_and_suggests_fix() -> None:
    bad = SCAFFOLD.replace("        positions:", "        postions:")
    msg = _err(bad)
    assert f"c.yaml:{_line_of(bad, 'postions:')}: unknown key 'postions'" in msg
    assert "did you mean 'positions'" in msg
    # the missing 'positions' is the same typo, not a second problem to go looking for
    assert "more problem" not in msg
    both = bad.replace("critic_threshold: 4", "critic_threshold: 9")
    assert "unknown key 'postions' (and 1 more problem)" in _err(both)


def test_missing_translation_names_the_field_and_language() -> None:
    bad = SCAFFOLD.replace('  en: "My value charter"\n', "")
    msg = _err(bad)
    assert f"c.yaml:{_line_of(bad, 'title:')}: 'title' has no en text" in msg
    bad = SCAFFOLD.replace('            en: "Never fabricate history or statistics."\n', "")
    assert "red_lines.0' has no en text" in _err(bad)


def test_only_declared_languages_are_required() -> None:
    en_only = SCAFFOLD.replace("languages: [zh, en]", "languages: [en]").replace(
        '  zh: "我的价值宪章"\n', ""
    )
    assert parse_charter(en_only).languages == ["en"]


def test_empty_subdomain_list() -> None:
    head, _, _ = SCAFFOLD.partition("    subdomains:")
    bad = head + "    subdomains: []\n"
    msg = _err(bad)
    assert "'subdomains' must not be empty" in msg
    assert f"c.yaml:{_line_of(bad, 'subdomains: []')}" in msg


@pytest.mark.parametrize("value", ["7", "0", "4.5", '"4"', "true"])
def test_bad_threshold(value: str) -> None:
    bad = SCAFFOLD.replace("critic_threshold: 4", f"critic_threshold: {value}")
    msg = _err(bad)
    assert f"c.yaml:{_line_of(bad, 'critic_threshold:')}" in msg
    assert "critic_threshold" in msg and "1 to 5" in msg


def test_rubric_needs_all_five_levels() -> None:
    bad = SCAFFOLD.replace("  5:\n", "  6:\n")
    assert "exactly the levels 1, 2, 3, 4, 5" in _err(bad)


def test_duplicate_keys_and_ids_are_errors() -> None:
    assert "duplicate key 'id'" in _err(SCAFFOLD.replace("version:", "id: other\nversion:"))
    doubled = SCAFFOLD.replace("id: example-subdomain", "id: example-domain")
    assert "id 'example-domain' is used twice" in _err(doubled)


def test_unsupported_language_and_bad_id() -> None:
    assert "unsupported language 'fr'" in _err(SCAFFOLD.replace("[zh, en]", "[zh, fr]"))
    assert "is not a valid id" in _err(SCAFFOLD.replace("id: my-charter", "id: My Charter"))


def test_not_a_mapping() -> None:
    assert "must be a YAML mapping" in _err("- just\n- a list\n")


# -- CLI -----------------------------------------------------------------------------------


def test_cli_validate_ok_and_bad(cli, tmp_path: Path) -> None:
    code, out, _ = cli("charter", "validate", "builtin:balanced-v1")
    assert code == 0 and "13 subdomains" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text(SCAFFOLD.replace("        red_lines:", "        redlines:"), encoding="utf-8")
    code, out, err = cli("charter", "validate", str(bad))
    assert code == 2
    assert f"{bad}:{_line_of(bad.read_text(), 'redlines:')}: unknown key 'redlines'" in err
    assert "Traceback" not in err
    code, _, err = cli("charter", "validate", str(tmp_path / "nope.yaml"))
    assert code == 2 and "charter file not found" in err
    code, _, err = cli("charter", "validate", "builtin:nope")
    assert code == 2 and "builtin:balanced-v1" in err


def test_cli_validate_in_a_subprocess_exits_2() -> None:
    import subprocess
    import sys

    r = subprocess.run(
        [sys.executable, "-m", "valuealign", "charter", "validate", "/nonexistent/x.yaml"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert r.stderr.startswith("error: /nonexistent/x.yaml: charter file not found")


def test_cli_init_writes_a_valid_scaffold(cli, tmp_path: Path) -> None:
    target = tmp_path / "mine.yaml"
    code, _, _ = cli("charter", "init", str(target))
    assert code == 0 and target.exists()
    assert cli("charter", "validate", str(target))[0] == 0
    code, _, err = cli("charter", "init", str(target))
    assert code == 2 and "--force" in err


def test_cli_show(cli) -> None:
    code, out, _ = cli("charter", "show", "builtin:balanced-v1", "--lang", "zh")
    assert code == 0
    assert "[historical-memory]" in out and "政治" in out and "Politics" not in out
    code, out, _ = cli("charter", "show", "--format", "json")
    assert code == 0 and '"critic_threshold": 4' in out
    code, out, _ = cli("charter", "list")
    assert out.strip() == "builtin:balanced-v1"
