"""Training data: read, check and mix the files each stage trains on.

* CPT reads raw text: ``.txt`` (paragraphs split on blank lines), ``.jsonl`` / ``.parquet`` with a
  text field, or a ``valuealign curate`` output folder (its packed shards when their tokenizer
  matches, else its curated documents). Packed shards are already ``input_ids`` of a fixed length.
* SFT and adversarial read chat data: rows with ``messages`` (what ``valuealign export sft``
  writes) or ``prompt``/``completion``. A conversation becomes a prompt (every turn before the
  last assistant turn) and a completion (that turn), so the loss falls on the answer only.

Every file is checked before training starts: a malformed line, an unknown role or an empty
data set is a ``UserError`` naming the file and line (exit code 2), never a crash mid-run.
``.gz`` files are read transparently.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from valuealign.errors import MissingExtra, UserError
from valuealign.records import parse_jsonl_lines
from valuealign.train.config import DataSource


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "user", "assistant"]
    content: str


class ChatRow(BaseModel):
    """One training conversation; extra columns (id, subdomain, score ...) are ignored."""

    model_config = ConfigDict(extra="ignore")
    messages: list[ChatMessage] | None = None
    prompt: list[ChatMessage] | str | None = None
    completion: list[ChatMessage] | str | None = None

    @field_validator("messages")
    @classmethod
    def _ends_with_answer(cls, v: list[ChatMessage] | None) -> list[ChatMessage] | None:
        if v is not None:
            if not any(m.role == "user" for m in v):
                raise ValueError("a conversation needs at least one user message")
            if v[-1].role != "assistant":
                raise ValueError("the last message must be the assistant's answer")
            if not v[-1].content.strip():
                raise ValueError("the assistant's answer is empty")
        return v

    def to_prompt_completion(self) -> dict[str, Any]:
        if self.messages is not None:
            msgs = [m.model_dump() for m in self.messages]
            return {"prompt": msgs[:-1], "completion": msgs[-1:]}
        if self.prompt is None or self.completion is None:
            raise ValueError("needs 'messages', or both 'prompt' and 'completion'")
        if isinstance(self.prompt, str) != isinstance(self.completion, str):
            raise ValueError("'prompt' and 'completion' must both be text or both be messages")
        if isinstance(self.prompt, str):
            return {"prompt": self.prompt, "completion": self.completion}
        return {
            "prompt": [m.model_dump() for m in self.prompt],
            "completion": [m.model_dump() for m in self.completion],  # type: ignore[union-attr]
        }


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return path.open("r", encoding="utf-8")


def _kind(path: Path) -> str:
    suffixes = [s for s in path.suffixes if s != ".gz"]
    return suffixes[-1] if suffixes else ""


BUILTIN_DATA = {
    "sft-sample": ("train", "sft-sample.jsonl"),
    "adversarial-sample": ("train", "adversarial-sample.jsonl"),
    "cpt-sample": ("corpus", "cpt-sample.txt"),
    "corpus-sample": ("corpus", "sample.jsonl"),
}


def resolve_path(path: str | Path) -> Path:
    """A data path; ``builtin:NAME`` names a small data set shipped with valuealign."""
    text = str(path)
    if text.startswith("builtin:"):
        name = text.removeprefix("builtin:")
        if name not in BUILTIN_DATA:
            raise UserError(
                f"unknown built-in data set {name!r}",
                fix=f"use one of {', '.join('builtin:' + n for n in BUILTIN_DATA)}",
            )
        folder, filename = BUILTIN_DATA[name]
        return Path(str(resources.files("valuealign") / "data" / folder / filename))
    return Path(path)


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise UserError(f"{path}: data file not found", fix="check the path in 'data:' or --data")


def file_fingerprint(path: str | Path) -> dict[str, Any]:
    """Path, size and SHA-256 of a data file (of each file, for a folder), for the manifest."""
    p = resolve_path(path)
    _check_exists(p)
    files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
    digest = hashlib.sha256()
    size = 0
    for f in files:
        with f.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
                size += len(block)
    return {"path": str(path), "bytes": size, "sha256": digest.hexdigest(), "files": len(files)}


# --- chat data ---------------------------------------------------------------------------


def read_chat_rows(path: str | Path) -> list[dict[str, Any]]:
    """Prompt/completion rows of one chat data file (.jsonl[.gz] or .parquet)."""
    p = resolve_path(path)
    _check_exists(p)
    kind = _kind(p)
    rows: list[dict[str, Any]] = []
    if kind in (".jsonl", ".json"):
        with _open_text(p) as f:
            for lineno, row in parse_jsonl_lines(
                f,
                str(p),
                ChatRow,
                schema_fix="each line needs 'messages': [{role, content}, ...] ending with the "
                "assistant's answer (or 'prompt' and 'completion')",
            ):
                rows.append(_as_pc(row, f"{p}:{lineno}"))
    elif kind == ".parquet":
        for i, data in enumerate(_parquet_rows(p), start=1):
            try:
                row = ChatRow.model_validate(data)
            except Exception as e:
                first_line = str(e).split("\n", 1)[0]
                raise UserError(
                    f"{p}: row {i}: not a chat row ({first_line})",
                    fix="rows need a 'messages' column (or 'prompt' and 'completion')",
                ) from None
            rows.append(_as_pc(row, f"{p}: row {i}"))
    else:
        raise UserError(f"{p}: unknown chat data format", fix="use .jsonl, .jsonl.gz or .parquet")
    return rows


def _as_pc(row: ChatRow, where: str) -> dict[str, Any]:
    try:
        return row.to_prompt_completion()
    except ValueError as e:
        raise UserError(f"{where}: {e}", fix="see `valuealign export sft` for the format") from None


def _parquet_rows(path: Path) -> Iterator[dict[str, Any]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise MissingExtra("pyarrow", "train", "Parquet data") from None
    try:
        pf = pq.ParquetFile(path)
    except Exception as e:
        raise UserError(f"{path}: not a Parquet file ({e})", fix="check the file") from None
    for batch in pf.iter_batches(batch_size=1024):
        yield from batch.to_pylist()


def mix_sources(
    per_source: list[list[dict[str, Any]]], weights: list[float], seed: int
) -> list[dict[str, Any]]:
    """Mix rows so that source i makes up ``weights[i] / sum(weights)`` of the result.

    The largest source relative to its weight sets the size; smaller ones are repeated (whole
    passes first, then a seeded sample), so nothing is dropped and the ratio holds.
    """
    if len(per_source) == 1:
        return list(per_source[0])
    total_w = sum(weights)
    shares = [w / total_w for w in weights]
    size = max(len(rows) / s for rows, s in zip(per_source, shares, strict=True) if rows)
    rng = random.Random(seed)
    mixed: list[dict[str, Any]] = []
    for rows, share in zip(per_source, shares, strict=True):
        want = round(size * share)
        reps, rest = divmod(want, len(rows))
        mixed += rows * reps + rng.sample(rows, rest)
    rng.shuffle(mixed)
    return mixed


def add_share(
    rows: list[dict[str, Any]], extra: list[dict[str, Any]], ratio: float, seed: int
) -> list[dict[str, Any]]:
    """Add rows from ``extra`` so that they are ``ratio`` of the result (seeded, with reuse)."""
    if ratio <= 0 or not extra:
        return rows
    want = round(len(rows) * ratio / (1 - ratio))
    rng = random.Random(seed)
    reps, rest = divmod(want, len(extra))
    out = rows + extra * reps + rng.sample(extra, rest)
    rng.shuffle(out)
    return out


def load_chat_data(sources: list[DataSource], seed: int) -> list[dict[str, Any]]:
    per = [read_chat_rows(s.path) for s in sources]
    for s, rows in zip(sources, per, strict=True):
        if not rows:
            raise UserError(f"{s.path}: no training rows in this file", fix="check the file")
    return mix_sources(per, [s.weight for s in sources], seed)


# --- raw text (CPT) ------------------------------------------------------------------------


class TextRow(BaseModel):
    model_config = ConfigDict(extra="allow")


def read_text_docs(path: str | Path, text_field: str = "text") -> list[str]:
    """Documents of one raw-text file: .txt paragraphs, or a text field of .jsonl/.parquet."""
    p = resolve_path(path)
    _check_exists(p)
    kind = _kind(p)
    docs: list[str] = []
    if kind in (".txt", ".md"):
        with _open_text(p) as f:
            docs = [d.strip() for d in f.read().split("\n\n") if d.strip()]
    elif kind in (".jsonl", ".json"):
        with _open_text(p) as f:
            for lineno, row in parse_jsonl_lines(f, str(p), TextRow):
                text = (row.model_extra or {}).get(text_field)
                if not isinstance(text, str):
                    raise UserError(
                        f"{p}:{lineno}: no text field '{text_field}'",
                        fix=f"set 'text_field:' to the field that holds the text (now {text_field!r})",
                    )
                if text.strip():
                    docs.append(text)
    elif kind == ".parquet":
        for i, row in enumerate(_parquet_rows(p), start=1):
            text = row.get(text_field)
            if not isinstance(text, str):
                raise UserError(
                    f"{p}: row {i}: no text column '{text_field}'", fix="set 'text_field:'"
                )
            if text.strip():
                docs.append(text)
    else:
        raise UserError(
            f"{p}: unknown text data format",
            fix="use .txt, .jsonl, .parquet (optionally .gz) or a `valuealign curate` folder",
        )
    return docs


class PackedShards(BaseModel):
    """A curation output's packed shards: fixed-length ``input_ids`` and how they were made."""

    files: list[str]
    tokenizer: str | None = None
    seq_len: int | None = None


def curated_folder(path: Path) -> tuple[PackedShards | None, list[Path]]:
    """(packed shards, curated document files) of a ``valuealign curate --out`` folder."""
    packed = None
    meta = path / "packed" / "meta.json"
    if meta.exists():
        info = json.loads(meta.read_text(encoding="utf-8"))
        files = sorted(str(f) for f in (path / "packed").glob("*.parquet"))
        if files:
            packed = PackedShards(
                files=files, tokenizer=info.get("tokenizer"), seq_len=info.get("seq_len")
            )
    docs = sorted((path / "curated").glob("*.jsonl*")) + sorted(
        (path / "curated").glob("*.parquet")
    )
    return packed, docs


class CPTData(BaseModel):
    texts: list[str] = Field(default_factory=list)
    packed: list[list[int]] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


def load_cpt_data(
    sources: list[DataSource], text_field: str, model_name: str, seed: int
) -> CPTData:
    """Texts (to be tokenized and packed by the trainer) or pre-packed token sequences.

    A curation folder contributes its packed shards when they were made with this model's
    tokenizer, otherwise its curated documents (re-tokenized here).
    """
    data = CPTData()
    text_sources: list[list[dict[str, Any]]] = []
    text_weights: list[float] = []
    for s in sources:
        p = resolve_path(s.path)
        _check_exists(p)
        if p.is_dir():
            packed, doc_files = curated_folder(p)
            if packed is not None and _same_tokenizer(packed.tokenizer, model_name):
                for f in packed.files:
                    for row in _parquet_rows(Path(f)):
                        data.packed.append(list(row["input_ids"]))
                data.notes.append(f"{p}: {len(packed.files)} packed shard(s)")
                continue
            if packed is not None:
                data.notes.append(
                    f"{p}: packed with {packed.tokenizer}, not {model_name}; re-tokenizing "
                    "the curated documents"
                )
            if not doc_files:
                raise UserError(
                    f"{p}: neither packed shards nor curated documents here",
                    fix="point at a `valuealign curate --out` folder, or at a text file",
                )
            docs = [d for f in doc_files for d in read_text_docs(f, "text")]
        else:
            docs = read_text_docs(p, text_field)
        if not docs:
            raise UserError(f"{p}: no text in this file", fix="check the file and 'text_field:'")
        text_sources.append([{"text": d} for d in docs])
        text_weights.append(s.weight)
    if text_sources:
        data.texts = [r["text"] for r in mix_sources(text_sources, text_weights, seed)]
    return data


def _same_tokenizer(packed_with: str | None, model_name: str) -> bool:
    if not packed_with:
        return False
    strip = lambda s: s.removeprefix("hf/").rstrip("/")  # noqa: E731
    return strip(packed_with) == strip(model_name)


def split_eval(rows: list[Any], fraction: float, seed: int) -> tuple[list[Any], list[Any]]:
    """Seeded train/eval split; no eval set when the fraction or the data is too small."""
    if fraction <= 0 or len(rows) < 4:
        return rows, []
    idx = list(range(len(rows)))
    random.Random(seed).shuffle(idx)
    n_eval = max(1, round(len(rows) * fraction))
    eval_idx = set(idx[:n_eval])
    return [r for i, r in enumerate(rows) if i not in eval_idx], [rows[i] for i in sorted(eval_idx)]
