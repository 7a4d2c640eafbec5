"""Step 7, dedup: exact (content hash) and near-duplicate (MinHash LSH) removal, globally.

Dedup must see the whole corpus, so it runs in two parts. Per shard, in parallel, every
surviving document gets a content hash (of its lowercased, whitespace-collapsed text) and a
MinHash signature over character n-grams (character shingles work for Chinese and English
alike). Then one global pass walks all documents in input order (shard by shard, line by line)
and keeps the *first* copy: a document whose hash was seen is an exact duplicate; otherwise the
LSH index proposes candidates among the documents kept so far, and the earliest one whose
estimated Jaccard similarity reaches ``threshold`` makes it a near-duplicate. The result depends
only on the input order, never on how many workers ran.

Signatures: each character n-gram of the normalised text becomes one 64-bit value (a polynomial
of its code points, computed for all n-grams of a document at once with numpy), and ``rensa``
(MinHash in Rust) turns a document's set of values into ``num_perm`` 32-bit minima. A text no
longer than ``n`` characters is one shingle. The scheme is named by :data:`SCHEME` (it is part
of a run's fingerprint, so a resumed run never mixes signatures of two schemes).

The LSH index cuts a signature into 16 bands of 8 values for 128 permutations (the banding
that an index built for ``threshold - 0.15`` uses, so pairs just above the threshold are
proposed reliably); verification on the full signature then removes the extra candidates.

Memory of the global pass: the band index keeps the newest keys in a dict and moves them into
sorted numpy runs (12 bytes per band per kept document), and with ``spill`` (as ``run_curate``
uses it) kept signatures go to memory-mapped files block by block, so RAM holds one block of
signatures, not all of them. Measured: about 460 bytes of RAM per kept document, 0.43 GiB per
million (``benchmarks/curate_throughput.py``, ``dedup_memory``); the signature files take
``4 x num_perm`` bytes per kept document on disk (0.5 GB per million).

>>> sig = minhash_signature("the same text", num_perm=128, ngram=5)
>>> dd = GlobalDedup(threshold=0.8, num_perm=128)
>>> dd.check(content_hash("the same text"), sig, "doc-1") is None   # first copy is kept
True
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import numpy as np

from valuealign.errors import MissingExtra

_WS = re.compile(r"\s+")
SEED = 1
# the shingle hash and the MinHash implementation; a change to either changes every signature
SCHEME = "poly64-rensa-rminhash"
_POLY = np.uint64(0x100000001B3)  # multiplier of the n-gram polynomial (odd, 64-bit)


_ODD_WS = re.compile(r"[^\S \n]")  # white space other than " " and "\n"
_ASCII_ODD_WS = "\t\r\x0b\x0c\x1c\x1d\x1e\x1f"  # the same among ASCII characters


def dedup_text(text: str) -> str:
    """Lowercased, white-space runs as one space, stripped: what ``_WS.sub(" ", ...).strip()``
    gives, since ``str.split()`` and the pattern agree on what is white space.

    Normalised text (single spaces, stripped lines, at most one blank line) takes a shortcut:
    where its only white space is " " and "\n", and turning each "\n\n" and then each "\n"
    into a space leaves no two spaces together and none at either end, every white-space run
    was one of " ", "\n", "\n\n" and is now one space, which is what the split and join give
    (checked; anything else takes the split and join)."""
    low = text.lower()
    flat = low.replace("\n\n", "\n").replace("\n", " ")
    if (
        "  " not in flat
        and not flat.startswith(" ")
        and not flat.endswith(" ")
        and (
            not any(c in low for c in _ASCII_ODD_WS)
            if low.isascii()
            else _ODD_WS.search(low) is None
        )
    ):
        return flat
    return " ".join(low.split())


def content_hash(text: str) -> bytes:
    return _digest(dedup_text(text))


def _digest(norm: str) -> bytes:
    return hashlib.blake2b(norm.encode("utf-8"), digest_size=16).digest()


def shingle_hashes(text: str, ngram: int) -> np.ndarray:
    """One uint64 per character n-gram of the normalised text (repeats included)."""
    return _shingle_hashes(dedup_text(text), ngram)


def _shingle_hashes(norm: str, ngram: int) -> np.ndarray:
    cps = np.frombuffer(norm.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    with np.errstate(over="ignore"):
        if len(cps) <= ngram:  # the whole (short) text is one shingle; its length keeps
            h = np.array([len(cps)], dtype=np.uint64)  # "" and "\0" apart
            for c in cps:
                h = h * _POLY + c
            return h
        m = len(cps) - ngram + 1
        h = cps[:m].copy()
        for k in range(1, ngram):
            h *= _POLY
            h += cps[k : k + m]
    return h


def _rensa() -> Any:
    try:
        import rensa
    except ImportError:
        raise MissingExtra("rensa", "curate", "near-duplicate removal") from None
    return rensa


def _signatures(hashes: list[np.ndarray], num_perm: int) -> np.ndarray:
    offsets = np.zeros(len(hashes) + 1, dtype=np.uint64)
    np.cumsum([len(h) for h in hashes], out=offsets[1:])
    flat = np.concatenate(hashes) if hashes else np.zeros(0, dtype=np.uint64)
    matrix = _rensa().RMinHash.digest_matrix_from_flat_token_hashes(flat, offsets, num_perm, SEED)
    return np.asarray(matrix.to_rows(), dtype=np.uint32).reshape(len(hashes), num_perm)


def minhash_signature(text: str, *, num_perm: int = 128, ngram: int = 5) -> np.ndarray:
    return _signatures([shingle_hashes(text, ngram)], num_perm)[0]


def sign_documents(
    texts: list[str], *, num_perm: int = 128, ngram: int = 5
) -> tuple[list[bytes], np.ndarray]:
    """Content hashes and MinHash signatures (``len(texts) x num_perm``) of many documents;
    the same values as :func:`content_hash` and :func:`minhash_signature` one by one."""
    norms = [dedup_text(t) for t in texts]
    digests = [_digest(n) for n in norms]
    if not norms:
        return digests, np.zeros((0, num_perm), dtype=np.uint32)
    return digests, _signatures(_shingle_hashes_many(norms, ngram), num_perm)


def _shingle_hashes_many(norms: list[str], ngram: int) -> list[np.ndarray]:
    """:func:`_shingle_hashes` of each text, from one pass over all of them joined: an n-gram
    hash depends only on its own characters, so a text's hashes are the joined text's at the
    positions whose n-gram lies inside it (texts no longer than ``ngram`` take the one-shingle
    rule, one by one)."""
    out: list[np.ndarray] = []
    group: list[str] = []
    chars = 0
    for norm in norms:
        group.append(norm)
        chars += len(norm)
        if chars >= _JOIN_CHARS:
            out += _shingle_group(group, ngram)
            group, chars = [], 0
    return out + _shingle_group(group, ngram) if group else out


_JOIN_CHARS = 1 << 18  # characters joined per pass (the arrays stay in cache-sized pieces)


def _shingle_group(norms: list[str], ngram: int) -> list[np.ndarray]:
    lens = [len(n) for n in norms]
    if max(lens) <= ngram:
        return [_shingle_hashes(n, ngram) for n in norms]
    joined = _shingle_hashes("".join(norms), ngram)  # position p: the n-gram starting at p
    out: list[np.ndarray] = []
    start = 0
    for norm, size in zip(norms, lens, strict=True):
        if size <= ngram:
            out.append(_shingle_hashes(norm, ngram))
        else:
            out.append(joined[start : start + size - ngram + 1])
        start += size
    return out


def _bands(num_perm: int) -> tuple[int, int]:
    """(bands, rows per band): 16 x 8 for 128 permutations, as datasketch's MinHashLSH picks
    for a 0.65 threshold; other sizes keep 8 rows per band."""
    rows = 8 if num_perm >= 16 else max(1, num_perm // 2)
    return num_perm // rows, rows


_BLOCK = 1 << 16  # signatures are kept in blocks of this many rows
_MEMTABLE_KEYS = 1 << 19  # band keys held in a dict (~50 MB) before a sorted run takes them


class _BandIndex:
    """Band key -> kept documents, as a log-structured index: the newest documents' keys in a
    dict, older ones in sorted numpy runs (8-byte key + 4-byte document number per band, about
    200 bytes per document for 16 bands instead of ~1.6 KB of Python objects). Runs of equal
    size are merged, so a lookup searches O(log n) runs."""

    def __init__(self) -> None:
        self._recent: dict[int, int | list[int]] = {}
        self._flat_keys: list[int] = []
        self._flat_docs: list[int] = []
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []  # (sorted keys, documents)

    def lookup(self, keys: list[int], array: np.ndarray, out: set[int]) -> None:
        recent = self._recent
        for k in keys:
            hit = recent.get(k)
            if hit is None:
                continue
            if isinstance(hit, int):
                out.add(hit)
            else:
                out.update(hit)
        for run_keys, run_docs in self._runs:
            lo = np.searchsorted(run_keys, array)
            found = run_keys.take(lo, mode="clip") == array
            if found.any():
                hits = array[found]
                hi = np.searchsorted(run_keys, hits, "right")
                for a, b in zip(lo[found].tolist(), hi.tolist(), strict=True):
                    out.update(run_docs[a:b].tolist())

    def add(self, keys: list[int], doc: int) -> None:
        recent = self._recent
        for k in keys:
            hit = recent.get(k)
            if hit is None:
                recent[k] = doc
            elif isinstance(hit, int):
                recent[k] = [hit, doc]
            else:
                hit.append(doc)
        self._flat_keys += keys
        self._flat_docs += [doc] * len(keys)
        if len(self._flat_docs) >= _MEMTABLE_KEYS:
            self._flush()

    def _flush(self) -> None:
        keys = np.array(self._flat_keys, dtype=np.uint64)
        docs = np.array(self._flat_docs, dtype=np.int32)
        self._recent.clear()
        self._flat_keys.clear()
        self._flat_docs.clear()
        order = np.argsort(keys, kind="stable")
        run = (keys[order], docs[order])
        while self._runs and len(self._runs[-1][0]) <= len(run[0]):
            old_keys, old_docs = self._runs.pop()
            merged_keys = np.concatenate([old_keys, run[0]])
            merged_docs = np.concatenate([old_docs, run[1]])
            order = np.argsort(merged_keys, kind="stable")
            run = (merged_keys[order], merged_docs[order])
        self._runs.append(run)


class _Signatures:
    """Kept documents' signatures by number: in RAM, or (with ``spill``) full blocks written to
    ``.npy`` files and read back memory-mapped, so only the newest block is held in RAM and the
    operating system pages the rest in for the rare verification that needs it."""

    def __init__(self, num_perm: int, spill: Path | None) -> None:
        self.num_perm = num_perm
        self.spill = spill
        self._blocks: list[np.ndarray] = []
        self.n = 0
        if spill is not None:
            spill.mkdir(parents=True, exist_ok=True)

    def __getitem__(self, key: int) -> np.ndarray:
        return self._blocks[key // _BLOCK][key % _BLOCK]

    def append(self, signature: np.ndarray) -> None:
        if self.n % _BLOCK == 0:
            if self.spill is not None and self._blocks:
                path = self.spill / f"sig-{len(self._blocks) - 1:06d}.npy"
                np.save(path, self._blocks[-1])
                self._blocks[-1] = np.load(path, mmap_mode="r")
            self._blocks.append(np.empty((_BLOCK, self.num_perm), dtype=np.uint32))
        self._blocks[-1][self.n % _BLOCK] = signature
        self.n += 1


class GlobalDedup:
    """Feed documents in input order; ``check`` says whether each is a copy of an earlier one.

    ``spill``: a folder for the kept documents' signatures (see :class:`_Signatures`); without
    it they stay in RAM.
    """

    def __init__(
        self, threshold: float = 0.8, num_perm: int = 128, *, spill: str | Path | None = None
    ) -> None:
        self.threshold = threshold
        self.num_perm = num_perm
        self.bands, self.rows = _bands(num_perm)
        rng = np.random.default_rng(SEED)
        # band key: a random linear form of the band's values plus the band number; equal bands
        # give equal keys, and a collision only adds a candidate that verification removes
        self._mult = rng.integers(1, 1 << 63, size=self.rows, dtype=np.uint64) | np.uint64(1)
        self._band_no = rng.integers(0, 1 << 63, size=self.bands, dtype=np.uint64)
        self._hashes: dict[bytes, Hashable] = {}
        self._index = _BandIndex()
        self._sigs = _Signatures(num_perm, Path(spill) if spill is not None else None)
        self._refs: list[Hashable] = []

    def band_keys(self, signatures: np.ndarray) -> np.ndarray:
        """The band keys of many signatures at once (``len(signatures) x bands``): the same
        numbers :meth:`check` computes for each one alone."""
        sigs = np.asarray(signatures).reshape(-1, self.num_perm)
        used = sigs[:, : self.bands * self.rows].astype(np.uint64)
        used = used.reshape(len(sigs), self.bands, self.rows)
        with np.errstate(over="ignore"):
            return (used * self._mult).sum(axis=2, dtype=np.uint64) + self._band_no

    def check(
        self,
        digest: bytes,
        signature: np.ndarray,
        ref: Hashable,
        band_keys: np.ndarray | None = None,
    ) -> tuple[str, str, Hashable] | None:
        """``None`` (kept, and remembered) or ``(reason, detail, ref of the kept copy)``;
        ``band_keys``: the signature's row of :meth:`band_keys`, when computed in bulk."""
        first = self._hashes.get(digest)
        if first is not None:
            return "exact-duplicate", "same text", first
        array = self.band_keys(signature)[0] if band_keys is None else band_keys
        keys = array.tolist()
        candidates: set[int] = set()
        self._index.lookup(keys, array, candidates)
        for key in sorted(candidates):  # the earliest kept document that is similar enough
            # the share of equal values (what np.mean of the comparison gives, without its overhead)
            score = np.count_nonzero(self._sigs[key] == signature) / self.num_perm
            if score >= self.threshold:
                return "near-duplicate", f"estimated Jaccard {score:.2f}", self._refs[key]
        key = len(self._refs)
        self._sigs.append(signature)
        self._hashes[digest] = ref
        self._refs.append(ref)
        self._index.add(keys, key)
        return None
