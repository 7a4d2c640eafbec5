"""Decontamination: does any training text overlap the benchmark it will be scored on?

A model trained on a benchmark question (or a close paraphrase) and then scored on it reports
memory, not values. :func:`check` compares every *training unit* (one text: a user or assistant
turn of a conversation, a document, an example question, a VISA prompt) with every benchmark
question, in Chinese and English, by two tests:

* **long n-gram overlap**: the unit and the question share a run of at least ``word_n`` English
  words or ``char_n`` Chinese characters (after NFKC, lower-casing and dropping punctuation;
  English words and Chinese characters are counted in their own sequences, so code-switched
  text is covered by both). A shared run that long is copying, not a shared topic.
* **near duplicate**: the Jaccard similarity of the two texts' shingle sets (character 3-grams
  of the normalised text, the same shingles as :mod:`valuealign.generate.dedup`) is at least
  ``jaccard``: a paraphrase that keeps most of the wording. Computed exactly through an inverted
  index (no MinHash error), after a size bound that skips pairs that cannot reach it.

The defaults (``word_n=8``, ``char_n=10``, ``jaccard=0.5``) were chosen by measuring every
(shipped training unit, benchmark question) pair: see ``benchmarks/decontam_thresholds.py`` and
the README's decontamination section for the distribution and the margin each default leaves.

Sources (``SOURCES`` of ``valuealign decontam``):

* ``builtin:shipped``: everything this package ships for training: the default charter's example
  questions (shown to the Attacker), the SFT and adversarial samples, the corpus samples and the
  default VISA prompts;
* ``charter:FILE|builtin:NAME``: a charter's example questions; ``visa:default``: VISA prompts;
* a ``valuealign generate --out`` directory (its ``samples.jsonl``);
* a JSONL file: per line ``messages`` (chat turns; system turns are skipped), or any of the text
  fields ``text``, ``prompt``, ``query``, ``question``, ``completion``, ``original``,
  ``response``, ``chosen``, ``rejected`` (a string or a ``{"zh": ..., "en": ...}`` object);
* a Parquet file with the same columns (an exported SFT file); a ``.txt`` file (one unit per
  non-empty line).

>>> report = check(["builtin:shipped"])
>>> report["n_collisions"]
0
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from valuealign.errors import UserError, ValueAlignError
from valuealign.lang import LANGS
from valuealign.records import decode_text, split_lines

WORD_N = 9
CHAR_N = 14
JACCARD = 0.6
COVER = 0.8
SHINGLE = 3
TEXT_FIELDS = (
    "text",
    "prompt",
    "query",
    "question",
    "completion",
    "original",
    "response",
    "chosen",
    "rejected",
)
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|[a-z0-9]+")
_PUNCT = re.compile(r"[\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Unit:
    """One training text and where it came from."""

    source: str
    where: str  # file:line, or a builtin name
    record: str  # the record's id, or ""
    field: str  # "messages[1].user", "text", "example_questions[0].zh", ...
    text: str


@dataclass(frozen=True)
class Question:
    item_id: str
    kind: str
    language: str
    text: str


# --------------------------------------------------------------------------- text measures


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def token_streams(text: str) -> tuple[list[str], list[str]]:
    """(English words, Chinese characters) of ``text`` in reading order."""
    toks = _TOKEN.findall(normalize(text))
    words = [t for t in toks if t.isascii()]
    chars = [t for t in toks if not t.isascii()]
    return words, chars


def ngrams(seq: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(seq[i : i + n]) for i in range(len(seq) - n + 1)}


def shingles(text: str, n: int = SHINGLE) -> set[str]:
    s = " ".join(_PUNCT.sub(" ", normalize(text)).split())
    if len(s) <= n:
        return {s} if s else set()
    return {s[i : i + n] for i in range(len(s) - n + 1)}


def longest_run(a: list[str], b: list[str]) -> tuple[int, int]:
    """(length, end in ``a``) of the longest contiguous run of tokens ``a`` and ``b`` share."""
    best, best_end = 0, 0
    if not a or not b:
        return 0, 0
    prev = [0] * (len(b) + 1)
    for i, x in enumerate(a, 1):
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b, 1):
            if x == y:
                cur[j] = prev[j - 1] + 1
                if cur[j] > best:
                    best, best_end = cur[j], i
        prev = cur
    return best, best_end


def longest_shared_run(a: list[str], b: list[str]) -> int:
    return longest_run(a, b)[0]


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


# ------------------------------------------------------------------------------- benchmark


def benchmark_questions(spec: str | list[str] = "builtin") -> list[Question]:
    """Questions of ``builtin`` (vcbench and its benign controls), of ``builtin:NAME`` or of a
    benchmark JSONL (or of several of these)."""
    from valuealign.evaluate.benchmark import load_benchmark

    specs = [spec] if isinstance(spec, str) else spec
    names = [
        n
        for s in specs
        for n in (["builtin:vcbench", "builtin:vcbench-benign"] if s == "builtin" else [s])
    ]
    out: list[Question] = []
    for name in names:
        for item in load_benchmark(name).items:
            for lang in LANGS:
                text = getattr(item.question, lang, None)
                if text:
                    out.append(Question(item.id, item.kind, lang, text))
    return out


# --------------------------------------------------------------------------------- sources


def _data(*parts: str) -> Any:
    node = resources.files("valuealign") / "data"
    for p in parts:
        node = node / p
    return node


def _bilingual(value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        if value.strip():
            yield "", value
    elif isinstance(value, dict):
        for lang in LANGS:
            v = value.get(lang)
            if isinstance(v, str) and v.strip():
                yield f".{lang}", v


def _record_units(obj: dict, source: str, where: str) -> list[Unit]:
    rid = str(obj.get("id", ""))
    units: list[Unit] = []
    messages = obj.get("messages")
    if isinstance(messages, list):
        for k, m in enumerate(messages):
            if not isinstance(m, dict) or m.get("role") == "system":
                continue
            content = m.get("content")
            if isinstance(content, str) and content.strip():
                units.append(Unit(source, where, rid, f"messages[{k}].{m.get('role')}", content))
    for name in TEXT_FIELDS:
        for suffix, text in _bilingual(obj.get(name)):
            units.append(Unit(source, where, rid, name + suffix, text))
    return units


def _jsonl_units(lines: list[str], source: str, label: str) -> list[Unit]:
    units: list[Unit] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise UserError(
                f"{label}:{n}: not valid JSON ({e.msg})", fix="each line must be one JSON object"
            ) from None
        if not isinstance(obj, dict):
            raise UserError(f"{label}:{n}: not a JSON object", fix="each line must be an object")
        found = _record_units(obj, source, f"{label}:{n}")
        if not found:
            raise UserError(
                f"{label}:{n}: no text to check",
                fix=f"give each line `messages` or one of: {', '.join(TEXT_FIELDS)}",
            )
        units += found
    return units


def _text_units(lines: list[str], source: str, label: str) -> list[Unit]:
    return [
        Unit(source, f"{label}:{n}", "", "line", line)
        for n, line in enumerate(lines, 1)
        if line.strip()
    ]


def charter_units(spec: str, source: str | None = None) -> list[Unit]:
    from valuealign.charter import load_charter

    charter = load_charter(spec)
    units: list[Unit] = []
    for _, sub in charter.subdomains():
        for k, q in enumerate(sub.example_questions):
            for lang in LANGS:
                text = getattr(q, lang, None)
                if text:
                    units.append(
                        Unit(
                            source or f"charter:{spec}",
                            spec,
                            sub.id,
                            f"example_questions[{k}].{lang}",
                            text,
                        )
                    )
    return units


def visa_units() -> list[Unit]:
    from valuealign.visa.dataset import default_queries

    return [
        Unit("visa:default", "visa default prompts", q.id, f"query.{q.language}", q.query)
        for q in default_queries(("en", "zh"))
    ]


def shipped_units() -> list[Unit]:
    """Everything the package ships for training."""
    units = charter_units("builtin:balanced-v1", "builtin:charter")
    for folder, name in (
        ("train", "sft-sample.jsonl"),
        ("train", "adversarial-sample.jsonl"),
        ("corpus", "sample.jsonl"),
    ):
        text = _data(folder, name).read_text(encoding="utf-8")
        units += _jsonl_units(split_lines(text), f"builtin:{folder}/{name}", f"{folder}/{name}")
    text = _data("corpus", "cpt-sample.txt").read_text(encoding="utf-8")
    units += _text_units(
        split_lines(text), "builtin:corpus/cpt-sample.txt", "corpus/cpt-sample.txt"
    )
    return units + visa_units()


def load_units(spec: str) -> list[Unit]:
    """The training units of one source (see the module docstring)."""
    if spec == "builtin:shipped":
        return shipped_units()
    if spec == "visa:default":
        return visa_units()
    if spec.startswith("charter:"):
        return charter_units(spec.removeprefix("charter:"))
    path = Path(spec)
    if path.is_dir():
        samples = path / "samples.jsonl"
        if not samples.is_file():
            raise UserError(
                f"{path}: a directory without samples.jsonl",
                fix="point at a `valuealign generate --out` directory or at a file",
            )
        path = samples
    if not path.is_file():
        raise UserError(
            f"{spec}: no such file or source",
            fix="use a file, a generate run directory, builtin:shipped, visa:default or "
            "charter:FILE|builtin:NAME",
        )
    if path.suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            from valuealign.errors import MissingExtra

            raise MissingExtra("pyarrow", "train", "checking Parquet files") from None
        units: list[Unit] = []
        for n, row in enumerate(pq.read_table(path).to_pylist(), 1):
            units += _record_units(row, str(path), f"{path}:row {n}")
        return units
    text = decode_text(path.read_bytes(), str(path))
    if path.suffix in (".jsonl", ".json"):
        return _jsonl_units(split_lines(text), str(path), str(path))
    if path.suffix == ".txt":
        return _text_units(split_lines(text), str(path), str(path))
    raise UserError(f"{path}: unknown file type", fix="use .jsonl, .parquet or .txt")


# ----------------------------------------------------------------------------------- check


@dataclass(frozen=True)
class Settings:
    word_n: int = WORD_N
    """A shared run of this many English words is a collision."""
    char_n: int = CHAR_N
    """A shared run of this many Chinese characters is a collision."""
    jaccard: float = JACCARD
    """Shingle Jaccard at or above this is a near duplicate."""
    cover: float = COVER
    """A shared run covering this share of the shorter text (question or unit) is a collision."""
    cover_min_words: int = 4
    cover_min_chars: int = 6
    shingle: int = SHINGLE


_SEED = 4  # candidate pairs share at least one 4-gram (words or characters)


class Index:
    """The benchmark's questions, indexed for the tests."""

    def __init__(self, questions: list[Question], settings: Settings = Settings()) -> None:
        self.questions = questions
        self.settings = settings
        self.streams: list[tuple[list[str], list[str]]] = []
        self.seeds: dict[tuple[str, ...], set[int]] = defaultdict(set)
        self.posting: dict[str, list[int]] = defaultdict(list)
        self.sizes: list[int] = []
        for k, q in enumerate(questions):
            w, c = token_streams(q.text)
            self.streams.append((w, c))
            for g in ngrams(w, _SEED) | {("\0", *g) for g in ngrams(c, _SEED)}:
                self.seeds[g].add(k)
            sh = shingles(q.text, settings.shingle)
            self.sizes.append(len(sh))
            for x in sh:
                self.posting[x].append(k)

    def hits(self, text: str) -> dict[int, dict[str, Any]]:
        """Benchmark questions ``text`` collides with, and why."""
        st = self.settings
        out: dict[int, dict[str, Any]] = {}
        w, c = token_streams(text)
        candidates: set[int] = set()
        for g in ngrams(w, _SEED) | {("\0", *g) for g in ngrams(c, _SEED)}:
            candidates |= self.seeds.get(g, set())
        for k in candidates:
            qw, qc = self.streams[k]
            tests: list[str] = []
            shared = ""
            for kind, a, b, n, least, sep in (
                ("word", w, qw, st.word_n, st.cover_min_words, " "),
                ("char", c, qc, st.char_n, st.cover_min_chars, ""),
            ):
                run, end = longest_run(b, a)
                if run >= n:
                    tests.append(f"ngram-{kind}")
                elif run >= least and run >= st.cover * min(len(a), len(b)):
                    tests.append(f"cover-{kind}")
                else:
                    continue
                shared = sep.join(b[end - run : end])
            if tests:
                out[k] = {"tests": tests, "shared": shared}
        sh = shingles(text, st.shingle)
        if sh:
            size = len(sh)
            lo, hi = size * st.jaccard, size / st.jaccard
            counts: Counter[int] = Counter()
            if any(lo <= x <= hi for x in self.sizes):
                for x in sh:
                    for k in self.posting.get(x, ()):
                        if lo <= self.sizes[k] <= hi:
                            counts[k] += 1
            for k, inter in counts.items():
                j = inter / (size + self.sizes[k] - inter)
                if j >= st.jaccard:
                    rec = out.setdefault(k, {"tests": [], "shared": ""})
                    rec["tests"].append("near-duplicate")
                    rec["jaccard"] = round(j, 3)
        return out


def _excerpt(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check(
    sources: Iterable[str] = ("builtin:shipped",),
    *,
    benchmark: str | list[str] = "builtin",
    settings: Settings = Settings(),
    units: list[Unit] | None = None,
) -> dict[str, Any]:
    """Compare every unit of ``sources`` (or the given ``units``) with the benchmark questions."""
    sources = list(sources)
    questions = benchmark_questions(benchmark)
    index = Index(questions, settings)
    all_units = list(units) if units is not None else [u for s in sources for u in load_units(s)]
    collisions: list[dict[str, Any]] = []
    for u in all_units:
        for k, hit in sorted(index.hits(u.text).items()):
            q = questions[k]
            collisions.append(
                {
                    "source": u.source,
                    "where": u.where,
                    "record": u.record,
                    "field": u.field,
                    "item_id": q.item_id,
                    "item_kind": q.kind,
                    "language": q.language,
                    "tests": hit["tests"],
                    "shared": hit.get("shared") or None,
                    "jaccard": hit.get("jaccard"),
                    "train_text": _excerpt(u.text),
                    "benchmark_text": q.text,
                }
            )
    per_source = Counter(u.source for u in all_units)
    hit_source = Counter(c["source"] for c in collisions)
    return {
        "benchmark": benchmark,
        "benchmark_questions": len(questions),
        "sources": [
            {"source": s, "units": n, "collisions": hit_source.get(s, 0)}
            for s, n in per_source.items()
        ],
        "settings": asdict(settings),
        "units": len(all_units),
        "n_collisions": len(collisions),
        "items_hit": sorted({c["item_id"] for c in collisions}),
        "collisions": collisions,
    }


def summary(report: dict[str, Any]) -> dict[str, Any]:
    """The part of a report a manifest keeps."""
    return {
        "benchmark": report["benchmark"],
        "units": report["units"],
        "collisions": report["n_collisions"],
        "items_hit": report["items_hit"],
        "settings": report["settings"],
        "pairs": [
            {k: c[k] for k in ("where", "record", "field", "item_id", "language", "tests")}
            for c in report["collisions"][:50]
        ],
    }


def format_collisions(report: dict[str, Any], limit: int | None = None) -> str:
    lines = []
    for c in report["collisions"][:limit]:
        why = ", ".join(c["tests"])
        if c.get("jaccard") is not None:
            why += f" (jaccard {c['jaccard']:.2f})"
        if c.get("shared"):
            why += f" shared: {c['shared']!r}"
        rec = f" {c['record']}" if c["record"] else ""
        lines.append(
            f"COLLISION {c['where']}{rec} {c['field']} ~ {c['item_id']} [{c['language']}]: {why}\n"
            f"    train:     {c['train_text']}\n    benchmark: {c['benchmark_text']}"
        )
    more = report["n_collisions"] - len(lines)
    if more > 0:
        lines.append(f"... and {more} more (see the JSON report)")
    return "\n".join(lines)


def warn_line(report: dict[str, Any], what: str) -> str | None:
    """One loud line for a job's output when its data collides with the benchmark."""
    if not report["n_collisions"]:
        return None
    return (
        f"WARNING: decontamination: {report['n_collisions']} overlap(s) between {what} and the "
        f"benchmark ({len(report['items_hit'])} items: {', '.join(report['items_hit'][:8])}"
        f"{'...' if len(report['items_hit']) > 8 else ''}); scores on those items are not "
        "trustworthy. Run `valuealign decontam` for the pairs."
    )


class ContaminationError(ValueAlignError):
    """Training data overlaps the benchmark and the job was asked to be strict (exit 1)."""


def guard(
    sources: list[str],
    *,
    what: str,
    benchmark: str | list[str] = "builtin",
    strict: bool = False,
    say: Any = None,
) -> dict[str, Any]:
    """The check the jobs run on their own data (export sft, train, eval): returns the summary
    for the manifest, prints one loud warning line when anything collides and, with
    ``strict``, stops the job (:class:`ContaminationError`, exit 1)."""
    import sys

    report = check(sources, benchmark=benchmark)
    line = warn_line(report, what)
    if line:
        (say or (lambda m: print(m, file=sys.stderr)))(line)
        if strict:
            raise ContaminationError(
                line
                + "\n"
                + format_collisions(report, 10)
                + "\n  fix: rewrite or drop those texts, or run without the strict flag"
            )
    return summary(report)


def _training_files(path: str) -> tuple[list[str], list[str]]:
    """(files the check can read, notes on what it could not) of one training data path."""
    from valuealign.train.data import curated_folder, resolve_path

    p = resolve_path(path)
    if p.is_dir():
        if (p / "samples.jsonl").is_file():
            return [str(p)], []
        _, docs = curated_folder(p)
        files = [str(d) for d in docs if d.suffix in (".jsonl", ".parquet")]
        skipped = [str(d) for d in docs if d.suffix not in (".jsonl", ".parquet")]
        return files, [f"{s}: not checked (compressed)" for s in skipped] + (
            [] if files else [f"{p}: no curated documents to check"]
        )
    if p.suffix in (".jsonl", ".json", ".parquet", ".txt"):
        return [str(p)], []
    return [], [f"{p}: not checked ({p.suffix or 'no'} file type)"]


def guard_files(
    paths: list[str],
    *,
    what: str,
    strict: bool = False,
    say: Any = None,
    benchmark: str | list[str] = "builtin",
) -> dict[str, Any]:
    """:func:`guard` over training data paths (files, builtin:NAME, curation folders)."""
    files: list[str] = []
    notes: list[str] = []
    for p in paths:
        f, n = _training_files(p)
        files += f
        notes += n
    out = (
        guard(files, what=what, strict=strict, say=say) if files else {"units": 0, "collisions": 0}
    )
    out["not_checked"] = notes
    return out
