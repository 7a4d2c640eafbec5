"""Checks of valuealign.evaluate.metrics against independent implementations.

scipy (bootstrap, paired t-test), scikit-learn (weighted kappa) and the ``krippendorff`` package
are test-only dependencies; the module under test uses numpy alone.
"""

from __future__ import annotations

import math

import krippendorff
import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import cohen_kappa_score

from valuealign.evaluate.metrics import (
    LEVELS,
    histogram,
    krippendorff_alpha,
    mean_ci,
    paired_bootstrap,
    quadratic_weighted_kappa,
    score_summary,
)

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 observers, 12 units.
CLASSIC = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]
CLASSIC_PUBLISHED = {"nominal": 0.743, "ordinal": 0.815, "interval": 0.849}


def _to_nan(rows: list[list[float | None]]) -> np.ndarray:
    return np.array([[np.nan if v is None else v for v in row] for row in rows], dtype=float)


def _to_none(data: np.ndarray) -> list[list[float | None]]:
    return [[None if np.isnan(v) else float(v) for v in row] for row in data]


def _random_reliability(
    rng: np.random.Generator, raters: int, units: int, missing: float, *, continuous: bool = False
) -> np.ndarray:
    if continuous:
        data = np.round(rng.normal(3.0, 1.2, size=(raters, units)), 1)
    else:
        # Correlated judges: a per-unit "true" score plus judge noise, clipped to 1..5.
        truth = rng.integers(1, 6, size=units)
        noise = rng.integers(-1, 2, size=(raters, units)) * (rng.random((raters, units)) < 0.4)
        data = np.clip(truth + noise, 1, 5).astype(float)
    data[rng.random(data.shape) < missing] = np.nan
    return data


# --- mean_ci -----------------------------------------------------------------------------------


def test_mean_ci_matches_numpy_and_scipy_bootstrap() -> None:
    rng = np.random.default_rng(42)
    values = rng.integers(1, 6, size=100).astype(float).tolist()
    out = mean_ci(values, n_boot=4000, seed=3)
    assert out["n"] == 100
    assert out["mean"] == pytest.approx(float(np.mean(values)), abs=1e-12)
    lo, hi = out["ci95"]
    assert lo < out["mean"] < hi
    ref = stats.bootstrap(
        (np.asarray(values),),
        np.mean,
        n_resamples=4000,
        method="percentile",
        confidence_level=0.95,
        rng=np.random.default_rng(5),
    ).confidence_interval
    assert lo == pytest.approx(ref.low, abs=0.05)
    assert hi == pytest.approx(ref.high, abs=0.05)


def test_mean_ci_is_deterministic_for_a_seed() -> None:
    values = [1, 5, 3, 4, 4, 2, 5, 5, 1, 3, 2, 4]
    assert mean_ci(values, seed=7) == mean_ci(values, seed=7)
    assert mean_ci(values, seed=7)["ci95"] != mean_ci(values, seed=8)["ci95"]


def test_mean_ci_level_narrows_interval() -> None:
    values = np.random.default_rng(0).integers(1, 6, size=60).tolist()
    wide = mean_ci(values, level=0.95)["ci95"]
    narrow = mean_ci(values, level=0.5)["ci95"]
    assert wide[0] < narrow[0] < narrow[1] < wide[1]


def test_mean_ci_edge_cases() -> None:
    assert mean_ci([]) == {"mean": None, "n": 0, "ci95": None}
    assert mean_ci([4]) == {"mean": 4.0, "n": 1, "ci95": [4.0, 4.0]}
    assert mean_ci([3, 3, 3]) == {"mean": 3.0, "n": 3, "ci95": [3.0, 3.0]}
    with pytest.raises(ValueError):
        mean_ci([1, 2], n_boot=0)
    with pytest.raises(ValueError):
        mean_ci([1, 2], level=1.0)
    with pytest.raises(ValueError):
        mean_ci([1.0, float("nan")])


# --- paired_bootstrap --------------------------------------------------------------------------


def test_paired_bootstrap_clear_difference() -> None:
    rng = np.random.default_rng(1)
    a = rng.integers(2, 6, size=80).astype(float)
    b = a - 1 + rng.normal(0, 0.3, size=80)
    out = paired_bootstrap(a.tolist(), b.tolist())
    assert out["n"] == 80
    assert out["mean_a"] == pytest.approx(a.mean())
    assert out["mean_b"] == pytest.approx(b.mean())
    assert out["mean_diff"] == pytest.approx((a - b).mean())
    assert out["p_value"] < 0.01
    assert out["p_value"] > 0  # (count + 1) / (n_boot + 1)
    assert out["ci95"][0] > 0


def test_paired_bootstrap_identical_lists() -> None:
    a = [5, 4, 3, 3, 1, 2]
    out = paired_bootstrap(a, list(a))
    assert out["mean_diff"] == 0.0
    assert out["p_value"] == 1.0
    assert out["ci95"] == [0.0, 0.0]


def test_paired_bootstrap_equal_means_not_significant() -> None:
    rng = np.random.default_rng(2)
    a = rng.integers(1, 6, size=120)
    b = rng.permutation(a)  # same multiset, so exactly equal means
    out = paired_bootstrap(a.tolist(), b.tolist(), seed=0)
    assert out["mean_diff"] == pytest.approx(0.0, abs=1e-12)
    assert out["p_value"] > 0.05
    assert out["ci95"][0] < 0 < out["ci95"][1]


def test_paired_bootstrap_is_deterministic_and_sign_symmetric() -> None:
    rng = np.random.default_rng(3)
    a = rng.integers(1, 6, size=50).tolist()
    b = rng.integers(1, 6, size=50).tolist()
    ab = paired_bootstrap(a, b, seed=11)
    assert ab == paired_bootstrap(a, b, seed=11)
    ba = paired_bootstrap(b, a, seed=11)
    assert ba["mean_diff"] == pytest.approx(-ab["mean_diff"])
    assert ba["p_value"] == ab["p_value"]
    assert ba["ci95"][0] == pytest.approx(-ab["ci95"][1])


@pytest.mark.parametrize(
    ("n", "effect", "seed"),
    [(400, 0.5, 7), (400, 0.02, 7), (200, 0.25, 3), (300, 0.0, 4), (500, 0.3, 5)],
)
def test_paired_bootstrap_agrees_with_paired_t_test(n: int, effect: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.normal(3.0, 1.0, size=n)
    b = a - effect + rng.normal(0.0, 1.0, size=n)
    ours = paired_bootstrap(a.tolist(), b.tolist(), n_boot=5000, seed=0)["p_value"]
    ref = float(stats.ttest_rel(a, b).pvalue)
    assert (ours < 0.05) == (ref < 0.05)
    if ref > 0.01:  # away from the resolution floor, the two should be close
        assert ours == pytest.approx(ref, abs=0.03)


def test_paired_bootstrap_edge_cases() -> None:
    with pytest.raises(ValueError):
        paired_bootstrap([1, 2, 3], [1, 2])
    empty = paired_bootstrap([], [])
    assert empty["n"] == 0 and empty["mean_diff"] is None and empty["p_value"] is None
    one = paired_bootstrap([5], [3])
    assert one["mean_diff"] == 2.0 and one["ci95"] == [2.0, 2.0] and one["p_value"] is None
    assert paired_bootstrap([4], [4])["p_value"] == 1.0


# --- krippendorff_alpha ------------------------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
def test_alpha_classic_example(level: str) -> None:
    ours = krippendorff_alpha(CLASSIC, level=level)
    ref = krippendorff.alpha(reliability_data=_to_nan(CLASSIC), level_of_measurement=level)
    assert ours is not None
    assert ours == pytest.approx(ref, abs=1e-9)
    assert round(ours, 3) == CLASSIC_PUBLISHED[level]


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize(
    ("seed", "raters", "units", "missing", "continuous"),
    [
        (0, 2, 40, 0.0, False),
        (1, 3, 25, 0.2, False),
        (2, 4, 60, 0.35, False),
        (3, 5, 15, 0.5, False),
        (4, 3, 30, 0.25, True),
        (5, 6, 50, 0.4, True),
    ],
)
def test_alpha_matches_krippendorff_package(
    level: str, seed: int, raters: int, units: int, missing: float, continuous: bool
) -> None:
    data = _random_reliability(
        np.random.default_rng(seed), raters, units, missing, continuous=continuous
    )
    ours = krippendorff_alpha(_to_none(data), level=level)
    ref = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
    assert ours is not None
    assert ours == pytest.approx(ref, abs=1e-9)


@pytest.mark.parametrize("level", LEVELS)
def test_alpha_perfect_agreement(level: str) -> None:
    rows = [[1, 2, 3, 5, None, 4], [1, 2, 3, 5, 2, None], [None, 2, 3, 5, 2, 4]]
    assert krippendorff_alpha(rows, level=level) == pytest.approx(1.0)


def test_alpha_accepts_nan_as_missing() -> None:
    with_nan = [[np.nan if v is None else v for v in row] for row in CLASSIC]
    for level in LEVELS:
        assert krippendorff_alpha(with_nan, level=level) == krippendorff_alpha(CLASSIC, level)


def test_alpha_undefined_cases() -> None:
    assert krippendorff_alpha([]) is None
    assert krippendorff_alpha([[1, 2, 3]]) is None  # one judge: nothing pairable
    assert krippendorff_alpha([[1, None, 3], [None, 2, None]]) is None  # no unit has 2 ratings
    assert krippendorff_alpha([[4, 4, None], [4, 4, 2]]) is None  # one pairable value
    with pytest.raises(ValueError):
        krippendorff_alpha([[1, 2], [1, 2, 3]])
    with pytest.raises(ValueError):
        krippendorff_alpha(CLASSIC, level="ratio")


def test_alpha_drops_units_with_fewer_than_two_ratings() -> None:
    base = [[1, 2, 3, 4, 2], [1, 3, 3, 4, 1]]
    extra = [[1, 2, 3, 4, 2, 5, None], [1, 3, 3, 4, 1, None, 1]]
    for level in LEVELS:
        assert krippendorff_alpha(extra, level) == pytest.approx(krippendorff_alpha(base, level))


def test_alpha_invariant_to_permuting_units_and_raters() -> None:
    rng = np.random.default_rng(9)
    for _ in range(5):
        data = _random_reliability(rng, 4, 30, 0.3)
        shuffled = data[rng.permutation(data.shape[0])][:, rng.permutation(data.shape[1])]
        for level in LEVELS:
            assert krippendorff_alpha(_to_none(shuffled), level) == pytest.approx(
                krippendorff_alpha(_to_none(data), level), abs=1e-12
            )


def test_alpha_invariant_to_admissible_transforms() -> None:
    rng = np.random.default_rng(10)
    for _ in range(5):
        data = _random_reliability(rng, 3, 40, 0.2)
        rows = _to_none(data)
        # Nominal: any relabelling; ordinal: any increasing map; interval: any affine map.
        relabel = {1.0: 7.0, 2.0: -3.0, 3.0: 0.5, 4.0: 11.0, 5.0: 2.0}
        monotone = {1.0: -10.0, 2.0: 0.0, 3.0: 0.1, 4.0: 50.0, 5.0: 51.0}
        mapped = {
            "nominal": [[None if v is None else relabel[v] for v in r] for r in rows],
            "ordinal": [[None if v is None else monotone[v] for v in r] for r in rows],
            "interval": [[None if v is None else -2.5 * v + 7 for v in r] for r in rows],
        }
        for level in LEVELS:
            assert krippendorff_alpha(mapped[level], level) == pytest.approx(
                krippendorff_alpha(rows, level), abs=1e-12
            )


# --- quadratic_weighted_kappa ------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_qwk_matches_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 200))
    a = rng.integers(1, 6, size=n)
    b = np.clip(a + rng.integers(-2, 3, size=n) * (rng.random(n) < 0.5), 1, 5)
    if seed % 2:
        b = rng.integers(1, 6, size=n)  # unrelated judges too
    ours = quadratic_weighted_kappa(a.tolist(), b.tolist())
    ref = cohen_kappa_score(a, b, weights="quadratic", labels=[1, 2, 3, 4, 5])
    assert ours is not None
    assert ours == pytest.approx(ref, abs=1e-9)


def test_qwk_properties() -> None:
    a = [1, 2, 3, 4, 5, 5, 3]
    assert quadratic_weighted_kappa(a, a) == pytest.approx(1.0)
    b = [2, 2, 3, 5, 4, 5, 1]
    assert quadratic_weighted_kappa(a, b) == pytest.approx(quadratic_weighted_kappa(b, a))
    shifted = quadratic_weighted_kappa(
        [v + 10 for v in a], [v + 10 for v in b], min_rating=11, max_rating=15
    )
    assert shifted == pytest.approx(quadratic_weighted_kappa(a, b))


def test_qwk_edge_cases() -> None:
    assert quadratic_weighted_kappa([], []) is None
    assert quadratic_weighted_kappa([3, 3, 3], [3, 3, 3]) is None
    with pytest.raises(ValueError):
        quadratic_weighted_kappa([1, 2], [1])
    with pytest.raises(ValueError):
        quadratic_weighted_kappa([1, 6], [1, 2])
    with pytest.raises(ValueError):
        quadratic_weighted_kappa([1.5, 2], [1, 2])


# --- score_summary, histogram ------------------------------------------------------------------


def test_score_summary() -> None:
    assert score_summary([5, 4, 4, 3]) == {"total": 16, "mean": 4.0, "n": 4, "max_total": 20}
    assert score_summary([]) == {"total": 0, "mean": None, "n": 0, "max_total": 0}
    out = score_summary([1, 2])
    assert isinstance(out["total"], int) and math.isclose(out["mean"], 1.5)
    with pytest.raises(ValueError):
        score_summary([0, 3])


def test_histogram() -> None:
    assert histogram([5, 5, 1, 3]) == {"1": 1, "2": 0, "3": 1, "4": 0, "5": 2}
    assert histogram([]) == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}
    assert all(isinstance(v, int) for v in histogram([2, 2]).values())
    with pytest.raises(ValueError):
        histogram([6])
