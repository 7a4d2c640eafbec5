"""Inglehart–Welzel cultural-map coordinates per country and per cultural zone.

The input is the open-numbers DDF copy of the Integrated Values Surveys indicators (a folder with
``ddf--datapoints--tradagg--by--geo--year.csv``, ``ddf--datapoints--survsagg--by--geo--year.csv``
and ``ddf--entities--geo--country.csv``). For every country the latest year with both measures is
kept; each zone's coordinates are the unweighted mean over its countries.

Two corrections are applied, both recorded in the output under ``notes``:

* Orientation. The dataset's README says a higher ``survsagg`` means more self-expression, but the
  numbers run the other way: Sweden, Norway and Denmark score lowest (about -3) and Zimbabwe and
  Moldova highest (about +1.9), the reverse of every published version of the map, and the raw
  ``survsagg`` correlates negatively with ``tradagg`` across countries where the published map
  shows a positive relation. ``survival_self_expression`` is therefore ``-survsagg``, so that
  + means self-expression as on the published map. ``traditional_secular`` is ``tradagg`` as is
  (+ = secular-rational; Japan, Sweden and Czechia high, Ghana and Jordan low, as published).
* Aliases. Some countries appear under two ids (the EVS 2008 wave used other names, e.g.
  ``russian_federation`` next to ``russia``); their series are merged into one id before the
  latest year is picked, so no country counts twice in a zone mean.

Regenerate the shipped file with::

    python -m valuealign.consensus.ivs ../shared/data/ivs src/valuealign/data/consensus/ivs_coordinates.json
"""

from __future__ import annotations

import csv
import json
import math
import sys
from pathlib import Path

from valuealign.errors import UserError

TRAD_FILE = "ddf--datapoints--tradagg--by--geo--year.csv"
SURV_FILE = "ddf--datapoints--survsagg--by--geo--year.csv"
COUNTRY_FILE = "ddf--entities--geo--country.csv"

# The eight cultural zones of the Inglehart–Welzel map, in a fixed order.
ZONES: dict[str, dict[str, str]] = {
    "protestant-europe": {"zh": "新教欧洲", "en": "Protestant Europe"},
    "catholic-europe": {"zh": "天主教欧洲", "en": "Catholic Europe"},
    "english-speaking": {"zh": "英语国家", "en": "English-speaking"},
    "orthodox-europe": {"zh": "东正教欧洲", "en": "Orthodox Europe"},
    "confucian": {"zh": "儒家文化圈", "en": "Confucian"},
    "west-south-asia": {"zh": "西亚与南亚", "en": "West & South Asia"},
    "african-islamic": {"zh": "非洲-伊斯兰", "en": "African-Islamic"},
    "latin-america": {"zh": "拉丁美洲", "en": "Latin America"},
}

# Zone of each IVS country id. The assignment follows the zone outlines of the published
# Inglehart–Welzel cultural map (World Values Survey Association, recent editions based on WVS
# wave 7 / EVS 2017 and earlier editions). Countries whose zone differs between editions of the
# map or that we could not place with reasonable confidence are left out on purpose and get
# zone None: albania, azerbaijan, estonia, latvia, lithuania (the Baltic states were drawn as a
# group of their own in older editions), haiti, israel, kazakhstan, kosovo, kyrgyzstan, maldives,
# mongolia, myanmar, northern_cyprus, philippines, singapore, trinidad_and_tobago, turkey.
COUNTRY_ZONE: dict[str, str] = {
    # Protestant Europe
    "denmark": "protestant-europe",
    "finland": "protestant-europe",
    "germany": "protestant-europe",
    "iceland": "protestant-europe",
    "netherlands": "protestant-europe",
    "norway": "protestant-europe",
    "sweden": "protestant-europe",
    "switzerland": "protestant-europe",
    # Catholic Europe
    "andorra": "catholic-europe",
    "austria": "catholic-europe",
    "belgium": "catholic-europe",
    "croatia": "catholic-europe",
    "czechia": "catholic-europe",
    "france": "catholic-europe",
    "hungary": "catholic-europe",
    "italy": "catholic-europe",
    "luxembourg": "catholic-europe",
    "malta": "catholic-europe",
    "poland": "catholic-europe",
    "portugal": "catholic-europe",
    "slovakia": "catholic-europe",
    "slovenia": "catholic-europe",
    "spain": "catholic-europe",
    # English-speaking
    "australia": "english-speaking",
    "canada": "english-speaking",
    "great_britain": "english-speaking",
    "ireland": "english-speaking",
    "new_zealand": "english-speaking",
    "northern_ireland": "english-speaking",
    "united_states": "english-speaking",
    # Orthodox Europe
    "armenia": "orthodox-europe",
    "belarus": "orthodox-europe",
    "bosnia_and_herzegovina": "orthodox-europe",
    "bulgaria": "orthodox-europe",
    "cyprus": "orthodox-europe",
    "georgia": "orthodox-europe",
    "greece": "orthodox-europe",
    "moldova": "orthodox-europe",
    "montenegro": "orthodox-europe",
    "north_macedonia": "orthodox-europe",
    "romania": "orthodox-europe",
    "russia": "orthodox-europe",
    "serbia": "orthodox-europe",
    "ukraine": "orthodox-europe",
    # Confucian
    "china": "confucian",
    "hong_kong_sar": "confucian",
    "japan": "confucian",
    "south_korea": "confucian",
    "taiwan_roc": "confucian",
    # West & South Asia
    "india": "west-south-asia",
    "indonesia": "west-south-asia",
    "malaysia": "west-south-asia",
    "thailand": "west-south-asia",
    "vietnam": "west-south-asia",
    # African-Islamic
    "algeria": "african-islamic",
    "bangladesh": "african-islamic",
    "burkina_faso": "african-islamic",
    "egypt": "african-islamic",
    "ethiopia": "african-islamic",
    "ghana": "african-islamic",
    "iran": "african-islamic",
    "iraq": "african-islamic",
    "jordan": "african-islamic",
    "kenya": "african-islamic",
    "lebanon": "african-islamic",
    "libya": "african-islamic",
    "mali": "african-islamic",
    "morocco": "african-islamic",
    "nigeria": "african-islamic",
    "pakistan": "african-islamic",
    "palestine": "african-islamic",
    "rwanda": "african-islamic",
    "south_africa": "african-islamic",
    "tanzania": "african-islamic",
    "tunisia": "african-islamic",
    "uganda": "african-islamic",
    "yemen": "african-islamic",
    "zambia": "african-islamic",
    "zimbabwe": "african-islamic",
    # Latin America
    "argentina": "latin-america",
    "bolivia": "latin-america",
    "brazil": "latin-america",
    "chile": "latin-america",
    "colombia": "latin-america",
    "dominican_republic": "latin-america",
    "ecuador": "latin-america",
    "guatemala": "latin-america",
    "mexico": "latin-america",
    "nicaragua": "latin-america",
    "peru": "latin-america",
    "puerto_rico": "latin-america",
    "uruguay": "latin-america",
    "venezuela": "latin-america",
}

# Second ids of the same country -> the id its series is merged into.
ALIASES: dict[str, str] = {
    "bosnia_herzegovina": "bosnia_and_herzegovina",
    "germany_west": "germany",
    "macedonia": "north_macedonia",
    "moldova_rep_of": "moldova",
    "montenegro_rep_of": "montenegro",
    "russian_federation": "russia",
    "slovak_republic": "slovakia",
}

# survival_self_expression = SURVSAGG_SIGN * survsagg (see the module docstring).
SURVSAGG_SIGN = -1.0

SOURCE = (
    "Integrated Values Surveys 1981-2022 cultural-map factor scores (tradagg, survsagg) from "
    "open-numbers/ddf--open_numbers--integrated_values_surveys_indicators. Original surveys: "
    "EVS (2021): EVS Trend File 1981-2017. GESIS Data Archive, Cologne. ZA7503 Data file "
    "Version 3.0.0, doi:10.4232/1.14021; Haerpfer, C., Inglehart, R., Moreno, A., Welzel, C., "
    "Kizilova, K., Diez-Medrano J., M. Lagos, P. Norris, E. Ponarin & B. Puranen et al. (eds.). "
    "2022. World Values Survey Trend File (1981-2022) Cross-National Data-Set. Madrid, Spain & "
    "Vienna, Austria: JD Systems Institute & WVSA Secretariat. Data File Version 4.0.0, "
    "doi:10.14281/18241.27. Non-profit use only."
)

NOTICE = (
    "The underlying survey terms restrict use to non-profit purposes; keep this notice with any "
    "derived file (see NOTICE.md next to this file)."
)

NOTES = [
    "traditional_secular = tradagg (+ = secular-rational, - = traditional).",
    "survival_self_expression = -survsagg (+ = self-expression, - = survival): the source's "
    "survsagg runs opposite to its README (Nordic countries lowest), so its sign is flipped to "
    "match the published Inglehart-Welzel map.",
    "Per country: the latest year with both measures. Ids listed under 'aliases' are merged into "
    "the id they point to before that year is picked.",
    "Zone assignment follows the published Inglehart-Welzel map; countries with zone null were "
    "not placed. Zone values are unweighted means over the zone's countries.",
]


def _open_csv(path: Path) -> list[tuple[int, list[str]]]:
    """Rows of a CSV file with their 1-based line numbers (header included)."""
    if not path.is_file():
        raise UserError(
            f"{path}: file not found",
            fix="point at the folder holding the open-numbers IVS DDF files",
        )
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            rows = []
            for row in reader:
                if row:
                    rows.append((reader.line_num, row))
            return rows
    except UnicodeDecodeError as e:
        raise UserError(f"{path}: not UTF-8 text ({e.reason})", fix="save it as UTF-8") from None
    except csv.Error as e:
        raise UserError(f"{path}: unreadable CSV ({e})", fix="repair the quoting") from None


def _check_header(path: Path, rows: list[tuple[int, list[str]]], expected: list[str]) -> None:
    if not rows:
        raise UserError(f"{path}:1: empty file", fix=f"expected a header {','.join(expected)}")
    line, header = rows[0]
    if [h.strip() for h in header] != expected:
        raise UserError(
            f"{path}:{line}: header is {','.join(header)!r}",
            fix=f"the header must be {','.join(expected)}",
        )


def _read_measure(path: Path, measure: str) -> dict[str, dict[int, float]]:
    """``{geo: {year: value}}`` from a DDF datapoints file."""
    rows = _open_csv(path)
    _check_header(path, rows, ["geo", "year", measure])
    series: dict[str, dict[int, float]] = {}
    for line, row in rows[1:]:
        if len(row) != 3:
            raise UserError(
                f"{path}:{line}: expected 3 fields (geo,year,{measure}), found {len(row)}",
                fix="one geo, one year and one number per line",
            )
        geo, year_text, value_text = (cell.strip() for cell in row)
        if not geo:
            raise UserError(f"{path}:{line}: empty geo", fix="put the country id first")
        try:
            year = int(year_text)
        except ValueError:
            raise UserError(
                f"{path}:{line}: year {year_text!r} is not a whole number",
                fix="write the year as four digits, e.g. 2018",
            ) from None
        try:
            value = float(value_text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise UserError(
                f"{path}:{line}: {measure} value {value_text!r} is not a finite number",
                fix="write a decimal number, or drop the line",
            )
        if year in series.get(geo, {}):
            raise UserError(
                f"{path}:{line}: second value for {geo} in {year}",
                fix="keep one line per country and year",
            )
        series.setdefault(geo, {})[year] = value
    return series


def _read_names(path: Path) -> dict[str, str]:
    rows = _open_csv(path)
    _check_header(path, rows, ["country", "name"])
    names: dict[str, str] = {}
    for line, row in rows[1:]:
        if len(row) != 2 or not row[0].strip():
            raise UserError(
                f"{path}:{line}: expected 2 fields (country,name), found {len(row)}",
                fix='one id and one name per line; quote names that hold a comma ("A, B")',
            )
        names[row[0].strip()] = row[1].strip()
    return names


def _merge_aliases(series: dict[str, dict[int, float]]) -> dict[str, dict[int, float]]:
    merged: dict[str, dict[int, float]] = {}
    for geo in sorted(series, key=lambda g: g in ALIASES):  # canonical ids first: they win ties
        target = merged.setdefault(ALIASES.get(geo, geo), {})
        for year, value in series[geo].items():
            target.setdefault(year, value)
    return merged


def derive_coordinates(ivs_dir: Path) -> dict:
    """Country and zone coordinates on the two map dimensions, ready to dump as JSON."""
    ivs_dir = Path(ivs_dir)
    names = _read_names(ivs_dir / COUNTRY_FILE)
    trad = _merge_aliases(_read_measure(ivs_dir / TRAD_FILE, "tradagg"))
    surv = _merge_aliases(_read_measure(ivs_dir / SURV_FILE, "survsagg"))

    countries: dict[str, dict] = {}
    raw: dict[str, tuple[float, float]] = {}
    for geo in sorted(trad):
        years = set(trad[geo]) & set(surv.get(geo, {}))
        if not years:
            continue
        year = max(years)
        ts, sse = trad[geo][year], SURVSAGG_SIGN * surv[geo][year]
        raw[geo] = (ts, sse)
        countries[geo] = {
            "name": names.get(geo, geo),
            "year": year,
            "traditional_secular": round(ts, 4),
            "survival_self_expression": round(sse, 4),
            "zone": COUNTRY_ZONE.get(geo),
        }

    zones: dict[str, dict] = {}
    for zone in ZONES:
        members = [geo for geo in countries if COUNTRY_ZONE.get(geo) == zone]
        if not members:
            zones[zone] = {
                "traditional_secular": None,
                "survival_self_expression": None,
                "n_countries": 0,
                "countries": [],
            }
            continue
        zones[zone] = {
            "traditional_secular": round(sum(raw[g][0] for g in members) / len(members), 4),
            "survival_self_expression": round(sum(raw[g][1] for g in members) / len(members), 4),
            "n_countries": len(members),
            "countries": members,
        }

    return {
        "source": SOURCE,
        "notice": NOTICE,
        "notes": NOTES,
        "aliases": dict(sorted(ALIASES.items())),
        "countries": countries,
        "zones": zones,
    }


def main(argv: list[str] | None = None) -> int:
    """``python -m valuealign.consensus.ivs IVS_DIR OUT.json``: write the coordinates file."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m valuealign.consensus.ivs IVS_DIR OUT.json", file=sys.stderr)
        return 2
    try:
        data = derive_coordinates(Path(args[0]))
    except UserError as e:
        print(f"error: {e.render()}", file=sys.stderr)
        return e.exit_code
    out = Path(args[1])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}: {len(data['countries'])} countries, {len(data['zones'])} zones")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
