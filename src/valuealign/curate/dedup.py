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
Memory of the global pass, per kept document: the signature (4 bytes per permutation), one
64-bit key per band in a dictionary and the content hash — about 2.3 KB, so roughly 2.3 GB per
million kept documents (measured: ``benchmarks/curate_throughput.py --dedup-memory``).

>>> sig = minhash_signature("the same text", num_perm=128, ngram=5)
>>> dd = GlobalDedup(threshold=0.8, num_perm=128)
>>> dd.check(content_hash("the same text"), sig, "doc-1") is None   # first copy is kept
True
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Hashable
from typing import Any

import numpy as np

from valuealign.errors import MissingExtra

_WS = re.compile(r"\s+")
SEED = 1
# the shingle hash and the MinHash implementation; a change to either changes every signature
SCHEME = "poly64-rensa-rminhash"
_POLY = np.uint64(0x100000001B3)  # multiplier of the n-gram polynomial (odd, 64-bit)


def dedup_text(text: str) -> str:
    return _WS.sub(" ", text.lower()).strip()


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
    return digests, _signatures([_shingle_hashes(n, ngram) for n in norms], num_perm)


def _bands(num_perm: int) -> tuple[int, int]:
    """(bands, rows per band): 16 x 8 for 128 permutations, as datasketch's MinHashLSH picks
    for a 0.65 threshold; other sizes keep 8 rows per band."""
    rows = 8 if num_perm >= 16 else max(1, num_perm // 2)
    return num_perm // rows, rows


_BLOCK = 1 << 16  # signatures are kept in blocks of this many rows


class GlobalDedup:
    """Feed documents in input order; ``check`` says whether each is a copy of an earlier one."""

    def __init__(self, threshold: float = 0.8, num_perm: int = 128) -> None:
        self.threshold = threshold
        self.num_perm = num_perm
        self.bands, self.rows = _bands(num_perm)
        rng = np.random.default_rng(SEED)
        # band key: a random linear form of the band's values plus the band number; equal bands
        # give equal keys, and a collision only adds a candidate that verification removes
        self._mult = rng.integers(1, 1 << 63, size=self.rows, dtype=np.uint64) | np.uint64(1)
        self._band_no = rng.integers(0, 1 << 63, size=self.bands, dtype=np.uint64)
        self._hashes: dict[bytes, Hashable] = {}
        self._buckets: dict[int, int | list[int]] = {}  # band key -> kept document(s)
        self._blocks: list[np.ndarray] = []
        self._refs: list[Hashable] = []

    def _band_keys(self, signature: np.ndarray) -> list[int]:
        used = signature[: self.bands * self.rows].astype(np.uint64).reshape(self.bands, -1)
        with np.errstate(over="ignore"):
            keys = (used * self._mult).sum(axis=1, dtype=np.uint64) + self._band_no
        return keys.tolist()

    def _signature(self, key: int) -> np.ndarray:
        return self._blocks[key // _BLOCK][key % _BLOCK]

    def check(
        self, digest: bytes, signature: np.ndarray, ref: Hashable
    ) -> tuple[str, str, Hashable] | None:
        """``None`` (kept, and remembered) or ``(reason, detail, ref of the kept copy)``."""
        first = self._hashes.get(digest)
        if first is not None:
            return "exact-duplicate", "same text", first
        keys = self._band_keys(signature)
        candidates: set[int] = set()
        for k in keys:
            hit = self._buckets.get(k)
            if hit is None:
                continue
            if isinstance(hit, int):
                candidates.add(hit)
            else:
                candidates.update(hit)
        for key in sorted(candidates):  # the earliest kept document that is similar enough
            score = float(np.mean(self._signature(key) == signature))
            if score >= self.threshold:
                return "near-duplicate", f"estimated Jaccard {score:.2f}", self._refs[key]
        key = len(self._refs)
        if key % _BLOCK == 0:
            self._blocks.append(np.empty((_BLOCK, self.num_perm), dtype=np.uint32))
        self._blocks[-1][key % _BLOCK] = signature
        self._hashes[digest] = ref
        self._refs.append(ref)
        for k in keys:
            hit = self._buckets.get(k)
            if hit is None:
                self._buckets[k] = key
            elif isinstance(hit, int):
                self._buckets[k] = [hit, key]
            else:
                hit.append(key)
        return None
