"""One value-detector interface, several back-ends, picked by a short spec string.

A :class:`ValueDetector` turns texts into a matrix of shape (n, K) over its taxonomy, entries in
[-1, 1]: +1 the text promotes the value, -1 it opposes it, 0 it says nothing about it. A row of
NaN means the detector could not score that text (only the LLM detector does this, when its
judge never gave a parseable answer; the failure is recorded in ``detector.failures``). Never
read NaN as "neutral".

==========================  ==================================================================
spec                        detector
==========================  ==================================================================
``keywords``                :class:`KeywordDetector`, the bilingual keyword lexicon (zh + en)
``lexicon``                 :class:`DictionaryDetector`, pyvalues' English value dictionaries
``llm:<provider/model>``    :class:`~valuealign.values.llm_detector.LLMDetector`, an LLM judge
``classifier[:DIR]``        :class:`~valuealign.values.classifier.ClassifierDetector`
``classifier:multilingual`` the same on Qwen hidden states (layers 12 + 24), train + extra set
``classifier:prompted``     the same on Qwen states of the text read inside a value question
``classifier:prompted-1.5b`` the same on the Qwen 1.5B's states (better, 2-3x the cost)
==========================  ==================================================================

``adetect`` is the core (async, because the LLM detector awaits a backend); ``detect_many`` is
the sync entry point. ``keywords`` and ``lexicon`` compute directly in both; the classifier's
``adetect`` runs its sync work in a worker thread.

>>> det = get_detector("keywords")
>>> det.detect_many(["We honour the customs our ancestors handed down."]).shape
(1, 10)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from valuealign.errors import MissingExtra, UserError
from valuealign.values.base import (
    DETECTOR_SPECS,
    ValueDetector,
    llm_model_of,
    normalise_languages,
    run_sync,
)
from valuealign.values.detector import LexiconDetector
from valuealign.values.taxonomy import SCHWARTZ10, Taxonomy

__all__ = [
    "DETECTOR_SPECS",
    "DictionaryDetector",
    "KeywordDetector",
    "ValueDetector",
    "get_detector",
    "llm_model_of",
    "normalise_languages",
    "run_sync",
]


class _SyncDetector:
    """Shared plumbing for detectors that compute synchronously."""

    name: str
    taxonomy: Taxonomy

    def _detect(self, texts: list[str], languages: list[str]) -> np.ndarray:
        raise NotImplementedError

    def detect_many(
        self, texts: Sequence[str], languages: Sequence[str | None] | str | None = None
    ) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, len(self.taxonomy)), dtype=np.float64)
        return self._detect(texts, normalise_languages(texts, languages))

    async def adetect(
        self, texts: Sequence[str], languages: Sequence[str | None] | str | None = None
    ) -> np.ndarray:
        return self.detect_many(texts, languages)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} over {self.taxonomy.id}>"


class KeywordDetector(_SyncDetector):
    """Spec ``keywords``: :class:`LexiconDetector` (the bilingual keyword lists) as a detector.

    Scores are ``tanh(k * net hits / sqrt(length))``: any hit gives a non-zero entry. Chinese and
    English each use their own lexicon. A presence baseline; see :mod:`valuealign.values.detector`.
    """

    def __init__(self, k: float = 2.5) -> None:
        self.name = "keywords"
        self.taxonomy = SCHWARTZ10
        self._lexicon = LexiconDetector(k=k)

    def _detect(self, texts: list[str], languages: list[str]) -> np.ndarray:
        pairs = zip(texts, languages, strict=True)
        return np.stack([self._lexicon.detect(t, lang) for t, lang in pairs])


# pyvalues dictionary label -> schwartz10 id
_PYVALUES_LABELS = {
    "Self-Direction": "self-direction",
    "Stimulation": "stimulation",
    "Hedonism": "hedonism",
    "Achievement": "achievement",
    "Power": "power",
    "Security": "security",
    "Conformity": "conformity",
    "Tradition": "tradition",
    "Benevolence": "benevolence",
    "Universalism": "universalism",
}


class DictionaryDetector(_SyncDetector):
    """Spec ``lexicon``: the English value dictionaries shipped with ``pyvalues`` (offline).

    Each English text is whitespace-tokenised with punctuation removed, lowercased, and looked up
    in pyvalues' dictionaries (2022-10-07 edition, one word list per basic value). The output is
    presence only: ``min(1, hits / saturation)`` for every value with at least one dictionary
    word, 0 otherwise. It never gives -1: the dictionaries say which value a word is about, not
    whether the text is for or against it.

    pyvalues has no Chinese dictionary, so **Chinese texts fall back to the keyword lexicon**
    (:class:`KeywordDetector`, which does score direction). :attr:`fallbacks` counts how many
    texts took that route in the last call.
    """

    language_fallbacks: ClassVar[dict[str, str]] = {"zh": "keywords"}
    """Languages this detector does not score itself: the detector it hands them to."""

    def __init__(self, *, saturation: int = 1) -> None:
        if saturation < 1:
            raise ValueError("saturation must be >= 1")
        try:
            from importlib.resources import files

            from pyvalues.dictionary_classifier import get_dictionaries
        except ImportError as exc:
            raise MissingExtra("pyvalues", "visa", "The 'lexicon' value detector") from exc
        resource = files("pyvalues.assets.dictionaries.20221007") / "en.json"
        with resource.open("r", encoding="utf-8") as io:
            table = get_dictionaries(io, "en")  # type: ignore[arg-type]
        self._words: dict[str, tuple[int, ...]] = {}
        index = {v: i for i, v in enumerate(SCHWARTZ10.values)}
        for token, by_value in table.items():
            idx = tuple(index[_PYVALUES_LABELS[label]] for label in by_value)
            if idx:
                self._words[token] = idx
        self.name = "lexicon"
        self.taxonomy = SCHWARTZ10
        self.saturation = saturation
        self.fallbacks = 0
        self._keywords = KeywordDetector()

    def _detect(self, texts: list[str], languages: list[str]) -> np.ndarray:
        from pyvalues.dictionary_classifier import simple_tokenize

        out = np.zeros((len(texts), len(self.taxonomy)), dtype=np.float64)
        zh = [i for i, lang in enumerate(languages) if lang == "zh"]
        self.fallbacks = len(zh)
        if zh:
            out[zh] = self._keywords._detect([texts[i] for i in zh], ["zh"] * len(zh))
        for i, (text, lang) in enumerate(zip(texts, languages, strict=True)):
            if lang == "zh":
                continue
            hits = np.zeros(len(self.taxonomy))
            for token in simple_tokenize(text):
                for j in self._words.get(token.lower(), ()):
                    hits[j] += 1
            out[i] = np.minimum(1.0, hits / self.saturation)
        return out


def get_detector(spec: str, **kw: Any) -> ValueDetector:
    """A detector from its spec (see the module docstring); ``kw`` go to its constructor.

    For ``llm:<provider/model>``, ``kw`` may also hold backend options (``base_urls``,
    ``api_key``, ``concurrency``, ``timeout``, ``max_retries``, ``adapter``) that go to
    :func:`valuealign.backends.get_backend`. For ``classifier``, ``kw`` go to
    :func:`valuealign.values.classifier.load_classifier`.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise UserError("empty detector spec", fix=f"use one of: {', '.join(DETECTOR_SPECS)}")
    model = llm_model_of(spec)
    if model is not None:
        from valuealign.values.llm_detector import LLMDetector

        return LLMDetector.from_spec(model, **kw)
    kind, _, arg = spec.strip().partition(":")
    kind = kind.lower()
    if kind in ("keywords", "keyword") and not arg:
        return KeywordDetector(**kw)
    if kind in ("lexicon", "pyvalues", "dictionary") and not arg:
        return DictionaryDetector(**kw)
    if kind == "classifier":
        from valuealign.values.classifier import load_classifier

        return load_classifier(arg or None, **kw)
    raise UserError(
        f"unknown detector spec {spec!r}", fix=f"use one of: {', '.join(DETECTOR_SPECS)}"
    )
