"""The negotiation's similarity: Qwen multilingual by default, a loud fallback, language centring."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from valuealign.consensus.similarity import negotiation_similarity, reference_texts
from valuealign.errors import UserError
from valuealign.values.embed import embedding_available
from valuealign.values.similarity import (
    CentredMultilingualSimilarity,
    HybridSimilarity,
    MultilingualSimilarity,
    TfidfSimilarity,
)


def _unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("valuealign.values.embed.embedding_available", lambda *a, **k: False)


def test_auto_is_the_centred_qwen_similarity_where_a_local_qwen_loads(monkeypatch) -> None:
    monkeypatch.setattr("valuealign.values.embed.embedding_available", lambda *a, **k: True)
    sim, info = negotiation_similarity("auto")
    assert isinstance(sim, CentredMultilingualSimilarity)
    assert info["kind"] == "multilingual" and info["fallback"] is None
    assert "qwen2.5-0.5b-instruct" in info["line"] and "WARNING" not in info["line"]


def test_auto_without_qwen_falls_back_and_says_so(monkeypatch) -> None:
    _unavailable(monkeypatch)
    sim, info = negotiation_similarity("auto")
    assert isinstance(sim, HybridSimilarity)
    assert info["kind"] == "hybrid" and "qwen2.5-0.5b-instruct" in info["fallback"]
    assert info["line"].startswith("WARNING") and "TF-IDF" in info["line"]
    with pytest.raises(UserError, match="--similarity hybrid"):
        negotiation_similarity("multilingual")


def test_explicit_kinds_and_a_bad_one() -> None:
    sim, info = negotiation_similarity("tfidf")
    assert isinstance(sim, TfidfSimilarity) and info["fallback"] is None
    with pytest.raises(UserError, match="unknown similarity"):
        negotiation_similarity("cosine")


def test_reference_texts_cover_both_languages() -> None:
    ref = reference_texts()
    assert len(ref) >= 60
    assert sum(any("\u4e00" <= c <= "\u9fff" for c in t) for t in ref) == len(ref) // 2


def test_the_fallback_is_named_in_output_manifest_and_metrics(cli, tmp_path: Path, monkeypatch):
    _unavailable(monkeypatch)
    out = tmp_path / "c"
    code, stdout, err = cli(
        "consensus",
        "--topic",
        "Who should care for the elderly?",
        "--agents",
        "confucian,protestant-europe",
        "--model",
        "mock/echo",
        "--rounds",
        "2",
        "--no-baselines",
        "--no-echo-pba",
        "--vsc-rater",
        "lexicon",
        "--out",
        str(out),
    )
    assert code == 0, err
    assert "WARNING: similarity falls back" in stdout
    manifest = json.loads((out / "manifest.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    assert manifest["similarity"]["kind"] == metrics["similarity"]["kind"] == "hybrid"
    assert metrics["similarity"]["fallback"]
    assert "falls back" in (out / "report.html").read_text()


# -- language centring, on hand-built vectors ------------------------------------------------
# Two strong language directions (e0 Chinese, e1 English) and two meanings (e2, e3): the raw
# cosine ranks an unrelated English pair (shared language) far above a zh/en paraphrase.
E = np.eye(4)
VECS = {
    "照顾父母": 3 * E[0] + E[2],
    "废除死刑": 3 * E[0] + E[3],
    "care for parents": 3 * E[1] + E[2],
    "abolish the death penalty": 3 * E[1] + E[3],
    "look after mum and dad": 3 * E[1] + E[2],
}


def _fake_embed(texts, model="x", **_):
    return np.stack([VECS[t] / np.linalg.norm(VECS[t]) for t in texts]).astype(np.float32)


def test_centring_removes_the_language_direction(monkeypatch) -> None:
    monkeypatch.setattr("valuealign.values.embed.embed", _fake_embed)
    raw = MultilingualSimilarity(floor=0.0)
    # raw: cos(zh m1, en m1) = 1/10; cos(en m1, en m2) = 9/10
    assert raw.similarity("照顾父母", "care for parents") == pytest.approx(0.1)
    assert raw.similarity("care for parents", "abolish the death penalty") == pytest.approx(0.9)
    # language means: zh 3e0 + (e2+e3)/2, en 3e1 + (e2+e3)/2 (over the unit vectors: /sqrt(10)),
    # so every centred text is +-(e2 - e3): paraphrases 1, unrelated -1 -> clipped to 0
    sim = CentredMultilingualSimilarity(
        ["照顾父母", "废除死刑", "care for parents", "abolish the death penalty"]
    )
    assert sim.similarity("照顾父母", "care for parents") == pytest.approx(1.0)
    assert sim.similarity("照顾父母", "look after mum and dad") == pytest.approx(1.0)
    assert sim.similarity("care for parents", "abolish the death penalty") == pytest.approx(0.0)
    assert sim.similarity("废除死刑", "照顾父母") == pytest.approx(0.0)


def test_centring_needs_reference_text_in_both_languages() -> None:
    with pytest.raises(UserError, match="both Chinese and English"):
        CentredMultilingualSimilarity(["only English here", "and here"])


@pytest.mark.skipif(not embedding_available(), reason="torch/transformers or the Qwen 0.5B missing")
def test_real_qwen_ranks_cross_language_paraphrases_above_unrelated_pairs() -> None:
    """Two stances of the shipped paraphrase set: every zh/en paraphrase beats every unrelated
    pair, in either language (the raw cosine fails this: unrelated en-en pairs score higher)."""
    from importlib import resources

    path = resources.files("valuealign").joinpath("data/consensus/paraphrases.jsonl")
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    a = next(r for r in rows if r["id"] == "elder-care-duty/family")
    b = next(r for r in rows if r["id"] == "death-penalty/abolish")
    sim, _ = negotiation_similarity("multilingual")
    para = [sim.similarity(a["zh"][0], a["en"][1]), sim.similarity(b["zh"][1], b["en"][0])]
    unrel = [sim.similarity(a["en"][0], b["en"][1]), sim.similarity(a["zh"][0], b["zh"][1])]
    assert min(para) > max(unrel), (para, unrel)
