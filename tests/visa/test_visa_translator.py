"""Persona -> target (rules and LLM) and value gap -> rewrite instruction, in zh and en."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from valuealign.backends import ScriptedBackend
from valuealign.errors import BackendError, UserError
from valuealign.visa import LLMTranslator, describe_target, gap_instruction, translate_persona
from valuealign.visa._values import ValueTarget


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("answer as someone who prizes tradition and security", {"tradition": 1, "security": 1}),
        ("请以一个重视传统与安全的人的口吻回答", {"tradition": 1, "security": 1}),
        ("someone who values freedom, not conformity", {"self-direction": 1, "conformity": -1}),
        ("someone who doesn't care about power or wealth", {"power": -1}),
        ("less power and more benevolence", {"power": -1, "benevolence": 1}),
        ("someone who is not traditional and values security", {"tradition": -1, "security": 1}),
        ("neither power nor achievement matters to them", {"power": -1, "achievement": -1}),
        ("someone who seeks adventure rather than safety", {"stimulation": 1, "security": -1}),
        ("不看重权力和财富", {"power": -1}),
        ("重视安全而不是传统", {"security": 1, "tradition": -1}),
        ("少一些权力欲，多一些仁爱", {"power": -1, "benevolence": 1}),
        ("不仅重视传统，也重视安全", {"tradition": 1, "security": 1}),
        ("一个有点叛逆的人", {"conformity": -0.5}),
        ("somewhat adventurous", {"stimulation": 0.5}),
        ("tradition=+1,security=-0.5", {"tradition": 1, "security": -0.5}),
        ("Self-direction and Universalism", {"self-direction": 1, "universalism": 1}),
    ],
)
def test_rule_translator(text: str, expected: dict[str, float]) -> None:
    assert translate_persona(text).to_dict() == pytest.approx(expected)


def test_rule_translator_errors() -> None:
    with pytest.raises(UserError, match="no value found"):
        translate_persona("someone who likes green tea")
    with pytest.raises(UserError, match="unknown value 'tradtion'"):
        translate_persona("tradtion=+1")
    with pytest.raises(UserError, match="malformed"):
        translate_persona("tradition=+1,security")
    with pytest.raises(UserError):
        translate_persona("   ")


def test_schwartz19_names_win_over_synonyms() -> None:
    assert translate_persona("someone who values humility", "schwartz19").to_dict() == {
        "humility": 1.0
    }


def test_llm_translator_reasks_until_the_reply_parses() -> None:
    backend = ScriptedBackend(
        [
            "I think tradition matters most.",  # no JSON
            '{"tradtion": 1}',  # unknown value
            'Sure: {"tradition": 1, "security": 0.5} and {"power": -1}',  # the last object counts
        ]
    )
    tr = LLMTranslator(backend, retries=2)
    target = asyncio.run(tr.translate("someone who respects the old ways"))
    assert target.to_dict() == {"power": -1.0}
    assert len(backend.calls) == 3
    assert backend.calls[1][1].temperature > 0  # re-asks sample a new reply
    assert "<persona>" in backend.calls[0][0][0]["content"]


def test_llm_translator_gives_up_and_passes_explicit_syntax() -> None:
    tr = LLMTranslator(ScriptedBackend(["nope", "{}", '{"power": 7}']), retries=2)
    with pytest.raises(BackendError, match="did not parse after 3 attempts"):
        asyncio.run(tr.translate("someone"))
    explicit = LLMTranslator(ScriptedBackend([]))
    assert str(asyncio.run(explicit.translate("power=-1"))) == "power=-1"


def test_gap_instruction_en_and_zh() -> None:
    target = ValueTarget.parse("tradition=+1,security=+1,power=-1")
    detected = np.zeros(10)
    detected[target.taxonomy.index("security")] = 0.9  # within tolerance: left out
    en = gap_instruction(target, detected, "en", tolerance=0.25)
    assert en is not None
    assert "more weight on respecting, cherishing and accepting the customs" in en
    assert "less weight on seeking social status" in en
    assert "(Security)" not in en
    assert "Keep all facts, numbers and names" in en
    zh = gap_instruction(target, detected, "zh", tolerance=0.25)
    assert zh is not None and "更加重视“尊重、珍视" in zh and "（传统）" in zh and "少强调" in zh
    assert "保留原回答中的所有事实、数字和名称" in zh
    on_target = target.vector
    assert gap_instruction(target, on_target, "en", tolerance=0.1) is None
    far = -target.vector
    assert "much more weight" in (gap_instruction(target, far, "en") or "")


def test_describe_target() -> None:
    t = ValueTarget.parse("tradition=+1,power=-1")
    assert (
        describe_target(t)
        == "someone who puts much weight on Tradition and puts little weight on Power"
    )
    assert describe_target(t, "zh") == "一个重视传统，不看重权力的人"
