"""Throughput of `valuealign curate` on a generated mixed zh/en corpus, side by side with datatrove
running the equivalent steps (language filter, quality filter, MinHash dedup) on the same data.

The corpus is generated deterministically (seeded) from made-up sentence pools: English and
Chinese documents, some mixing both, plus junk (too short, symbol- or digit-heavy, boilerplate,
repeated lines, French or German text) and exact and near duplicates, written as JSONL shards to
benchmarks/.curate-data/ (gitignored; reused by later runs of the same size and seed).

Four measurements, in one run:

1. valuealign, the whole chain (`run_curate`, local executor, `--workers` processes, every
   document kept by the lexicon step: `select="all"`): documents/s, MB/s and MB/s per core
   overall, and per step from the CPU-seconds each step reports in stats.json;
2. valuealign, like for like: only the steps datatrove runs (read, normalise, language, quality,
   content hash + MinHash signatures, global dedup, write the survivors), built from the public
   steps of `valuealign.curate` on the same local executor;
3. the lexicon matcher alone (`LexiconMatcher`, Aho-Corasick) with a generated 10k-term lexicon
   (5k zh + 5k en terms) over ~`--lexicon-mb` MB of the corpus' text, on one core, twice: terms
   made of the corpus' own words (thousands of hits per MB) and terms that never match (the
   cost of the scan alone);
4. datatrove (its own virtual environment, benchmarks/.venv-datatrove, created by this script)
   with its LocalPipelineExecutor and the same number of workers: JsonlReader -> language filter
   -> GopherRepetitionFilter -> GopherQualityFilter -> JsonlWriter -> MinhashDedupSignature,
   then MinhashDedupBuckets, MinhashDedupCluster, and JsonlReader -> MinhashDedupFilter ->
   JsonlWriter. datatrove's LanguageFilter needs a fastText model that it downloads at run time,
   which this machine cannot do, so its language step is a datatrove filter calling lingua (the
   detector valuealign uses, same languages, same 1000-character sample).

    .venv/bin/python benchmarks/curate_throughput.py [--size-mb 1024] [--workers N]
        [--lexicon-mb 100] [--seed 0] [--skip-datatrove] [--skip-full] [--note TEXT]

Figures are printed and saved to benchmarks/results/curate_throughput.json.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import inspect
import json
import math
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
DATATROVE_VENV = HERE / ".venv-datatrove"
DATA_DIR = HERE / ".curate-data"
RESULTS = HERE / "results" / "curate_throughput.json"
GENERATOR_VERSION = 1
MB = 1 << 20

# -- word pools (made up for this benchmark; a few charter lexicon terms are mixed in) ----------

EN_FUNCTION = (
    "the the the the of of of and and and to to to a a in in is is that that with with be "
    "have for on as it by this are was from at or not"
).split()
EN_WORDS = (
    EN_FUNCTION
    + """
    people government country history culture economy society policy market city village
    river mountain school student teacher family child mother father friend worker farmer
    doctor hospital science research study report question answer problem solution idea
    change growth energy water food health education language music film book newspaper
    story museum library bridge road train station airport harbour island coast forest field
    season winter summer spring autumn morning evening night week month year century decade
    council committee minister parliament election democracy diplomacy sanctions treaty
    border region province district court judge lawyer right freedom duty law rule reform
    budget tax price wage income trade export import industry factory company business bank
    loan debt interest investment project plan strategy programme network system service
    public private local national global regional social political economic cultural
    historical scientific practical important different similar difficult simple clear
    open strong weak large small long short early late recent modern ancient traditional
    new old young high low good better best major minor common rare local central northern
    southern eastern western rural urban human natural digital careful quiet busy bright
    discuss explain describe consider suggest argue believe expect remember understand
    develop improve protect support provide require include reduce increase measure compare
    build create design produce manage organise prepare finish begin continue follow travel
    visit return arrive leave carry bring share offer receive accept refuse decide choose
    often usually sometimes rarely never always already still again together however
    therefore meanwhile although because while after before during between among within
    across against around behind beyond toward under over through without about
    many several few most some every each other another such same whole enough quite
    rather almost nearly perhaps certainly clearly finally recently quickly slowly
    community agreement conference festival harvest heritage landscape literature
    migration neighbourhood population tradition transport university volunteer weather
    """.split()
)
ZH_FUNCTION = "的 的 的 的 是 是 在 在 了 了 和 和 有 我们 这 也 都 就 对 把 被 从 为 与 及".split()
ZH_WORDS = (
    ZH_FUNCTION
    + """
    人民 政府 国家 历史 文化 经济 社会 政策 市场 城市 农村 河流 山区 学校 学生 老师 家庭
    孩子 母亲 父亲 朋友 工人 农民 医生 医院 科学 研究 报告 问题 答案 办法 想法 变化 增长
    能源 水资源 食品 健康 教育 语言 音乐 电影 书籍 报纸 故事 博物馆 图书馆 桥梁 道路 火车站
    机场 港口 岛屿 海岸 森林 田野 季节 冬天 夏天 春天 秋天 早上 晚上 今天 明天 去年 世纪
    委员会 部长 议会 选举 民主 外交 制裁 条约 边境 地区 省份 法院 法官 律师 权利 自由 责任
    法律 规则 改革 预算 税收 价格 工资 收入 贸易 出口 进口 工业 工厂 公司 企业 银行 贷款
    债务 利息 投资 项目 计划 战略 网络 系统 服务 公共 地方 全国 全球 区域 政治 传统 现代
    古代 重要 不同 相似 困难 简单 清楚 开放 强大 年轻 良好 主要 普通 中部 北方 南方 东部
    西部 乡村 城镇 自然 数字 认真 安静 忙碌 讨论 解释 描述 考虑 建议 认为 相信 希望 记得
    理解 发展 提高 保护 支持 提供 需要 包括 减少 增加 测量 比较 建设 创造 设计 生产 管理
    组织 准备 完成 开始 继续 旅行 访问 回到 到达 离开 分享 接受 拒绝 决定 选择 经常 通常
    有时 很少 从不 总是 已经 仍然 再次 一起 但是 因此 同时 虽然 因为 之后 之前 期间 之间
    许多 几个 大多数 一些 每个 其他 同样 足够 相当 几乎 也许 当然 明显 最后 最近 迅速 慢慢
    社区 协议 会议 节日 收获 遗产 风景 文学 移民 邻里 人口 交通 大学 志愿者 天气 居民
    """.split()
)
OTHER_WORDS = (
    "le la les des une dans pour avec sur est sont nous vous ils elle mais donc parce que "
    "maison ville pays travail famille enfant histoire journal matin soir toujours souvent "
    "der die das und ist nicht mit von auf für eine einen dem den wir sie aber oder weil "
    "Haus Stadt Land Arbeit Familie Kind Geschichte Zeitung Morgen Abend immer oft heute"
).split()
EN_BOILER = [
    "Click here to read more",
    "All rights reserved",
    "Privacy policy | Terms of use",
    "Subscribe to our newsletter",
    "Share this article",
    "Follow us on social media",
    "Please enable JavaScript to view this page",
]
ZH_BOILER = [
    "版权所有",
    "点击这里查看更多",
    "上一篇 | 下一篇",
    "返回顶部",
    "扫码关注我们",
    "责任编辑：王明",
]


# -- corpus generation ---------------------------------------------------------------------------


def _en_sentence(rng: random.Random) -> str:
    words = rng.choices(EN_WORDS, k=rng.randint(6, 18))
    if len(words) > 8 and rng.random() < 0.4:
        words[rng.randrange(3, len(words) - 2)] += ","
    return " ".join(words).capitalize() + rng.choice(".....?!")


def _zh_sentence(rng: random.Random) -> str:
    words = rng.choices(ZH_WORDS, k=rng.randint(6, 16))
    if len(words) > 7 and rng.random() < 0.6:
        words[rng.randrange(2, len(words) - 2)] += "，"
    return "".join(words) + rng.choice("。。。。？！")


class CorpusGenerator:
    """Documents from pre-built sentence pools: no per-character work, so ~1 GB takes seconds."""

    def __init__(self, seed: int, pool_size: int = 20000) -> None:
        self.rng = random.Random(seed)
        rng = self.rng
        self.en = [_en_sentence(rng) for _ in range(pool_size)]
        self.zh = [_zh_sentence(rng) for _ in range(pool_size)]
        self.other = [
            " ".join(rng.choices(OTHER_WORDS, k=rng.randint(8, 16))).capitalize() + "."
            for _ in range(2000)
        ]
        self.recent: list[str] = []  # a sample of earlier documents, for duplicates
        self.kinds: dict[str, int] = {}

    def _paragraphs(self, sents: list[str], sep: str) -> str:
        rng = self.rng
        out, i = [], 0
        while i < len(sents):
            n = rng.randint(2, 6)
            out.append(sep.join(sents[i : i + n]))
            i += n
        return "\n".join(out)

    def _good(self, lang: str) -> str:
        rng = self.rng
        k = rng.randint(6, 60)
        if lang == "en":
            sents = rng.choices(self.en, k=k)
            if rng.random() < 0.05:  # an English document quoting Chinese
                sents.insert(rng.randrange(len(sents)), rng.choice(self.zh))
            return self._paragraphs(sents, " ")
        sents = rng.choices(self.zh, k=k)
        if rng.random() < 0.05:  # a Chinese document quoting English
            sents.insert(rng.randrange(len(sents)), rng.choice(self.en))
        return self._paragraphs(sents, "")

    def _junk(self) -> tuple[str, str]:
        rng = self.rng
        kind = rng.choice(["short", "symbols", "digits", "boilerplate", "repeated", "other"])
        zh = rng.random() < 0.45
        pool = self.zh if zh else self.en
        sep = "" if zh else " "
        if kind == "short":
            return kind, sep.join(rng.choices(pool, k=rng.randint(1, 2)))
        if kind == "symbols":
            marks = "#{}<>|~^*=+@"
            sents = rng.choices(pool, k=rng.randint(6, 20))
            noisy = [s + " " + "".join(rng.choices(marks, k=rng.randint(8, 30))) for s in sents]
            return kind, "\n".join(noisy)
        if kind == "digits":
            nums = " ".join(str(rng.randint(0, 10**8)) for _ in range(rng.randint(60, 300)))
            return kind, rng.choice(pool) + "\n" + nums
        if kind == "boilerplate":
            boiler = ZH_BOILER if zh else EN_BOILER
            lines = rng.choices(boiler, k=rng.randint(8, 20))
            lines.insert(rng.randrange(len(lines)), sep.join(rng.choices(pool, k=3)))
            return kind, "\n".join(lines)
        if kind == "repeated":
            line = rng.choice(pool)
            return kind, "\n".join([line] * rng.randint(8, 25) + rng.choices(pool, k=2))
        return kind, self._paragraphs(rng.choices(self.other, k=rng.randint(6, 30)), " ")

    def _near_copy(self, text: str) -> str:
        rng = self.rng
        lines = text.split("\n")
        i = rng.randrange(len(lines))
        zh = any("\u4e00" <= ch <= "\u9fff" for ch in lines[i][:20])
        lines[i] += ("" if zh else " ") + rng.choice(self.zh if zh else self.en)
        return "\n".join(lines)

    def document(self) -> str:
        rng = self.rng
        r = rng.random()
        if r < 0.03 and self.recent:
            kind, text = "exact-duplicate", rng.choice(self.recent)
        elif r < 0.06 and self.recent:
            kind, text = "near-duplicate", self._near_copy(rng.choice(self.recent))
        elif r < 0.14:
            kind, text = self._junk()
            kind = f"junk-{kind}"
        else:
            kind = "en" if rng.random() < 0.52 else "zh"
            text = self._good(kind)
            if text.count("\n") >= 6:  # long enough that a near copy stays above 0.8 Jaccard
                if len(self.recent) < 4000:
                    self.recent.append(text)
                elif rng.random() < 0.05:
                    self.recent[rng.randrange(len(self.recent))] = text
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        return text


def corpus_files(size_mb: float, workers: int) -> int:
    return max(4 * workers, math.ceil(size_mb / 64))


def generate_corpus(size_mb: float, seed: int, n_files: int) -> tuple[Path, dict[str, Any]]:
    """JSONL shards of about ``size_mb`` MB in total; reused when already there."""
    name = f"corpus-{size_mb:g}mb-seed{seed}-files{n_files}-v{GENERATOR_VERSION}"
    folder = DATA_DIR / name
    manifest = folder / "manifest.json"  # beside the shards: valuealign reads any *.json there
    if manifest.exists():
        return folder / "shards", json.loads(manifest.read_text(encoding="utf-8"))
    shutil.rmtree(folder, ignore_errors=True)
    tmp = DATA_DIR / f".{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "shards").mkdir(parents=True)
    gen = CorpusGenerator(seed)
    total = int(size_mb * MB)
    per_file = total / n_files
    written = docs = 0
    t0 = time.perf_counter()
    for f in range(n_files):
        limit = int(per_file * (f + 1)) if f < n_files - 1 else total
        lines = []
        while written < limit:
            text = gen.document()
            line = json.dumps({"id": f"d{docs:09d}", "text": text}, ensure_ascii=False) + "\n"
            written += len(line.encode("utf-8"))
            docs += 1
            lines.append(line)
        (tmp / "shards" / f"part-{f:05d}.jsonl").write_text("".join(lines), encoding="utf-8")
    info = {
        "size_mb_requested": size_mb,
        "bytes": written,
        "documents": docs,
        "files": n_files,
        "seed": seed,
        "generator_version": GENERATOR_VERSION,
        "kinds": dict(sorted(gen.kinds.items())),
        "generate_seconds": round(time.perf_counter() - t0, 2),
    }
    (tmp / "manifest.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, folder)
    return folder / "shards", info


def input_files(corpus: Path) -> list[Path]:
    return sorted(corpus.glob("part-*.jsonl"))


# -- valuealign: the whole chain ------------------------------------------------------------------


def _mb(n_bytes: float) -> float:
    return n_bytes / MB


def run_valuealign_full(corpus: Path, work: Path, workers: int, info: dict) -> dict[str, Any]:
    from valuealign.curate import STEP_NAMES, CurateSettings, run_curate

    out = work / "valuealign-full"
    settings = CurateSettings(select="all")  # the lexicon step tags every document, drops none
    t0 = time.perf_counter()
    run_curate([corpus], out, settings, executor="local", workers=workers, progress=False)
    wall = time.perf_counter() - t0
    stats = json.loads((out / "stats.json").read_text(encoding="utf-8"))
    in_bytes = stats["bytes"]["input"] or info["bytes"]
    read_docs = stats["documents"]["read"]
    mean_doc = in_bytes / max(read_docs, 1)
    steps: dict[str, Any] = {}
    for name in STEP_NAMES:
        st = stats["steps"].get(name)
        if not st:
            continue
        sec = float(st.get("seconds", 0.0))
        seen = int(st.get("seen", 0))
        mb_seen = _mb(in_bytes if name == "read" else seen * mean_doc)
        steps[name] = {
            "seen": seen,
            "dropped": int(st.get("dropped", 0)),
            "reasons": st.get("reasons", {}),
            "cpu_seconds": round(sec, 3),
            "docs_per_s_per_core": round(seen / sec, 1) if sec else None,
            "mb_per_s_per_core": round(mb_seen / sec, 2) if sec else None,
        }
    cpu = sum(s["cpu_seconds"] for s in steps.values())
    kept_ids = [
        json.loads(line)["id"]
        for part in sorted((out / "curated").glob("part-*.jsonl"))
        for line in part.open(encoding="utf-8")
    ]
    (work / "kept-ids.json").write_text(json.dumps(kept_ids), encoding="utf-8")
    shutil.rmtree(out, ignore_errors=True)
    return {
        "what": "run_curate: read, normalise, language, quality, lexicon (select=all), privacy, "
        "dedup, pack (tokenize + parquet), audit and stats",
        "wall_s": round(wall, 2),
        "phase_seconds": stats["seconds"],
        "documents_in": read_docs,
        "documents_out": stats["documents"]["curated"],
        "docs_per_s": round(read_docs / wall, 1),
        "mb_per_s": round(_mb(in_bytes) / wall, 2),
        "mb_per_s_per_core": round(_mb(in_bytes) / wall / workers, 2),
        "step_cpu_seconds": round(cpu, 2),
        "mb_per_cpu_second": round(_mb(in_bytes) / cpu, 2) if cpu else None,
        "steps": steps,
        "dedup_reasons": stats["steps"].get("dedup", {}).get("reasons", {}),
        "languages_curated": stats["languages"]["curated"],
    }


# -- valuealign: like for like (the steps datatrove runs) ---------------------------------------


def _lfl_phase1(job: tuple) -> dict[str, Any]:
    """Read -> normalise -> language -> quality, then hash and sign the survivors (one shard)."""
    import numpy as np

    from valuealign.curate import (
        LanguageStep,
        NormaliseStep,
        QualityConfig,
        QualityStep,
        ReadOptions,
        ReadStep,
        content_hash,
        minhash_signature,
    )

    shard, work, num_perm, ngram = job
    reader = ReadStep(shard, ReadOptions())
    steps = [NormaliseStep(), LanguageStep(("zh", "en")), QualityStep(QualityConfig())]
    docs: Any = reader()
    for step in steps:
        docs = step(docs)
    import valuealign.curate as vc

    bulk = getattr(vc, "sign_documents", None)  # absent before the rensa signatures
    hashes: list[bytes] = []
    sigs: list = [np.zeros((0, num_perm), dtype=np.uint32)]
    pending: list[str] = []
    sign = 0.0

    def flush() -> None:
        nonlocal sign
        t0 = time.perf_counter()
        if bulk is not None:
            digests, block = bulk(pending, num_perm=num_perm, ngram=ngram)
        else:
            digests = [content_hash(t) for t in pending]
            block = np.array(
                [minhash_signature(t, num_perm=num_perm, ngram=ngram) for t in pending],
                dtype=np.uint32,
            ).reshape(-1, num_perm)
        hashes.extend(digests)
        sigs.append(block)
        pending.clear()
        sign += time.perf_counter() - t0

    with open(Path(work) / f"p1-{shard.key}.jsonl", "w", encoding="utf-8") as out:
        for doc in docs:
            if doc.dropped is not None:
                continue
            pending.append(doc.text)
            if len(pending) >= 256:
                flush()
            rec = {"id": doc.id, "text": doc.text, "language": doc.language}
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
    flush()
    np.savez(
        Path(work) / f"p1-{shard.key}.npz",
        sigs=np.concatenate(sigs),
        hashes=np.frombuffer(b"".join(hashes), dtype=np.uint8).reshape(-1, 16),
    )
    counts = {reader.name: reader.counts.to_dict()} | {s.name: s.counts.to_dict() for s in steps}
    return {"key": shard.key, "steps": counts, "sign_seconds": sign}


def _lfl_phase3(job: tuple) -> int:
    """Write a shard's survivors, less the duplicates the global pass found."""
    key, work, drops = job
    drop = set(drops)
    kept = 0
    src = Path(work) / f"p1-{key}.jsonl"
    with (
        src.open(encoding="utf-8") as f,
        open(Path(work) / f"out-{key}.jsonl", "w", encoding="utf-8") as out,
    ):
        for i, line in enumerate(f):
            if i not in drop:
                out.write(line)
                kept += 1
    return kept


def run_valuealign_like_for_like(
    corpus: Path, work: Path, workers: int, info: dict
) -> dict[str, Any]:
    import numpy as np

    from valuealign.curate import (
        CurateSettings,
        GlobalDedup,
        LocalExecutor,
        ReadOptions,
        StepCounts,
        discover_inputs,
        plan_shards,
    )

    s = CurateSettings()
    folder = work / "valuealign-lfl"
    folder.mkdir(parents=True)
    t0 = time.perf_counter()
    shards = plan_shards(discover_inputs([corpus]), ReadOptions(), int(s.shard_mb * MB))
    with LocalExecutor(workers) as ex:
        t1 = time.perf_counter()
        p1 = ex.map(_lfl_phase1, [(sh, str(folder), s.num_perm, s.shingle_size) for sh in shards])
        t_steps = time.perf_counter() - t1
        t1 = time.perf_counter()
        dd = GlobalDedup(s.near_dup_threshold, s.num_perm)
        drops: dict[str, list[int]] = {}
        reasons: dict[str, int] = {}
        candidates = 0
        for sh in shards:
            with np.load(folder / f"p1-{sh.key}.npz") as data:
                sigs, hashes = data["sigs"], data["hashes"]
            candidates += len(sigs)
            for i in range(len(sigs)):
                verdict = dd.check(hashes[i].tobytes(), sigs[i], (sh.key, i))
                if verdict is not None:
                    drops.setdefault(sh.key, []).append(i)
                    reasons[verdict[0]] = reasons.get(verdict[0], 0) + 1
        t_dedup = time.perf_counter() - t1
        t1 = time.perf_counter()
        kept = ex.map(_lfl_phase3, [(sh.key, str(folder), drops.get(sh.key, [])) for sh in shards])
        t_write = time.perf_counter() - t1
    wall = time.perf_counter() - t0
    merged = {
        name: StepCounts.merge(p["steps"][name] for p in p1)
        for name in ("read", "normalise", "language", "quality")
    }
    sign = sum(p["sign_seconds"] for p in p1)
    in_bytes = merged["read"].get("bytes", info["bytes"])
    read_docs = merged["read"]["seen"]
    mean_doc = in_bytes / max(read_docs, 1)
    steps: dict[str, Any] = {}
    for name, st in merged.items():
        sec = float(st["seconds"])
        mb_seen = _mb(in_bytes if name == "read" else st["seen"] * mean_doc)
        steps[name] = {
            "seen": st["seen"],
            "dropped": st["dropped"],
            "reasons": st.get("reasons", {}),
            "cpu_seconds": round(sec, 3),
            "docs_per_s_per_core": round(st["seen"] / sec, 1) if sec else None,
            "mb_per_s_per_core": round(mb_seen / sec, 2) if sec else None,
        }
    dsec = sign + t_dedup
    steps["dedup"] = {
        "seen": candidates,
        "dropped": sum(reasons.values()),
        "reasons": reasons,
        "cpu_seconds": round(dsec, 3),
        "sign_cpu_seconds": round(sign, 3),
        "global_pass_seconds": round(t_dedup, 3),
        "docs_per_s_per_core": round(candidates / dsec, 1) if dsec else None,
        "mb_per_s_per_core": round(_mb(candidates * mean_doc) / dsec, 2) if dsec else None,
    }
    shutil.rmtree(folder, ignore_errors=True)
    return {
        "what": "public valuealign.curate steps on LocalExecutor: read, normalise, language, "
        "quality, content hash + MinHash signature, GlobalDedup, write survivors (JSONL)",
        "wall_s": round(wall, 2),
        "phase_seconds": {
            "steps": round(t_steps, 2),
            "dedup": round(t_dedup, 2),
            "write": round(t_write, 2),
        },
        "documents_in": read_docs,
        "documents_out": sum(kept),
        "docs_per_s": round(read_docs / wall, 1),
        "mb_per_s": round(_mb(in_bytes) / wall, 2),
        "mb_per_s_per_core": round(_mb(in_bytes) / wall / workers, 2),
        "steps": steps,
        "dedup_reasons": reasons,
    }


# -- lexicon microbenchmark ----------------------------------------------------------------------


def _invented_word(rng: random.Random) -> str:
    return "".join(rng.choice("bcdfghjklmnpqrstvwxz") + rng.choice("aeiou") for _ in range(3))


def make_lexicon(
    seed: int, *, dense: bool, n_zh: int = 5000, n_en: int = 5000, subdomains: int = 20
) -> dict:
    """A LexiconSpec of ``n_zh`` Chinese and ``n_en`` English multi-word terms.

    ``dense``: every term is made of the corpus' own words (thousands of hits per MB);
    otherwise each term starts with a corpus word and ends with a word that never occurs (an
    invented English word, a CJK character outside the pool), so the automaton walks the text
    as deep as real terms would but almost never reports a match.
    """
    rng = random.Random(seed + 1)
    content_en = sorted(set(EN_WORDS) - set(EN_FUNCTION))
    content_zh = sorted(set(ZH_WORDS) - set(ZH_FUNCTION))
    pool_chars = set("".join(ZH_WORDS))
    rare_zh = [c for c in map(chr, range(0x5000, 0x9000)) if c not in pool_chars]
    en: set[str] = set()
    while len(en) < n_en:
        words = rng.sample(content_en, rng.choice((2, 2, 2, 3)))
        if not dense:
            words[-1] = _invented_word(rng)
        en.add(" ".join(words) + ("*" if rng.random() < 0.1 else ""))
    zh: set[str] = set()
    while len(zh) < n_zh:
        words = rng.sample(content_zh, rng.choice((2, 2, 3)))
        if not dense:
            words[-1] = rng.choice(rare_zh)
        zh.add("".join(words))
    en_l, zh_l = sorted(en), sorted(zh)
    rng.shuffle(en_l)
    rng.shuffle(zh_l)
    spec = {}
    for i in range(subdomains):
        spec[f"subdomain-{i:02d}"] = {
            "zh": zh_l[i::subdomains],
            "en": en_l[i::subdomains],
            "red_line_terms": {"zh": [], "en": []},
        }
    return spec


def _lexicon_texts(corpus: Path, target_mb: float) -> tuple[list[str], int]:
    texts: list[str] = []
    size = 0
    target = int(target_mb * MB)
    files = input_files(corpus)
    while size < target:  # cycle through the corpus when it is smaller than the target
        for path in files:
            with path.open(encoding="utf-8") as f:
                for line in f:
                    text = json.loads(line)["text"]
                    texts.append(text)
                    size += len(text.encode("utf-8"))
                    if size >= target:
                        return texts, size
    return texts, size


def run_lexicon(corpus: Path, target_mb: float, seed: int) -> dict[str, Any]:
    from valuealign.curate import LexiconMatcher

    texts, size = _lexicon_texts(corpus, target_mb)
    result: dict[str, Any] = {
        "what": "LexiconMatcher.match (leftmost-longest, lowercasing and word "
        "boundaries for English included) per document, one core, in this process",
        "documents": len(texts),
        "mb": round(_mb(size), 1),
        "target_mb_per_s": 50,
    }
    for dense in (True, False):
        spec = make_lexicon(seed, dense=dense)
        t0 = time.perf_counter()
        matcher = LexiconMatcher(spec)
        build = time.perf_counter() - t0
        hits = docs_with_hits = 0
        t0 = time.perf_counter()
        for text in texts:
            m = matcher.match(text)
            n = sum(m.hits.values())
            hits += n
            docs_with_hits += n > 0
        sec = time.perf_counter() - t0
        result["dense_hits" if dense else "sparse_hits"] = {
            "terms": sum(len(v["zh"]) + len(v["en"]) for v in spec.values()),
            "terms_zh": sum(len(v["zh"]) for v in spec.values()),
            "terms_en": sum(len(v["en"]) for v in spec.values()),
            "automaton_entries": matcher.size,
            "build_seconds": round(build, 3),
            "seconds": round(sec, 2),
            "mb_per_s": round(_mb(size) / sec, 2),
            "docs_per_s": round(len(texts) / sec, 1),
            "hits_per_mb": round(hits / _mb(size), 1),
            "documents_with_hits": docs_with_hits,
        }
    return result


# -- per step, before and after, side by side in this process ----------------------------------


class _PyahoMatcher:
    """The lexicon matcher as it was before daachorse (pyahocorasick ``iter_long``), kept here
    only to measure the change on the same text and terms."""

    def __init__(self, spec: dict) -> None:
        import ahocorasick

        from valuealign.curate.lexicon import _is_word

        self._is_word = _is_word
        entries: dict[str, list[tuple[str, bool, bool, bool]]] = {}
        for sub, v in spec.items():
            for red, lists in ((False, v), (True, v["red_line_terms"])):
                for lang in ("zh", "en"):
                    for term in lists[lang]:
                        prefix = term.endswith("*")
                        key = term.rstrip("*").lower()
                        if key:
                            left = _is_word(key[0])
                            right = _is_word(key[-1]) and not prefix
                            entries.setdefault(key, []).append((sub, red, left, right))
        self.automaton = ahocorasick.Automaton()
        for key, items in entries.items():
            self.automaton.add_word(key, (key, tuple(items)))
        self.automaton.make_automaton()

    def match(self, text: str) -> dict[str, int]:
        hits: dict[str, int] = {}
        is_word = self._is_word
        low = text.lower()
        n = len(low)
        for end, (key, items) in self.automaton.iter_long(low):
            start = end - len(key) + 1
            for sub, red, left, right in items:
                if left and start > 0 and is_word(low[start - 1]):
                    continue
                if right and end + 1 < n and is_word(low[end + 1]):
                    continue
                if not red:
                    hits[sub] = hits.get(sub, 0) + 1
        return hits


def _datasketch_signature(text: str, num_perm: int = 128, ngram: int = 5) -> Any:
    """MinHash as it was before rensa: datasketch over the sorted set of UTF-8 shingles."""
    import datasketch
    import numpy as np

    from valuealign.curate.dedup import dedup_text

    t = dedup_text(text)
    grams = [t] if len(t) <= ngram else list({t[i : i + ngram] for i in range(len(t) - ngram + 1)})
    m = datasketch.MinHash(num_perm=num_perm, seed=1, scheme="affine32")
    m.update_batch(sorted(s.encode("utf-8") for s in grams))
    return np.asarray(m.hashvalues, dtype=np.uint32)


def _best_of(fn: Any, rounds: int) -> float:
    best = math.inf
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def run_step_pairs(corpus: Path, target_mb: float, seed: int, rounds: int = 2) -> dict[str, Any]:
    """Each changed step before and after, on the same normalised documents, one core, in
    turns (before, after, before, after, ...; the best round of each), so the machine's load
    weighs on both alike."""
    import hashlib

    import xxhash

    from valuealign.curate import LexiconMatcher, normalise_text, sign_documents
    from valuealign.curate.dedup import dedup_text
    from valuealign.curate.quality import (
        _repeated_share_bound,
        repeated_ngram_share,
        unit_codes,
        units,
    )
    from valuealign.curate.steps import _lingua, clear_language, detect_language

    raw, _ = _lexicon_texts(corpus, target_mb)
    texts = [normalise_text(t) for t in raw]
    size = sum(len(t.encode("utf-8")) for t in texts)
    mb = _mb(size)
    lingua = _lingua()
    samples = [t[:1000] for t in texts]
    fast = [clear_language(s) for s in samples]
    langs = [detect_language(t)[0] for t in texts]
    toks = [(units(t), 10 if lang == "zh" else 5) for t, lang in zip(texts, langs, strict=True)]
    codes = [(unit_codes(t), n) for t, (_, n) in zip(texts, toks, strict=True)]
    dense = make_lexicon(seed, dense=True)
    old_lex, new_lex = _PyahoMatcher(dense), LexiconMatcher(dense)
    agree_lex = all(old_lex.match(t) == new_lex.match(t).hits for t in texts[:2000])

    def batched(fn: Any) -> Any:
        return lambda: [fn(texts[i : i + 256]) for i in range(0, len(texts), 256)]

    pairs: dict[str, tuple[str, Any, str, Any]] = {
        "language": (
            "lingua on every document",
            lambda: [lingua.detect_language_of(s) for s in samples],
            "script fast path, lingua for the rest",
            lambda: [detect_language(t) for t in texts],
        ),
        "minhash": (
            "datasketch MinHash over the set of shingles (bytes)",
            lambda: [_datasketch_signature(t) for t in texts],
            "numpy n-gram hashes + rensa, 256 documents a call",
            batched(lambda chunk: sign_documents(chunk)),
        ),
        "content_hash": (
            "blake2b-128 of the normalised text (kept)",
            lambda: [
                hashlib.blake2b(dedup_text(t).encode(), digest_size=16).digest() for t in texts
            ],
            "xxh3-128 of the normalised text (not adopted)",
            lambda: [xxhash.xxh3_128_digest(dedup_text(t).encode()) for t in texts],
        ),
        "repeated_ngrams": (
            "exact share with tuples and a Counter",
            lambda: [repeated_ngram_share(k, n) for k, n in toks],
            "hashed upper bound with numpy (exact only above the limit)",
            lambda: [_repeated_share_bound(k, n) for k, n in codes],
        ),
        "lexicon_10k_dense": (
            "pyahocorasick iter_long",
            lambda: [old_lex.match(t) for t in texts],
            "daachorse, charwise double array",
            lambda: [new_lex.match(t) for t in texts],
        ),
    }
    out: dict[str, Any] = {
        "mb": round(mb, 1),
        "documents": len(texts),
        "language_fast_path_share": round(sum(f is not None for f in fast) / len(fast), 3),
        "language_fast_path_disagreements_with_lingua": sum(
            f is not None
            and {"CHINESE": "zh", "ENGLISH": "en"}.get(
                getattr(lingua.detect_language_of(s), "name", "")
            )
            != f
            for f, s in zip(fast, samples, strict=True)
        ),
        "lexicon_same_hits_on_first_2000_documents": agree_lex,
        "steps": {},
    }
    for name, (old_what, old_fn, new_what, new_fn) in pairs.items():
        old_t = new_t = math.inf
        for _ in range(rounds):
            old_t = min(old_t, _best_of(old_fn, 1))
            new_t = min(new_t, _best_of(new_fn, 1))
        out["steps"][name] = {
            "before": old_what,
            "after": new_what,
            "before_mb_per_s": round(mb / old_t, 2),
            "after_mb_per_s": round(mb / new_t, 2),
            "speedup": round(old_t / new_t, 2),
        }
        print(f"  {name:<18} {mb / old_t:8.2f} -> {mb / new_t:8.2f} MB/s", flush=True)
    return out


# -- dedup memory --------------------------------------------------------------------------------


def run_dedup_memory(n_docs: int, num_perm: int = 128) -> dict[str, Any]:
    """Python heap (tracemalloc, numpy included) held by GlobalDedup after ``n_docs`` distinct
    documents, every one kept (the worst case), scaled to a million."""
    import gc
    import tracemalloc

    import numpy as np

    from valuealign.curate import GlobalDedup

    rng = np.random.default_rng(0)
    sigs = rng.integers(0, 1 << 32, size=(n_docs, num_perm), dtype=np.uint32)
    digests = rng.integers(0, 256, size=(n_docs, 16), dtype=np.uint8)
    name = "part-00000.jsonl"
    spill = Path(tempfile.mkdtemp(prefix="dedup-spill-"))
    # as run_curate builds it: kept signatures spilled to memory-mapped files where supported
    kwargs = {"spill": spill} if "spill" in inspect.signature(GlobalDedup).parameters else {}
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    dd = GlobalDedup(0.8, num_perm, **kwargs)
    half = n_docs // 2
    t0 = time.perf_counter()
    for i in range(n_docs):
        if i == half:
            at_half = tracemalloc.get_traced_memory()[0]
        # the digest, signature row and reference made as run_curate makes them
        dd.check(digests[i].tobytes(), sigs[i].copy(), (f"d{i:09d}", name, i + 1))
    sec = time.perf_counter() - t0
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del dd
    shutil.rmtree(spill, ignore_errors=True)
    per_doc = (held - at_half) / (n_docs - half)  # the growth: fixed buffers left out
    return {
        "documents": n_docs,
        "signatures_spilled_to_disk": bool(kwargs),
        "held_bytes_at_end": held - base,
        "peak_bytes": peak - base,
        "bytes_per_document": round(per_doc),
        "gib_per_million_documents": round(per_doc * 1e6 / (1 << 30), 2),
        "check_docs_per_s_under_tracemalloc": round(n_docs / sec),
        "what": "GlobalDedup fed n distinct documents (all kept, the worst case), 128 "
        "permutations, references as run_curate passes them (id, file, line); Python heap by "
        "tracemalloc (numpy included; memory-mapped signature files are not heap); per document "
        "= growth over the second half of the documents (with 6 x 32768 documents, both ends fall "
        "where the band index has just moved its dict of recent keys into a sorted run)",
    }


# -- before: the same benchmark with another checkout's src ---------------------------------------


def run_baseline(src: str, args: argparse.Namespace, workers: int) -> dict[str, Any]:
    """This script's valuealign parts again, in a subprocess with ``src`` first on the path."""
    out = Path(tempfile.mkdtemp(prefix="curate-baseline-")) / "result.json"
    cmd = [
        sys.executable,
        __file__,
        "--size-mb",
        str(args.size_mb),
        "--workers",
        str(workers),
        "--lexicon-mb",
        str(args.lexicon_mb),
        "--seed",
        str(args.seed),
        "--dedup-memory",
        str(args.dedup_memory),
        "--skip-datatrove",
        "--skip-step-pairs",
        "--kept-ids-out",
        str(out.parent / "kept-ids.json"),
        "--out",
        str(out),
    ]
    if args.skip_full:
        cmd.append("--skip-full")
    if args.skip_lexicon:
        cmd.append("--skip-lexicon")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=6 * 3600)
    if r.returncode != 0:
        return {"error": r.stderr[-2000:]}
    result = json.loads(out.read_text(encoding="utf-8"))
    result["src"] = src
    kept = out.parent / "kept-ids.json"
    result["_kept_ids"] = json.loads(kept.read_text()) if kept.exists() else None
    shutil.rmtree(out.parent, ignore_errors=True)
    return result


# -- datatrove -----------------------------------------------------------------------------------

DATATROVE_SCRIPT = textwrap.dedent(
    '''
    """datatrove side of benchmarks/curate_throughput.py (written to a temp file and run with the
    python of benchmarks/.venv-datatrove)."""
    import json, re, sys, time
    from pathlib import Path

    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup import (
        MinhashConfig, MinhashDedupBuckets, MinhashDedupCluster, MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.filters import GopherQualityFilter, GopherRepetitionFilter
    from datatrove.pipeline.filters.base_filter import BaseFilter
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from datatrove.utils.word_tokenizers import WordTokenizer, load_word_tokenizer

    # datatrove's own tokenizer keys: "cmn" is spaCy's Chinese with jieba ("zh" and "zho"
    # resolve to whitespace tokenizers in this datatrove version), "eng" spaCy's English
    ZH_TOKENIZER, EN_TOKENIZER = "cmn", "eng"
    ZH_STOP_WORDS = ["的", "是", "在", "了", "和", "有", "我们", "这"]
    LINGUA_LANGUAGES = ("CHINESE", "ENGLISH", "JAPANESE", "KOREAN", "FRENCH", "GERMAN",
                        "SPANISH", "RUSSIAN")
    CODES = {"CHINESE": "zh", "ENGLISH": "en"}
    LETTER = re.compile(r"[^\\W\\d_]")
    CJK = re.compile(r"[\\u4e00-\\u9fff]")


    class LinguaLanguageFilter(BaseFilter):
        """Stand-in for datatrove's LanguageFilter (its fastText model cannot be downloaded
        here): lingua over the first 1000 characters, the same languages as valuealign."""

        name = "lingua language filter"

        def __init__(self, keep=("zh", "en")):
            super().__init__()
            self.keep = set(keep)
            self._detector = None

        def filter(self, doc):
            if self._detector is None:
                from lingua import Language, LanguageDetectorBuilder
                langs = [getattr(Language, n) for n in LINGUA_LANGUAGES]
                self._detector = LanguageDetectorBuilder.from_languages(*langs).build()
            sample = doc.text[:1000]
            if not LETTER.search(sample):
                return False, "no_letters"
            found = self._detector.detect_language_of(sample)
            code = CODES.get(found.name, "other") if found is not None else "other"
            doc.metadata["language"] = code
            return (True, None) if code in self.keep else (False, "other_language")


    class ByLanguage(BaseFilter):
        """One datatrove filter per language, picked by the language the filter above set."""

        def __init__(self, filters):
            super().__init__()
            self.filters = filters

        def filter(self, doc):
            return self.filters[doc.metadata["language"]].filter(doc)


    class RepetitionByLanguage(ByLanguage):
        name = "GopherRepetitionFilter (per language)"


    class QualityByLanguage(ByLanguage):
        name = "GopherQualityFilter (per language)"


    class MixedTokenizer(WordTokenizer):
        """MinHash word shingles with datatrove's Chinese tokenizer for text with CJK
        characters, its English one otherwise."""

        def __init__(self):
            super().__init__("mixed")

        def _pick(self, text):
            return load_word_tokenizer(ZH_TOKENIZER if CJK.search(text[:2000]) else EN_TOKENIZER)

        def word_tokenize(self, text):
            return self._pick(text).word_tokenize(text)

        def sent_tokenize(self, text):
            return self._pick(text).sent_tokenize(text)

        def span_tokenize(self, text):
            return self._pick(text).span_tokenize(text)


    def step_stats(logging_dir):
        path = Path(logging_dir) / "stats.json"
        if not path.exists():
            return []
        out = []
        upstream = 0.0
        for st in json.loads(path.read_text()):
            ts = st.get("time_stats") or {}
            counts = st.get("stats") or {}
            total = float(ts.get("total", 0.0))
            extra = {}
            if "MinHash stage 1" in str(st.get("name")):
                # its timer wraps its whole loop, so it also counts the steps upstream of it
                extra = {"cpu_seconds_inclusive": round(total, 3)}
                total = max(0.0, total - upstream)
            upstream += total
            out.append({
                "name": st.get("name"),
                "cpu_seconds": round(total, 3),
                **extra,
                "seen": counts.get("total"),
                "forwarded": counts.get("forwarded"),
                "dropped": counts.get("dropped"),
                "reasons": {k[8:]: v for k, v in counts.items()
                            if k.startswith("dropped_") and isinstance(v, (int, float))},
            })
        return out


    def main():
        src, work, workers, tasks = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
        cfg = MinhashConfig()  # word 5-grams, 14 buckets x 8 hashes (datatrove's defaults)
        filtered, sigs, buckets = work / "filtered", work / "sigs", work / "buckets"
        remove, out, logs = work / "remove_ids", work / "output", work / "logs"
        mixed = MixedTokenizer()
        quality = {
            "en": GopherQualityFilter(language=EN_TOKENIZER),
            "zh": GopherQualityFilter(language=ZH_TOKENIZER, stop_words=ZH_STOP_WORDS,
                                      min_avg_word_length=1, max_avg_word_length=8),
        }
        repetition = {
            "en": GopherRepetitionFilter(language=EN_TOKENIZER),
            "zh": GopherRepetitionFilter(language=ZH_TOKENIZER),
        }
        stages = [
            ("filter+signature", tasks, [
                JsonlReader(src, glob_pattern="*.jsonl", text_key="text", id_key="id"),
                LinguaLanguageFilter(),
                RepetitionByLanguage(repetition),
                QualityByLanguage(quality),
                JsonlWriter(str(filtered), compression=None),
                MinhashDedupSignature(output_folder=str(sigs), config=cfg, language=mixed),
            ]),
            ("buckets", cfg.num_buckets, [
                MinhashDedupBuckets(input_folder=str(sigs), output_folder=str(buckets), config=cfg),
            ]),
            ("cluster", 1, [
                MinhashDedupCluster(input_folder=str(buckets), output_folder=str(remove), config=cfg),
            ]),
            ("filter duplicates+write", tasks, [
                JsonlReader(str(filtered), glob_pattern="*.jsonl", text_key="text", id_key="id"),
                MinhashDedupFilter(input_folder=str(remove)),
                JsonlWriter(str(out), compression=None),
            ]),
        ]
        result = {"stages": {}}
        t_all = time.perf_counter()
        for name, n_tasks, pipeline in stages:
            if name == "filter duplicates+write":
                n_filtered = len(list(filtered.glob("*.jsonl")))
                if n_filtered != tasks:  # ranks must line up with the signature stage's
                    raise SystemExit(f"{n_filtered} filtered files for {tasks} tasks")
            log_dir = logs / name.replace(" ", "_").replace("+", "_")
            ex = LocalPipelineExecutor(pipeline=pipeline, tasks=n_tasks,
                                       workers=min(workers, n_tasks), logging_dir=str(log_dir))
            t0 = time.perf_counter()
            ex.run()
            result["stages"][name] = {
                "wall_s": round(time.perf_counter() - t0, 3),
                "tasks": n_tasks,
                "steps": step_stats(log_dir),
            }
        result["wall_s"] = round(time.perf_counter() - t_all, 3)
        n_out = 0
        for f in out.glob("*.jsonl"):
            with open(f, "rb") as fh:
                n_out += sum(1 for _ in fh)
        result["documents_out"] = n_out
        import datatrove, lingua  # noqa
        from importlib.metadata import version
        result["versions"] = {p: version(p) for p in
                              ("datatrove", "lingua-language-detector", "spacy", "jieba")}
        print("RESULT " + json.dumps(result))


    if __name__ == "__main__":
        main()
    '''
)


def _datatrove_requirements() -> list[str]:
    lingua = importlib.metadata.version("lingua-language-detector")
    return [
        "datatrove[processing]",
        "orjson",
        "spacy",
        "jieba",
        f"lingua-language-detector=={lingua}",
    ]


def ensure_datatrove_venv() -> Path:
    """benchmarks/.venv-datatrove with datatrove and what its Chinese/English filters need."""
    python = DATATROVE_VENV / "bin" / "python"
    reqs = _datatrove_requirements()
    marker = DATATROVE_VENV / f".installed-{hashlib.sha1(' '.join(reqs).encode()).hexdigest()[:10]}"
    if marker.exists():
        return python
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(DATATROVE_VENV)], check=True)
    r = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", *reqs], capture_output=True, text=True
    )
    if r.returncode != 0:
        raise OSError(f"pip install {' '.join(reqs)} failed: {r.stderr[-1500:]}")
    marker.write_text(" ".join(reqs) + "\n")
    return python


def run_datatrove(corpus: Path, work: Path, workers: int, info: dict) -> dict[str, Any]:
    try:
        python = ensure_datatrove_venv()
    except (subprocess.SubprocessError, OSError) as e:
        return {"error": f"could not install datatrove: {type(e).__name__}: {e}"}
    folder = work / "datatrove"
    folder.mkdir(parents=True)
    script = folder / "pipeline.py"
    script.write_text(DATATROVE_SCRIPT, encoding="utf-8")
    log = folder / "stderr.log"
    tasks = len(input_files(corpus))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    t0 = time.perf_counter()
    with log.open("w") as err:
        r = subprocess.run(
            [str(python), str(script), str(corpus), str(folder), str(workers), str(tasks)],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=env,
            timeout=6 * 3600,
        )
    process_wall = time.perf_counter() - t0
    line = next((x for x in r.stdout.splitlines() if x.startswith("RESULT ")), None)
    if r.returncode != 0 or line is None:
        tail = log.read_text(errors="replace")[-3000:]
        return {"error": f"datatrove pipeline failed (rc {r.returncode}): {tail}"}
    res = json.loads(line[len("RESULT ") :])
    wall = res["wall_s"]
    in_mb = _mb(info["bytes"])
    steps = []
    for stage in res["stages"].values():
        for st in stage["steps"]:
            seen, sec = st.get("seen"), st["cpu_seconds"]
            if seen and sec:
                st["docs_per_s_per_core"] = round(seen / sec, 1)
                st["mb_per_s_per_core"] = round(
                    _mb(seen * info["bytes"] / info["documents"]) / sec, 2
                )
            steps.append(st)
    shutil.rmtree(folder, ignore_errors=True)
    return {
        "what": "LocalPipelineExecutor: JsonlReader -> lingua language filter -> "
        "GopherRepetitionFilter -> GopherQualityFilter (per language) -> JsonlWriter -> "
        "MinhashDedupSignature; MinhashDedupBuckets; MinhashDedupCluster; JsonlReader -> "
        "MinhashDedupFilter -> JsonlWriter",
        "wall_s": round(wall, 2),
        "process_wall_s": round(process_wall, 2),
        "stage_wall_s": {k: v["wall_s"] for k, v in res["stages"].items()},
        "documents_in": info["documents"],
        "documents_out": res["documents_out"],
        "docs_per_s": round(info["documents"] / wall, 1),
        "mb_per_s": round(in_mb / wall, 2),
        "mb_per_s_per_core": round(in_mb / wall / workers, 2),
        "steps": steps,
        "versions": res["versions"],
    }


# -- report --------------------------------------------------------------------------------------


def _row(name: str, r: dict | None) -> str:
    if not r or "wall_s" not in r:
        why = (r or {}).get("error", "skipped")
        return f"  {name:<34} {why[-400:]}"
    return (
        f"  {name:<34} {r['docs_per_s']:>10.1f} {r['mb_per_s']:>8.2f} "
        f"{r['mb_per_s_per_core']:>10.2f} {r['wall_s']:>8.1f} {r['documents_out']:>9}"
    )


def print_report(result: dict) -> None:
    print(
        f"\ncorpus: {result['corpus']['mb']} MB, {result['corpus']['documents']} documents, "
        f"{result['corpus']['files']} files; workers {result['workers']}"
    )
    print(f"  {'':<34} {'docs/s':>10} {'MB/s':>8} {'MB/s/core':>10} {'wall s':>8} {'kept':>9}")
    print(_row("valuealign, whole chain", result.get("valuealign_full")))
    print(_row("valuealign, lang+quality+dedup", result.get("valuealign_like_for_like")))
    print(_row("datatrove, lang+quality+dedup", result.get("datatrove")))
    base = result.get("baseline")
    if base:
        print(_row("before: whole chain", base.get("valuealign_full")))
        print(_row("before: lang+quality+dedup", base.get("valuealign_like_for_like")))
        if "error" in base:
            print(f"  before: {base['error'][-400:]}")
    if result.get("kept_ids_vs_baseline"):
        print(f"\nkept documents, before vs now: {result['kept_ids_vs_baseline']}")
    pairs = result.get("step_pairs")
    if pairs:
        print(f"\nper step before -> after, one core, {pairs['mb']} MB (MB/s)")
        for name, st in pairs["steps"].items():
            print(
                f"  {name:<18} {st['before_mb_per_s']:>8.2f} -> {st['after_mb_per_s']:>8.2f} "
                f"({st['speedup']}x)  {st['before']} -> {st['after']}"
            )
    for label, r in (
        ("now", result.get("dedup_memory")),
        ("before", (base or {}).get("dedup_memory")),
    ):
        if r:
            print(
                f"dedup memory ({label}): {r['bytes_per_document']} bytes/document, "
                f"{r['gib_per_million_documents']} GiB per million documents"
            )
    for key, label in (("valuealign_full", "whole chain"), ("valuealign_like_for_like", "lfl")):
        steps = (result.get(key) or {}).get("steps")
        if not steps:
            continue
        print(f"\nvaluealign per step ({label}; CPU-seconds summed over workers)")
        print(
            f"  {'step':<12} {'seen':>9} {'dropped':>8} {'cpu s':>8} {'docs/s/core':>12} "
            f"{'MB/s/core':>10}"
        )
        for name, st in steps.items():
            print(
                f"  {name:<12} {st['seen']:>9} {st['dropped']:>8} {st['cpu_seconds']:>8.1f} "
                f"{st['docs_per_s_per_core'] or 0:>12.1f} {st['mb_per_s_per_core'] or 0:>10.2f}"
            )
    dt = result.get("datatrove") or {}
    if dt.get("steps"):
        print("\ndatatrove per step (CPU-seconds summed over tasks)")
        for st in dt["steps"]:
            print(
                f"  {st['name'][:40]:<40} seen {st.get('seen') or 0:>9} "
                f"cpu s {st['cpu_seconds']:>8.1f}  docs/s/core "
                f"{st.get('docs_per_s_per_core') or 0:>9.1f}  MB/s/core "
                f"{st.get('mb_per_s_per_core') or 0:>7.2f}"
            )
    lex = result.get("lexicon")
    if lex:
        print(
            f"\nlexicon matcher, one core, {lex['mb']} MB (target >= {lex['target_mb_per_s']} MB/s)"
        )
        blex = (base or {}).get("lexicon")
        if blex:
            print(
                f"  before: dense {blex['dense_hits']['mb_per_s']} MB/s, "
                f"sparse {blex['sparse_hits']['mb_per_s']} MB/s"
            )
        for key in ("dense_hits", "sparse_hits"):
            r = lex[key]
            print(
                f"  {key:<12} {r['terms']} terms ({r['terms_zh']} zh + {r['terms_en']} en): "
                f"{r['mb_per_s']} MB/s, {r['docs_per_s']} docs/s, {r['hits_per_mb']} hits/MB"
            )
    if result.get("ratio_valuealign_over_datatrove"):
        print(f"\nratio valuealign/datatrove (MB/s): {result['ratio_valuealign_over_datatrove']}")


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine_info() -> dict[str, Any]:
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / (1 << 30)
    except (ValueError, OSError, AttributeError):
        mem = None
    return {
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "python": platform.python_version(),
        "memory_gib": round(mem, 1) if mem else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=1024, help="corpus size (default 1024)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--lexicon-mb", type=float, default=100, help="text for the lexicon run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-datatrove", action="store_true")
    parser.add_argument("--skip-full", action="store_true", help="skip the whole-chain run")
    parser.add_argument("--skip-lexicon", action="store_true")
    parser.add_argument("--note", action="append", default=[], help="add a line to the notes")
    parser.add_argument(
        "--baseline-src",
        help="also run the valuealign parts with this checkout's src (before/after, one run)",
    )
    parser.add_argument("--skip-step-pairs", action="store_true")
    parser.add_argument("--step-mb", type=float, default=10, help="text for the step pairs")
    parser.add_argument(
        "--dedup-memory",
        type=int,
        default=6 * 32768,
        help="documents for the memory figure (0: skip); with multiples of 2 x 32768 both ends "
        "of the measurement fall right after the band index moves its dict into a sorted run",
    )
    parser.add_argument("--kept-ids-out", help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    workers = max(1, args.workers)

    load_before = os.getloadavg()
    n_files = corpus_files(args.size_mb, workers)
    corpus, info = generate_corpus(args.size_mb, args.seed, n_files)
    print(
        f"corpus: {_mb(info['bytes']):.1f} MB, {info['documents']} documents in {n_files} files "
        f"(generated in {info['generate_seconds']} s)",
        flush=True,
    )
    # imports and model loads of the parent are paid before timing (workers load their own)
    import valuealign.curate
    from valuealign.curate import detect_language, load_tokenizer

    detect_language("warm up the detector")
    load_tokenizer()

    result: dict[str, Any] = {
        "benchmark": "curate_throughput",
        "machine": machine_info(),
        "workers": workers,
        "corpus": {
            "mb": round(_mb(info["bytes"]), 1),
            "bytes": info["bytes"],
            "documents": info["documents"],
            "files": info["files"],
            "seed": info["seed"],
            "kinds": info["kinds"],
            "generate_seconds": info["generate_seconds"],
        },
        "valuealign_src": "this checkout"
        if Path(valuealign.curate.__file__).parents[2].resolve() == Path("src").resolve()
        else "another checkout",
        "versions": {
            name: _version(name)
            for name in (
                "valuealign",
                "lingua-language-detector",
                "rensa",
                "daachorse",
                "pyahocorasick",
                "datasketch",
                "xxhash",
            )
        },
    }
    work = Path(tempfile.mkdtemp(prefix="curate-bench-"))
    try:
        baseline = None
        if args.baseline_src:
            print(f"baseline ({args.baseline_src}): the same runs ...", flush=True)
            baseline = run_baseline(args.baseline_src, args, workers)
        if not args.skip_full:
            print("valuealign: whole chain ...", flush=True)
            result["valuealign_full"] = run_valuealign_full(corpus, work, workers, info)
            kept_now = json.loads((work / "kept-ids.json").read_text(encoding="utf-8"))
            if args.kept_ids_out:
                shutil.copyfile(work / "kept-ids.json", args.kept_ids_out)
            if baseline is not None and baseline.get("_kept_ids") is not None:
                before = set(baseline["_kept_ids"])
                result["kept_ids_vs_baseline"] = {
                    "baseline_kept": len(before),
                    "kept": len(kept_now),
                    "same_order": baseline["_kept_ids"] == kept_now,
                    "only_baseline": sorted(before - set(kept_now))[:50],
                    "only_now": sorted(set(kept_now) - before)[:50],
                }
        if baseline is not None:
            baseline.pop("_kept_ids", None)
            result["baseline"] = baseline
        if not args.skip_step_pairs:
            print("per step, before and after (one core) ...", flush=True)
            result["step_pairs"] = run_step_pairs(corpus, args.step_mb, args.seed)
        if args.dedup_memory:
            print("dedup memory ...", flush=True)
            result["dedup_memory"] = run_dedup_memory(args.dedup_memory)
        print("valuealign: language + quality + dedup ...", flush=True)
        result["valuealign_like_for_like"] = run_valuealign_like_for_like(
            corpus, work, workers, info
        )
        if not args.skip_lexicon:
            print("lexicon matcher ...", flush=True)
            result["lexicon"] = run_lexicon(corpus, args.lexicon_mb, args.seed)
        if not args.skip_datatrove:
            print("datatrove: language + quality + dedup ...", flush=True)
            result["datatrove"] = run_datatrove(corpus, work, workers, info)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load_after = os.getloadavg()

    dt = result.get("datatrove") or {}
    if "mb_per_s" in dt:
        ratio = {
            "like_for_like": round(
                result["valuealign_like_for_like"]["mb_per_s"] / dt["mb_per_s"], 2
            )
        }
        if "valuealign_full" in result:
            ratio["whole_chain"] = round(result["valuealign_full"]["mb_per_s"] / dt["mb_per_s"], 2)
        result["ratio_valuealign_over_datatrove"] = ratio
        result["versions"].update({f"datatrove_venv:{k}": v for k, v in dt["versions"].items()})
    result["target"] = "valuealign >= datatrove throughput; lexicon >= 50 MB/s on one core"
    notes = [
        f"load average (1, 5, 15 min) before: {[round(x, 2) for x in load_before]}, after: "
        f"{[round(x, 2) for x in load_after]} on {os.cpu_count()} cores",
        "MB = 2**20 bytes of JSONL input. docs/s and MB/s use wall-clock time of the whole run "
        "(start-up of worker processes included); per-step figures use the CPU-seconds each step "
        "reports, summed over workers, so they are per core; a step's MB is estimated as "
        "documents it saw x mean input document size",
        "valuealign whole chain runs with select='all' so the lexicon step keeps every document "
        "and privacy, dedup and pack see them all; its dedup is exact (content hash) + MinHash "
        "LSH over character 5-grams, 128 permutations, threshold 0.8",
        "valuealign's language step decides plainly Chinese or English text by script and "
        "function words and hands the rest to lingua; datatrove's stand-in runs lingua on every "
        "document (as valuealign did before)",
        "valuealign like for like: the chain's read, normalise, language, quality and dedup steps "
        "(run_curate cannot switch lexicon, privacy or pack off), composed from the public "
        "valuealign.curate steps on its LocalExecutor; no audit files are written, as datatrove "
        "writes no exclusion files here; normalise (NFKC) has no datatrove counterpart and is "
        "kept in",
        "datatrove: its LanguageFilter needs a fastText model downloaded at run time, impossible "
        "here (no model hub), so the language step is a datatrove BaseFilter calling lingua "
        "(same version, same languages and 1000-character sample as valuealign); quality is "
        "GopherRepetitionFilter + GopherQualityFilter, chosen per detected language (English: "
        "datatrove defaults; Chinese: its 'cmn' tokenizer, spaCy + jieba, Chinese stop words, "
        "average word length 1..8); MinHash uses datatrove's defaults (word 5-grams, 14 buckets "
        "x 8 hashes) with its Chinese tokenizer for text with CJK characters and its English "
        "one otherwise; intermediate and final JSONL written uncompressed",
        "thresholds differ (valuealign: >= 20 English words / 40 Chinese characters; Gopher: "
        ">= 50 words), so the two keep slightly different document sets; both drop the "
        "generated junk and duplicates",
        "lexicon: two generated lexicons of 10k multi-word terms (5k zh + 5k en) over the same "
        "text, one core, in the main process: dense_hits, terms made of the corpus' own words "
        "(about 5k hits per MB, a worst case), and sparse_hits, terms that start with corpus "
        "words but end with a word that never occurs (the scan alone)",
        *args.note,
    ]
    if load_before[0] > 0.5 * (os.cpu_count() or 1):
        notes.insert(0, "the machine was shared with other work during this run: figures are low")
    result["notes"] = notes
    print_report(result)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"\nsaved {args.out}")


if __name__ == "__main__":
    main()
