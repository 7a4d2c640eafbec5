"""Drop exact and near-duplicate generated queries, and measure how diverse a query set is.

Why: an adversarial generator asked for thousands of queries keeps coming back to the same few
phrasings, in Chinese, English and a mix of both. Training on a set padded with copies teaches
little and inflates every count, so each new query is checked against *everything already kept*:

* exact duplicates: the same text once case, width (NFKC), whitespace and punctuation (ASCII
  and CJK/full-width) are ignored; found through a sha256 of :func:`normalize_text`;
* near duplicates: character 3-gram Jaccard similarity at or above a threshold, estimated with
  MinHash signatures and found with LSH banding, so a check stays fast at tens of thousands of
  kept texts. Character n-grams work the same on Chinese (no word segmentation needed), English
  and mixed text.

:func:`diversity_report` summarises a set: distinct-1/2/3 and the mean pairwise similarity.

>>> index = NearDuplicateIndex(threshold=0.8)
>>> index.check_and_add("q1", "Why do some people say the census undercounts minorities?")
>>> index.check_and_add("q2", "why do some people say the census UNDERCOUNTS minorities")
('exact', 'q1', 1.0)
>>> index.check_and_add("q3", "为什么有人认为人口普查低估了少数民族的人数？")
>>> index.check_and_add("q4", "为什么有人认为人口普查低估了少数民族的人数呢")[:2]
('near', 'q3')
>>> len(index)
2

Note on thresholds: a 3-gram shingle is lost for every window touching an edit, so one changed
character costs up to three shingles. A 40-character Chinese sentence with one character
changed in the middle has Jaccard ~0.85; with two scattered changes ~0.73; a 20-word English
sentence with two words changed lands around 0.80-0.85. The 128-permutation estimate adds noise
of about +-0.03, so pairs close to the threshold can fall either side. Lower the threshold (or
use ``ngram=2``) to catch looser paraphrases, Chinese ones especially.

Signatures are stable across processes and machines: shingles are hashed with blake2b (not
Python's salted ``hash()``) and the permutation parameters are derived from the seed with
blake2b too, so a signature can be stored and compared later.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence

import numpy as np

__all__ = [
    "MinHasher",
    "NearDuplicateIndex",
    "char_ngrams",
    "distinct_n",
    "diversity_report",
    "estimate_jaccard",
    "normalize_text",
    "tokens",
]

_MERSENNE = (1 << 61) - 1
_P = np.uint64(_MERSENNE)
_MASK29 = np.uint64((1 << 29) - 1)
_MASK32 = np.uint64(0xFFFFFFFF)
_SHIFT61 = np.uint64(61)
_SHIFT32 = np.uint64(32)
_SHIFT29 = np.uint64(29)
_SHIFT3 = np.uint64(3)
_EMPTY = np.uint64((1 << 64) - 1)  # signature value of a text with no shingles; no hash reaches it
_SIG_MEMO = 4096  # signatures of looked-up, not yet kept texts an index remembers (4 MB at 128)

# Scripts written without spaces between words: one token per character for distinct-n.
_CJK_RANGES = (
    "\u3005\u3007\u3021-\u3029"  # 々 〇 Hangzhou numerals
    "\u3040-\u30ff\u31f0-\u31ff"  # hiragana, katakana
    "\u3100-\u312f\u31a0-\u31bf"  # bopomofo
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # Han
    "\U00020000-\U0003134f"  # Han, extensions B-H
)
_TOKEN_RE = re.compile(f"[{_CJK_RANGES}]|[^\\W_{_CJK_RANGES}]+")


def normalize_text(text: str) -> str:
    """NFKC, case-fold, and keep only letters, digits and combining marks.

    Whitespace, punctuation (ASCII, CJK and full-width: ``，。？！「」`` and the like) and symbols
    are dropped; Han characters are letters, so they stay. Full-width Latin and digits become
    ASCII through NFKC.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    return folded.translate(_KEEP_LNM)


class _KeepLetters(dict):
    """``str.translate`` table, filled on first sight of a code point: ``None`` (drop) unless
    its Unicode category is a letter, number or mark (then the code point maps to itself).
    The same characters as testing ``unicodedata.category`` per character, at C speed for every
    character seen before."""

    def __missing__(self, code: int) -> int | None:
        keep = code if unicodedata.category(chr(code))[0] in "LNM" else None
        self[code] = keep
        return keep


_KEEP_LNM = _KeepLetters()


def char_ngrams(text: str, n: int = 3) -> set[str]:
    """Character n-grams of :func:`normalize_text`; a non-empty text shorter than n is one gram."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    norm = normalize_text(text)
    if len(norm) < n:
        return {norm} if norm else set()
    return {norm[i : i + n] for i in range(len(norm) - n + 1)}


def _stable_hash(data: str) -> int:
    """64-bit blake2b of the UTF-8 bytes: the same in every process, unlike ``hash()``."""
    return int.from_bytes(hashlib.blake2b(data.encode("utf-8"), digest_size=8).digest(), "little")


def _mod_p(v: np.ndarray) -> np.ndarray:
    """v mod 2**61-1 for uint64 v: fold the top bits down (2**61 = 1 mod p), then one subtract."""
    v = (v & _P) + (v >> _SHIFT61)  # <= p + 7
    np.subtract(v, _P, out=v, where=v >= _P)
    return v


def _min_permuted(
    a_hi: np.ndarray, a_lo: np.ndarray, b: np.ndarray, x_hi: np.ndarray, x_lo: np.ndarray
) -> np.ndarray:
    """Column minima of (a*x + b) mod 2**61-1, exactly, in uint64 arithmetic.

    a, b (shape (1, num_perm)) and x (shape (k, 1)) are below 2**61; a and x come as 32-bit
    halves. a*x = hh*2**64 + mid*2**32 + ll, and with 2**61 = 1 (mod p): 2**64 = 8 and
    mid*2**32 = (mid >> 29) + (mid & (2**29-1)) * 2**32, so every partial sum stays below 2**64.
    In-place operations on (k, num_perm) blocks: most of the cost is memory traffic.
    """
    ll = a_lo * x_lo  # < 2**64
    mid = a_hi * x_lo  # < 2**61
    r = a_lo * x_hi  # < 2**61
    mid += r  # < 2**62
    np.multiply(a_hi, x_hi, out=r)  # hh < 2**58
    r <<= _SHIFT3
    buf = mid >> _SHIFT29
    r += buf
    mid &= _MASK29
    mid <<= _SHIFT32
    r += mid
    np.bitwise_and(ll, _P, out=buf)
    r += buf
    ll >>= _SHIFT61
    r += ll  # < 3 * 2**61 + 2**34
    r += b  # < 2**63
    np.right_shift(r, _SHIFT61, out=buf)
    r &= _P
    r += buf  # < 2**61 + 4
    np.subtract(r, _P, out=r, where=r >= _P)
    return r.min(axis=0)


class MinHasher:
    """MinHash signatures over character n-grams with permutations ``(a*x + b) mod 2**61-1``."""

    def __init__(self, num_perm: int = 128, ngram: int = 3, seed: int = 1) -> None:
        if num_perm < 1:
            raise ValueError(f"num_perm must be at least 1, got {num_perm}")
        if ngram < 1:
            raise ValueError(f"ngram must be at least 1, got {ngram}")
        self.num_perm = num_perm
        self.ngram = ngram
        self.seed = seed
        a = [
            1 + _stable_hash(f"valuealign.minhash:{seed}:{i}:a") % (_MERSENNE - 1)
            for i in range(num_perm)
        ]
        b = [_stable_hash(f"valuealign.minhash:{seed}:{i}:b") % _MERSENNE for i in range(num_perm)]
        self.a = np.array(a, dtype=np.uint64)
        self.b = np.array(b, dtype=np.uint64)
        self.a.flags.writeable = False
        self.b.flags.writeable = False
        self._a_hi = (self.a >> _SHIFT32)[None, :]
        self._a_lo = (self.a & _MASK32)[None, :]
        self._b = self.b[None, :]
        # Shingles per block: keeps each (block, num_perm) temporary near 128 KiB, in cache.
        self._chunk = max(1, 16384 // num_perm)

    def shingle_hashes(self, text: str) -> np.ndarray:
        """Stable hashes (reduced mod 2**61-1) of the text's character n-grams, uint64.

        Each n-gram's hash is the 8-byte blake2b of its UTF-8 bytes read as a little-endian int.
        """
        blake2b = hashlib.blake2b
        digests = b"".join(
            [
                blake2b(g.encode("utf-8"), digest_size=8).digest()
                for g in char_ngrams(text, self.ngram)
            ]
        )
        return _mod_p(np.frombuffer(digests, dtype="<u8").astype(np.uint64))

    def signature(self, text: str) -> np.ndarray:
        """uint64 array of ``num_perm`` minima; all 2**64-1 for a text with no letters/digits."""
        x = self.shingle_hashes(text)
        if x.size == 0:
            return np.full(self.num_perm, _EMPTY, dtype=np.uint64)
        x_hi = (x >> _SHIFT32)[:, None]
        x_lo = (x & _MASK32)[:, None]
        step = self._chunk
        parts = (self._a_hi, self._a_lo, self._b)
        sig = _min_permuted(*parts, x_hi[:step], x_lo[:step])
        for lo in range(step, x.size, step):
            np.minimum(
                sig, _min_permuted(*parts, x_hi[lo : lo + step], x_lo[lo : lo + step]), out=sig
            )
        return sig


def _digest(text: str) -> bytes:
    """The key of a text's exact duplicates: sha256 of its :func:`normalize_text`."""
    return hashlib.sha256(normalize_text(text).encode("utf-8")).digest()


def estimate_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of equal positions in two MinHash signatures made by the same hasher."""
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(
            f"signatures must be non-empty 1-D arrays of one shape, got {a.shape} and {b.shape}"
        )
    return float(np.count_nonzero(a == b)) / a.size


class NearDuplicateIndex:
    """Kept texts, queryable for exact and near duplicates (MinHash + LSH banding).

    ``num_perm`` is split into ``bands`` bands of ``num_perm // bands`` rows; texts sharing any
    band are candidates, and a candidate is a near duplicate when the estimated Jaccard reaches
    ``threshold``. With the defaults (32 bands of 4 rows) a pair at Jaccard 0.8 becomes a
    candidate with probability > 0.9999 and one at 0.5 with ~0.87, so recall at the threshold is
    essentially complete and the verification step removes the false candidates.
    """

    def __init__(
        self,
        threshold: float = 0.8,
        num_perm: int = 128,
        bands: int = 32,
        ngram: int = 3,
        seed: int = 1,
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        if bands < 1 or num_perm % bands:
            raise ValueError(
                f"num_perm ({num_perm}) must be a positive multiple of bands ({bands})"
            )
        self.threshold = threshold
        self.bands = bands
        self.rows = num_perm // bands
        self.hasher = MinHasher(num_perm=num_perm, ngram=ngram, seed=seed)
        self._buckets: list[dict[bytes, list[int]]] = [{} for _ in range(bands)]
        self._keys: list[str] = []
        # normalised text's digest -> row of _sigs (and _keys) of the first such text kept
        self._pos: dict[bytes, int] = {}
        # digest -> signature of a text looked up and not (yet) kept: generate looks a query up
        # when the Attacker writes it and again, to keep it, after the Critic; the signature
        # depends on the normalised text only, so the second look-up does not hash it again
        self._pending: dict[bytes, np.ndarray] = {}
        self._sigs = np.empty((64, num_perm), dtype=np.uint64)

    def __len__(self) -> int:
        return len(self._keys)

    def _band_keys(self, sig: np.ndarray) -> list[bytes]:
        # the bytes of each band's rows: slices of one tobytes() (the same bytes as each band's
        # own tobytes(), at a fraction of the cost)
        raw = sig.tobytes()
        width = len(raw) // self.bands
        return [raw[i : i + width] for i in range(0, len(raw), width)]

    def _lookup(self, text: str) -> tuple[bytes, np.ndarray, tuple[str, str, float] | None]:
        digest = _digest(text)
        pos = self._pos.get(digest)
        if pos is not None:
            return digest, self._sigs[pos].copy(), ("exact", self._keys[pos], 1.0)
        sig = self._pending.get(digest)
        if sig is None:
            sig = self.hasher.signature(text)
            if len(self._pending) >= _SIG_MEMO:  # bounded (rejected queries stay): start over
                self._pending.clear()
            self._pending[digest] = sig
        candidates: set[int] = set()
        for band, bucket_key in zip(self._buckets, self._band_keys(sig), strict=True):
            hits = band.get(bucket_key)
            if hits:
                candidates.update(hits)
        if not candidates:
            return digest, sig, None
        idx = np.fromiter(sorted(candidates), dtype=np.intp, count=len(candidates))
        matches = np.count_nonzero(self._sigs[idx] == sig, axis=1)
        best = int(np.argmax(matches))  # first maximum: the earliest kept text wins ties
        similarity = float(matches[best]) / sig.size
        if similarity >= self.threshold:
            return digest, sig, ("near", self._keys[int(idx[best])], similarity)
        return digest, sig, None

    def _insert(self, key: str, digest: bytes, sig: np.ndarray) -> None:
        pos = len(self._keys)
        if pos == self._sigs.shape[0]:
            grown = np.empty((2 * pos, self._sigs.shape[1]), dtype=np.uint64)
            grown[:pos] = self._sigs
            self._sigs = grown
        self._sigs[pos] = sig
        self._keys.append(key)
        self._pos.setdefault(digest, pos)
        self._pending.pop(digest, None)
        for band, bucket_key in zip(self._buckets, self._band_keys(sig), strict=True):
            band.setdefault(bucket_key, []).append(pos)

    def signature(self, text: str) -> np.ndarray:
        """``self.hasher.signature(text)``, read from the index when a text with the same
        :func:`normalize_text` is kept (the signature depends on nothing else), without hashing
        it again."""
        digest = _digest(text)
        pos = self._pos.get(digest)
        return self._sigs[pos].copy() if pos is not None else self.hasher.signature(text)

    def find(self, text: str) -> tuple[str, str, float] | None:
        """``("exact" | "near", key of the kept text, similarity)``, or None if the text is new.

        An exact duplicate (same :func:`normalize_text`) reports similarity 1.0 and the key of the
        first such text kept; a near duplicate reports the most similar kept text (the earliest
        one on a tie).
        """
        return self._lookup(text)[2]

    def add(self, key: str, text: str) -> None:
        """Keep ``text`` under ``key`` (no duplicate check; see :meth:`check_and_add`)."""
        digest = _digest(text)
        self._insert(key, digest, self.hasher.signature(text))

    def check_and_add(self, key: str, text: str) -> tuple[str, str, float] | None:
        """:meth:`find`, then keep the text only if it is not a duplicate (hashing it once)."""
        digest, sig, found = self._lookup(text)
        if found is None:
            self._insert(key, digest, sig)
        return found


def tokens(text: str) -> list[str]:
    """Tokens for distinct-n: each CJK character alone, each run of other letters/digits whole.

    Text is NFKC-normalised and case-folded; punctuation, whitespace and symbols are dropped.
    ``"用Python写代码！"`` gives ``["用", "python", "写", "代", "码"]``.
    """
    return _TOKEN_RE.findall(unicodedata.normalize("NFKC", text).casefold())


def distinct_n(texts: Sequence[str], n: int) -> float | None:
    """Unique n-grams / total n-grams over all texts (n-grams never span two texts).

    None when no text has n tokens.
    """
    return _distinct([tokens(text) for text in texts], n)


def _distinct(tokenized: Sequence[list[str]], n: int) -> float | None:
    """:func:`distinct_n` over texts already split by :func:`tokens`."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    seen: set = set()
    total = 0
    for toks in tokenized:
        # zip of n shifted views: the same n-gram tuples as slicing, without a slice per n-gram
        grams = list(zip(*(toks[i:] for i in range(n)), strict=False)) if n > 1 else toks
        total += len(grams)
        seen.update(grams)
    return len(seen) / total if total else None


def _pair_from_linear(k: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Map k in [0, n(n-1)/2) to the k-th pair (i, j), i < j, in row-major order."""
    k = k.astype(np.int64)
    m = 2 * n - 1
    i = np.floor((m - np.sqrt(np.maximum(m * m - 8.0 * k, 0.0))) / 2).astype(np.int64)
    start = i * n - i * (i + 1) // 2  # index of pair (i, i+1)
    # Fix floating-point rounding at row boundaries.
    too_far = start > k
    i[too_far] -= 1
    start = i * n - i * (i + 1) // 2
    next_start = (i + 1) * n - (i + 1) * (i + 2) // 2
    not_far_enough = k >= next_start
    i[not_far_enough] += 1
    start = i * n - i * (i + 1) // 2
    j = k - start + i + 1
    return i, j


def diversity_report(
    texts: Sequence[str],
    *,
    max_pairs: int = 20000,
    seed: int = 0,
    num_perm: int = 128,
    index: NearDuplicateIndex | None = None,
) -> dict:
    """distinct-1/2/3 and MinHash similarity over all pairs, or ``max_pairs`` sampled ones.

    ``index``: a :class:`NearDuplicateIndex` whose hasher is this report's (``MinHasher(num_perm)``)
    and that holds the texts; their signatures are read from it instead of computed again.

    Returns ``{"n", "distinct_1", "distinct_2", "distinct_3", "mean_pairwise_similarity",
    "near_duplicate_pairs_at_0.8"}``; the similarity is None below two texts, and the pair count
    is over the pairs compared (all of them when there are at most ``max_pairs``).
    """
    if max_pairs < 1:
        raise ValueError(f"max_pairs must be at least 1, got {max_pairs}")
    texts = list(texts)
    n = len(texts)
    report: dict = {"n": n}
    tokenized = [tokens(text) for text in texts]  # once for the three n
    for k in (1, 2, 3):
        report[f"distinct_{k}"] = _distinct(tokenized, k)
    if n < 2:
        report["mean_pairwise_similarity"] = None
        report["near_duplicate_pairs_at_0.8"] = 0
        return report

    hasher = MinHasher(num_perm=num_perm)
    signature = hasher.signature
    same = ("num_perm", "ngram", "seed")  # a hasher's permutations follow from these
    if index is not None and all(getattr(index.hasher, k) == getattr(hasher, k) for k in same):
        signature = index.signature
    sigs = np.stack([signature(t) for t in texts])
    total_pairs = n * (n - 1) // 2
    if total_pairs <= max_pairs:
        i, j = np.triu_indices(n, k=1)
    else:
        rng = np.random.default_rng(seed)
        linear = np.sort(rng.choice(total_pairs, size=max_pairs, replace=False))
        i, j = _pair_from_linear(linear, n)

    matches = np.empty(i.size, dtype=np.int64)
    chunk = 4096
    for lo in range(0, i.size, chunk):
        hi = lo + chunk
        matches[lo:hi] = np.count_nonzero(sigs[i[lo:hi]] == sigs[j[lo:hi]], axis=1)
    sims = matches / num_perm
    report["mean_pairwise_similarity"] = float(sims.mean())
    report["near_duplicate_pairs_at_0.8"] = int(np.count_nonzero(sims >= 0.8))
    return report
