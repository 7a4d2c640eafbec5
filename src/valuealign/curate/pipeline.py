"""The curate run: shards through the steps, a global dedup, packing, audit and stats.

Phases (each resumable; a rerun with the same settings skips what is finished):

1. per shard, in parallel: read -> normalise -> language -> quality -> lexicon -> privacy, then
   a content hash and MinHash signature per surviving document. Outputs go to a temporary
   folder that is renamed into ``_work/p1/KEY`` before the marker ``KEY.done.json`` is written.
2. global dedup (one process, input order, first copy kept) -> ``_work/dedup.json``.
3. per shard, in parallel: drop the duplicates, write ``curated/part-KEY.jsonl`` and the
   shard's tokens; temp files, rename, then the marker.
4. pack every shard's tokens in order into ``packed/`` (built in ``packed.tmp``, then renamed).
5. merge the per-shard audits into ``audit/STEP.jsonl``, write ``stats.json`` and remove
   ``_work`` (unless ``keep_work``).

The phases overlap (see ``_run_phases``): every shard's phase 1 is queued at once, this process
runs the dedup over each shard as soon as it and the shards before it are through phase 1 (its
decisions depend on nothing later), queues that shard's phase 3, and packs each shard's tokens
as soon as it and those before it are written. Each phase still sees the shards in input order.

Because every output is a pure function of (settings, inputs, shard plan) and the order is the
input order, ``--workers`` and ``--executor`` never change a byte of the curated output, and a
run killed at any point then rerun gives what an uninterrupted run gives.

>>> stats = run_curate(["corpus.jsonl.zst"], "runs/cpt", CurateSettings(seq_len=1024))
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import orjson

from valuealign.charter import DEFAULT_CHARTER, load_charter
from valuealign.curate.dedup import SCHEME, GlobalDedup, sign_documents
from valuealign.curate.executors import (
    LocalExecutor,
    import_ray,
    make_executor,
    progress_bar,
    progress_bars,
    require_packages,
)
from valuealign.curate.io import (
    InputFile,
    ReadOptions,
    ReadStep,
    Shard,
    discover_inputs,
    plan_shards,
)
from valuealign.curate.lexicon import LexiconSpec, LexiconStep, build_lexicon
from valuealign.curate.pack import (
    DEFAULT_TOKENIZER,
    load_tokenizer,
    pack_token_files,
    tokenize_documents,
)
from valuealign.curate.privacy import PrivacyStep, mask_pii
from valuealign.curate.quality import QualityConfig
from valuealign.curate.stats import STEP_NAMES, build_stats, summary_lines
from valuealign.curate.steps import (
    Document,
    Drop,
    LanguageStep,
    NormaliseStep,
    QualityStep,
    Step,
    _lingua,
)
from valuealign.errors import UserError
from valuealign.records import LOCK_FILE, ensure_run_dir, read_json_object, write_json_atomic
from valuealign.runs import CurateStats

SCHEMA_VERSION = 1
AUDIT_STEPS = ("read", "normalise", "language", "quality", "lexicon", "dedup")


@dataclass(frozen=True)
class CurateSettings:
    """Everything that decides the output (``keep_work`` excepted)."""

    charter: str = DEFAULT_CHARTER
    lexicon_files: tuple[str, ...] = ()
    select: Literal["relevant", "all"] = "relevant"
    min_relevance: float = 0.7
    red_lines: Literal["drop", "tag"] = "drop"
    read: ReadOptions = field(default_factory=ReadOptions)
    quality: QualityConfig = field(default_factory=QualityConfig)
    near_dup_threshold: float = 0.8
    num_perm: int = 128
    shingle_size: int = 5
    tokenizer: str = DEFAULT_TOKENIZER
    seq_len: int = 2048
    remainder: Literal["pad", "drop"] = "pad"
    rows_per_file: int = 4096
    shard_mb: float = 64.0
    audit_chars: int = 2000
    keep_work: bool = False


@dataclass(frozen=True)
class _Job:
    """What a shard worker needs (picklable; no charter or tokenizer objects)."""

    shard: Shard
    work: str
    out: str
    settings: CurateSettings
    languages: tuple[str, ...]
    lexicon: LexiconSpec
    drops: tuple[tuple[int, str, str, dict], ...] = ()


# -- helpers ---------------------------------------------------------------------------------


def _audit_record(doc: Document, audit_chars: int, **extra: Any) -> str:
    assert doc.dropped is not None
    excerpt, _ = mask_pii(doc.text[:audit_chars])
    rec = {
        "id": doc.id,
        "step": doc.dropped.step,
        "reason": doc.dropped.reason,
        "detail": doc.dropped.detail,
        "source": {"file": doc.file, "line": doc.line},
        **extra,
        "chars": len(doc.text),
        "text": excerpt,
    }
    return json.dumps(rec, ensure_ascii=False) + "\n"


def curated_record(doc: Document) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "id": doc.id,
        "text": doc.text,
        "language": doc.language,
        "subdomains": doc.subdomains,
        "subdomain_hits": doc.subdomain_hits,
        "relevance": doc.relevance,
        "source": {"file": doc.file, "line": doc.line},
    }
    if doc.red_line_terms:
        rec["red_line_terms"] = doc.red_line_terms
    return rec


_BUFFER = 1 << 20  # bytes: the curated lines are read and written in large blocks


def curated_line(doc: Document) -> bytes:
    """``json.dumps(curated_record(doc), ensure_ascii=False) + "\\n"`` as UTF-8, with the text
    (most of the bytes) written by orjson straight to UTF-8: orjson writes a string exactly as
    ``json.dumps(..., ensure_ascii=False)`` does, character by character (tested on every code
    point). The record is dumped once with an empty text and the text put in its place: the
    first ``"text": ""`` of that line is the text's (the fields before it are a number and
    strings, and inside a dumped string every quote is escaped). A text orjson refuses (a lone
    surrogate) takes ``json.dumps`` whole."""
    rec = curated_record(doc)
    try:
        text = orjson.dumps(rec["text"])
    except TypeError:
        return (json.dumps(rec, ensure_ascii=False) + "\n").encode("utf-8")
    rec["text"] = ""
    line = json.dumps(rec, ensure_ascii=False)
    at = line.index('"text": ""') + 8
    return line[:at].encode("utf-8") + text + line[at + 2 :].encode("utf-8") + b"\n"


def build_steps(
    settings: CurateSettings, languages: Sequence[str], lexicon: LexiconSpec
) -> list[Step]:
    """Steps 2-6 in order (reading is the source; dedup and pack are global)."""
    return [
        NormaliseStep(),
        LanguageStep(languages),
        QualityStep(settings.quality),
        LexiconStep(
            lexicon,
            select=settings.select,
            min_relevance=settings.min_relevance,
            red_lines=settings.red_lines,
        ),
        PrivacyStep(),
    ]


def _fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


# -- phase 1: shard through the steps --------------------------------------------------------


def curate_shard(job: _Job) -> dict[str, Any]:
    """Run steps 1-6 on one shard and sign the survivors for dedup; idempotent."""
    s = job.settings
    key = job.shard.key
    base = Path(job.work) / "p1"
    marker = base / f"{key}.done.json"
    if marker.exists():
        return read_json_object(marker)
    final = base / key
    shutil.rmtree(final, ignore_errors=True)
    tmp = _fresh(base / f"{key}.tmp")
    reader = ReadStep(job.shard, s.read)
    steps = build_steps(s, job.languages, job.lexicon)
    docs: Any = reader()
    for step in steps:
        docs = step(docs)
    audit = {
        name: (tmp / f"audit-{name}.jsonl").open("w", encoding="utf-8") for name in AUDIT_STEPS
    }
    ids: list[str] = []
    lines: list[int] = []
    hashes: list[bytes] = []
    sigs: list[np.ndarray] = [np.zeros((0, s.num_perm), dtype=np.uint32)]
    pending: list[str] = []
    sign_seconds = 0.0

    def sign_pending() -> None:
        nonlocal sign_seconds
        t0 = time.perf_counter()
        digests, block = sign_documents(pending, num_perm=s.num_perm, ngram=s.shingle_size)
        hashes.extend(digests)
        sigs.append(block)
        pending.clear()
        sign_seconds += time.perf_counter() - t0

    with (tmp / "docs.jsonl").open("wb", buffering=_BUFFER) as out:
        for doc in docs:
            if doc.dropped is not None:
                audit[doc.dropped.step].write(_audit_record(doc, s.audit_chars))
                continue
            pending.append(doc.text)
            if len(pending) >= 256:
                sign_pending()
            ids.append(doc.id)
            lines.append(doc.line)
            out.write(curated_line(doc))
    sign_pending()
    for f in audit.values():
        f.close()
    np.savez(
        tmp / "sig.npz",
        sigs=np.concatenate(sigs),
        hashes=np.frombuffer(b"".join(hashes), dtype=np.uint8).reshape(-1, 16),
        ids=np.array(ids, dtype=str),
        lines=np.array(lines, dtype=np.int64),
    )
    os.replace(tmp, final)
    stats = {
        "key": key,
        "steps": {reader.name: reader.counts.to_dict()}
        | {step.name: step.counts.to_dict() for step in steps}
        | {"dedup": {"seconds": round(sign_seconds, 4)}},
        "candidates": len(ids),
    }
    write_json_atomic(marker, stats)
    return stats


# -- phase 2: global dedup -------------------------------------------------------------------


def _dedup_shard(dd: GlobalDedup, work: Path, shard: Shard, counts: Counter) -> tuple[list, int]:
    """The shard's drops in input order, and the number of documents it had."""
    with np.load(work / "p1" / shard.key / "sig.npz") as data:
        sigs, hashes, ids, lines = data["sigs"], data["hashes"], data["ids"], data["lines"]
    drops: list = []
    keys = dd.band_keys(sigs)  # in one go: numpy's per-call cost once per shard, not per row
    for i in range(len(ids)):
        ref = (str(ids[i]), shard.file.name, int(lines[i]))
        verdict = dd.check(hashes[i].tobytes(), sigs[i], ref, keys[i])
        if verdict is not None:
            reason, detail, (kid, kfile, kline) = verdict
            counts[reason] += 1
            drops.append([i, reason, detail, {"id": kid, "file": kfile, "line": kline}])
    return drops, len(ids)


class DedupWalk:
    """The global dedup, one shard at a time in input order (a shard's decisions depend only
    on the shards before it, so its phase 3 can start while later shards are still in phase
    1). ``finish`` writes ``_work/dedup.json``."""

    def __init__(self, work: Path, settings: CurateSettings) -> None:
        self.work = work
        self.spill = work / "dedup-signatures"  # kept signatures, memory-mapped, not all in RAM
        self.dd = GlobalDedup(settings.near_dup_threshold, settings.num_perm, spill=self.spill)
        self.decisions: dict[str, list] = {}
        self.counts: Counter = Counter()
        self.seen = 0
        self.seconds = 0.0

    def add(self, shard: Shard) -> list:
        """The shard's drops (``[index, reason, detail, first copy]``, input order)."""
        t0 = time.perf_counter()
        drops, n = _dedup_shard(self.dd, self.work, shard, self.counts)
        self.seen += n
        if drops:
            self.decisions[shard.key] = drops
        self.seconds += time.perf_counter() - t0
        return drops

    def finish(self) -> dict[str, Any]:
        t0 = time.perf_counter()
        del self.dd
        shutil.rmtree(self.spill, ignore_errors=True)
        dropped = sum(self.counts.values())
        self.seconds += time.perf_counter() - t0
        result = {
            "decisions": self.decisions,
            "stats": {
                "seen": self.seen,
                "kept": self.seen - dropped,
                "dropped": dropped,
                "seconds": round(self.seconds, 4),
                "reasons": dict(sorted(self.counts.items())),
            },
        }
        write_json_atomic(self.work / "dedup.json", result)
        return result


def global_dedup(
    work: Path, shards: Sequence[Shard], settings: CurateSettings, progress: bool = False
) -> dict[str, Any]:
    """Walk every shard's signatures in input order; return the drop decisions per shard."""
    path = work / "dedup.json"
    if path.exists():
        return read_json_object(path)
    walk = DedupWalk(work, settings)
    with progress_bar(len(shards), "dedup", progress) as bar:
        for shard in shards:
            walk.add(shard)
            bar.update(1)
    return walk.finish()


# -- phase 3: write curated shards and tokens ------------------------------------------------


def _load_record(line: bytes) -> Any:
    """A line of phase 1's ``docs.jsonl`` (written by :func:`curated_line`): orjson reads it faster
    and to the same values; the standard library takes anything orjson refuses."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return json.loads(line)


def finish_shard(job: _Job) -> dict[str, Any]:
    """Drop the shard's duplicates, write its curated part, tokens and dedup audit."""
    s = job.settings
    key = job.shard.key
    work = Path(job.work)
    marker = work / "p3" / f"{key}.done.json"
    if marker.exists():
        return read_json_object(marker)
    (work / "p3").mkdir(parents=True, exist_ok=True)
    curated_dir = Path(job.out) / "curated"
    curated_dir.mkdir(parents=True, exist_ok=True)
    part = curated_dir / f"part-{key}.jsonl"
    tmp_part = curated_dir / f".part-{key}.jsonl.tmp"
    tmp_audit = work / "p3" / f"{key}.audit.jsonl.tmp"
    drops = {d[0]: d for d in job.drops}
    tok = load_tokenizer(s.tokenizer)
    languages: Counter = Counter()
    subdomains: Counter = Counter()
    token_parts: list[np.ndarray] = []
    texts: list[str] = []
    kept = text_bytes = 0
    tok_seconds = 0.0

    def flush_texts() -> None:
        nonlocal tok_seconds
        if texts:
            t0 = time.perf_counter()
            token_parts.append(tokenize_documents(tok, texts))
            tok_seconds += time.perf_counter() - t0
            texts.clear()

    with (
        (work / "p1" / key / "docs.jsonl").open("rb", buffering=_BUFFER) as src,
        tmp_part.open("wb", buffering=_BUFFER) as out,
        tmp_audit.open("w", encoding="utf-8") as audit,
    ):
        for i, line in enumerate(src):
            rec = _load_record(line)
            if i in drops:
                _, reason, detail, first = drops[i]
                doc = Document(rec["id"], rec["text"], rec["source"]["file"], rec["source"]["line"])
                doc.dropped = Drop("dedup", reason, detail)
                audit.write(_audit_record(doc, s.audit_chars, duplicate_of=first))
                continue
            out.write(line)
            kept += 1
            text_bytes += len(rec["text"].encode("utf-8"))
            languages[rec["language"]] += 1
            subdomains.update(rec["subdomains"])
            texts.append(rec["text"])
            if len(texts) >= 256:
                flush_texts()
    flush_texts()
    tokens = np.concatenate(token_parts) if token_parts else np.zeros(0, dtype=np.int32)
    tmp_tokens = work / "p3" / f"{key}.tokens.tmp.npy"
    np.save(tmp_tokens, tokens)
    os.replace(tmp_tokens, work / "p3" / f"{key}.tokens.npy")
    os.replace(tmp_audit, work / "p3" / f"{key}.audit.jsonl")
    if kept:
        os.replace(tmp_part, part)
    else:
        tmp_part.unlink()
        part.unlink(missing_ok=True)
    stats = {
        "key": key,
        "curated": kept,
        "text_bytes": text_bytes,
        "tokens": int(tokens.size),
        "tokenize_seconds": round(tok_seconds, 4),
        "languages": dict(sorted(languages.items())),
        "subdomains": dict(sorted(subdomains.items())),
    }
    write_json_atomic(marker, stats)
    return stats


# -- the run ---------------------------------------------------------------------------------


def _fingerprint(
    settings: CurateSettings,
    files: Sequence[InputFile],
    languages: Sequence[str],
    lexicon: LexiconSpec,
    tokenizer: tuple[str, int],
) -> str:
    data = asdict(replace(settings, keep_work=False))
    data["lexicon_files"] = len(settings.lexicon_files)  # their content is in `lexicon`
    payload = {
        "settings": data,
        "languages": list(languages),
        "lexicon": lexicon,
        "tokenizer": list(tokenizer),
        "minhash": SCHEME,
        "inputs": [[f.name, f.size, Path(f.path).stat().st_mtime_ns] for f in files],
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def _needed_packages(files: Sequence[InputFile]) -> dict[str, str]:
    needed = {
        "lingua": "lingua-language-detector",
        "daachorse": "daachorse",
        "rensa": "rensa",
        "pyarrow": "pyarrow",
    }
    if any(f.compression == "zstd" for f in files):
        needed["zstandard"] = "zstandard"
    return needed


def _check_out_dir(out: Path, fingerprint: str) -> dict[str, Any] | None:
    """Return a finished run's stats, accept a matching unfinished one, refuse anything else."""
    stats_path = out / "stats.json"
    settings_path = out / "_work" / "settings.json"
    fix = f"use a new --out folder, or delete {out} to start over"
    if stats_path.exists():
        stats = read_json_object(stats_path, fix=fix)
        if stats.get("fingerprint") == fingerprint:
            return stats
        raise UserError(
            f"{out}: holds a finished curate run with other settings or inputs", fix=fix
        )
    if settings_path.exists():
        old = read_json_object(settings_path, fix=fix)
        if old.get("fingerprint") != fingerprint:
            raise UserError(
                f"{out}: holds an unfinished curate run with other settings or inputs", fix=fix
            )
        return None
    if out.exists() and (not out.is_dir() or any(p.name != LOCK_FILE for p in out.iterdir())):
        raise UserError(f"{out}: exists and is not an empty folder", fix=fix)
    return None


def _merge_audit(out: Path, work: Path, shards: Sequence[Shard]) -> None:
    tmp = _fresh(out / "audit.tmp")
    for name in AUDIT_STEPS:
        with (tmp / f"{name}.jsonl").open("wb") as dst:
            for shard in shards:
                src = (
                    work / "p3" / f"{shard.key}.audit.jsonl"
                    if name == "dedup"
                    else work / "p1" / shard.key / f"audit-{name}.jsonl"
                )
                with src.open("rb") as f:
                    shutil.copyfileobj(f, dst)
    shutil.rmtree(out / "audit", ignore_errors=True)
    os.replace(tmp, out / "audit")


def warm_up_worker(tokenizer: str) -> None:
    """What a new local worker loads before its first job: this module, the language
    detector's models (a Latin and a Han sample load the ones nearly every corpus needs) and
    the pack tokenizer. The same work the jobs would do on first use, only earlier."""
    detector = _lingua()
    detector.detect_language_of("The city council met on Monday and approved the budget.")
    detector.detect_language_of("城市图书馆最近推出了夜间阅读服务。")
    load_tokenizer(tokenizer)


def _run_phases(
    ex: Any,
    jobs: Sequence[_Job],
    work: Path,
    out: Path,
    settings: CurateSettings,
    tok: Any,
    progress: bool,
) -> tuple[list, dict[str, Any], list, dict[str, Any], dict[str, float]]:
    """Phases 1-4, overlapped: every shard's phase 1 is queued at once; as their results come
    in (in input order) this process runs the global dedup over each and queues its phase 3;
    as those come in (in order) it packs their tokens. The workers never wait for the dedup or
    the packing, and the output is what running the phases one after the other gives (each
    phase sees its shards in input order, and a shard's dedup decisions depend only on the
    shards before it).

    ``seconds``: ``steps``, ``write`` (from the start) and ``wall`` are when the last phase 1,
    the last phase 3 and packing finished; ``dedup`` and ``pack`` are this process's own time
    in them (what was serial before, now hidden behind the workers)."""
    start = time.perf_counter()
    inline = len(jobs) <= 1
    seconds: dict[str, float] = {}
    saved = work / "dedup.json"
    walk = None if saved.exists() else DedupWalk(work, settings)
    decisions = read_json_object(saved)["decisions"] if walk is None else {}
    phase1: list = []
    phase3: list = []
    futures3: list = []
    waited = 0.0
    packed = out / "packed"
    phases = ("steps", "dedup", "write+tokenize", "pack")
    with progress_bars(len(jobs), phases, progress) as bars:
        futures1 = [ex.submit(curate_shard, job, inline=inline) for job in jobs]
        for job, fut in zip(jobs, futures1, strict=True):
            phase1.append(fut.result())
            bars.update("steps")
            drops = walk.add(job.shard) if walk is not None else decisions.get(job.shard.key, [])
            bars.update("dedup")
            job3 = replace(job, drops=tuple(tuple(d) for d in drops))
            futures3.append(ex.submit(finish_shard, job3, inline=inline))
        seconds["steps"] = time.perf_counter() - start
        dedup = walk.finish() if walk is not None else read_json_object(saved)
        seconds["dedup"] = dedup["stats"]["seconds"]
        meta = {"tokenizer": tok.name, "eos_token": tok.eos_token, "documents": 0}

        def token_files() -> Any:
            """Each shard's tokens once its phase 3 is done, in order (the wait not counted)."""
            nonlocal waited
            for job, fut in zip(jobs, futures3, strict=True):
                t0 = time.perf_counter()
                phase3.append(fut.result())
                waited += time.perf_counter() - t0
                bars.update("write+tokenize")
                yield work / "p3" / f"{job.shard.key}.tokens.npy"
                bars.update("pack")
            seconds["write"] = time.perf_counter() - start
            meta["documents"] = sum(p["curated"] for p in phase3)  # read when packing ends

        t0 = time.perf_counter()
        if (packed / "meta.json").exists():
            for _ in token_files():
                pass
            pack_info = json.loads((packed / "meta.json").read_text(encoding="utf-8"))
        else:
            pack_info = pack_token_files(
                token_files(),
                packed,
                seq_len=settings.seq_len,
                eos_id=tok.eos_id,
                remainder=settings.remainder,
                rows_per_file=settings.rows_per_file,
                meta=meta,
            )
        seconds["pack"] = time.perf_counter() - t0 - waited
    return phase1, dedup, phase3, pack_info, seconds


def run_curate(
    inputs: Sequence[str | Path | InputFile],
    out_dir: str | Path,
    settings: CurateSettings | None = None,
    *,
    executor: str = "local",
    workers: int | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Curate ``inputs`` into ``out_dir``; return the stats (also in ``out_dir/stats.json``).

    Bad input (a missing or unknown file, a bad charter or lexicon file, an unusable tokenizer
    or output folder) raises ``UserError`` before anything is written.
    """
    settings = settings or CurateSettings()
    say = log or (lambda _msg: None)
    started = time.perf_counter()
    out = Path(out_dir)
    if settings.seq_len < 2:
        raise UserError(f"--seq-len {settings.seq_len} is too small", fix="use e.g. 2048")
    files = discover_inputs(inputs)
    require_packages("valuealign curate", _needed_packages(files))
    pool = None
    shard_bytes = max(1, int(settings.shard_mb * (1 << 20)))
    if executor == "local" and (len(files) > 1 or sum(f.size for f in files) > shard_bytes):
        # several shards ahead: the workers start now, importing and loading the language
        # detector and the tokenizer while this process reads the charter and plans the run
        pool = LocalExecutor(workers, warm_up=(warm_up_worker, (settings.tokenizer,)))
        pool.start()
    try:
        return _curate(files, out, settings, executor, workers, pool, progress, say, started)
    finally:
        if pool is not None:
            pool.close()


def _curate(
    files: Sequence[InputFile],
    out: Path,
    settings: CurateSettings,
    executor: str,
    workers: int | None,
    pool: LocalExecutor | None,
    progress: bool,
    say: Callable[[str], None],
    started: float,
) -> dict[str, Any]:
    charter = load_charter(settings.charter)
    lexicon, no_lexicon = build_lexicon(charter, settings.lexicon_files)
    if executor == "ray":
        import_ray()
    elif executor != "local":
        raise UserError(f"unknown executor {executor!r}", fix="use local or ray")
    tok = load_tokenizer(settings.tokenizer)
    shards = plan_shards(files, settings.read, max(1, int(settings.shard_mb * (1 << 20))))
    languages = tuple(charter.languages)
    fingerprint = _fingerprint(settings, files, languages, lexicon, (tok.name, tok.eos_id))
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a folder", fix="choose another --out")
    _check_out_dir(out, fingerprint)  # refuse a foreign folder before touching it
    ensure_run_dir(out)  # writable, and locked: one curate per folder at a time
    done = _check_out_dir(out, fingerprint)  # again, now that no other curate can change it
    if done is not None:
        shutil.rmtree(out / "_work", ignore_errors=True)
        say(f"curate: {out} is already complete (same settings and inputs); nothing to do")
        for line in summary_lines(done, out):
            say(line)
        return done
    work = out / "_work"
    work.mkdir(parents=True, exist_ok=True)
    write_json_atomic(
        work / "settings.json",
        {"fingerprint": fingerprint, "settings": asdict(settings), "shards": len(shards)},
    )
    jobs = [_Job(sh, str(work), str(out), settings, languages, lexicon) for sh in shards]
    with pool if pool is not None else make_executor(executor, workers) as ex:
        phase1, dedup, phase3, pack_info, seconds = _run_phases(
            ex, jobs, work, out, settings, tok, progress
        )
    _merge_audit(out, work, shards)
    seconds["wall"] = time.perf_counter() - started
    stats = build_stats(
        fingerprint=fingerprint,
        settings=asdict(settings),
        files=files,
        shards=len(shards),
        phase1=phase1,
        dedup=dedup["stats"],
        phase3=phase3,
        pack=pack_info,
        subdomain_ids=charter.subdomain_ids(),
        no_lexicon=no_lexicon,
        seconds=seconds,
        executor=executor,
    )
    stats = json.loads(json.dumps(stats, default=str))  # what a reader of stats.json sees
    CurateStats.model_validate(stats)  # a renamed or missing key fails here, not in a reader
    write_json_atomic(out / "stats.json", stats)
    if not settings.keep_work:
        shutil.rmtree(work, ignore_errors=True)
    for line in summary_lines(stats, out):
        say(line)
    return stats


def sample_corpus_path() -> Path:
    """The built-in sample corpus (``valuealign/data/corpus/sample.jsonl``)."""
    return Path(str(resources.files("valuealign") / "data" / "corpus" / "sample.jsonl"))


def curate_sample(
    out_dir: str | Path,
    *,
    select: Literal["relevant", "all"] = "relevant",
    seq_len: int = 512,
    tokenizer: str = DEFAULT_TOKENIZER,
    executor: str = "local",
    workers: int | None = 1,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Curate the built-in sample corpus with the default charter (the demo's corpus stage).

    Any JSONL fields beyond ``text`` (and ``id``) are ignored; records without ``id`` get a
    ``file:line`` id.
    """
    path = sample_corpus_path()
    if not path.is_file():
        raise UserError(
            "the built-in sample corpus (valuealign/data/corpus/sample.jsonl) is missing",
            fix="reinstall valuealign, or run `valuealign curate --input YOUR.jsonl`",
        )
    source = InputFile(str(path), "builtin:corpus/sample.jsonl", "jsonl", None, path.stat().st_size)
    settings = CurateSettings(select=select, seq_len=seq_len, tokenizer=tokenizer)
    return run_curate(
        [source], out_dir, settings, executor=executor, workers=workers, progress=progress, log=log
    )


__all__ = [
    "STEP_NAMES",
    "CurateSettings",
    "build_steps",
    "curate_sample",
    "curate_shard",
    "curated_record",
    "finish_shard",
    "global_dedup",
    "run_curate",
    "sample_corpus_path",
]
