"""Run negotiations over topics and write transcript, statements, metrics and a report.

    DIR/transcript.jsonl   every opening, proposal, round (pools, payoffs, mixtures, utilities), final
    DIR/statements.jsonl   one line per topic: openings, finals, baselines
    DIR/metrics.json       per topic: PBA, VSC, NashConv, rounds used, baselines; and means
    DIR/report.html        utilities and mixtures by round, per topic (inline SVG)
    DIR/manifest.json      settings, agents, models, versions

A rerun skips topics already in statements.jsonl.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from valuealign._aio import ensure_no_running_loop, run_sync
from valuealign.backends import CachedBackend, RequestCache, aclose_all, describe, get_backend
from valuealign.errors import BackendError, UserError
from valuealign.lang import LANGS
from valuealign.records import (
    JsonlWriter,
    decode_text,
    ensure_run_dir,
    failure_summary,
    read_json_dicts,
    read_json_object,
    split_lines,
    utcnow,
    write_json_atomic,
)
from valuealign.runs import manifest_header


@dataclass
class ConsensusSettings:
    zones: list[str]
    model: str = "hf/smollm2-135m-instruct"
    agent_models: dict[str, str] = field(default_factory=dict)
    agent_adapters: dict[str, str] = field(default_factory=dict)
    """Agent id -> PEFT adapter folder applied to that agent's hf/ model."""
    custom_profiles: dict[str, str] = field(default_factory=dict)
    """Agent id -> FILE#COUNTRY (a WVS CSV or GlobalOpinionQA JSONL) instead of a built-in zone."""
    language: str = "en"
    rounds: int = 4
    epsilon: float = 1e-3
    solver: str = "replicator"
    similarity: str = "auto"
    max_tokens: int = 96
    baselines: bool = True
    seed: int = 0


def load_topics(source: str | None = None, topic: str | None = None) -> list[dict]:
    """``--topic TEXT``, or a JSONL file of {"id", "zh", "en"} lines, or builtin:topics."""
    if topic:
        return [{"id": "topic", "zh": topic, "en": topic}]
    if source is None or source == "builtin:topics":
        text = (resources.files("valuealign") / "data" / "consensus" / "topics.jsonl").read_text(
            encoding="utf-8"
        )
        name = "builtin:topics"
    else:
        path = Path(source)
        if not path.is_file():
            raise UserError(
                f"{path}: topics file not found", fix="check the path, or use builtin:topics"
            )
        text, name = decode_text(path.read_bytes(), str(path)), str(path)
    topics = []
    for lineno, line in enumerate(split_lines(text), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as e:
            raise UserError(
                f"{name}:{lineno}: not valid JSON ({e.msg})",
                fix='each line: {"id": ..., "zh": ..., "en": ...}',
            ) from None
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("id"), str)
            or not (item.get("en") or item.get("zh"))
        ):
            raise UserError(
                f"{name}:{lineno}: a topic needs an 'id' and 'en' and/or 'zh' text",
                fix='each line: {"id": ..., "zh": ..., "en": ...}',
            )
        topics.append(item)
    if not topics:
        raise UserError(f"{name}: no topics", fix="add at least one line")
    return topics


def run_consensus(
    out: str | Path,
    settings: ConsensusSettings,
    topics: list[dict],
    *,
    backend_options: dict | None = None,
    progress: bool = True,
    log=None,
) -> dict:
    """Sync form of :func:`arun_consensus` (in a notebook use ``await arun_consensus(...)``)."""
    ensure_no_running_loop("run_consensus", "arun_consensus")
    return run_sync(
        arun_consensus(
            out, settings, topics, backend_options=backend_options, progress=progress, log=log
        )
    )


async def arun_consensus(
    out: str | Path,
    settings: ConsensusSettings,
    topics: list[dict],
    *,
    backend_options: dict | None = None,
    progress: bool = True,
    log=None,
) -> dict:
    from valuealign.consensus.profiles import get_profile
    from valuealign.values.similarity import get_similarity

    out = Path(out)
    if len(settings.zones) < 2:
        raise UserError(
            "a negotiation needs at least two --agents",
            fix="e.g. --agents confucian,protestant-europe",
        )
    if settings.language not in LANGS:
        raise UserError(
            f"unsupported language {settings.language!r}", fix="use --language en or zh"
        )
    if len(set(settings.zones)) != len(settings.zones):
        raise UserError("the same zone appears twice in --agents", fix="list each zone once")
    from valuealign.consensus.profiles import profile_from_file

    profiles = [
        profile_from_file(settings.custom_profiles[z])
        if z in settings.custom_profiles
        else get_profile(z)
        for z in settings.zones
    ]
    for zone in [*settings.agent_models, *settings.agent_adapters]:
        if zone not in settings.zones:
            raise UserError(
                f"--agent-model names {zone!r}, which is not in --agents",
                fix="use one of the --agents zones",
            )
    for t in topics:
        if not t.get(settings.language):
            raise UserError(
                f"topic {t['id']!r} has no {settings.language} text",
                fix="add it or change --language",
            )
    ensure_run_dir(out)
    cache = RequestCache(out / "cache.sqlite")
    options = dict(backend_options or {})
    specs: dict[str, str] = {}
    raw = {settings.model: get_backend(settings.model, **options)}
    for z in settings.zones:
        spec, adapter = settings.agent_models.get(z, settings.model), settings.agent_adapters.get(z)
        key = f"{spec}+adapter:{adapter}" if adapter else spec
        if key not in raw:
            raw[key] = get_backend(spec, **{**options, **({"adapter": adapter} if adapter else {})})
        specs[z] = key
    similarity = get_similarity(settings.similarity)
    done: set[str] = set()
    if (out / "statements.jsonl").exists():
        done = {
            str(d["topic_id"])
            for d in read_json_dicts(out / "statements.jsonl", require=("topic_id",))
        }
    started, t0 = utcnow(), time.perf_counter()
    metrics_path = out / "metrics.json"
    all_metrics = read_json_object(metrics_path) if metrics_path.exists() else {"topics": {}}
    errors = await _run(
        out,
        settings,
        topics,
        agents=[(z, p, specs[z]) for z, p in zip(settings.zones, profiles, strict=True)],
        raw=raw,
        cache=cache,
        similarity=similarity,
        done=done,
        all_metrics=all_metrics,
        log=log,
    )
    all_metrics["summary"] = _summary(all_metrics["topics"])
    todo = sum(1 for t in topics if t["id"] not in done)
    all_metrics["failures"] = failure_summary(todo, errors)
    write_json_atomic(metrics_path, all_metrics)
    write_json_atomic(
        out / "manifest.json",
        {
            **manifest_header("consensus"),
            "settings": asdict(settings),
            "agents": {z: describe(raw[s]) for z, s in specs.items()},
            "topics": [t["id"] for t in topics],
            "started_at": started,
            "finished_at": utcnow(),
            "wall_seconds": round(time.perf_counter() - t0, 3),
            "citation": "Inglehart-Welzel coordinates from the Integrated Values Surveys (EVS 2021; Haerpfer et al. 2022); see data/consensus/NOTICE.md",
        },
    )
    from valuealign.consensus.report import write_consensus_report

    write_consensus_report(out)
    cache.close()
    return all_metrics


async def _run(
    out: Path,
    settings: ConsensusSettings,
    topics: list[dict],
    *,
    agents: list[tuple[str, Any, str]],
    raw: dict[str, Any],
    cache: RequestCache,
    similarity: Any,
    done: set[str],
    all_metrics: dict,
    log: Callable[[str], None] | None,
) -> list[str]:
    """Negotiate every topic not ``done``; ``agents`` are (zone, profile, backend key in
    ``raw``). Statements, transcript and metrics are written as each topic finishes; a topic
    whose backend fails stays undone (a rerun retries it). Returns the failures."""
    from valuealign.consensus.negotiation import Agent, negotiate

    backends = {spec: CachedBackend(b, cache, "consensus-v1") for spec, b in raw.items()}
    agents_ = [Agent(z, p, backends[key]) for z, p, key in agents]
    lang = settings.language
    errors: list[str] = []
    try:
        with (
            JsonlWriter(out / "transcript.jsonl") as tw,
            JsonlWriter(out / "statements.jsonl") as sw,
        ):
            for topic in topics:
                if topic["id"] in done:
                    continue
                text = topic[lang]
                if log:
                    log(f"[{topic['id']}] {text}")

                def on_event(event: dict, tid=topic["id"]) -> None:
                    tw.append_dict({"topic_id": tid, **event})

                try:
                    result = await negotiate(
                        text,
                        agents_,
                        similarity.similarity,
                        language=lang,
                        rounds=settings.rounds,
                        epsilon=settings.epsilon,
                        solver=settings.solver,
                        max_tokens=settings.max_tokens,
                        seed=settings.seed,
                        on_event=on_event,
                    )
                except BackendError as e:
                    # the topic stays undone (no statements line): a rerun retries it
                    errors.append(str(e))
                    if log:
                        log(f"[{topic['id']}] failed: {e}")
                    continue
                metrics = await _topic_metrics(text, lang, agents_, result, similarity)
                baselines: dict = {}
                if settings.baselines:
                    baselines, metrics["baselines"] = await _baselines(
                        text, settings, backends[settings.model], agents_, result, similarity
                    )
                sw.append_dict(
                    {
                        "topic_id": topic["id"],
                        "topic": text,
                        "language": lang,
                        "agents": result.agents,
                        "openings": result.openings,
                        "finals": result.finals,
                        "baselines": baselines,
                    }
                )
                all_metrics["topics"][topic["id"]] = metrics
                write_json_atomic(out / "metrics.json", all_metrics)
    finally:
        await aclose_all(*backends.values())
    return errors


async def _topic_metrics(text: str, lang: str, agents: list, result: Any, similarity: Any) -> dict:
    """One negotiated topic's numbers: rounds, NashConv, PBA, VSC and text agreement."""
    from valuealign.consensus.metrics import (
        perplexity_acceptance,
        text_agreement,
        values_self_consistency,
    )
    from valuealign.consensus.negotiation import PROMPTS

    prompt = PROMPTS[lang]["opening"].format(topic=text)
    return {
        "topic": text,
        "rounds_used": result.psro.rounds,
        "stop_reason": result.psro.stop_reason,
        "nash_conv": round(result.psro.nash_conv, 6),
        "pba": await asyncio.to_thread(
            perplexity_acceptance, agents, prompt, lang, result.openings, result.finals
        ),
        "vsc": values_self_consistency(result.agents, result.openings, result.finals, lang),
        "text_agreement": {
            "opening": text_agreement(result.openings, similarity.similarity),
            "final": text_agreement(result.finals, similarity.similarity),
        },
    }


async def _baselines(
    text: str,
    settings: ConsensusSettings,
    neutral: Any,
    agents: list,
    result: Any,
    similarity: Any,
) -> tuple[dict, dict]:
    """The one-shot and best-of-n (Schulze) baselines: (their statements, their similarity to
    the openings next to PSRO's finals)."""
    from valuealign.consensus.negotiation import best_of_n_baseline, one_shot_baseline

    lang = settings.language
    one = await one_shot_baseline(
        text, neutral, language=lang, max_tokens=settings.max_tokens, seed=settings.seed
    )
    best, cands, ballots = await best_of_n_baseline(
        text,
        neutral,
        agents,
        result.openings,
        similarity.similarity,
        language=lang,
        max_tokens=settings.max_tokens,
        seed=settings.seed,
    )
    baselines = {
        "one_shot": one,
        "best_of_n_schulze": best,
        "best_of_n_candidates": cands,
        "ballots": ballots,
    }
    scores = {
        name: {
            "mean_similarity_to_openings": round(
                sum(similarity.similarity(s, o) for o in result.openings) / len(result.openings),
                4,
            )
        }
        for name, s in (("one_shot", one), ("best_of_n_schulze", best))
    }
    scores["psro_final"] = {
        "mean_similarity_to_openings": round(
            sum(similarity.similarity(f, o) for f in result.finals for o in result.openings)
            / (len(result.finals) * len(result.openings)),
            4,
        )
    }
    return baselines, scores


def _summary(topics: dict) -> dict:
    def mean(values):
        vals = [v for v in values if v is not None]
        return round(sum(vals) / len(vals), 4) if vals else None

    return {
        "topics": len(topics),
        "mean_rounds_used": mean(m["rounds_used"] for m in topics.values()),
        "mean_nash_conv": mean(m["nash_conv"] for m in topics.values()),
        "mean_pba_gain": mean((m["pba"] or {}).get("mean_gain") for m in topics.values()),
        "mean_vsc_balance": mean(m["vsc"]["balance"] for m in topics.values()),
    }
