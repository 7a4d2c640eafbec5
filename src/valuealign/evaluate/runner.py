"""Run an evaluation: answers from each model, verdicts from each judge, numbers, resumable.

    DIR/answers.jsonl       one EvalAnswer per (model, item, language): answer or error
    DIR/judgements.jsonl    one Judgement per (judge, model, item, language) with an answer
    DIR/consistency.jsonl   one ConsistencyJudgement per (model, item) answered in zh and en
    DIR/scores.json         the numbers (see valuealign.evaluate.scores)
    DIR/manifest.json       settings, role bindings, versions, counts, timings
    DIR/cache.sqlite        request cache: a rerun resumes and finished requests are free

Answers and verdicts are appended as they finish, so a killed run loses only what was in
flight; rerunning the same command skips every record already on disk and never writes one twice.

>>> scores = run_eval("runs/eval", EvalSettings(models=["hf/smollm2-135m-instruct"], judges=["mock/echo"]))
"""

from __future__ import annotations

import asyncio
import secrets
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from valuealign.aio import ensure_no_running_loop, fewer_gc_pauses, run_sync
from valuealign.backends import (
    CachedBackend,
    ChatBackend,
    GenerateConfig,
    aclose_all,
    describe,
    get_backend,
    served_by,
    user,
)
from valuealign.charter import DEFAULT_CHARTER, Charter, charter_hash, load_charter
from valuealign.errors import BackendError, UserError
from valuealign.evaluate.benchmark import Benchmark, BenchmarkItem, load_benchmark
from valuealign.evaluate.judge import JUDGE_TEMPLATE_VERSION, Judge
from valuealign.evaluate.records import (
    ConsistencyJudgement,
    EvalAnswer,
    Judgement,
    answer_id,
    judgement_id,
)
from valuealign.evaluate.scores import compute_scores
from valuealign.lang import LANGS
from valuealign.records import (
    JsonlWriter,
    Provenance,
    T,
    Usage,
    existing_ids,
    failure_summary,
    latest_by_id,
    read_json_object,
    read_records,
    should_redo,
    utcnow,
)
from valuealign.runs import JobRun, ScoresSummary, manifest_header, progress_bar, read_manifest

ANSWER_TEMPLATE_VERSION = "answer-v1"


@dataclass
class EvalSettings:
    models: list[str]
    judges: list[str]
    benchmark: str = "builtin:vcbench"
    benign: str | None = "builtin:vcbench-benign"
    languages: list[str] = field(default_factory=lambda: list(LANGS))
    charter: str = DEFAULT_CHARTER
    subdomains: list[str] | None = None
    """Only these subdomains (default: all of the charter's)."""
    per_subdomain: int | None = None
    """Take at most this many items per subdomain (alternating direct/adversarial): a slice."""
    max_tokens: int = 512
    judge_max_tokens: int = 384
    judge_mode: str = "generate"
    """'generate' (the judge writes its verdict) or 'logprobs' (local judges: the verdict is the
    most likely digit after 'VERDICT: [[')."""
    judge_parse_retries: int = 2
    judge_checks: list[str] = field(default_factory=list)
    """`valuealign judge-check --out` reports: a judge that failed its known-answer check is
    named on the first screen; a checklist judge takes its fitted P(yes) threshold from it."""
    concurrency: int = 32
    consistency: bool = True
    seed: int = 0
    retry_parse_failures: bool = False
    """On a rerun, judge again the verdicts that were parse failures (backend errors are always
    retried)."""
    system: str = "none"
    """'none': questions asked with no system prompt (as the benchmark intends); 'charter': with
    the charter's system prompt for the item's subdomain and language, for comparison with models
    trained on data that kept it (`export sft --system charter`)."""
    train_data: list[str] = field(default_factory=list)
    """Training data of the evaluated models, checked against the benchmark (decontam); the
    data files named in a local model's manifest.json are added automatically."""
    strict_decontam: bool = False


def _slice(items: list[BenchmarkItem], per_subdomain: int | None) -> list[BenchmarkItem]:
    if per_subdomain is None:
        return items
    by_sub: dict[str, dict[str, list[BenchmarkItem]]] = defaultdict(lambda: defaultdict(list))
    for it in items:
        by_sub[it.subdomain][it.kind].append(it)
    out: list[BenchmarkItem] = []
    for kinds in by_sub.values():
        queues = list(kinds.values())
        picked: list[BenchmarkItem] = []
        depth = 0
        while len(picked) < per_subdomain and any(depth < len(q) for q in queues):
            picked += [q[depth] for q in queues if depth < len(q)]
            depth += 1
        out += picked[:per_subdomain]
    return out


@dataclass
class _Plan:
    charter: Charter
    items: list[tuple[BenchmarkItem, str]]  # (item, benchmark name)


def prepare(out: Path, settings: EvalSettings) -> _Plan:
    """Check every input before any request is sent."""
    if not settings.models:
        raise UserError("no --model given", fix="pass at least one --model PROVIDER/MODEL")
    if not settings.judges:
        raise UserError("no --judge given", fix="pass at least one --judge PROVIDER/MODEL")
    if settings.subdomains is not None and not settings.subdomains:
        raise UserError("--subdomains is empty", fix="name at least one subdomain, or leave it out")
    if not settings.languages:
        raise UserError("--languages is empty", fix="use --languages zh,en (or one of them)")
    for lang in settings.languages:
        if lang not in LANGS:
            raise UserError(
                f"unsupported language {lang!r}", fix="use --languages zh,en (or one of them)"
            )
    charter = load_charter(settings.charter)
    for lang in settings.languages:
        if lang not in charter.languages:
            raise UserError(
                f"charter {charter.id!r} has no {lang} text",
                fix=f"use --languages {','.join(charter.languages)}",
            )
    benches: list[Benchmark] = [load_benchmark(settings.benchmark)]
    if settings.benign:
        benches.append(load_benchmark(settings.benign))
    known = charter.subdomain_ids()
    for sub in settings.subdomains or []:
        if sub not in known:
            raise UserError(
                f"unknown subdomain {sub!r} in --subdomains", fix=f"use some of: {', '.join(known)}"
            )
    wanted = set(settings.subdomains or known)
    items: list[tuple[BenchmarkItem, str]] = []
    seen: set[str] = set()
    for bench in benches:
        bench.check(charter, settings.languages)
        chosen = [it for it in bench.items if it.subdomain in wanted]
        for it in _slice(chosen, settings.per_subdomain):
            if it.id in seen:
                raise UserError(
                    f"item id {it.id!r} appears in two benchmarks", fix="give every item its own id"
                )
            seen.add(it.id)
            items.append((it, bench.name))
    return _Plan(charter, items)


def _with_system(
    charter: Charter, item: BenchmarkItem, lang: str, system: str, question: str
) -> list[dict]:
    if system == "none":
        return user(question)
    from valuealign.charter import actor_system_prompt

    return [
        {"role": "system", "content": actor_system_prompt(charter, item.subdomain, lang)},
        *user(question),
    ]


def _train_data(settings: EvalSettings) -> tuple[list[str], list[str]]:
    """(training data paths to check, where they came from)."""

    paths = list(settings.train_data)
    found = ["--train-data"] if paths else []
    for spec in settings.models:
        if not spec.startswith("hf/"):
            continue
        folder = Path(spec.removeprefix("hf/"))
        for manifest in (folder / "manifest.json", folder.parent / "manifest.json"):
            if manifest.is_file():
                try:
                    data = read_manifest(manifest).get("data") or []
                except UserError:
                    continue
                paths += [d["path"] for d in data if isinstance(d, dict) and d.get("path")]
                found.append(str(manifest))
                break
    return list(dict.fromkeys(paths)), found


def _judge_checks(settings: EvalSettings) -> dict[tuple[str, str], dict]:
    """(judge, mode) -> its judge-check report."""
    import json

    out: dict[tuple[str, str], dict] = {}
    for path in settings.judge_checks:
        p = Path(path)
        try:
            report = json.loads(p.read_text(encoding="utf-8"))
            out[(report["judge"], report["mode"])] = report
        except (OSError, ValueError, KeyError, TypeError):
            raise UserError(
                f"{p}: not a judge-check report",
                fix="pass a file written by `valuealign judge-check --out`",
            ) from None
    return out


def _judge_warnings(settings: EvalSettings, checks: dict[tuple[str, str], dict]) -> list[str]:
    from valuealign.evaluate.judgecheck import judge_warning

    warnings = []
    for j in settings.judges:
        report = checks.get((j, settings.judge_mode))
        if report is None:
            warnings.append(
                f"judge {j} ({settings.judge_mode}) has not been checked against known answers: "
                "run `valuealign judge-check` and pass its report with --judge-check before "
                "trusting these scores"
            )
        elif (w := judge_warning(report)) is not None:
            warnings.append(w)
    return warnings


def _make_judge(
    spec: str,
    raw: ChatBackend,
    run: JobRun,
    plan: _Plan,
    salt: str,
    settings: EvalSettings,
    checks: dict[tuple[str, str], dict],
) -> Judge:
    if settings.judge_mode == "checklist":
        from valuealign.evaluate.checklist import CHECKLIST_TEMPLATE_VERSION, ChecklistJudge

        fitted = (checks.get((spec, "checklist")) or {}).get("checklist_threshold") or {}
        return ChecklistJudge(  # type: ignore[return-value]
            run.cached(raw, CHECKLIST_TEMPLATE_VERSION, read=not settings.retry_parse_failures),
            plan.charter,
            salt=salt,
            threshold=float(fitted.get("threshold", 0.5)),
        )
    return Judge(
        # a parse failure retried with --retry-parse-failures must not get the cached reply back
        run.cached(raw, JUDGE_TEMPLATE_VERSION, read=not settings.retry_parse_failures),
        plan.charter,
        salt=salt,
        max_tokens=settings.judge_max_tokens,
        mode=settings.judge_mode,
        max_parse_retries=settings.judge_parse_retries,
    )


def _load_manifest_salt(out: Path) -> str:
    path = out / "manifest.json"
    if path.exists():
        salt = read_json_object(path, fix="delete manifest.json (the run resumes)").get("salt")
        if isinstance(salt, str):
            return salt
    return secrets.token_hex(8)


def run_eval(
    out: str | Path,
    settings: EvalSettings,
    *,
    backend_options: dict | None = None,
    role_backend_options: dict[str, dict] | None = None,
    progress: bool = True,
) -> ScoresSummary:
    """Sync form of :func:`arun_eval` (in a notebook use ``await arun_eval(...)``)."""
    ensure_no_running_loop("run_eval", "arun_eval")
    return run_sync(
        arun_eval(
            out,
            settings,
            backend_options=backend_options,
            role_backend_options=role_backend_options,
            progress=progress,
        )
    )


async def arun_eval(
    out: str | Path,
    settings: EvalSettings,
    *,
    backend_options: dict | None = None,
    role_backend_options: dict[str, dict] | None = None,
    progress: bool = True,
) -> ScoresSummary:
    """Run (or resume) an evaluation; returns the scores also written to DIR/scores.json.

    ``backend_options`` go to every backend; ``role_backend_options`` (``{"model": {...},
    "judge": {...}}``) override them for one role, e.g. the judge's own ``base_urls``.
    """
    out = Path(out)
    plan = prepare(out, settings)
    if settings.system not in ("none", "charter"):
        raise UserError(f"unknown --system {settings.system!r}", fix="use none or charter")
    contamination = _decontamination(settings)
    # bad specs fail before any file
    raw_models, raw_judges = _role_backends(settings, backend_options, role_backend_options)
    with JobRun(out) as run:
        salt = _load_manifest_salt(out)
        run.write(
            "manifest.json",
            _manifest(settings, salt, run.started_at, None, {}, {}, contamination),
        )
        models = {m: run.cached(raw_models[m], ANSWER_TEMPLATE_VERSION) for m in settings.models}
        checks = _judge_checks(settings)
        judges = {
            j: _make_judge(j, raw_judges[j], run, plan, salt, settings, checks)
            for j in settings.judges
        }
        counts = await _run(out, settings, plan, models, judges, progress)
        with fewer_gc_pauses():  # reading back 20,000 records on the run's heap
            done = _Done.read(out, _planned_ids(settings, plan))
            scores = _scores(done, settings, plan, judges, checks, contamination)
        counts["wall_seconds"] = run.seconds()
        counts["cache_hits"] = run.cache.hits
        counts |= _failures(done, judges, scores)
        summary = ScoresSummary.model_validate(scores)  # a renamed key fails here, not in a reader
        run.write("scores.json", scores)
        roles = {
            **{f"model:{m}": describe(raw_models[m]) for m in settings.models},
            **{f"judge:{j}": describe(raw_judges[j]) for j in settings.judges},
        }
        run.write(
            "manifest.json",
            _manifest(settings, salt, run.started_at, utcnow(), counts, roles, contamination),
        )
    return summary


def _decontamination(settings: EvalSettings) -> dict:
    """The evaluated models' training data against the benchmark (the decontam guard)."""
    from valuealign.decontam import guard_files

    train_paths, train_from = _train_data(settings)
    contamination: dict = {
        "checked": bool(train_paths),
        "from": train_from,
        "note": None
        if train_paths
        else "no training data known: pass --train-data FILE to check it against the benchmark",
    }
    if train_paths:
        benches = [settings.benchmark] + ([settings.benign] if settings.benign else [])
        contamination |= guard_files(
            train_paths,
            what="the evaluated models' training data",
            strict=settings.strict_decontam,
            benchmark=benches,
        )
    return contamination


def _role_backends(
    settings: EvalSettings,
    backend_options: dict | None,
    role_backend_options: dict[str, dict] | None,
) -> tuple[dict[str, ChatBackend], dict[str, ChatBackend]]:
    """(model backends, judge backends); a spec used by both roles shares one backend unless
    the roles have their own servers."""
    options = backend_options or {}
    per_role = role_backend_options or {}
    made: dict[tuple, ChatBackend] = {}

    def backend_for(role: str, spec: str) -> ChatBackend:
        kw = {**options, **per_role.get(role, {})}
        key = (spec, tuple(kw.get("base_urls") or ()), kw.get("api_key"))
        if key not in made:
            made[key] = get_backend(spec, **kw)
        return made[key]

    return (
        {m: backend_for("model", m) for m in settings.models},
        {j: backend_for("judge", j) for j in settings.judges},
    )


def _planned_ids(settings: EvalSettings, plan: _Plan) -> set[str]:
    return {
        answer_id(m, it.id, lang)
        for m in settings.models
        for it, _ in plan.items
        for lang in settings.languages
    }


@dataclass
class _Done:
    """What is on disk after a run: the last record per id (a rerun appends a retried record
    after the failed one), answers only the planned ones."""

    planned_ids: set[str]
    answers: list[EvalAnswer]
    judgements: list[Judgement]
    consistency: list[ConsistencyJudgement]

    @classmethod
    def read(cls, out: Path, planned_ids: set[str]) -> _Done:
        answers = read_records(out / "answers.jsonl", EvalAnswer, latest=True)
        return cls(
            planned_ids,
            [a for a in answers if a.id in planned_ids],
            read_records(out / "judgements.jsonl", Judgement, latest=True),
            read_records(out / "consistency.jsonl", ConsistencyJudgement, latest=True),
        )


def _scores(
    done: _Done,
    settings: EvalSettings,
    plan: _Plan,
    judges: dict[str, Judge],
    checks: dict[tuple[str, str], dict],
    contamination: dict,
) -> dict:
    """The numbers over every planned record, with the judge checks and decontamination."""
    main_bench = load_benchmark(settings.benchmark)
    scores = compute_scores(
        answers=done.answers,
        judgements=[
            j
            for j in done.judgements
            if answer_id(j.model, j.item_id, j.language) in done.planned_ids and j.judge in judges
        ],
        consistency=[
            c for c in done.consistency if c.model in settings.models and c.judge in judges
        ],
        charter=plan.charter,
        models=settings.models,
        judges=settings.judges,
        languages=settings.languages,
        benchmark=main_bench.name,
        planned=[(it.id, it.kind) for it, _ in plan.items],
        benchmark_items=sum(1 for it in main_bench.items if it.kind != "benign"),
    )
    scores["judge_warnings"] = _judge_warnings(settings, checks)
    scores["judge_checks"] = {
        f"{j}|{m}": {
            "passed": r.get("passed"),
            "languages": {k: v.get("auc") for k, v in r.get("languages", {}).items()},
            "threshold": (r.get("checklist_threshold") or {}).get("threshold"),
        }
        for (j, m), r in checks.items()
    }
    scores["decontamination"] = {
        k: contamination.get(k) for k in ("checked", "collisions", "items_hit", "note")
    }
    if contamination.get("collisions"):
        scores.setdefault("total_warnings", []).insert(
            0,
            f"the evaluated models' training data overlaps {len(contamination['items_hit'])} "
            "benchmark items (see manifest.json: decontamination)",
        )
    return scores


def _failures(done: _Done, judges: dict[str, Judge], scores: dict) -> dict[str, int]:
    """Adds ``scores["failures"]`` (what failed for good, and why); returns the counts."""
    answer_errors = [a.error for a in done.answers if a.error]
    judge_ids = {
        judgement_id(j.name, a.model, a.item_id, a.language)
        for j in judges.values()
        for a in done.answers
        if not a.error
    }
    judge_errors = [j.error for j in done.judgements if j.error and j.id in judge_ids]
    scores["failures"] = {
        "answers": failure_summary(len(done.planned_ids), answer_errors),
        "judgements": failure_summary(len(judge_ids), judge_errors),
    }
    return {"failed_answers": len(answer_errors), "failed_judgements": len(judge_errors)}


def _manifest(
    settings: EvalSettings,
    salt: str,
    started: str,
    finished: str | None,
    counts: dict,
    roles: dict,
    contamination: dict | None = None,
) -> dict:
    return {
        "decontamination": contamination,
        **manifest_header("eval"),
        "settings": asdict(settings),
        "charter_hash": charter_hash(settings.charter),
        "roles": roles,
        "salt": salt,
        "templates": {"answer": ANSWER_TEMPLATE_VERSION, "judge": JUDGE_TEMPLATE_VERSION},
        "started_at": started,
        "finished_at": finished,
        "counts": counts,
        "files": [
            "answers.jsonl",
            "judgements.jsonl",
            "consistency.jsonl",
            "scores.json",
            "cache.sqlite",
        ],
    }


def _read_existing(path: Path, model: type[T]) -> list[T]:
    """Records of a resumable file (a torn last line is dropped; a corrupt one is a UserError
    naming file and line)."""
    existing_ids(path)  # the line-accurate corruption check (id present, UTF-8, JSON)
    return read_records(path, model)


async def _run(
    out: Path,
    settings: EvalSettings,
    plan: _Plan,
    models: dict[str, CachedBackend],
    judges: dict[str, Judge],
    progress: bool,
) -> dict:
    """Answer every (model, item, language), judge each answer, and judge zh/en consistency
    once both languages of an item are answered; resumes from the files in ``out``."""
    run = _EvalRun(out, settings, plan, models, judges)
    units = [
        (m, it, bench, lang)
        for m in settings.models
        for it, bench in plan.items
        for lang in settings.languages
    ]
    with (
        JsonlWriter(out / "answers.jsonl") as run.aw,
        JsonlWriter(out / "judgements.jsonl") as run.jw,
        JsonlWriter(out / "consistency.jsonl") as run.cw,
        progress_bar(
            "[bold]eval[/] {task.description:<12}", "{task.fields[info]}", enabled=progress
        ) as run.bar,
    ):
        run.start_tasks(len(units))
        try:
            with fewer_gc_pauses():
                await asyncio.gather(*[run.unit(*u) for u in units])
        finally:
            await aclose_all(*models.values(), *(j.backend for j in judges.values()))
    run.counts["planned_answers"] = len(units)
    return dict(run.counts)


class _EvalRun:
    """The state one eval run shares across its units: what is done, the writers, the counts."""

    aw: JsonlWriter
    jw: JsonlWriter
    cw: JsonlWriter
    bar: Any

    def __init__(
        self,
        out: Path,
        settings: EvalSettings,
        plan: _Plan,
        models: dict[str, CachedBackend],
        judges: dict[str, Judge],
    ) -> None:
        self.settings, self.plan, self.models, self.judges = settings, plan, models, judges
        # the one resume rule (valuealign.records.should_redo): backend errors are done again,
        # parse failures only with --retry-parse-failures
        retry_parse = settings.retry_parse_failures
        self.done_answers = {
            a.id: a
            for a in latest_by_id(_read_existing(out / "answers.jsonl", EvalAnswer))
            if not should_redo(a.error)
        }
        self.done_judgements = {
            j.id
            for j in latest_by_id(_read_existing(out / "judgements.jsonl", Judgement))
            if not should_redo(j.error, j.parse_error, parse=retry_parse)
        }
        self.done_consistency = {
            c.id
            for c in latest_by_id(_read_existing(out / "consistency.jsonl", ConsistencyJudgement))
            if not should_redo(c.error, c.parse_error, parse=retry_parse)
        }
        self.sem = asyncio.Semaphore(settings.concurrency)
        self.counts: dict[str, int] = defaultdict(int)
        self.answer_cfg = GenerateConfig(
            max_tokens=settings.max_tokens, temperature=0.0, seed=settings.seed
        )
        self.finished: dict[tuple[str, str, str], EvalAnswer] = {}
        self.check_consistency = settings.consistency and set(LANGS) <= set(settings.languages)
        self.primary = next(iter(judges.values()))
        self._domains: dict[str, str] = {}

    def start_tasks(self, n_units: int) -> None:
        n_pairs = sum(
            1 for _ in self.settings.models for it, _b in self.plan.items if it.kind != "benign"
        )
        self.t_ans = self.bar.add_task("answers", total=n_units, info="")
        self.t_judge = self.bar.add_task("judgements", total=n_units * len(self.judges), info="")
        self.t_cons = self.bar.add_task(
            "consistency", total=n_pairs if self.check_consistency else 0, info=""
        )

    def base_fields(self, model: str, item: BenchmarkItem, bench: str) -> dict:
        domain = self._domains.get(item.subdomain)
        if domain is None:  # charter.domain_of walks the charter: once per subdomain
            domain = self._domains[item.subdomain] = self.plan.charter.domain_of(item.subdomain).id
        return {
            "model": model,
            "item_id": item.id,
            "benchmark": bench,
            "domain": domain,
            "subdomain": item.subdomain,
            "item_kind": item.kind,
            "strategy": item.strategy,
        }

    async def answer(self, model: str, item: BenchmarkItem, bench: str, lang: str) -> EvalAnswer:
        settings, counts = self.settings, self.counts
        rid = answer_id(model, item.id, lang)
        if rid in self.done_answers:
            counts["answers_resumed"] += 1
            return self.done_answers[rid]
        question = item.question.get(lang)
        prov = Provenance(
            roles={"model": model}, seed=settings.seed, template_hash=ANSWER_TEMPLATE_VERSION
        )
        fields = {
            "id": rid,
            "language": lang,
            "question": question,
            "provenance": prov,
            **self.base_fields(model, item, bench),
        }
        async with self.sem:
            try:
                with served_by() as servers:
                    c = await self.models[model].generate(
                        _with_system(self.plan.charter, item, lang, settings.system, question),
                        self.answer_cfg,
                    )
                if servers:
                    prov.servers = {"model": ",".join(servers)}
                prov.usage = Usage(
                    prompt_tokens=c.prompt_tokens, completion_tokens=c.completion_tokens
                )
                rec = EvalAnswer(answer=c.text, finish_reason=c.finish_reason, **fields)
                counts["answers"] += 1
            except BackendError as e:
                rec = EvalAnswer(error=str(e), **fields)
                counts["answers_failed"] += 1
        self.aw.append(rec)
        return rec

    async def judge_one(
        self, judge: Judge, rec: EvalAnswer, item: BenchmarkItem, bench: str
    ) -> None:
        counts = self.counts
        jid = judgement_id(judge.name, rec.model, item.id, rec.language)
        if jid in self.done_judgements:
            counts["judgements_resumed"] += 1
            return
        prov = Provenance(
            roles={"judge": judge.name, "model": rec.model},
            seed=self.settings.seed,
            template_hash=JUDGE_TEMPLATE_VERSION,
        )
        fields = {
            "id": jid,
            "judge": judge.name,
            "language": rec.language,
            "provenance": prov,
            **self.base_fields(rec.model, item, bench),
        }
        async with self.sem:
            try:
                with served_by() as servers:
                    r = await judge.score(item, rec.language, rec.answer or "")
                if servers:
                    prov.servers = {"judge": ",".join(servers)}
            except BackendError as e:
                self.jw.append(Judgement(error=str(e), **fields))
                counts["judge_errors"] += 1
                return
        self.jw.append(
            Judgement(
                score=r.score,
                refusal=r.refusal,
                reason=r.reason,
                raw=r.raw,
                parse_error=r.parse_error,
                neutralised=r.neutralised or None,
                **fields,
            )
        )
        counts["parse_failures" if r.parse_error else "judgements"] += 1

    async def consistent(self, model: str, item: BenchmarkItem, bench: str) -> None:
        primary = self.primary
        zh, en = self.finished[(model, item.id, "zh")], self.finished[(model, item.id, "en")]
        cid = f"{primary.name}|{model}|{item.id}"
        if cid in self.done_consistency or zh.answer is None or en.answer is None:
            self.bar.advance(self.t_cons)
            return
        fields = {
            "id": cid,
            "judge": primary.name,
            "provenance": Provenance(roles={"judge": primary.name, "model": model}),
            **self.base_fields(model, item, bench),
        }
        async with self.sem:
            try:
                with served_by() as servers:
                    same, reason, raw, err = await primary.same_stance(item, zh.answer, en.answer)
                if servers:
                    fields["provenance"].servers = {"judge": ",".join(servers)}
                rec = ConsistencyJudgement(
                    same_stance=same, reason=reason, raw=raw, parse_error=err, **fields
                )
            except BackendError as e:
                rec = ConsistencyJudgement(error=str(e), **fields)
        self.cw.append(rec)
        self.bar.advance(self.t_cons)

    async def unit(self, model: str, item: BenchmarkItem, bench: str, lang: str) -> None:
        """Answer one (model, item, language), then judge it; the second language of an item
        to finish starts its consistency judgement."""
        bar, counts, judges = self.bar, self.counts, self.judges
        rec = await self.answer(model, item, bench, lang)
        self.finished[(model, item.id, lang)] = rec
        bar.advance(self.t_ans)
        bar.update(self.t_ans, info=f"failed {counts['answers_failed']}")
        jobs = (
            [self.judge_one(j, rec, item, bench) for j in judges.values()]
            if rec.answer is not None
            else []
        )
        other = "en" if lang == "zh" else "zh"
        if (
            self.check_consistency
            and item.kind != "benign"
            and (model, item.id, other) in self.finished
        ):
            jobs.append(self.consistent(model, item, bench))
        await asyncio.gather(*jobs)
        bar.advance(self.t_judge, len(judges))
        bar.update(self.t_judge, info=f"parse failures {counts['parse_failures']}")
