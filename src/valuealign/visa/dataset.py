"""Training data for the GRPO rewriter: (query, frozen answer, target) -> a rewrite prompt.

:func:`build_rewriter_dataset` picks queries (by default the charter's example questions and the
shipped VISA prompts, in zh and en; never benchmark questions), has the frozen ``answerer`` answer each one
once, draws a target for each row from a set of personas (translated by the rule translator),
measures the answer with the detector and asks for the rewrite with **the same instruction
builder and prompt as the loop** (:func:`~valuealign.visa.translator.gap_instruction`,
:func:`~valuealign.visa.prompts.rewrite_messages`). Rows whose answer already meets the target,
or whose answer came back empty, are skipped.

Each JSONL row has the columns TRL's GRPO trainer and :func:`~valuealign.visa.reward.
trl_reward_functions` need::

    {"prompt": [{"role": "system", ...}, {"role": "user", ...}],   # chat messages
     "original": "...", "target": "security=+1,tradition=+1", "language": "en",
     "id": "...", "query": "...", "persona": "...", "answerer": "hf/..."}

>>> rows = build_rewriter_dataset(get_backend("hf/smollm2-135m-instruct"), "data/visa.jsonl", n=32)
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from valuealign.aio import ensure_no_running_loop, run_sync
from valuealign.backends import ChatBackend, GenerateConfig, user
from valuealign.errors import BackendError, UserError
from valuealign.records import failure_summary, split_lines, write_text_atomic
from valuealign.visa._measure import Measurer
from valuealign.visa._values import Taxonomy, ValueTarget, get_taxonomy
from valuealign.visa.prompts import rewrite_messages
from valuealign.visa.translator import gap_instruction, translate_persona

__all__ = [
    "DEFAULT_PERSONAS",
    "QueryItem",
    "abuild_rewriter_dataset",
    "build_rewriter_dataset",
    "default_queries",
    "load_queries",
]

DEFAULT_PERSONAS: tuple[dict[str, str], ...] = (
    {"en": "someone who prizes tradition and security", "zh": "一个重视传统与安全的人"},
    {
        "en": "someone who values independence and curiosity, not conformity",
        "zh": "一个重视独立和好奇心、不盲从的人",
    },
    {
        "en": "someone who puts caring for family and friends first",
        "zh": "一个把关爱家人和朋友放在首位的人",
    },
    {
        "en": "someone who cares about equality, fairness and nature",
        "zh": "一个关心平等、公平与自然的人",
    },
    {"en": "someone driven by ambition and success", "zh": "一个追求成就与成功的人"},
    {
        "en": "someone who seeks adventure and excitement rather than safety",
        "zh": "一个追求冒险和刺激而不是安稳的人",
    },
    {"en": "someone who respects rules and good manners", "zh": "一个尊重规矩和礼貌的人"},
    {
        "en": "someone who cares little about power or wealth but values kindness",
        "zh": "一个不看重权力和财富、重视善良的人",
    },
)
"""Personas the targets are drawn from, each in both languages (translated by rules)."""


@dataclass(frozen=True)
class QueryItem:
    id: str
    language: str
    query: str


def default_queries(
    languages: Sequence[str] = ("en", "zh"),
    *,
    charter: str = "builtin:balanced-v1",
    benchmark: str | None = None,
) -> list[QueryItem]:
    """The charter's example questions and the shipped VISA prompts (data/visa/prompts.jsonl),
    in ``languages``. Neither is a benchmark question (``valuealign decontam visa:default``
    checks it). ``benchmark`` adds that benchmark's questions too: only for experiments that
    will not be scored on the same benchmark."""
    import json
    from importlib import resources

    from valuealign.charter import load_charter
    from valuealign.evaluate.benchmark import load_benchmark

    items: list[QueryItem] = []
    ch = load_charter(charter)
    for _, sub in ch.subdomains():
        for k, q in enumerate(sub.example_questions):
            for lang in languages:
                text = getattr(q, lang, None)
                if text:
                    items.append(QueryItem(f"{sub.id}-ex{k + 1}", lang, text))
    shipped = resources.files("valuealign") / "data" / "visa" / "prompts.jsonl"
    for line in split_lines(shipped.read_text(encoding="utf-8")):
        if line.strip():
            row = json.loads(line)
            for lang in languages:
                text = row["query"].get(lang)
                if text:
                    items.append(QueryItem(row["id"], lang, text))
    if benchmark:
        for item in load_benchmark(benchmark).items:
            for lang in languages:
                text = getattr(item.question, lang, None)
                if text:
                    items.append(QueryItem(item.id, lang, text))
    return items


def load_queries(path: str | Path) -> list[QueryItem]:
    """The queries of a ``--queries`` file: JSONL with ``id``, ``query`` and (optionally)
    ``language`` per line. As in the default pool, one id may appear once per language (the same
    question in zh and en); a repeated (id, language) or a bad line raises UserError naming it.
    """
    from valuealign.lang import language_of
    from valuealign.records import parse_jsonl_lines, read_text_lines
    from valuealign.visa.records import RewriteInput

    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: file not found", fix="check the --queries path")
    items: list[QueryItem] = []
    first: dict[tuple[str, str], int] = {}
    for lineno, row in parse_jsonl_lines(
        read_text_lines(path),
        str(path),
        RewriteInput,
        json_fix='each line must be one JSON object like {"id": "q1", "query": "...", '
        '"language": "en"}',
        schema_fix="each line needs a string 'id' and 'query'; 'language' ('zh' or 'en') is "
        "optional",
    ):
        lang = language_of(row.query, row.language, strict=False)
        key = (row.id, lang)
        if key in first:
            raise UserError(
                f"{path}:{lineno}: duplicate id {row.id!r} in {lang} (first at line {first[key]})",
                fix="give every query its own id (one id may be used once per language)",
            )
        first[key] = lineno
        items.append(QueryItem(row.id, lang, row.query))
    if not items:
        raise UserError(f"{path}: no queries", fix="add at least one JSON line")
    return items


def _personas(personas: Sequence[str | dict[str, str]] | None) -> list[dict[str, str]]:
    if personas is None:
        return [dict(p) for p in DEFAULT_PERSONAS]
    out = []
    for p in personas:
        out.append({"en": p, "zh": p} if isinstance(p, str) else dict(p))
    if not out:
        raise UserError("no personas to draw targets from", fix="give at least one persona")
    return out


async def abuild_rewriter_dataset(
    answerer: ChatBackend,
    *,
    n: int = 64,
    queries: Sequence[QueryItem] | None = None,
    personas: Sequence[str | dict[str, str]] | None = None,
    languages: Sequence[str] = ("en", "zh"),
    taxonomy: Taxonomy | str = "schwartz10",
    detector: str = "keywords",
    tolerance: float = 0.5,
    max_tokens: int = 256,
    concurrency: int = 8,
    seed: int = 0,
    failures: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Up to ``n`` training rows (see the module docstring); answers are generated greedily.

    ``failures``, when given, is filled with :func:`valuealign.records.failure_summary` of the
    answer requests (planned, failed for good, cause)."""
    if n < 1:
        raise UserError("n must be at least 1", fix="use --n 1 or more")
    tax = get_taxonomy(taxonomy)
    pool = list(queries) if queries is not None else default_queries(languages)
    pool = [q for q in pool if q.language in languages]
    if not pool:
        raise UserError(
            f"no queries in the languages {', '.join(languages)}", fix="check --languages"
        )
    table = _personas(personas)
    targets: list[dict[str, tuple[str, ValueTarget]]] = []
    for p in table:
        targets.append({lang: (p[lang], translate_persona(p[lang], tax)) for lang in p})
    rng = random.Random(seed)
    order = pool[:]
    rng.shuffle(order)
    plan = [(order[i % len(order)], rng.randrange(len(targets))) for i in range(2 * n)]

    measurer = Measurer(detector, "tfidf")
    answers: dict[tuple[str, str], asyncio.Future[str | None]] = {}
    sem = asyncio.Semaphore(max(1, concurrency))
    errors: list[str] = []

    async def answer(q: QueryItem) -> str | None:
        async with sem:
            try:
                done = await answerer.generate(
                    user(q.query), GenerateConfig(max_tokens=max_tokens, seed=seed)
                )
            except BackendError as e:
                errors.append(str(e))
                return None
        return done.text.strip() or None

    def answer_for(q: QueryItem) -> asyncio.Future[str | None]:
        key = (q.id, q.language)
        if key not in answers:
            answers[key] = asyncio.ensure_future(answer(q))
        return answers[key]

    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    chunk = max(1, concurrency) * 2
    for start in range(0, len(plan), chunk):
        batch = plan[start : start + chunk]
        texts = await asyncio.gather(*[answer_for(q) for q, _ in batch])
        for (q, k), original in zip(batch, texts, strict=True):
            row_id = f"{q.id}-{q.language}-p{k + 1}"
            if original is None or row_id in seen or len(rows) >= n:
                continue
            persona, target = targets[k].get(q.language) or next(iter(targets[k].values()))
            space = measurer.space(target)
            vec = measurer.vectors([original], [q.language], space)[0]
            instruction = gap_instruction(space, vec, q.language, tolerance=tolerance)
            if instruction is None:
                continue
            seen.add(row_id)
            rows.append(
                {
                    "id": row_id,
                    "prompt": rewrite_messages(q.query, original, instruction, q.language),
                    "original": original,
                    "target": str(space),
                    "language": q.language,
                    "query": q.query,
                    "persona": persona,
                    "answerer": answerer.name,
                }
            )
        if len(rows) >= n:
            break
    for fut in answers.values():
        fut.cancel()
    if failures is not None:
        asked = sum(1 for f in answers.values() if f.done() and not f.cancelled())
        failures.update(failure_summary(asked, errors))
    return rows


def build_rewriter_dataset(
    answerer: ChatBackend, out: str | Path, **kwargs: Any
) -> list[dict[str, Any]]:
    """Build the rows (:func:`abuild_rewriter_dataset`) and write them to ``out`` as JSONL
    (atomically: a killed run leaves no half file). Returns the rows."""
    ensure_no_running_loop("build_rewriter_dataset", "abuild_rewriter_dataset")
    rows = run_sync(abuild_rewriter_dataset(answerer, **kwargs))
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    write_text_atomic(out, text)
    return rows
