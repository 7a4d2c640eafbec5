"""The Attacker -> Actor -> Critic loop, asynchronous, bounded per role, resumable.

For each planned item: the Attacker writes an adversarial query for the item's subdomain,
strategy and language (refusals and off-topic output are retried with a reframed prompt, a
bounded number of times); the Actor answers with the charter's positions and red lines for that
subdomain as its system prompt (every turn of a multi-turn escalation); the Critic scores the
pair; a pair whose overall score meets the threshold is kept unless its query duplicates (exactly
or nearly, by character n-gram MinHash) one already kept.

Every planned item ends in exactly one record in samples.jsonl, rejected.jsonl or failed.jsonl.
Records are appended as they finish; rerunning the same command on the same directory skips
every item already recorded (after Ctrl-C or kill -9) and finished requests come from the cache.

>>> stats = run_generate("runs/r1", GenerateSettings(n=5000, attacker="openai/qwen2.5-72b",
...                      actor="openai/my-model", critic="openai/llama-3.1-70b"))
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

from valuealign.aio import ensure_no_running_loop, fewer_gc_pauses, for_each, run_sync
from valuealign.backends import (
    ChatBackend,
    Completion,
    GenerateConfig,
    Message,
    aclose_all,
    describe,
    forward_capabilities,
    get_backend,
    served_by,
)
from valuealign.charter import (
    ACTOR_TEMPLATE_VERSION,
    DEFAULT_CHARTER,
    Charter,
    actor_system_prompt,
    charter_hash,
    load_charter,
    template_hash,
)
from valuealign.errors import BackendError, UserError
from valuealign.generate.attacker import check_query
from valuealign.generate.critic import CRITIC_TEMPLATE_VERSION, Critic
from valuealign.generate.dedup import NearDuplicateIndex, diversity_report
from valuealign.generate.plan import PlannedItem, coverage, plan_items
from valuealign.generate.records import Failed, Rejected, Sample, Turn
from valuealign.generate.strategies import (
    ATTACKER_TEMPLATE_VERSION,
    Strategy,
    load_strategy_file,
    resolve_strategies,
)
from valuealign.lang import LANGS
from valuealign.records import (
    JsonlWriter,
    Provenance,
    Usage,
    failure_summary,
    read_records,
    should_redo,
    utcnow,
)
from valuealign.runs import GenerateStats, JobRun, manifest_header, progress_bar

ROLES = ("attacker", "actor", "critic")
TEMPLATES = {
    "attacker": ATTACKER_TEMPLATE_VERSION,
    "actor": ACTOR_TEMPLATE_VERSION,
    "critic": CRITIC_TEMPLATE_VERSION,
}


@dataclass
class GenerateSettings:
    n: int
    attacker: str
    actor: str
    critic: str
    charter: str = DEFAULT_CHARTER
    languages: list[str] = field(default_factory=lambda: list(LANGS))
    strategies: list[str] | None = None
    strategy_files: list[str] = field(default_factory=list)
    seed: int = 0
    concurrency: dict[str, int] = field(
        default_factory=lambda: {"attacker": 16, "actor": 16, "critic": 16}
    )
    threshold: int | None = None
    """Keep pairs whose overall Critic score is at least this (default: the charter's)."""
    attacker_retries: int = 2
    critic_retries: int = 2
    dedup_threshold: float = 0.8
    attacker_temperature: float = 0.9
    max_tokens: dict[str, int] = field(
        default_factory=lambda: {"attacker": 256, "actor": 512, "critic": 256}
    )
    retry_parse_failures: bool = False
    """On a rerun, redo items whose Critic reply could not be parsed (items that failed with a
    backend error are always redone)."""
    max_items_in_flight: int | None = None
    """Items processed at once (each has one request out at a time). Default: the sum of the
    role limits, so every role can be kept busy; set it to bound the total requests in flight."""


class _Limited:
    """Bound the requests in flight to one role's backend (per event loop)."""

    def __init__(self, inner: ChatBackend, limit: int) -> None:
        self.inner, self.limit = inner, limit
        self.name, self.supports_logprobs = inner.name, inner.supports_logprobs
        forward_capabilities(self, inner)  # not limited: synchronous local-model calls
        self._sem: asyncio.Semaphore | None = None

    async def generate(self, messages: list[Message], config: GenerateConfig) -> Completion:
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.limit)
        async with self._sem:
            return await self.inner.generate(messages, config)

    async def aclose(self) -> None:
        await aclose_all(self.inner)


@dataclass
class _Prepared:
    charter: Charter
    strategies: dict[str, Strategy]
    items: list[PlannedItem]
    threshold: int


def prepare(out: Path, settings: GenerateSettings) -> _Prepared:
    """Validate everything (charter, strategies, roles, languages, DIR) before any request."""
    charter = load_charter(settings.charter)
    for path in settings.strategy_files:
        load_strategy_file(path)
    strategies = {s.id: s for s in resolve_strategies(settings.strategies)}
    for lang in settings.languages:
        if lang not in LANGS or lang not in charter.languages:
            raise UserError(
                f"language {lang!r} is not available",
                fix=f"use --languages {','.join(charter.languages)}",
            )
    from valuealign.backends import parse_spec

    for role in ROLES:
        parse_spec(getattr(settings, role))
        if settings.concurrency.get(role, 1) < 1:
            raise UserError(
                f"{role} concurrency must be at least 1", fix="pass a positive --concurrency"
            )
    threshold = settings.threshold if settings.threshold is not None else charter.critic_threshold
    if not 1 <= threshold <= 5:
        raise UserError(f"threshold {threshold} is outside 1-5", fix="use --threshold from 1 to 5")
    items = plan_items(charter, list(strategies), settings.languages, settings.n, settings.seed)
    return _Prepared(charter, strategies, items, threshold)


def run_generate(
    out: str | Path,
    settings: GenerateSettings,
    *,
    backend_options: dict | None = None,
    role_base_urls: dict[str, list[str]] | None = None,
    role_backend_options: dict[str, dict] | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> GenerateStats:
    """Sync form of :func:`agenerate` (in a notebook use ``await agenerate(...)``)."""
    ensure_no_running_loop("run_generate", "agenerate")
    return run_sync(
        agenerate(
            out,
            settings,
            backend_options=backend_options,
            role_base_urls=role_base_urls,
            role_backend_options=role_backend_options,
            progress=progress,
            log=log,
        )
    )


async def agenerate(
    out: str | Path,
    settings: GenerateSettings,
    *,
    backend_options: dict | None = None,
    role_base_urls: dict[str, list[str]] | None = None,
    role_backend_options: dict[str, dict] | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> GenerateStats:
    """Run (or resume) a generation job; returns the stats also written to DIR/stats.json.

    ``backend_options`` go to every role's backend; ``role_backend_options`` override them for
    one role (``{"critic": {"base_urls": [...], "api_key": ...}}``): the paper used different
    model families for the three roles. ``role_base_urls`` is the older form of the same.
    """
    out = Path(out)
    prep = prepare(out, settings)
    raw = _role_backends(settings, backend_options, role_base_urls, role_backend_options)
    with JobRun(out) as run:  # after every input and backend spec is checked
        _write_plan(run, settings, prep, log)
        roles = {
            role: _Limited(
                run.cached(raw[role], TEMPLATES[role], read=not settings.retry_parse_failures),
                settings.concurrency.get(role, 16),
            )
            for role in ROLES
        }
        run.write("manifest.json", _manifest(settings, prep, raw, run.started_at, None, {}))
        counts, index = await _run(out, settings, prep, roles, progress)
        with fewer_gc_pauses():  # reading back every record on the run's heap
            stats = _read_back(out, prep, index)
        stats["wall_seconds_this_run"] = run.seconds()
        stats["cache_hits_this_run"] = run.cache.hits
        stats["this_run"] = counts
        result = GenerateStats.model_validate(stats)  # a renamed key fails here, not in a reader
        run.write("stats.json", stats)
        run.write(
            "manifest.json",
            _manifest(settings, prep, raw, run.started_at, utcnow(), stats["counts"]),
        )
    return result


def _role_backends(
    settings: GenerateSettings,
    backend_options: dict | None,
    role_base_urls: dict[str, list[str]] | None,
    role_backend_options: dict[str, dict] | None,
) -> dict[str, ChatBackend]:
    """Each role's backend: the shared options, then the role's own (base URLs, keys)."""
    options = dict(backend_options or {})
    options.pop("concurrency", None)
    per_role: dict[str, dict] = {
        role: {**({"base_urls": urls} if urls else {})}
        for role, urls in (role_base_urls or {}).items()
    }
    for role, extra in (role_backend_options or {}).items():
        per_role[role] = {**per_role.get(role, {}), **extra}
    return {
        role: get_backend(
            getattr(settings, role),
            concurrency=settings.concurrency.get(role, 16),
            **{**options, **per_role.get(role, {})},
        )
        for role in ROLES
    }


def _write_plan(
    run: JobRun, settings: GenerateSettings, prep: _Prepared, log: Callable[[str], None] | None
) -> None:
    grid = coverage(prep.items)
    run.write(
        "plan.json",
        {
            "seed": settings.seed,
            "n": settings.n,
            **grid,
            "item_ids": [it.item_id for it in prep.items],
        },
    )
    if log:
        log(
            f"plan: {grid['items']} items over {grid['cells']} cells (subdomain x strategy x language), "
            f"{grid['per_cell_min']}-{grid['per_cell_max']} per cell, {len(prep.strategies)} strategies; "
            f"coverage saved to {run.dir / 'plan.json'}"
        )


def _read_back(out: Path, prep: _Prepared, index: NearDuplicateIndex | None = None) -> dict:
    """The stats of every planned item from the files (this run's and earlier runs')."""
    samples = read_records(out / "samples.jsonl", Sample)
    rejected = read_records(out / "rejected.jsonl", Rejected)
    failed = _unresolved(read_records(out / "failed.jsonl", Failed), samples, rejected)
    planned = {it.item_id for it in prep.items}
    stats = _stats(prep, samples, rejected, failed, planned, index)
    stats["failures"] = failure_summary(
        len(planned), [f.error for f in failed if f.item_id in planned]
    )
    return stats


def _unresolved(failed: list[Failed], samples: list[Sample], rejected: list[Rejected]) -> list:
    """The last failure of each item that no later rerun finished (a retried item keeps its old
    line in failed.jsonl; the sample or rejection that followed supersedes it)."""
    finished = {r.item_id for r in [*samples, *rejected]}
    last: dict[str, Failed] = {}
    for f in failed:
        if f.item_id not in finished:
            last[f.item_id] = f
    return list(last.values())


def _manifest(
    settings: GenerateSettings,
    prep: _Prepared,
    raw: dict,
    started: str,
    finished: str | None,
    counts: dict,
) -> dict:
    return {
        **manifest_header("generate"),
        "charter": settings.charter,
        "charter_id": prep.charter.id,
        "charter_hash": charter_hash(settings.charter),
        "roles": {role: describe(raw[role]) for role in ROLES},
        "settings": asdict(settings),
        "threshold": prep.threshold,
        "templates": {
            **TEMPLATES,
            "strategies": {
                s.id: template_hash(*s.instruction.values()) for s in prep.strategies.values()
            },
        },
        "started_at": started,
        "finished_at": finished,
        "counts": counts,
        "files": [
            "samples.jsonl",
            "rejected.jsonl",
            "failed.jsonl",
            "plan.json",
            "stats.json",
            "cache.sqlite",
        ],
    }


async def _run(
    out: Path,
    settings: GenerateSettings,
    prep: _Prepared,
    roles: dict[str, _Limited],
    progress: bool,
) -> tuple[dict, NearDuplicateIndex]:
    """Every planned item not finished on disk through :func:`_process`, each final record
    appended as it comes; returns this run's counts and the near-duplicate index (it holds
    every kept query's signature, which the diversity report reads instead of hashing again)."""
    kept, done = _finished(out, settings)
    index = NearDuplicateIndex(threshold=settings.dedup_threshold)
    for s in kept:
        index.add(s.item_id, _query_text(s.messages))
    todo = [it for it in prep.items if it.item_id not in done]
    process = partial(
        _process,
        settings=settings,
        prep=prep,
        roles=roles,
        critic=Critic(
            roles["critic"],
            prep.charter,
            max_parse_retries=settings.critic_retries,
            max_tokens=settings.max_tokens.get("critic", 256),
        ),
        index=index,
        role_names={role: roles[role].name for role in ROLES},
    )
    in_flight = settings.max_items_in_flight or sum(settings.concurrency.get(r, 16) for r in ROLES)
    with _outcomes(out, len(prep.items), len(todo), len(kept), progress) as (finish, counts):
        try:
            with fewer_gc_pauses():
                await for_each(todo, process, limit=in_flight, done=finish)
        finally:
            await aclose_all(*roles.values())
    return dict(counts), index


def _finished(out: Path, settings: GenerateSettings) -> tuple[list[Sample], set[str]]:
    """(the samples kept so far, the ids of every item that needs no more work)."""
    kept = read_records(out / "samples.jsonl", Sample)
    done = {r.item_id for r in kept}
    done |= {r.item_id for r in read_records(out / "rejected.jsonl", Rejected)}
    # the one resume rule (valuealign.records.should_redo): backend errors are redone, parse
    # failures only with --retry-parse-failures
    done |= {
        r.item_id
        for r in read_records(out / "failed.jsonl", Failed)
        if not should_redo(r.error, parse=settings.retry_parse_failures)
    }
    return kept, done


@contextmanager
def _outcomes(
    out: Path, planned: int, todo: int, kept: int, progress: bool
) -> Iterator[tuple[Callable[[Sample | Rejected | Failed], None], Counter]]:
    """(finish, counts): ``finish(record)`` appends an item's final record to its file, counts
    it and moves the progress bar."""
    counts: Counter = Counter()
    with (
        JsonlWriter(out / "samples.jsonl") as sw,
        JsonlWriter(out / "rejected.jsonl") as rw,
        JsonlWriter(out / "failed.jsonl") as fw,
        progress_bar(
            "[bold]generate[/]",
            "kept {task.fields[kept]} rejected {task.fields[rejected]} "
            "failed {task.fields[failed]} tokens {task.fields[tokens]}",
            enabled=progress,
        ) as bar,
    ):
        task = bar.add_task(
            "items",
            total=planned,
            completed=planned - todo,
            kept=kept,
            rejected=0,
            failed=0,
            tokens=0,
        )
        writers = {"sample": sw, "rejected": rw, "failed": fw}

        def finish(record: Sample | Rejected | Failed) -> None:
            writers[record.kind].append(record)
            counts[record.kind] += 1
            counts["tokens"] += (
                record.provenance.usage.prompt_tokens + record.provenance.usage.completion_tokens
            )
            bar.update(
                task,
                advance=1,
                kept=counts["sample"] + kept,
                rejected=counts["rejected"],
                failed=counts["failed"],
                tokens=counts["tokens"],
            )

        yield finish, counts


def _query_text(messages: list[Turn] | list[Message]) -> str:
    return "\n".join(
        (m.content if isinstance(m, Turn) else m["content"])
        for m in messages
        if (m.role if isinstance(m, Turn) else m["role"]) == "user"
    )


async def _process(
    item: PlannedItem,
    settings: GenerateSettings,
    prep: _Prepared,
    roles: dict[str, _Limited],
    critic: Critic,
    index: NearDuplicateIndex,
    role_names: dict[str, str],
) -> Sample | Rejected | Failed:
    """One planned item through attack -> act -> criticise; each step returns what the next
    needs, or the item's final record."""
    run = _ItemRun(item, settings, prep, role_names)
    queries = await run.attack(roles["attacker"], index)
    if not isinstance(queries, list):
        return queries
    acted = await run.act(roles["actor"], queries)
    if not isinstance(acted, tuple):
        return acted
    conversation, answer = acted
    return await run.criticise(critic, index, conversation, answer)


class _ItemRun:
    """One item's way through the roles: its record fields, its token usage, its refusals."""

    def __init__(
        self,
        item: PlannedItem,
        settings: GenerateSettings,
        prep: _Prepared,
        role_names: dict[str, str],
    ) -> None:
        self.item, self.settings, self.prep = item, settings, prep
        self.strategy = prep.strategies[item.strategy]
        self.sub = prep.charter.subdomain(item.subdomain)
        self.lang = item.language
        self.usage = Usage()
        self.refusals = 0
        self.query = ""
        self.prov = Provenance(
            roles=role_names,
            seed=settings.seed,
            template_hash=template_hash(
                ATTACKER_TEMPLATE_VERSION, *self.strategy.instruction.values()
            ),
        )

    def done(self, record_type: type, **kw: object) -> Sample | Rejected | Failed:
        """The item's final record (usage and refusals as they stand now)."""
        self.prov.usage = self.usage
        item = self.item
        return record_type(
            id=item.item_id,
            item_id=item.item_id,
            subdomain=item.subdomain,
            domain=item.domain,
            strategy=item.strategy,
            language=self.lang,
            provenance=self.prov,
            attempt_refusals=self.refusals,
            **kw,
        )

    def served(self, role: str, servers: list[str]) -> None:
        """Provenance: the server(s) that answered this role's requests for the item."""
        for server in servers:
            known = self.prov.servers.get(role)
            if not known or server not in known.split(","):
                self.prov.servers[role] = f"{known},{server}" if known else server

    def spend(self, prompt_tokens: int, completion_tokens: int) -> None:
        self.usage = self.usage + Usage(
            prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
        )

    async def attack(
        self, attacker: ChatBackend, index: NearDuplicateIndex
    ) -> list[str] | Rejected | Failed:
        """The user turns, with reframed retries on a refusal or off-topic output; an early
        duplicate is rejected before anyone answers it."""
        item, settings, sub, lang = self.item, self.settings, self.sub, self.lang
        position = sub.positions[item.index % len(sub.positions)].get(lang)
        example = (
            sub.example_questions[item.index % len(sub.example_questions)].get(lang)
            if sub.example_questions
            else None
        )
        queries: list[str] | None = None
        reason, detail = "attacker_off_topic", ""
        for attempt in range(settings.attacker_retries + 1):
            prompt = self.strategy.attacker_prompt(
                language=lang,
                subdomain_name=sub.name.get(lang),
                subdomain_description=sub.description.get(lang),
                position=position,
                example=example,
                reframe=attempt > 0,
            )
            config = GenerateConfig(
                max_tokens=settings.max_tokens.get("attacker", 256) * self.strategy.turns,
                temperature=settings.attacker_temperature,
                seed=settings.seed + item.index,
                sample_index=attempt,
            )
            try:
                with served_by() as servers:
                    c = await attacker.generate([{"role": "user", "content": prompt}], config)
                self.served("attacker", servers)
            except BackendError as e:
                return self.done(Failed, stage="attacker", error=str(e))
            self.spend(c.prompt_tokens, c.completion_tokens)
            queries, reason_or_none, detail = check_query(
                c.text,
                language=lang,
                turns=self.strategy.turns,
                mixes_languages=self.strategy.mixes_languages,
            )
            if queries is not None:
                break
            reason = reason_or_none or reason
            self.refusals += reason == "attacker_refusal"
        if queries is None:
            return self.done(Rejected, reason=reason, detail=detail)
        self.query = "\n".join(queries)
        early = index.find(self.query)
        if early is not None:
            return self.done(
                Rejected,
                reason="duplicate",
                detail=f"{early[0]} duplicate before answering",
                query=self.query,
                duplicate_of=early[1],
                similarity=round(early[2], 4),
            )
        return queries

    async def act(
        self, actor: ChatBackend, queries: list[str]
    ) -> tuple[list[Message], str] | Rejected | Failed:
        """The Actor answers every user turn, with the charter's positions and red lines as its
        system prompt; the conversation and the last answer."""
        settings = self.settings
        conversation: list[Message] = [
            {
                "role": "system",
                "content": actor_system_prompt(self.prep.charter, self.item.subdomain, self.lang),
            }
        ]
        answer = ""
        for q in queries:
            conversation.append({"role": "user", "content": q})
            try:
                with served_by() as servers:
                    c = await actor.generate(
                        conversation,
                        GenerateConfig(
                            max_tokens=settings.max_tokens.get("actor", 512),
                            temperature=0.0,
                            seed=settings.seed,
                        ),
                    )
                self.served("actor", servers)
            except BackendError as e:
                return self.done(Failed, stage="actor", error=str(e), query=self.query)
            self.spend(c.prompt_tokens, c.completion_tokens)
            answer = c.text.strip()
            conversation.append({"role": "assistant", "content": answer})
        if not answer:
            return self.done(
                Rejected,
                reason="empty_answer",
                messages=[Turn(**m) for m in conversation],
                query=self.query,
                answer=answer,
            )
        return conversation, answer

    async def criticise(
        self,
        critic: Critic,
        index: NearDuplicateIndex,
        conversation: list[Message],
        answer: str,
    ) -> Sample | Rejected | Failed:
        """The Critic's strict JSON scores decide: kept, below the threshold, or a duplicate."""
        seen = {"query": self.query, "answer": answer}
        try:
            with served_by() as servers:
                result = await critic.score(
                    self.item.subdomain, self.lang, conversation[1:-1], answer
                )
            self.served("critic", servers)
        except BackendError as e:
            return self.done(Failed, stage="critic", error=str(e), **seen)
        self.spend(result.prompt_tokens, result.completion_tokens)
        if result.scores is None:
            return self.done(
                Failed,
                stage="critic",
                error=f"parse failure after {result.attempts} attempts: {result.parse_error}",
                raw=result.raw,
                **seen,
            )
        kept = {"messages": [Turn(**m) for m in conversation], **seen, "critic": result.scores}
        if result.scores.overall < self.prep.threshold:
            return self.done(
                Rejected,
                reason="below_threshold",
                detail=f"overall {result.scores.overall} < {self.prep.threshold}",
                **kept,
            )
        dup = index.check_and_add(self.item.item_id, self.query)
        if dup is not None:
            return self.done(
                Rejected,
                reason="duplicate",
                detail=f"{dup[0]} duplicate",
                duplicate_of=dup[1],
                similarity=round(dup[2], 4),
                **kept,
            )
        return self.done(Sample, **kept)


def _stats(
    prep: _Prepared,
    samples: list[Sample],
    rejected: list[Rejected],
    failed: list[Failed],
    planned: set[str],
    index: NearDuplicateIndex | None = None,
) -> dict:
    records = [r for r in [*samples, *rejected, *failed] if r.item_id in planned]

    def by(key: str) -> dict:
        table: dict = defaultdict(Counter)
        for r in records:
            table[getattr(r, key)][r.kind] += 1
        return {k: dict(v) for k, v in sorted(table.items())}

    refusal_by_sub: dict = defaultdict(
        lambda: {"attempts_refused": 0, "items": 0, "items_rejected_for_refusal": 0}
    )
    for r in records:
        row = refusal_by_sub[r.subdomain]
        row["items"] += 1
        row["attempts_refused"] += r.attempt_refusals
        row["items_rejected_for_refusal"] += (
            isinstance(r, Rejected) and r.reason == "attacker_refusal"
        )
    for row in refusal_by_sub.values():
        row["refusal_rate"] = (
            round(row["items_rejected_for_refusal"] / row["items"], 4) if row["items"] else None
        )
    scored = [
        r.critic for r in [*samples, *rejected] if r.critic is not None and r.item_id in planned
    ]
    hist = {
        k: dict(sorted(Counter(getattr(s, k) for s in scored).items()))
        for k in ("overall", "value_consistency", "factual_accuracy", "helpfulness", "harmlessness")
    }
    usage = Usage()
    for r in records:
        usage = usage + r.provenance.usage
    kept_queries = [s.query for s in samples if s.item_id in planned]
    cells = Counter((s.subdomain, s.strategy, s.language) for s in samples if s.item_id in planned)
    plan_cells = {(it.subdomain, it.strategy, it.language) for it in prep.items}
    return {
        "counts": {
            "planned": len(planned),
            "kept": sum(isinstance(r, Sample) for r in records),
            "rejected": sum(isinstance(r, Rejected) for r in records),
            "failed": sum(isinstance(r, Failed) for r in records),
            "pending": len(planned) - len({r.item_id for r in records}),
        },
        "rejected_by_reason": dict(Counter(r.reason for r in records if isinstance(r, Rejected))),
        "failed_by_stage": dict(Counter(r.stage for r in records if isinstance(r, Failed))),
        "by_subdomain": by("subdomain"),
        "by_strategy": by("strategy"),
        "by_language": by("language"),
        "refusals_by_subdomain": dict(sorted(refusal_by_sub.items())),
        "critic_score_histograms": hist,
        "token_usage": usage.model_dump(),
        "diversity": {
            **diversity_report(kept_queries, index=index),
            "cells_with_kept_items": len(cells),
            "cells_planned": len(plan_cells),
            "kept_per_cell_min": min((cells.get(c, 0) for c in plan_cells), default=0),
            "kept_per_cell_max": max(cells.values(), default=0),
        },
    }


arun_generate = agenerate
