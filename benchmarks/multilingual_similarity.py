"""Does the negotiation's similarity rank zh/en paraphrases above unrelated guidelines?

Reads the shipped paraphrase set (``valuealign/data/consensus/paraphrases.jsonl``: 10 consensus
topics x 2 opposed stances, each stance written twice in English and twice in Chinese, in our
own words) and builds pairs in four conditions:

* ``en-en``: the two English wordings of a stance (paraphrase) vs English wordings of stances on
  other topics (unrelated);
* ``zh-zh``: the same in Chinese;
* ``zh-en``: a Chinese wording vs the *other* English wording of the same stance (a
  cross-language paraphrase, not a word-for-word translation) vs other-topic pairs across the
  languages;
* ``pooled``: every paraphrase pair above against every unrelated pair above, across
  languages: can one threshold serve zh, en and mixed pairs? (a negotiation whose agents drift
  between languages needs one scale);

and reports, per condition and similarity, the AUC of "a paraphrase pair scores higher than an
unrelated pair" (Mann-Whitney, ties half) and of "... higher than the opposed stance on the
same topic" (a hard negative: same words, other position).

Similarities, each called as the negotiation calls it (``similarity(a, b)`` per pair):
character 1-3-gram TF-IDF; all-MiniLM-L6-v2 (English-only); the old consensus default
(MiniLM for English pairs, TF-IDF for the rest); Qwen2.5 0.5B mean-pooled last hidden layer
three ways: raw cosine, rescaled above VISA's floor of 0.5 (``MultilingualSimilarity``) and
with each language's mean vector removed (``CentredMultilingualSimilarity``, the new consensus
default; the language means come from the built-in topics, not from this set); and Qwen's
token-embedding bag (layer 0, no transformer pass) for reference.

    nice -n 19 env PYTHONPATH=src python benchmarks/multilingual_similarity.py \
        [--out benchmarks/results/multilingual_similarity.json]

Qwen vectors are cached on disk (``values/embed.py``), so a rerun takes seconds.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import numpy as np

from valuealign.consensus.similarity import reference_texts
from valuealign.values.embed import DEFAULT_EMBED_MODEL, embed
from valuealign.values.similarity import (
    CentredMultilingualSimilarity,
    EmbeddingSimilarity,
    HybridSimilarity,
    MultilingualSimilarity,
    TfidfSimilarity,
)

CONDITIONS = ("en-en", "zh-zh", "zh-en")


def auc(pos: list[float], neg: list[float]) -> float:
    """P(score(pos) > score(neg)), ties counted half (Mann-Whitney)."""
    p = np.asarray(pos)[:, None]
    n = np.asarray(neg)[None, :]
    return float(((p > n).sum() + 0.5 * (p == n).sum()) / (p.size * n.size))


def load_items() -> list[dict]:
    path = resources.files("valuealign").joinpath("data/consensus/paraphrases.jsonl")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def build_pairs(items: list[dict]) -> list[dict]:
    """Every pair the benchmark scores: condition, kind (paraphrase / unrelated / opposed), a, b."""
    pairs: list[dict] = []

    def add(cond: str, kind: str, a: str, b: str) -> None:
        pairs.append({"condition": cond, "kind": kind, "a": a, "b": b})

    for x in items:
        for y in items:
            if x["topic"] != y["topic"]:
                kind = "unrelated"
            elif x["id"] == y["id"]:
                kind = "paraphrase"
            else:
                kind = "opposed"
            # first wording of x against the second wording of y: for x == y a paraphrase
            add("en-en", kind, x["en"][0], y["en"][1])
            add("zh-zh", kind, x["zh"][0], y["zh"][1])
            add("zh-en", kind, x["zh"][0], y["en"][1])
            add("zh-en", kind, x["zh"][1], y["en"][0])
    return pairs


class _Lookup:
    """``similarity(a, b)`` from a precomputed matrix over the benchmark's texts."""

    def __init__(self, texts: list[str], matrix: np.ndarray) -> None:
        self.index = {t: i for i, t in enumerate(texts)}
        self.m = matrix

    def similarity(self, a: str, b: str) -> float:
        return float(self.m[self.index[a], self.index[b]])


def measures(texts: list[str]) -> dict[str, Callable[[str, str], float]]:
    """Every similarity, keyed by the name the table prints."""
    qwen = embed(texts, DEFAULT_EMBED_MODEL).astype(np.float64)
    tokens = embed(texts, DEFAULT_EMBED_MODEL, layer=0).astype(np.float64)
    # MiniLM scores a pair independently of any other text: one batch instead of 1600 calls
    minilm = _Lookup(texts, EmbeddingSimilarity().matrix(texts))
    centred = CentredMultilingualSimilarity(reference_texts(), DEFAULT_EMBED_MODEL)
    # robustness: language means from unrelated news-like sentences (VISA's meaning pairs)
    # instead of the consensus topics, which share 10 topics with this set
    news = resources.files("valuealign").joinpath("data/values/meaning-pairs.jsonl")
    rows = [json.loads(x) for x in news.read_text(encoding="utf-8").splitlines() if x]
    other = CentredMultilingualSimilarity(
        sorted({r[k] for r in rows for k in ("a", "b")}), DEFAULT_EMBED_MODEL
    )
    q = DEFAULT_EMBED_MODEL
    return {
        "tfidf-char": TfidfSimilarity().similarity,
        "minilm-en": minilm.similarity,
        "old default (minilm en / tfidf other)": HybridSimilarity(embedding=minilm).similarity,  # type: ignore[arg-type]
        f"{q} mean-pool, raw cosine": _Lookup(texts, qwen @ qwen.T).similarity,
        f"{q} mean-pool, floor 0.5 (VISA)": MultilingualSimilarity().similarity,
        f"{q} mean-pool, language-centred (new default)": centred.similarity,
        f"{q} mean-pool, centred on other text": other.similarity,
        f"{q} token embeddings (layer 0)": _Lookup(texts, tokens @ tokens.T).similarity,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="benchmarks/results/multilingual_similarity.json")
    args = parser.parse_args()
    items = load_items()
    pairs = build_pairs(items)
    texts = sorted({t for p in pairs for t in (p["a"], p["b"])})

    started = time.perf_counter()
    embed(texts + reference_texts(), DEFAULT_EMBED_MODEL)  # one pass; cached on disk for reruns
    qwen_seconds = time.perf_counter() - started
    table = measures(texts)

    result: dict = {
        "items": len(items),
        "pairs": {
            c: {
                k: sum(p["condition"] == c and p["kind"] == k for p in pairs)
                for k in ("paraphrase", "opposed", "unrelated")
            }
            for c in CONDITIONS
        },
        "auc": {},
        "means": {},
    }
    for name, fn in table.items():
        t0 = time.perf_counter()
        scores = [fn(p["a"], p["b"]) for p in pairs]
        for cond in (*CONDITIONS, "pooled"):
            sel = [i for i, p in enumerate(pairs) if cond == "pooled" or p["condition"] == cond]
            by = {
                k: [scores[i] for i in sel if pairs[i]["kind"] == k]
                for k in ("paraphrase", "opposed", "unrelated")
            }
            result["auc"].setdefault(cond, {})[name] = {
                "paraphrase_vs_unrelated": round(auc(by["paraphrase"], by["unrelated"]), 3),
                "paraphrase_vs_opposed": round(auc(by["paraphrase"], by["opposed"]), 3),
            }
            result["means"].setdefault(cond, {})[name] = {
                k: round(float(np.mean(v)), 3) for k, v in by.items()
            }
        print(f"{name}: scored {len(pairs)} pairs in {time.perf_counter() - t0:.1f} s")

    result["qwen_embed_seconds"] = round(qwen_seconds, 1)
    result["texts"] = len(texts)
    result["machine"] = f"{platform.machine()}, {__import__('os').cpu_count()} CPU cores"
    names = list(table)
    width = max(len(n) for n in names)
    for key in ("paraphrase_vs_unrelated", "paraphrase_vs_opposed"):
        print(f"\nAUC {key.replace('_', ' ')}")
        print(f"{'':{width}}  " + "  ".join(f"{c:>7}" for c in (*CONDITIONS, "pooled")))
        for n in names:
            row = [result["auc"][c][n][key] for c in (*CONDITIONS, "pooled")]
            print(f"{n:{width}}  " + "  ".join(f"{v:7.3f}" for v in row))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print("wrote", out)


if __name__ == "__main__":
    main()
