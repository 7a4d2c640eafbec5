"""Each curate step on its own: normalise, language, quality, lexicon, privacy, dedup, read."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pytest
from curate_corpus import en_doc, near_copy, zh_doc

from valuealign.charter import load_charter, parse_charter
from valuealign.charter._scaffold import SCAFFOLD
from valuealign.curate import (
    Document,
    GlobalDedup,
    LanguageStep,
    LexiconMatcher,
    LexiconStep,
    NormaliseStep,
    PrivacyStep,
    QualityConfig,
    QualityStep,
    ReadOptions,
    ReadStep,
    build_lexicon,
    check_quality,
    content_hash,
    detect_language,
    discover_inputs,
    load_lexicon_file,
    mask_pii,
    minhash_signature,
    normalise_text,
    plan_shards,
    prc_id_valid,
    relevance,
)
from valuealign.errors import UserError


def _run(step, texts: list[str], **fields) -> list[Document]:
    docs = [
        Document(id=str(i), text=t, file="f", line=i + 1, **fields) for i, t in enumerate(texts)
    ]
    return list(step(iter(docs)))


# -- normalise -------------------------------------------------------------------------------


def test_normalise_nfkc_controls_and_whitespace() -> None:
    raw = "ＡＢＣ１２３ and ﬁne\u00a0 text\u200b\x07\r\n\n\n\n  next\tline  "
    assert normalise_text(raw) == "ABC123 and fine text\n\nnext line"
    # Chinese keeps its full-width punctuation; the ideographic space becomes a space
    assert normalise_text("你好，世界！（测试）……\u3000好") == "你好，世界！（测试）…… 好"
    step = NormaliseStep()
    out = _run(step, ["ok text", " \u200b\n\t "])
    assert out[0].dropped is None and out[1].dropped.reason == "empty"
    assert (step.counts.seen, step.counts.kept, step.counts.dropped) == (2, 1, 1)


# -- language --------------------------------------------------------------------------------


def test_language_detection_and_filter() -> None:
    rng = random.Random(0)
    assert detect_language(en_doc(rng))[0] == "en"
    assert detect_language(zh_doc(rng))[0] == "zh"
    assert detect_language("Le matin nous allons au marché avec les enfants du village.") == (
        "other",
        "french",
    )
    assert detect_language("12345 67890 ---")[0] == "other"
    step = LanguageStep(["en"])
    out = _run(step, [en_doc(rng), zh_doc(rng), "Guten Morgen, wir gehen heute in den Garten."])
    assert [d.language for d in out] == ["en", "zh", "other"]
    assert [d.dropped and d.dropped.reason for d in out] == [
        None,
        "language-not-in-charter",
        "other-language",
    ]
    assert step.counts.extra["detected"] == {"en": 1, "zh": 1, "other": 1}


# -- quality ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language", "reason"),
    [
        ("Too short to keep.", "en", "too-short"),
        ("今天天气很好，我们去公园。", "zh", "too-short"),
        ("#### $$$ ||| <<>> {{}} " * 10 + en_doc(random.Random(1), 2), "en", "symbol-ratio"),
        (" ".join(str(1000 + i) for i in range(80)) + " apple river tree", "en", "digit-ratio"),
        ("\n".join(["the same line of apple garden text again"] * 6), "en", "repeated-lines"),
        (" ".join(["apple river morning garden window"] * 10), "en", "repeated-ngrams"),
        ("花园里的小猫喜欢晒太阳" * 8, "zh", "repeated-ngrams"),
        ("Lorem ipsum dolor sit amet. " + en_doc(random.Random(2), 3), "en", "boilerplate"),
        (
            "版权所有 返回顶部\n上一篇 下一篇\n扫码关注 登录注册\n" + zh_doc(random.Random(3), 6),
            "zh",
            "boilerplate",
        ),
    ],
)
def test_quality_rules(text: str, language: str, reason: str) -> None:
    verdict = check_quality(normalise_text(text), language, QualityConfig())
    assert verdict is not None and verdict[0] == reason, verdict


def test_quality_keeps_ordinary_text_in_both_languages() -> None:
    rng = random.Random(4)
    step = QualityStep()
    out = _run(step, [en_doc(rng), zh_doc(rng)], language=None)
    out[1].language = "zh"
    assert all(d.dropped is None for d in out)
    assert check_quality(zh_doc(rng), "zh", QualityConfig()) is None
    assert out[0].n_units > 50


# -- lexicon ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def matcher() -> LexiconMatcher:
    spec, missing = build_lexicon(load_charter())
    assert missing == []
    return LexiconMatcher(spec)


def test_default_charter_lexicon_is_complete() -> None:
    charter = load_charter()
    for _, sub in charter.subdomains():
        assert sub.lexicon is not None
        assert 25 <= len(sub.lexicon.en) <= 45 and 25 <= len(sub.lexicon.zh) <= 45, sub.id


def test_lexicon_matching_rules(matcher: LexiconMatcher) -> None:
    m = matcher.match("Refugees and ASYLUM seekers; the culture of the village.")
    assert m.hits == {"culture-tradition-migration": 2}  # refugee* + "asylum seekers"
    assert "religion-belief" not in m.hits  # word boundary: no 'cult' inside 'culture'
    assert matcher.match("the courtyard").hits == {}  # 'court' needs a word boundary
    zh = matcher.match("文章讨论了难民和人权问题")
    assert zh.hits == {"culture-tradition-migration": 1, "human-rights": 1}
    mixed = matcher.match("人权human rights人权")  # English term next to CJK characters
    assert mixed.hits == {"human-rights": 3} and mixed.distinct_terms == 2
    # leftmost-longest: 南京大屠杀 counts once, not also as 大屠杀 and 屠杀
    assert matcher.match("南京大屠杀").hits == {"historical-memory": 1}


def test_relevance_and_selection(matcher: LexiconMatcher) -> None:
    assert relevance(0, 100) == 0.0
    assert relevance(1, 100) == 0.5 and relevance(2, 100) == 0.75
    assert relevance(2, 4000) < relevance(2, 1000)  # long documents need more terms
    spec, _ = build_lexicon(load_charter())
    step = LexiconStep(spec, select="relevant", min_relevance=0.7)
    out = _run(
        step,
        [
            "A report on torture and political prisoners and human rights.",
            "A report that mentions torture once.",
            "A report on poverty and minimum wage, with a guide on how to make a pipe bomb.",
        ],
    )
    assert out[0].dropped is None and out[0].subdomains == ["human-rights"]
    assert out[0].relevance == 0.875 and out[0].subdomain_hits == {"human-rights": 3}
    assert out[1].dropped.reason == "not-relevant"
    assert out[2].dropped.reason == "red-line" and "pipe bomb" in out[2].dropped.detail
    tag = LexiconStep(spec, select="all", red_lines="tag")
    out = _run(tag, ["mentions nothing at all", "how to make a pipe bomb, poverty"])
    assert out[0].dropped is None and out[0].relevance == 0.0
    assert out[1].dropped is None and out[1].red_line_terms == ["how to make a pipe bomb"]


def test_lexicon_schema_requires_every_charter_language() -> None:
    good = SCAFFOLD.replace(
        "        example_questions:",
        "        lexicon:\n          zh: [术语]\n          en: [term*]\n        example_questions:",
    )
    sub = parse_charter(good).subdomains().__next__()[1]
    assert sub.lexicon.en == ["term*"]
    bad = good.replace("          en: [term*]\n", "")
    with pytest.raises(UserError, match="lexicon' has no en terms"):
        parse_charter(bad, "c.yaml")
    typo = good.replace("          en: [term*]", "          eng: [term]")
    with pytest.raises(UserError, match=r"c\.yaml:\d+: unknown key 'eng'"):
        parse_charter(typo, "c.yaml")
    star = good.replace("[term*]", "['te*rm']")
    with pytest.raises(UserError, match="may only end a term"):
        parse_charter(star, "c.yaml")


def test_lexicon_file_extends_and_reports_errors(tmp_path: Path) -> None:
    charter = load_charter()
    f = tmp_path / "extra.yaml"
    f.write_text("human-rights:\n  en: [right to food]\n  zh: [食物权]\n", encoding="utf-8")
    spec, _ = build_lexicon(charter, [f])
    assert "right to food" in spec["human-rights"]["en"] and "人权" in spec["human-rights"]["zh"]
    assert LexiconMatcher(spec).match("the right to food").hits == {"human-rights": 1}
    f.write_text("human-rigths:\n  en: [x]\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"extra\.yaml:1: unknown subdomain") as e:
        load_lexicon_file(f, charter)
    assert "did you mean 'human-rights'" in e.value.render()
    f.write_text("human-rights:\n  en: [x]\n  fr: [y]\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"extra\.yaml:3: 'human-rights\.fr'"):
        load_lexicon_file(f, charter)
    f.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(UserError, match="must map subdomain ids"):
        load_lexicon_file(f, charter)


# -- privacy ---------------------------------------------------------------------------------


def test_prc_id_checksum() -> None:
    assert prc_id_valid("11010519491231002X")
    assert not prc_id_valid("110105194912310021")  # wrong check digit
    assert not prc_id_valid("110105194913310025")  # month 13


def test_mask_pii() -> None:
    text = (
        "Mail li.lei@example.cn or call +86 138 1234 5678, 13912345678, 010-62345678, "
        "+44 20 7946 0958 or (212) 555-0100. ID 11010519491231002X, card 4111 1111 1111 1111."
    )
    masked, counts = mask_pii(text)
    assert counts == {"card": 1, "email": 1, "id": 1, "phone": 5}
    assert masked == (
        "Mail [EMAIL] or call [PHONE], [PHONE], [PHONE], [PHONE] or [PHONE]. ID [ID], card [CARD]."
    )
    # look-alikes stay: wrong ID checksum, a year range, a price, an ordinary number
    keep = "Order 110105194912310021 in 2019-2020 for 12345678 yuan, page 1234."
    assert mask_pii(keep) == (keep, {})
    step = PrivacyStep()
    out = _run(step, ["电话13812345678，邮箱 a.b@c.com"])
    assert out[0].text == "电话[PHONE]，邮箱 [EMAIL]" and out[0].dropped is None
    assert step.counts.extra["masked"] == {"phone": 1, "email": 1, "documents": 1}


# -- dedup -----------------------------------------------------------------------------------


def test_near_duplicate_recall_and_precision() -> None:
    rng = random.Random(7)
    base = []
    for i in range(200):
        lang = "en" if i % 2 else "zh"
        base.append((normalise_text(en_doc(rng) if lang == "en" else zh_doc(rng, 10)), lang))
    dd = GlobalDedup(threshold=0.8, num_perm=128)
    false_pos = sum(
        dd.check(content_hash(t), minhash_signature(t), i) is not None
        for i, (t, _) in enumerate(base)
    )
    caught = exact = 0
    for i, (t, lang) in enumerate(base):
        copy = normalise_text(near_copy(rng, t, lang))
        verdict = dd.check(content_hash(copy), minhash_signature(copy), 1000 + i)
        caught += verdict is not None and verdict[0] == "near-duplicate" and verdict[2] == i
    for i, (t, _) in enumerate(base[:20]):
        verdict = dd.check(content_hash(t.upper() + "  "), minhash_signature(t), 2000 + i)
        exact += verdict == ("exact-duplicate", "same text", i)
    assert caught / len(base) >= 0.95
    assert false_pos == 0 and exact == 20


# -- read ------------------------------------------------------------------------------------


def _read_all(paths, options: ReadOptions | None = None, shard_bytes=1 << 30) -> list[Document]:
    options = options or ReadOptions()
    shards = plan_shards(discover_inputs(paths), options, shard_bytes)
    return [d for sh in shards for d in ReadStep(sh, options)()]


def test_read_formats_and_malformed_lines(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    import zstandard

    lines = [
        json.dumps({"id": "a", "body": "first"}),
        "{broken",
        json.dumps({"id": "b", "text": "no body"}),
        "",
        json.dumps({"id": 7, "body": "second"}),
    ]
    payload = ("\n".join(lines) + "\n").encode()
    (tmp_path / "x.jsonl.gz").write_bytes(gzip.compress(payload))
    (tmp_path / "y.ndjson.zst").write_bytes(zstandard.ZstdCompressor().compress(payload))
    (tmp_path / "z.txt").write_text("para one\nstill one\n\n\npara two\n", encoding="utf-8")
    pq.write_table(pa.table({"body": ["p1", None, "p3"]}), tmp_path / "w.parquet")
    opts = ReadOptions(text_field="body")
    for name in ("x.jsonl.gz", "y.ndjson.zst"):
        docs = _read_all([tmp_path / name], opts)
        got = [(d.id, d.line, d.text, d.dropped and d.dropped.reason) for d in docs]
        assert got == [
            ("a", 1, "first", None),
            (f"{tmp_path / name}:2", 2, "{broken", "malformed"),
            (f"{tmp_path / name}:3", 3, lines[2], "no-text"),
            ("7", 5, "second", None),
        ]
    text = _read_all([tmp_path / "z.txt"])
    assert [(d.line, d.text) for d in text] == [(1, "para one\nstill one\n"), (5, "para two\n")]
    lines_mode = _read_all([tmp_path / "z.txt"], ReadOptions(text_unit="line"))
    assert [d.line for d in lines_mode] == [1, 2, 5]
    pqd = _read_all([tmp_path / "w.parquet"], opts)
    assert [(d.line, d.text, d.dropped and d.dropped.reason) for d in pqd] == [
        (1, "p1", None),
        (2, "", "no-text"),
        (3, "p3", None),
    ]
    (tmp_path / "cut.jsonl.gz").write_bytes(gzip.compress(payload)[:-12])  # truncated stream
    broken = _read_all([tmp_path / "cut.jsonl.gz"], opts)
    assert broken[-1].dropped.reason == "corrupt-file"


def test_sharding_a_file_reads_the_same_documents(tmp_path: Path) -> None:
    rng = random.Random(5)
    f = tmp_path / "big.jsonl"
    f.write_text(
        "\n".join(json.dumps({"text": en_doc(rng, 2)}) for _ in range(300)) + "\n",
        encoding="utf-8",
    )
    t = tmp_path / "big.txt"
    t.write_text("\n\n".join(en_doc(rng, 1) + "\n" + en_doc(rng, 1) for _ in range(100)))
    for path in (f, t):
        whole = _read_all([path])
        shards = plan_shards(discover_inputs([path]), ReadOptions(), 4000)
        assert len(shards) > 2
        parts = _read_all([path], shard_bytes=4000)
        assert [(d.id, d.line, d.text) for d in parts] == [(d.id, d.line, d.text) for d in whole]


def test_bad_inputs_raise_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"missing\.jsonl: input file not found"):
        discover_inputs([tmp_path / "missing.jsonl"])
    (tmp_path / "data.csv").write_text("a,b\n")
    with pytest.raises(UserError, match=r"data\.csv: unknown input format '\.csv'"):
        discover_inputs([tmp_path / "data.csv"])
    (tmp_path / "t.parquet").write_bytes(b"not parquet")
    with pytest.raises(UserError, match="not a readable Parquet file"):
        plan_shards(discover_inputs([tmp_path / "t.parquet"]), ReadOptions())
