"""The VISA pipeline end to end with the embedded Qwen2.5 0.5B, sized for a CPU, in one command.

Stages (each one `valuealign` command, run under ``/usr/bin/time -v`` for its wall time, CPU
time and peak memory, with the load average sampled while it runs):

1. ``visa make-data`` on the **training queries** (the charter's example questions, zh and en):
   the frozen answerer (``ct2/`` Qwen 0.5B) answers, targets are drawn from the built-in
   personas -> ``triples.jsonl``;
2. ``visa make-data`` on the **evaluation queries** (the shipped VISA prompts, ``--eval-n`` per
   language, none of them in training) with one persona, ``tradition=+1,security=+1``: the
   frozen answers to rewrite -> ``eval-answers.jsonl``;
3. ``visa sft-data``: each training row rewritten ``--sft-samples`` times by the base model,
   the best gated rewrite kept -> ``sft.jsonl`` (the SFT baseline's data);
4. ``train sft``: the SFT rewriter, LoRA on ``hf/`` Qwen 0.5B;
5. ``train rewriter``: a short GRPO run (``--grpo-steps``, ``--generations`` per prompt, LoRA);
6. ``eval-rewrite`` on the evaluation answers: the original, the prompting baseline, the VISA
   loop (steered by ``keywords``), the SFT and the GRPO rewriter, scored under an **independent**
   detector: ``classifier:multilingual`` (Qwen hidden states, a different code path from the
   keyword lexicon in both languages) at its balanced operating point (precision target 0.5,
   saved to ``WORK/detector-balanced``: the shipped detector abstains at precision 0.8 on almost
   everything);
7. ``eval-rewrite`` again on the same rewrites (nothing regenerated) under the shipped
   high-precision ``classifier:multilingual``.

Outputs under ``--work`` (models, adapters, every JSONL; not for the repository) and, small,
under ``--results``: ``stages.json`` (commands, times, memory, load), ``scores.json`` and the
reports of both evaluations, the SFT and GRPO manifests (loss and reward history). Paths in
them are relative to this checkout.

    nice -n 10 env PYTHONPATH=src python benchmarks/visa_e2e.py \
        [--n 24] [--eval-n 8] [--sft-samples 2] [--grpo-steps 4] [--generations 2]
    nice -n 10 env PYTHONPATH=src python benchmarks/visa_e2e.py --smoke   # n=2, a step each

A stage whose output exists is skipped (rerun to resume; ``--fresh`` starts over).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGET = "tradition=+1,security=+1"


def _loadavg() -> list[float]:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


def _rel(text: str) -> str:
    """``text`` with this checkout's and the home folder's absolute paths made relative."""
    text = text.replace(str(ROOT) + os.sep, "").replace(str(ROOT), ".")
    return text.replace(str(Path.home()), "~")


def _scrub(obj: Any) -> Any:
    if isinstance(obj, str):
        return _rel(obj)
    if isinstance(obj, dict):
        return {k: _scrub(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_scrub(v) for v in obj]
    return obj


def _time_v(stderr: str) -> dict[str, Any]:
    """Wall, user and system seconds and peak RSS from GNU time's ``-v`` report."""

    def grab(label: str) -> str | None:
        m = re.search(rf"^\s*{re.escape(label)}:\s*(.+)$", stderr, re.M)
        return m.group(1).strip() if m else None

    wall = grab("Elapsed (wall clock) time (h:mm:ss or m:ss)")
    secs = None
    if wall:
        parts = [float(p) for p in wall.split(":")]
        secs = sum(p * 60**i for i, p in enumerate(reversed(parts)))
    rss = grab("Maximum resident set size (kbytes)")
    return {
        "wall_s": round(secs, 1) if secs is not None else None,
        "user_s": float(grab("User time (seconds)") or "nan"),
        "system_s": float(grab("System time (seconds)") or "nan"),
        "peak_rss_mb": round(int(rss) / 1024, 1) if rss else None,
    }


def run_stage(name: str, args: list[str], log: Path, python: list[str] | None = None) -> dict:
    """Run ``python -m valuealign ARGS`` (or ``python PYTHON...``) under ``/usr/bin/time -v``;
    sample the load meanwhile."""
    prog = python if python is not None else ["-m", "valuealign", *args]
    cmd = ["/usr/bin/time", "-v", sys.executable, *prog]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    samples: list[float] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(15):
            la = _loadavg()
            if la:
                samples.append(la[0])

    print(f"[e2e] {name}: valuealign {' '.join(args)}", flush=True)
    before = _loadavg()
    t = threading.Thread(target=sample, daemon=True)
    t.start()
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    stop.set()
    after = _loadavg()
    log.write_text(
        f"$ valuealign {' '.join(args)}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}",
        encoding="utf-8",
    )
    timing = _time_v(proc.stderr)
    out_lines = [x for x in proc.stdout.splitlines() if x.strip()]
    rec = {
        "stage": name,
        "command": ("python " if python is not None else "valuealign ")
        + " ".join(python if python is not None else args),
        "exit_code": proc.returncode,
        **timing,
        "wall_s": timing["wall_s"] or round(elapsed, 1),
        "load_before": before,
        "load_after": after,
        "load1_during_mean": round(sum(samples) / len(samples), 2) if samples else None,
        "load1_during_max": max(samples) if samples else None,
        "stdout_tail": [_rel(x) for x in out_lines[-12:]],
    }
    print(
        f"[e2e] {name}: exit {proc.returncode}, {rec['wall_s']} s, "
        f"peak {timing['peak_rss_mb']} MB, load {before[:1]} -> {after[:1]}",
        flush=True,
    )
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.splitlines()[-30:])
        raise SystemExit(f"[e2e] {name} failed (exit {proc.returncode}); see {log}\n{tail}")
    return rec


def _queries(n_per_lang: int | None, eval_set: bool) -> list[dict[str, str]]:
    """Training queries: the charter's example questions; evaluation queries: the shipped VISA
    prompts (``n_per_lang`` per language, evenly spaced by id, so every subdomain is drawn).
    The two sets do not overlap."""
    from valuealign.visa.dataset import default_queries

    items = default_queries(("en", "zh"))
    rows = [
        {"id": q.id, "query": q.query, "language": q.language}
        for q in items
        if q.id.startswith("visa-") == eval_set
    ]
    if n_per_lang is not None:
        out = []
        for lang in ("en", "zh"):
            pool = sorted((r for r in rows if r["language"] == lang), key=lambda r: r["id"])
            step = max(1, len(pool) // max(1, n_per_lang))  # spread over the subdomains
            out += pool[::step][:n_per_lang]
        rows = out
    return rows


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")


def _yaml(path: Path, cfg: dict[str, Any]) -> None:
    import yaml

    path.write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True), encoding="utf-8")


SYSTEMS = ("original", "baseline", "visa", "sft", "grpo")
LABELS = {
    "original": "original answer",
    "baseline": "prompting baseline",
    "visa": "VISA loop",
    "sft": "SFT rewriter",
    "grpo": "GRPO rewriter",
}


def _f(x: Any, nd: int = 2) -> str:
    return "-" if x is None else f"{x:.{nd}f}"


def summary(results: Path) -> str:
    """The README tables of a finished run, from the files in ``results``."""
    out: list[str] = []
    for sub, title in (("eval", "balanced"), ("eval-hp", "high-precision")):
        path = results / sub / "scores.json"
        if not path.is_file():
            continue
        sc = json.loads(path.read_text(encoding="utf-8"))
        out.append(f"\nEvaluation detector {sc['detectors']['evaluation']} ({title}):\n")
        out.append(
            "| lang | system | n | value precision | hit rate | similarity | facts kept | "
            "gated | reward | precision under keywords (steering) |"
        )
        out.append("|---|---|---|---|---|---|---|---|---|---|")
        parts = [("all", sc["scores"])] + [
            (lang, v) for lang, v in (sc.get("scores_by_language") or {}).items()
        ]
        for lang, per_role in parts:
            for system in SYSTEMS:
                e = per_role.get("evaluation", {}).get(system) or {}
                r = per_role.get("reward", {}).get(system) or {}
                if not e.get("n"):
                    continue
                out.append(
                    f"| {lang} | {LABELS[system]} | {e['n']} | {_f(e.get('value_precision'))} | "
                    f"{_f(e.get('hit_rate'))} | {_f(e.get('similarity'))} | "
                    f"{_f(e.get('fact_share'))} | {_f(e.get('gated_rate'))} | "
                    f"{_f(e.get('reward'))} | {_f(r.get('value_precision'))} |"
                )
        out.append("\nPaired differences a - b, bootstrap 95% interval:\n")
        out.append("| lang | a - b | n | value precision | similarity | reward |")
        out.append("|---|---|---|---|---|---|")
        by_lang = sc.get("comparisons_by_language") or {}
        comps = [("all", sc["comparisons"]), *by_lang.items()]
        for lang, rows in comps:
            by_pair: dict[tuple[str, str], dict[str, Any]] = {}
            for c in rows:
                by_pair.setdefault((c["a"], c["b"]), {})[c["metric"]] = c
            for (a, b), m in by_pair.items():

                def cell(metric: str, m: dict[str, Any] = m) -> str:
                    c = m.get(metric) or {}
                    if not c.get("n"):
                        return "-"
                    lo, hi = c["ci95"]
                    return f"{c['mean_diff']:+.2f} [{lo:+.2f}, {hi:+.2f}]"

                n = (m.get("value_precision") or {}).get("n", 0)
                out.append(
                    f"| {lang} | {LABELS[a]} - {LABELS[b]} | {n} | {cell('value_precision')} | "
                    f"{cell('similarity')} | {cell('reward')} |"
                )
    st = results / "stages.json"
    if st.is_file():
        doc = json.loads(st.read_text(encoding="utf-8"))
        # stages run side by side (--only) have their own files; a stage recorded there is where
        # its work was done, so it replaces a same-named one of stages.json (skipped there, or a
        # resumed run that found everything done) instead of being listed twice
        by_name = {x["stage"]: x for x in doc["stages"]}
        for extra in sorted(results.glob("stages-*.json")):
            for x in json.loads(extra.read_text(encoding="utf-8"))["stages"]:
                if not x.get("skipped") or x["stage"] not in by_name:
                    by_name[x["stage"]] = x
        doc["stages"] = list(by_name.values())
        doc["total_stage_wall_s"] = round(
            sum(x.get("wall_s") or 0 for x in doc["stages"] if not x.get("skipped")), 1
        )
        out.append(
            "\n| stage | wall s | CPU s (user+sys) | peak RSS MB | load (1 min) before / mean / after |"
        )
        out.append("|---|---|---|---|---|")
        for x in doc["stages"]:
            if x.get("skipped"):
                continue
            cpu = (x.get("user_s") or 0) + (x.get("system_s") or 0)
            out.append(
                f"| {x['stage']} | {_f(x.get('wall_s'), 0)} | {cpu:.0f} | "
                f"{_f(x.get('peak_rss_mb'), 0)} | {_f((x.get('load_before') or [None])[0])} / "
                f"{_f(x.get('load1_during_mean'))} / {_f((x.get('load_after') or [None])[0])} |"
            )
        out.append(
            f"\ntotal stage wall time {doc.get('total_stage_wall_s')} s; counts {doc.get('counts')}"
        )
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", default="runs/visa-e2e", help="Models and data (not committed).")
    ap.add_argument("--results", default="benchmarks/results/visa-e2e")
    ap.add_argument("--model", default="qwen2.5-0.5b-instruct")
    ap.add_argument("--n", type=int, default=24, help="Training rows (make-data).")
    ap.add_argument("--eval-n", type=int, default=8, help="Evaluation answers per language.")
    ap.add_argument("--sft-samples", type=int, default=2)
    ap.add_argument("--sft-epochs", type=float, default=1.0)
    ap.add_argument("--sft-min-reward", type=float, default=0.0, help="visa sft-data's bar.")
    ap.add_argument("--grpo-steps", type=int, default=4)
    ap.add_argument("--generations", type=int, default=2, help="GRPO rewrites per prompt.")
    ap.add_argument("--answer-tokens", type=int, default=160, help="Frozen answers' length.")
    ap.add_argument("--rewrite-tokens", type=int, default=224, help="Rewrites' length.")
    ap.add_argument("--max-rounds", type=int, default=2, help="VISA loop rounds.")
    ap.add_argument("--smoke", action="store_true", help="n=2, one step each: finds bugs fast.")
    ap.add_argument("--fresh", action="store_true", help="Delete --work first.")
    ap.add_argument("--summary", action="store_true", help="Print the tables of --results.")
    ap.add_argument(
        "--only",
        default=None,
        help="Comma-separated stages to run (the others are neither run nor recorded); their "
        "records go to stages-<names>.json. For running independent stages side by side.",
    )
    a = ap.parse_args()
    if a.summary:
        print(summary(ROOT / a.results))
        return
    if a.smoke:
        a.n, a.eval_n, a.sft_samples, a.grpo_steps = 2, 1, 1, 1
        a.answer_tokens, a.rewrite_tokens = 48, 64
        a.max_rounds, a.sft_min_reward = 1, -10.0  # the smoke run needs a row to train on
        if a.work == "runs/visa-e2e":
            a.work = "runs/visa-e2e-smoke"
        if a.results == "benchmarks/results/visa-e2e":
            a.results = str(Path(a.work) / "results")
    work, results = ROOT / a.work, ROOT / a.results
    if a.fresh and work.exists():
        shutil.rmtree(work)
    (work / "logs").mkdir(parents=True, exist_ok=True)
    results.mkdir(parents=True, exist_ok=True)
    w = Path(a.work)  # relative paths in every command (run from the checkout root)
    ct2, hf = f"ct2/{a.model}", f"hf/{a.model}"
    stages: list[dict[str, Any]] = []
    started = time.perf_counter()
    meta = {
        "machine": f"this checkout, {os.cpu_count()} CPU cores",
        "load_at_start": _loadavg(),
        "settings": {k: v for k, v in vars(a).items() if k not in ("fresh",)},
        "target": TARGET,
    }

    only = set(a.only.split(",")) if a.only else None
    record = results / (f"stages-{'+'.join(sorted(only))}.json" if only else "stages.json")

    def stage(
        name: str, args: list[str], done: Path | None, python: list[str] | None = None
    ) -> None:
        if only is not None and name not in only:
            return
        if done is not None and done.exists():
            print(f"[e2e] {name}: {_rel(str(done))} exists, skipped", flush=True)
            stages.append(
                {"stage": name, "skipped": True, "command": "valuealign " + " ".join(args)}
            )
            return
        stages.append(run_stage(name, args, work / "logs" / f"{name}.log", python))
        _save()

    def _save() -> None:
        total = sum(s.get("wall_s") or 0 for s in stages)
        doc = {**meta, "stages": stages, "total_stage_wall_s": round(total, 1)}
        record.write_text(
            json.dumps(_scrub(doc), ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )

    # 1-2. data: training triples and the evaluation answers (disjoint query sets)
    _write_jsonl(work / "train-queries.jsonl", _queries(None, eval_set=False))
    _write_jsonl(work / "eval-queries.jsonl", _queries(a.eval_n, eval_set=True))
    (work / "eval-persona.txt").write_text(TARGET + "\n", encoding="utf-8")
    common = ["--max-tokens", str(a.answer_tokens), "--concurrency", "8"]
    rewrite_common = ["--max-tokens", str(a.rewrite_tokens), "--concurrency", "8"]
    stage(
        "make-data",
        ["visa", "make-data", "--answerer", ct2, "--queries", f"{w}/train-queries.jsonl",
         "--n", str(a.n), "--out", f"{w}/triples.jsonl", *common],
        work / "triples.jsonl",
    )  # fmt: skip
    stage(
        "make-data-eval",
        ["visa", "make-data", "--answerer", ct2, "--queries", f"{w}/eval-queries.jsonl",
         "--personas", f"{w}/eval-persona.txt", "--n", str(2 * a.eval_n),
         "--out", f"{w}/eval-rows.jsonl", *common],
        work / "eval-rows.jsonl",
    )  # fmt: skip
    answers = [
        {"id": r["id"], "query": r["query"], "answer": r["original"], "language": r["language"]}
        for r in map(json.loads, (work / "eval-rows.jsonl").read_text("utf-8").splitlines())
    ]
    _write_jsonl(work / "eval-answers.jsonl", answers)

    # 3-4. the SFT rewriter baseline
    stage(
        "sft-data",
        ["visa", "sft-data", "--input", f"{w}/triples.jsonl", "--rewriter", ct2,
         "--samples", str(a.sft_samples), "--min-reward", str(a.sft_min_reward),
         "--out", f"{w}/sft.jsonl", *rewrite_common],
        work / "sft.jsonl",
    )  # fmt: skip
    lora = {"enabled": True, "r": 8, "alpha": 16, "dropout": 0.05, "targets": "all-linear"}
    common = {  # the same in both training configs
        "lora": lora,
        "seed": 42,
        "precision": "auto",
        "drift": False,  # the perplexity check costs minutes on 2 cores
        "save_steps": 1000,
        "logging_steps": 1,
    }
    _yaml(
        work / "sft.yaml",
        {
            "stage": "sft",
            "model": hf,
            "data": [{"path": f"{w}/sft.jsonl"}],
            "out": f"{w}/sft-rewriter",
            "seq_len": 1024,
            "batch_size": 2,
            "grad_accum": 1,
            "learning_rate": 2.0e-4,
            "lr_scheduler": "constant",
            "warmup_ratio": 0.0,
            "epochs": a.sft_epochs,
            **({"max_steps": 1} if a.smoke else {}),
            "eval_fraction": 0.0,
            **common,
        },
    )
    stage(
        "train-sft",
        ["train", "sft", "--config", f"{w}/sft.yaml"],
        work / "sft-rewriter" / "manifest.json",
    )

    # 5. a short GRPO run
    _yaml(
        work / "grpo.yaml",
        {
            "stage": "rewriter",
            "model": hf,
            "data": [{"path": f"{w}/triples.jsonl"}],
            "out": f"{w}/grpo-rewriter",
            "batch_size": a.generations,
            "grad_accum": 1,
            "num_generations": a.generations,
            "max_completion_length": a.rewrite_tokens,
            "temperature": 1.0,
            "beta": 0.0,
            "learning_rate": 1.0e-5,
            "lr_scheduler": "constant",
            "max_steps": a.grpo_steps,
            "reward": {"detector": "keywords", "similarity": "meaning"},
            **common,
        },
    )
    stage(
        "train-grpo",
        ["train", "rewriter", "--config", f"{w}/grpo.yaml"],
        work / "grpo-rewriter" / "manifest.json",
    )

    # 6-7. evaluation under an independent detector (two operating points)
    code = (
        "from valuealign.values.classifier import load_classifier; "
        f"load_classifier('multilingual', precision_target=0.5).save('{w}/detector-balanced')"
    )
    stage(
        "detector-balanced",
        ["(python -c)", code],
        work / "detector-balanced" / "model.json",
        python=["-c", code],
    )
    base = [
        "--answerer", ct2, "--rewriter", ct2, "--reward-detector", "keywords",
        "--max-rounds", str(a.max_rounds), *rewrite_common,
    ]  # fmt: skip
    trained = ["--sft-rewriter", f"hf/{w}/sft-rewriter", "--grpo-rewriter", f"hf/{w}/grpo-rewriter"]
    systems = [*base, *trained]
    # the VISA loop and the prompting baseline first (they need no trained model), then the
    # same command with the trained rewriters: it resumes, generating only their rewrites
    evaluate = [
        "eval-rewrite", "--input", f"{w}/eval-answers.jsonl", "--target", TARGET,
        "--detector", f"classifier:{w}/detector-balanced", "--out", f"{w}/eval",
    ]  # fmt: skip
    stage("eval-base", [*evaluate, *base], None)
    stage("eval-rewrite", [*evaluate, *systems], None)
    hp = work / "eval-hp"
    hp.mkdir(exist_ok=True)
    for f in ("baseline.jsonl", "sft.jsonl", "grpo.jsonl"):
        if (work / "eval" / f).exists():
            shutil.copy2(work / "eval" / f, hp / f)
    stage(
        "eval-rewrite-hp",
        ["eval-rewrite", "--input", f"{w}/eval/rewrites.jsonl", "--detector",
         "classifier:multilingual", "--out", f"{w}/eval-hp", *systems],
        None,
    )  # fmt: skip

    if only is not None and "eval-rewrite-hp" not in only:
        return
    # small outputs into --results
    for sub, names in (
        ("eval", ("scores.json", "rewrite-report.md")),
        ("eval-hp", ("scores.json", "rewrite-report.md")),
    ):
        (results / sub).mkdir(exist_ok=True)
        for name in names:
            text = (work / sub / name).read_text(encoding="utf-8")
            (results / sub / name).write_text(_rel(text), encoding="utf-8")
    for sub in ("sft-rewriter", "grpo-rewriter"):
        manifest = json.loads((work / sub / "manifest.json").read_text(encoding="utf-8"))
        (results / f"{sub}-manifest.json").write_text(
            json.dumps(_scrub(manifest), ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
    meta["wall_s_total"] = round(time.perf_counter() - started, 1)
    meta["load_at_end"] = _loadavg()
    meta["counts"] = {
        "train_rows": sum(1 for _ in (work / "triples.jsonl").open(encoding="utf-8")),
        "eval_answers": len(answers),
        "sft_rows": sum(1 for _ in (work / "sft.jsonl").open(encoding="utf-8")),
    }
    _save()
    print(f"[e2e] done in {meta['wall_s_total']} s -> {_rel(str(results))}", flush=True)


if __name__ == "__main__":
    main()
