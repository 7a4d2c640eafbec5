"""The main job on the embedded Qwen models, end to end, on 2 CPU cores.

``valuealign demo`` (and ``make demo``) runs the loop the toolkit exists for, offline, with the
embedded Qwen2.5 Instruct models: the 0.5B is the model being aligned (trained with LoRA through
transformers, served through CTranslate2), the 1.5B plays Attacker, Critic and judge (a different
and larger model than the one it judges). Stages, each timed with its peak memory:

1. ``ask``: the 0.5B answers a few charter questions in Chinese and English with the Actor's
   system prompt (the share of CJK characters in its Chinese answers is recorded);
2. ``curate``: the built-in sample corpus (planted junk, duplicates, other languages, personal
   data) is curated and packed with the 0.5B's tokenizer;
3. ``generate``: Attacker (1.5B) -> Actor (0.5B, charter prompt) -> Critic (1.5B); every keep /
   drop decision is printed with its reason;
4. ``train``: CPT on the curated shards, SFT on the shipped sample pairs, adversarial LoRA on the
   pairs the Critic kept (never on shipped pairs: too few kept pairs skip the stage, loudly);
5. ``eval``: the base and the trained 0.5B on a benchmark slice in both languages, judged by the
   1.5B, with n and intervals, and the HTML report;
6. ``consensus`` (optional): one short PSRO negotiation between two cultural agents.

A few CPU steps demonstrate the mechanism; they are not an effect size, and the report says so.

>>> from valuealign.demo import run_demo
>>> manifest = run_demo("runs/demo", model="mock/echo", progress=False)
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from valuealign.aio import ensure_no_running_loop, for_each, run_sync
from valuealign.backends import (
    ChatBackend,
    GenerateConfig,
    aclose_all,
    describe,
    get_backend,
    release_local_backends,
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
from valuealign.records import (
    AnswerRecord,
    JsonlWriter,
    Provenance,
    Usage,
    ensure_run_dir,
    existing_ids,
    read_jsonl,
    utcnow,
    write_json_atomic,
)
from valuealign.runs import JobRun, manifest_header, progress_bar

DEFAULT_MODEL = "hf/qwen2.5-0.5b-instruct"
DEFAULT_HELPER = "ct2/qwen2.5-1.5b-instruct"
MIN_GENERATED_PAIRS = 2
DISCLAIMER = (
    "A few LoRA steps on 2 CPU cores demonstrate the mechanism; they are not an effect size. "
    "The judge is a 1.5B model: treat its verdicts as weak evidence (see judge-check)."
)


@dataclass(frozen=True)
class DemoItem:
    id: str
    subdomain: str
    language: str
    question: str


@dataclass
class DemoSettings:
    model: str = DEFAULT_MODEL
    """The model being aligned: trained through hf/, served through ct2/ (see ``engine``)."""
    attacker: str | None = DEFAULT_HELPER
    critic: str | None = DEFAULT_HELPER
    judge: str | None = DEFAULT_HELPER
    """None: the served model plays the role itself."""
    engine: str = "ct2"
    """How an hf/ model is served for inference: 'ct2' (CTranslate2 int8, fast) or 'hf'."""
    charter: str = DEFAULT_CHARTER
    n_subdomains: int = 3
    languages: tuple[str, ...] = ("zh", "en")
    max_tokens: int = 96
    gen_n: int = 4
    eval_subdomains: int | None = 5
    """How many of the charter's subdomains the evaluation covers (None: all 13)."""
    benign: bool = False
    """Also ask the benign controls (over-refusal); doubles the evaluation's cost."""
    eval_max_tokens: int = 96
    judge_max_tokens: int = 160
    train_steps: int = 2
    stages: tuple[str, ...] = ("ask", "curate", "generate", "train", "eval")
    backend_options: dict = field(default_factory=dict)

    def served(self, spec: str) -> str:
        """The address inference uses for a model (hf/X -> ct2/X when the engine is ct2)."""
        if self.engine == "ct2" and spec.startswith("hf/"):
            return "ct2/" + spec.removeprefix("hf/")
        return spec


def plan_items(charter_source: str, n_subdomains: int, languages: list[str]) -> list[DemoItem]:
    """One example question per subdomain, round-robin over domains, in every language."""
    charter = load_charter(charter_source)
    for lang in languages:
        if lang not in charter.languages:
            raise UserError(
                f"language {lang!r} is not in the charter's languages {list(charter.languages)}",
                fix="pick from those",
            )
    columns = [[s for s in d.subdomains if s.example_questions] for d in charter.domains]
    picked = []
    for depth in range(max((len(c) for c in columns), default=0)):
        picked += [c[depth] for c in columns if depth < len(c)]
    items = []
    for sub in picked[:n_subdomains]:
        for lang in languages:
            items.append(
                DemoItem(f"{sub.id}-{lang}", sub.id, lang, sub.example_questions[0].get(lang))
            )
    return items


# -- measuring each stage --------------------------------------------------------------------


def _rss_peak_mb() -> float:
    """Peak resident memory of this process since the last reset (VmHWM), in MB."""
    try:
        for line in Path("/proc/self/status").read_text().split("\n"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_rss_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass  # not Linux: the figure is then the peak since the process started


@contextmanager
def _stage(name: str, timings: dict, say: Callable[[str], None] | None) -> Iterator[dict]:
    """Time a stage; its peak memory is this process's, or the child's when it ran in one."""
    if say:
        say(f"== demo stage: {name}")
    _reset_rss_peak()
    t0 = time.perf_counter()
    child: dict = {}
    try:
        yield child
    finally:
        release_local_backends()
        timings[name] = {
            "seconds": round(time.perf_counter() - t0, 1),
            "peak_rss_mb": round(max(_rss_peak_mb(), child.get("peak_rss_mb", 0))),
        }
        if say:
            t = timings[name]
            say(f"== {name}: {t['seconds']:.0f} s, peak memory {t['peak_rss_mb'] / 1024:.2f} GB")


class StageFailed(RuntimeError):
    """A demo stage ended with an error that is neither bad input nor a backend failure (a bug
    or a broken install): one line for the person, the whole traceback for the log."""

    def __init__(self, stage: str, error: str, traceback: str) -> None:
        self.stage, self.error, self.traceback = stage, error, traceback
        self.log: Path | None = None  # where run_demo kept the traceback
        super().__init__(f"the demo stage {stage!r} failed: {error}")


def _child_main(fn: Callable, args: tuple, kwargs: dict, queue, verbose: bool = False) -> None:
    from valuealign.console import set_verbose

    set_verbose(verbose)  # a spawned child starts with no warning filters: as quiet as the parent
    try:
        result = fn(*args, **kwargs)
        queue.put(("ok", result, _rss_peak_mb()))
    except UserError as e:
        queue.put(("user", (e.message, e.fix), _rss_peak_mb()))
    except BackendError as e:
        queue.put(("backend", str(e), _rss_peak_mb()))
    except BaseException as e:
        import traceback

        first = str(e).strip().split("\n", 1)[0]
        error = f"{type(e).__name__}: {first}" if first else type(e).__name__
        queue.put(("error", (error, traceback.format_exc()), _rss_peak_mb()))


def _isolated(child: dict, stage: str, fn: Callable, *args: object, **kwargs: object) -> object:
    """Run a heavy stage in a fresh process, so the memory it used is returned to the system
    when it ends (a process that trained or converted a model keeps its peak allocation).
    Bad input and backend failures come back as they were raised; anything else as
    :class:`StageFailed`, with the child's traceback."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    from valuealign.console import is_verbose

    proc = ctx.Process(target=_child_main, args=(fn, args, kwargs, queue, is_verbose()))
    proc.start()
    try:
        status, payload, peak = queue.get()
    finally:
        proc.join()
    # a stage may run several children (eval: the conversion, then the evaluation)
    child["peak_rss_mb"] = max(child.get("peak_rss_mb") or 0.0, peak)
    if status == "user":
        message, fix = payload
        raise UserError(message, fix=fix)
    if status == "backend":
        raise BackendError(payload)
    if status == "error":
        raise StageFailed(stage, *payload)
    return payload


def _keep_traceback(out: Path, failed: StageFailed) -> None:
    """Append the failed stage's traceback to ``DIR/errors.log`` (``failed.log`` says where)."""
    failed.log = out / "errors.log"
    with failed.log.open("a", encoding="utf-8") as f:
        f.write(f"{utcnow()} demo stage {failed.stage!r} failed\n{failed.traceback}\n")


def _uses_local_models(s: DemoSettings) -> bool:
    specs = [s.model, s.attacker or "", s.critic or "", s.judge or ""]
    return any(x.startswith(("hf/", "ct2/")) for x in specs)


# -- the stages --------------------------------------------------------------------------------


def cjk_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    return sum("\u4e00" <= c <= "\u9fff" for c in letters) / max(len(letters), 1)


def ask_stage(out: Path, s: DemoSettings, progress: bool) -> dict:
    """The served model answers the chosen example questions with the Actor's system prompt."""
    items = plan_items(s.charter, s.n_subdomains, list(s.languages))
    spec = s.served(s.model)
    backend = get_backend(spec, **s.backend_options)
    answers_path = out / "answers.jsonl"
    done = existing_ids(answers_path)
    todo = [it for it in items if it.id not in done]
    usage = Usage()
    with JobRun(out) as run:
        if todo:
            actor = run.cached(backend, template_version=ACTOR_TEMPLATE_VERSION)
            usage = run_sync(_ask(todo, actor, s, answers_path, bar=(spec, len(items), progress)))
        hits = run.cache.hits
    records = read_jsonl(answers_path, AnswerRecord)
    zh = [r.answer for r in records if r.language == "zh" and r.answer]
    return {
        "roles": {"actor": describe(backend)},
        "counts": {
            "planned": len(items),
            "answered": sum(r.answer is not None for r in records),
            "failed": sum(r.error is not None for r in records),
            "resumed_from_disk": len(items) - len(todo),
            "cache_hits": hits,
        },
        "zh_cjk_share": round(sum(map(cjk_share, zh)) / len(zh), 3) if zh else None,
        "usage_this_run": usage.model_dump(),
    }


async def _ask(
    todo: list[DemoItem],
    actor: ChatBackend,
    s: DemoSettings,
    path: Path,
    *,
    bar: tuple[str, int, bool],
) -> Usage:
    """Ask every item at once (a local model batches them), appending each answer as it comes;
    returns the tokens used. ``bar``: (title, items in all, shown?)."""
    charter = load_charter(s.charter)
    config = GenerateConfig(max_tokens=s.max_tokens, temperature=0.0, seed=0)
    title, total, shown = bar
    usage = Usage()
    with (
        JsonlWriter(path) as writer,
        progress_bar("[bold]ask[/] {task.description}", "", enabled=shown) as progress,
    ):
        task = progress.add_task(title, total=total, completed=total - len(todo))

        def done(record: AnswerRecord) -> None:
            nonlocal usage
            writer.append(record)
            usage = usage + record.provenance.usage
            progress.advance(task)

        try:
            await for_each(todo, lambda item: _answer(actor, charter, item, config), done=done)
        finally:
            await aclose_all(actor)
    return usage


async def _answer(
    actor: ChatBackend, charter: Charter, item: DemoItem, config: GenerateConfig
) -> AnswerRecord:
    system = actor_system_prompt(charter, item.subdomain, item.language)
    prov = Provenance(
        roles={"actor": actor.name},
        template_hash=template_hash(ACTOR_TEMPLATE_VERSION, system),
        seed=config.seed,
    )
    fields = {
        "id": item.id,
        "item_id": item.id,
        "subdomain": item.subdomain,
        "language": item.language,
        "question": item.question,
        "provenance": prov,
    }
    messages = [{"role": "system", "content": system}, {"role": "user", "content": item.question}]
    try:
        c = await actor.generate(messages, config)
    except BackendError as e:
        return AnswerRecord(**fields, error=str(e))
    prov.usage = Usage(prompt_tokens=c.prompt_tokens, completion_tokens=c.completion_tokens)
    return AnswerRecord(**fields, answer=c.text, finish_reason=c.finish_reason)


def curate_stage(out: Path, s: DemoSettings, progress: bool) -> dict:
    from valuealign.curate import curate_sample

    tokenizer = s.model if s.model.startswith("hf/") else "hf/smollm2-135m-instruct"
    stats = curate_sample(out / "curate", tokenizer=tokenizer, progress=progress)
    steps = stats.get("steps", {})
    return {
        "dir": "curate",
        "documents": stats.get("documents", {}),
        "dropped": {name: st.get("dropped", 0) for name, st in steps.items()},
        "subdomains_covered": stats.get("subdomains", {}).get("covered"),
        "tokens": stats.get("tokens", {}).get("total"),
        "sequences": stats.get("tokens", {}).get("sequences"),
    }


def generate_stage(out: Path, s: DemoSettings, progress: bool) -> dict:
    from valuealign.generate.pipeline import GenerateSettings, run_generate

    served = s.served(s.model)
    gen = GenerateSettings(
        n=s.gen_n,
        attacker=s.attacker or served,
        actor=served,
        critic=s.critic or served,
        charter=s.charter,
        languages=list(s.languages),
        strategies=["direct", "false-premise", "role-play"],
        attacker_retries=1,
        critic_retries=1,
        concurrency={"attacker": 8, "actor": 8, "critic": 8},
        max_tokens={"attacker": 96, "actor": s.max_tokens, "critic": 192},
    )
    stats = run_generate(
        out / "generate", gen, backend_options=s.backend_options, progress=progress
    )
    return {
        "dir": "generate",
        **stats.counts.model_dump(),
        "decisions": _decisions(out / "generate"),
    }


def _decisions(run: Path) -> list[dict]:
    """Every item's outcome with its reason: what the Critic kept, dropped, or what failed."""
    from valuealign.generate.records import Failed, Rejected, Sample

    rows: list[dict] = []
    for name, model in (("samples", Sample), ("rejected", Rejected), ("failed", Failed)):
        path = run / f"{name}.jsonl"
        if not path.exists():
            continue
        for r in read_jsonl(path, model):
            row = {"item": r.item_id, "language": r.language, "strategy": r.strategy}
            if isinstance(r, Sample):
                row |= {
                    "decision": "kept",
                    "overall": r.critic.overall,
                    "why": r.critic.reason,
                    "query": r.query,
                }
            elif isinstance(r, Rejected):
                row |= {
                    "decision": f"dropped: {r.reason}",
                    "overall": r.critic.overall if r.critic else None,
                    "why": (r.critic.reason if r.critic else r.detail),
                    "query": r.query,
                }
            else:
                row |= {"decision": f"failed at {r.stage}", "why": r.error, "query": r.query}
            rows.append(row)
    return sorted(rows, key=lambda r: r["item"])


def train_stage(out: Path, s: DemoSettings, progress: bool, *, curated: bool) -> dict:
    """CPT -> SFT -> adversarial LoRA, a few steps each, every stage merged for serving.

    The adversarial stage trains on the pairs this run's Critic kept, and only on those: with
    fewer than ``MIN_GENERATED_PAIRS`` kept it is skipped and the manifest says why.
    """
    from valuealign.generate.export import export_sft
    from valuealign.train import load_stage_config, run_chain

    notes: list[str] = []
    pairs: str | None = None
    generated = out / "generate"
    if (generated / "samples.jsonl").exists():
        target = out / "train" / "generated-pairs.jsonl"
        n = export_sft(generated, target)
        if n >= MIN_GENERATED_PAIRS:
            pairs = str(target)
            notes.append(f"adversarial LoRA trains on the {n} pair(s) the Critic kept")
        else:
            notes.append(
                f"SKIPPED adversarial LoRA: the Critic kept {n} pair(s), fewer than "
                f"{MIN_GENERATED_PAIRS}; see the generate decisions above for why"
            )
    else:
        notes.append("SKIPPED adversarial LoRA: the generate stage did not run")
    cpt_data = (
        str(out / "curate")
        if curated and (out / "curate" / "packed" / "meta.json").exists()
        else "builtin:cpt-sample"
    )
    common = {
        "seq_len": 256,
        "batch_size": 2,
        "max_steps": s.train_steps,
        "logging_steps": 1,
        "eval_fraction": 0.1,
        "drift_max_tokens": 128,
        "lora_enabled": True,
        "warmup_ratio": 0.0,  # with 2 steps any warmup leaves the first step at learning rate 0
    }
    root = out / "train"
    plan = [
        ("cpt", [cpt_data], {"learning_rate": 1e-4}),
        ("sft", ["builtin:sft-sample"], {"learning_rate": 2e-4}),
    ]
    if pairs:
        plan.append(("adversarial", [pairs], {"learning_rate": 2e-4}))
    stages = []
    current = s.model
    for stage, data, extra in plan:
        cfg = load_stage_config(
            stage,
            None,
            {**common, **extra, "model": current, "data": data, "out": str(root / stage)},
        )
        cfg.merge = True
        stages.append(cfg)
        current = "hf/" + str(root / stage / "merged")
    say = (lambda m: print(m, flush=True)) if progress else None
    manifests = run_chain(stages, resume=True, progress=say)
    return {
        "dir": "train",
        "model": current,
        "notes": notes,
        "stages": {
            m["stage"]: {
                "steps": m["global_step"],
                "loss_first": m["loss_history"][0]["loss"] if m["loss_history"] else None,
                "loss_last": m["loss_history"][-1]["loss"] if m["loss_history"] else None,
                "eval_loss": m["eval_loss"],
                "drift": m["drift"],
                "data": [d["path"] for d in m["data"]],
            }
            for m in manifests
        },
    }


def convert_stage(out: Path, s: DemoSettings, progress: bool, trained: str) -> None:
    """Convert the trained, merged model for ``ct2/`` serving (once; a no-op when not served
    through ct2/)."""
    served = s.served(trained)
    if served.startswith("ct2/"):
        from valuealign.backends.ct2 import converted_ct2

        converted_ct2(served.removeprefix("ct2/"))


def eval_stage(out: Path, s: DemoSettings, progress: bool, trained: str | None) -> dict:
    from valuealign.evaluate.runner import EvalSettings, run_eval
    from valuealign.report import write_report

    charter = load_charter(s.charter)
    subs = charter.subdomain_ids()
    if s.eval_subdomains is not None:
        subs = subs[: s.eval_subdomains]
    base = s.served(s.model)
    judge = s.judge or base
    settings = EvalSettings(
        models=[base] + ([s.served(trained)] if trained else []),
        judges=[judge],
        languages=list(s.languages),
        charter=s.charter,
        benign="builtin:vcbench-benign" if s.benign else None,
        subdomains=subs,
        per_subdomain=1,
        max_tokens=s.eval_max_tokens,
        judge_max_tokens=s.judge_max_tokens,
        judge_mode="generate" if judge.startswith(("ct2/", "openai/", "mock/")) else "logprobs",
        judge_parse_retries=1,
        concurrency=16,
        consistency=False,
    )
    # a local judge reads eight 850-token prompts at once at batch 8: about 1 GB more at the peak
    # than at batch 4 for the 1.5B, which keeps the stage under 8 GB beside the two answering models
    judge_options = {"judge": {"max_batch_size": 4}} if judge.startswith(("hf/", "ct2/")) else None
    scores = run_eval(
        out / "eval",
        settings,
        backend_options=s.backend_options,
        role_backend_options=judge_options,
        progress=progress,
    )
    per_model = scores.model_dump()["per_model"]

    def brief(model: str) -> dict:
        keys = (
            "total",
            "max_total",
            "mean",
            "n",
            "ci95",
            "parse_failures",
            "missing",
            "incomplete",
        )
        return {
            lang: {k: v for k, v in sc.items() if k in keys}
            for lang, sc in per_model[model]["languages"].items()
        }

    summary = {
        "dir": "eval",
        "report": str(write_report(out / "eval").relative_to(out)),
        "judge": judge,
        "models": settings.models,
        "subdomains": len(subs),
        "scores": brief(base),
    }
    if trained:
        summary["scores_trained"] = brief(settings.models[1])
    return summary


def consensus_stage(out: Path, s: DemoSettings, progress: bool) -> dict:
    from valuealign.consensus.runner import ConsensusSettings, load_topics, run_consensus

    settings = ConsensusSettings(
        zones=["confucian", "protestant-europe"],
        model=s.served(s.model),
        rounds=2,
        max_tokens=64,
        language="en",
    )
    cm = run_consensus(
        out / "consensus",
        settings,
        load_topics("builtin:topics")[:1],
        backend_options=s.backend_options,
        progress=progress,
    )
    from valuealign.report.consensus import write_consensus_report

    write_consensus_report(out / "consensus")
    return {"dir": "consensus", "report": "consensus/report.html", **cm.summary.model_dump()}


# -- the job -----------------------------------------------------------------------------------


def run_demo(
    out: str | Path = "runs/demo",
    settings: DemoSettings | None = None,
    *,
    progress: bool = True,
    **overrides: object,
) -> dict:
    """Run the demo's stages in order; a rerun resumes every stage from what is on disk.

    A stage that fails with anything but bad input or a backend failure raises
    :class:`StageFailed`, its traceback kept in ``DIR/errors.log``.
    """
    ensure_no_running_loop("run_demo")
    s = _settings(settings, overrides)
    out = Path(out)
    plan_items(s.charter, s.n_subdomains, list(s.languages))  # bad input fails before any work
    ensure_run_dir(out)

    def say(message: str) -> None:  # stage lines print even without progress bars
        print(message, flush=True)

    started, t0 = utcnow(), time.perf_counter()
    timings: dict[str, dict] = {}
    manifest: dict = {
        **manifest_header("demo"),
        "charter": s.charter,
        "charter_id": load_charter(s.charter).id,
        "charter_hash": charter_hash(s.charter),
        "settings": {k: v for k, v in asdict(s).items() if k != "backend_options"},
        "started_at": started,
        "disclaimer": DISCLAIMER,
        "timings": timings,
    }
    for stage in s.stages:
        try:
            with _stage(stage, timings, say) as child:
                _run_stage(stage, child, out, s, progress, manifest)
        except StageFailed as e:
            _keep_traceback(out, e)
            raise
        write_json_atomic(out / "manifest.json", manifest)
    manifest["finished_at"] = utcnow()
    manifest["wall_seconds"] = round(time.perf_counter() - t0, 1)
    manifest["peak_rss_mb"] = max((t["peak_rss_mb"] for t in timings.values()), default=None)
    write_json_atomic(out / "manifest.json", manifest)
    return manifest


def _settings(settings: DemoSettings | None, overrides: dict[str, object]) -> DemoSettings:
    """The settings with ``run_demo``'s keyword overrides; a served-only model (a server, a
    mock) cannot be trained here, so it skips training and plays every role."""
    s = settings or DemoSettings()
    for key, value in overrides.items():
        if not hasattr(s, key):
            raise TypeError(f"run_demo() got an unexpected setting {key!r}")
        setattr(s, key, value)
    if not s.model.startswith("hf/"):
        s.stages = tuple(x for x in s.stages if x != "train")
        s.attacker = s.attacker if s.attacker != DEFAULT_HELPER else None
        s.critic = s.critic if s.critic != DEFAULT_HELPER else None
        s.judge = s.judge if s.judge != DEFAULT_HELPER else None
    return s


def _run_stage(
    stage: str, child: dict, out: Path, s: DemoSettings, progress: bool, manifest: dict
) -> None:
    """One stage, its summary added to ``manifest``. With local models each heavy stage runs in
    its own process, so its memory is freed before the next."""

    def run(fn: Callable, *args: object, **kwargs: object) -> object:
        if _uses_local_models(s):
            return _isolated(child, stage, fn, out, s, progress, *args, **kwargs)
        return fn(out, s, progress, *args, **kwargs)

    if stage == "ask":
        manifest.update(ask_stage(out, s, progress))
    elif stage == "curate":
        manifest["curate"] = curate_stage(out, s, progress)
    elif stage == "generate":
        manifest["generate"] = run(generate_stage)
    elif stage == "train":
        manifest["train"] = run(train_stage, curated="curate" in s.stages)
    elif stage == "eval":
        trained = manifest["train"]["model"] if "train" in manifest else None
        if trained:
            # converting the trained model loads it in float32: done in a process of its own,
            # it does not add to the evaluation's peak (three models and the judge's prompts)
            run(convert_stage, trained)
        manifest["eval"] = run(eval_stage, trained)
    elif stage == "consensus":
        manifest["consensus"] = run(consensus_stage)
    else:
        raise UserError(
            f"unknown demo stage {stage!r}",
            fix="use ask, curate, generate, train, eval, consensus",
        )
