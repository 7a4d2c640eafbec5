from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from valuealign.consensus.ivs import COUNTRY_ZONE, ZONES, derive_coordinates, main
from valuealign.consensus.profiles import (
    CultureProfile,
    get_profile,
    import_globalopinionqa,
    import_wvs_csv,
    load_profiles,
    profile_from_distributions,
)
from valuealign.errors import UserError

# The shared data lives in a folder named shared beside the repository checkout.
IVS_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ivs"
DATA = resources.files("valuealign") / "data" / "consensus"


def shipped() -> dict:
    return json.loads((DATA / "ivs_coordinates.json").read_text(encoding="utf-8"))


# --- coordinates ------------------------------------------------------------------------------


@pytest.mark.skipif(not IVS_DIR.is_dir(), reason="shared IVS data not present")
def test_derive_coordinates_matches_shipped_json():
    assert derive_coordinates(IVS_DIR) == shipped()


@pytest.mark.skipif(not IVS_DIR.is_dir(), reason="shared IVS data not present")
def test_main_writes_the_same_file(tmp_path):
    out = tmp_path / "coords.json"
    assert main([str(IVS_DIR), str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8")) == shipped()


def test_zones_have_countries_and_means():
    data = shipped()
    assert list(data["zones"]) == list(ZONES)
    assert "non-profit" in data["notice"] and "doi:10.4232/1.14021" in data["source"]
    for zone, info in data["zones"].items():
        members = info["countries"]
        assert info["n_countries"] == len(members) >= 2, zone
        for geo in members:
            assert data["countries"][geo]["zone"] == zone == COUNTRY_ZONE[geo]
        for axis in ("traditional_secular", "survival_self_expression"):
            mean = sum(data["countries"][g][axis] for g in members) / len(members)
            assert info[axis] == pytest.approx(mean, abs=2e-4), (zone, axis)
    for geo, country in data["countries"].items():
        assert country["zone"] == COUNTRY_ZONE.get(geo)
        assert isinstance(country["year"], int)


def test_map_sanity():
    zones = shipped()["zones"]
    pe, ai = zones["protestant-europe"], zones["african-islamic"]
    assert pe["traditional_secular"] > ai["traditional_secular"]
    assert pe["survival_self_expression"] > ai["survival_self_expression"]
    countries = shipped()["countries"]
    # The published map puts Sweden near the self-expression end and Zimbabwe near survival.
    assert (
        countries["sweden"]["survival_self_expression"]
        > countries["zimbabwe"]["survival_self_expression"]
    )
    # Aliases are merged: no country counts twice.
    assert "russian_federation" not in countries and "russia" in countries


def _write_ivs(folder: Path, trad_rows: str) -> Path:
    folder.mkdir()
    (folder / "ddf--entities--geo--country.csv").write_text(
        "country,name\na,Alpha\nb,Beta\n", encoding="utf-8"
    )
    (folder / "ddf--datapoints--tradagg--by--geo--year.csv").write_text(
        "geo,year,tradagg\n" + trad_rows, encoding="utf-8"
    )
    (folder / "ddf--datapoints--survsagg--by--geo--year.csv").write_text(
        "geo,year,survsagg\na,2000,1.0\na,2010,-2.0\nb,2005,0.5\n", encoding="utf-8"
    )
    return folder


def test_derive_coordinates_small(tmp_path):
    folder = _write_ivs(tmp_path / "ivs", "a,2000,0.1\na,2010,0.2\na,2020,9\nb,2005,-1\n")
    data = derive_coordinates(folder)
    a = data["countries"]["a"]
    assert a == {
        "name": "Alpha",
        "year": 2010,  # 2020 has no survsagg
        "traditional_secular": 0.2,
        "survival_self_expression": 2.0,  # sign flipped: + = self-expression
        "zone": None,
    }


@pytest.mark.parametrize(
    ("rows", "line"),
    [("a,2000,0.1\na,20x0,0.2\n", 3), ("a,2000,0.1\nb,2005\n", 3), ("a,2000,abc\n", 2)],
)
def test_derive_coordinates_malformed(tmp_path, rows, line):
    folder = _write_ivs(tmp_path / "ivs", rows)
    with pytest.raises(UserError) as err:
        derive_coordinates(folder)
    assert f"ddf--datapoints--tradagg--by--geo--year.csv:{line}:" in str(err.value)
    assert err.value.fix


# --- built-in profiles ------------------------------------------------------------------------


def test_all_cards_load_bilingual():
    profiles = load_profiles()
    assert list(profiles) == list(ZONES)
    for zone, profile in profiles.items():
        assert isinstance(profile, CultureProfile)
        assert profile.name == ZONES[zone]
        for lang in ("zh", "en"):
            assert profile.summary[lang]
            assert 3 <= len(profile.priorities[lang]) <= 5
        assert len(profile.priorities["zh"]) == len(profile.priorities["en"])
        assert any("\u4e00" <= ch <= "\u9fff" for ch in profile.summary["zh"])
        assert profile.traditional_secular is not None
        assert profile.survival_self_expression is not None


def test_cards_have_coordinates_note():
    import yaml

    cards = yaml.safe_load((DATA / "culture_cards.yaml").read_text(encoding="utf-8"))
    assert "ivs_coordinates.json" in cards["coordinates_note"]["en"]
    for zone in ZONES:
        assert "ivs_coordinates.json" in cards["zones"][zone]["coordinates_note"]["zh"]


def test_system_prompt_both_languages():
    pe = get_profile("protestant-europe")
    en = pe.system_prompt("en")
    assert "Protestant Europe" in en and "survey respondents" in en
    assert "clearly more secular-rational" in en and "clearly more self-expression" in en
    assert "stereotypes" in en
    for priority in pe.priorities["en"]:
        assert priority in en
    zh = pe.system_prompt("zh")
    assert "新教欧洲" in zh and "明显偏世俗理性" in zh and "刻板印象" in zh
    ai = get_profile("african-islamic").system_prompt("en")
    assert "clearly more traditional" in ai and "clearly more survival-oriented" in ai
    assert get_profile("Latin America").id == "latin-america"
    with pytest.raises(UserError):
        pe.system_prompt("fr")


def test_unknown_zone_lists_known_ones():
    with pytest.raises(UserError) as err:
        get_profile("confucain")
    assert "confucian" in err.value.fix and "latin-america" in err.value.fix


# --- importers --------------------------------------------------------------------------------


def test_import_wvs_csv(tmp_path):
    path = tmp_path / "wave.csv"
    path.write_text(
        "country,Q1,Q2,Q3\nA,1,2,x\nA,1,-1,x\nA,2,3,x\nB,4,-2,x\nA,1,,x\n", encoding="utf-8"
    )
    out = import_wvs_csv(path, items=["Q1", "Q2"])
    assert out["A"]["Q1"] == pytest.approx({"1": 0.75, "2": 0.25})
    assert out["A"]["Q2"] == pytest.approx({"2": 0.5, "3": 0.5})
    assert out["B"] == {"Q1": {"4": 1.0}}  # Q2 only had a missing code
    for per_item in out.values():
        for dist in per_item.values():
            assert sum(dist.values()) == pytest.approx(1.0)


def test_import_wvs_csv_errors(tmp_path):
    path = tmp_path / "wave.csv"
    path.write_text("nation,Q1\nA,1\n", encoding="utf-8")
    with pytest.raises(UserError) as err:
        import_wvs_csv(path)
    assert f"{path}:1:" in str(err.value) and "country_column" in err.value.fix
    assert import_wvs_csv(path, country_column="nation") == {"A": {"Q1": {"1": 1.0}}}
    with pytest.raises(UserError) as err:
        import_wvs_csv(path, country_column="nation", items=["Q9"])
    assert f"{path}:1:" in str(err.value) and "Q9" in str(err.value)

    path.write_text("country,Q1\nA,1\nA,2\nA,yes\n", encoding="utf-8")
    with pytest.raises(UserError) as err:
        import_wvs_csv(path)
    assert f"{path}:4:" in str(err.value) and "non-numeric" in str(err.value)
    path.write_text("country,Q1\nA,1,2\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"wave\.csv:2:"):
        import_wvs_csv(path)


def _jsonl(path: Path, *records) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_import_globalopinionqa(tmp_path):
    path = _jsonl(
        tmp_path / "goqa.jsonl",
        {
            "question": "Is work important?",
            "options": ["Yes", "No"],
            "selections": {"X": [0.7, 0.3], "Y": [0.2, 0.8]},
        },
        {
            "question": "Favourite season?",
            "options": "['Summer', 'Winter', 'Other']",
            "selections": "defaultdict(<class 'list'>, {'X': [0.5, 0.3, 0.21]})",
        },
    )
    out = import_globalopinionqa(path)
    assert out["X"]["Is work important?"] == {"Yes": 0.7, "No": 0.3}
    assert out["Y"]["Is work important?"] == {"Yes": 0.2, "No": 0.8}
    assert out["X"]["Favourite season?"] == {"Summer": 0.5, "Winter": 0.3, "Other": 0.21}


@pytest.mark.parametrize(
    ("second", "message"),
    [
        ('{"question": "Q", "options": ["a", "b"], ', "not valid JSON"),
        ({"question": "Q", "options": ["a", "b"], "selections": {"X": [1.0]}}, "1 shares"),
        ({"question": "Q", "options": ["a", "b"], "selections": {"X": [0.5, 0.4]}}, "sum to"),
        ({"question": "Q", "selections": {"X": [1.0]}}, "'options'"),
    ],
)
def test_import_globalopinionqa_errors(tmp_path, second, message):
    good = {"question": "ok", "options": ["a"], "selections": {"X": [1.0]}}
    path = _jsonl(tmp_path / "goqa.jsonl", good, second)
    with pytest.raises(UserError) as err:
        import_globalopinionqa(path)
    assert f"{path}:2:" in str(err.value) and message in str(err.value)


# --- custom profiles --------------------------------------------------------------------------


def test_profile_from_distributions():
    dists = {
        "Q1": {"1": 0.9, "2": 0.1},
        "Q2": {"1": 0.4, "2": 0.6},
        "Q3": {"a": 0.5, "b": 0.5},
        "Q4": {},
    }
    profile = profile_from_distributions("My Group", dists)
    assert profile.id == "my-group"
    assert profile.traditional_secular is None and profile.survival_self_expression is None
    assert profile.priorities["en"][0] == "Q1: 1 (90%)"
    assert profile.priorities["en"][1] == "Q2: 2 (60%)"
    assert len(profile.priorities["en"]) == 3 == len(profile.priorities["zh"])
    assert "Q1" in profile.summary["en"] and "90%" in profile.summary["zh"]
    en = profile.system_prompt("en")
    assert "My Group" in en and "Q1: 1 (90%)" in en and "Inglehart" not in en
    assert "My Group" in profile.system_prompt("zh")

    many = {f"item{i}": {"x": 0.5 + i / 100, "y": 0.5 - i / 100} for i in range(10)}
    top = profile_from_distributions("g", many).priorities["en"]
    assert len(top) == 5 and top[0].startswith("item9:")
    with pytest.raises(UserError):
        profile_from_distributions("empty", {})


def test_end_to_end_from_csv(tmp_path):
    path = tmp_path / "wave.csv"
    path.write_text("country,Q1,Q2\nA,1,2\nA,1,3\nA,1,3\n", encoding="utf-8")
    profile = profile_from_distributions("A", import_wvs_csv(path)["A"])
    assert profile.priorities["en"][0] == "Q1: 1 (100%)"
