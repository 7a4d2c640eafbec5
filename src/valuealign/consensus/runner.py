"""Run negotiations over topics and write transcript, statements, metrics and a report.

    DIR/transcript.jsonl   every opening, proposal, round (pools, payoffs, mixtures, utilities), final
    DIR/statements.jsonl   one line per topic: openings, finals, baselines
    DIR/metrics.json       per topic: PBA, VSC, NashConv, rounds used, baselines; and means
    DIR/report.html        written by the CLI (valuealign.report.consensus): methods table,
                           trajectories, statements side by side
    DIR/manifest.json      settings, agents, models, versions

A rerun skips topics already in statements.jsonl.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from valuealign.aio import ensure_no_running_loop, run_sync
from valuealign.backends import aclose_all, describe, get_backend
from valuealign.errors import BackendError, UserError
from valuealign.lang import LANGS
from valuealign.records import (
    JsonlWriter,
    decode_text,
    failure_summary,
    read_json_dicts,
    read_json_object,
    split_lines,
    utcnow,
    write_json_atomic,
)
from valuealign.runs import ConsensusResult, JobRun, manifest_header


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
    protocol: str = "reference"
    """``reference`` (the paper's negotiation, see consensus/reference.py) or ``pool`` (the
    earlier statement-pool PSRO of consensus/negotiation.py)."""
    rounds: int = 10
    epsilon: float = 1e-3
    """Only for ``pool``; the reference protocol uses its own stopping rule."""
    solver: str = "replicator"
    """Only for ``pool``; the reference protocol uses mirror descent."""
    utility_weights: tuple[float, float, float] = (0.5, 0.3, 0.2)
    """Reference protocol: weights of consistency, acceptance and novelty."""
    similarity: str = "auto"
    """``auto`` (Qwen multilingual where available, else MiniLM + TF-IDF, named loudly),
    ``multilingual``, ``hybrid``, ``tfidf`` or ``embedding``: see consensus/similarity.py."""
    max_tokens: int = 160  # the reference protocol; 96 cut every opening of the 0.5B off
    baselines: bool = True
    debate_rounds: int = 2
    vsc_detector: str = "llm"
    """``llm`` (an LLM value rater on --model), ``llm:PROVIDER/MODEL`` or ``lexicon`` (the
    offline fallback; named as such in the output)."""
    echo_pba: bool = True
    seed: int = 0
    parallel_topics: int = 4
    """Topics negotiated at once (their calls are batched by a local backend; 1: one by one)."""


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
) -> ConsensusResult:
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
) -> ConsensusResult:
    """Negotiate every topic not yet in DIR/statements.jsonl; returns the metrics also written
    to DIR/metrics.json."""
    from valuealign.consensus.negotiation import Agent
    from valuealign.consensus.similarity import negotiation_similarity

    out = Path(out)
    profiles = _check(settings, topics)
    with JobRun(out) as run:
        raw, specs = _backends(settings, dict(backend_options or {}))
        similarity, similarity_info = negotiation_similarity(settings.similarity)
        if log:
            log(similarity_info["line"])
        done: set[str] = set()
        if (out / "statements.jsonl").exists():
            done = {
                str(d["topic_id"])
                for d in read_json_dicts(out / "statements.jsonl", require=("topic_id",))
            }
        metrics_path = out / "metrics.json"
        all_metrics = read_json_object(metrics_path) if metrics_path.exists() else {"topics": {}}
        backends = {spec: run.cached(b, "consensus-v1") for spec, b in raw.items()}
        job = _Topics(
            out,
            settings,
            [
                Agent(z, p, backends[specs[z]])
                for z, p in zip(settings.zones, profiles, strict=True)
            ],
            backends[settings.model],
            similarity,
            *make_value_rater(settings.vsc_detector, backends[settings.model]),
            log,
        )
        try:
            errors = await job.run([t for t in topics if t["id"] not in done], all_metrics)
        finally:
            await aclose_all(*backends.values())
        all_metrics["summary"] = _summary(all_metrics["topics"])
        all_metrics["similarity"] = similarity_info
        all_metrics["failures"] = failure_summary(
            sum(1 for t in topics if t["id"] not in done), errors
        )
        run.write("metrics.json", all_metrics)
        run.write(
            "manifest.json",
            {
                **manifest_header("consensus"),
                "settings": asdict(settings),
                "agents": {z: describe(raw[s]) for z, s in specs.items()},
                "similarity": similarity_info,
                "topics": [t["id"] for t in topics],
                "started_at": run.started_at,
                "finished_at": utcnow(),
                "wall_seconds": run.seconds(),
                "citation": "Inglehart-Welzel coordinates from the Integrated Values Surveys (EVS 2021; Haerpfer et al. 2022); see data/consensus/NOTICE.md",
            },
        )
    return ConsensusResult.model_validate(all_metrics)


def _backends(settings: ConsensusSettings, options: dict) -> tuple[dict[str, Any], dict[str, str]]:
    """(backend key -> backend, zone -> its backend key): --model, and each agent's own model
    or adapter where it has one (agents on the same model share one backend)."""
    specs: dict[str, str] = {}
    raw = {settings.model: get_backend(settings.model, **options)}
    for z in settings.zones:
        spec, adapter = settings.agent_models.get(z, settings.model), settings.agent_adapters.get(z)
        key = f"{spec}+adapter:{adapter}" if adapter else spec
        if key not in raw:
            raw[key] = get_backend(spec, **{**options, **({"adapter": adapter} if adapter else {})})
        specs[z] = key
    return raw, specs


def _check(settings: ConsensusSettings, topics: list[dict]) -> list:
    """Every input checked before the run folder exists; returns the agents' profiles."""
    from valuealign.consensus.profiles import get_profile, profile_from_file

    if len(settings.zones) < 2:
        raise UserError(
            "a negotiation needs at least two --agents",
            fix="e.g. --agents confucian,protestant-europe",
        )
    if settings.language not in LANGS:
        raise UserError(
            f"unsupported language {settings.language!r}", fix="use --language en or zh"
        )
    if settings.protocol not in ("reference", "pool"):
        raise UserError(
            f"unknown protocol {settings.protocol!r}", fix="use --protocol reference or pool"
        )
    if len(settings.utility_weights) != 3 or any(w < 0 for w in settings.utility_weights):
        raise UserError(
            f"bad utility weights {settings.utility_weights!r}",
            fix="give three non-negative numbers, e.g. --utility-weights 0.5,0.3,0.2",
        )
    if len(set(settings.zones)) != len(settings.zones):
        raise UserError("the same zone appears twice in --agents", fix="list each zone once")
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
    return profiles


@dataclass
class _Topics:
    """One consensus run over its topics: the agents, the neutral model (baselines), the
    similarity, the value rater for VSC. Each topic is negotiated, compared with the baselines
    and scored; statements, transcript and metrics are written as each topic finishes."""

    out: Path
    settings: ConsensusSettings
    agents: list[Any]  # negotiation.Agent
    neutral: Any  # the --model backend
    similarity: Any
    rater: Any
    rater_name: str
    log: Callable[[str], None] | None

    async def run(self, topics: list[dict], all_metrics: dict) -> list[str]:
        """Negotiate ``topics``; a topic whose backend fails stays undone (a rerun retries it).
        Returns the failures."""
        errors: list[str] = []
        with (
            JsonlWriter(self.out / "transcript.jsonl") as tw,
            JsonlWriter(self.out / "statements.jsonl") as sw,
        ):
            gate = asyncio.Semaphore(max(1, self.settings.parallel_topics))

            async def one(topic: dict) -> None:
                async with gate:
                    await self.topic(topic, tw, sw, all_metrics, errors)

            # several topics at once: their calls reach a local backend together and are
            # batched; each topic's lines are written when it finishes
            await asyncio.gather(*(one(t) for t in topics))
        return errors

    async def topic(self, topic: dict, tw, sw, all_metrics: dict, errors: list[str]) -> None:
        """Negotiate, compare and score one topic; write its lines (nothing if it failed)."""
        lang = self.settings.language
        text = topic[lang]
        self._say(f"[{topic['id']}] {text}")
        events: list[dict] = []
        try:
            result = await self.negotiate(text, events.append)
            methods, baselines = await self.baselines(text, result)
            scored = await self.score(text, result, methods)
        except BackendError as e:
            # the topic stays undone (no statements line): a rerun retries it
            errors.append(str(e))
            self._say(f"[{topic['id']}] failed: {e}")
            return
        for event in events:  # a topic's transcript lines stay together
            tw.append_dict({"topic_id": topic["id"], **event})
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
        all_metrics["topics"][topic["id"]] = self.metrics(text, result, methods, scored)
        write_json_atomic(self.out / "metrics.json", all_metrics)
        self._say(f"[{topic['id']}] done")

    def _say(self, message: str) -> None:
        if self.log:
            self.log(message)

    async def negotiate(self, text: str, on_event: Callable[[dict], None]) -> Any:
        """The protocol's negotiation of one topic (a NegotiationResult)."""
        from valuealign.consensus.negotiation import negotiate
        from valuealign.consensus.reference import ReferenceSettings, negotiate_reference

        s = self.settings
        if s.protocol == "reference":
            wc, wa, wn = s.utility_weights
            return await negotiate_reference(
                text,
                self.agents,
                self.similarity.similarity,
                language=s.language,
                settings=ReferenceSettings(
                    rounds=s.rounds,
                    w_consist=wc,
                    w_accept=wa,
                    w_novel=wn,
                    max_tokens=s.max_tokens,
                    final_max_tokens=max(64, 2 * s.max_tokens),
                ),
                seed=s.seed,
                on_event=on_event,
            )
        return await negotiate(
            text,
            self.agents,
            self.similarity.similarity,
            language=s.language,
            rounds=s.rounds,
            epsilon=s.epsilon,
            solver=s.solver,
            max_tokens=s.max_tokens,
            seed=s.seed,
            on_event=on_event,
        )

    async def baselines(self, text: str, result: Any) -> tuple[dict[str, list[str]], dict]:
        """(each method's final statements, psro first; the baselines' record for
        statements.jsonl), the baselines only when ``settings.baselines``."""
        from valuealign.consensus.baselines import consultancy, debate
        from valuealign.consensus.negotiation import best_of_n_baseline, one_shot_baseline

        s, agents, lang = self.settings, self.agents, self.settings.language
        methods: dict[str, list[str]] = {"psro": result.finals}
        if not s.baselines:
            return methods, {}
        # the four baselines run concurrently (a local backend batches their calls)
        one, (best, cands, ballots), (deb, deb_history), con = await asyncio.gather(
            one_shot_baseline(
                text, self.neutral, language=lang, max_tokens=s.max_tokens, seed=s.seed
            ),
            best_of_n_baseline(
                text,
                self.neutral,
                agents,
                result.openings,
                self.similarity.similarity,
                language=lang,
                max_tokens=s.max_tokens,
                seed=s.seed,
            ),
            debate(
                text, agents, result.openings, language=lang, rounds=s.debate_rounds, seed=s.seed
            ),
            consultancy(text, agents, result.openings, language=lang, seed=s.seed),
        )
        n = len(agents)
        methods |= {"debate": deb, "consultancy": con, "one_shot": [one] * n, "schulze": [best] * n}
        baselines = {
            "one_shot": one,
            "best_of_n_schulze": best,
            "best_of_n_candidates": cands,
            "ballots": ballots,
            "debate": deb,
            "debate_history": deb_history,
            "consultancy": con,
        }
        return methods, baselines

    async def score(self, text: str, result: Any, methods: dict[str, list[str]]) -> dict:
        """Each method's finals scored: PBA, echo PBA, VSC, and the row of the methods table."""
        from valuealign.consensus.metrics import (
            echo_ratio,
            neutral_context,
            perplexity_acceptance,
            vsc_from_vectors,
        )

        lang, agents, openings = self.settings.language, self.agents, result.openings
        prompt = neutral_context(text, lang)
        rated = await rate_values(
            self.rater, [*openings, *(f for fs in methods.values() for f in fs)], lang
        )
        echo_memo: dict = {}
        if self.settings.echo_pba:
            # every echo this topic needs, at once (a local backend batches them)
            await echo_matrix(
                agents, [*openings, *(f for fs in methods.values() for f in fs)], lang, echo_memo
            )
        echo_open = (
            await echo_matrix(agents, openings, lang, echo_memo) if self.settings.echo_pba else None
        )
        ppl_memo: dict = {}
        scored = {}
        for name, finals in methods.items():
            pba = await asyncio.to_thread(
                perplexity_acceptance, agents, prompt, lang, openings, finals, ppl_memo
            )
            echo = None
            if echo_open is not None:
                echo_final = await echo_matrix(agents, finals, lang, echo_memo)
                echo = {
                    **echo_ratio(echo_open, echo_final),
                    "ppl_opening": echo_open,
                    "ppl_final": echo_final,
                }
            vsc = vsc_from_vectors(
                result.agents,
                [rated[o] for o in openings],
                [rated[f] for f in finals],
                detector=self.rater_name,
            )
            scored[name] = {
                "finals": finals,
                "pba": pba,
                "echo_pba": echo,
                "vsc": vsc,
                "scores": {
                    "pba_gain": (pba or {}).get("mean_gain"),
                    "pba_balance": (pba or {}).get("balance"),
                    "echo_ratio": (echo or {}).get("ratio"),
                    "mean_vsc": vsc["mean_vsc"],
                    "consensus_gain": vsc["consensus_gain"],
                    "vsc_balance": vsc["balance"],
                    "zero_vectors": len(vsc["zero_vectors"]),
                },
            }
        return scored

    def metrics(self, text: str, result: Any, methods: dict, scored: dict) -> dict:
        """The topic's entry in metrics.json."""
        from valuealign.consensus.metrics import text_agreement
        from valuealign.consensus.negotiation import PROMPTS

        sim = self.similarity.similarity
        metrics = {
            "topic": text,
            "rounds_used": result.psro.rounds,
            "stop_reason": result.psro.stop_reason,
            "nash_conv": round(result.psro.nash_conv, 6),
            "pba": scored["psro"]["pba"],
            "vsc": scored["psro"]["vsc"],
            "methods": scored,
            "degenerate": degenerate_flags(
                text,
                result,
                PROMPTS[self.settings.language]["opening"].format(topic=text),
                final_prompt(self.settings.protocol, self.settings.language, text),
            ),
            "text_agreement": {
                "opening": text_agreement(result.openings, sim),
                "final": text_agreement(result.finals, sim),
            },
        }
        if self.settings.baselines:
            metrics["baselines"] = {
                name: {
                    "mean_similarity_to_openings": round(
                        sum(sim(f, o) for f in methods[key] for o in result.openings)
                        / (len(methods[key]) * len(result.openings)),
                        4,
                    )
                }
                for name, key in (
                    ("one_shot", "one_shot"),
                    ("best_of_n_schulze", "schulze"),
                    ("psro_final", "psro"),
                )
            }
        return metrics


def make_value_rater(spec: str, default_backend):
    """(rater, name): the LLM value rater on ``default_backend`` for ``llm``, another model for
    ``llm:PROVIDER/MODEL``, or the lexicon (offline fallback) for ``lexicon``."""
    if spec == "lexicon":
        from valuealign.values import LexiconDetector

        return LexiconDetector(), "lexicon (offline fallback, not the LLM rater)"
    from valuealign.values.llm_detector import LLMDetector

    if spec == "llm":
        return LLMDetector(default_backend), f"llm:{default_backend.name}"
    if spec.startswith("llm:"):
        from valuealign.backends import get_backend

        return LLMDetector(get_backend(spec[4:])), spec
    raise UserError(f"unknown VSC rater {spec!r}", fix="use llm, llm:PROVIDER/MODEL or lexicon")


async def rate_values(rater, texts: list[str], language: str) -> dict:
    """text -> value vector (NaN where the LLM rater's JSON never parsed)."""
    import numpy as np

    unique = list(dict.fromkeys(texts))
    if hasattr(rater, "adetect_detailed"):
        found = await rater.adetect_detailed(unique, language)
        return {
            d.text: (np.asarray(d.vector, float) if d.vector is not None else np.full(10, np.nan))
            for d in found
        }
    return {t: np.asarray(rater.detect(t, language), float) for t in unique}


async def echo_matrix(
    agents, texts: list[str], language: str, memo: dict | None = None
) -> list[list[float | None]]:
    """``m[j][i]``: echo PPL of text i under agent j's model. The echo prompt carries no agent
    profile, so agents on one backend share each echo: ``memo`` ((backend, text) -> PPL) asks
    each backend once per distinct text, all of them concurrently."""
    from valuealign.consensus.metrics import echo_perplexity

    memo = {} if memo is None else memo
    todo = list(
        dict.fromkeys(
            (id(a.backend), t) for a in agents for t in texts if (id(a.backend), t) not in memo
        )
    )
    backends = {id(a.backend): a.backend for a in agents}
    found = await asyncio.gather(
        *(echo_perplexity(backends[b], text, language) for b, text in todo)
    )
    for key, ppl in zip(todo, found, strict=True):
        memo[key] = None if ppl is None else round(ppl, 4)
    return [[memo[(id(judge.backend), t)] for t in texts] for judge in agents]


def final_prompt(protocol: str, language: str, topic: str) -> str:
    """The prompt that asks an agent for its final statement, its slots left empty."""
    if protocol != "reference":
        return ""
    from valuealign.consensus.reference import P, ReferenceSettings

    return P[language]["final"].format(
        topic=topic, tables="", words=ReferenceSettings().final_words
    )


def degenerate_flags(topic: str, result, prompt: str, final_prompt: str = "") -> list[str]:
    """What makes a run suspect: an opening repeating the topic, a statement echoing the prompt
    (``prompt``; or a fixed line of ``final_prompt``, the prompt that asked for the statement,
    with its slots left empty), a stop in round 1."""
    import re

    def norm(x: str) -> str:
        return re.sub(r"[\W_]+", " ", x.lower()).strip()

    flags = []
    t = norm(topic)
    # an agent's opening: its opinion, and (reference protocol) its opening guideline
    guidelines = {
        e.get("agent"): (e.get("guideline") or {}).get("content") or ""
        for e in getattr(result, "events", None) or []
        if e.get("type") == "opening"
    }
    for agent, text in zip(result.agents, result.openings, strict=True):
        o = norm(text)
        if (
            not o
            or o == t
            or (t and t in o and len(o) < 1.3 * len(t))
            or restated_sentence(topic, text) is not None
            or restated_sentence(topic, guidelines.get(agent, "")) is not None
        ):
            flags.append(f"{agent}: the opening repeats the topic")
    p = norm(prompt)
    # the final prompt's own lines (not the topic's, not the slots' contents), six words or
    # characters at least: "The negotiation ended with these weighted guidelines"
    fixed = [
        n
        for line in final_prompt.splitlines()
        if len(_units(line)) >= 6 and (n := norm(line)) and (not t or t not in n)
    ]
    for agent, text in zip(result.agents, result.finals, strict=True):
        f = norm(text)
        if (
            not f
            or f == t
            or (f and f in p)
            or (p and p[:60] in f)
            or any(line in f for line in fixed)
        ):
            flags.append(f"{agent}: the final statement echoes the prompt")
    if result.psro.rounds <= 1:
        flags.append("the run stopped in round 1")
    return flags


def _units(text: str) -> list[str]:
    """Words (lower case) and single CJK characters: what two texts are compared on."""
    import re

    return re.findall(r"[\u3400-\u9fff]|[^\W_]+", text.lower())


def _lcs(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence (in order, gaps allowed)."""
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


_ASKING = {
    "en": ("what", "where", "which", "how", "whether", "who", "whom", "whose", "why", "when"),
    "zh": (
        "什么",
        "哪",
        "如何",
        "怎样",
        "怎么",
        "是否",
        "吗",
        "为何",
        "为什么",
        "多大",
        "何种",
        "谁",
    ),
}


def restated_sentence(topic: str, text: str) -> str | None:
    """The first sentence of ``text`` that restates the topic, or None.

    A sentence restates the topic when, taken in order, most of it is the topic's own words (at
    least 70% of the sentence's words, and at least 70% of the topic's) and it still asks the
    topic's question instead of answering it: it ends with a question mark, or it keeps a
    question word of the topic ("... and where the line should be drawn"). A position stated in
    the topic's words ("Terminally ill adults should have the right to ...", "The state should
    not recognise ...") asks nothing and is not flagged, however closely it follows the topic; an
    opening that starts by restating the topic is flagged however long the rest of it is.
    """
    import re

    t = _units(topic)
    if len(t) < 3:
        return None
    low = topic.lower()
    asking = [w for w in (*_ASKING["en"], *_ASKING["zh"]) if (w in t if w.isascii() else w in low)]
    for sentence in re.findall(r"[^.!?。！？]+[.!?。！？]*", text):
        u = _units(sentence)
        if not u:
            continue
        common = _lcs(u, t)
        if common < 0.7 * len(u) or common < 0.7 * len(t):
            continue
        question = sentence.strip().endswith(("?", "？"))
        keeps = any((w in u) if w.isascii() else (w in sentence) for w in asking)
        if question or keeps:
            return sentence.strip()
    return None


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
        "methods": _method_table(topics),
        "degenerate_topics": sorted(t for t, m in topics.items() if m.get("degenerate")),
    }


def _method_table(topics: dict) -> dict:
    from valuealign.consensus.metrics import method_row

    names: list[str] = []
    for m in topics.values():
        for name in m.get("methods", {}):
            if name not in names:
                names.append(name)
    return {
        name: method_row(
            [m["methods"][name]["scores"] for m in topics.values() if name in m.get("methods", {})]
        )
        for name in names
    }
