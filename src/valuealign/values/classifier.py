"""A trained value classifier: sentence embeddings + character n-grams -> per-value heads.

**Features** (one row per text, concatenated):

* all-MiniLM-L6-v2 sentence embedding (384 dims, L2-normalised) for English texts; **zeros for
  Chinese texts**, because MiniLM's vocabulary maps most Chinese characters to [UNK]; or, with
  ``embedding`` set to an embedded model, that model's multilingual vectors for every text
  (:mod:`valuealign.values.embed`; one or several hidden layers, concatenated), optionally
  standardised per dimension with the training texts' mean and standard deviation (divided by
  the square root of the width, so the block's scale does not grow with it). Mean-pooled
  decoder states share a large common direction; standardising lets the L2-regularised heads
  use the small differences that carry the values (out of fold on the training data, Qwen
  layers 12 + 24: macro-F1 0.45 en / 0.41 zh standardised against 0.34 / 0.34 raw);
* character 1-3-gram TF-IDF within word boundaries (each whitespace-separated word padded with
  spaces; a Chinese run counts as one word), sublinear tf, smoothed idf, L2-normalised,
  vocabulary = n-grams in at least 2 training texts (at most ``max_features``). This part
  serves both languages;
* the keyword lexicon's (promote, oppose) hit counts per value, capped at 2 and scaled by
  ``keyword_weight`` (prior knowledge that helps with a few hundred examples);
* a 0/1 "Chinese" indicator.

**Heads.** Two L2-regularised logistic regressions per value, promote-vs-rest and
oppose-vs-rest, with balanced class weights, fitted with scipy's L-BFGS (no scikit-learn
needed, at training or at inference).

**Thresholds.** Each head's decision threshold is calibrated for precision on out-of-fold
probabilities (``folds``-fold cross-validation on the training data, folds by a hash of the item
id): the *lowest* threshold at which at least 3 texts are predicted and precision reaches
``precision_target`` (default 0.8). When no threshold reaches it, the head falls back to the
threshold with the best out-of-fold F0.5 (precision weighted over recall) unless its
precision there is below ``min_precision`` (default 0.3), in which case the head never fires; a
head without any positive training example never fires either. Each head's rule, threshold
and out-of-fold precision and recall are stored with the model (``heads``).

**Platt** (``calibration="platt"``, used by ``classifier:multilingual``). Per-head thresholds
chosen on 5-20 positive examples each overfit the folds: with them, the out-of-fold precision of
0.65-0.76 fell to 0.50-0.54 on the held-out split. Instead, each head's probability p is mapped
to q = sigmoid(a log(p / (1 - p)) + b), with (a, b) fitted on its out-of-fold probabilities
(logistic loss, a small L2 pull towards a = 1, b = 0), and **one** threshold t applies to every
q: the lowest t from which the out-of-fold micro precision (direction-correct labels over labels
given, conflicts resolved as below) stays at or above ``precision_target`` in each language (at
points with at least 20 labels given there); one parameter chosen on ~20 times more labels than
a head's threshold. Checked on the training data alone (rules fitted on a random half of the
out-of-fold rows, scored on the other half, 10 draws): per-head thresholds reached precision
0.58-0.63, the global Platt threshold 0.78-0.83.
:attr:`ClassifierDetector.oof` then holds the q's. With ``precision_bound="wilson"`` what must
stay at or above the target is the lower end of the Wilson 95% interval of that precision
(:func:`wilson_lower`), not the precision itself: the threshold then asks for more where few
labels are given.

**Output.** For each value, the promote head fires when p+ >= t+, the oppose head when
p- >= t-; the entry is +p+ or -p- (the head further above its threshold wins when both fire),
else 0. :meth:`ClassifierDetector.probabilities` gives the raw head probabilities.

**Storage.** A folder with ``model.json`` (settings, vocabulary, idf, thresholds, training
report) and ``weights.npz`` (float arrays only; loaded with ``allow_pickle=False``).

**No shipped model.** Training on the shipped set takes a few seconds on two CPU cores, and the
labelled set changes with the project, so ``get_detector("classifier")`` trains on the shipped
set's *train* split on first use and caches the result under
``$VALUEALIGN_CACHE/value-classifier/`` (default ``~/.cache/valuealign``), keyed by a hash of
the data and the settings; later calls load it. ``classifier:DIR`` loads a saved model.

>>> det = get_detector("classifier")
>>> det.detect_many(["We should keep the customs our grandparents taught us."])
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import os
import shutil
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from valuealign.errors import UserError
from valuealign.values.base import normalise_languages
from valuealign.values.detector import LexiconDetector
from valuealign.values.labelled import LabelledSet, load_labelled, training_set
from valuealign.values.similarity import normalise_text
from valuealign.values.taxonomy import SCHWARTZ10, Taxonomy, get_taxonomy

__all__ = [
    "FORMAT_VERSION",
    "ClassifierDetector",
    "ClassifierSettings",
    "HeadReport",
    "best_f1_threshold",
    "load_classifier",
    "multilingual_settings",
    "prompted_large_settings",
    "prompted_settings",
    "train_classifier",
    "wilson_lower",
]

FORMAT_VERSION = "value-classifier-v1"
EMBEDDING_MODEL = "all-MiniLM-L6-v2"
EMBEDDING_DIM = 384
MIN_PREDICTED = 3
MULTILINGUAL = "multilingual"
"""``classifier:multilingual``: Qwen vectors for both languages, trained on train + extra."""
PROMPTED = "prompted"
"""``classifier:prompted``: the same heads on Qwen vectors of each text read inside a question
about values (:func:`valuealign.values.embed.embed_prompted`)."""
PROMPTED_LARGE = "prompted-1.5b"
"""``classifier:prompted-1.5b``: ``classifier:prompted`` on Qwen2.5 1.5B's prompted vectors
(:data:`PROMPTED_LARGE_LAYERS`), about twice to three times the 0.5B's cost per text."""
PROMPTED_LARGE_EMBEDDING = "qwen2.5-1.5b-instruct"
PROMPTED_LARGE_LAYERS = (18, 24)
"""Layers 18 and 24 of the 1.5B's 28 (the prompted pass stores 6, 9, ..., 24), text-mean and
last token. Session 25, training data only: the vectors-only screen on 400 training texts
(``benchmarks/prompted_15b_screen.py``) gave the weaker language's out-of-fold macro-F1 0.547
at 18 + 24, 0.546 at 15 + 21, 0.535 at 12 + 18 + 24, against 0.394 for the 0.5B's chosen
vectors on the same texts; the full detector on the 1,666 training texts, out of fold: 0.763
en / 0.762 zh at the balanced point (0.5B: 0.619 / 0.646); trained without one training file
and scored on it (``benchmarks/hp_rule_selection.py --split source``): 0.737 / 0.713 (0.5B:
0.572 / 0.586), precision 0.85-0.93 at the 0.9-out-of-fold threshold (recall 0.51 / 0.52)."""
PROMPTED_LAYERS = (15, 21)
PROMPTED_POOLING = "mean+last"
"""Layers 15 and 21, each as the mean over the text's own tokens and the prompt's last token
(four blocks, standardised, weight 2, C 3 as ``classifier:multilingual``). Chosen on the
training data alone (``benchmarks/prompted_selection.py``, vectors only, 5 folds): weaker
language's out-of-fold macro-F1 0.571, against 0.501 for the plain vectors at 12 + 24, 0.562
for the prompted text-mean at 12 + 24, 0.485 for the last token alone (session 24)."""
PROMPTED_C = 10.0
"""Inverse L2 strength of ``classifier:prompted``'s heads. Session 25, trained on session 24's
1,025 training texts plus the first 481 of ``extra/more.jsonl`` and scored out of fold on the
1,025 (5 folds; ``benchmarks/prompted_settings_s25.py``): C 1 / 3 / 10 gave balanced
macro-F1 0.624 / 0.631 / 0.637 en and 0.592 / 0.605 / 0.613 zh (session 24 chose C 3)."""
PROMPTED_PRECISION_MARGIN = 0.1
"""``classifier:prompted``'s high-precision threshold reaches precision 0.9 out of fold for a
0.8 target. Session 24's threshold for 0.8 out of fold gave 0.71 on the held-out split.
Session 25 checked the rules on the training data alone (``benchmarks/hp_rule_selection.py``:
the detector trained without one training file, scored on that file; three files): at 0.8
out of fold the left-out file got 0.75-0.79 in every case, with the Wilson lower bound >= 0.8
0.78-0.83, at 0.9 out of fold 0.81-0.96 in every file and language (recall 0.14-0.17)."""
MULTILINGUAL_EMBEDDING = "qwen2.5-0.5b-instruct"
MULTILINGUAL_LAYERS = (12, -1)
"""Qwen2.5 0.5B's middle (12 of 24) and last layer, mean-pooled, concatenated, standardised.
Chosen by out-of-fold macro-F1 on the training data only (never the test split) among: token
embeddings, layer 12, the last layer, both, each raw or standardised, with and without the
n-gram block, C in {0.3, 1, 3} (session 22). Session 23, on the 1,025 training texts: C in
{1, 3} x embedding weight in {1, 2}, Platt-calibrated, by the weaker language's out-of-fold
macro-F1 at the balanced point: C = 3, weight 2 (0.528 en / 0.526 zh); see
benchmarks/detector_selection.py and the README."""


@dataclass(frozen=True)
class ClassifierSettings:
    """Training knobs (stored with the model)."""

    precision_target: float = 0.8
    """Calibrate each head's threshold to reach this out-of-fold precision (0 < p <= 1)."""
    min_precision: float = 0.3
    """A head that cannot reach ``precision_target`` uses its best-F0.5 threshold, unless the
    precision there is below this floor: then it never fires."""
    folds: int = 5
    """Cross-validation folds for the out-of-fold probabilities."""
    C: float = 0.3
    """Inverse L2 strength of the logistic heads."""
    keyword_weight: float = 0.5
    """Scale of the keyword-hit features (0 drops them)."""
    ngram_max: int = 3
    """Longest character n-gram."""
    max_features: int = 30000
    """Largest TF-IDF vocabulary."""
    use_embeddings: bool = True
    """Use sentence embeddings (False: n-grams and keywords only)."""
    embedding: str = "minilm"
    """"minilm": all-MiniLM-L6-v2 for English texts, zeros for Chinese; an embedded model name
    (e.g. "qwen2.5-0.5b-instruct"): its multilingual vectors (:mod:`valuealign.values.embed`)
    for every text."""
    embedding_weight: float = 1.0
    """Scale of the multilingual embedding block (ignored for MiniLM)."""
    embedding_layer: int = -1
    """-1: pool the model's last hidden layer; 0: pool its input token embeddings (no
    transformer pass); k: layer k (see :func:`valuealign.values.embed.embed`)."""
    embedding_layers: tuple[int, ...] = ()
    """Several layers, their vectors concatenated (overrides ``embedding_layer`` when given)."""
    standardise_embeddings: bool = False
    """Centre and scale each embedding dimension with the training texts' statistics."""
    embedding_prompt: bool = False
    """Read each text inside a question about values (:func:`valuealign.values.embed.
    embed_prompted`) instead of on its own; ``embedding_layers`` must then come from
    :data:`valuealign.values.embed.PROMPT_LAYERS`."""
    embedding_pooling: str = "mean"
    """With ``embedding_prompt``: "mean" (the text's own tokens), "last" (the prompt's last
    token) or "mean+last"."""
    calibration: str = "head"
    """"head": each head's own threshold on its out-of-fold probabilities (see "Thresholds");
    "platt": each head's probability is first Platt-scaled on its out-of-fold probabilities
    (a 2-parameter logistic fit, so 0.8 means "right 8 times in 10 out of fold"), then one
    threshold for all heads, the lowest at which the out-of-fold micro precision reaches
    ``precision_target`` in every language with at least 3 texts predicted (see "Platt")."""
    precision_margin: float = 0.0
    """Out of fold, the threshold must reach ``precision_target`` plus this margin (capped at
    1): room for texts unlike the training data, where the precision falls (see
    ``classifier:prompted``, :data:`PROMPTED_PRECISION_MARGIN`)."""
    precision_bound: str = "point"
    """With ``calibration="platt"``: what must reach ``precision_target`` at the global
    threshold, the out-of-fold micro precision itself ("point") or the lower end of its Wilson
    95% interval ("wilson"; labels counted as independent trials), which asks for more where
    few labels are given and leaves a margin for texts unlike the training data."""

    def required_precision(self, target: float | None = None) -> float:
        """What the out-of-fold precision must reach for ``target`` (default
        ``precision_target``): the target plus ``precision_margin``, at most 1."""
        return min(
            1.0, (self.precision_target if target is None else target) + self.precision_margin
        )

    def check(self) -> None:
        if not 0.0 < self.precision_target <= 1.0:
            raise UserError(
                f"precision target {self.precision_target} is outside (0, 1]",
                fix="use e.g. 0.8",
            )
        if not 0.0 <= self.min_precision <= 1.0:
            raise UserError(f"min_precision {self.min_precision} is outside [0, 1]", fix="0.3")
        if self.folds < 2:
            raise UserError(f"folds must be >= 2, not {self.folds}", fix="use e.g. 5")
        if self.C <= 0 or self.keyword_weight < 0 or self.ngram_max < 1 or self.max_features < 1:
            raise UserError("bad classifier settings", fix="C > 0, keyword_weight >= 0, ...")
        if not 0.0 <= self.precision_margin < 1.0:
            raise UserError(
                f"precision margin {self.precision_margin} is outside [0, 1)", fix="use e.g. 0.1"
            )
        if self.precision_bound not in ("point", "wilson"):
            raise UserError(
                f"unknown precision bound {self.precision_bound!r}", fix="use 'point' or 'wilson'"
            )
        if self.calibration not in ("head", "platt"):
            raise UserError(
                f"unknown calibration {self.calibration!r}", fix="use 'head' or 'platt'"
            )
        if (self.embedding == "minilm") and (
            self.embedding_layers or self.standardise_embeddings or self.embedding_prompt
        ):
            raise UserError(
                "embedding_layers, standardise_embeddings and embedding_prompt need a "
                "multilingual embedding",
                fix="set embedding to an embedded model, e.g. qwen2.5-0.5b-instruct",
            )
        if self.embedding_prompt:
            from valuealign.values.embed import POOLINGS, PROMPT_LAYERS

            layers = self.embedding_layers or (self.embedding_layer,)
            if not set(layers) <= set(PROMPT_LAYERS) or not all(
                p in POOLINGS for p in self.embedding_pooling.split("+")
            ):
                raise UserError(
                    f"prompted embeddings: layers {list(layers)} / pooling "
                    f"{self.embedding_pooling!r} not supported",
                    fix=f"layers from {list(PROMPT_LAYERS)}, pooling mean, last or mean+last",
                )


@dataclass(frozen=True)
class HeadReport:
    """How one head's threshold was chosen, with out-of-fold estimates at that threshold."""

    value: str
    direction: int
    positives: int
    threshold: float | None
    rule: str
    precision: float | None
    recall: float | None

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


# ---------------------------------------------------------------------------------------------
# Features
# ---------------------------------------------------------------------------------------------


def _wb_ngrams(text: str, n_max: int) -> Counter[str]:
    grams: Counter[str] = Counter()
    for word in normalise_text(text).split():
        padded = f" {word} "
        for n in range(1, n_max + 1):
            if len(padded) < n:
                break
            for i in range(len(padded) - n + 1):
                gram = padded[i : i + n]
                if gram.strip():
                    grams[gram] += 1
    return grams


@dataclass
class _Tfidf:
    vocab: dict[str, int]
    idf: np.ndarray
    n_max: int

    @classmethod
    def fit(cls, texts: Sequence[str], n_max: int, max_features: int) -> _Tfidf:
        df: Counter[str] = Counter()
        for text in texts:
            df.update(set(_wb_ngrams(text, n_max)))
        kept = sorted((g for g, c in df.items() if c >= 2), key=lambda g: (-df[g], g))
        kept = sorted(kept[:max_features])
        n = len(texts)
        idf = np.array([math.log((1 + n) / (1 + df[g])) + 1.0 for g in kept])
        return cls({g: i for i, g in enumerate(kept)}, idf, n_max)

    def transform(self, texts: Sequence[str]) -> Any:
        from scipy import sparse

        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        for r, text in enumerate(texts):
            entries = [
                (self.vocab[g], (1.0 + math.log(c)) * self.idf[self.vocab[g]])
                for g, c in _wb_ngrams(text, self.n_max).items()
                if g in self.vocab
            ]
            norm = math.sqrt(sum(w * w for _, w in entries)) or 1.0
            for c, w in entries:
                rows.append(r)
                cols.append(c)
                vals.append(w / norm)
        return sparse.csr_matrix((vals, (rows, cols)), shape=(len(texts), len(self.vocab)))


def _embed(
    texts: Sequence[str],
    languages: Sequence[str],
    settings: ClassifierSettings,
    scaling: tuple[np.ndarray, np.ndarray] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """The embedding block; ``scaling`` (mean, scale) standardises the multilingual vectors;
    ``progress(done, total)`` reports a prompted pass batch by batch."""
    enabled = settings.use_embeddings
    if enabled and settings.embedding != "minilm":
        from valuealign.values.embed import embed

        layers = tuple(settings.embedding_layers) or (settings.embedding_layer,)
        if settings.embedding_prompt:
            from valuealign.values.embed import embed_prompted

            vecs = embed_prompted(
                list(texts),
                settings.embedding,
                layers=layers,
                pooling=settings.embedding_pooling,
                progress=progress,
            ).astype(np.float64)
        else:
            vecs = np.hstack(
                [embed(list(texts), settings.embedding, layer=layer) for layer in layers]
            ).astype(np.float64)
        if scaling is not None:
            mean, scale = scaling
            vecs = (vecs - mean) / scale
        return vecs * settings.embedding_weight
    out = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float64)
    english = [i for i, lang in enumerate(languages) if lang == "en"]
    if enabled and english:
        from valuealign.values.similarity import EmbeddingSimilarity

        emb = EmbeddingSimilarity().embed([texts[i] for i in english])
        out[english] = emb
    return out


def _scaling(vecs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, scale) of raw embedding rows: scale = std x sqrt(width), floored."""
    mean = vecs.mean(axis=0)
    scale = (vecs.std(axis=0) + 1e-6) * np.sqrt(vecs.shape[1])
    return mean, scale


_KEYWORDS = LexiconDetector()


def _keyword_features(texts: Sequence[str], languages: Sequence[str]) -> np.ndarray:
    rows = []
    for text, lang in zip(texts, languages, strict=True):
        counts = _KEYWORDS.counts(text, lang)
        rows.append([min(c, 2) / 2 for v in SCHWARTZ10.values for c in counts[v]])
    return np.asarray(rows, dtype=np.float64).reshape(len(texts), 2 * len(SCHWARTZ10))


def _features(
    texts: Sequence[str],
    languages: Sequence[str],
    tfidf: _Tfidf,
    settings: ClassifierSettings,
    scaling: tuple[np.ndarray, np.ndarray] | None = None,
) -> Any:
    from scipy import sparse

    zh = np.array([[1.0 if lang == "zh" else 0.0] for lang in languages]).reshape(-1, 1)
    blocks = [
        sparse.csr_matrix(_embed(texts, languages, settings, scaling)),
        tfidf.transform(texts),
        sparse.csr_matrix(_keyword_features(texts, languages) * settings.keyword_weight),
        sparse.csr_matrix(zh),
    ]
    return sparse.hstack(blocks, format="csr")


# ---------------------------------------------------------------------------------------------
# Logistic heads and thresholds
# ---------------------------------------------------------------------------------------------


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _fit_logistic(X: Any, y: np.ndarray, C: float) -> tuple[np.ndarray, float]:
    """Balanced-weight L2 logistic regression: min sum w_i loss_i + |coef|^2 / (2C)."""
    from scipy.optimize import minimize

    n, d = X.shape
    pos = int(y.sum())
    if pos == 0 or pos == n:
        return np.zeros(d), (-20.0 if pos == 0 else 20.0)
    sw = np.where(y == 1, n / (2.0 * pos), n / (2.0 * (n - pos)))
    Xt = X.T.tocsr()

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:-1], theta[-1]
        z = X @ w + b
        loss = np.logaddexp(0.0, z) - y * z
        value = float(sw @ loss + (w @ w) / (2.0 * C))
        r = sw * (_sigmoid(z) - y)
        grad = np.empty_like(theta)
        grad[:-1] = Xt @ r + w / C
        grad[-1] = r.sum()
        return value, grad

    result = minimize(
        objective,
        np.zeros(d + 1),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 2000, "gtol": 1e-6},
    )
    return result.x[:-1].copy(), float(result.x[-1])


def _fold_of(item_id: str, folds: int) -> int:
    digest = hashlib.sha256(f"fold:{item_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % folds


def _choose_threshold(
    p: np.ndarray, y: np.ndarray, target: float, floor: float
) -> tuple[float | None, str, float | None, float | None]:
    """(threshold, rule, precision, recall) on out-of-fold probabilities (module docstring)."""
    pos = int(y.sum())
    if pos == 0:
        return None, "never: no positive training example", None, None
    order = np.argsort(-p, kind="stable")
    ps, ys = p[order], y[order]
    tp = np.cumsum(ys)
    k = np.arange(1, len(ps) + 1)
    # a threshold at ps[i] predicts every text with p >= ps[i]: use the last index of ties
    idx = np.nonzero(np.r_[ps[1:] != ps[:-1], True])[0]
    precision = tp[idx] / k[idx]
    recall = tp[idx] / pos
    enough = k[idx] >= MIN_PREDICTED
    ok = enough & (precision >= target)
    if ok.any():
        j = int(np.nonzero(ok)[0][-1])  # lowest threshold that still reaches the target
        return float(ps[idx[j]]), f"precision>={target:g}", float(precision[j]), float(recall[j])
    beta2 = 0.25  # F0.5: precision weighs more than recall
    denom = np.maximum(beta2 * precision + recall, 1e-12)
    f_half = np.where(enough & (tp[idx] > 0), (1 + beta2) * precision * recall / denom, 0.0)
    j = int(np.argmax(f_half))  # first maximum = highest threshold among ties
    if f_half[j] == 0 or precision[j] < floor:
        return None, f"never: out-of-fold precision below {floor:g}", None, None
    return float(ps[idx[j]]), "F0.5 fallback", float(precision[j]), float(recall[j])


# ---------------------------------------------------------------------------------------------
# The detector
# ---------------------------------------------------------------------------------------------


@dataclass
class ClassifierDetector:
    """Spec ``classifier[:DIR]``: the trained classifier (see the module docstring)."""

    taxonomy: Taxonomy
    settings: ClassifierSettings
    tfidf: _Tfidf
    coef: np.ndarray  # (2K, D): rows 2j promote head of value j, 2j+1 oppose head
    intercept: np.ndarray  # (2K,)
    thresholds: np.ndarray  # (2K,), NaN = never fires
    heads: list[HeadReport] = field(default_factory=list)
    training: dict[str, Any] = field(default_factory=dict)
    name: str = "classifier"
    oof: np.ndarray | None = field(default=None, repr=False)
    """Out-of-fold head probabilities of the training data (n, 2K); kept in memory only."""
    oof_targets: np.ndarray | None = field(default=None, repr=False)
    """The 0/1 head targets matching :attr:`oof`; kept in memory only."""
    scaling: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    """(mean, scale) of the embedding block when ``standardise_embeddings`` is on."""
    platt: np.ndarray | None = field(default=None, repr=False)
    """(2K, 2) Platt parameters (a, b) per head when ``calibration="platt"``."""
    oof_languages: np.ndarray | None = field(default=None, repr=False)
    """Languages of the rows of :attr:`oof`; kept in memory only."""

    def at_precision(self, precision_target: float) -> ClassifierDetector:
        """The same heads with thresholds re-fitted on the stored out-of-fold probabilities.

        Only for a model fresh from :func:`train_classifier` (a loaded one has no ``oof``).
        """
        if self.oof is None or self.oof_targets is None:
            raise UserError(
                "this classifier carries no out-of-fold probabilities",
                fix="train it in this process with train_classifier",
            )
        wanted = self.settings.required_precision(precision_target)
        if self.platt is not None:
            assert self.oof_languages is not None
            thresholds, heads = _global_heads(
                self.oof,
                self.oof_targets,
                self.oof_languages,
                self.taxonomy,
                wanted,
                self.settings.precision_bound,
            )
        else:
            thresholds, heads = _heads(
                self.oof,
                list(self.oof_targets.T),
                self.taxonomy,
                wanted,
                self.settings.min_precision,
            )
        settings = ClassifierSettings(
            **{**self.settings.__dict__, "precision_target": precision_target}
        )
        return self._with_thresholds(settings, thresholds, heads)

    def at_best_f1(self) -> ClassifierDetector:
        """The balanced operating point of a Platt-calibrated model: the one global threshold
        (of :data:`PLATT_GRID`) with the best out-of-fold macro-F1 in the weaker language
        (ties: the lowest). Only for a model fresh from :func:`train_classifier`."""
        if self.oof is None or self.oof_targets is None or self.platt is None:
            raise UserError(
                "at_best_f1 needs a Platt-calibrated classifier with out-of-fold probabilities",
                fix="train it in this process with calibration='platt'",
            )
        assert self.oof_languages is not None
        gold = self.oof_targets[:, 0::2].astype(np.int64) - self.oof_targets[:, 1::2].astype(
            np.int64
        )
        chosen, best = best_f1_threshold(self.oof, gold, self.oof_languages, self.taxonomy)
        rule = f"global Platt threshold, best out-of-fold macro-F1 ({best:.3f}, weaker language)"
        heads = _head_reports(self.oof, gold, self.taxonomy, chosen, rule)
        thresholds = [chosen] * self.oof.shape[1]
        return self._with_thresholds(self.settings, thresholds, heads)

    def _with_thresholds(
        self, settings: ClassifierSettings, thresholds: Sequence[float], heads: list[HeadReport]
    ) -> ClassifierDetector:
        return ClassifierDetector(
            taxonomy=self.taxonomy,
            settings=settings,
            tfidf=self.tfidf,
            coef=self.coef,
            intercept=self.intercept,
            thresholds=np.asarray(thresholds, dtype=np.float64),
            heads=heads,
            training={
                **self.training,
                "heads_reaching_target": sum(h.rule.startswith("precision") for h in heads),
            },
            name=self.name,
            oof=self.oof,
            oof_targets=self.oof_targets,
            scaling=self.scaling,
            platt=self.platt,
            oof_languages=self.oof_languages,
        )

    def probabilities(
        self, texts: Sequence[str], languages: Sequence[str | None] | str | None = None
    ) -> np.ndarray:
        """Head probabilities, shape (n, K, 2): [..., 0] promote, [..., 1] oppose (Platt-scaled
        when the model was calibrated with ``calibration="platt"``)."""
        texts = list(texts)
        k = len(self.taxonomy)
        if not texts:
            return np.zeros((0, k, 2))
        langs = normalise_languages(texts, languages)
        X = _features(texts, langs, self.tfidf, self.settings, self.scaling)
        p = _sigmoid(X @ self.coef.T + self.intercept)
        if self.platt is not None:
            p = _apply_platt(p, self.platt)
        return p.reshape(len(texts), k, 2)

    def detect_many(
        self, texts: Sequence[str], languages: Sequence[str | None] | str | None = None
    ) -> np.ndarray:
        """Matrix (n, K) in [-1, 1] (see "Output" in the module docstring)."""
        probs = self.probabilities(texts, languages)
        p_plus, p_minus = probs[..., 0], probs[..., 1]
        t = self.thresholds.reshape(-1, 2)
        t_plus = np.where(np.isnan(t[:, 0]), np.inf, t[:, 0])
        t_minus = np.where(np.isnan(t[:, 1]), np.inf, t[:, 1])
        fire_plus = p_plus >= t_plus
        fire_minus = p_minus >= t_minus
        plus_wins = fire_plus & (~fire_minus | (p_plus - t_plus >= p_minus - t_minus))
        return np.where(plus_wins, p_plus, np.where(fire_minus, -p_minus, 0.0))

    async def adetect(
        self, texts: Sequence[str], languages: Sequence[str | None] | str | None = None
    ) -> np.ndarray:
        """:meth:`detect_many` in a worker thread, so embedding does not block the event loop."""
        return await asyncio.to_thread(self.detect_many, list(texts), languages)

    # -- storage ----------------------------------------------------------------------------

    def save(self, folder: str | Path) -> Path:
        """Write ``model.json`` and ``weights.npz`` to ``folder`` (created; files replaced)."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        vocab = sorted(self.tfidf.vocab, key=self.tfidf.vocab.__getitem__)
        meta = {
            "format": FORMAT_VERSION,
            "taxonomy": self.taxonomy.id,
            "values": list(self.taxonomy.values),
            "embedding_model": (
                (
                    EMBEDDING_MODEL
                    if self.settings.embedding == "minilm"
                    else self.settings.embedding
                )
                if self.settings.use_embeddings
                else None
            ),
            "settings": self.settings.__dict__,
            "ngram_max": self.tfidf.n_max,
            "vocabulary": vocab,
            "idf": [float(x) for x in self.tfidf.idf],
            "thresholds": [None if math.isnan(x) else float(x) for x in self.thresholds],
            "heads": [h.to_json() for h in self.heads],
            "training": self.training,
        }
        _atomic_write(out / "model.json", json.dumps(meta, ensure_ascii=False, indent=1).encode())
        buf = out / f".weights.{os.getpid()}.npz"
        extra = (
            {"emb_mean": self.scaling[0], "emb_scale": self.scaling[1]}
            if self.scaling is not None
            else {}
        )
        if self.platt is not None:
            extra["platt"] = self.platt
        np.savez(buf, coef=self.coef.astype(np.float64), intercept=self.intercept, **extra)
        os.replace(buf, out / "weights.npz")
        return out

    @classmethod
    def load(cls, folder: str | Path) -> ClassifierDetector:
        """Load a folder written by :meth:`save`."""
        root = Path(folder)
        meta_path, weights_path = root / "model.json", root / "weights.npz"
        if not meta_path.is_file() or not weights_path.is_file():
            raise UserError(
                f"{root}: not a value classifier folder (needs model.json and weights.npz)",
                fix="train one with: valuealign values train-detector DATA --out DIR",
            )
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            with np.load(weights_path, allow_pickle=False) as npz:
                coef, intercept = npz["coef"], npz["intercept"]
                scaling = (npz["emb_mean"], npz["emb_scale"]) if "emb_mean" in npz.files else None
                platt = npz["platt"] if "platt" in npz.files else None
        except (OSError, ValueError, KeyError) as exc:
            raise UserError(
                f"{root}: cannot read the classifier ({exc})", fix="retrain it"
            ) from None
        if meta.get("format") != FORMAT_VERSION:
            raise UserError(
                f"{meta_path}: format {meta.get('format')!r}, expected {FORMAT_VERSION!r}",
                fix="retrain with this version of valuealign",
            )
        taxonomy = get_taxonomy(meta["taxonomy"])
        raw_settings = dict(meta["settings"])
        raw_settings["embedding_layers"] = tuple(raw_settings.get("embedding_layers") or ())
        settings = ClassifierSettings(**raw_settings)
        if settings.standardise_embeddings and scaling is None:
            raise UserError(f"{root}: the embedding scaling is missing", fix="retrain it")
        if settings.calibration == "platt" and platt is None:
            raise UserError(f"{root}: the Platt parameters are missing", fix="retrain it")
        vocab = {g: i for i, g in enumerate(meta["vocabulary"])}
        tfidf = _Tfidf(vocab, np.asarray(meta["idf"], dtype=np.float64), int(meta["ngram_max"]))
        thresholds = np.array(
            [np.nan if t is None else float(t) for t in meta["thresholds"]], dtype=np.float64
        )
        k = len(taxonomy)
        if coef.shape[0] != 2 * k or thresholds.shape != (2 * k,) or intercept.shape != (2 * k,):
            raise UserError(f"{root}: weights do not match {taxonomy.id}", fix="retrain it")
        heads = [HeadReport(**h) for h in meta.get("heads", [])]
        return cls(
            taxonomy=taxonomy,
            settings=settings,
            tfidf=tfidf,
            coef=coef,
            intercept=intercept,
            thresholds=thresholds,
            heads=heads,
            training=meta.get("training", {}),
            name=f"classifier:{root}",
            scaling=scaling,
            platt=platt,
        )

    def __repr__(self) -> str:
        return f"<ClassifierDetector {self.name} over {self.taxonomy.id}>"


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------


def _heads(
    oof: np.ndarray,
    targets: list[np.ndarray],
    taxonomy: Taxonomy,
    precision_target: float,
    min_precision: float,
) -> tuple[list[float], list[HeadReport]]:
    """Each head's decision threshold, chosen on its out-of-fold probabilities (NaN: the head
    never fires), and its report. Heads come in pairs per value: for, then against."""
    thresholds, heads = [], []
    for h, y in enumerate(targets):
        t, rule, prec, rec = _choose_threshold(oof[:, h], y, precision_target, min_precision)
        thresholds.append(np.nan if t is None else t)
        heads.append(
            HeadReport(
                value=taxonomy.values[h // 2],
                direction=1 if h % 2 == 0 else -1,
                positives=int(y.sum()),
                threshold=t,
                rule=rule,
                precision=prec,
                recall=rec,
            )
        )
    return thresholds, heads


def _fit_platt(p: np.ndarray, y: np.ndarray, l2: float = 1.0) -> tuple[float, float]:
    """(a, b) of q = sigmoid(a logit(p) + b) by logistic loss on (p, y), L2-pulled to (1, 0)."""
    from scipy.optimize import minimize

    z = np.log(np.clip(p, 1e-6, 1 - 1e-6) / np.clip(1 - p, 1e-6, 1 - 1e-6))

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        a, b = theta
        u = a * z + b
        loss = float((np.logaddexp(0.0, u) - y * u).sum())
        loss += l2 * ((a - 1.0) ** 2 + b**2)
        r = _sigmoid(u) - y
        grad = np.array([float(r @ z) + 2 * l2 * (a - 1.0), float(r.sum()) + 2 * l2 * b])
        return loss, grad

    result = minimize(objective, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B")
    return float(result.x[0]), float(result.x[1])


def _apply_platt(p: np.ndarray, platt: np.ndarray) -> np.ndarray:
    """Platt-scale head probabilities ``p`` (..., 2K) with per-head (a, b) rows of ``platt``."""
    z = np.log(np.clip(p, 1e-6, 1 - 1e-6) / np.clip(1 - p, 1e-6, 1 - 1e-6))
    return _sigmoid(platt[:, 0] * z + platt[:, 1])


PLATT_GRID = np.round(np.arange(0.20, 0.991, 0.01), 2)
"""Candidate global thresholds for ``calibration="platt"``."""
PLATT_MIN_PREDICTED = 20
"""A grid point counts (for or against a threshold) in a language only with at least this many
out-of-fold labels given there: with 3, one wrong label among the few confident ones at the top
broke the run and the threshold landed at 0.97 (recall 1-2%)."""


def best_f1_threshold(
    q: np.ndarray, gold: np.ndarray, languages: np.ndarray, taxonomy: Taxonomy
) -> tuple[float, float]:
    """(threshold, its macro-F1): the point of :data:`PLATT_GRID` whose labels (:func:`_labels_at`
    on the calibrated probabilities ``q``) give the best macro-F1 against ``gold`` (n x K, -1 /
    0 / 1) in the weaker language (ties: the lowest point)."""
    from valuealign.values.metrics import score_detections

    best, chosen = -1.0, float(PLATT_GRID[0])
    for t in PLATT_GRID:
        pred = _labels_at(q, float(t)).astype(np.float64)
        weaker = min(
            score_detections(gold[languages == lg], pred[languages == lg], taxonomy).macro_f1
            for lg in np.unique(languages)
        )
        if weaker > best + 1e-12:
            best, chosen = weaker, float(t)
    return chosen, best


def wilson_lower(right: int, given: int, z: float = 1.96) -> float:
    """Lower end of the Wilson score interval for ``right`` successes in ``given`` trials
    (95% for z = 1.96); 0 when nothing was given."""
    if given <= 0:
        return 0.0
    p = right / given
    centre = p + z * z / (2 * given)
    half = z * math.sqrt(p * (1 - p) / given + z * z / (4 * given * given))
    return (centre - half) / (1 + z * z / given)


def _labels_at(q: np.ndarray, t: float) -> np.ndarray:
    """Labels in {-1, 0, 1} (n, K) from Platt-scaled head probabilities (n, 2K) at threshold t."""
    q_plus, q_minus = q[:, 0::2], q[:, 1::2]
    plus = (q_plus >= t) & (q_plus >= q_minus)
    minus = (q_minus >= t) & ~plus
    return plus.astype(np.int64) - minus.astype(np.int64)


def _global_heads(
    q: np.ndarray,
    targets: np.ndarray,
    languages: np.ndarray,
    taxonomy: Taxonomy,
    precision_target: float,
    bound: str = "point",
) -> tuple[list[float], list[HeadReport]]:
    """One threshold for all Platt-scaled heads (see "Platt" in the module docstring): the
    lowest grid point from which the out-of-fold micro precision (``bound="wilson"``: the lower
    end of its Wilson 95% interval) stays >= ``precision_target`` at every higher grid point,
    in every language (a language with fewer than :data:`PLATT_MIN_PREDICTED` labels given at a
    point does not count there, and a point where no language counts is not chosen); the top of
    the grid when none qualifies."""
    gold = targets[:, 0::2].astype(np.int64) - targets[:, 1::2].astype(np.int64)
    chosen = float(PLATT_GRID[-1])
    rule = "no threshold reaches the target: the top of the grid"
    for t in PLATT_GRID[::-1]:
        pred = _labels_at(q, float(t))
        counted = failed = False
        for lang in np.unique(languages):
            rows = languages == lang
            fired = pred[rows] != 0
            if int(fired.sum()) >= PLATT_MIN_PREDICTED:
                counted = True
                right = int((pred[rows][fired] == gold[rows][fired]).sum())
                given = int(fired.sum())
                precision = wilson_lower(right, given) if bound == "wilson" else right / given
                failed = failed or precision < precision_target
        if failed:
            break
        if counted:
            what = "precision" if bound == "point" else "Wilson lower bound of precision"
            chosen, rule = float(t), f"global Platt threshold, {what}>={precision_target:g}"
    return [chosen] * q.shape[1], _head_reports(q, gold, taxonomy, chosen, rule)


def _head_reports(
    q: np.ndarray, gold: np.ndarray, taxonomy: Taxonomy, chosen: float, rule: str
) -> list[HeadReport]:
    """Each head's out-of-fold precision and recall at the global threshold ``chosen``."""
    pred = _labels_at(q, chosen)
    heads = []
    for h in range(q.shape[1]):
        j, sign = h // 2, (1 if h % 2 == 0 else -1)
        fired, pos = pred[:, j] == sign, gold[:, j] == sign
        tp = int((fired & pos).sum())
        heads.append(
            HeadReport(
                value=taxonomy.values[j],
                direction=sign,
                positives=int(pos.sum()),
                threshold=chosen,
                rule=rule,
                precision=tp / int(fired.sum()) if fired.any() else None,
                recall=tp / int(pos.sum()) if pos.any() else None,
            )
        )
    return heads


def train_classifier(
    data: LabelledSet,
    settings: ClassifierSettings | None = None,
    *,
    progress: Callable[[str], None] | None = None,
) -> ClassifierDetector:
    """Fit the heads on ``data`` and calibrate their thresholds (see the module docstring).

    Pass the part of the labelled set you train on (``load_labelled().split("train")``);
    this function does not split it again except for the cross-validation folds.
    """
    settings = settings or ClassifierSettings()
    settings.check()
    if len(data) < 2 * settings.folds:
        raise UserError(
            f"{len(data)} labelled texts are too few to train a classifier",
            fix=f"give at least {2 * settings.folds} (a few hundred for useful results)",
        )
    say = progress or (lambda _msg: None)
    texts, langs, ids = data.texts, data.languages, data.ids
    Y = data.labels
    k = len(data.taxonomy)
    say(f"features for {len(texts)} texts")
    folds = np.array([_fold_of(i, settings.folds) for i in ids])
    scaling = None

    def vectors_done(done: int, total: int) -> None:
        say(f"sentence vectors: {done}/{total} texts computed")

    if settings.standardise_embeddings and settings.use_embeddings:
        raw = _embed(texts, langs, replace(settings, embedding_weight=1.0), None, vectors_done)
        scaling = _scaling(raw)
    emb = _embed(texts, langs, settings, scaling, vectors_done)  # once, reused per fold
    from scipy import sparse

    keyword = sparse.csr_matrix(_keyword_features(texts, langs) * settings.keyword_weight)
    zh = sparse.csr_matrix(np.array([[1.0 if lang == "zh" else 0.0] for lang in langs]))
    emb_block = sparse.csr_matrix(emb)

    def design(tfidf: _Tfidf) -> Any:
        return sparse.hstack([emb_block, tfidf.transform(texts), keyword, zh], format="csr")

    targets = [(Y[:, j] == s).astype(np.float64) for j in range(k) for s in (1, -1)]
    oof = np.zeros((len(texts), 2 * k))
    for f in range(settings.folds):
        say(f"cross-validation fold {f + 1}/{settings.folds}")
        train_rows, test_rows = folds != f, folds == f
        if not test_rows.any():
            continue
        tfidf = _Tfidf.fit(
            [t for t, m in zip(texts, train_rows, strict=True) if m],
            settings.ngram_max,
            settings.max_features,
        )
        X = design(tfidf)
        for h, y in enumerate(targets):
            coef, b = _fit_logistic(X[train_rows], y[train_rows], settings.C)
            oof[test_rows, h] = _sigmoid(X[test_rows] @ coef + b)
    say("final fit")
    tfidf = _Tfidf.fit(texts, settings.ngram_max, settings.max_features)
    X = design(tfidf)
    coefs, intercepts = [], []
    for y in targets:
        coef, b = _fit_logistic(X, y, settings.C)
        coefs.append(coef)
        intercepts.append(b)
    platt = None
    if settings.calibration == "platt":
        platt = np.array([_fit_platt(oof[:, h], y) for h, y in enumerate(targets)])
        oof = _apply_platt(oof, platt)
        thresholds, heads = _global_heads(
            oof,
            np.stack(targets, axis=1),
            np.asarray(langs),
            data.taxonomy,
            settings.required_precision(),
            settings.precision_bound,
        )
    else:
        thresholds, heads = _heads(
            oof,
            targets,
            data.taxonomy,
            settings.required_precision(),
            settings.min_precision,
        )
    training = {
        "items": len(texts),
        "languages": dict(Counter(langs)),
        "fingerprint": data.fingerprint(),
        "sources": [Path(s).name for s in data.sources],
        "heads_reaching_target": sum(h.rule.startswith("precision") for h in heads),
    }
    return ClassifierDetector(
        taxonomy=data.taxonomy,
        settings=settings,
        tfidf=tfidf,
        coef=np.vstack(coefs),
        intercept=np.asarray(intercepts),
        thresholds=np.asarray(thresholds, dtype=np.float64),
        heads=heads,
        training=training,
        oof=oof,
        oof_targets=np.stack(targets, axis=1),
        scaling=scaling,
        platt=platt,
        oof_languages=np.asarray(langs),
    )


# ---------------------------------------------------------------------------------------------
# The default model: trained on demand, cached
# ---------------------------------------------------------------------------------------------

_DEFAULT_CACHE: dict[str, ClassifierDetector] = {}
_DEFAULT_LOCK = threading.Lock()


def _cache_root() -> Path:
    return Path(os.environ.get("VALUEALIGN_CACHE") or Path.home() / ".cache" / "valuealign")


def multilingual_settings(precision_target: float = 0.8) -> ClassifierSettings:
    """The settings of ``classifier:multilingual`` (see :data:`MULTILINGUAL_LAYERS`)."""
    return ClassifierSettings(
        precision_target=precision_target,
        embedding=MULTILINGUAL_EMBEDDING,
        embedding_layers=MULTILINGUAL_LAYERS,
        standardise_embeddings=True,
        embedding_weight=2.0,
        C=3.0,
        calibration="platt",
    )


def prompted_settings(precision_target: float = 0.8) -> ClassifierSettings:
    """The settings of ``classifier:prompted`` (see :data:`PROMPTED_LAYERS`)."""
    return replace(
        multilingual_settings(precision_target),
        embedding_prompt=True,
        embedding_layers=PROMPTED_LAYERS,
        embedding_pooling=PROMPTED_POOLING,
        C=PROMPTED_C,
        precision_margin=PROMPTED_PRECISION_MARGIN,
    )


def prompted_large_settings(precision_target: float = 0.8) -> ClassifierSettings:
    """The settings of ``classifier:prompted-1.5b`` (see :data:`PROMPTED_LARGE_LAYERS`): those
    of ``classifier:prompted`` (C, margin, calibration) on the 1.5B's vectors."""
    return replace(
        prompted_settings(precision_target),
        embedding=PROMPTED_LARGE_EMBEDDING,
        embedding_layers=PROMPTED_LARGE_LAYERS,
    )


def _settings_key(settings: ClassifierSettings) -> dict[str, Any]:
    """The settings as they enter a cache key; fields added later are left out while they
    hold their defaults, so models cached before they existed keep their keys."""
    out = dict(settings.__dict__)
    defaults = ClassifierSettings()
    for name in ("embedding_prompt", "embedding_pooling", "precision_margin", "precision_bound"):
        if out[name] == getattr(defaults, name):
            del out[name]
    return out


def _loud(message: str) -> None:
    import sys

    print(f"[valuealign] {message}", file=sys.stderr, flush=True)


def load_classifier(
    path: str | Path | None = None,
    *,
    precision_target: float = 0.8,
    cache: bool = True,
    progress: Callable[[str], None] | None = None,
) -> ClassifierDetector:
    """A saved classifier (``path``), or the default one trained on the shipped set's train split.

    ``path="multilingual"`` (spec ``classifier:multilingual``) trains, caches and returns the
    multilingual detector instead: Qwen2.5 0.5B vectors for every text (layers 12 and 24,
    standardised; see :func:`multilingual_settings` and :mod:`valuealign.values.embed`), trained
    on the train split plus the extra set
    (:func:`~valuealign.values.labelled.training_set`). Its heads abstain below the threshold
    that reached ``precision_target`` out of fold (the high-precision operating point).
    ``path="prompted"`` (spec ``classifier:prompted``) does the same with the vectors of each
    text read inside a question about values (:func:`prompted_settings`); its threshold must
    reach ``precision_target`` + 0.1 out of fold (:data:`PROMPTED_PRECISION_MARGIN`), and a
    model fresh from training gives its balanced point with
    :meth:`ClassifierDetector.at_best_f1`.

    The default model is kept per process and, with ``cache=True``, on disk under
    ``$VALUEALIGN_CACHE/value-classifier/<hash>/`` (an unwritable cache is skipped).
    """
    spec = "" if path is None else str(path).strip()
    multilingual = spec == MULTILINGUAL
    large = spec == PROMPTED_LARGE
    prompted = spec == PROMPTED or large
    if spec and not (multilingual or prompted):
        return ClassifierDetector.load(Path(spec).expanduser())
    if prompted:
        settings = (prompted_large_settings if large else prompted_settings)(precision_target)
        data = training_set(extra=True)
    elif multilingual:
        settings = multilingual_settings(precision_target)
        data = training_set(extra=True)
    else:
        settings = ClassifierSettings(precision_target=precision_target)
        data = load_labelled().split("train")
    settings.check()
    key_src = json.dumps(
        [FORMAT_VERSION, data.fingerprint(), _settings_key(settings)], sort_keys=True
    )
    key = hashlib.sha256(key_src.encode()).hexdigest()[:20]
    with _DEFAULT_LOCK:
        model = _DEFAULT_CACHE.get(key)
        if model is None:
            folder = _cache_root() / "value-classifier" / key
            if cache and (folder / "model.json").is_file():
                try:
                    model = ClassifierDetector.load(folder)
                except UserError:
                    model = None
            if model is None:
                if prompted and progress is None:
                    _loud(
                        f"training classifier:{spec} on first use: {len(data)} texts through "
                        + (
                            "Qwen2.5 1.5B (about 0.6-2 s a text on 2 CPU cores where not cached), "
                            if large
                            else "Qwen2.5 0.5B (about 0.3-1 s a text on 2 CPU cores where not "
                            "cached), "
                        )
                        + f"then 5-fold heads; the result is cached under {folder}"
                    )
                    progress = _loud
                model = train_classifier(data, settings, progress=progress)
                if cache:
                    _save_quietly(model, folder)
            model.name = (
                f"classifier:{spec}"
                if prompted
                else f"classifier:{MULTILINGUAL}"
                if multilingual
                else "classifier"
            )
            _DEFAULT_CACHE[key] = model
    return model


def _save_quietly(model: ClassifierDetector, folder: Path) -> None:
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
        model.save(tmp)
        try:
            os.replace(tmp, folder)
        except OSError:  # another process won the race
            shutil.rmtree(tmp, ignore_errors=True)
    except OSError:
        pass
