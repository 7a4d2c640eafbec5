"""The main job on the embedded model, end to end on a small slice.

``valuealign demo`` (and ``make demo``) runs this with the embedded SmolLM2 model and nothing
configured. It loads a charter and picks subdomains spread over its domains; then

1. asks each subdomain's example question in Chinese and English, with a system prompt built
   from that subdomain's positions and red lines (the Actor's prompt);
2. generates a handful of adversarial pairs in both languages with the same model as
   Attacker, Actor and Critic (a model this small rarely writes valid Critic JSON: those items
   end as failed records with the raw text, exactly as a real run would record them);
3. evaluates the same model on a slice of the bilingual benchmark (one item and one benign
   control per chosen subdomain, both languages), with the same model as judge, and writes the
   HTML report;
4. runs one short PSRO negotiation between two cultural agents (Confucian and Protestant
   Europe, built from the values-survey coordinates) on one topic, with its metrics and report.
   A 135M model cannot follow the judge's output format, so a local judge scores
   in 'logprobs' mode: its verdict is the digit it finds most likely after ``VERDICT: [[``.

    runs/demo/answers.jsonl    one AnswerRecord per question (or the error that stopped it)
    runs/demo/manifest.json    charter hash, model, settings, versions, timings, counts
    runs/demo/cache.sqlite     request cache: a rerun is free and resumes where it stopped
    runs/demo/generate/        the generation run: samples / rejected / failed .jsonl, stats.json
    runs/demo/consensus/       a short PSRO negotiation between two cultural agents
    runs/demo/eval/            the evaluation run: answers, judgements, scores.json, report.html

>>> from valuealign.demo import run_demo
>>> manifest = run_demo("runs/demo", model="mock/echo")
"""

from __future__ import annotations

import asyncio
import platform
import time
from dataclasses import dataclass
from pathlib import Path

from valuealign import __version__
from valuealign.backends import (
    CachedBackend,
    GenerateConfig,
    RequestCache,
    aclose_all,
    describe,
    get_backend,
)
from valuealign.charter import (
    ACTOR_TEMPLATE_VERSION,
    DEFAULT_CHARTER,
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


@dataclass(frozen=True)
class DemoItem:
    id: str
    subdomain: str
    language: str
    question: str


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


def run_demo(
    out: str | Path = "runs/demo",
    *,
    model: str = "hf/smollm2-135m-instruct",
    charter: str = DEFAULT_CHARTER,
    n_subdomains: int = 3,
    languages: tuple[str, ...] = ("zh", "en"),
    max_tokens: int = 96,
    progress: bool = True,
    backend_options: dict | None = None,
    judge: str | None = None,
    evaluate: bool = True,
    generate: bool = True,
    consensus: bool = True,
    curate: bool = True,
    train: bool = True,
    train_steps: int = 2,
) -> dict:
    out = Path(out)
    ensure_run_dir(out)
    items = plan_items(charter, n_subdomains, list(languages))
    loaded = load_charter(charter)
    backend = get_backend(model, **(backend_options or {}))
    cache = RequestCache(out / "cache.sqlite")
    cached = CachedBackend(backend, cache, template_version=ACTOR_TEMPLATE_VERSION)
    config = GenerateConfig(max_tokens=max_tokens, temperature=0.0, seed=0)
    answers_path = out / "answers.jsonl"
    done = existing_ids(answers_path)
    todo = [it for it in items if it.id not in done]
    started = utcnow()
    t0 = time.perf_counter()
    usage = Usage()

    async def one(item: DemoItem) -> AnswerRecord:
        nonlocal usage
        system = actor_system_prompt(loaded, item.subdomain, item.language)
        messages = [
            {"role": "system", "content": system},
            {"role": "user", "content": item.question},
        ]
        prov = Provenance(
            roles={"actor": backend.name},
            template_hash=template_hash(ACTOR_TEMPLATE_VERSION, system),
            seed=config.seed,
        )
        try:
            c = await cached.generate(messages, config)
        except BackendError as e:
            return AnswerRecord(
                id=item.id,
                item_id=item.id,
                subdomain=item.subdomain,
                language=item.language,
                question=item.question,
                error=str(e),
                provenance=prov,
            )
        prov.usage = Usage(prompt_tokens=c.prompt_tokens, completion_tokens=c.completion_tokens)
        usage = usage + prov.usage
        return AnswerRecord(
            id=item.id,
            item_id=item.id,
            subdomain=item.subdomain,
            language=item.language,
            question=item.question,
            answer=c.text,
            finish_reason=c.finish_reason,
            provenance=prov,
        )

    async def run_all() -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        with (
            JsonlWriter(answers_path) as writer,
            Progress(
                TextColumn("[bold]demo[/] {task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                disable=not progress,
            ) as bar,
        ):
            task = bar.add_task(
                f"asking {backend.name}", total=len(items), completed=len(items) - len(todo)
            )
            try:
                for coro in asyncio.as_completed([one(it) for it in todo]):
                    record = await coro
                    writer.append(record)
                    bar.advance(task)
            finally:
                await aclose_all(cached)

    if todo:
        asyncio.run(run_all())
    records = read_jsonl(answers_path, AnswerRecord)
    manifest = {
        "job": "demo",
        "valuealign_version": __version__,
        "python": platform.python_version(),
        "charter": charter,
        "charter_id": loaded.id,
        "charter_hash": charter_hash(charter),
        "roles": {"actor": describe(backend)},
        "settings": {
            "max_tokens": max_tokens,
            "temperature": 0.0,
            "seed": 0,
            "languages": list(languages),
            "n_subdomains": n_subdomains,
        },
        "started_at": started,
        "finished_at": utcnow(),
        "wall_seconds": round(time.perf_counter() - t0, 3),
        "counts": {
            "planned": len(items),
            "answered": sum(r.answer is not None for r in records),
            "failed": sum(r.error is not None for r in records),
            "resumed_from_disk": len(items) - len(todo),
            "cache_hits": cache.hits,
        },
        "usage_this_run": usage.model_dump(),
        "files": {"answers": "answers.jsonl", "cache": "cache.sqlite"},
    }
    cache.close()
    if curate:
        from valuealign.curate import curate_sample

        tokenizer = model if model.startswith("hf/") else "hf/smollm2-135m-instruct"
        cstats = curate_sample(out / "curate", tokenizer=tokenizer, progress=progress)
        manifest["curate"] = {"dir": "curate", **_curate_summary(cstats)}
    if generate:
        from valuealign.generate.pipeline import GenerateSettings, run_generate

        gen = GenerateSettings(
            n=2 * len(languages),
            attacker=model,
            actor=model,
            critic=judge or model,
            charter=charter,
            languages=list(languages),
            strategies=["direct", "false-premise"],
            attacker_retries=1,
            critic_retries=0,
            concurrency={"attacker": 4, "actor": 4, "critic": 4},
            max_tokens={"attacker": 64, "actor": max_tokens, "critic": 96},
        )
        gen_stats = run_generate(
            out / "generate", gen, backend_options=backend_options, progress=progress
        )
        manifest["generate"] = {"dir": "generate", **gen_stats["counts"]}
    trained: str | None = None
    if train and model.startswith("hf/"):
        manifest["train"] = train_stage(
            out,
            model=model,
            steps=train_steps,
            curated=out / "curate" if curate else None,
            generated=out / "generate" if generate else None,
            progress=progress,
        )
        trained = manifest["train"]["model"]
    elif train:
        manifest["train"] = {"skipped": f"{model} has no local weights to train"}
    if evaluate:
        from valuealign.evaluate.runner import EvalSettings, run_eval
        from valuealign.report import write_report

        settings = EvalSettings(
            models=[model] + ([trained] if trained else []),
            judges=[judge or model],
            languages=list(languages),
            charter=charter,
            subdomains=sorted({it.subdomain for it in items}),
            per_subdomain=1,
            max_tokens=max_tokens,
            judge_max_tokens=48,
            judge_mode="logprobs" if (judge or model).startswith("hf/") else "generate",
            concurrency=8,
        )
        scores = run_eval(
            out / "eval", settings, backend_options=backend_options, progress=progress
        )
        manifest["eval"] = {
            "dir": "eval",
            "report": str(write_report(out / "eval").relative_to(out)),
            "judge": judge or model,
        }
        manifest["scores"] = {
            lang: {k: s[k] for k in ("total", "max_total", "mean", "parse_failures")}
            for lang, s in scores["per_model"][model]["languages"].items()
        }
        if trained:
            manifest["scores_trained"] = {
                lang: {k: s[k] for k in ("total", "max_total", "mean", "parse_failures")}
                for lang, s in scores["per_model"][trained]["languages"].items()
            }
    if consensus:
        from valuealign.consensus.runner import ConsensusSettings, load_topics, run_consensus

        settings_c = ConsensusSettings(
            zones=["confucian", "protestant-europe"],
            model=model,
            rounds=2,
            max_tokens=40,
            language="en",
        )
        cm = run_consensus(
            out / "consensus",
            settings_c,
            load_topics("builtin:topics")[:1],
            backend_options=backend_options,
            progress=progress,
        )
        manifest["consensus"] = {
            "dir": "consensus",
            "report": "consensus/report.html",
            **cm["summary"],
        }
    write_json_atomic(out / "manifest.json", manifest)
    return manifest


def _curate_summary(stats: dict) -> dict:
    steps = stats.get("steps", {})
    return {
        "documents": stats.get("documents", {}),
        "dropped": {name: st.get("dropped", 0) for name, st in steps.items()},
        "subdomains_covered": stats.get("subdomains", {}).get("covered"),
        "tokens": stats.get("tokens", {}).get("total"),
        "sequences": stats.get("tokens", {}).get("sequences"),
    }


MIN_GENERATED_PAIRS = 4


def train_stage(
    out: Path,
    *,
    model: str,
    steps: int,
    curated: Path | None,
    generated: Path | None,
    progress: bool = True,
) -> dict:
    """CPT -> SFT -> adversarial LoRA, a few steps each, on what the demo made.

    CPT reads the curation stage's packed shards (else the shipped CPT sample text). SFT and
    adversarial LoRA read the pairs the generation stage kept; a 135M Critic rarely writes
    valid JSON, so when fewer than ``MIN_GENERATED_PAIRS`` were kept the stages fall back to
    the shipped sample pairs, and the manifest says so.
    """
    from valuealign.train import load_stage_config, run_chain

    notes: list[str] = []
    pairs: str | None = None
    if generated is not None and (generated / "samples.jsonl").exists():
        from valuealign.generate.export import export_sft

        n = export_sft(generated, out / "train" / "generated-pairs.jsonl")
        if n >= MIN_GENERATED_PAIRS:
            pairs = str(out / "train" / "generated-pairs.jsonl")
        else:
            notes.append(
                f"the generation stage kept {n} pair(s) (< {MIN_GENERATED_PAIRS}); SFT and "
                "adversarial LoRA use the shipped sample pairs instead"
            )
    cpt_data = (
        str(curated)
        if curated is not None and (curated / "packed" / "meta.json").exists()
        else "builtin:cpt-sample"
    )
    common = {
        "seq_len": 256,
        "batch_size": 2,
        "max_steps": steps,
        "logging_steps": 1,
        "eval_fraction": 0.1,
        "drift_max_tokens": 256,
        "lora_enabled": True,
    }
    root = out / "train"
    stages = []
    current = model
    for stage, data, extra in (
        ("cpt", [cpt_data], {"learning_rate": 1e-4}),
        ("sft", [pairs or "builtin:sft-sample"], {"learning_rate": 2e-4}),
        ("adversarial", [pairs or "builtin:adversarial-sample"], {"learning_rate": 2e-4}),
    ):
        cfg = load_stage_config(
            stage,
            None,
            {**common, **extra, "model": current, "data": data, "out": str(root / stage)},
        )
        if stage != "adversarial":
            cfg.merge = True
        stages.append(cfg)
        current = "hf/" + str(root / stage / "merged")
    say = (lambda m: print(m, flush=True)) if progress else None
    manifests = run_chain(stages, resume=True, progress=say)
    final = str(root / "adversarial")
    return {
        "dir": "train",
        "model": "hf/" + final,
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
