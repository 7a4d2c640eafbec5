"""The cached byte-level BPE path gives exactly the ids of ``tokenizers`` (the oracle), and
steps aside where it could not be exact."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from valuealign.curate.bpe import (
    _WHITE_SPACE,
    ByteLevelBPE,
    _is_plain_byte_level,
    stable_characters,
)
from valuealign.curate.pack import (
    DEFAULT_TOKENIZER,
    load_tokenizer,
    resolve_tokenizer_folder,
    tokenize_documents,
)

tokenizers = pytest.importorskip("tokenizers")

CONTEXTS = (
    "a{c}b",
    "{c}",
    " {c}",
    "1{c}2",
    "!{c}?",
    "{c}{c} x",
    " {c} ",
    "x  {c}  y\n",
    "'{c}'s",
    "中{c}文",
    "{c}\n\n{c}",
)

MIXED = [
    "The council's budget—$1,250,000—was approved on 3 May; it'll fund 12 new buses.",
    "城市图书馆最近推出了夜间阅读服务，每天晚上开放到十一点。管理员介绍：“周末的座位常常供不应求。”",
    "Mixed 中英 text: 政府 said it's 'fine' (really?)   spaced   out\n\n\tnew paragraph ...",
    "numbers 3.14159 and 2024年10月1日, ① ② ³ Ⅻ, full-width ＡＢＣ１２３ and ，。？！",
    "   leading spaces and trailing ones   ",
    "I'M LOUD 'S 'T 'RE we've they'd you'll",
    "Ünïcödé ñ ß ø å æ œ — Ελληνικά русский текст עברית العربية हिन्दी ไทย",
    "",
    "\n",
    "a\u00a0b\u2003c\u3000d\u0085e\u2028f",
]


@pytest.fixture(scope="module")
def hf() -> tokenizers.Tokenizer:
    return tokenizers.Tokenizer.from_file(str(_tokenizer_json()))


@pytest.fixture(scope="module")
def fast(hf: tokenizers.Tokenizer) -> ByteLevelBPE:
    bpe = ByteLevelBPE.for_tokenizer(hf, _tokenizer_json())
    assert bpe is not None, "the default tokenizer is plain byte-level BPE"
    return bpe


def _tokenizer_json() -> Path:
    return resolve_tokenizer_folder(DEFAULT_TOKENIZER) / "tokenizer.json"


def _docs(code_points: tuple[int, ...] | list[int], per_doc: int = 200) -> list[str]:
    docs = []
    for k in range(0, len(code_points), per_doc):
        chunk = [chr(c) for c in code_points[k : k + per_doc]]
        for tpl in CONTEXTS:
            docs.append(" ".join(tpl.format(c=c) for c in chunk))
            docs.append("".join(tpl.format(c=c) for c in chunk))
    return docs


def _check(hf: tokenizers.Tokenizer, fast: ByteLevelBPE, docs: list[str]) -> None:
    ref = [e.ids for e in hf.encode_batch(docs, add_special_tokens=True)]
    for doc, ids in zip(docs, ref, strict=True):
        assert fast.usable(doc), repr(doc[:60])
        assert fast.encode_one(doc) == ids, repr(doc[:60])


def test_sample_of_stable_characters_in_context(hf, fast) -> None:
    stable = stable_characters()
    assert len(stable) > 90_000  # Latin, Greek, Cyrillic, CJK (basic, A, B), punctuation ...
    assert ord("中") in stable and ord("，") in stable and 0x1F600 not in stable  # no emoji
    # every ASCII and Latin-1 character, the white space, and a spread over the rest
    sample = sorted({*range(0x100), *_WHITE_SPACE, *stable[::37]} & set(stable))
    _check(hf, fast, _docs(sample))
    # ASCII text has a pattern of its own
    ascii_docs = [d for d in _docs(range(0x80), per_doc=0x80) if d.isascii()]
    assert len(ascii_docs) == 2 * (len(CONTEXTS) - 1)
    _check(hf, fast, ascii_docs)


@pytest.mark.slow
def test_every_stable_character_in_context(hf, fast) -> None:
    _check(hf, fast, _docs(stable_characters()))


def test_mixed_text_and_the_cache(hf, fast) -> None:
    docs = [d for d in MIXED if fast.usable(d)]
    assert len(docs) >= len(MIXED) - 1  # only the emoji-free, stable ones
    _check(hf, fast, docs)
    _check(hf, fast, docs)  # a second time, from the cache
    assert "城市图书馆最近推出了夜间阅读服务" in fast.cache


def test_unstable_characters_and_added_tokens_go_to_tokenizers(hf, fast) -> None:
    tok = load_tokenizer(DEFAULT_TOKENIZER)
    texts = [
        "a smile 😀 here",  # emoji: not in Unicode 3.2
        "the end <|endoftext|> and more",  # an added token, matched before splitting
        "<|im_start|>user\nhello<|im_end|>",
        "just <| not a token |>",
        *MIXED,
    ]
    assert not fast.usable(texts[0]) and not fast.usable(texts[1]) and not fast.usable(texts[2])
    assert fast.usable(texts[3])
    expected = [e.ids for e in hf.encode_batch(texts, add_special_tokens=True)]
    assert tok.encode_batch(texts) == expected
    assert expected[1].count(hf.token_to_id("<|endoftext|>")) == 1


def test_only_plain_byte_level_pipelines_qualify() -> None:
    config = json.loads(_tokenizer_json().read_text(encoding="utf-8"))
    assert _is_plain_byte_level(config)
    changes = [
        ("normalizer", {"type": "NFC"}),
        ("pre_tokenizer", {**config["pre_tokenizer"], "add_prefix_space": True}),
        ("pre_tokenizer", {"type": "Metaspace"}),
        ("model", {**config["model"], "dropout": 0.1}),
        ("model", {**config["model"], "byte_fallback": True}),
        (
            "post_processor",
            {
                "type": "TemplateProcessing",
                "single": [
                    {"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}},
                    {"Sequence": {"id": "A", "type_id": 0}},
                ],
            },
        ),
        ("truncation", {"max_length": 8}),
    ]
    for key, value in changes:
        assert not _is_plain_byte_level({**config, key: value}), key


def test_space_separated_chunks_give_the_same_ids(hf: tokenizers.Tokenizer) -> None:
    """ASCII text is encoded chunk by chunk between single spaces (a cache per chunk); the
    ids are those of ``tokenizers`` whatever the spacing, with the chunk cache cold and warm."""
    import random

    fast = ByteLevelBPE.for_tokenizer(hf, _tokenizer_json())
    assert fast is not None
    rng = random.Random(0)
    atoms = [
        *"abcXYZ019.,;:!?'\"-()$%&*/\\",
        "the", "The", "don't", "it's", "we'll", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d",
        "1,250", "3.14", "e-mail", "U.S.", "...", "--", "\n", "\n\n", "\t", "  ", " \n", "\r\n",
    ]  # fmt: skip
    docs = []
    for _ in range(4000):
        words = [
            "".join(rng.choices(atoms, k=rng.randint(1, 4))) for _ in range(rng.randint(1, 30))
        ]
        docs.append(" ".join(words) if rng.random() < 0.8 else "".join(words))
    docs += [" lead", "trail ", "a b", "a  b", "a\n b", "a \nb", "x 's y", "it 'll", "\n a"]
    ref = [e.ids for e in hf.encode_batch(docs, add_special_tokens=True)]
    for _ in range(2):  # cold, then warm
        for doc, ids in zip(docs, ref, strict=True):
            assert fast.encode_one(doc) == ids, repr(doc)
    assert fast.spaced  # the chunk path was taken


def test_flat_token_array_matches_tokenizers(hf: tokenizers.Tokenizer) -> None:
    """``tokenize_documents`` joins int32 bytes on the fast path; the array is the oracle's
    ids with one EOS after each document, fast and slow documents interleaved, over several
    batches, cold and warm."""
    tok = load_tokenizer(DEFAULT_TOKENIZER)
    assert tok.encode_flat is not None
    texts = [*MIXED, "a smile 😀 here", "the end <|endoftext|> and more", *MIXED] * 3
    expected: list[int] = []
    for e in hf.encode_batch(texts, add_special_tokens=True):
        expected += [*e.ids, tok.eos_id]
    for _ in range(2):
        got = tokenize_documents(tok, texts, batch=7)
        assert got.dtype == np.int32 and got.flags.writeable
        assert got.tolist() == expected
    assert tokenize_documents(tok, []).size == 0
