"""How well and how fast the embedded models play the Critic and the judge, in zh and en.

For each model, on the shipped known answers (answers written to match a benchmark item's
score-5 guidance and its score-1 guidance; ``data/judgecheck/known-answers.jsonl``), one item per
subdomain by default:

* Critic: share of replies that are valid Critic JSON on the first try (no re-asks), keep rate
  of the score-5 answers and of the score-1 answers (a useful Critic keeps the first and drops
  the second), and the precision of its keep decisions;
* judge (``generate`` mode, no re-asks): parse-failure rate, AUC of score-5 vs score-1 answers
  per language, and Krippendorff's alpha (ordinal) between the Qwen judges' verdicts;
* speed: completion tokens per second, unbatched (one request at a time) and batched (8 at
  once), for the hf/ (transformers float32) and ct2/ (CTranslate2 int8) paths.

    python benchmarks/real_models.py                     # all models, both parts
    python benchmarks/real_models.py --part speed --models ct2/qwen2.5-0.5b-instruct,hf/qwen2.5-0.5b-instruct

Results are printed and saved to ``benchmarks/results/real_models-<part>.json``. The machine is
noisy (2 shared cores): compare the speed of two paths measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import time
from pathlib import Path

QUALITY_MODELS = [
    "ct2/smollm2-135m-instruct",
    "ct2/qwen2.5-0.5b-instruct",
    "ct2/qwen2.5-1.5b-instruct",
]
SPEED_MODELS = [
    "hf/smollm2-135m-instruct",
    "ct2/smollm2-135m-instruct",
    "hf/qwen2.5-0.5b-instruct",
    "ct2/qwen2.5-0.5b-instruct",
    "ct2/qwen2.5-1.5b-instruct",
]
SPEED_PROMPTS = [
    "用三句话介绍长城的历史。",
    "简单解释什么是宪法。",
    "请用两句话说明为什么人们会移民。",
    "说出三种常见的宗教节日并简单介绍。",
    "Explain in three sentences what a constitution is.",
    "Describe the Great Wall of China in two sentences.",
    "Why do people migrate? Answer in two sentences.",
    "Name three religious holidays and describe each briefly.",
]


def _pick(answers, per_subdomain: int):
    from valuealign.evaluate.benchmark import load_benchmark

    items = {i.id: i for i in load_benchmark("builtin:vcbench").items}
    seen: dict[tuple[str, str], set[str]] = {}
    out = []
    for ka in answers:
        item = items.get(ka.item_id)
        if item is None:
            continue
        chosen = seen.setdefault((item.subdomain, ka.language), set())
        if ka.item_id not in chosen and len(chosen) >= per_subdomain:
            continue
        chosen.add(ka.item_id)
        out.append((item, ka))
    return out


async def _quality_one(spec: str, pairs, concurrency: int) -> dict:
    from valuealign.backends import get_backend
    from valuealign.charter import load_charter
    from valuealign.evaluate.judge import Judge
    from valuealign.evaluate.judgecheck import auc
    from valuealign.generate.critic import Critic

    charter = load_charter()
    backend = get_backend(spec)
    critic = Critic(backend, charter, max_parse_retries=0)
    judge = Judge(backend, charter, max_parse_retries=0, max_tokens=160)
    threshold = charter.critic_threshold
    sem = asyncio.Semaphore(concurrency)

    async def one(item, ka):
        async with sem:
            conv = [{"role": "user", "content": item.question.get(ka.language)}]
            c = await critic.score(item.subdomain, ka.language, conv, ka.answer)
            j = await judge.score(item, ka.language, ka.answer)
        return {
            "id": ka.id,
            "language": ka.language,
            "label": ka.label,
            "critic_valid": c.scores is not None,
            "critic_overall": c.scores.overall if c.scores else None,
            "judge": j.score,
            "judge_raw": j.raw[-200:],
        }

    t0 = time.perf_counter()
    rows = await asyncio.gather(*(one(i, k) for i, k in pairs))
    seconds = time.perf_counter() - t0
    valid = [r for r in rows if r["critic_valid"]]
    kept = [r for r in valid if r["critic_overall"] >= threshold]

    def rate(xs, n):
        return round(len(xs) / n, 3) if n else None

    good = [r for r in valid if r["label"] == 5]
    bad = [r for r in valid if r["label"] == 1]
    per_lang = {}
    for lang in ("zh", "en"):
        rl = [r for r in rows if r["language"] == lang]
        scored = [r for r in rl if r["judge"] is not None]
        pos = [r["judge"] for r in scored if r["label"] == 5]
        neg = [r["judge"] for r in scored if r["label"] == 1]
        failed = len([r for r in rl if r["judge"] is None])
        valid_json = len([r for r in rl if r["critic_valid"]])
        per_lang[lang] = {
            "n": len(rl),
            "judge_parse_failure_rate": rate([None] * failed, len(rl)),
            "judge_parse_failure_ci95": wilson(failed, len(rl)),
            "judge_auc": auc(pos, neg),
            "judge_auc_ci95": auc_interval(pos, neg),
            "judge_mean_score5_answers": round(sum(pos) / len(pos), 2) if pos else None,
            "judge_mean_score1_answers": round(sum(neg) / len(neg), 2) if neg else None,
            "critic_valid_json": rate([None] * valid_json, len(rl)),
            "critic_valid_json_ci95": wilson(valid_json, len(rl)),
        }
    return {
        "model": spec,
        "n": len(rows),
        "seconds": round(seconds, 1),
        "critic": {
            "valid_json_first_try": rate(valid, len(rows)),
            "keep_rate": rate(kept, len(valid)),
            "keep_rate_score5_answers": rate([r for r in good if r in kept], len(good)),
            "keep_rate_score1_answers": rate([r for r in bad if r in kept], len(bad)),
            "keep_precision": rate([r for r in kept if r["label"] == 5], len(kept)),
            "threshold": threshold,
        },
        "judge": {
            "parse_failure_rate": rate([r for r in rows if r["judge"] is None], len(rows)),
            "per_language": per_lang,
        },
        "rows": rows,
    }


def wilson(k: int, n: int, z: float = 1.96) -> list[float] | None:
    """95% Wilson interval of a rate k/n (None when n is 0)."""
    if n == 0:
        return None
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return [round(max(0.0, centre - half), 3), round(min(1.0, centre + half), 3)]


def auc_interval(pos: list[float], neg: list[float], n_boot: int = 2000) -> list[float] | None:
    """Percentile bootstrap interval of the AUC (resampling each class)."""
    import numpy as np

    from valuealign.evaluate.judgecheck import auc

    if len(pos) < 2 or len(neg) < 2:
        return None
    rng = np.random.default_rng(0)
    vals = []
    for _ in range(n_boot):
        a = auc(list(rng.choice(pos, len(pos))), list(rng.choice(neg, len(neg))))
        if a is not None:
            vals.append(a)
    return [round(float(np.percentile(vals, 2.5)), 3), round(float(np.percentile(vals, 97.5)), 3)]


def quality(models: list[str], per_subdomain: int, concurrency: int) -> dict:
    from valuealign.backends import release_local_backends
    from valuealign.evaluate.judgecheck import load_known_answers

    pairs = _pick(load_known_answers(), per_subdomain)
    results = []
    for spec in models:
        print(f"quality: {spec} on {len(pairs)} known answers ...", flush=True)
        res = asyncio.run(_quality_one(spec, pairs, concurrency))
        release_local_backends()
        c, j = res["critic"], res["judge"]
        print(
            f"  critic valid JSON {c['valid_json_first_try']}, keep rate {c['keep_rate']} "
            f"(score-5 answers {c['keep_rate_score5_answers']}, score-1 answers "
            f"{c['keep_rate_score1_answers']}), keep precision {c['keep_precision']}",
            flush=True,
        )
        for lang, pl in j["per_language"].items():
            print(
                f"  judge [{lang}] parse failures {pl['judge_parse_failure_rate']}, "
                f"AUC {pl['judge_auc']}",
                flush=True,
            )
        results.append(res)
    agreement = _alpha(results)
    if agreement:
        print(f"Krippendorff alpha (ordinal) between Qwen judges: {agreement}")
    return {"models": results, "qwen_judge_alpha": agreement}


def _alpha(results: list[dict]) -> dict | None:
    qwen = [r for r in results if "qwen" in r["model"]]
    if len(qwen) < 2:
        return None
    import krippendorff
    import numpy as np

    a, b = qwen[0], qwen[1]
    rows_a = {r["id"]: r["judge"] for r in a["rows"]}
    rows_b = {r["id"]: r["judge"] for r in b["rows"]}
    ids = sorted(set(rows_a) & set(rows_b))
    data = np.array(
        [
            [np.nan if rows_a[i] is None else rows_a[i] for i in ids],
            [np.nan if rows_b[i] is None else rows_b[i] for i in ids],
        ],
        dtype=float,
    )
    both = int(np.sum(~np.isnan(data).any(axis=0)))
    alpha = (
        float(krippendorff.alpha(reliability_data=data, level_of_measurement="ordinal"))
        if both >= 2
        else None
    )
    return {"judges": [a["model"], b["model"]], "alpha": alpha, "units_both_scored": both}


def speed(models: list[str], max_tokens: int) -> dict:
    from valuealign.backends import GenerateConfig, get_backend, release_local_backends, user

    results = []
    for spec in models:
        backend = get_backend(spec)
        t0 = time.perf_counter()
        backend.load()
        load = time.perf_counter() - t0
        config = GenerateConfig(max_tokens=max_tokens)

        async def unbatched(backend=backend, config=config):
            return [await backend.generate(user(p), config) for p in SPEED_PROMPTS[::2]]

        async def batched(backend=backend, config=config):
            return await asyncio.gather(*(backend.generate(user(p), config) for p in SPEED_PROMPTS))

        row = {"model": spec, "load_seconds": round(load, 1)}
        for name, fn in (("unbatched", unbatched), ("batched_8", batched)):
            t0 = time.perf_counter()
            outs = asyncio.run(fn())
            dt = time.perf_counter() - t0
            tokens = sum(o.completion_tokens for o in outs)
            row[name] = {
                "tokens": tokens,
                "seconds": round(dt, 2),
                "tokens_per_s": round(tokens / dt, 2),
            }
        print(
            f"speed: {spec}: unbatched {row['unbatched']['tokens_per_s']} tok/s, "
            f"batch 8 {row['batched_8']['tokens_per_s']} tok/s (load {row['load_seconds']} s)",
            flush=True,
        )
        if spec.startswith("ct2/"):
            row["judge_prefix_cache"] = _prefix_timing(spec)
            p = row["judge_prefix_cache"]
            print(
                f"  judge prompts, 2 answers per item: {p['seconds_prefix_recomputed']} s with "
                f"the prefix recomputed, {p['seconds_prefix_kept']} s with it kept",
                flush=True,
            )
        results.append(row)
        release_local_backends()
    return {"max_tokens": max_tokens, "models": results}


def _prefix_timing(spec: str, n_items: int = 3) -> dict:
    """The judge's prompts for two answers to each of a few items (greedy, 32 tokens), with the
    shared charter-and-question prefix recomputed for every prompt and kept across them."""
    from valuealign.backends import GenerateConfig
    from valuealign.backends.ct2 import CT2Backend
    from valuealign.charter import load_charter
    from valuealign.evaluate.benchmark import load_benchmark
    from valuealign.evaluate.judge import Judge

    charter = load_charter()
    items = load_benchmark("builtin:vcbench").items[:n_items]
    answers = ["The answer states the facts and the charter's position.", "I cannot discuss that."]
    row: dict = {"items": n_items, "answers_per_item": len(answers)}
    for name, budget in (("recomputed", 0), ("kept", 8192)):
        backend = CT2Backend(spec.removeprefix("ct2/"), prefix_cache_tokens=budget)
        backend.load()
        judge = Judge(backend, charter)
        t0 = time.perf_counter()
        for item in items:
            for answer in answers:
                messages, tag = judge.messages(item, "en", answer)
                config = GenerateConfig(
                    max_tokens=32, prefix_chars=messages[-1]["content"].find(f"<{tag}>")
                )
                asyncio.run(backend.generate(messages, config))
        row[f"seconds_prefix_{name}"] = round(time.perf_counter() - t0, 1)
        backend.close()
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--part", choices=["quality", "speed", "all"], default="all")
    ap.add_argument("--models", default=None, help="comma-separated model addresses")
    ap.add_argument("--per-subdomain", type=int, default=1, help="known-answer items per subdomain")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--out", default="benchmarks/results")
    args = ap.parse_args()
    meta = {
        "python": platform.python_version(),
        "machine": "2 CPU cores (shared)",
        "date": time.strftime("%Y-%m-%d"),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    chosen = args.models.split(",") if args.models else None
    if args.part in ("quality", "all"):
        res = {**meta, **quality(chosen or QUALITY_MODELS, args.per_subdomain, args.concurrency)}
        (out / "real_models-quality.json").write_text(json.dumps(res, indent=2, ensure_ascii=False))
    if args.part in ("speed", "all"):
        res = {**meta, **speed(chosen or SPEED_MODELS, args.max_tokens)}
        (out / "real_models-speed.json").write_text(json.dumps(res, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
