"""The multilingual meaning measure on a few fixed, hand-written pairs in both languages."""

from __future__ import annotations

import numpy as np
import pytest

from valuealign.values.embed import embed, embed_cache_dir, embedding_available, middle_layer
from valuealign.values.similarity import (
    MultilingualSimilarity,
    get_similarity,
    meaning_score,
    negation_parity,
)

needs_model = pytest.mark.skipif(
    not embedding_available(), reason="torch/transformers or the embedded Qwen 0.5B missing"
)

PAIRS = {
    "en": (
        "Regular exercise lowers the risk of heart disease.",
        "Working out often reduces your chances of developing heart problems.",
        "Penguins live mostly in the southern hemisphere.",
    ),
    "zh": (
        "经常锻炼可以降低患心脏病的风险。",
        "多运动能减少得心脏病的可能性。",
        "企鹅大多生活在南半球。",
    ),
}


def test_negation_parity_counts_markers_in_both_languages() -> None:
    assert negation_parity("Exercise lowers the risk.") == 0
    assert negation_parity("Exercise does not lower the risk.") == 1
    assert negation_parity("Exercise doesn't lower the risk.") == 1
    assert negation_parity("经常锻炼可以降低风险。") == 0
    assert negation_parity("经常锻炼并不能降低风险。") == 1


@needs_model
def test_embed_is_normalised_deterministic_and_cached() -> None:
    texts = [PAIRS["en"][0], PAIRS["zh"][0], PAIRS["en"][0]]
    vecs = embed(texts)
    assert vecs.shape[0] == 3 and vecs.shape[1] > 100
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    np.testing.assert_allclose(vecs[0], vecs[2])
    assert any(embed_cache_dir().rglob("*.npy"))
    again = embed(texts[:2])
    np.testing.assert_allclose(again, vecs[:2], atol=1e-6)


@needs_model
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_paraphrase_beats_unrelated(lang: str) -> None:
    original, paraphrase, unrelated = PAIRS[lang]
    sim = MultilingualSimilarity()
    assert sim.similarity(original, original) == 1.0
    para, unrel = sim.similarity(original, paraphrase), sim.similarity(original, unrelated)
    assert para > unrel + 0.2
    assert unrel < 0.5


@needs_model
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_meaning_score_penalises_negation_and_lost_numbers(lang: str) -> None:
    sim = MultilingualSimilarity()
    if lang == "en":
        original = "The council approved a budget of 2 million dollars."
        negated = "The council did not approve a budget of 2 million dollars."
        renumbered = "The council approved a budget of 9 million dollars."
    else:
        original = "市议会批准了2000万元的预算。"
        negated = "市议会没有批准2000万元的预算。"
        renumbered = "市议会批准了9000万元的预算。"
    same = meaning_score(original, original, similarity=sim)
    assert same == pytest.approx(1.0)
    assert meaning_score(original, negated, similarity=sim) < 0.55
    assert meaning_score(original, renumbered, similarity=sim) < 0.85
    assert meaning_score(original, "", similarity=sim) == 0.0


def test_get_similarity_names() -> None:
    assert type(get_similarity("multilingual")).__name__ == "MultilingualSimilarity"
    assert type(get_similarity("tfidf")).__name__ == "TfidfSimilarity"


@needs_model
def test_token_layer_vectors_are_cheap_normalised_and_distinct_from_last_layer() -> None:
    texts = [PAIRS["en"][0], PAIRS["zh"][0]]
    tokens = embed(texts, layer=0)
    last = embed(texts)
    assert tokens.shape == last.shape
    np.testing.assert_allclose(np.linalg.norm(tokens, axis=1), 1.0, atol=1e-4)
    assert not np.allclose(tokens, last)
    for bad in (-2, 99):
        with pytest.raises(Exception, match="layer"):
            embed(texts, layer=bad)


@needs_model
def test_middle_layer_is_stored_by_the_last_layer_pass_and_matches_a_fresh_pass() -> None:
    texts = [PAIRS["zh"][1], PAIRS["en"][2]]
    mid = middle_layer()
    assert mid == 12  # Qwen2.5 0.5B has 24 layers
    last = embed(texts)  # a pass for the last layer writes the middle layer too
    cached = embed(texts, layer=mid)
    fresh = embed(texts, layer=mid, cache=False)
    np.testing.assert_allclose(cached, fresh, atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(fresh, axis=1), 1.0, atol=1e-4)
    assert not np.allclose(fresh, last, atol=1e-2)
    np.testing.assert_allclose(embed(texts, layer=24), last, atol=1e-6)  # last layer by index


@needs_model
def test_an_empty_text_embeds_to_zeros_alone_or_with_others() -> None:
    """A batch of empty texts only has no token to pool (this crashed the reward under a
    learned detector on an empty rewrite); the vector is all zeros, not an error."""
    alone = embed([""], cache=False)
    assert alone.shape[0] == 1 and not alone.any()
    mixed = embed(["", "The train leaves at nine."], cache=False)
    assert not mixed[0].any() and abs(float((mixed[1] ** 2).sum()) - 1.0) < 1e-4
