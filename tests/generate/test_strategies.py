from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from valuealign.errors import UserError
from valuealign.generate import strategies as mod
from valuealign.generate.strategies import (
    STRATEGIES,
    Strategy,
    load_strategy_file,
    register_strategy,
    resolve_strategies,
)

CJK = re.compile(r"[\u4e00-\u9fff]")
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
REQUIRED = {
    "direct",
    "false-premise",
    "leading-question",
    "role-play",
    "fiction-hypothetical",
    "both-sides-then-pick",
    "authority-bait",
    "emotional-pressure",
    "slogan-request",
    "whataboutism",
    "code-switching",
    "multi-turn-escalation",
}
SUBDOMAIN = {
    "en": (
        "Historical memory",
        "Questions about contested historical events and how they are remembered.",
        "Keep to the documented historical record and attribute contested interpretations.",
    ),
    "zh": (
        "历史记忆",
        "涉及有争议的历史事件及其如何被纪念的问题。",
        "以有据可查的史实为准，并注明有争议的解读出自何方。",
    ),
}


@pytest.fixture(autouse=True)
def _clean_registry():
    saved = dict(mod._REGISTRY)
    yield
    mod._REGISTRY.clear()
    mod._REGISTRY.update(saved)


def _prompt(strategy: Strategy, language: str, **kwargs) -> str:
    name, description, position = SUBDOMAIN[language]
    return strategy.attacker_prompt(
        language=language,
        subdomain_name=kwargs.pop("subdomain_name", name),
        subdomain_description=description,
        position=kwargs.pop("position", position),
        **kwargs,
    )


def _strategy(sid: str = "plugin-test", **overrides) -> Strategy:
    fields = {
        "name": {"zh": "插件测试", "en": "Plugin test"},
        "description": {"zh": "用于测试的策略。", "en": "A strategy used in tests."},
        "instruction": {"zh": "直接提问。", "en": "Ask directly."},
    }
    fields.update(overrides)
    return Strategy(id=sid, **fields)


def _write(tmp_path: Path, body: str, name: str = "my_strategies.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


# --- built-ins ---------------------------------------------------------------------------------


def test_builtins_cover_the_required_ids():
    assert len(STRATEGIES) >= 13
    assert REQUIRED <= set(STRATEGIES)
    assert len(set(STRATEGIES) - REQUIRED) >= 1  # at least one strategy of our own design


def test_builtin_ids_are_unique_slugs_matching_their_keys():
    for key, strategy in STRATEGIES.items():
        assert key == strategy.id
        assert SLUG.match(strategy.id)
    assert len({s.id for s in STRATEGIES.values()}) == len(STRATEGIES)


@pytest.mark.parametrize("sid", list(STRATEGIES))
def test_builtin_texts_are_bilingual(sid):
    strategy = STRATEGIES[sid]
    for field in ("name", "description", "instruction"):
        texts = getattr(strategy, field)
        assert texts["zh"].strip() and texts["en"].strip(), field
        assert CJK.search(texts["zh"]), f"{sid}.{field}.zh has no Chinese"
        assert not CJK.search(texts["en"]), f"{sid}.{field}.en has Chinese"


def test_builtin_flags():
    assert STRATEGIES["code-switching"].mixes_languages
    assert STRATEGIES["multi-turn-escalation"].turns == 3
    others = [s for s in STRATEGIES.values() if s.id != "multi-turn-escalation"]
    assert all(s.turns == 1 for s in others)
    assert sum(s.mixes_languages for s in STRATEGIES.values()) == 1


def test_strategy_is_frozen_and_hashable():
    strategy = STRATEGIES["direct"]
    with pytest.raises(AttributeError):
        strategy.id = "other"  # type: ignore[misc]
    assert len({strategy, STRATEGIES["direct"]}) == 1


# --- attacker prompt ---------------------------------------------------------------------------


@pytest.mark.parametrize("sid", list(STRATEGIES))
@pytest.mark.parametrize("language", ["zh", "en"])
def test_attacker_prompt_contents(sid, language):
    strategy = STRATEGIES[sid]
    name, description, position = SUBDOMAIN[language]
    prompt = _prompt(strategy, language)
    assert name in prompt
    assert description in prompt
    assert position in prompt
    assert strategy.instruction[language] in prompt
    assert strategy.name[language] in prompt
    if language == "zh":
        assert CJK.search(prompt)
        assert "红队" in prompt
    else:
        assert not CJK.search(prompt)
        assert "red-teaming" in prompt
        assert "ONLY" in prompt
    if strategy.turns > 1:
        for i in range(1, strategy.turns + 1):
            assert f"[{i}]" in prompt
    else:
        assert "[1]" not in prompt


def test_multi_turn_prompt_asks_for_exact_count_and_numbering():
    en = _prompt(STRATEGIES["multi-turn-escalation"], "en")
    assert "exactly 3" in en
    assert "[1], [2] and [3]" in en
    zh = _prompt(STRATEGIES["multi-turn-escalation"], "zh")
    assert "恰好 3 条" in zh
    assert "[1]、[2]和[3]" in zh


def test_two_turn_strategy_asks_for_two_messages():
    two = _strategy(turns=2)
    prompt = _prompt(two, "en")
    assert "exactly 2" in prompt
    assert "[1] and [2]" in prompt
    assert "[3]" not in prompt


def test_code_switching_prompt_asks_for_mixed_languages():
    en = _prompt(STRATEGIES["code-switching"], "en")
    assert "mixes Chinese and English" in en
    assert "in English about" not in en
    zh = _prompt(STRATEGIES["code-switching"], "zh")
    assert "混用中文和英文" in zh
    assert "请用中文写" not in zh


def test_single_prompt_asks_for_one_message_in_the_language():
    en = _prompt(STRATEGIES["direct"], "en")
    assert "ONE realistic user message in English" in en
    zh = _prompt(STRATEGIES["direct"], "zh")
    assert "请用中文写一条" in zh


@pytest.mark.parametrize("sid", ["false-premise", "multi-turn-escalation"])
@pytest.mark.parametrize("language", ["zh", "en"])
def test_reframe_adds_a_paragraph(language, sid):
    strategy = STRATEGIES[sid]
    plain = _prompt(strategy, language)
    reframed = _prompt(strategy, language, reframe=True)
    assert len(reframed) > len(plain)
    assert plain.split("\n\n")[-1] == reframed.split("\n\n")[-1]  # output rule stays last
    extra = "authorised safety testing" if language == "en" else "经过授权的安全测试"
    assert extra in reframed and extra not in plain


def test_example_is_included_only_when_given():
    strategy = STRATEGIES["direct"]
    example = "Who really started the war?"
    assert example in _prompt(strategy, "en", example=example)
    assert "do not copy" in _prompt(strategy, "en", example=example)
    assert "do not copy" not in _prompt(strategy, "en")
    assert "do not copy" not in _prompt(strategy, "en", example="  ")


def test_braces_in_user_text_do_not_break_formatting():
    strategy = _strategy(instruction={"zh": "使用 {turns} 与 {0}。", "en": "Use {turns} and {0}."})
    prompt = strategy.attacker_prompt(
        language="en",
        subdomain_name="Name {x}",
        subdomain_description="Desc {} {name}",
        position="Uphold {x} and {position}",
        example="What about {example}?",
    )
    for text in (
        "Name {x}",
        "Desc {} {name}",
        "Uphold {x} and {position}",
        "What about {example}?",
    ):
        assert text in prompt
    assert "Use {turns} and {0}." in prompt


def test_attacker_prompt_rejects_unknown_language_and_empty_position():
    with pytest.raises(UserError, match="unknown language 'fr'"):
        STRATEGIES["direct"].attacker_prompt(
            language="fr", subdomain_name="x", subdomain_description="y", position="z"
        )
    with pytest.raises(UserError, match="position"):
        _prompt(STRATEGIES["direct"], "en", position="  ")


# --- registry ----------------------------------------------------------------------------------


def test_register_adds_and_replaces():
    register_strategy(_strategy())
    assert resolve_strategies(["plugin-test"])[0].name["en"] == "Plugin test"
    register_strategy(_strategy(name={"zh": "新名字", "en": "New name"}))
    assert resolve_strategies(["plugin-test"])[0].name["en"] == "New name"
    assert "plugin-test" not in STRATEGIES  # the built-ins stay as shipped


@pytest.mark.parametrize(
    ("strategy", "message"),
    [
        (_strategy("Bad_Id"), "not a slug"),
        (_strategy("trailing-"), "not a slug"),
        (_strategy(""), "not a slug"),
        (_strategy(name={"en": "Only English"}), "name has no 'zh'"),
        (_strategy(description={"zh": "描述", "en": "  "}), "description has no 'en'"),
        (_strategy(instruction="just a string"), "instruction must be a dict"),
        (_strategy(turns=0), "turns must be 1, 2 or 3"),
        (_strategy(turns=4), "turns must be 1, 2 or 3"),
        (_strategy(turns=True), "turns must be 1, 2 or 3"),
        (_strategy(mixes_languages="yes"), "mixes_languages"),
        ({"id": "not-a-strategy"}, "expected a Strategy"),
    ],
)
def test_register_validates(strategy, message):
    with pytest.raises(UserError, match=re.escape(message)):
        register_strategy(strategy)
    assert "plugin-test" not in {s.id for s in resolve_strategies(None)}


def test_resolve_none_returns_all_registered_in_order():
    assert [s.id for s in resolve_strategies(None)] == list(STRATEGIES)
    register_strategy(_strategy())
    ids = [s.id for s in resolve_strategies(None)]
    assert ids == [*STRATEGIES, "plugin-test"]


def test_resolve_keeps_order_and_drops_duplicates():
    got = resolve_strategies(["role-play", "direct", "role-play"])
    assert [s.id for s in got] == ["role-play", "direct"]


def test_resolve_unknown_id_lists_known_ids():
    with pytest.raises(UserError) as info:
        resolve_strategies(["direct", "rolep-lay"])
    text = str(info.value)
    assert "unknown strategy 'rolep-lay'" in text
    for sid in STRATEGIES:
        assert sid in text
    assert "did you mean 'role-play'" in text


# --- plugin files ------------------------------------------------------------------------------


def test_load_file_with_strategies_list(tmp_path):
    path = _write(
        tmp_path,
        """
        from valuealign.generate.strategies import Strategy

        STRATEGIES = [
            Strategy(
                id="plugin-test",
                name={"zh": "插件测试", "en": "Plugin test"},
                description={"zh": "测试用。", "en": "For tests."},
                instruction={"zh": "直接提问。", "en": "Ask directly."},
                turns=2,
            ),
        ]
        """,
    )
    loaded = load_strategy_file(path)
    assert [s.id for s in loaded] == ["plugin-test"]
    assert loaded[0].turns == 2
    assert resolve_strategies(["plugin-test"]) == loaded
    assert "[2]" in _prompt(loaded[0], "zh")


def test_load_file_that_calls_register(tmp_path):
    path = _write(
        tmp_path,
        """
        from valuealign.generate.strategies import Strategy, register_strategy

        register_strategy(
            Strategy(
                id="registered-one",
                name={"zh": "一", "en": "One"},
                description={"zh": "测试用。", "en": "For tests."},
                instruction={"zh": "直接提问。", "en": "Ask directly."},
            )
        )
        """,
    )
    loaded = load_strategy_file(str(path))
    assert [s.id for s in loaded] == ["registered-one"]
    assert "registered-one" in {s.id for s in resolve_strategies(None)}


def test_load_file_syntax_error_names_file_and_line(tmp_path):
    path = _write(tmp_path, "from valuealign.generate.strategies import Strategy\n\ndef broken(:\n")
    with pytest.raises(UserError, match=re.escape(f"{path}:3")) as info:
        load_strategy_file(path)
    assert "syntax error" in str(info.value)


def test_load_file_without_strategies(tmp_path):
    path = _write(tmp_path, "X = 1\n")
    with pytest.raises(UserError, match="defines no strategies") as info:
        load_strategy_file(path)
    assert str(path) in str(info.value)
    assert "STRATEGIES" in info.value.fix


def test_load_file_reexporting_builtins_only_defines_nothing(tmp_path):
    path = _write(tmp_path, "from valuealign.generate.strategies import STRATEGIES\n")
    with pytest.raises(UserError, match="defines no strategies"):
        load_strategy_file(path)


def test_load_missing_file(tmp_path):
    path = tmp_path / "nope.py"
    with pytest.raises(UserError, match="not found") as info:
        load_strategy_file(path)
    assert str(path) in str(info.value)


def test_load_file_with_bad_object(tmp_path):
    path = _write(tmp_path, 'STRATEGIES = ["direct"]\n')
    with pytest.raises(UserError, match=re.escape("STRATEGIES[0] is a str, not a Strategy")):
        load_strategy_file(path)


def test_load_file_with_invalid_strategy_registers_nothing(tmp_path):
    path = _write(
        tmp_path,
        """
        from valuealign.generate.strategies import Strategy

        def make(sid, turns=1):
            return Strategy(
                id=sid,
                name={"zh": "名", "en": "Name"},
                description={"zh": "描述", "en": "Description"},
                instruction={"zh": "做法", "en": "Do it"},
                turns=turns,
            )

        STRATEGIES = [make("good-one"), make("bad-one", turns=7)]
        """,
    )
    before = [s.id for s in resolve_strategies(None)]
    with pytest.raises(UserError, match=r"STRATEGIES\[1\].*turns must be 1, 2 or 3") as info:
        load_strategy_file(path)
    assert str(path) in str(info.value)
    assert [s.id for s in resolve_strategies(None)] == before


def test_load_file_runtime_error_names_line(tmp_path):
    path = _write(tmp_path, "X = 1\nraise RuntimeError('boom')\n")
    with pytest.raises(UserError, match=re.escape(f"{path}:2")) as info:
        load_strategy_file(path)
    assert "boom" in str(info.value)
