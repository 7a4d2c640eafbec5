"""A synthetic mixed zh/en corpus with planted cases, for the curate tests.

Base documents are random sentences over everyday vocabularies (no charter terms), so any two
of them are far apart; planted documents add charter terms, duplicates, near-duplicates,
off-language text, junk, PII, red-line phrases and malformed lines. ``make_corpus`` returns the
JSONL lines and a key saying what each planted record is; ``write_corpus`` writes it (plus a
second, zstd-compressed text file that repeats one document) and ``output_bytes`` collects a
run's output files for byte-for-byte comparisons.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

import zstandard

from valuealign.curate import CurateSettings

EN_WORDS = """
apple river morning garden window kitchen letter table bottle market summer winter yellow
basket bridge candle coffee friend forest journey ladder meadow orange pencil planet rabbit
shadow silver stone sugar teacher thunder valley village wooden blanket button carpet cloud
cookie desert dinner engine feather finger flower glass guitar hammer honey island jacket
kettle lemon mirror monkey mountain needle ocean painter parrot pillow pocket potato puzzle
rainbow ribbon saddle sailor sandwich scarf season shovel singer sister sketch snow spoon
spring squirrel stairs station storm stove string student sunset sweater tiger tomato tower
train tunnel umbrella uncle vessel violin wagon walnut water whistle wind wolf yard zebra
quiet gentle bright heavy narrow simple early late slowly quickly softly happily carefully
walked carried painted opened cooked planted listened watched cleaned counted followed
jumped laughed noticed borrowed folded repaired visited climbed baked gathered shared
near under behind across beside through around above along toward
small large warm cold green blue round square sweet sour fresh old young busy calm happy
the a an and but then with from into over after before while because every some many
""".split()

ZH_WORDS = """
早上 下午 晚上 今天 明天 昨天 春天 夏天 秋天 冬天 花园 厨房 窗户 桌子 椅子 杯子 茶壶 米饭
面条 饺子 苹果 香蕉 西瓜 葡萄 橘子 蔬菜 鸡蛋 牛奶 面包 蛋糕 咖啡 果汁 公园 湖边 河流 山坡
小路 桥梁 树林 草地 花朵 叶子 石头 沙子 云朵 雨水 阳光 月亮 星星 风筝 自行车 火车 汽车 飞机
朋友 同学 老师 邻居 孩子 爷爷 奶奶 妈妈 爸爸 姐姐 弟弟 小猫 小狗 兔子 鸭子 金鱼 鸟儿 熊猫
慢慢地 高兴地 认真地 安静地 轻轻地 仔细地 一起 常常 已经 马上 终于 突然 总是 偶尔 非常 特别
喜欢 看见 听到 准备 打扫 洗澡 做饭 散步 唱歌 跳舞 画画 读书 写字 种花 钓鱼 爬山 游泳 休息
温暖 凉快 干净 漂亮 新鲜 安静 热闹 简单 舒服 可爱 美丽 明亮 柔软 甜美 清新 整齐 快乐 轻松
""".split()

FR_WORDS = """
le la les un une des et mais avec pour dans sur sous chez maison jardin fenêtre cuisine
matin soir été hiver pomme rivière montagne village marché chemin pain fromage café lait
ami voisin enfant école livre table chaise porte soleil pluie vent nuage fleur arbre
toujours souvent jamais déjà bientôt très assez beaucoup petit grand beau jolie calme
mange regarde écoute prépare marche chante lit écrit ouvre ferme habite travaille
""".split()

# (subdomain, English terms, Chinese terms) taken from the default charter's lexicon
TOPICS = [
    (
        "human-rights",
        ["human rights", "torture", "political prisoners"],
        ["人权", "酷刑", "政治犯"],
    ),
    (
        "expression-information",
        ["censorship", "press freedom", "fake news"],
        ["新闻自由", "审查", "谣言"],
    ),
    (
        "culture-tradition-migration",
        ["refugees", "immigration", "asylum"],
        ["难民", "移民", "春节"],
    ),
    ("religion-belief", ["religious freedom", "mosque", "buddhism"], ["宗教", "清真寺", "佛教"]),
    ("social-equity", ["poverty", "minimum wage", "disability"], ["贫困", "最低工资", "残疾人"]),
    (
        "sovereignty-territory",
        ["sovereignty", "border dispute", "south china sea"],
        ["主权", "领土争端", "南海"],
    ),
]


def en_sentence(rng: random.Random, n: int | None = None) -> str:
    words = [rng.choice(EN_WORDS) for _ in range(n or rng.randint(8, 14))]
    return " ".join(words).capitalize() + "."


def zh_sentence(rng: random.Random, n: int | None = None) -> str:
    return "".join(rng.choice(ZH_WORDS) for _ in range(n or rng.randint(8, 14))) + "。"


def en_doc(rng: random.Random, sentences: int = 8) -> str:
    return " ".join(en_sentence(rng) for _ in range(sentences))


def zh_doc(rng: random.Random, sentences: int = 8) -> str:
    return "".join(zh_sentence(rng) for _ in range(sentences))


def fr_doc(rng: random.Random) -> str:
    return " ".join(
        " ".join(rng.choice(FR_WORDS) for _ in range(rng.randint(8, 12))).capitalize() + "."
        for _ in range(6)
    )


def relevant_doc(rng: random.Random, lang: str, topic: int | None = None) -> tuple[str, str]:
    sub, en_terms, zh_terms = TOPICS[rng.randrange(len(TOPICS)) if topic is None else topic]
    if lang == "en":
        parts = [en_sentence(rng) for _ in range(7)]
        for term in en_terms:
            i = rng.randrange(len(parts))
            parts[i] = parts[i][:-1] + f" and {term}."
        return sub, " ".join(parts)
    parts = [zh_sentence(rng) for _ in range(10)]
    for term in zh_terms:
        i = rng.randrange(len(parts))
        parts[i] = parts[i][:-1] + f"，谈到{term}。"
    return sub, "".join(parts)


def near_copy(rng: random.Random, text: str, lang: str) -> str:
    """Change a few words (en) or characters (zh) and add a short tail."""
    if lang == "en":
        words = text.split(" ")
        for _ in range(3):
            words[rng.randrange(len(words))] = rng.choice(EN_WORDS)
        return " ".join(words) + " " + en_sentence(rng, 5)
    chars = list(text)
    for _ in range(2):
        i = rng.randrange(len(chars))
        if chars[i] not in "，。":
            chars[i] = rng.choice("天地人山水花草木风雨")
    return "".join(chars) + zh_sentence(rng, 2)


@dataclass
class Corpus:
    lines: list[str] = field(default_factory=list)
    kind: dict[str, str] = field(default_factory=dict)  # id -> what was planted
    original_of: dict[str, str] = field(default_factory=dict)  # copy id -> original id
    subdomain: dict[str, str] = field(default_factory=dict)

    def add(self, ident: str, text: str, kind: str, **extra: str) -> None:
        self.lines.append(json.dumps({"id": ident, "text": text, **extra}, ensure_ascii=False))
        self.kind[ident] = kind

    def ids(self, kind: str) -> set[str]:
        return {i for i, k in self.kind.items() if k == kind}


JUNK = [
    ("junk-symbols", "#### $$$ ||| <<>> {{}} ~~~ ^^^ @@@ " * 12 + en_doc(random.Random(1), 2)),
    ("junk-digits", " ".join(str(10_000 + i * 37) for i in range(120)) + " total apple river."),
    ("junk-lines", "\n".join(["Subscribe to our newsletter for more apple news today"] * 12)),
    ("junk-lorem", "Lorem ipsum dolor sit amet. " + en_doc(random.Random(2), 4)),
    ("junk-short", "Too short to keep."),
    ("junk-zh-short", "今天天气很好。"),
    (
        "junk-zh-boiler",
        "\n".join(
            [
                "版权所有 上一篇 下一篇 返回顶部",
                "扫码关注我们 登录 注册 分享到",
                zh_sentence(random.Random(3)),
            ]
            * 3
        )
        + "\n"
        + "".join(zh_sentence(random.Random(4 + i)) for i in range(2)),
    ),
    ("junk-ngrams", " ".join(["the garden window kitchen letter table bottle"] * 8)),
]

PII_EN = "Contact me at jane.roe@example.org or +44 20 7946 0958 about it."
PII_ZH = "联系电话13812345678，身份证号11010519491231002X。"
RED_EN = "Someone posted how to make a pipe bomb in the forum."


def make_corpus(seed: int = 0, n_base: int = 60, n_near: int = 20, n_exact: int = 6) -> Corpus:
    rng = random.Random(seed)
    c = Corpus()
    originals: list[tuple[str, str, str]] = []
    for i in range(n_base):
        lang = "en" if i % 2 else "zh"
        sub, text = relevant_doc(rng, lang, i % len(TOPICS))
        ident = f"rel-{i}"
        c.add(ident, text, "relevant")
        c.subdomain[ident] = sub
        originals.append((ident, text, lang))
    for i in range(n_base // 3):
        lang = "en" if i % 2 else "zh"
        c.add(f"plain-{i}", en_doc(rng) if lang == "en" else zh_doc(rng), "irrelevant")
    for i in range(n_near):
        ident, text, lang = originals[i]
        c.add(f"near-{i}", near_copy(rng, text, lang), "near")
        c.original_of[f"near-{i}"] = ident
    for i in range(n_exact):
        ident, text, _ = originals[n_near + i]
        c.add(f"exact-{i}", "  " + text.replace(" ", "  ") + "\n", "exact")
        c.original_of[f"exact-{i}"] = ident
    for i in range(4):
        c.add(f"fr-{i}", fr_doc(rng), "other-language")
    c.add(
        "ja-0",
        "今日はとても良い天気ですね。私は公園で友達と一緒にお弁当を食べました。" * 3,
        "other-language",
    )
    for ident, text in JUNK:
        c.add(ident, text, "junk")
    _, text = relevant_doc(rng, "en", 0)
    c.add("pii-en", text + " " + PII_EN, "pii")
    _, text = relevant_doc(rng, "zh", 0)
    c.add("pii-zh", text + PII_ZH, "pii")
    _, text = relevant_doc(rng, "en", 1)
    c.add("red-en", text + " " + RED_EN, "red-line")
    c.lines.append("{this is not json")
    c.kind["<malformed>"] = "malformed"
    c.lines.append(json.dumps({"id": "no-text", "body": "the text is under another key"}))
    c.kind["no-text"] = "malformed"
    # a deterministic shuffle keeps originals before their copies where it matters
    head, tail = c.lines[:n_base], c.lines[n_base:]
    rng.shuffle(tail)
    c.lines = head + tail
    return c


# small shards so that a 70 kB corpus is cut into several, as a big one would be
SETTINGS = CurateSettings(seq_len=128, shard_mb=0.01, rows_per_file=40)


@dataclass
class Reference:
    corpus: Corpus
    inputs: list[Path]
    out: Path
    stats: dict
    settings: CurateSettings
    cross_file_copy: str  # the text in extra.txt.zst that repeats a corpus.jsonl document


def write_corpus(folder: Path) -> tuple[Corpus, list[Path], str]:
    folder.mkdir(parents=True, exist_ok=True)
    corpus = make_corpus(seed=0)
    main = folder / "corpus.jsonl"
    main.write_text("\n".join(corpus.lines) + "\n", encoding="utf-8")
    rng = random.Random(99)
    copied = json.loads(corpus.lines[3])["text"]  # a relevant base document
    paragraphs = [relevant_doc(rng, "en", 2)[1], en_doc(rng), copied, relevant_doc(rng, "en", 4)[1]]
    extra = folder / "extra.txt.zst"
    extra.write_bytes(zstandard.ZstdCompressor().compress("\n\n".join(paragraphs).encode()))
    return corpus, [main, extra], copied


def output_bytes(out: Path) -> dict[str, bytes]:
    """Every curated, packed and audit file, by relative path (stats hold timings: left out)."""
    files = {}
    for sub in ("curated", "packed", "audit"):
        for f in sorted((out / sub).rglob("*")):
            if f.is_file():
                files[str(f.relative_to(out))] = f.read_bytes()
    return files
