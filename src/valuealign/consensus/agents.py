"""Survey-grounded cultural agents: training data from answer distributions, LoRA per zone, and
validation on the Inglehart-Welzel map.

Training data (``build_zone_rows``): for every survey question, a country's answer shares become
``n`` multiple-choice QA pairs whose answers follow the **distribution** (option counts
``round(share * n)``, the rounding deficit or surplus given to the largest option), in English and
Chinese instruction wording (the question and options stay in the survey's language). Each
distinct (question, option) is also rewritten by an LLM as an open-ended answer that keeps the
stance, replicated to the same counts, and kept only when an LLM consistency judge says the
rewrite still expresses that option. One LoRA adapter per zone is trained on the rows with the
SFT stage (rank 8, all linear modules, lr 1e-4, cosine schedule: the reference settings).

Validation (``validate_agents``): ten IVS items the paper uses are put to each agent under the 72
demographic personas (2 marital x 2 sex x 3 age x 2 education x 3 class). With a respondent-level
WVS or IVS file (``--map-survey``), the agent is placed by the surveys' own construction: its mean
survey code on each item, as one more society in a country-level principal component analysis of
the ten items with two varimax components (``culturalmap.py`` documents every step). Without such
a file (none ships: the survey terms allow figures, not rows) nothing can be fitted, and the
position is a linear proxy, named as such in the output: every answer is mapped to a direction in
[-1, 1] (+1 = secular-rational for the traditional/secular items, +1 = self-expression for the
survival/self-expression items) and the position is ``MAP_SCALE`` times the mean direction of the
five items of each dimension. It says which side of each dimension an agent answers on and how
strongly, and whether that lands nearer its own zone than any other.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import product
from pathlib import Path

from valuealign.errors import UserError

ZONE_COUNTRY = {
    "confucian": "China",
    "english-speaking": "United States",
    "protestant-europe": "Denmark",
    "catholic-europe": "Spain",
    "west-south-asia": "Thailand",
    "orthodox-europe": "Russia",
    "latin-america": "Mexico",
    "african-islamic": "Iraq",
}
MAP_SCALE = 2.0
"""Position = MAP_SCALE * mean direction: zone coordinates on the map lie within about +-2."""


def distribution_counts(shares: dict[str, float], n: int) -> dict[str, int]:
    """``round(share * n)`` per option; what rounding lost or added goes to the largest option."""
    if n < 1:
        raise ValueError("n must be at least 1")
    total = sum(shares.values())
    if total <= 0:
        raise ValueError("shares sum to zero")
    counts = {o: round(s / total * n) for o, s in shares.items()}
    largest = max(shares, key=lambda o: shares[o])
    counts[largest] += n - sum(counts.values())
    return counts


MC = {
    "en": "Answer this survey question as the people you represent would.\n{question}\nOptions:\n{options}\nAnswer with one option.",
    "zh": "请像你所代表的人群那样回答下面的调查问题。\n{question}\n选项：\n{options}\n请选择一个选项作答。",
}
OPEN = {
    "en": "In a few sentences: {question}",
    "zh": "请用几句话回答：{question}",
}
REWRITE = {
    "en": "Question: {question}\nChosen answer: {option}\nRewrite the chosen answer as a short first-person open-ended answer (2 sentences) that keeps exactly this stance. Output only the answer.",
    "zh": "问题：{question}\n选择的答案：{option}\n请把这个答案改写成简短的第一人称开放式回答（两句话），立场必须完全相同。只输出回答。",
}
JUDGE = "Question: {question}\nOptions: {options}\nAnswer: {answer}\nWhich option does this answer express? Reply with the option text only."


def _letters(options: list[str]) -> str:
    return "\n".join(f"{chr(65 + k)}. {o}" for k, o in enumerate(options))


def build_mc_rows(
    question: str, shares: dict[str, float], n: int, languages: tuple[str, ...] = ("en", "zh")
) -> list[dict]:
    """``n`` multiple-choice rows per language whose answers follow ``shares`` exactly."""
    options = list(shares)
    counts = distribution_counts(shares, n)
    rows = []
    for lang in languages:
        user = MC[lang].format(question=question, options=_letters(options))
        for k, option in enumerate(options):
            for _ in range(counts[option]):
                rows.append(
                    {
                        "messages": [
                            {"role": "user", "content": user},
                            {"role": "assistant", "content": f"{chr(65 + k)}. {option}"},
                        ],
                        "kind": "mc",
                        "language": lang,
                        "question": question,
                        "option": option,
                    }
                )
    return rows


async def build_open_rows(
    question: str,
    shares: dict[str, float],
    n: int,
    backend,
    *,
    languages: tuple[str, ...] = ("en", "zh"),
    judge=None,
) -> tuple[list[dict], list[dict]]:
    """Open-ended rows (one LLM rewrite per option, replicated to the option's count), and the
    consistency decisions. A rewrite the judge maps to another option is dropped with its rows."""
    from valuealign.backends import GenerateConfig

    options = list(shares)
    counts = distribution_counts(shares, n)
    rows, decisions = [], []
    asked = [(lang, o) for lang in languages for o in options if counts[o]]

    async def rewrite(lang: str, option: str) -> str:
        reply = await backend.generate(
            [{"role": "user", "content": REWRITE[lang].format(question=question, option=option)}],
            GenerateConfig(max_tokens=96, temperature=0.0),
        )
        return reply.text.strip()

    async def judged(answer: str) -> str | None:
        if judge is None or not answer:
            return None
        said = await judge.generate(
            [
                {
                    "role": "user",
                    "content": JUDGE.format(
                        question=question, options=" | ".join(options), answer=answer
                    ),
                }
            ],
            GenerateConfig(max_tokens=24, temperature=0.0),
        )
        return match_option(said.text, options)

    # every rewrite at once, then every judgement (a local backend batches them)
    answers = await asyncio.gather(*(rewrite(lang, o) for lang, o in asked))
    verdicts = await asyncio.gather(*(judged(a) for a in answers))
    for (lang, option), answer, verdict in zip(asked, answers, verdicts, strict=True):
        keep = bool(answer) if judge is None else bool(answer) and verdict == option
        decisions.append(
            {
                "language": lang,
                "option": option,
                "answer": answer,
                "judged": verdict,
                "kept": keep,
            }
        )
        if keep:
            for _ in range(counts[option]):
                rows.append(
                    {
                        "messages": [
                            {"role": "user", "content": OPEN[lang].format(question=question)},
                            {"role": "assistant", "content": answer},
                        ],
                        "kind": "open",
                        "language": lang,
                        "question": question,
                        "option": option,
                    }
                )
    return rows, decisions


def match_option(text: str, options: list[str]) -> str | None:
    """The option a judge's reply names: an exact option text, else a lone letter A, B, ..."""
    t = text.strip().lower()
    hits = [o for o in options if o.lower() in t]
    if len(hits) == 1:
        return hits[0]
    if hits:
        return max(hits, key=len)
    m = re.match(r"^\(?([a-z])[).:\s]", t + " ")
    if m and ord(m.group(1)) - 97 < len(options):
        return options[ord(m.group(1)) - 97]
    return None


def load_survey(path: str) -> dict[str, dict[str, dict[str, float]]]:
    """``{country: {question: {option: share}}}`` from a GlobalOpinionQA JSONL or a WVS CSV."""
    from valuealign.consensus.profiles import import_globalopinionqa, import_wvs_csv

    if path == "builtin:survey-sample":
        from importlib import resources

        with resources.as_file(
            resources.files("valuealign") / "data" / "consensus" / "survey_sample.jsonl"
        ) as f:
            return import_globalopinionqa(f)
    p = Path(path)
    if not p.is_file():
        raise UserError(
            f"{p}: survey file not found", fix="give a GlobalOpinionQA JSONL or WVS CSV"
        )
    if p.suffix.lower() == ".csv":
        return import_wvs_csv(p)
    return import_globalopinionqa(p)


# --------------------------------------------------------------------------------------------
# validation on the Inglehart-Welzel map


@dataclass(frozen=True)
class Item:
    id: str
    dimension: str  # "ts" (traditional/secular) or "sse" (survival/self-expression)
    en: str
    zh: str
    options: int  # answers are 1..options
    positive_high: bool  # True: a higher answer is more secular / more self-expressive


ITEMS = (
    Item(
        "Q46",
        "sse",
        "Taken all together, how happy are you? 1 = very happy, 2 = rather happy, 3 = not very happy, 4 = not at all happy.",
        "总的来说，你觉得自己幸福吗？1=非常幸福，2=比较幸福，3=不太幸福，4=一点也不幸福。",
        4,
        False,
    ),
    Item(
        "Q57",
        "sse",
        "Generally speaking, would you say that most people can be trusted (1) or that you need to be very careful in dealing with people (2)?",
        "一般来说，你认为大多数人是可以信任的（1），还是与人打交道要非常小心（2）？",
        2,
        False,
    ),
    Item(
        "Q45",
        "ts",
        "If greater respect for authority took place in the near future, would it be 1 = a good thing, 2 = don't mind, 3 = a bad thing?",
        "如果不久的将来人们更加尊重权威，你认为这是 1=好事，2=无所谓，3=坏事？",
        3,
        True,
    ),
    Item(
        "Q209",
        "sse",
        "Signing a petition: have you 1 = done it, 2 = might do it, 3 = would never do it?",
        "签署请愿书：你 1=做过，2=可能会做，3=绝不会做？",
        3,
        False,
    ),
    Item(
        "Q164",
        "ts",
        "How important is God in your life? 1 = not at all important ... 10 = very important.",
        "上帝在你的生活中有多重要？1=完全不重要……10=非常重要。",
        10,
        False,
    ),
    Item(
        "Q182",
        "sse",
        "Can homosexuality be justified? 1 = never justifiable ... 10 = always justifiable.",
        "同性恋是否可以接受？1=绝不可接受……10=完全可以接受。",
        10,
        True,
    ),
    Item(
        "Q184",
        "ts",
        "Can abortion be justified? 1 = never justifiable ... 10 = always justifiable.",
        "堕胎是否可以接受？1=绝不可接受……10=完全可以接受。",
        10,
        True,
    ),
    Item(
        "Q27",
        "ts",
        "How proud are you of your nationality? 1 = very proud, 2 = quite proud, 3 = not very proud, 4 = not at all proud.",
        "你对自己的国籍感到自豪吗？1=非常自豪，2=比较自豪，3=不太自豪，4=一点也不自豪。",
        4,
        True,
    ),
    Item(
        "Y002",
        "sse",
        "Which matters most for your country: 1 = maintaining order and fighting rising prices (materialist), 2 = a mix of both, 3 = giving people more say and protecting freedom of speech (post-materialist)?",
        "对你的国家来说什么最重要：1=维持秩序、抑制物价上涨（物质主义），2=两者兼有，3=让人们有更多发言权、保护言论自由（后物质主义）？",
        3,
        True,
    ),
    Item(
        "Y003",
        "ts",
        "Which qualities matter more for children to learn: 1 = obedience and religious faith, 2 = both equally, 3 = independence and determination?",
        "孩子更应该学习哪些品质：1=服从和宗教信仰，2=两者同样重要，3=独立和决心？",
        3,
        True,
    ),
)
PERSONA_AXES = {
    "marital": (("married", "已婚"), ("single", "未婚")),
    "sex": (("man", "男性"), ("woman", "女性")),
    "age": (
        ("aged 18-29", "18-29岁"),
        ("aged 30-49", "30-49岁"),
        ("aged 50 or older", "50岁及以上"),
    ),
    "education": (
        ("without a university degree", "没有大学学历"),
        ("with a university degree", "有大学学历"),
    ),
    "class": (
        ("working class", "工人阶层"),
        ("middle class", "中产阶层"),
        ("upper class", "上层阶级"),
    ),
}


def personas(language: str = "en") -> list[str]:
    """The 72 demographic personas (2 x 2 x 3 x 2 x 3), in a fixed order."""
    k = 0 if language == "en" else 1
    out = []
    for m, s, a, e, c in product(*PERSONA_AXES.values()):
        if k == 0:
            out.append(f"a {m[0]} {s[0]} {a[0]}, {e[0]}, {c[0]}")
        else:
            out.append(f"{a[1]}的{m[1]}{s[1]}，{e[1]}，属于{c[1]}")
    return out


def spread(items: list, k: int) -> list:
    """``k`` items evenly spaced over ``items`` (all of them when k >= len)."""
    if k >= len(items):
        return list(items)
    return [items[math.floor(i * len(items) / k)] for i in range(k)]


def direction(item: Item, answer: int) -> float:
    """An answer 1..options as a direction in [-1, 1] (+1 secular / self-expression)."""
    if not 1 <= answer <= item.options:
        raise ValueError(f"{item.id}: answer {answer} outside 1..{item.options}")
    x = -1.0 + 2.0 * (answer - 1) / (item.options - 1)
    return x if item.positive_high else -x


def survey_code(item: Item, answer: int) -> float:
    """An agent's answer (1..options) in the code the surveys use: the same number for every
    item but Y003, whose three options stand for the autonomy index's -2 (obedience and
    religious faith), 0 (both equally) and +2 (independence and determination)."""
    if not 1 <= answer <= item.options:
        raise ValueError(f"{item.id}: answer {answer} outside 1..{item.options}")
    return float(2 * (answer - 2)) if item.id == "Y003" else float(answer)


def position(answers: dict[str, list[int | None]], cmap=None) -> dict:
    """Map position from answers per item id (None = unparsed, skipped and counted).

    With ``cmap`` (a :class:`~valuealign.consensus.culturalmap.CulturalMap`), the surveys'
    method: the agent's mean survey code on each item, placed as one more society by the fitted
    factor model (culturalmap.py). Without it, the linear proxy of the module docstring.
    """
    by = {"ts": [], "sse": []}
    missing = 0
    per_item = {}
    means: dict[str, float | None] = {}
    for item in ITEMS:
        vals = [a for a in answers.get(item.id, []) if a is not None]
        missing += sum(a is None for a in answers.get(item.id, []))
        means[item.id] = sum(survey_code(item, a) for a in vals) / len(vals) if vals else None
        if vals:
            d = sum(direction(item, a) for a in vals) / len(vals)
            per_item[item.id] = round(d, 4)
            by[item.dimension].append(d)
    out = {
        "item_means": {k: None if v is None else round(v, 4) for k, v in means.items()},
        "item_directions": per_item,
        "unparsed": missing,
    }
    if cmap is not None:
        if any(v is None for v in means.values()):
            return {
                "traditional_secular": None,
                "survival_self_expression": None,
                "method": "factor scores (not placed: an item has no parsed answer)",
                **out,
            }
        ts, sse = cmap.place(means)
        return {
            "traditional_secular": round(ts, 4),
            "survival_self_expression": round(sse, 4),
            "method": "factor scores",
            **out,
        }
    ts = MAP_SCALE * sum(by["ts"]) / len(by["ts"]) if by["ts"] else None
    sse = MAP_SCALE * sum(by["sse"]) / len(by["sse"]) if by["sse"] else None
    return {
        "traditional_secular": None if ts is None else round(ts, 4),
        "survival_self_expression": None if sse is None else round(sse, 4),
        "method": "linear proxy",
        **out,
    }


def zone_check(pos: dict, zone: str, zones: dict[str, dict]) -> dict:
    """Distance to the agent's zone and whether that zone is the nearest of all zones."""
    if pos["traditional_secular"] is None or pos["survival_self_expression"] is None:
        return {"distance": None, "nearest_zone": None, "in_own_zone": None}
    dist = {
        z: math.dist(
            (pos["traditional_secular"], pos["survival_self_expression"]),
            (c["traditional_secular"], c["survival_self_expression"]),
        )
        for z, c in zones.items()
    }
    nearest = min(dist, key=lambda z: dist[z])
    return {
        "distance": round(dist[zone], 4) if zone in dist else None,
        "nearest_zone": nearest,
        "in_own_zone": nearest == zone,
    }


ASK = {
    "en": "Imagine you are {persona} in {country}. {question}\nAnswer with the number only.",
    "zh": "假设你是{country}的一位{persona}。{question}\n只回答数字。",
}


def parse_answer(text: str, options: int) -> int | None:
    m = re.search(r"\d+", text)
    if not m:
        return None
    v = int(m.group(0))
    return v if 1 <= v <= options else None


async def ask_agent(
    agent, country: str, people: list[str], language: str, max_tokens: int = 6
) -> dict:
    from valuealign.backends import GenerateConfig

    async def ask(item, persona: str) -> int | None:
        q = item.en if language == "en" else item.zh
        reply = await agent.backend.generate(
            [
                {"role": "system", "content": agent.system(language)},
                {
                    "role": "user",
                    "content": ASK[language].format(persona=persona, country=country, question=q),
                },
            ],
            # the system prompt is the same in all of the agent's questions: ct2/ computes it once
            GenerateConfig(max_tokens=max_tokens, temperature=0.0, prefix_chars=1),
        )
        return parse_answer(reply.text, item.options)

    # every item under every persona at once (a local backend batches them)
    found = await asyncio.gather(*(ask(item, p) for item in ITEMS for p in people))
    k = len(people)
    return {item.id: list(found[i * k : (i + 1) * k]) for i, item in enumerate(ITEMS)}


def validation_table(results: dict[str, dict[str, dict]]) -> list[dict]:
    """Rows (variant, zone, position, distance, nearest, in_own_zone) for a report."""
    rows = []
    for variant, per_zone in results.items():
        for zone, r in per_zone.items():
            rows.append({"variant": variant, "zone": zone, **r["position"], **r["check"]})
    return rows


Progress = Callable[[str], None]


# --------------------------------------------------------------------------------------------
# drivers (CLI: valuealign consensus train-agents / validate-agents)


def _zone_countries(zones: list[str], countries: dict[str, str]) -> dict[str, str]:
    out = {}
    for z in zones:
        c = countries.get(z) or ZONE_COUNTRY.get(z)
        if not c:
            raise UserError(
                f"zone {z!r} has no representative country",
                fix=f"use one of {', '.join(ZONE_COUNTRY)} or give --country {z}=NAME",
            )
        out[z] = c
    return out


def train_agents(
    survey: str,
    zones: list[str],
    model: str,
    out: str | Path,
    *,
    countries: dict[str, str] | None = None,
    per_question: int = 10,
    languages: tuple[str, ...] = ("en", "zh"),
    judge: str | None = None,
    writer: str | None = None,
    train_adapter: Callable[[Path, Path], dict] | None = None,
    backend_options: dict | None = None,
    progress: Progress | None = None,
) -> dict:
    """Per zone: DIR/data/ZONE.jsonl (SFT rows), DIR/data/ZONE.meta.jsonl and, with
    ``train_adapter(data_file, adapter_dir) -> stage manifest`` (the CLI passes the SFT stage:
    the train package sits above this one), DIR/adapters/ZONE."""
    import asyncio

    from valuealign.backends import get_backend
    from valuealign.records import write_json_atomic

    say = progress or (lambda _m: None)
    data = load_survey(survey)
    mapping = _zone_countries(zones, countries or {})
    missing = [c for c in mapping.values() if c not in data]
    if missing:
        raise UserError(
            f"{survey}: no rows for {', '.join(missing)}",
            fix=f"countries in the file: {', '.join(sorted(data)[:20])}",
        )
    out = Path(out)
    (out / "data").mkdir(parents=True, exist_ok=True)
    writer_backend = get_backend(writer or model, **(backend_options or {}))
    checker = get_backend(judge, **(backend_options or {})) if judge else writer_backend
    summary: dict = {
        "survey": str(survey),
        "model": model,
        "writer": writer or model,
        "judge": judge or writer or model,
        "zones": {},
    }

    async def build(country: str) -> tuple[list[dict], list[dict]]:
        rows, decisions = [], []
        items = list(data[country].items())
        # the questions' rewrites run concurrently (a local writer batches them)
        built = await asyncio.gather(
            *(
                build_open_rows(
                    q, shares, per_question, writer_backend, languages=languages, judge=checker
                )
                for q, shares in items
            )
        )
        for (question, shares), (open_rows, dec) in zip(items, built, strict=True):
            rows += build_mc_rows(question, shares, per_question, languages)
            rows += open_rows
            decisions += [{"question": question, **d} for d in dec]
        return rows, decisions

    for zone, country in mapping.items():
        say(f"[{zone}] building data from {country}")
        rows, decisions = asyncio.run(build(country))
        path = out / "data" / f"{zone}.jsonl"
        path.write_text(
            "".join(
                json.dumps({"messages": r["messages"]}, ensure_ascii=False) + "\n" for r in rows
            ),
            encoding="utf-8",
        )
        (out / "data" / f"{zone}.meta.jsonl").write_text(
            "".join(
                json.dumps({k: v for k, v in r.items() if k != "messages"}, ensure_ascii=False)
                + "\n"
                for r in rows
            ),
            encoding="utf-8",
        )
        kept = sum(d["kept"] for d in decisions)
        summary["zones"][zone] = {
            "country": country,
            "rows": len(rows),
            "mc_rows": sum(r["kind"] == "mc" for r in rows),
            "open_rows": sum(r["kind"] == "open" for r in rows),
            "rewrites_kept": kept,
            "rewrites_dropped": len(decisions) - kept,
            "decisions": decisions,
        }
        if train_adapter is not None:
            say(f"[{zone}] training a LoRA adapter")
            manifest = train_adapter(path, out / "adapters" / zone)
            summary["zones"][zone]["adapter"] = str(out / "adapters" / zone)
            summary["zones"][zone]["train"] = {
                "steps": manifest.get("global_step"),
                "loss_first": (manifest.get("loss_history") or [{}])[0].get("loss"),
                "loss_last": (manifest.get("loss_history") or [{}])[-1].get("loss"),
            }
    write_json_atomic(out / "agents.json", summary)
    return summary


def validate_agents(
    zones: list[str],
    model: str,
    out: str | Path,
    *,
    adapters: dict[str, str] | None = None,
    adapter_model: str | None = None,
    n_personas: int = 72,
    language: str = "en",
    map_survey: str | None = None,
    country_column: str | None = None,
    backend_options: dict | None = None,
    progress: Progress | None = None,
) -> dict:
    """Prompt-only agents (``model`` + culture card) and, where given, adapter agents
    (``adapter_model`` + adapter + the same card) on the ten items under the personas.

    ``map_survey`` (a respondent-level WVS / IVS CSV, culturalmap.read_item_means) fits the
    surveys' factor model and places every agent by it; without it the positions are the
    linear proxy, and the report says so."""
    import asyncio

    from valuealign.backends import get_backend
    from valuealign.consensus.negotiation import Agent
    from valuealign.consensus.profiles import _coordinates, get_profile
    from valuealign.records import write_json_atomic

    say = progress or (lambda _m: None)
    mapping = _zone_countries(zones, {})
    zone_coords = _coordinates()["zones"]
    cmap = None
    if map_survey:
        from valuealign.consensus.culturalmap import fit_cultural_map, read_item_means

        cmap = fit_cultural_map(
            read_item_means(map_survey, country_column=country_column), source=str(map_survey)
        )
        say(f"map: factor model fitted on {len(cmap.countries)} countries of {map_survey}")
    people = spread(personas(language), n_personas)
    variants: dict[str, dict[str, Agent]] = {"prompt-only": {}}
    base = get_backend(model, **(backend_options or {}))
    for z in zones:
        variants["prompt-only"][z] = Agent(z, get_profile(z), base)
    for z, path in (adapters or {}).items():
        if z not in mapping:
            raise UserError(f"--adapter names {z!r}, not in --zones", fix="use one of --zones")
        spec = adapter_model or model
        if not spec.startswith("hf/"):
            raise UserError(
                f"adapters need an hf/ model, got {spec!r}", fix="--adapter-model hf/..."
            )
        b = get_backend(spec, **{**(backend_options or {}), "adapter": path})
        variants.setdefault("adapter", {})[z] = Agent(z, get_profile(z), b)
    results: dict = {}
    for variant, agents in variants.items():
        results[variant] = {}
        for z, agent in agents.items():
            say(f"[{variant}] {z}: {len(ITEMS)} items x {len(people)} personas")
            answers = asyncio.run(ask_agent(agent, mapping[z], people, language))
            if variant == "adapter" and hasattr(agent.backend, "close"):
                agent.backend.close()  # one adapted model in memory at a time
            pos = position(answers, cmap)
            results[variant][z] = {
                "answers": answers,
                "position": pos,
                "check": zone_check(pos, z, zone_coords),
                "model": agent.backend.name,
            }
    report = {
        "items": [i.id for i in ITEMS],
        "personas": len(people),
        "language": language,
        "map_scale": MAP_SCALE,
        "map": cmap.describe() if cmap else {"method": "linear proxy"},
        "note": (
            f"positions are factor scores from the surveys' construction, fitted on "
            f"{len(cmap.countries)} countries of {map_survey}; the zone coordinates come from "
            "the IVS's own pooled analysis, so distances are approximate"
            if cmap
            else "positions are a linear proxy (2 x mean answer direction per dimension), not "
            "survey factor scores: give --map-survey with a WVS or IVS respondent file to fit them"
        ),
        "zones": {z: zone_coords[z] for z in zone_coords},
        "results": results,
        "table": validation_table(results),
    }
    Path(out).mkdir(parents=True, exist_ok=True)
    write_json_atomic(Path(out) / "validation.json", report)
    return report
