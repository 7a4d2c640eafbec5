"""Value taxonomies, value targets, value detectors, text similarity and fact keeping.

* Taxonomies: Schwartz's ten basic values (``schwartz10``, the default) and the refined 19
  (``schwartz19``): :func:`get_taxonomy`.
* Targets: :class:`ValueTarget` (alias :class:`ValueVector`), a vector in [-1, 1]^K with a mask,
  parsed from ``"tradition=+1,self-direction=-1"`` or a dict.
* Detectors: one :class:`ValueDetector` protocol; :func:`get_detector` builds ``keywords``,
  ``lexicon``, ``llm:<provider/model>`` or ``classifier[:DIR]``. :func:`evaluate_detector`
  scores one on the labelled set (:func:`load_labelled`).
* Similarity (:func:`get_similarity`) and fact keeping (:func:`fact_keeping`) measure what a
  rewrite preserved.

Importing this package never imports torch; only embedding similarity and the trained
classifier (on English texts) load it, on first use. :class:`LLMDetector`,
:class:`ClassifierDetector`, :func:`train_classifier` and :func:`load_classifier` are imported
lazily on first access.

>>> from valuealign.values import VALUES, get_detector, ValueTarget
>>> len(VALUES)
10
>>> get_detector("keywords").detect_many(["我们应当尊重祖先留下的习俗。"]).shape
(1, 10)
"""

from typing import Any

from valuealign.lang import LANGS as LANGUAGES
from valuealign.lang import cjk_share, detect_language
from valuealign.values.detector import (
    LexiconDetector,
    cosine,
)
from valuealign.values.detectors import (
    DETECTOR_SPECS,
    DictionaryDetector,
    KeywordDetector,
    ValueDetector,
    get_detector,
    llm_model_of,
)
from valuealign.values.facts import FactCheck, FactReport, extract_facts, fact_keeping
from valuealign.values.labelled import (
    LabelledItem,
    LabelledSet,
    load_labelled,
    split_of,
)
from valuealign.values.metrics import (
    DetectorReport,
    aevaluate_detector,
    evaluate_detector,
    score_detections,
)
from valuealign.values.schwartz import (
    VALUE_SPECS,
    VALUES,
    Lexicon,
    ValueSpec,
    value_definition,
    value_name,
)
from valuealign.values.similarity import (
    CentredMultilingualSimilarity,
    EmbeddingSimilarity,
    HybridSimilarity,
    MultilingualSimilarity,
    TfidfSimilarity,
    get_similarity,
    is_mostly_english,
    meaning_score,
    normalise_text,
)
from valuealign.values.target import ValueTarget, ValueVector, parse_target
from valuealign.values.taxonomy import (
    SCHWARTZ10,
    SCHWARTZ19,
    TAXONOMIES,
    Taxonomy,
    get_taxonomy,
)

_LAZY = {
    "LLMDetector": "valuealign.values.llm_detector",
    "ClassifierDetector": "valuealign.values.classifier",
    "ClassifierSettings": "valuealign.values.classifier",
    "load_classifier": "valuealign.values.classifier",
    "train_classifier": "valuealign.values.classifier",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'valuealign.values' has no attribute {name!r}")


__all__ = [
    "DETECTOR_SPECS",
    "LANGUAGES",
    "SCHWARTZ10",
    "SCHWARTZ19",
    "TAXONOMIES",
    "VALUES",
    "VALUE_SPECS",
    "CentredMultilingualSimilarity",
    "ClassifierDetector",
    "ClassifierSettings",
    "DetectorReport",
    "DictionaryDetector",
    "EmbeddingSimilarity",
    "FactCheck",
    "FactReport",
    "HybridSimilarity",
    "KeywordDetector",
    "LLMDetector",
    "LabelledItem",
    "LabelledSet",
    "Lexicon",
    "LexiconDetector",
    "MultilingualSimilarity",
    "Taxonomy",
    "TfidfSimilarity",
    "ValueDetector",
    "ValueSpec",
    "ValueTarget",
    "ValueVector",
    "aevaluate_detector",
    "cjk_share",
    "cosine",
    "detect_language",
    "evaluate_detector",
    "extract_facts",
    "fact_keeping",
    "get_detector",
    "get_similarity",
    "get_taxonomy",
    "is_mostly_english",
    "llm_model_of",
    "load_classifier",
    "load_labelled",
    "meaning_score",
    "normalise_text",
    "parse_target",
    "score_detections",
    "split_of",
    "train_classifier",
    "value_definition",
    "value_name",
]
