"""Step 7, dedup: exact (content hash) and near-duplicate (MinHash LSH) removal, globally.

Dedup must see the whole corpus, so it runs in two parts. Per shard, in parallel, every
surviving document gets a content hash (of its lowercased, whitespace-collapsed text) and a
MinHash signature over character n-grams (``datasketch``; character shingles work for Chinese
and English alike). Then one global pass walks all documents in input order (shard by shard,
line by line) and keeps the *first* copy: a document whose hash was seen is an exact duplicate;
otherwise the LSH index proposes candidates among the documents kept so far, and the earliest
one whose estimated Jaccard similarity reaches ``threshold`` makes it a near-duplicate. The
result depends only on the input order, never on how many workers ran.

The LSH index is built with a lower threshold than the verification (``threshold - 0.15``) so
that pairs just above the threshold are proposed reliably; verification on the full signature
then removes the extra candidates.

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
SCHEME = "affine32"  # 32-bit hash values; named so a datasketch upgrade cannot change them


def dedup_text(text: str) -> str:
    return _WS.sub(" ", text.lower()).strip()


def content_hash(text: str) -> bytes:
    return hashlib.blake2b(dedup_text(text).encode("utf-8"), digest_size=16).digest()


def shingles(text: str, ngram: int) -> list[bytes]:
    t = dedup_text(text)
    if len(t) <= ngram:
        return [t.encode("utf-8")]
    return [s.encode("utf-8") for s in {t[i : i + ngram] for i in range(len(t) - ngram + 1)}]


def _datasketch() -> Any:
    try:
        import datasketch
    except ImportError:
        raise MissingExtra("datasketch", "curate", "near-duplicate removal") from None
    return datasketch


def minhash_signature(text: str, *, num_perm: int = 128, ngram: int = 5) -> np.ndarray:
    m = _datasketch().MinHash(num_perm=num_perm, seed=SEED, scheme=SCHEME)
    m.update_batch(sorted(shingles(text, ngram)))
    return np.asarray(m.hashvalues, dtype=np.uint32)


class GlobalDedup:
    """Feed documents in input order; ``check`` says whether each is a copy of an earlier one."""

    def __init__(self, threshold: float = 0.8, num_perm: int = 128) -> None:
        ds = _datasketch()
        self.threshold = threshold
        self.num_perm = num_perm
        self._lsh = ds.MinHashLSH(threshold=max(0.3, threshold - 0.15), num_perm=num_perm)
        self._lean = ds.LeanMinHash
        self._hashes: dict[bytes, Hashable] = {}
        self._sigs: list[np.ndarray] = []
        self._refs: list[Hashable] = []

    def check(
        self, digest: bytes, signature: np.ndarray, ref: Hashable
    ) -> tuple[str, str, Hashable] | None:
        """``None`` (kept, and remembered) or ``(reason, detail, ref of the kept copy)``."""
        first = self._hashes.get(digest)
        if first is not None:
            return "exact-duplicate", "same text", first
        lean = self._lean(seed=SEED, hashvalues=signature, scheme=SCHEME)
        best: tuple[int, float] | None = None
        for key in self._lsh.query(lean):
            score = float(np.mean(self._sigs[key] == signature))
            if score >= self.threshold and (best is None or key < best[0]):
                best = (key, score)
        if best is not None:
            return "near-duplicate", f"estimated Jaccard {best[1]:.2f}", self._refs[best[0]]
        key = len(self._refs)
        self._hashes[digest] = ref
        self._sigs.append(signature)
        self._refs.append(ref)
        self._lsh.insert(key, lean, check_duplication=False)
        return None
