"""The fast paths of curation keep the chain's decisions: kept documents on a planted fixture,
the language fast path against lingua, signatures in bulk, leftmost-longest lexicon matching,
compressed inputs split across shards."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import numpy as np
import zstandard
from curate_corpus import en_doc

from valuealign.curate import (
    CurateSettings,
    LexiconMatcher,
    ReadOptions,
    ReadStep,
    content_hash,
    discover_inputs,
    minhash_signature,
    plan_shards,
    run_curate,
)
from valuealign.curate.dedup import GlobalDedup, sign_documents
from valuealign.curate.steps import _lingua, clear_language, normalise_text

# -- a fixture of planted cases and the documents the chain keeps -----------------------------

EN_A = (
    "The river town held its harvest festival on the first weekend of autumn. Farmers brought "
    "apples, pears and pumpkins from the valley, and the school choir sang in the square while "
    "volunteers served soup to visitors. The mayor thanked the families who had repaired the old "
    "bridge before the rains came, and the museum opened a small exhibition about the mills that "
    "once lined the water."
)
EN_B = (
    "Researchers at the coastal laboratory measured how quickly sea grass recovers after a storm. "
    "They planted small plots along the shore, returned every month with cameras and rulers, and "
    "found that the meadows closest to the harbour grew back more slowly than those near the "
    "open beach. The team thinks that muddy water from the port blocks the light the young "
    "shoots need."
)
EN_C = (
    "A library in the hill district started lending tools as well as books. Residents can borrow "
    "a ladder, a drill or a sewing machine for a week with the same card they use for novels. "
    "The librarian said that the most popular item this winter was a snow shovel, followed by a "
    "bread oven that a retired baker donated to the collection last spring."
)
ZH_A = (
    "山区的小学今年秋天开设了一门新的课程，学生们每周两次走进附近的茶园，跟着老茶农学习采摘和炒制茶叶。"
    "老师说，孩子们在劳动中认识了家乡的土地，也学会了耐心和合作。家长们对这门课程评价很高，"
    "希望学校明年能把它扩展到更多的年级。"
)
ZH_B = (
    "城市图书馆最近推出了夜间阅读服务，每天晚上开放到十一点。管理员介绍，下班后的年轻人和准备考试的学生"
    "是主要读者，周末的座位常常供不应求。为了方便市民，图书馆还在地铁站旁设置了自助借还书机，"
    "读者可以随时归还借阅的书籍。"
)
ZH_C = (
    "沿海渔村的居民正在尝试新的养殖方式。他们在海湾里放置了人工礁石，吸引鱼群栖息繁殖，"
    "同时减少了对近海资源的过度捕捞。村里的合作社负责统一销售海产品，收入按照各家投入的劳动分配，"
    "渔民们说生活比以前更加稳定了。"
)
FIXTURE: list[tuple[str, str]] = [
    ("en-a", EN_A),
    ("zh-a", ZH_A),
    ("en-b", EN_B),
    ("zh-b", ZH_B),
    # an exact copy up to case and spacing: the later one goes
    ("en-a-exact", "  " + EN_A.upper().replace(" ", "   ") + "  "),
    # one word changed near the end of a long document: a near-duplicate of en-b
    ("en-b-near", EN_B.replace("young shoots", "young plants")),
    # one character changed: a near-duplicate of zh-b
    ("zh-b-near", ZH_B.replace("十一点", "十二点")),
    # mixed text the fast path hands to lingua: mostly Chinese with an English sentence (zh),
    # English with a short Chinese phrase (en)
    ("zh-quote", ZH_C + " The villagers call it the new way of the sea."),
    ("en-quote", EN_C + " The sign above the door reads 借书 in large letters."),
    # other languages: French without accents (ASCII, so it must not be taken for English),
    # French with accents, Japanese with kana
    (
        "fr-ascii",
        "Le conseil de la ville a vote pour une nouvelle piste cyclable le long de la riviere. "
        "Les habitants sont contents mais les commercants de la rue principale pensent que les "
        "clients auront plus de mal a se garer devant leurs magasins pendant les travaux.",
    ),
    (
        "fr-accents",
        "Les élèves du lycée ont préparé une exposition sur l'histoire du quartier. Ils ont "
        "interrogé les anciens habitants et photographié les façades des maisons les plus âgées "
        "avant leur rénovation prévue l'année prochaine.",
    ),
    (
        "ja",
        "町の図書館では、今年の夏から子どもたちのための読書会を始めました。毎週土曜日の午前中に、"
        "ボランティアの人たちが絵本を読み聞かせています。参加した子どもたちはとても楽しそうでした。",
    ),
    # quality: too short, and a hard boilerplate marker
    (
        "en-short",
        "The new bridge over the river opened on Tuesday morning after two years of work.",
    ),
    (
        "en-boiler",
        EN_C.replace("library", "shop") + "\nPlease enable JavaScript to view this page.",
    ),
]
# by the rules, not by running the code: the first copy of each text is kept; copies, other
# languages, short and boilerplate texts are dropped; mixed texts keep their main language
EXPECTED_KEPT = ["en-a", "zh-a", "en-b", "zh-b", "zh-quote", "en-quote"]
EXPECTED_DROPS = {
    "en-a-exact": "exact-duplicate",
    "en-b-near": "near-duplicate",
    "zh-b-near": "near-duplicate",
    "fr-ascii": "other-language",
    "fr-accents": "other-language",
    "ja": "other-language",
    "en-short": "too-short",
    "en-boiler": "boilerplate",
}


def test_the_chain_keeps_the_planted_documents(tmp_path: Path) -> None:
    src = tmp_path / "fixture.jsonl"
    src.write_text(
        "".join(json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n" for i, t in FIXTURE),
        encoding="utf-8",
    )
    settings = CurateSettings(select="all", seq_len=64, shard_mb=0.002)
    out = tmp_path / "out"
    run_curate([src], out, settings, workers=1, progress=False)
    kept = [
        json.loads(line)
        for part in sorted((out / "curated").glob("part-*.jsonl"))
        for line in part.read_text(encoding="utf-8").splitlines()
    ]
    assert [r["id"] for r in kept] == EXPECTED_KEPT
    assert {r["id"]: r["language"] for r in kept} == {
        "en-a": "en",
        "zh-a": "zh",
        "en-b": "en",
        "zh-b": "zh",
        "zh-quote": "zh",
        "en-quote": "en",
    }
    drops = {}
    for audit in (out / "audit").glob("*.jsonl"):
        for line in audit.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            drops[rec["id"]] = rec["reason"]
    assert drops == EXPECTED_DROPS


# -- language fast path ------------------------------------------------------------------------


def test_fast_path_decides_only_clear_text_and_agrees_with_lingua() -> None:
    clear = {"en-a": "en", "en-b": "en", "en-c": "en", "zh-a": "zh", "zh-b": "zh", "zh-c": "zh"}
    texts = dict(FIXTURE) | {"en-c": EN_C, "zh-c": ZH_C}
    for ident, code in clear.items():
        assert clear_language(texts[ident]) == code, ident
        found = _lingua().detect_language_of(texts[ident])
        assert {"CHINESE": "zh", "ENGLISH": "en"}[found.name] == code
    # mixed scripts, kana, accents, French function words and short text go to lingua
    for ident in ("zh-quote", "en-quote", "fr-ascii", "fr-accents", "ja", "en-short"):
        assert clear_language(texts[ident]) is None, ident


# -- dedup ------------------------------------------------------------------------------------


def test_bulk_signatures_equal_one_by_one_and_recall_holds() -> None:
    rng = random.Random(3)
    texts = [normalise_text(en_doc(rng)) for _ in range(50)] + [ZH_A, ZH_B, "短", ""]
    digests, sigs = sign_documents(texts)
    assert sigs.shape == (len(texts), 128) and sigs.dtype == np.uint32
    for i, t in enumerate(texts):
        assert digests[i] == content_hash(t)
        assert np.array_equal(sigs[i], minhash_signature(t))
    # 5-gram Jaccard of a one-word edit in a ~400-character text is above 0.9: always caught
    dd = GlobalDedup()
    for i in range(50):
        assert dd.check(digests[i], sigs[i], i) is None
    words = [t.split() for t in texts[:50]]
    for i, w in enumerate(words):
        w[len(w) // 2] = "zebra"
        copy = " ".join(w)
        verdict = dd.check(content_hash(copy), minhash_signature(copy), 100 + i)
        assert verdict is not None and verdict[0] == "near-duplicate" and verdict[2] == i


# -- lexicon ----------------------------------------------------------------------------------


def test_lexicon_is_leftmost_longest_without_missed_matches() -> None:
    spec = {
        "s1": {
            "en": [],
            "zh": ["中国", "中国人民", "人民银行"],
            "red_line_terms": {"en": [], "zh": []},
        },
        "s2": {"en": [], "zh": ["银行"], "red_line_terms": {"en": [], "zh": []}},
    }
    m = LexiconMatcher(spec)
    # leftmost-longest: 中国人民 wins at 0 and hides 人民银行 (which overlaps it); 银行 then
    # matches at 4
    assert m.match("中国人民银行").hits == {"s1": 1, "s2": 1}
    # a longer term that fails partway (甲甲丙乙 is not in the text) must not hide the later 乙
    spec2 = {
        "s": {
            "en": [],
            "zh": ["甲甲丙乙", "甲乙", "乙", "丙乙甲"],
            "red_line_terms": {"en": [], "zh": []},
        }
    }
    found = LexiconMatcher(spec2).match("中中甲丙乙")
    assert found.terms == {"s": {"乙"}} and found.hits == {"s": 1}


# -- compressed inputs ------------------------------------------------------------------------


def test_a_compressed_file_is_split_into_shards_that_read_the_same(tmp_path: Path) -> None:
    rng = random.Random(9)
    payload = ("\n".join(json.dumps({"text": en_doc(rng, 2)}) for _ in range(300)) + "\n").encode()
    (tmp_path / "big.jsonl").write_bytes(payload)
    (tmp_path / "big.jsonl.gz").write_bytes(gzip.compress(payload))
    (tmp_path / "big.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(payload))

    def read(name: str, shard_bytes: int) -> tuple[int, list]:
        files = discover_inputs([tmp_path / name])
        shards = plan_shards(files, ReadOptions(), shard_bytes)
        docs = [d for sh in shards for d in ReadStep(sh, ReadOptions())()]
        return len(shards), [(d.line, d.text, d.dropped) for d in docs]

    n_plain, plain = read("big.jsonl", 4000)
    assert n_plain > 5
    for name in ("big.jsonl.gz", "big.jsonl.zst"):
        n, docs = read(name, 4000)
        assert n == n_plain and docs == plain  # same cuts as the uncompressed file
    # a truncated stream: the documents before the damage, then one corrupt-file record
    (tmp_path / "cut.jsonl.gz").write_bytes(gzip.compress(payload)[:-2000])
    n, docs = read("cut.jsonl.gz", 4000)
    assert n > 1
    assert docs[-1][2] is not None and docs[-1][2].reason == "corrupt-file"
    good = [d for d in docs if d[2] is None]
    assert good and good == plain[: len(good)]
