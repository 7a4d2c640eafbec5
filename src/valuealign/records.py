"""Typed JSONL records: the one format every stage reads and writes.

A record is a pydantic model with a ``schema_version``, a stable ``id`` and provenance. Files are
append-only JSONL; a writer flushes every line, so killing a job loses at most the line being
written, and :func:`read_jsonl` repairs such a torn last line on resume instead of failing.
Whole-file outputs (manifests, stats) go through :func:`write_json_atomic` (temp file + rename),
so a reader never sees half a file.

>>> from valuealign.records import JsonlWriter, read_jsonl
>>> with JsonlWriter("runs/x/answers.jsonl") as w:
...     w.append(AnswerRecord(...))
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from valuealign.errors import UserError

SCHEMA_VERSION = 1
T = TypeVar("T", bound=BaseModel)


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Usage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
        )


class Provenance(BaseModel):
    """Who made a record and how: role bindings, template hash, seed, time, tokens."""

    model_config = ConfigDict(extra="forbid")
    roles: dict[str, str] = Field(default_factory=dict)
    # role -> the server(s) that actually answered (base URL without credentials; openai/ only)
    servers: dict[str, str] = Field(default_factory=dict)
    template_hash: str | None = None
    seed: int | None = None
    created_at: str = Field(default_factory=utcnow)
    usage: Usage = Field(default_factory=Usage)


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid")
    schema_version: int = SCHEMA_VERSION
    id: str
    provenance: Provenance = Field(default_factory=Provenance)


class AnswerRecord(Record):
    """One model answer to one question (the demo's output, later the eval's)."""

    kind: str = "answer"
    item_id: str
    subdomain: str
    language: str
    question: str
    answer: str | None = None
    finish_reason: str | None = None
    error: str | None = None


def _repair_torn_tail(path: Path) -> None:
    """Drop a last line that has no newline: a write that a kill interrupted."""
    with path.open("rb+") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        if size == 0:
            return
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return
        f.seek(0)
        data = f.read()
        cut = data.rfind(b"\n") + 1
        f.truncate(cut)


def iter_jsonl(path: str | Path, model: type[T], *, repair: bool = False) -> Iterator[T]:
    """Yield validated records; a bad line raises ``UserError`` naming file and line."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: file not found", fix="check the path")
    if repair:
        _repair_torn_tail(path)
    with path.open(encoding="utf-8") as f:
        for _, record in parse_jsonl_lines(f, str(path), model):
            yield record


def parse_jsonl_lines(
    lines: Iterable[str],
    source: str,
    model: type[T],
    *,
    json_fix: str = "each line must be one JSON object",
    schema_fix: str | None = None,
) -> Iterator[tuple[int, T]]:
    """Yield (line number, validated record); a bad line raises ``UserError`` naming it."""
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as e:
            raise UserError(
                f"{source}:{lineno}: not valid JSON ({e.msg} at column {e.colno})", fix=json_fix
            ) from None
        try:
            yield lineno, model.model_validate(data)
        except ValidationError as e:
            err = e.errors()[0]
            loc = ".".join(str(p) for p in err["loc"]) or "(record)"
            raise UserError(
                f"{source}:{lineno}: field '{loc}': {err['msg']}",
                fix=schema_fix or f"make the line match the {model.__name__} schema",
            ) from None


def parse_unique_jsonl(
    lines: Iterable[str],
    source: str,
    model: type[T],
    *,
    what: str = "id",
    id_fix: str = "give every line its own id",
    json_fix: str = "each line must be one JSON object",
    schema_fix: str | None = None,
) -> tuple[list[T], dict[str, int]]:
    """(records, id -> line) of JSONL lines whose records carry an ``id``; a bad line or a
    repeated id raises ``UserError`` naming the line (and the first one, for a repeat)."""
    items: list[T] = []
    first: dict[str, int] = {}
    for lineno, item in parse_jsonl_lines(
        lines, source, model, json_fix=json_fix, schema_fix=schema_fix
    ):
        item_id = item.id  # type: ignore[attr-defined]
        if item_id in first:
            raise UserError(
                f"{source}:{lineno}: duplicate {what} {item_id!r} (first at line {first[item_id]})",
                fix=id_fix,
            )
        first[item_id] = lineno
        items.append(item)
    return items, first


def read_jsonl(path: str | Path, model: type[T], *, repair: bool = False) -> list[T]:
    return list(iter_jsonl(path, model, repair=repair))


class JsonlWriter:
    """Append records to a JSONL file, one flushed line at a time (resumable)."""

    def __init__(self, path: str | Path, *, fsync: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            _repair_torn_tail(self.path)
        self._fsync = fsync
        self._f = self.path.open("a", encoding="utf-8")

    def append(self, record: BaseModel) -> None:
        self._f.write(record.model_dump_json() + "\n")
        self._f.flush()
        if self._fsync:
            os.fsync(self._f.fileno())

    def append_dict(self, data: dict) -> None:
        """Append a plain JSON object (for event logs that are not typed records)."""
        self._f.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
        self._f.flush()

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def existing_ids(path: str | Path) -> set[str]:
    """Ids already written to a JSONL file (empty when it does not exist)."""
    path = Path(path)
    if not path.exists():
        return set()
    _repair_torn_tail(path)
    ids: set[str] = set()
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                ids.add(json.loads(line)["id"])
    return ids


def ensure_run_dir(out: str | Path) -> Path:
    """Create a run directory and prove it is writable, or raise ``UserError`` (exit 2)."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise UserError(
            f"{out}: cannot write the run directory ({e.strerror})", fix="choose a writable --out"
        ) from None
    return out


def write_json_atomic(path: str | Path, data: Any) -> None:
    """Write JSON to a temp file in the same folder, then rename it into place."""
    write_text_atomic(path, json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def write_text_atomic(path: str | Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
