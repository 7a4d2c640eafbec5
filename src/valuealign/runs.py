"""What a run folder says about itself: typed models for the files other modules read.

Every job (``eval``, ``generate``, ``train``, ``curate``, ``visa``, ``consensus``) writes a
``manifest.json`` whose top is a :class:`RunManifest`: ``schema_version``, ``job``,
``valuealign_version``, ``python``, ``started_at``, ``finished_at``; the job's own fields
(settings, roles, counts, ...) follow. Writers start from :func:`manifest_header`; readers use
:func:`read_manifest`, which also reads runs written before the header existed (their version
key was ``valuealign``, or ``versions.valuealign`` in training manifests).

``scores.json`` (:class:`ScoresSummary`, down to each model's per-language scores), the
``stats.json`` of generate (:class:`GenerateStats`) and curate (:class:`CurateStats`) and a
negotiation's ``metrics.json`` (:class:`ConsensusResult`) are typed too, so a renamed key is a
validation error where it is written, not a KeyError in another module. They are also what the
Python API returns: ``run_eval`` / ``arun_eval`` a :class:`ScoresSummary`, ``run_generate`` /
``agenerate`` a :class:`GenerateStats`, ``run_consensus`` / ``arun_consensus`` a
:class:`ConsensusResult`. Fields not declared here ride along as extras (``.get(key)``), and
``model_dump()`` gives the JSON file's dict back.

While a job runs, :class:`JobRun` holds what every runner needs from its folder: the folder
itself (created and locked), the request cache ``DIR/cache.sqlite`` (closed however the job
ends), the start time and the clock; :func:`progress_bar` is the display they all show.

>>> with JobRun("runs/eval") as run:
...     model = run.cached(get_backend("mock/echo"), "answer-v1")
...     run.write("manifest.json", {**manifest_header("eval"), "started_at": run.started_at})
>>> manifest = read_manifest("runs/eval/manifest.json")
>>> manifest.job, manifest.valuealign_version
('eval', '0.1.0')
>>> scores = read_model("runs/eval/scores.json", ScoresSummary)
>>> scores.per_model["mock/echo"].languages["zh"].mean
4.0
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from valuealign.backends import CachedBackend, ChatBackend, RequestCache
from valuealign.errors import UserError
from valuealign.records import ensure_run_dir, utcnow, write_json_atomic

__all__ = [
    "MANIFEST_SCHEMA_VERSION",
    "ConsensusResult",
    "ConsensusSummary",
    "CrossLingualConsistency",
    "CurateStats",
    "Failures",
    "GenerateCounts",
    "GenerateStats",
    "JobRun",
    "LanguageScores",
    "MeanCI",
    "ModelScores",
    "RunManifest",
    "ScoresSummary",
    "manifest_header",
    "progress_bar",
    "read_manifest",
    "read_model",
]

MANIFEST_SCHEMA_VERSION = 1


class _Open(BaseModel):
    """A record whose declared fields are checked and whose other fields ride along."""

    model_config = ConfigDict(extra="allow")

    def get(self, key: str, default: Any = None) -> Any:
        """A declared field or one of the job's own fields (``default`` when absent)."""
        if key in type(self).model_fields:
            return getattr(self, key)
        return (self.model_extra or {}).get(key, default)


class RunManifest(_Open):
    """The top of every run's ``manifest.json``; the job's own fields are kept as extras."""

    schema_version: int = MANIFEST_SCHEMA_VERSION
    job: str | None = None  # None only in runs written before the header existed
    valuealign_version: str | None = None
    python: str | None = None
    started_at: str | None = None
    finished_at: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _accept_old_keys(cls, data: Any) -> Any:
        """Runs written before the header: ``valuealign`` (or ``versions.valuealign``) was the
        version key, and a training manifest said ``stage`` instead of ``job``."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "valuealign_version" not in data:
            versions = data.get("versions") if isinstance(data.get("versions"), dict) else {}
            old = data.pop("valuealign", None) or versions.get("valuealign")
            if old is not None:
                data["valuealign_version"] = old
        if "job" not in data and "stage" in data:
            data["job"] = "train"
        return data


def manifest_header(job: str, *, started_at: str | None = None) -> dict[str, Any]:
    """The fields every manifest starts with, as a dict to spread into the job's own."""
    from valuealign import __version__

    header = RunManifest(
        job=job,
        valuealign_version=__version__,
        python=platform.python_version(),
        started_at=started_at,
    )
    return header.model_dump(
        exclude={"started_at", "finished_at"} if started_at is None else {"finished_at"}
    )


class JobRun:
    """One job's time in its run folder: the folder (created and locked for this process), its
    request cache, when the job started and how long it has run. As a context manager it closes
    the cache when the job ends, however it ends."""

    def __init__(self, out: str | Path) -> None:
        self.dir = ensure_run_dir(out)
        self.started_at = utcnow()
        self._t0 = time.perf_counter()
        self.cache = RequestCache(self.dir / "cache.sqlite")

    def cached(
        self, backend: ChatBackend, template_version: str = "", *, read: bool = True
    ) -> CachedBackend:
        """``backend`` answered from this run's cache (``read=False``: asked again and the
        cached reply overwritten, for retried parse failures)."""
        return CachedBackend(backend, self.cache, template_version, read=read)

    def seconds(self) -> float:
        """Wall-clock seconds since the job started (3 decimals)."""
        return round(time.perf_counter() - self._t0, 3)

    def write(self, name: str, data: Any) -> None:
        """``DIR/name`` as JSON, atomically (a killed write leaves the old file)."""
        write_json_atomic(self.dir / name, data)

    def close(self) -> None:
        self.cache.close()

    def __enter__(self) -> JobRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress_bar(title: str, info: str, *, enabled: bool) -> Any:
    """The progress display every runner shows: ``title``, a bar, done/total, ``info`` (a
    format string over the task's fields) and the elapsed time; a no-op when not ``enabled``."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn(title),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(info),
        TimeElapsedColumn(),
        disable=not enabled,
    )


def read_model(path: str | Path, model: type[_Open]) -> Any:
    """``path`` (a JSON object) as ``model``; a missing, unreadable or invalid file is a
    UserError naming it."""
    from pydantic import ValidationError

    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{p}: not found", fix="check the run folder") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{p}: not valid JSON ({e})", fix="rerun the job that wrote it") from None
    try:
        return model.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(x) for x in err["loc"]) or "(top level)"
        raise UserError(
            f"{p}: '{where}': {err['msg']}", fix="rerun the job that wrote it"
        ) from None


def read_manifest(path: str | Path) -> RunManifest:
    """A run's ``manifest.json`` (old runs included: see :class:`RunManifest`)."""
    return read_model(path, RunManifest)


class Failures(BaseModel):
    """Requests that failed for good: how many were planned, how many failed, the main cause."""

    planned: int = 0
    failed: int = 0
    cause: str | None = None


class MeanCI(_Open):
    """A mean with its 95% bootstrap interval (``None`` where there is nothing to average)."""

    mean: float | None = None
    n: int = 0
    ci95: list[float] | None = None


class LanguageScores(MeanCI):
    """One model's scores in one language (see :mod:`valuealign.evaluate.scores`): the
    paper's ``total`` out of ``max_total`` (every planned item; ``missing_ids`` could not be
    scored), the mean with its interval, per-domain and per-subdomain means, robustness."""

    total: float | None = None
    max_total: int | None = None
    items: int | None = None
    missing: int = 0
    missing_ids: list[str] = []
    incomplete: bool = False
    slice: dict[str, int] | None = None
    histogram: dict[str, int] = {}
    domains: dict[str, MeanCI] = {}
    subdomains: dict[str, MeanCI] = {}
    direct_mean: float | None = None
    adversarial_mean: float | None = None
    adversarial_drop: float | None = None
    over_refusal_rate: float | None = None
    benign_n: int = 0
    parse_failures: int = 0
    judge_errors: int = 0
    failed_answers: int = 0
    unscored: int = 0


class CrossLingualConsistency(_Open):
    """Share of items whose zh and en answers take the same stance."""

    rate: float | None = None
    n: int = 0


class ModelScores(_Open):
    languages: dict[str, LanguageScores]
    cross_lingual_consistency: CrossLingualConsistency = CrossLingualConsistency()


class ScoresSummary(_Open):
    """An eval run's ``scores.json`` (see :mod:`valuealign.evaluate.scores`), as ``run_eval``
    returns it: ``per_model[model].languages[lang]`` holds a :class:`LanguageScores`,
    ``per_model[model].cross_lingual_consistency`` the zh/en stance agreement, ``failures``
    the answers and judgements that failed for good.
    """

    benchmark: str
    charter: str
    languages: list[str]
    models: list[str]
    judges: list[str]
    per_model: dict[str, ModelScores]
    comparisons: list[dict[str, Any]]
    total_warnings: list[str]
    judge_agreement: dict[str, Any]
    parse_failures: dict[str, int]
    subdomain_names: dict[str, dict[str, str | None]]
    domain_names: dict[str, dict[str, str | None]]
    judge_warnings: list[str] = []
    failures: dict[str, Failures] = {}

    def scores(self, model: str, language: str) -> LanguageScores:
        """``per_model[model].languages[language]``; a KeyError names what exists."""
        try:
            return self.per_model[model].languages[language]
        except KeyError:
            have = {m: sorted(v.languages) for m, v in self.per_model.items()}
            raise KeyError(f"no scores for {model!r} in {language!r}; the run has {have}") from None


class GenerateCounts(BaseModel):
    """What happened to the planned items of a generate run."""

    planned: int
    kept: int
    rejected: int
    failed: int
    pending: int


class GenerateStats(_Open):
    """A generate run's ``stats.json`` (see :mod:`valuealign.generate.pipeline`), as
    ``run_generate`` returns it."""

    counts: GenerateCounts
    rejected_by_reason: dict[str, int]
    failed_by_stage: dict[str, int]
    by_subdomain: dict[str, dict[str, int]]
    by_strategy: dict[str, dict[str, int]]
    by_language: dict[str, dict[str, int]]
    diversity: dict[str, Any] = {}
    failures: Failures = Failures()


class CurateStats(_Open):
    """A curate run's ``stats.json`` (see :mod:`valuealign.curate.stats`)."""

    schema_version: int = 1
    documents: dict[str, int]
    steps: dict[str, dict[str, Any]]
    subdomains: dict[str, Any]
    tokens: dict[str, Any] = {}


class ConsensusSummary(_Open):
    """Means over a negotiation's topics and the methods table (see
    :mod:`valuealign.consensus.runner`)."""

    topics: int = 0
    mean_rounds_used: float | None = None
    mean_nash_conv: float | None = None
    mean_pba_gain: float | None = None
    mean_vsc_balance: float | None = None
    methods: dict[str, dict[str, Any]] = {}
    degenerate_topics: list[str] = []


class ConsensusResult(_Open):
    """A negotiation's ``metrics.json``, as ``run_consensus`` returns it: per-topic metrics,
    their summary and the topics that failed for good."""

    topics: dict[str, dict[str, Any]]
    summary: ConsensusSummary
    failures: Failures = Failures()
