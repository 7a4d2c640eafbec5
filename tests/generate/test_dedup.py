from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys

import numpy as np
import pytest

from valuealign.generate.dedup import (
    MinHasher,
    NearDuplicateIndex,
    _pair_from_linear,
    char_ngrams,
    distinct_n,
    diversity_report,
    estimate_jaccard,
    normalize_text,
    tokens,
)

EN = (
    "Why do so many historians argue that the official census in border regions "
    "undercounts religious minorities and recent migrant families?"
)  # 20 words
ZH = "为什么有些历史学者认为边境地区的官方人口普查故意低估了宗教少数群体和新移民家庭？"  # 39 chars + ？
MIXED = "用Python写一个爬虫程序，抓取政府网站上的人口普查数据，可以吗？"

GOLDEN_TEXT = "hello world"
GOLDEN_HEAD = [577091696855178782, 1048258932923331204, 800150956446830146, 6541532415004568]


def true_jaccard(a: str, b: str, n: int = 3) -> float:
    sa, sb = char_ngrams(a, n), char_ngrams(b, n)
    return len(sa & sb) / len(sa | sb)


# --- normalisation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Hello, World!", "helloworld"),
        ("ＡＢＣ　１２３", "abc123"),  # full-width letters, digits and ideographic space
        ("  Tabs\tand\nnewlines  ", "tabsandnewlines"),
        ("你好，世界。你是谁？真的！", "你好世界你是谁真的"),
        ("「引号」『书名』《史记》【注】（括号）、；：…—", "引号书名史记注括号"),
        ("用 Python 写代码！", "用python写代码"),
        ("ÉCOLE", "école"),
        ("？！。，", ""),
    ],
)
def test_normalize_text(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


def test_char_ngrams() -> None:
    assert char_ngrams("A b, C d!") == {"abc", "bcd"}
    assert char_ngrams("你好！", 3) == {"你好"}  # shorter than n: the whole text
    assert char_ngrams("？！", 3) == set()
    assert char_ngrams("abcd", 2) == {"ab", "bc", "cd"}
    with pytest.raises(ValueError):
        char_ngrams("abc", 0)


# --- MinHash -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("num_perm", "text"),
    [(64, MIXED), (128, EN * 3 + ZH * 5), (7, "a"), (300, ZH)],  # one block, several, tiny, odd
)
def test_signature_is_exact_modular_minhash(num_perm: int, text: str) -> None:
    h = MinHasher(num_perm=num_perm)
    sig = h.signature(text)
    assert sig.dtype == np.uint64 and sig.shape == (num_perm,)
    p = (1 << 61) - 1
    xs = [
        int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "little") % p
        for g in char_ngrams(text)
    ]
    assert sorted(int(x) for x in h.shingle_hashes(text)) == sorted(xs)
    expected = [min((int(a) * x + int(b)) % p for x in xs) for a, b in zip(h.a, h.b, strict=True)]
    assert sig.tolist() == expected
    assert all(v < p for v in expected)


def test_signature_of_empty_text_and_formatting_invariance() -> None:
    h = MinHasher()
    assert (h.signature("？！ ") == h.signature("")).all()
    assert (h.signature("Hello, World") == h.signature("hello world!!")).all()


def test_signature_is_deterministic_across_processes() -> None:
    code = (
        "import json; from valuealign.generate.dedup import MinHasher;"
        f"print(json.dumps(MinHasher().signature({MIXED!r}).tolist()))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == MinHasher().signature(MIXED).tolist()
    # Pinned, so stored signatures stay comparable across versions.
    assert MinHasher().signature(GOLDEN_TEXT)[:4].tolist() == GOLDEN_HEAD


def _mutate(rng: random.Random, text: str, alphabet: str) -> str:
    chars = list(text)
    for _ in range(rng.randint(0, len(chars) // 3)):
        chars[rng.randrange(len(chars))] = rng.choice(alphabet)
    return "".join(chars)


def test_estimate_jaccard_tracks_true_jaccard() -> None:
    rng = random.Random(0)
    alphabet_en = "abcdefghijklmnopqrstuvwxyz"
    alphabet_zh = "历史政策边界条约法院选举少数民族信仰移民档案抗议普查雕像课程养老工会难民议会"
    fine, default = MinHasher(num_perm=256, seed=5), MinHasher()
    errors_default = []
    for k in range(40):
        alphabet = alphabet_en if k % 2 else alphabet_zh
        base = "".join(rng.choice(alphabet) for _ in range(rng.randint(40, 120)))
        other = _mutate(rng, base, alphabet)
        truth = true_jaccard(base, other)
        assert abs(estimate_jaccard(fine.signature(base), fine.signature(other)) - truth) <= 0.1
        errors_default.append(
            estimate_jaccard(default.signature(base), default.signature(other)) - truth
        )
    assert np.mean(np.abs(errors_default)) < 0.05
    assert abs(np.mean(errors_default)) < 0.03  # no bias


def test_estimate_jaccard_rejects_mismatched_signatures() -> None:
    with pytest.raises(ValueError):
        estimate_jaccard(np.zeros(4, np.uint64), np.zeros(8, np.uint64))


# --- index ---------------------------------------------------------------------------------


def test_exact_duplicates_whatever_the_formatting() -> None:
    index = NearDuplicateIndex()
    assert index.check_and_add("en", EN) is None
    assert index.check_and_add("zh", ZH) is None
    assert index.check_and_add("mixed", MIXED) is None
    variants = {
        "en": "  why DO so many historians argue that the official census in border regions "
        "undercounts religious minorities, and recent migrant families...",
        "zh": "为什么 有些历史学者认为，边境地区的官方人口普查「故意」低估了宗教少数群体和新移民家庭！",
        "mixed": "用ｐｙｔｈｏｎ 写一个爬虫程序 抓取政府网站上的人口普查数据 可以吗?",
    }
    for key, text in variants.items():
        assert index.find(text) == ("exact", key, 1.0)
        assert index.check_and_add(f"{key}-copy", text) == ("exact", key, 1.0)
    assert len(index) == 3


def test_near_duplicates_found_and_unrelated_texts_kept() -> None:
    index = NearDuplicateIndex(threshold=0.8)
    for key, text in (("en", EN), ("zh", ZH), ("mixed", MIXED)):
        index.add(key, text)

    en_one = EN.replace("so many", "so few")
    en_two = EN.replace("and recent", "or new")
    zh_few = ZH.replace("家庭？", "家族呢？")  # one character changed, one added; 40 chars
    for text, key in ((en_one, "en"), (en_two, "en"), (zh_few, "zh")):
        found = index.find(text)
        assert found is not None
        kind, dup_of, similarity = found
        assert (kind, dup_of) == ("near", key)
        assert 0.8 <= similarity <= 1.0

    unrelated = [
        "How should a museum label a statue of a colonial general today?",
        "What is the best way to cook rice in a clay pot?",
        "少数民族的传统节日在学校课程中应该占多大比重？",
        "这座寺庙的方言碑文应该如何翻译成普通话？",
    ]
    for i, text in enumerate(unrelated):
        assert index.check_and_add(f"u{i}", text) is None
    assert len(index) == 3 + len(unrelated)
    assert index.find(unrelated[1]) == ("exact", "u1", 1.0)


def test_find_does_not_add_and_check_and_add_skips_duplicates() -> None:
    index = NearDuplicateIndex()
    assert index.find(EN) is None
    assert len(index) == 0
    assert index.check_and_add("a", EN) is None
    assert index.check_and_add("b", EN.replace("so many", "so few"))[:2] == ("near", "a")
    assert len(index) == 1


def test_most_similar_kept_text_wins() -> None:
    index = NearDuplicateIndex(threshold=0.5)
    index.add("far", EN.replace("and recent", "or new").replace("so many", "so few"))
    index.add("close", EN.replace("so many", "so few"))
    assert index.find(EN.replace("so many", "so few") + "!")[:2] == ("exact", "close")
    assert index.find(EN.replace("so many", "so few").replace("Why", "why did"))[:2] == (
        "near",
        "close",
    )


def test_index_rejects_bad_parameters() -> None:
    with pytest.raises(ValueError):
        NearDuplicateIndex(num_perm=128, bands=30)
    with pytest.raises(ValueError):
        NearDuplicateIndex(threshold=0.0)


def test_index_grows_past_initial_capacity() -> None:
    rng = random.Random(1)
    alphabet = "历史政策边界条约法院选举少数民族信仰移民档案抗议普查雕像课程养老工会难民议会"
    index = NearDuplicateIndex()
    texts = ["".join(rng.choice(alphabet) for _ in range(30)) for _ in range(300)]
    for i, text in enumerate(texts):
        assert index.check_and_add(str(i), text) is None
    assert len(index) == 300
    assert index.find(texts[123]) == ("exact", "123", 1.0)
    assert index.find(texts[250][:-1] + "？")[:2] == ("near", "250")


# --- diversity -----------------------------------------------------------------------------


def test_tokens() -> None:
    assert tokens("用Python写代码！") == ["用", "python", "写", "代", "码"]
    assert tokens("Hello, WORLD 42times") == ["hello", "world", "42times"]
    assert tokens("「你好」，世界。") == ["你", "好", "世", "界"]
    assert tokens("ＧＰＴ４来了") == ["gpt4", "来", "了"]
    assert tokens("。，！ ") == []


def test_distinct_n_hand_examples() -> None:
    en = ["The cat sat.", "the cat ran!"]
    assert distinct_n(en, 1) == pytest.approx(4 / 6)  # the cat sat the cat ran
    assert distinct_n(en, 2) == pytest.approx(3 / 4)  # (the cat) twice
    assert distinct_n(en, 3) == pytest.approx(2 / 2)
    zh = ["我爱北京。", "我爱上海！"]
    assert distinct_n(zh, 1) == pytest.approx(6 / 8)
    assert distinct_n(zh, 2) == pytest.approx(5 / 6)  # 我爱 twice
    assert distinct_n(zh, 3) == pytest.approx(4 / 4)
    assert distinct_n(["短"], 2) is None
    assert distinct_n([], 1) is None
    with pytest.raises(ValueError):
        distinct_n(en, 0)


def test_diversity_report_keys_and_ranges() -> None:
    texts = [EN, ZH, MIXED, EN.replace("so many", "so few"), "完全无关的一句话。"]
    report = diversity_report(texts)
    assert set(report) == {
        "n",
        "distinct_1",
        "distinct_2",
        "distinct_3",
        "mean_pairwise_similarity",
        "near_duplicate_pairs_at_0.8",
    }
    assert report["n"] == 5
    for k in (1, 2, 3):
        assert 0.0 < report[f"distinct_{k}"] <= 1.0
    assert 0.0 <= report["mean_pairwise_similarity"] < 0.5
    assert report["near_duplicate_pairs_at_0.8"] == 1


def test_diversity_report_identical_and_tiny_sets() -> None:
    report = diversity_report([ZH] * 4)
    assert report["mean_pairwise_similarity"] == 1.0
    assert report["near_duplicate_pairs_at_0.8"] == 6
    assert report["distinct_1"] == pytest.approx(len(set(tokens(ZH))) / (4 * len(tokens(ZH))))
    single = diversity_report([EN])
    assert single["mean_pairwise_similarity"] is None
    assert single["near_duplicate_pairs_at_0.8"] == 0
    empty = diversity_report([])
    assert empty["n"] == 0 and empty["distinct_1"] is None


def test_diversity_report_samples_pairs() -> None:
    rng = random.Random(2)
    texts = [" ".join(rng.choice(["a", "b", "c", "d"]) * 3 for _ in range(8)) for _ in range(60)]
    texts += [texts[0]] * 10
    full = diversity_report(texts, max_pairs=10**6)
    sampled = diversity_report(texts, max_pairs=500, seed=3)
    assert sampled == diversity_report(texts, max_pairs=500, seed=3)
    assert sampled["near_duplicate_pairs_at_0.8"] <= full["near_duplicate_pairs_at_0.8"]
    assert abs(sampled["mean_pairwise_similarity"] - full["mean_pairwise_similarity"]) < 0.05


@pytest.mark.parametrize("n", [2, 3, 7, 100, 1001])
def test_pair_from_linear_matches_triu(n: int) -> None:
    i, j = _pair_from_linear(np.arange(n * (n - 1) // 2), n)
    ti, tj = np.triu_indices(n, k=1)
    assert (i == ti).all() and (j == tj).all()


def test_index_signatures_are_the_hashers_and_the_report_is_unchanged() -> None:
    """The report reads kept texts' signatures from the index: the same numbers as hashing."""
    rng = random.Random(4)
    words = ["border", "census", "历史", "移民", "treaty", "faith", "法院", "选举", "archive"]
    texts = [" ".join(rng.choices(words, k=rng.randint(3, 12))) for _ in range(300)]
    index = NearDuplicateIndex()
    for i, text in enumerate(texts[:200]):
        index.check_and_add(str(i), text)
    hasher = MinHasher()
    probes = [*texts, texts[0].upper() + " !", "", "？？"]  # kept, not kept, same normal form
    for text in probes:
        assert (index.signature(text) == hasher.signature(text)).all(), repr(text)
    for max_pairs in (10**6, 500):
        assert diversity_report(probes, max_pairs=max_pairs, index=index) == diversity_report(
            probes, max_pairs=max_pairs
        )
    other = NearDuplicateIndex(seed=2)  # another hasher: not used
    other.add("x", texts[0])
    assert diversity_report(texts[:5], index=other) == diversity_report(texts[:5])


def test_normalize_text_keeps_exactly_letters_numbers_and_marks_after_nfkc_casefold() -> None:
    """The translate table gives what a per-character category test gives (the definition),
    on random code points of every plane in use and on hand-picked hard cases."""
    import unicodedata

    from valuealign.generate.dedup import normalize_text

    def by_definition(text: str) -> str:
        folded = unicodedata.normalize("NFKC", text).casefold()
        return "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LNM")

    rng = random.Random(7)
    texts = [
        "".join(chr(rng.randrange(0, 0x32000)) for _ in range(rng.randrange(0, 60)))
        for _ in range(3000)
    ]
    texts += ["ＡＢＣ１２３，。？！「」 café e\u0301 ß İ ﬁ \u200b ²³ Ⅻ 々〇 𠀀 ٣ ﷺ", ""]
    for text in texts:
        assert normalize_text(text) == by_definition(text)
    assert normalize_text("Hello, 世界！ＡＢＣ") == "hello世界abc"


# --- the index's signature reuse (per-request speed) --------------------


def _oracle_signature(h: MinHasher, text: str) -> list[int]:
    """Modular MinHash in Python integers, from the definition (no memo, no numpy)."""
    p = (1 << 61) - 1
    xs = [
        int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "little") % p
        for g in char_ngrams(text, h.ngram)
    ]
    if not xs:
        return [(1 << 64) - 1] * h.num_perm
    return [min((int(a) * x + int(b)) % p for x in xs) for a, b in zip(h.a, h.b, strict=True)]


def test_signatures_are_the_definitions_signatures() -> None:
    """One hasher signs a stream of random zh/en texts (repeats, empty, short and long ones)."""
    rng = random.Random(7)
    alphabet = "abcdefg 历史政策边界条约，。！ABC12"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60))) for _ in range(150)]
    texts += ["".join(rng.choice(alphabet) for _ in range(200)) for _ in range(3)]
    texts += texts[:40]
    for num_perm, ngram in [(16, 3), (5, 2)]:
        h = MinHasher(num_perm=num_perm, ngram=ngram, seed=3)
        for text in texts:
            assert h.signature(text).tolist() == _oracle_signature(h, text), repr(text)


def test_index_reuses_a_looked_up_signature_with_the_same_results() -> None:
    """find then check_and_add (as generate does) gives what a fresh index without the memo
    gives; a signature read from the memo equals the hasher's."""
    rng = random.Random(3)
    words = EN.split()
    texts = [" ".join(rng.sample(words, 12)) for _ in range(300)]
    texts += [t.upper() + "!" for t in texts[:50]] + [t[:-4] for t in texts[50:120]]
    rng.shuffle(texts)
    memo, plain = NearDuplicateIndex(threshold=0.7), NearDuplicateIndex(threshold=0.7)
    oracle = MinHasher()
    for k, text in enumerate(texts):
        early = memo.find(text)
        plain._pending.clear()  # no memo: every look-up hashes the text again
        assert early == plain.find(text)
        plain._pending.clear()
        if k % 4 == 0:  # rejected after the early check (e.g. below the threshold)
            continue
        assert memo.check_and_add(str(k), text) == plain.check_and_add(str(k), text)
        assert np.array_equal(memo.signature(text), oracle.signature(text))
    assert len(memo) == len(plain) and memo._keys == plain._keys
    assert np.array_equal(memo._sigs[: len(memo)], plain._sigs[: len(plain)])
    assert not any(d in memo._pos for d in memo._pending)  # kept texts leave the memo
