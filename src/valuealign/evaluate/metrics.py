"""Statistics for the numbers of the bilingual value-consistency benchmark.

A run of the benchmark ends in judge scores from 1 to 5 for every (model, item, language). This
module turns those scores into the numbers a report needs:

* paper-style totals and means per model and language (:func:`score_summary`, :func:`histogram`);
* a percentile-bootstrap interval around a mean (:func:`mean_ci`), so that a gap between two
  models can be read against its noise;
* a paired comparison of two models on the same items (:func:`paired_bootstrap`), which is far
  more sensitive than comparing two independent intervals;
* agreement between judges (:func:`krippendorff_alpha` for any number of judges with missing
  verdicts, :func:`quadratic_weighted_kappa` for two judges on the full 1-5 scale).

Everything is pure Python and numpy; bootstraps take a ``seed`` and are deterministic for it.

Example::

    >>> from valuealign.evaluate.metrics import (
    ...     krippendorff_alpha, mean_ci, paired_bootstrap, score_summary)
    >>> score_summary([5, 4, 4, 3])
    {'total': 16, 'mean': 4.0, 'n': 4, 'max_total': 20}
    >>> mean_ci([5, 4, 4, 3])["mean"]
    4.0
    >>> paired_bootstrap([5, 4, 4, 3], [5, 4, 4, 3])["p_value"]
    1.0
    >>> krippendorff_alpha([[1, 2, 3, None], [1, 2, 3, 3]], level="ordinal")
    1.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "LEVELS",
    "SCORE_MAX",
    "SCORE_MIN",
    "histogram",
    "krippendorff_alpha",
    "mean_ci",
    "paired_bootstrap",
    "quadratic_weighted_kappa",
    "score_summary",
]

SCORE_MIN = 1
SCORE_MAX = 5
LEVELS = ("nominal", "interval", "ordinal")

# Bootstrap index matrices are drawn in row blocks of at most this many entries, which bounds
# memory for long inputs. Drawing a (n_boot, n) matrix block by block from one generator yields
# exactly the same indices as drawing it at once, so results do not depend on the block size.
_MAX_BLOCK_ENTRIES = 4_000_000


def _as_float_array(values: Sequence[float], name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float).reshape(-1)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite numbers")
    return arr


def _bootstrap_means(arr: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Means of ``n_boot`` resamples (with replacement) of ``arr``, in draw order."""
    n = arr.shape[0]
    rows_per_block = max(1, _MAX_BLOCK_ENTRIES // n)
    out = np.empty(n_boot, dtype=float)
    start = 0
    while start < n_boot:
        stop = min(n_boot, start + rows_per_block)
        idx = rng.integers(0, n, size=(stop - start, n))
        out[start:stop] = arr[idx].mean(axis=1)
        start = stop
    return out


def _check_boot_args(n_boot: int, level: float = 0.95) -> None:
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")


def _percentile_interval(boot: np.ndarray, level: float) -> list[float]:
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(boot, [alpha, 1.0 - alpha])
    return [float(lo), float(hi)]


def mean_ci(
    values: Sequence[float], *, n_boot: int = 2000, seed: int = 0, level: float = 0.95
) -> dict:
    """Mean of ``values`` with a percentile-bootstrap confidence interval (``scipy.stats.bootstrap``).

    Returns ``{"mean": float | None, "n": int, "ci95": [lo, hi] | None}``. The key is ``ci95``
    whatever ``level`` is (it holds the ``level`` interval). No values: mean and interval are
    None; one value ``v``: the interval is ``[v, v]``.
    """
    _check_boot_args(n_boot, level)
    arr = _as_float_array(values, "values")
    n = int(arr.shape[0])
    if n == 0:
        return {"mean": None, "n": 0, "ci95": None}
    mean = float(arr.mean())
    if n == 1:
        return {"mean": mean, "n": 1, "ci95": [mean, mean]}
    if np.all(arr == arr[0]):  # no spread: every resample has the same mean
        return {"mean": mean, "n": n, "ci95": [mean, mean]}
    from scipy import stats  # a core dependency: its bootstrap, not a copy of it

    ci = stats.bootstrap(
        (arr,),
        np.mean,
        n_resamples=n_boot,
        confidence_level=level,
        method="percentile",
        vectorized=True,
        rng=np.random.default_rng(seed),
    ).confidence_interval
    return {"mean": mean, "n": n, "ci95": [float(ci.low), float(ci.high)]}


def paired_bootstrap(
    a: Sequence[float], b: Sequence[float], *, n_boot: int = 5000, seed: int = 0
) -> dict:
    """Compare two models scored on the same items (``a[i]`` and ``b[i]`` are the same item).

    Returns ``{"n", "mean_a", "mean_b", "mean_diff", "ci95", "p_value"}`` where ``mean_diff`` is
    the mean of ``a - b``, ``ci95`` its 95% percentile-bootstrap interval, and ``p_value`` a
    two-sided bootstrap p-value for "no difference": the differences are shifted to mean zero,
    their mean is bootstrapped, and ``p = (count + 1) / (n_boot + 1)`` where ``count`` is the
    number of bootstrap means at least as far from zero as the observed mean difference. The
    shifted resamples reuse the interval's resamples (the shifted mean of a resample is its mean
    minus the observed mean), so one set of draws serves both.

    If every difference is 0, ``p_value`` is 1.0. With no items every statistic is None; with one
    item (and a non-zero difference) ``p_value`` is None, as one pair cannot test anything.
    """
    _check_boot_args(n_boot)
    arr_a = _as_float_array(a, "a")
    arr_b = _as_float_array(b, "b")
    if arr_a.shape != arr_b.shape:
        raise ValueError(f"a and b must have the same length, got {len(arr_a)} and {len(arr_b)}")
    n = int(arr_a.shape[0])
    if n == 0:
        return {
            "n": 0,
            "mean_a": None,
            "mean_b": None,
            "mean_diff": None,
            "ci95": None,
            "p_value": None,
        }
    diff = arr_a - arr_b
    observed = float(diff.mean())
    result = {
        "n": n,
        "mean_a": float(arr_a.mean()),
        "mean_b": float(arr_b.mean()),
        "mean_diff": observed,
    }
    if np.all(diff == 0):
        return {**result, "ci95": [0.0, 0.0], "p_value": 1.0}
    if n == 1:
        return {**result, "ci95": [observed, observed], "p_value": None}
    boot = _bootstrap_means(diff, n_boot, np.random.default_rng(seed))
    count = int(np.count_nonzero(np.abs(boot - observed) >= abs(observed)))
    return {
        **result,
        "ci95": _percentile_interval(boot, 0.95),
        "p_value": (count + 1) / (n_boot + 1),
    }


def _is_missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float | np.floating) and math.isnan(value))


def krippendorff_alpha(
    reliability: Sequence[Sequence[float | None]], level: str = "ordinal"
) -> float | None:
    """Krippendorff's alpha for judges (rows) rating answers (columns); None marks a missing rating.

    ``level`` is ``"nominal"``, ``"interval"`` or ``"ordinal"``; the ordinal metric is the
    cumulative-frequency one of Krippendorff (2011) over the values that occur in pairable
    units. Units with fewer than two ratings are dropped. Returns None when fewer than two
    pairable values remain or when the expected disagreement is 0 (all pairable values equal).
    NaN is accepted as missing too.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    rows = [list(row) for row in reliability]
    if not rows:
        return None
    n_units = len(rows[0])
    if any(len(row) != n_units for row in rows):
        raise ValueError("every rater row must have the same number of units")

    units: list[list[float]] = []
    for u in range(n_units):
        ratings = [float(v) for row in rows if (v := row[u]) is not None and not _is_missing(v)]
        if any(math.isinf(r) for r in ratings):
            raise ValueError("ratings must be finite numbers or None")
        if len(ratings) >= 2:
            units.append(ratings)
    if not units:
        return None

    domain = np.unique(np.concatenate([np.asarray(r, dtype=float) for r in units]))
    if domain.shape[0] < 2:
        return None
    # counts[u, c]: how many judges gave value domain[c] to pairable unit u.
    counts = np.zeros((len(units), domain.shape[0]), dtype=float)
    for u, ratings in enumerate(units):
        idx = np.searchsorted(domain, np.asarray(ratings, dtype=float))
        np.add.at(counts[u], idx, 1.0)
    m_u = counts.sum(axis=1)
    weighted = counts / (m_u - 1.0)[:, None]
    # Coincidence matrix: o[c, k] = sum_u n_uc * (n_uk - [c == k]) / (m_u - 1).
    coincidences = counts.T @ weighted - np.diag(weighted.sum(axis=0))
    n_c = coincidences.sum(axis=1)
    n_total = float(n_c.sum())

    delta2 = _squared_distances(domain, n_c, level)
    observed = float((coincidences * delta2).sum())
    expected = float((np.outer(n_c, n_c) * delta2).sum())
    if expected <= 0.0:
        return None
    return 1.0 - (n_total - 1.0) * observed / expected


def _squared_distances(domain: np.ndarray, n_c: np.ndarray, level: str) -> np.ndarray:
    """The metric difference delta^2 between every pair of domain values."""
    if level == "nominal":
        return 1.0 - np.eye(domain.shape[0])
    if level == "interval":
        return np.subtract.outer(domain, domain) ** 2
    # Ordinal: (sum_{g=c..k} n_g - (n_c + n_k) / 2)^2 over the ranks c <= k.
    cumulative = np.concatenate([[0.0], np.cumsum(n_c)])
    ranks = np.arange(domain.shape[0])
    lo = np.minimum.outer(ranks, ranks)
    hi = np.maximum.outer(ranks, ranks)
    between = cumulative[hi + 1] - cumulative[lo]
    return (between - (n_c[:, None] + n_c[None, :]) / 2.0) ** 2


def _check_integer_ratings(
    values: Sequence[int], name: str, min_rating: int, max_rating: int
) -> np.ndarray:
    arr = np.asarray(values, dtype=float).reshape(-1)
    if arr.size and (
        not np.all(np.isfinite(arr))
        or not np.all(arr == np.round(arr))
        or arr.min() < min_rating
        or arr.max() > max_rating
    ):
        raise ValueError(f"{name} must be integers from {min_rating} to {max_rating}")
    return arr.astype(int)


def quadratic_weighted_kappa(
    a: Sequence[int], b: Sequence[int], *, min_rating: int = 1, max_rating: int = 5
) -> float | None:
    """Cohen's kappa with quadratic weights between two judges' ratings of the same answers.

    Ratings must be integers from ``min_rating`` to ``max_rating``. Returns None when kappa is
    undefined: no ratings, or zero expected disagreement (e.g. both judges always give one and
    the same value).
    """
    if max_rating < min_rating:
        raise ValueError(f"max_rating ({max_rating}) must be >= min_rating ({min_rating})")
    arr_a = _check_integer_ratings(a, "a", min_rating, max_rating)
    arr_b = _check_integer_ratings(b, "b", min_rating, max_rating)
    if arr_a.shape != arr_b.shape:
        raise ValueError(f"a and b must have the same length, got {len(arr_a)} and {len(arr_b)}")
    n = arr_a.shape[0]
    if n == 0:
        return None
    k = max_rating - min_rating + 1
    observed = np.zeros((k, k), dtype=float)
    np.add.at(observed, (arr_a - min_rating, arr_b - min_rating), 1.0)
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / n
    ranks = np.arange(k, dtype=float)
    weights = np.subtract.outer(ranks, ranks) ** 2
    expected_disagreement = float((weights * expected).sum())
    if expected_disagreement <= 0.0:
        return None
    return 1.0 - float((weights * observed).sum()) / expected_disagreement


def score_summary(scores: Sequence[int]) -> dict:
    """Paper-style numbers for one model and language.

    Returns ``{"total": int, "mean": float | None, "n": int, "max_total": 5 * n}``; scores are
    judge scores from 1 to 5 (failed judgements left out by the caller).
    """
    arr = _check_integer_ratings(scores, "scores", SCORE_MIN, SCORE_MAX)
    n = int(arr.shape[0])
    total = int(arr.sum())
    return {
        "total": total,
        "mean": total / n if n else None,
        "n": n,
        "max_total": SCORE_MAX * n,
    }


def histogram(scores: Sequence[int]) -> dict[str, int]:
    """How many times each score from 1 to 5 occurs; keys ``"1"`` .. ``"5"``, all present."""
    arr = _check_integer_ratings(scores, "scores", SCORE_MIN, SCORE_MAX)
    counts = np.bincount(arr - SCORE_MIN, minlength=SCORE_MAX - SCORE_MIN + 1)
    return {str(SCORE_MIN + i): int(c) for i, c in enumerate(counts)}
