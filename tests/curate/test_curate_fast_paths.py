"""The curation steps' shortcuts give what their plain definitions give (kept here, or in the
module, as the oracle): units, boilerplate markers, digit and white-space counts, normalisation
and the dedup text, on random text built from the characters where they could differ."""

from __future__ import annotations

import json
import random
import re
import unicodedata

import numpy as np
import pytest

from valuealign.curate import dedup, quality
from valuealign.curate.dedup import _shingle_hashes, _shingle_hashes_many, dedup_text
from valuealign.curate.pipeline import curated_line, curated_record
from valuealign.curate.privacy import has_digits
from valuealign.curate.steps import (
    _BLANK_RUNS,
    _CONTROL,
    _SPACES,
    Document,
    _nfkc,
    clear_language,
    normalise_text,
)

PIECES = [
    *"aZé ß'’-_\n\t\r\x0b\x0c\x1c\x85\xa0\u1680\u2009\u2028\u3000\u200b\ufeff\x00",
    *"0123456789²③١٢",
    *"中文字，。！ぁアㄱ가ΑΣςİ",
    "lorem ipsum",
    "click here",
    "All Rights Reserved",
    "版权所有",
    "页面不存在",
    "您访问的页面不存在",
    "  ",
    "\n\n\n",
    "don't",
    "12345",
    "abc",
]


def _texts(seed: int, n: int = 20000) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choices(PIECES, k=rng.randint(0, 16))) for _ in range(n)]


def test_units_match_the_pattern() -> None:
    for text in _texts(0):
        assert quality.units(text) == quality._UNIT.findall(text.lower()), repr(text)


def _long_texts(seed: int, n: int = 3000) -> list[str]:
    """Longer texts from a few pieces, so that n-grams repeat (and sometimes do not)."""
    rng = random.Random(seed)
    words = [
        "中",
        "文",
        "字",
        "ぁ",
        "가",
        "abc",
        "don't",
        "it’s",
        "12345",
        "Σς",
        "İ",
        "é",
        " ",
        "，",
    ]
    return ["".join(rng.choices(words, k=rng.randint(0, 160))) for _ in range(n)]


def test_unit_codes_follow_the_units() -> None:
    """One code per unit, in order, and one code for each distinct unit."""
    for text in _texts(6) + _long_texts(7):
        got = quality.unit_codes(text)
        want = quality.units(text)
        assert len(got) == len(want), repr(text)
        code_of: dict[str, int] = {}
        for unit, code in zip(want, got.tolist(), strict=True):
            assert code_of.setdefault(unit, code) == code, repr(text)


def test_ascii_unit_codes_follow_the_pattern() -> None:
    """ASCII text takes the vectorised codes: one code per match of ``_UNIT_ASCII`` (the
    oracle), equal matches equal codes, and distinct units distinct codes on these texts;
    texts longer than the power tables take the pattern and give the same codes again."""
    rng = random.Random(10)
    atoms = [*"abz09' \n.,-_'", "don't", "''", "a'", "'b", "x1'y", "12'34", "A'B", "Rock'n'Roll"]
    texts = ["".join(rng.choices(atoms, k=rng.randint(0, 40))) for _ in range(20000)]
    for text in texts:
        want = quality._UNIT_ASCII.findall(text.lower())
        got = quality.unit_codes(text).tolist()
        assert len(got) == len(want), repr(text)
        code_of: dict[str, int] = {}
        for unit, code in zip(want, got, strict=True):
            assert code_of.setdefault(unit, code) == code, repr(text)
        assert len(set(code_of.values())) == len(code_of), repr(text)
    long = " ".join(texts)
    assert long.isascii() and len(long) > quality._MAX_VECTOR
    assert len(quality.unit_codes(long)) == len(quality.units(long))
    head = long[: quality._MAX_VECTOR]
    vector = quality.unit_codes(head)
    assert len(vector) == len(quality.units(head))


def _texts_with_copies(seed: int, n: int = 2000) -> list[str]:
    """Mostly distinct units (words, numbers, Han characters), with a stretch copied in."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        units = [
            rng.choice(
                [
                    f"w{rng.randrange(10**6)}",
                    str(rng.randrange(999)),
                    chr(0x4E00 + rng.randrange(3000)),
                ]
            )
            for _ in range(rng.randint(0, 120))
        ]
        if units and rng.random() < 0.7:
            i = rng.randrange(len(units))
            units += units[i : i + rng.randint(1, 40)]
        out.append(" ".join(units))
    return out


def test_repeated_ngram_bound_is_never_below_the_exact_share() -> None:
    both = 0
    for text in _long_texts(8) + _texts_with_copies(9):
        codes, items = quality.unit_codes(text), quality.units(text)
        for n in (5, 10):
            exact = quality.repeated_ngram_share(items, n)
            assert quality._repeated_share_bound(codes, n) >= exact, repr(text)
            both += 0 < exact < 1
    assert both > 100  # texts with some, not all, units in repeated n-grams are exercised


def _clear_language_plain(sample: str) -> str | None:
    """The script rule for non-ASCII text with the three patterns (the oracle)."""
    han = len(re.findall(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]", sample))
    kana = r"[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u31f0-\u31ff\uac00-\ud7af]"
    if han < 20 or re.search(kana, sample):
        return None
    others = re.findall(r"[^\W\d_\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]", sample)
    return "zh" if 9 * len(others) <= han else None


def test_script_rule_matches_the_patterns() -> None:
    rng = random.Random(10)
    pool = [
        *"中文字国家㐀豈，。！？“”（）\n ",
        *"aZé ß_0123456789²③١٢ΑΣςİ",
        *"ぁアㄱ가ᄀ",
        "😀",
        "𠀀",
        "\u00aa",
        "\u02b0",
        "\u0660",
    ]
    weights = [30] * 16 + [1] * (len(pool) - 16)
    outcomes = set()
    for _ in range(20000):
        text = "".join(rng.choices(pool, weights, k=rng.randint(1, 80)))
        if text.isascii():
            continue
        want = _clear_language_plain(text)
        assert clear_language(text) == want, repr(text)
        outcomes.add(want)
    assert outcomes == {"zh", None}


def test_markers_match_the_patterns() -> None:
    seen = set()
    for text in _texts(1):
        low = text.lower()
        hard = quality._HARD.search(low)
        expected = (hard.group(0) if hard else None, quality._SOFT.search(low) is not None)
        assert quality.find_markers(low) == expected, repr(text)
        seen.add(expected)
    assert len({hard for hard, _ in seen}) == 4 and {soft for _, soft in seen} == {True, False}


def test_digit_ratio_matches_the_patterns() -> None:
    space, digit = re.compile(r"\s"), re.compile(r"\d")
    # only the digit rule can fail: no length limits, symbols always allowed
    config = quality.QualityConfig(min_units_en=0, max_symbol_ratio=1.0, max_digit_ratio=0.3)
    failed = 0
    for text in _texts(2):
        nonspace = len(text) - len(space.findall(text))
        ratio = len(digit.findall(text)) / nonspace if nonspace else 0.0
        got = quality.check_quality(text, "en", config)
        if nonspace and ratio > 0.3:
            assert got == ("digit-ratio", f"{ratio:.2f} > 0.3"), repr(text)
            failed += 1
        else:
            assert got is None or got[0] != "digit-ratio", repr(text)
    assert 1000 < failed < 19000  # both outcomes are exercised


def test_digit_gate_counts_what_isdigit_counts() -> None:
    for text in _texts(3):
        for n in (1, 3, 7):
            assert has_digits(text, n) == (sum(ch.isdigit() for ch in text) >= n), repr(text)


def _normalise_plain(text: str) -> str:
    text = _nfkc(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n")
    text = _CONTROL.sub("", text)
    text = _SPACES.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return _BLANK_RUNS.sub("\n\n", text).strip()


@pytest.mark.parametrize("seed", [4, 5])
def test_normalise_and_dedup_text_match_the_substitutions(seed: int) -> None:
    ws = re.compile(r"\s+")
    for text in _texts(seed):
        assert normalise_text(text) == _normalise_plain(text), repr(text)
        assert dedup_text(text) == ws.sub(" ", text.lower()).strip(), repr(text)


def test_dedup_text_on_normalised_paragraphs_and_bulk_shingles(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Normalised text (where ``dedup_text`` takes its shortcut) against the substitution, and
    the joined-text shingles against one text at a time, short texts (up to and around the
    n-gram length) included."""
    ws = re.compile(r"\s+")
    rng = random.Random(11)
    words = ["Ab", "中文", "x", "A'b", "12", "，", "ΣΑΣ", "é", " ", "\n", "\n\n", "\n\n\n", "\t"]
    texts = [normalise_text("".join(rng.choices(words, k=rng.randint(0, 30)))) for _ in range(3000)]
    texts += ["", "a", "abcd", "abcde", "abcdef", " a\n\nb ", "a\n\n\nb", "a \nb"]
    for text in texts:
        assert dedup_text(text) == ws.sub(" ", text.lower()).strip(), repr(text)
    norms = [dedup_text(t) for t in texts]
    monkeypatch.setattr(dedup, "_JOIN_CHARS", 200)  # several joined groups per batch
    for i in range(0, len(norms), 97):
        batch = norms[i : i + 97]
        got = _shingle_hashes_many(batch, 5)
        assert len(got) == len(batch)
        for norm, hashes in zip(batch, got, strict=True):
            assert np.array_equal(hashes, _shingle_hashes(norm, 5)), repr(norm)
    assert all(len(h) == 1 for h in _shingle_hashes_many(["", "ab", "abcde"], 5))


def test_ascii_counts_match_the_split_and_the_patterns() -> None:
    """Non-space characters, symbols and digits of ASCII text, against ``str.split`` and the
    quality patterns, on random text over all 128 ASCII characters."""
    rng = random.Random(12)
    alphabet = [chr(c) for c in range(128)] + ["  ", "\n\n", "abc ", "123 "]
    for _ in range(20000):
        text = "".join(rng.choices(alphabet, k=rng.randint(0, 60)))
        want = (
            sum(map(len, text.split())),
            len(quality._SYMBOL.findall(text)),
            len(quality._DIGIT.findall(text)),
        )
        assert quality._ascii_counts(text) == want, repr(text)


def test_nfkc_shortcut_matches_the_protected_split() -> None:
    """``_nfkc`` returns already-normalised text as it is; against NFKC applied between the
    protected punctuation runs (the definition), on random text with full-width punctuation,
    compatibility characters and combining marks next to the protected runs."""
    protected = re.compile("([\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65\u2026]+)")

    def plain(text: str) -> str:
        parts = protected.split(text)
        return "".join(
            p if i % 2 else unicodedata.normalize("NFKC", p) for i, p in enumerate(parts)
        )

    rng = random.Random(13)
    pieces = [*PIECES, "，", "（", "…", "ＡＢＣ", "ｶ", "\u0301", "e\u0301", "ﬁ", "①", "\u3000"]
    for _ in range(20000):
        text = "".join(rng.choices(pieces, k=rng.randint(0, 16)))
        assert _nfkc(text) == plain(text), repr(text)


def test_curated_line_is_what_json_dumps_writes() -> None:
    """The curated line (text by orjson, the rest by ``json.dumps``) against ``json.dumps`` of
    the whole record, on documents with quotes, backslashes, control and non-BMP characters,
    line separators, odd ids and every optional field; a lone surrogate fails as before."""
    rng = random.Random(14)
    chars = [*PIECES, '"', "\\", "\\u", "/", "\u2028", "\u2029", "\x7f", "😀", "\x01", "\t"]
    chars += ['"text": ""', '", "text": "', "text"]  # the text's key, inside other fields
    for k in range(5000):
        doc = Document(
            id="".join(rng.choices(chars, k=rng.randint(0, 6))),
            text="".join(rng.choices(chars, k=rng.randint(0, 40))),
            file=rng.choice(["a.jsonl", 'q"uote.jsonl', "中文.jsonl"]),
            line=rng.randint(1, 10**6),
            language=rng.choice(["zh", "en", None]),
            subdomains=rng.sample(["a", "b", "ç"], k=rng.randint(0, 3)),
            relevance=rng.random() if k % 3 else 0.1 + 0.2,
        )
        doc.subdomain_hits = {s: rng.randint(1, 9) for s in doc.subdomains}
        if k % 4 == 0:
            doc.red_line_terms = ["x", "红线"]
        want = (json.dumps(curated_record(doc), ensure_ascii=False) + "\n").encode("utf-8")
        assert curated_line(doc) == want, repr(doc)
    bad = Document(id="s", text="a\ud800b", file="f")
    with pytest.raises(UnicodeEncodeError):
        (json.dumps(curated_record(bad), ensure_ascii=False) + "\n").encode("utf-8")
    with pytest.raises(UnicodeEncodeError):
        curated_line(bad)


def test_has_digits_on_every_digit_character() -> None:
    """Each character ``str.isdigit`` accepts (and a spread of the others), alone, repeated and
    in ASCII, BMP and astral company, against counting ``str.isdigit`` (the definition)."""
    digits = [chr(c) for c in range(0x110000) if chr(c).isdigit()]
    others = [chr(c) for c in range(0, 0x110000, 97) if not 0xD800 <= c < 0xE000]
    for ch in digits + others:
        for text in (ch, ch * 3, "ab" + ch + "cd", "中" + ch * 2, "😀" + ch * 2, ch + "7" * 5):
            for n in (1, 3, 7):
                assert has_digits(text, n) == (sum(map(str.isdigit, text)) >= n), repr(text)
