"""Step 8, pack: tokenize curated documents and pack them into fixed-length sequences.

The tokenizer is the target model's, named like a backend: ``hf/smollm2-135m-instruct`` (the
default, the project's embedded model), ``hf/gemma3-270m``, ``hf/PATH/TO/FOLDER`` or
``hf/PATH/TO/model.gguf``; names resolve exactly as :mod:`valuealign.backends.hf` does (an
embedded GGUF is converted once into the cache folder, and its ``tokenizer.json`` is read from
there). With a ``tokenizer.json`` the fast ``tokenizers`` library is used directly (no torch
import); otherwise ``transformers.AutoTokenizer`` loads the folder.

Each document becomes its tokens (with whatever special tokens the tokenizer adds at the start,
e.g. a BOS) followed by one EOS; documents are concatenated in curated order and cut into
sequences of exactly ``seq_len`` tokens (a document may span two sequences). The last, partial
sequence is padded out with EOS ids (``remainder="pad"``, the default, so a small corpus still
yields a sequence) or dropped (``remainder="drop"``); ``meta.json`` records which, and how many
tokens were padded or dropped. This module is the project's one packer: the training stage packs
raw CPT text with :func:`pack_token_lists` and the ``half`` rule (see :func:`last_sequence`).

Output: ``packed/part-00000.parquet``, ... with one column ``input_ids`` (``list<int32>``, every
row ``seq_len`` long) that ``datasets.load_dataset("parquet", data_files=...)`` loads, and
``packed/meta.json`` with the tokenizer name, ``seq_len``, ``eos_id`` and the counts.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from valuealign.curate.bpe import ByteLevelBPE
from valuealign.errors import MissingExtra, UserError

DEFAULT_TOKENIZER = "hf/smollm2-135m-instruct"


@dataclass
class PackTokenizer:
    name: str
    eos_id: int
    eos_token: str
    encode_batch: Callable[[list[str]], list[list[int]]]
    # the same ids, each document's as native int32 bytes (the byte-level fast path)
    encode_flat: Callable[[list[str]], list[bytes]] | None = None


_CACHE: dict[str, PackTokenizer] = {}


def _special(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("content")
    return value if isinstance(value, str) else None


def resolve_tokenizer_folder(spec: str) -> Path:
    """``hf/NAME`` -> a folder holding the tokenizer (``UserError`` for anything else)."""
    if not spec.startswith("hf/") or len(spec) <= 3:
        raise UserError(
            f"tokenizer {spec!r} is not an hf/ model",
            fix=f"use {DEFAULT_TOKENIZER}, hf/gemma3-270m or hf/PATH/TO/MODEL_FOLDER",
        )
    from valuealign.backends.hf import resolve_model_path

    return resolve_model_path(spec[3:])


def load_tokenizer(spec: str = DEFAULT_TOKENIZER) -> PackTokenizer:
    """The tokenizer for ``spec`` (cached per process)."""
    if spec in _CACHE:
        return _CACHE[spec]
    folder = resolve_tokenizer_folder(spec)
    config: dict[str, Any] = {}
    if (folder / "tokenizer_config.json").exists():
        config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    eos = _special(config.get("eos_token"))
    tok_file = folder / "tokenizer.json"
    if tok_file.exists() and eos and importlib.util.find_spec("tokenizers") is not None:
        from tokenizers import Tokenizer

        fast = Tokenizer.from_file(str(tok_file))
        eos_id = fast.token_to_id(eos)
        if eos_id is not None:
            # the same ids as encode_batch (offsets are not computed); one thread per worker
            batch = getattr(fast, "encode_batch_fast", fast.encode_batch)

            def encode(texts: list[str]) -> list[list[int]]:
                return [e.ids for e in batch(texts, add_special_tokens=True)]

            byte_level = ByteLevelBPE.for_tokenizer(fast, tok_file)
            flat = None
            if byte_level is not None:
                flat = byte_level.flat_fallback_to(encode)
                encode = byte_level.fallback_to(encode)
            _CACHE[spec] = PackTokenizer(spec, int(eos_id), eos, encode, flat)
            return _CACHE[spec]
    if importlib.util.find_spec("transformers") is None:
        raise MissingExtra("transformers", "train", f"the tokenizer {spec}")
    from transformers import AutoTokenizer

    auto = AutoTokenizer.from_pretrained(str(folder))
    if auto.eos_token_id is None:
        raise UserError(f"{spec}: the tokenizer has no EOS token", fix="pick another tokenizer")

    def encode_auto(texts: list[str]) -> list[list[int]]:
        return [list(ids) for ids in auto(texts, add_special_tokens=True)["input_ids"]]

    _CACHE[spec] = PackTokenizer(spec, int(auto.eos_token_id), auto.eos_token, encode_auto)
    return _CACHE[spec]


def tokenize_documents(tok: PackTokenizer, texts: Sequence[str], batch: int = 256) -> np.ndarray:
    """All documents' tokens, each followed by one EOS, as one flat int32 array."""
    if tok.encode_flat is not None:
        return _tokenize_flat(tok, tok.encode_flat, texts, batch)
    parts: list[np.ndarray] = []
    eos = np.array([tok.eos_id], dtype=np.int32)
    for i in range(0, len(texts), batch):
        for ids in tok.encode_batch(list(texts[i : i + batch])):
            if ids and ids[-1] == tok.eos_id:
                ids = ids[:-1]
            parts.append(np.asarray(ids, dtype=np.int32))
            parts.append(eos)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)


def _tokenize_flat(
    tok: PackTokenizer,
    encode: Callable[[list[str]], list[bytes]],
    texts: Sequence[str],
    batch: int,
) -> np.ndarray:
    """:func:`tokenize_documents` on int32 bytes: one join and one array for all documents."""
    eos = np.array([tok.eos_id], dtype=np.int32).tobytes()
    parts: list[bytes] = []
    for i in range(0, len(texts), batch):
        for ids in encode(list(texts[i : i + batch])):
            if ids.endswith(eos) and len(ids) % 4 == 0:  # a trailing EOS, as above
                ids = ids[:-4]
            parts.append(ids)
            parts.append(eos)
    return np.frombuffer(b"".join(parts), dtype=np.int32).copy()


Remainder = Literal["pad", "drop", "half"]


def last_sequence(
    rest: np.ndarray, seq_len: int, eos_id: int, remainder: Remainder, *, after_full: bool
) -> tuple[np.ndarray | None, int, int]:
    """What becomes of the tokens left after the last full sequence (``0 < len(rest) <
    seq_len``): ``(row or None, padded tokens, dropped tokens)``.

    - ``pad``: padded with EOS to ``seq_len`` (curate's default: a small corpus still yields a
      sequence, and every row has the same length);
    - ``drop``: dropped;
    - ``half``: kept as it is, shorter than ``seq_len``, when it holds at least half a sequence
      or is the only sequence (``after_full`` false), else dropped (the training stage's rule
      for raw text it packs itself).
    """
    if remainder == "pad":
        pad = seq_len - rest.size
        return np.concatenate([rest, np.full(pad, eos_id, dtype=rest.dtype)]), pad, 0
    if remainder == "half" and (rest.size >= seq_len // 2 or not after_full):
        return rest, 0, 0
    return None, 0, int(rest.size)


def pack_token_lists(
    docs: Iterable[Sequence[int]], seq_len: int, eos_id: int, remainder: Remainder = "half"
) -> list[list[int]]:
    """Documents' tokens joined, each followed by one EOS, cut into ``seq_len`` pieces in memory;
    the last piece follows :func:`last_sequence`. (``pack_token_files`` is the same cut,
    streamed from ``.npy`` files into Parquet.)"""
    stream: list[int] = []
    for ids in docs:
        stream += list(ids)
        stream.append(eos_id)
    full = len(stream) // seq_len
    rows = [stream[k * seq_len : (k + 1) * seq_len] for k in range(full)]
    rest = np.asarray(stream[full * seq_len :], dtype=np.int64)
    if rest.size:
        row, _, _ = last_sequence(rest, seq_len, eos_id, remainder, after_full=full > 0)
        if row is not None:
            rows.append([int(x) for x in row])
    return rows


def pack_token_files(
    token_files: Iterable[Path],
    out_dir: Path,
    *,
    seq_len: int,
    eos_id: int,
    remainder: Literal["pad", "drop"] = "pad",
    rows_per_file: int = 4096,
    meta: dict[str, Any] | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Pack ``.npy`` token arrays (in order) into Parquet shards under ``out_dir``, atomically.

    Writes into a temporary sibling folder and renames it to ``out_dir`` when complete, so a
    ``packed/`` folder is always whole. Returns the counts also written to ``meta.json``.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    schema = pa.schema([("input_ids", pa.list_(pa.int32()))])
    files: list[str] = []
    blocks: list[np.ndarray] = []  # rows not yet written, as 2-D blocks (views, no per-row copy)
    pending = 0  # rows in ``blocks``
    buffer = np.zeros(0, dtype=np.int32)
    counts = {"tokens": 0, "sequences": 0, "padded_tokens": 0, "dropped_tokens": 0}

    def flush() -> None:
        nonlocal pending
        if not pending:
            return
        block = np.concatenate(blocks) if len(blocks) > 1 else blocks[0]
        offsets = np.arange(0, block.size + 1, seq_len, dtype=np.int32)
        flat = np.ascontiguousarray(block).reshape(-1)
        arr = pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat))
        name = f"part-{len(files):05d}.parquet"
        pq.write_table(pa.Table.from_arrays([arr], schema=schema), tmp / name)
        files.append(name)
        blocks.clear()
        pending = 0

    def add_rows(rows: np.ndarray) -> None:
        """Queue ``rows`` (2-D); every file but the last gets exactly ``rows_per_file``."""
        nonlocal pending
        start = 0
        while start < len(rows):
            take = min(rows_per_file - pending, len(rows) - start)
            blocks.append(rows[start : start + take])
            pending += take
            start += take
            if pending >= rows_per_file:
                counts["sequences"] += pending
                flush()

    for path in token_files:
        ids = np.load(path)
        counts["tokens"] += int(ids.size)
        buffer = np.concatenate([buffer, ids]) if buffer.size else ids
        full = buffer.size // seq_len
        if full:
            add_rows(buffer[: full * seq_len].reshape(full, seq_len))
        buffer = buffer[full * seq_len :].copy()
        if progress is not None:
            progress(1)
    if buffer.size:
        row, padded, dropped = last_sequence(
            buffer, seq_len, eos_id, remainder, after_full=counts["sequences"] + pending > 0
        )
        if row is not None:
            add_rows(row.reshape(1, seq_len))
        counts["padded_tokens"], counts["dropped_tokens"] = int(padded), int(dropped)
    counts["sequences"] += pending
    flush()
    info = {
        **(meta or {}),
        "seq_len": seq_len,
        "eos_id": eos_id,
        "pad_id": eos_id,
        "remainder": remainder,
        **counts,
        "files": files,
        "column": "input_ids",
    }
    (tmp / "meta.json").write_text(json.dumps(info, ensure_ascii=False, indent=2) + "\n")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    os.replace(tmp, out_dir)
    return info
