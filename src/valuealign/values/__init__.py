"""Schwartz's ten basic values: definitions, a keyword detector and text similarity.

Importing this package never imports torch; only :class:`EmbeddingSimilarity` (and
:class:`HybridSimilarity` on English pairs) loads it, on first use.

>>> from valuealign.values import VALUES, LexiconDetector, get_similarity
>>> len(VALUES)
10
"""

from valuealign.values.detector import (
    LexiconDetector,
    cjk_share,
    cosine,
    detect_language,
)
from valuealign.values.schwartz import (
    LANGUAGES,
    VALUE_SPECS,
    VALUES,
    Lexicon,
    ValueSpec,
    value_definition,
    value_name,
)
from valuealign.values.similarity import (
    EmbeddingSimilarity,
    HybridSimilarity,
    TfidfSimilarity,
    get_similarity,
    is_mostly_english,
    normalise_text,
)

__all__ = [
    "LANGUAGES",
    "VALUES",
    "VALUE_SPECS",
    "EmbeddingSimilarity",
    "HybridSimilarity",
    "Lexicon",
    "LexiconDetector",
    "TfidfSimilarity",
    "ValueSpec",
    "cjk_share",
    "cosine",
    "detect_language",
    "get_similarity",
    "is_mostly_english",
    "normalise_text",
    "value_definition",
    "value_name",
]
