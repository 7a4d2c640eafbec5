"""Cultural profiles for consensus agents: the eight Inglehart–Welzel zones, or your own survey data.

A profile is what an agent stands for: a name, a short summary, a list of value priorities (each
in Chinese and English) and, for the built-in zones, the zone's position on the two dimensions of
the Inglehart–Welzel map (from ``data/consensus/ivs_coordinates.json``). ``system_prompt`` turns
it into the agent's system message.

Custom profiles come from answer distributions: ``import_wvs_csv`` (one row per respondent, as in
a World Values Survey wave file) or ``import_globalopinionqa`` (GlobalOpinionQA-style JSONL), then
``profile_from_distributions`` for one country or group.

>>> get_profile("confucian").system_prompt("zh")
>>> dists = import_wvs_csv("wvs7.csv", country_column="B_COUNTRY_ALPHA", items=["Q1", "Q2"])
>>> profile_from_distributions("Sample group", dists["NZL"])
"""

from __future__ import annotations

import ast
import csv
import difflib
import functools
import io
import json
import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from valuealign.consensus.ivs import ZONES
from valuealign.errors import UserError
from valuealign.lang import LANGS, fold_language
from valuealign.records import split_lines

CARDS_NAME = "culture_cards.yaml"
COORDINATES_NAME = "ivs_coordinates.json"
SHARE_TOLERANCE = 0.02
CUSTOM_TOP_ITEMS = 5

# Distance from the eight-zone mean (in factor-score units) for "somewhat" / "clearly".
_NEAR = 0.25
_CLEAR = 0.75


def _language(language: str) -> str:
    return fold_language(language, strict=True)


@dataclass(frozen=True)
class CultureProfile:
    """One perspective a consensus agent speaks for (texts keyed by language: zh, en)."""

    id: str
    name: dict[str, str]
    traditional_secular: float | None
    survival_self_expression: float | None
    summary: dict[str, str]
    priorities: dict[str, list[str]]

    def _text(self, field: dict, lang: str):
        return field.get(lang) or field.get("en") or next(iter(field.values()), "")

    def position(self, language: str = "en") -> str | None:
        """Where the profile sits on the two map dimensions, in words; None without coordinates.

        "Average" is the unweighted mean of the eight zones (see ``zone_average``).
        """
        lang = _language(language)
        if self.traditional_secular is None or self.survival_self_expression is None:
            return None
        mean_ts, mean_sse = zone_average()
        trad = _describe(self.traditional_secular - mean_ts, lang, "trad")
        surv = _describe(self.survival_self_expression - mean_sse, lang, "surv")
        if lang == "zh":
            return f"{trad}，{surv}（以八个文化区的平均为基准）"
        return f"{trad} and {surv} (the average being the mean of the eight zones)"

    def system_prompt(self, language: str) -> str:
        """The system message of an agent that speaks for this profile, in zh or en."""
        lang = _language(language)
        name = self._text(self.name, lang)
        summary = self._text(self.summary, lang)
        priorities = self._text(self.priorities, lang)
        position = self.position(lang)
        bullets = "\n".join(f"- {p}" for p in priorities)
        if lang == "zh":
            if position:
                opening = (
                    f"你代表英格尔哈特–韦尔策尔文化地图（依据世界价值观调查与欧洲价值观研究）上"
                    f"“{name}”这一文化区的调查受访者的共同价值观。"
                )
            else:
                opening = f"你代表“{name}”这一群体的调查受访者的共同价值观。"
            parts = [opening, summary]
            if position:
                parts.append(f"在文化地图的两个维度上，该区{position}。")
            parts.append(f"这一视角的价值优先项：\n{bullets}")
            parts.append(
                "请以尊重、真诚的态度代表这一视角发言：它描述的是许多受访者平均而言的看法，"
                "并非每个人都如此。不要使用刻板印象，不要对个人或族群下论断。"
            )
        else:
            if position:
                opening = (
                    f"You represent the shared values of survey respondents in the {name} zone "
                    "of the Inglehart–Welzel cultural map (based on the World Values Survey and "
                    "the European Values Study)."
                )
            else:
                opening = f"You represent the shared values of survey respondents in {name}."
            parts = [opening, summary]
            if position:
                parts.append(f"On the map's two dimensions, this zone is {position}.")
            parts.append(f"The value priorities of this perspective:\n{bullets}")
            parts.append(
                "Speak for this perspective respectfully and in good faith: it describes what "
                "many respondents hold on average, not what every individual believes. Do not use "
                "stereotypes, and make no claims about individuals or ethnic groups."
            )
        return "\n\n".join(p for p in parts if p)


_WORDS = {
    "en": {
        "trad": (
            "close to average on the traditional vs secular-rational dimension",
            "secular-rational",
            "traditional",
        ),
        "surv": (
            "close to average on the survival vs self-expression dimension",
            "self-expression-oriented",
            "survival-oriented",
        ),
    },
    "zh": {
        "trad": ("在传统—世俗理性维度上接近平均", "世俗理性", "传统"),
        "surv": ("在生存—自我表达维度上接近平均", "自我表达", "生存价值"),
    },
}


def _describe(diff: float, lang: str, axis: str) -> str:
    near, plus, minus = _WORDS[lang][axis]
    if abs(diff) < _NEAR:
        return near
    pole = plus if diff > 0 else minus
    if lang == "zh":
        return f"{'明显' if abs(diff) >= _CLEAR else '略'}偏{pole}"
    return f"{'clearly' if abs(diff) >= _CLEAR else 'somewhat'} more {pole} than average"


def _data_file(name: str):
    return resources.files("valuealign") / "data" / "consensus" / name


@functools.lru_cache(maxsize=1)
def _coordinates() -> dict:
    return json.loads(_data_file(COORDINATES_NAME).read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def zone_average() -> tuple[float, float]:
    """Unweighted mean of the eight zones' (traditional_secular, survival_self_expression)."""
    zones = [
        z
        for z in _coordinates()["zones"].values()
        if z["traditional_secular"] is not None and z["survival_self_expression"] is not None
    ]
    if not zones:
        return 0.0, 0.0
    return (
        sum(z["traditional_secular"] for z in zones) / len(zones),
        sum(z["survival_self_expression"] for z in zones) / len(zones),
    )


def _bilingual(value: object, where: str, *, as_list: bool = False) -> dict:
    if not isinstance(value, dict) or any(not value.get(lang) for lang in LANGS):
        raise UserError(
            f"{CARDS_NAME}: {where} needs non-empty 'zh' and 'en' entries",
            fix="give the text in both Simplified Chinese and English",
        )
    out = {}
    for lang in LANGS:
        text = value[lang]
        if as_list:
            if not isinstance(text, list) or not all(isinstance(t, str) and t for t in text):
                raise UserError(
                    f"{CARDS_NAME}: {where}.{lang} must be a list of texts",
                    fix="write one '- item' per priority",
                )
            out[lang] = list(text)
        else:
            out[lang] = str(text).strip()
    return out


@functools.lru_cache(maxsize=1)
def _builtin_profiles() -> tuple[CultureProfile, ...]:
    cards = yaml.safe_load(_data_file(CARDS_NAME).read_text(encoding="utf-8")) or {}
    zone_cards = cards.get("zones") or {}
    coords = _coordinates()["zones"]
    missing = [z for z in ZONES if z not in zone_cards]
    if missing:
        raise UserError(
            f"{CARDS_NAME}: no card for {', '.join(missing)}", fix="add a card for every zone"
        )
    profiles = []
    for zone in ZONES:
        card = zone_cards[zone]
        where = f"zones.{zone}"
        coord = coords.get(zone, {})
        profiles.append(
            CultureProfile(
                id=zone,
                name=_bilingual(card.get("name"), f"{where}.name"),
                traditional_secular=coord.get("traditional_secular"),
                survival_self_expression=coord.get("survival_self_expression"),
                summary=_bilingual(card.get("summary"), f"{where}.summary"),
                priorities=_bilingual(card.get("priorities"), f"{where}.priorities", as_list=True),
            )
        )
    return tuple(profiles)


def load_profiles() -> dict[str, CultureProfile]:
    """The eight built-in zone profiles, in map order."""
    return {p.id: p for p in _builtin_profiles()}


def _slug(text: str) -> str:
    return re.sub(r"[^\w]+", "-", text.strip().lower()).strip("-")


def get_profile(zone: str) -> CultureProfile:
    """A built-in profile by id (``confucian``) or English name (``Latin America``)."""
    profiles = load_profiles()
    key = _slug(str(zone))
    if key in profiles:
        return profiles[key]
    for profile in profiles.values():
        if key == _slug(profile.name["en"]) or str(zone).strip() == profile.name["zh"]:
            return profile
    close = difflib.get_close_matches(key, list(profiles), n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    raise UserError(
        f"unknown cultural zone {zone!r}",
        fix=f"{hint}known zones: {', '.join(profiles)}",
    )


# --- importers ------------------------------------------------------------------------------


def _read_text(path: Path, what: str) -> str:
    if not path.is_file():
        raise UserError(f"{path}: file not found", fix=f"check the path to the {what}")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise UserError(f"{path}: not UTF-8 text ({e.reason})", fix="save it as UTF-8") from None


def _code_key(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def _shares(counts: dict[str, int]) -> dict[str, float]:
    total = sum(counts.values())
    return {code: counts[code] / total for code in sorted(counts, key=float)}


def import_wvs_csv(
    path: str | Path, *, country_column: str = "country", items: list[str] | None = None
) -> dict[str, dict[str, dict[str, float]]]:
    """Answer distributions from a respondent-level survey CSV: ``{country: {item: {code: share}}}``.

    Codes are the numbers in the cells (``"1"``, ``"2"``, ...); negative codes (WVS "don't know",
    "no answer", "not asked") and empty cells are missing and skipped. Shares per item sum to 1.
    Without ``items`` every column other than the country column is an item.
    """
    path = Path(path)
    text = _read_text(path, "survey CSV")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as e:
        raise UserError(
            f"{path}:1: unreadable CSV header ({e})", fix="repair the quoting"
        ) from None
    if not header:
        raise UserError(f"{path}:1: empty file", fix="the first line must name the columns")
    header = [h.strip() for h in header]
    if country_column not in header:
        close = difflib.get_close_matches(country_column, header, n=1)
        raise UserError(
            f"{path}:1: no country column {country_column!r} in the header",
            fix=(f"did you mean country_column={close[0]!r}? " if close else "")
            + "pass country_column= the column that names the country (e.g. B_COUNTRY_ALPHA)",
        )
    country_at = header.index(country_column)
    if items is None:
        items = [h for h in header if h != country_column]
    for item in items:
        if item not in header or item == country_column:
            close = difflib.get_close_matches(item, header, n=1)
            raise UserError(
                f"{path}:1: unknown item {item!r}: no such column in the header",
                fix=(f"did you mean {close[0]!r}? " if close else "")
                + "pass items= column names from the header line",
            )
    item_at = {item: header.index(item) for item in items}

    counts: dict[str, dict[str, dict[str, int]]] = {}
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise UserError(
                    f"{path}:{line}: {len(row)} fields, the header has {len(header)}",
                    fix="give every row one cell per column (quote cells that hold a comma)",
                )
            country = row[country_at].strip()
            if not country:
                raise UserError(
                    f"{path}:{line}: empty {country_column!r}",
                    fix="name the country on every row, or drop the row",
                )
            per_country = counts.setdefault(country, {})
            for item, at in item_at.items():
                cell = row[at].strip()
                if not cell:
                    continue
                try:
                    value = float(cell)
                except ValueError:
                    value = math.nan
                if not math.isfinite(value):
                    raise UserError(
                        f"{path}:{line}: item {item!r} has non-numeric answer {cell!r}",
                        fix="use the numeric answer codes (negative codes mark missing answers)",
                    )
                if value < 0:
                    continue
                code = _code_key(value)
                bucket = per_country.setdefault(item, {})
                bucket[code] = bucket.get(code, 0) + 1
    except csv.Error as e:
        raise UserError(
            f"{path}:{reader.line_num}: unreadable CSV ({e})", fix="repair the quoting"
        ) from None

    return {
        country: {item: _shares(per_item[item]) for item in items if per_item.get(item)}
        for country, per_item in counts.items()
    }


def _maybe_literal(value: object) -> object:
    """GlobalOpinionQA as published stores some fields as Python reprs; accept those too."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    match = re.fullmatch(r"defaultdict\(<class '\w+'>,\s*(\{.*\})\)", text, flags=re.S)
    if match:
        text = match.group(1)
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return value


def import_globalopinionqa(path: str | Path) -> dict[str, dict[str, dict[str, float]]]:
    """Answer distributions from GlobalOpinionQA-style JSONL: ``{country: {question: {option: share}}}``.

    Each line: ``{"question": str, "options": [str, ...], "selections": {country: [share, ...]}}``
    with one share per option, summing to 1 (within 0.02). A question text seen again on a later
    line gets `` (2)``, `` (3)``... appended so no line is lost.
    """
    path = Path(path)
    text = _read_text(path, "GlobalOpinionQA JSONL file")
    out: dict[str, dict[str, dict[str, float]]] = {}
    seen: dict[str, int] = {}
    for line, raw in enumerate(split_lines(text), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as e:
            raise UserError(
                f"{path}:{line}: not valid JSON ({e.msg}, column {e.colno})",
                fix="write one JSON object per line",
            ) from None
        if not isinstance(record, dict):
            raise UserError(f"{path}:{line}: expected a JSON object", fix="one {...} per line")
        question = record.get("question")
        options = _maybe_literal(record.get("options"))
        selections = _maybe_literal(record.get("selections"))
        if not isinstance(question, str) or not question.strip():
            raise UserError(f"{path}:{line}: missing 'question' text", fix='add "question": "..."')
        if (
            not isinstance(options, list | tuple)
            or not options
            or not all(isinstance(o, str) for o in options)
        ):
            raise UserError(
                f"{path}:{line}: 'options' must be a non-empty list of strings",
                fix='add "options": ["...", "..."]',
            )
        if len(set(options)) != len(options):
            raise UserError(
                f"{path}:{line}: 'options' repeats an option", fix="list each option once"
            )
        if not isinstance(selections, dict) or not selections:
            raise UserError(
                f"{path}:{line}: 'selections' must map each country to its shares",
                fix='add "selections": {"Country": [0.6, 0.4]}',
            )
        seen[question] = seen.get(question, 0) + 1
        key = question if seen[question] == 1 else f"{question} ({seen[question]})"
        for country, shares in selections.items():
            if not isinstance(shares, list | tuple) or not all(
                isinstance(s, int | float) and not isinstance(s, bool) and math.isfinite(s)
                for s in shares
            ):
                raise UserError(
                    f"{path}:{line}: shares for {country!r} must be a list of numbers",
                    fix="give one number per option",
                )
            if len(shares) != len(options):
                raise UserError(
                    f"{path}:{line}: {country!r} has {len(shares)} shares for "
                    f"{len(options)} options",
                    fix="give exactly one share per option, in the order of 'options'",
                )
            if any(s < 0 for s in shares):
                raise UserError(
                    f"{path}:{line}: {country!r} has a negative share",
                    fix="shares are proportions between 0 and 1",
                )
            total = sum(shares)
            if abs(total - 1.0) > SHARE_TOLERANCE:
                raise UserError(
                    f"{path}:{line}: shares for {country!r} sum to {total:.4f}, not 1",
                    fix=f"give proportions that sum to 1 (within {SHARE_TOLERANCE})",
                )
            out.setdefault(str(country), {})[key] = {
                option: float(share) for option, share in zip(options, shares, strict=True)
            }
    return out


def profile_from_distributions(
    name: str, distributions: dict[str, dict[str, float]], *, language: str = "en"
) -> CultureProfile:
    """A custom profile from one group's answer distributions (``{item: {answer: share}}``).

    The items where the group's most common answer has the largest share become the priorities
    (up to five) and are named in the summary. ``language`` is the language the item and answer
    texts are written in; the framing is produced in both languages, the texts are quoted as
    given. There are no map coordinates (both None).
    """
    lang = _language(language)
    if not isinstance(name, str) or not name.strip():
        raise UserError("a custom profile needs a name", fix="pass a non-empty name")
    name = name.strip()
    modal: list[tuple[float, str, str]] = []
    for item, dist in (distributions or {}).items():
        if not isinstance(dist, dict) or not dist:
            continue
        try:
            values = {str(a): float(s) for a, s in dist.items()}
        except (TypeError, ValueError):
            raise UserError(
                f"item {item!r}: shares must be numbers", fix="pass {answer: share} per item"
            ) from None
        total = sum(v for v in values.values() if v > 0)
        if total <= 0:
            continue
        answer = max(values, key=lambda a: (values[a], -list(values).index(a)))
        modal.append((values[answer] / total, str(item), answer))
    if not modal:
        raise UserError(
            f"no answer distributions for {name!r}",
            fix="pass {item: {answer: share}} with at least one item",
        )
    modal.sort(key=lambda m: (-m[0], m[1]))
    top = modal[:CUSTOM_TOP_ITEMS]
    en_items = [f"{item}: {answer!s} ({share:.0%})" for share, item, answer in top]
    zh_items = [f"{item}：{answer!s}（{share:.0%}）" for share, item, answer in top]
    quoted_en = "" if lang == "en" else " (items quoted in their original language)"
    quoted_zh = "" if lang == "zh" else "（条目按原文引用）"
    summary = {
        "en": (
            f"Survey respondents in {name} agree most strongly on {len(top)} of "
            f"{len(modal)} questions{quoted_en}: "
            + "; ".join(f"{item} -> {answer} ({share:.0%})" for share, item, answer in top)
            + ". The share is how many respondents gave that most common answer."
        ),
        "zh": (
            f"{name}的调查受访者在 {len(modal)} 个问题中，以下 {len(top)} 个问题上意见最一致"
            f"{quoted_zh}："
            + "；".join(f"{item} → {answer}（{share:.0%}）" for share, item, answer in top)
            + "。括号内为给出该最常见答案的受访者比例。"
        ),
    }
    return CultureProfile(
        id=_slug(name) or "custom",
        name={"zh": name, "en": name},
        traditional_secular=None,
        survival_self_expression=None,
        summary=summary,
        priorities={"zh": zh_items, "en": en_items},
    )


def profile_from_file(spec: str) -> CultureProfile:
    """``FILE#COUNTRY``: a custom agent profile from a WVS wave CSV (.csv) or GlobalOpinionQA JSONL.

    >>> profile_from_file("wave7.csv#JPN")
    """
    path, sep, country = spec.rpartition("#")
    if not sep or not path or not country:
        raise UserError(
            f"bad profile {spec!r}",
            fix="use FILE#COUNTRY, e.g. wave7.csv#JPN or opinions.jsonl#Japan",
        )
    data = import_wvs_csv(path) if path.endswith(".csv") else import_globalopinionqa(path)
    if country not in data:
        known = ", ".join(sorted(data)[:20])
        raise UserError(
            f"{path}: no rows for country {country!r}",
            fix=f"countries in the file include: {known}",
        )
    return profile_from_distributions(country, data[country])
