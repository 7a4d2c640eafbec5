"""The Inglehart-Welzel construction (country-level PCA, two varimax components) and the
placement of an agent from its answers, checked on hand-computed answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from valuealign.consensus.agents import ITEMS, position, survey_code, zone_check
from valuealign.consensus.culturalmap import (
    ITEM_IDS,
    SURVEY_ITEMS,
    fit_cultural_map,
    read_item_means,
    varimax,
)
from valuealign.errors import UserError

# Four societies built from two latent values: t (secular-rational) and s (self-expression),
# t = (-1, 1, -1, 1), s = (-1, -1, 1, 1): mean 0, orthogonal, sample SD sqrt(4/3).
# Every item mean is a + b * t (or s), b's sign set by the item's secular / self-expression pole.
T = (-1.0, 1.0, -1.0, 1.0)
S = (-1.0, -1.0, 1.0, 1.0)
LINES = {  # item: (a, b, latent)
    "Q164": (6.0, -2.0, "t"),  # God: important = traditional
    "Y003": (0.0, 1.0, "t"),  # autonomy index -2..2
    "Q184": (5.0, 2.0, "t"),  # abortion justifiable
    "Q27": (2.0, 0.5, "t"),  # 1 very proud .. 4 not at all proud
    "Q45": (2.0, 0.5, "t"),  # respect for authority: 1 a good thing .. 3 a bad thing
    "Y002": (2.0, 0.5, "s"),  # 1 materialist .. 3 post-materialist
    "Q46": (2.0, -0.5, "s"),  # 1 very happy .. 4 not at all happy
    "Q182": (5.0, 3.0, "s"),  # homosexuality justifiable
    "Q209": (2.0, -0.5, "s"),  # petition: 1 have done .. 3 would never
    "Q57": (1.5, -0.25, "s"),  # trust: 1 most people can be trusted, 2 be very careful
}
SD = math.sqrt(4 / 3)


def _society(t: float, s: float) -> dict[str, float]:
    return {i: a + b * (t if lat == "t" else s) for i, (a, b, lat) in LINES.items()}


COUNTRIES = {f"c{k}": _society(t, s) for k, (t, s) in enumerate(zip(T, S, strict=True))}


def test_fitted_map_recovers_the_two_latent_values() -> None:
    cmap = fit_cultural_map(COUNTRIES)
    # each country's coordinates are its standardised latent values: +-1 / sqrt(4/3)
    for k, name in enumerate(sorted(COUNTRIES)):
        ts, sse = cmap.countries[name]
        assert ts == pytest.approx(T[k] / SD, abs=1e-9)
        assert sse == pytest.approx(S[k] / SD, abs=1e-9)
    # simple structure: the five traditional/secular items load +-1 on the first column only
    for row, item in zip(cmap.loadings, SURVEY_ITEMS, strict=True):
        own, other = (0, 1) if item.dimension == "ts" else (1, 0)
        assert abs(row[own]) == pytest.approx(1.0, abs=1e-9)
        assert row[other] == pytest.approx(0.0, abs=1e-9)
        assert np.sign(row[own]) == item.pole


def test_an_agent_is_placed_from_hand_computed_answers() -> None:
    """Answers whose means are the society t = 0.5, s = -1 of the fixture: by hand
    TS = 0.5 / sqrt(4/3) = 0.4330, SSE = -1 / sqrt(4/3) = -0.8660."""
    cmap = fit_cultural_map(COUNTRIES)
    answers = {
        "Q164": [4, 6],  # mean 5 = 6 - 2 * 0.5
        "Y003": [3, 3, 2, 1, None],  # codes +2 +2 0 -2: mean 0.5; one unparsed
        "Q184": [5, 7, 6, 6],  # 6 = 5 + 2 * 0.5
        "Q27": [2, 2, 2, 3],  # 2.25
        "Q45": [3, 2, 2, 2],  # 2.25
        "Y002": [1, 2],  # 1.5 = 2 + 0.5 * -1
        "Q46": [2, 3],  # 2.5
        "Q182": [1, 3],  # 2 = 5 + 3 * -1
        "Q209": [2, 3],  # 2.5
        "Q57": [2, 2, 2, 1],  # 1.75
    }
    pos = position(answers, cmap)
    assert pos["method"] == "factor scores"
    assert pos["traditional_secular"] == pytest.approx(0.4330, abs=1e-4)
    assert pos["survival_self_expression"] == pytest.approx(-0.8660, abs=1e-4)
    assert pos["unparsed"] == 1 and pos["item_means"]["Y003"] == 0.5
    # and the distance check on those coordinates: zone a at (0.4330, -0.4660) is 0.4 away,
    # zone b at (1.0330, -0.8660) is 0.6 away
    zones = {
        "a": {"traditional_secular": 0.4330, "survival_self_expression": -0.4660},
        "b": {"traditional_secular": 1.0330, "survival_self_expression": -0.8660},
    }
    assert zone_check(pos, "b", zones) == {
        "distance": pytest.approx(0.6, abs=1e-4),
        "nearest_zone": "a",
        "in_own_zone": False,
    }
    # an item with no parsed answer: not placed, and said so
    pos = position({**answers, "Q57": [None]}, cmap)
    assert pos["traditional_secular"] is None and "not placed" in pos["method"]


def test_y003_answers_are_autonomy_index_codes() -> None:
    y003 = next(i for i in ITEMS if i.id == "Y003")
    q164 = next(i for i in ITEMS if i.id == "Q164")
    assert [survey_code(y003, a) for a in (1, 2, 3)] == [-2.0, 0.0, 2.0]
    assert survey_code(q164, 7) == 7.0
    assert {i.id for i in ITEMS} == set(ITEM_IDS)


def test_a_country_placed_as_an_agent_lands_on_its_own_fitted_coordinates() -> None:
    rng = np.random.default_rng(3)
    countries = {
        f"k{n}": {i: a + b * rng.normal() * (1 + 0.3 * n) for i, (a, b, _) in LINES.items()}
        for n in range(8)
    }
    cmap = fit_cultural_map(countries)
    coords = np.asarray(list(cmap.countries.values()))
    assert coords.mean(axis=0) == pytest.approx([0, 0], abs=1e-9)
    assert coords.std(axis=0, ddof=1) == pytest.approx([1, 1], abs=1e-9)
    for name, means in countries.items():
        assert cmap.place(means) == pytest.approx(cmap.countries[name], abs=1e-9)


def test_varimax_against_the_two_factor_angle_formula() -> None:
    """For two factors, varimax (raw, on unit-communality rows) is a rotation by the angle
    that maximises the variance of squared loadings; check it against a grid search."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=(10, 2))
    a /= np.linalg.norm(a, axis=1, keepdims=True)  # unit rows: Kaiser normalisation is a no-op

    def crit(m: np.ndarray) -> float:
        return float(((m**2) ** 2).mean(axis=0).sum() - ((m**2).mean(axis=0) ** 2).sum())

    best = max(
        (
            np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
            for t in np.linspace(0, math.pi / 2, 20001)
        ),
        key=lambda r: crit(a @ r),
    )
    assert crit(varimax(a)) == pytest.approx(crit(a @ best), abs=1e-7)


def test_read_item_means_from_a_respondent_file(tmp_path) -> None:
    f = tmp_path / "wvs.csv"
    header = "B_COUNTRY_ALPHA,W_WEIGHT," + ",".join(ITEM_IDS)
    # Y003 -2 is a valid code, Q164 -1 (don't know) is missing; weights 1 and 3
    f.write_text(
        header
        + "\nAAA,1,2,-2,5,1,1,2,1,5,1,1\nAAA,3,-1,2,9,3,3,3,3,9,3,2\n"
        + "BBB,1,"
        + ",".join(["1"] * 10)
        + "\n"
    )
    means = read_item_means(f, weight_column="W_WEIGHT")
    assert means["AAA"]["Q164"] == 2.0  # only the first respondent answered
    assert means["AAA"]["Y003"] == pytest.approx((1 * -2 + 3 * 2) / 4)
    assert means["AAA"]["Q184"] == pytest.approx((5 + 27) / 4)
    assert means["BBB"]["Y003"] == 1.0
    bad = tmp_path / "bad.csv"
    bad.write_text("country,Q46\nX,1\n")
    with pytest.raises(UserError, match="no column for item") as exc:
        read_item_means(bad)
    assert exc.value.exit_code == 2


def test_too_few_countries_is_a_clear_error() -> None:
    with pytest.raises(UserError, match="at least 3"):
        fit_cultural_map({k: COUNTRIES[k] for k in ("c0", "c1")})


def test_cli_validate_agents_places_agents_by_the_fitted_map(cli, tmp_path) -> None:
    """Every answer "2" (valid on every item; Y003 2 = autonomy 0). By hand on the fixture map,
    where a score is (1/5) * sum of pole * (mean - a) / (|b| * sqrt(4/3)) over a dimension's
    items: TS (Q164 +2, Y003 0, Q184 -1.5, Q27 0, Q45 0) = 0.5 / (5 sqrt(4/3)) = 0.0866;
    SSE (Y002 0, Q46 0, Q182 -1, Q209 0, Q57 -2) = -3 / (5 sqrt(4/3)) = -0.5196."""
    import json

    from valuealign.backends import FunctionBackend, register_mock, unregister_mock

    survey = tmp_path / "means.csv"
    survey.write_text(
        "country,"
        + ",".join(ITEM_IDS)
        + "\n"
        + "".join(
            f"{c}," + ",".join(str(m[i]) for i in ITEM_IDS) + "\n" for c, m in COUNTRIES.items()
        )
    )
    register_mock("two", FunctionBackend(lambda messages, config: "2", name="mock/two"))
    try:
        code, out, err = cli(
            "consensus", "validate-agents", "--zones", "confucian,protestant-europe",
            "--model", "mock/two", "--personas", "2", "--map-survey", str(survey),
            "--out", str(tmp_path / "v"),
        )  # fmt: skip
    finally:
        unregister_mock("two")
    assert code == 0, err
    assert "factor scores" in out and "fitted on 4 countries" in out
    report = json.loads((tmp_path / "v" / "validation.json").read_text())
    pos = report["results"]["prompt-only"]["confucian"]["position"]
    assert pos["traditional_secular"] == pytest.approx(0.0866, abs=1e-4)
    assert pos["survival_self_expression"] == pytest.approx(-0.5196, abs=1e-4)
    assert report["map"]["n_countries"] == 4
    assert "factor scores" in (tmp_path / "v" / "report.html").read_text()
