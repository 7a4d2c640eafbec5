"""Positions on the Inglehart-Welzel map from answers to the ten IVS items, by the surveys' method.

How the map's coordinates are made. The shipped ``ivs_coordinates.json`` holds the results only
(the IVS ``tradagg`` / ``survsagg`` factor scores of each country, see ``ivs.py``); its source
says they are "factor scores derived from principal component analysis" of ten items, and
Inglehart & Baker (2000) and Inglehart & Welzel (2005, p. 49) describe the analysis:

1. every respondent's answer is coded as in the IVS files (WVS-7 names first, the EVS/WVS trend
   file names second): Q46/A008 happiness 1-4 (1 very happy), Q57/A165 trust 1-2 (1 most people
   can be trusted), Q45/E018 greater respect for authority 1-3 (1 a good thing), Q209/E025
   signing a petition 1-3 (1 have done), Q164/F063 importance of God 1-10, Q182/F118
   homosexuality justifiable 1-10, Q184/F120 abortion justifiable 1-10, Q27/G006 national pride
   1-4 (1 very proud), Y002 post-materialist index 1-3 (1 materialist), Y003 autonomy index -2..2
   (independence + determination minus obedience + religious faith);
2. the analysis is ecological: each society is one case, described by its mean on every item;
3. the ten country means are standardised across the countries and a principal component
   analysis of their correlation matrix keeps two components, varimax-rotated (Kaiser
   normalisation). One loads on God, autonomy, abortion, national pride and authority (the
   traditional vs secular-rational dimension), the other on post-materialism, happiness,
   homosexuality, petition and trust (survival vs self-expression). Published loadings, for
   orientation: .91/.88/.82/.81/.73 and .87/.81/.77/.74/.46;
4. a society's coordinates are its component scores (regression method), standardised across
   the countries: + is secular-rational and self-expression.

:func:`fit_cultural_map` runs steps 2-4 on country item means (:func:`read_item_means` computes
them from a respondent-level WVS or IVS CSV). :meth:`CulturalMap.place` puts an agent on the map
as one more society: its item means (over its persona answers), standardised with the
countries' means and standard deviations, times the same score coefficients, in the same units.

Limits, stated where the result is shown: the shipped zone coordinates come from the IVS's own
pooled analysis (all waves 1981-2022); a map fitted on another file (one wave, other countries)
has the same construction and units (standard deviations across countries) but not the same
reference population, so distances to the shipped zones are approximate. Without an item-level
file there is nothing to fit, and the validation falls back to a linear proxy named as such
(``agents.position``).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from valuealign.errors import UserError


@dataclass(frozen=True)
class SurveyItem:
    id: str
    dimension: str  # "ts" (traditional / secular-rational) or "sse" (survival / self-expression)
    pole: int  # +1: a higher code is more secular / self-expressive; -1: the opposite
    low: int  # valid codes low..high; anything else (WVS missing codes -1..-5) is missing
    high: int
    aliases: tuple[str, ...] = ()


SURVEY_ITEMS: tuple[SurveyItem, ...] = (
    SurveyItem("Q164", "ts", -1, 1, 10, ("F063",)),
    SurveyItem("Y003", "ts", +1, -2, 2),
    SurveyItem("Q184", "ts", +1, 1, 10, ("F120",)),
    SurveyItem("Q27", "ts", +1, 1, 4, ("G006",)),
    SurveyItem("Q45", "ts", +1, 1, 3, ("E018",)),
    SurveyItem("Y002", "sse", +1, 1, 3),
    SurveyItem("Q46", "sse", -1, 1, 4, ("A008",)),
    SurveyItem("Q182", "sse", +1, 1, 10, ("F118",)),
    SurveyItem("Q209", "sse", -1, 1, 3, ("E025",)),
    SurveyItem("Q57", "sse", -1, 1, 2, ("A165",)),
)
ITEM_IDS = tuple(i.id for i in SURVEY_ITEMS)
DIMENSIONS = ("traditional_secular", "survival_self_expression")


def varimax(loadings: np.ndarray, *, iterations: int = 500, tol: float = 1e-10) -> np.ndarray:
    """Varimax rotation with Kaiser normalisation (rows scaled to unit communality while
    rotating). Returns the rotated loadings; the rotation is orthogonal."""
    h = np.sqrt((loadings**2).sum(axis=1, keepdims=True))
    h[h == 0] = 1.0
    a = loadings / h
    p, k = a.shape
    rot = np.eye(k)
    crit = 0.0
    for _ in range(iterations):
        b = a @ rot
        u, s, vt = np.linalg.svd(a.T @ (b**3 - b @ np.diag((b**2).sum(axis=0)) / p))
        rot = u @ vt
        new = float(s.sum())
        if new - crit < tol * max(new, 1.0):
            break
        crit = new
    return (a @ rot) * h


@dataclass
class CulturalMap:
    """A fitted two-dimensional map: what is needed to place a new society on it."""

    means: np.ndarray  # (10,) country means of the item means, in ITEM_IDS order
    sds: np.ndarray  # (10,) their standard deviations across countries (ddof 1)
    loadings: np.ndarray  # (10, 2) rotated loadings, columns in DIMENSIONS order
    coefficients: np.ndarray  # (10, 2) score coefficients
    score_means: np.ndarray  # (2,) of the countries' raw scores (0 up to rounding)
    score_sds: np.ndarray  # (2,)
    countries: dict[str, tuple[float, float]]  # every fitted country's coordinates
    source: str = ""

    def place(self, item_means: Mapping[str, float]) -> tuple[float, float]:
        """(traditional_secular, survival_self_expression) of a society with these item means
        (survey codes, ITEM_IDS keys, every item present)."""
        missing = [i for i in ITEM_IDS if item_means.get(i) is None]
        if missing:
            raise ValueError(f"no answers for {', '.join(missing)}: cannot place on the map")
        x = np.asarray([float(item_means[i]) for i in ITEM_IDS])
        raw = ((x - self.means) / self.sds) @ self.coefficients
        ts, sse = (raw - self.score_means) / self.score_sds
        return float(ts), float(sse)

    def describe(self) -> dict:
        return {
            "method": "factor scores: country-level PCA of the ten IVS items, two varimax "
            "components (Inglehart-Welzel construction)",
            "source": self.source,
            "n_countries": len(self.countries),
            "loadings": {
                item: {d: round(float(v), 3) for d, v in zip(DIMENSIONS, row, strict=True)}
                for item, row in zip(ITEM_IDS, self.loadings, strict=True)
            },
        }


def fit_cultural_map(
    country_means: Mapping[str, Mapping[str, float | None]], *, source: str = ""
) -> CulturalMap:
    """Steps 2-4 of the module docstring on ``{country: {item id: mean code}}``. Countries
    missing an item are left out (listwise, as a correlation matrix needs)."""
    rows = {
        c: [m.get(i) for i in ITEM_IDS]
        for c, m in country_means.items()
        if all(m.get(i) is not None for i in ITEM_IDS)
    }
    if len(rows) < 3:
        raise UserError(
            f"{source or 'survey'}: {len(rows)} countr{'y has' if len(rows) == 1 else 'ies have'} "
            "answers to all ten map items; the map needs at least 3 (the IVS map uses ~100)",
            fix="give a file with more countries, or drop --map-survey to use the linear proxy",
        )
    names = sorted(rows)
    x = np.asarray([rows[c] for c in names], dtype=float)
    means, sds = x.mean(axis=0), x.std(axis=0, ddof=1)
    flat = [ITEM_IDS[k] for k in np.flatnonzero(sds == 0)]
    if flat:
        raise UserError(
            f"{source or 'survey'}: {', '.join(flat)} has the same mean in every country",
            fix="the map needs variation across countries on every item",
        )
    z = (x - means) / sds
    corr = np.corrcoef(z, rowvar=False)
    values, vectors = np.linalg.eigh(corr)
    top = np.argsort(values)[::-1][:2]
    loadings = varimax(vectors[:, top] * np.sqrt(np.clip(values[top], 0.0, None)))
    # which column is which dimension: the one whose own five items it explains more
    ts_rows = [k for k, i in enumerate(SURVEY_ITEMS) if i.dimension == "ts"]
    sse_rows = [k for k, i in enumerate(SURVEY_ITEMS) if i.dimension == "sse"]

    def share(col: int, rows_: list[int]) -> float:
        return float((loadings[rows_, col] ** 2).sum())

    order = (
        [0, 1]
        if share(0, ts_rows) + share(1, sse_rows) >= share(1, ts_rows) + share(0, sse_rows)
        else [1, 0]
    )
    loadings = loadings[:, order]
    # orientation: + is the secular / self-expression pole of the column's own items
    poles = np.asarray([i.pole for i in SURVEY_ITEMS], dtype=float)
    for col, rows_ in enumerate((ts_rows, sse_rows)):
        if float((loadings[rows_, col] * poles[rows_]).sum()) < 0:
            loadings[:, col] *= -1
    coefficients = loadings @ np.linalg.inv(loadings.T @ loadings)
    raw = z @ coefficients
    score_means, score_sds = raw.mean(axis=0), raw.std(axis=0, ddof=1)
    scores = (raw - score_means) / score_sds
    return CulturalMap(
        means=means,
        sds=sds,
        loadings=loadings,
        coefficients=coefficients,
        score_means=score_means,
        score_sds=score_sds,
        countries={c: (float(s[0]), float(s[1])) for c, s in zip(names, scores, strict=True)},
        source=source,
    )


def read_item_means(
    path: str | Path, *, country_column: str | None = None, weight_column: str | None = None
) -> dict[str, dict[str, float | None]]:
    """``{country: {item id: mean}}`` from a CSV with a country column and the ten item columns
    (WVS-7 names such as Q164, or the trend-file names such as F063; respondent rows or one row
    of means per country). Cells outside an item's valid codes (WVS missing codes, blanks) are
    skipped. ``country_column`` defaults to the first of B_COUNTRY_ALPHA, COUNTRY_ALPHA,
    S003, country found in the header; ``weight_column`` (e.g. W_WEIGHT) weights respondents."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: survey file not found", fix="give a WVS or IVS CSV file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise UserError(f"{path}: not UTF-8 text ({e.reason})", fix="save it as UTF-8") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(reader, [])]
    if not header:
        raise UserError(f"{path}:1: empty file", fix="the first line must name the columns")
    if country_column is None:
        country_column = next(
            (c for c in ("B_COUNTRY_ALPHA", "COUNTRY_ALPHA", "S003", "country") if c in header),
            None,
        )
    if country_column is None or country_column not in header:
        raise UserError(
            f"{path}:1: no country column {country_column or ''!r} in the header".replace(
                " ''", ""
            ),
            fix="name it with --country-column (e.g. B_COUNTRY_ALPHA)",
        )
    at: dict[str, int] = {}
    for item in SURVEY_ITEMS:
        col = next((c for c in (item.id, *item.aliases) if c in header), None)
        if col is None:
            raise UserError(
                f"{path}:1: no column for item {item.id}"
                + (f" (or {', '.join(item.aliases)})" if item.aliases else ""),
                fix="the map needs all ten items: Q46 Q57 Q45 Q209 Q164 Q182 Q184 Q27 Y002 Y003",
            )
        at[item.id] = header.index(col)
    w_at = None
    if weight_column:
        if weight_column not in header:
            raise UserError(f"{path}:1: no weight column {weight_column!r}", fix="check the name")
        w_at = header.index(weight_column)
    c_at = header.index(country_column)
    sums: dict[str, dict[str, list[float]]] = {}
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise UserError(
                f"{path}:{line}: {len(row)} fields, the header has {len(header)}",
                fix="one cell per column (quote cells that hold a comma)",
            )
        country = row[c_at].strip()
        if not country:
            raise UserError(f"{path}:{line}: empty {country_column!r}", fix="name the country")
        weight = 1.0
        if w_at is not None:
            try:
                weight = float(row[w_at])
            except ValueError:
                raise UserError(
                    f"{path}:{line}: weight {row[w_at]!r} is not a number", fix="fix the cell"
                ) from None
        acc = sums.setdefault(country, {i: [0.0, 0.0] for i in ITEM_IDS})
        for item in SURVEY_ITEMS:
            cell = row[at[item.id]].strip()
            try:
                value = float(cell)
            except ValueError:
                continue
            if math.isfinite(value) and item.low <= value <= item.high:
                acc[item.id][0] += weight * value
                acc[item.id][1] += weight
    if not sums:
        raise UserError(f"{path}: no data rows", fix="add respondent rows under the header")
    return {
        c: {i: (s / w if w > 0 else None) for i, (s, w) in acc.items()} for c, acc in sums.items()
    }
