"""Taxonomies (Schwartz 10 / 19), value targets and the `values list` / `values target` CLI."""

from __future__ import annotations

import dataclasses
import json
import re

import numpy as np
import pytest

from valuealign.errors import UserError
from valuealign.values import (
    SCHWARTZ10,
    SCHWARTZ19,
    VALUES,
    ValueTarget,
    ValueVector,
    get_taxonomy,
    parse_target,
)

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_two_taxonomies_with_bilingual_names_and_definitions():
    assert get_taxonomy() is SCHWARTZ10
    assert get_taxonomy("schwartz19") is SCHWARTZ19 and get_taxonomy("19") is SCHWARTZ19
    assert SCHWARTZ10.values == VALUES
    assert len(SCHWARTZ19) == 19 and len(set(SCHWARTZ19.values)) == 19
    for tax in (SCHWARTZ10, SCHWARTZ19):
        for v in tax.values:
            assert re.fullmatch(r"[a-z]+(?:-[a-z]+)*", v)
            assert CJK.search(tax.name(v, "zh")) and CJK.search(tax.definition(v, "zh"))
            assert not CJK.search(tax.name(v, "en")) and not CJK.search(tax.definition(v, "en"))
            assert tax.parent[v] in VALUES
    # every basic value has at least one refined child; face -> power, humility -> tradition
    assert all(SCHWARTZ19.children(b) for b in VALUES)
    assert SCHWARTZ19.parent["face"] == "power" and SCHWARTZ19.parent["humility"] == "tradition"
    assert SCHWARTZ19.children("universalism") == (
        "universalism-concern",
        "universalism-nature",
        "universalism-tolerance",
    )
    with pytest.raises(UserError, match="unknown taxonomy"):
        get_taxonomy("schwartz12")


def test_value_names_resolve_leniently_and_unknown_names_list_the_valid_ones():
    assert SCHWARTZ19.resolve("Universalism–nature") == "universalism-nature"
    assert SCHWARTZ19.resolve("self_direction thought") == "self-direction-thought"
    assert SCHWARTZ19.resolve("普世-自然") == "universalism-nature"
    assert SCHWARTZ10.resolve("传统") == "tradition"
    assert SCHWARTZ10.index("Self-Direction") == 0
    with pytest.raises(UserError) as err:
        SCHWARTZ10.resolve("securty")
    assert "securty" in err.value.message and "universalism" in (err.value.fix or "")
    with pytest.raises(UserError, match="schwartz10 value"):
        SCHWARTZ19.resolve("security")  # a basic value is not a refined one: says so


def test_projection_from_19_to_10():
    vec = np.zeros(19)
    vec[SCHWARTZ19.index("security-personal")] = 1.0
    vec[SCHWARTZ19.index("universalism-nature")] = 1.0
    vec[SCHWARTZ19.index("universalism-tolerance")] = -1.0
    vec[SCHWARTZ19.index("face")] = 0.5
    out = SCHWARTZ19.project(vec, "schwartz10")
    assert out.shape == (10,)
    assert out[VALUES.index("security")] == 1.0  # mean of the non-zero children
    assert out[VALUES.index("universalism")] == 0.0  # +1 and -1 cancel
    assert out[VALUES.index("power")] == 0.5
    matrix = np.vstack([vec, np.full(19, np.nan)])
    projected = SCHWARTZ19.project(matrix, SCHWARTZ10)
    assert np.array_equal(projected[0], out) and np.isnan(projected[1]).all()
    assert np.array_equal(SCHWARTZ10.project(np.ones(10), SCHWARTZ10), np.ones(10))
    with pytest.raises(UserError):
        SCHWARTZ10.project(np.ones(10), SCHWARTZ19)


def test_target_parse_vector_mask_and_round_trip():
    t = ValueTarget.parse("tradition=+1, security=+1; self-direction=-1")
    assert ValueVector is ValueTarget
    assert t.taxonomy is SCHWARTZ10
    assert t.vector.shape == (10,) and t.mask.dtype == bool
    assert t.vector[VALUES.index("tradition")] == 1.0
    assert t.vector[VALUES.index("self-direction")] == -1.0
    assert t.mask.sum() == 3 and not t.mask[VALUES.index("power")]
    assert t.get("power") is None and t.get("security") == 1.0
    assert t.values == ("self-direction", "security", "tradition")
    assert str(t) == "self-direction=-1,security=+1,tradition=+1"
    assert ValueTarget.parse(str(t)) == t
    assert ValueTarget.from_dict(t.to_dict()) == t
    assert parse_target({"传统": 1, "Self-Direction": "-1", "security": 1}) == t
    assert hash(t) == hash(ValueTarget.parse(str(t)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.weights = ()  # type: ignore[misc]
    t.vector[0] = 0.5  # a copy: the target does not change
    assert t.vector[0] == -1.0

    neutral = ValueTarget.parse("power=0,hedonism=0.5")
    assert neutral.mask[VALUES.index("power")] and neutral.get("power") == 0.0
    assert str(neutral) == "hedonism=+0.5,power=0"


def test_target_over_19_values_projects_to_10():
    t = ValueTarget.parse("universalism-nature=+1,face=-1", "schwartz19")
    assert t.vector.shape == (19,)
    basic = t.project("schwartz10")
    assert basic.to_dict() == {"power": -1.0, "universalism": 1.0}


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("tradition=+1,securty=+1", "securty"),
        ("tradition+1", "tradition+1"),
        ("tradition=+1,=1", "=1"),
        ("tradition=high", "high"),
        ("tradition=2", "tradition=2"),
        ("tradition=1,Tradition=-1", "tradition"),
        ("", "empty"),
        (" , ", "empty"),
    ],
)
def test_bad_targets_raise_user_errors_naming_the_token(text, bad):
    with pytest.raises(UserError) as err:
        ValueTarget.parse(text)
    assert bad in err.value.render()


def test_dict_targets_are_checked_too():
    with pytest.raises(UserError, match="nope"):
        ValueTarget.from_dict({"nope": 1})
    with pytest.raises(UserError, match="outside"):
        ValueTarget.from_dict({"tradition": -3})
    with pytest.raises(UserError):
        ValueTarget.from_dict({"tradition": True})
    with pytest.raises(UserError, match="mapping"):
        ValueTarget.from_dict(["tradition"])  # type: ignore[arg-type]


def test_cli_values_list_and_target(cli):
    code, out, _ = cli("values", "list", "--taxonomy", "schwartz19")
    assert code == 0
    assert "universalism-tolerance" in out and "普世-包容" in out and "[universalism]" in out
    code, out, _ = cli("values", "list", "--json", "--language", "en")
    assert code == 0 and len(json.loads(out)["values"]) == 10

    code, out, _ = cli("values", "target", "tradition=+1,security=+1,self-direction=-1")
    assert code == 0 and "self-direction=-1,security=+1,tradition=+1" in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("values", "target", "tradition=+1,securty=+1"), "securty"),
        (("values", "target", "tradition"), "malformed"),
        (("values", "target", "security=1", "--taxonomy", "schwartz19"), "security"),
        (("values", "list", "--taxonomy", "hofstede"), "unknown taxonomy"),
    ],
)
def test_cli_bad_target_or_taxonomy_exits_2(cli, args, needle):
    code, out, err = cli(*args)
    assert code == 2
    assert needle in err and "fix:" in err and "Traceback" not in err + out
