"""Step 1, read: find the input files, cut them into shards, stream documents out of a shard.

Formats: JSONL (``.jsonl``, ``.ndjson``, ``.json``; the text field is configurable), Parquet and
plain text (``.txt``, ``.text``, ``.md``), each optionally compressed with ``.gz`` or ``.zst``
(Parquet compresses itself and may not be wrapped). Reading streams, so memory stays constant.

A shard is a contiguous piece of one file: a byte range of a line-based file (cut at a line
boundary, or at a blank line for paragraph text) or a run of Parquet row groups. For a ``.gz`` or
``.zst`` file the byte ranges are of the decompressed stream: planning decompresses the file
once to find the cuts, and each shard's worker decompresses from the start and skips to its
range (a compressed stream cannot be entered in the middle; decompression is a few hundred MB/s,
far above the steps), so one large compressed file is spread over every worker. Shards are numbered
in input order, which fixes the order of every output.

A malformed record (bad JSON, no text field, invalid UTF-8, a corrupt compressed stream) becomes
a dropped document naming its file and line, and goes to the audit: it never stops the run.

>>> files = discover_inputs(["corpus/"])
>>> shards = plan_shards(files, ReadOptions(), shard_bytes=64 << 20)
>>> for doc in ReadStep(shards[0], ReadOptions())(): ...
"""

from __future__ import annotations

import gzip
import io
import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from valuealign.curate.steps import Document, Drop, StepCounts
from valuealign.errors import UserError

Format = Literal["jsonl", "parquet", "text"]
TextUnit = Literal["paragraph", "line", "file"]

FORMATS: dict[str, Format] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".txt": "text",
    ".text": "text",
    ".md": "text",
}
COMPRESSIONS = {".gz": "gzip", ".zst": "zstd", ".zstd": "zstd"}
_SUPPORTED = (
    "JSONL (.jsonl/.ndjson/.json), Parquet (.parquet) or text (.txt/.text/.md), optionally .gz/.zst"
)


@dataclass(frozen=True)
class ReadOptions:
    """How records become documents."""

    text_field: str = "text"
    id_field: str = "id"
    text_unit: TextUnit = "paragraph"  # plain text: blank-line blocks, single lines, whole file


@dataclass(frozen=True)
class InputFile:
    path: str  # where to open it
    name: str  # how outputs and the audit refer to it
    format: Format
    compression: str | None
    size: int


@dataclass(frozen=True)
class Shard:
    index: int
    file: InputFile
    start: int = 0  # byte offset, or first row group for Parquet
    end: int | None = None  # byte offset / row group (exclusive); None: to the end
    first_line: int = 1  # line (row) number of the first record in the shard

    @property
    def key(self) -> str:
        return f"{self.index:05d}"


def describe_input(path: str | Path, name: str | None = None) -> InputFile:
    """Check one input file and tell its format; ``UserError`` names the file and the fix."""
    p = Path(path)
    shown = name or str(path)
    if not p.exists():
        raise UserError(f"{shown}: input file not found", fix="check the path passed to --input")
    if not p.is_file():
        raise UserError(f"{shown}: not a file", fix="pass files or folders of files to --input")
    suffixes = [s.lower() for s in p.suffixes]
    compression = COMPRESSIONS.get(suffixes[-1]) if suffixes else None
    base = (
        suffixes[-2] if compression and len(suffixes) >= 2 else (suffixes[-1] if suffixes else "")
    )
    fmt = FORMATS.get(base)
    if fmt is None or (fmt == "parquet" and compression):
        raise UserError(
            f"{shown}: unknown input format {''.join(p.suffixes) or '(no extension)'!r}",
            fix=f"use {_SUPPORTED}; rename the file to match its format",
        )
    return InputFile(str(p), shown, fmt, compression, p.stat().st_size)


def discover_inputs(paths: Sequence[str | Path | InputFile]) -> list[InputFile]:
    """Expand folders (sorted, recursive, supported files only) and check every file."""
    if not paths:
        raise UserError("no input given", fix="pass at least one --input PATH")
    found: list[InputFile] = []
    seen: set[str] = set()
    for item in paths:
        if isinstance(item, InputFile):
            candidates = [item]
        else:
            p = Path(item)
            if p.is_dir():
                files = sorted(f for f in p.rglob("*") if f.is_file() and _is_supported(f.name))
                if not files:
                    raise UserError(
                        f"{item}: folder holds no supported input files", fix=f"add {_SUPPORTED}"
                    )
                candidates = [describe_input(f) for f in files]
            else:
                candidates = [describe_input(item)]
        for f in candidates:
            real = str(Path(f.path).resolve())
            if real not in seen:
                seen.add(real)
                found.append(f)
    return found


def _is_supported(name: str) -> bool:
    suffixes = [s.lower() for s in Path(name).suffixes]
    if not suffixes:
        return False
    if suffixes[-1] in COMPRESSIONS:
        return len(suffixes) >= 2 and FORMATS.get(suffixes[-2]) in ("jsonl", "text")
    return suffixes[-1] in FORMATS


def check_parquet(f: InputFile, options: ReadOptions) -> None:
    """The text column must exist and the file must be readable Parquet."""
    import pyarrow.parquet as pq

    try:
        schema = pq.ParquetFile(f.path).schema_arrow
    except Exception as e:  # pyarrow raises several types for a broken file
        raise UserError(
            f"{f.name}: not a readable Parquet file ({e})", fix="check the file is complete"
        ) from None
    if options.text_field not in schema.names:
        raise UserError(
            f"{f.name}: no column {options.text_field!r} (columns: {', '.join(schema.names)})",
            fix="name the text column with --text-field",
        )


def plan_shards(
    files: Sequence[InputFile], options: ReadOptions, shard_bytes: int = 64 << 20
) -> list[Shard]:
    """Cut the files into shards of about ``shard_bytes``, in input order."""
    shards: list[Shard] = []
    for f in files:
        if f.format == "parquet":
            check_parquet(f, options)
            pieces = _plan_parquet(f, shard_bytes)
        elif (f.format == "text" and options.text_unit == "file") or (
            not f.compression and f.size <= shard_bytes
        ):
            pieces = [(0, None, 1)]
        else:
            pieces = _plan_lines(f, shard_bytes, paragraph=f.format == "text")
        for start, end, first in pieces:
            shards.append(Shard(len(shards), f, start, end, first))
    return shards


def _plan_lines(f: InputFile, shard_bytes: int, *, paragraph: bool) -> list[tuple]:
    """Byte ranges cut at line (paragraph) boundaries; for a compressed file, ranges of the
    decompressed stream (found by decompressing it once here)."""
    bounds: list[tuple[int, int]] = [(0, 1)]
    offset = last = lineno = 0
    with _open_binary(f) as fh:
        try:
            for line in fh:
                offset += len(line)
                lineno += 1
                if offset - last >= shard_bytes and (not paragraph or not line.strip()):
                    bounds.append((offset, lineno + 1))
                    last = offset
        except Exception:  # a damaged stream: the shard that reaches it reports it when read
            pass
    if len(bounds) > 1 and bounds[-1][0] >= offset:
        bounds.pop()
    return [
        (start, bounds[i + 1][0] if i + 1 < len(bounds) else None, first)
        for i, (start, first) in enumerate(bounds)
    ]


def _plan_parquet(f: InputFile, shard_bytes: int) -> list[tuple]:
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(f.path).metadata
    pieces: list[tuple] = []
    start, size, row, first_row = 0, 0, 0, 1
    for g in range(meta.num_row_groups):
        rg = meta.row_group(g)
        size += rg.total_byte_size
        row += rg.num_rows
        if size >= shard_bytes and g + 1 < meta.num_row_groups:
            pieces.append((start, g + 1, first_row))
            start, size, first_row = g + 1, 0, row + 1
    pieces.append((start, meta.num_row_groups, first_row))
    return pieces


# -- reading ---------------------------------------------------------------------------------


def _open_binary(f: InputFile) -> IO[bytes]:
    if f.compression == "gzip":
        return gzip.open(f.path, "rb")  # type: ignore[return-value]
    if f.compression == "zstd":
        import zstandard

        raw = open(f.path, "rb")
        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(raw, closefd=True))
    return open(f.path, "rb")


def _skip(fh: IO[bytes], n: int) -> None:
    while n > 0:
        chunk = fh.read(min(n, 1 << 20))
        if not chunk:
            raise EOFError("compressed stream ended before the shard's start")
        n -= len(chunk)


class ReadStep:
    """The source of a shard's documents; malformed records come out already dropped."""

    name = "read"

    def __init__(self, shard: Shard, options: ReadOptions) -> None:
        self.shard = shard
        self.options = options
        self.counts = StepCounts()

    def __call__(self) -> Iterator[Document]:
        fmt = self.shard.file.format
        source = (
            self._parquet()
            if fmt == "parquet"
            else self._jsonl()
            if fmt == "jsonl"
            else self._text()
        )
        c = self.counts
        t0 = time.perf_counter()
        for doc in source:
            c.seen += 1
            if doc.dropped is None:
                c.kept += 1
            else:
                c.dropped += 1
                c.reasons[doc.dropped.reason] += 1
            c.seconds += time.perf_counter() - t0
            yield doc
            t0 = time.perf_counter()
        c.seconds += time.perf_counter() - t0

    # each reader yields documents; a broken stream ends the shard with one dropped record
    def _lines(self) -> Iterator[tuple[int, bytes]]:
        s = self.shard
        offset, lineno = s.start, s.first_line - 1
        with _open_binary(s.file) as fh:
            try:
                if s.start and s.file.compression:
                    _skip(fh, s.start)  # a compressed stream is decompressed up to the shard
                elif s.start:
                    fh.seek(s.start)
                for raw in fh:
                    lineno += 1
                    offset += len(raw)
                    self.counts.extra["bytes"] = self.counts.extra.get("bytes", 0) + len(raw)
                    if lineno == 1:
                        raw = raw.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte-order mark
                    yield lineno, raw
                    if s.end is not None and offset >= s.end:
                        return
            except Exception as e:  # OSError, EOFError, zstandard.ZstdError: a damaged stream
                yield lineno + 1, _Broken(str(e) or type(e).__name__)  # type: ignore[misc]

    def _malformed(self, line: int, reason: str, detail: str, text: str) -> Document:
        doc = Document(id=f"{self.shard.file.name}:{line}", text=text, file=self.shard.file.name)
        doc.line = line
        doc.dropped = Drop("read", reason, detail)
        return doc

    def _jsonl(self) -> Iterator[Document]:
        opts = self.options
        name = self.shard.file.name
        for lineno, raw in self._lines():
            if isinstance(raw, _Broken):
                yield self._malformed(lineno, "corrupt-file", raw.message, "")
                return
            raw = raw.rstrip(b"\r\n")
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                yield self._malformed(
                    lineno, "malformed", f"not UTF-8 ({e.reason})", raw.decode("utf-8", "replace")
                )
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                yield self._malformed(
                    lineno, "malformed", f"not valid JSON ({e.msg} at column {e.colno})", line
                )
                continue
            except RecursionError:
                yield self._malformed(lineno, "malformed", "JSON nested too deeply", line[:200])
                continue
            if not isinstance(obj, dict):
                yield self._malformed(lineno, "malformed", "not a JSON object", line)
                continue
            text = obj.get(opts.text_field)
            if not isinstance(text, str):
                yield self._malformed(
                    lineno, "no-text", f"no string field {opts.text_field!r}", line
                )
                continue
            yield Document(
                id=_doc_id(obj.get(opts.id_field), name, lineno), text=text, file=name, line=lineno
            )

    def _text(self) -> Iterator[Document]:
        name = self.shard.file.name
        unit = self.options.text_unit
        block: list[str] = []
        first = 0
        bad: str | None = None

        def flush() -> Document:
            text = "".join(block)
            doc = Document(id=f"{name}:{first}", text=text, file=name, line=first)
            if bad is not None:
                doc.dropped = Drop("read", "malformed", bad)
            return doc

        for lineno, raw in self._lines():
            if isinstance(raw, _Broken):
                if block:
                    yield flush()
                yield self._malformed(lineno, "corrupt-file", raw.message, "")
                return
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                line = raw.decode("utf-8", "replace")
                bad = bad or f"not UTF-8 at line {lineno} ({e.reason})"
            if unit == "file":
                if not block:
                    first = lineno
                block.append(line)
                continue
            if not line.strip():
                if block:
                    yield flush()
                    block, bad = [], None
                continue
            if not block:
                first = lineno
            block.append(line)
            if unit == "line":
                yield flush()
                block, bad = [], None
        if block:
            yield flush()

    def _parquet(self) -> Iterator[Document]:
        import pyarrow.parquet as pq

        s, opts = self.shard, self.options
        name = s.file.name
        pf = pq.ParquetFile(s.file.path)
        columns = [opts.text_field]
        if opts.id_field in pf.schema_arrow.names and opts.id_field != opts.text_field:
            columns.append(opts.id_field)
        groups = list(range(s.start, s.end if s.end is not None else pf.metadata.num_row_groups))
        row = s.first_line - 1
        for g in groups:
            self.counts.extra["bytes"] = (
                self.counts.extra.get("bytes", 0) + pf.metadata.row_group(g).total_byte_size
            )
        try:
            batches = pf.iter_batches(row_groups=groups, columns=columns, batch_size=1024)
            for batch in batches:
                data = batch.to_pydict()
                texts = data[opts.text_field]
                ids = data.get(opts.id_field) if len(columns) > 1 else None
                for i, text in enumerate(texts):
                    row += 1
                    if not isinstance(text, str):
                        yield self._malformed(
                            row, "no-text", f"column {opts.text_field!r} is not text here", ""
                        )
                        continue
                    ident = ids[i] if ids is not None else None
                    yield Document(id=_doc_id(ident, name, row), text=text, file=name, line=row)
        except Exception as e:  # a damaged row group ends the shard, recorded in the audit
            yield self._malformed(row + 1, "corrupt-file", str(e) or type(e).__name__, "")


class _Broken(bytes):
    """Stands for a line the decompressor could not produce."""

    def __new__(cls, message: str) -> _Broken:
        obj = super().__new__(cls, b"")
        obj.message = message  # type: ignore[attr-defined]
        return obj

    message: str


def _doc_id(value: object, name: str, line: int) -> str:
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return f"{name}:{line}"
