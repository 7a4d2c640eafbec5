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

import fcntl
import json
import os
import tempfile
import threading
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


def refuse_symlink(path: str | Path) -> None:
    """Raise ``UserError`` when ``path`` is a symbolic link: valuealign never creates one in a
    run folder, so writing through one would change a file the user did not name."""
    path = Path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    import stat

    if stat.S_ISLNK(st.st_mode):
        raise UserError(
            f"{path}: is a symbolic link; valuealign does not write through links it did not make",
            fix="remove the link (or choose another --out)",
        )


def _open_nofollow(path: Path, flags: int, mode: int = 0o666) -> int:
    refuse_symlink(path)
    try:
        return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    except OSError as e:
        import errno

        if e.errno == errno.ELOOP:
            refuse_symlink(path)
        raise


def _repair_torn_tail(path: Path) -> None:
    """Drop a last line that has no newline: a write that a kill interrupted."""
    with os.fdopen(_open_nofollow(path, os.O_RDWR), "rb+") as f:
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
    for _, record in parse_jsonl_lines(read_text_lines(path), str(path), model):
        yield record


def parse_jsonl_lines(
    lines: Iterable[str],
    source: str,
    model: type[T],
    *,
    json_fix: str = "each line must be one JSON object",
    schema_fix: str | None = None,
) -> Iterator[tuple[int, T]]:
    """Yield (line number, validated record); a bad line raises ``UserError`` naming it.

    A line is first parsed and validated in one step by pydantic's JSON parser (1.3x less CPU
    than ``json.loads`` + ``model_validate`` on generation samples, 1.9x on eval judgements,
    measured in session 25); any line it rejects goes through ``json.loads`` +
    ``model_validate``, which names the problem (or accepts the line: the slow path has the
    last word, so no line is read differently)."""
    validate_json = model.model_validate_json
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield lineno, validate_json(line)
            continue
        except ValidationError:
            pass  # the slow path below says why (or accepts it)
        try:
            data = json.loads(line)
        except json.JSONDecodeError as e:
            raise UserError(
                f"{source}:{lineno}: not valid JSON ({e.msg} at column {e.colno})", fix=json_fix
            ) from None
        except RecursionError:
            raise UserError(f"{source}:{lineno}: JSON nested too deeply", fix=json_fix) from None
        if not isinstance(data, dict):
            raise UserError(
                f"{source}:{lineno}: a JSON {type(data).__name__}, not an object", fix=json_fix
            )
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
        fd = _open_nofollow(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        self._f = os.fdopen(fd, "a", encoding="utf-8")

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
    """Ids already written to a JSONL file (empty when it does not exist); a corrupt line (not
    JSON, no ``id``, not UTF-8) raises ``UserError`` naming the file and line."""
    path = Path(path)
    if not path.exists():
        return set()
    _repair_torn_tail(path)
    ids: set[str] = set()
    for lineno, line in enumerate(read_text_lines(path), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError as e:
            raise UserError(
                f"{path}:{lineno}: not valid JSON ({e})",
                fix="fix or delete that line, then rerun (its item is redone)",
            ) from None
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            raise UserError(
                f"{path}:{lineno}: record has no string 'id'",
                fix="fix or delete that line, then rerun (its item is redone)",
            )
        ids.add(data["id"])
    return ids


def latest_by_id(records: Iterable[T]) -> list[T]:
    """The last record for each ``id`` (a rerun appends a retried item after its failure),
    in the order the ids first appear."""
    last: dict[str, T] = {}
    for r in records:
        last[r.id] = r  # type: ignore[attr-defined]
    return list(last.values())


def read_records(path: str | Path, model: type[T], *, latest: bool = False) -> list[T]:
    """The records of a job's resumable JSONL file, ``[]`` before the job has written it; a
    torn last line (a killed write) is dropped and a bad line is a ``UserError`` naming it.
    ``latest``: only the last record per id (a rerun appends a retried record after the failed
    one)."""
    path = Path(path)
    if not path.exists():
        return []
    records = read_jsonl(path, model, repair=True)
    return latest_by_id(records) if latest else records


PARSE_FAILURE_PREFIX = "parse failure"


def should_redo(error: str | None, parse_error: str | None = None, *, parse: bool = False) -> bool:
    """The one resume rule of every job: a record that ended in a backend error (the server was
    down, a key was wrong) is done again on a rerun; a parse failure (the model answered, but
    not in the asked format) only when ``parse`` (``--retry-parse-failures``) is given."""
    if error and not error.startswith(PARSE_FAILURE_PREFIX):
        return True
    return parse and bool(parse_error or error)


def failure_cause(errors: Iterable[str]) -> str:
    """One line that says why requests failed: the commonest error, with a hint for the usual
    causes (a wrong key, a wrong URL or model, a server that is down)."""
    from collections import Counter

    counted = Counter(errors)
    if not counted:
        return "no error recorded"
    top, _ = counted.most_common(1)[0]
    low = top.lower()
    if "http 401" in low or "http 403" in low:
        hint = f"{'401' if 'http 401' in low else '403'} from the server: check the API key"
    elif "http 404" in low:
        hint = "404 from the server: check the model name and that the base URL ends in /v1"
    elif "connection error" in low:
        hint = "cannot reach the server: is it running, and is the base URL right?"
    elif "timed out" in low:
        hint = "the server timed out: check it, or raise --timeout"
    else:
        hint = "see the error below"
    return f"{hint} ({top})"


def failure_summary(planned: int, errors: list[str]) -> dict:
    """What a job's stats say about its failures: planned, failed for good, the one-line cause."""
    return {
        "planned": planned,
        "failed": len(errors),
        "cause": failure_cause(errors) if errors else None,
    }


def check_total_failure(job: str, summary: dict) -> None:
    """The one exit rule of every job: when every planned request failed for good, raise
    ``BackendError`` (exit 1) with the cause in one line. Call it after the job wrote its
    records and printed its summary, so a rerun retries them."""
    if summary["planned"] and summary["failed"] >= summary["planned"]:
        from valuealign.errors import BackendError

        raise BackendError(
            f"{job}: all {summary['planned']} failed; {summary['cause']}; "
            "rerun the same command to retry them"
        )


def read_json_dicts(path: str | Path, *, require: tuple[str, ...] = ("id",)) -> list[dict]:
    """The JSON objects of a JSONL file (split on ``\\n`` only, BOM dropped); a line that is
    not a JSON object with the ``require``-d keys raises ``UserError`` naming file and line."""
    path = Path(path)
    out: list[dict] = []
    fix = "fix or delete that line, then rerun"
    for lineno, line in enumerate(read_text_lines(path), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError as e:
            raise UserError(f"{path}:{lineno}: not valid JSON ({e})", fix=fix) from None
        except RecursionError:
            raise UserError(f"{path}:{lineno}: JSON nested too deeply", fix=fix) from None
        if not isinstance(data, dict):
            raise UserError(f"{path}:{lineno}: not a JSON object", fix=fix)
        missing = [k for k in require if k not in data]
        if missing:
            raise UserError(f"{path}:{lineno}: record has no {missing[0]!r}", fix=fix)
        out.append(data)
    return out


def read_text_lines(path: str | Path) -> list[str]:
    """The lines of a UTF-8 text file split on ``\\n`` only (U+2028, U+2029 and U+0085 are
    legal inside JSON strings and stay in their line); a leading BOM is dropped. Invalid UTF-8
    raises ``UserError`` naming the file and line."""
    return split_lines(decode_text(Path(path).read_bytes(), str(path)))


def decode_text(data: bytes, source: str) -> str:
    """UTF-8 text without a leading BOM, or ``UserError`` naming the line of a bad byte."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise UserError(
            f"{source}:{line}: not valid UTF-8 (byte {data[e.start]:#04x})",
            fix="save the file as UTF-8",
        ) from None
    return text.removeprefix("\ufeff")


def split_lines(text: str) -> list[str]:
    """Split JSONL text on ``\\n`` only (never ``str.splitlines``); a trailing ``\\r`` goes."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]


_HELD_LOCKS: dict[str, int] = {}
_LOCK_GUARD = threading.Lock()
LOCK_FILE = ".valuealign.lock"


def _lock_run_dir(out: Path) -> None:
    """Hold an exclusive lock on ``out`` for the life of this process (one job per folder).

    The lock is an ``flock`` on ``out/.valuealign.lock`` with our pid written in it; the kernel
    drops it when the process ends, however it ends, so a killed run never blocks a rerun."""
    key = str(out.resolve())
    with _LOCK_GUARD:
        if key in _HELD_LOCKS:
            return
        path = out / LOCK_FILE
        fd = _open_nofollow(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                other = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "?"
            finally:
                os.close(fd)
            raise UserError(
                f"{out}: another valuealign process (pid {other}) is writing to this run folder",
                fix="wait for it to finish (or stop it), or choose another --out",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        _HELD_LOCKS[key] = fd


def ensure_run_dir(out: str | Path) -> Path:
    """Create a run directory, lock it for this process and prove it is writable, or raise
    ``UserError`` (exit 2): a folder another live process holds, a symbolic link in it (valuealign
    makes none), a folder that cannot be written."""
    out = Path(out)
    fix = "choose a writable --out"
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"{out}: cannot write the run directory ({e.strerror})", fix=fix) from None
    for name in os.listdir(out):
        refuse_symlink(out / name)
    try:
        _lock_run_dir(out)
        probe = out / ".write-test"
        if probe.is_file():  # left by a process killed mid-probe; we hold the lock now
            probe.unlink()
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        os.close(fd)
        probe.unlink()
    except OSError as e:
        raise UserError(f"{out}: cannot write the run directory ({e.strerror})", fix=fix) from None
    return out


def read_json_object(path: str | Path, *, fix: str = "delete it to start over") -> dict:
    """A JSON file that must hold one object (a manifest, stats, a marker), or ``UserError``
    naming the file: not UTF-8, not JSON, nested too deeply, or not an object."""
    path = Path(path)
    text = decode_text(path.read_bytes(), str(path))
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise UserError(f"{path}:{e.lineno}: not valid JSON ({e.msg})", fix=fix) from None
    except RecursionError:
        raise UserError(f"{path}: JSON nested too deeply", fix=fix) from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: holds a JSON {type(data).__name__}, not an object", fix=fix)
    return data


def check_output_file(path: str | Path, flag: str = "--out") -> Path:
    """Make the folder of an output file and prove a file can be written there, before any
    work is done; else ``UserError`` naming the path (a file where a folder should be, no
    permission, a link in the file's place)."""
    path = Path(path)
    refuse_symlink(path)
    if path.is_dir():
        raise UserError(f"{path}: is a folder, not a file", fix=f"give {flag} a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        os.close(fd)
        os.unlink(tmp)
    except OSError as e:
        raise UserError(
            f"{path}: cannot write here ({e.strerror}: {e.filename or path.parent})",
            fix=f"choose a writable {flag}",
        ) from None
    return path


def _umask() -> int:
    """The process umask, read without changing it where the OS shows it (Linux), so no other
    thread ever creates a file under a temporary umask."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _LOCK_GUARD:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def write_json_atomic(path: str | Path, data: Any) -> None:
    """Write JSON to a temp file in the same folder, then rename it into place."""
    write_text_atomic(path, json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write a whole file via a temp file + rename (a reader never sees half of it). The file
    gets the mode a plain ``open`` would (0666 less the umask), not ``mkstemp``'s 0600; a
    symbolic link at ``path`` is refused, never replaced or followed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    refuse_symlink(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def fix_mode(path: str | Path) -> None:
    """Give a file made by ``mkstemp`` the mode a plain ``open`` would give it."""
    os.chmod(path, 0o666 & ~_umask())
