"""Measure what decontamination thresholds separate copying from shared topic on our data.

For every (shipped training unit, benchmark question) pair: the longest shared run of English
words, of Chinese characters, and the Jaccard similarity of character 3-gram shingles. Prints the
highest values seen (the pairs closest to the benchmark) so the defaults in
``valuealign.decontam`` can be set with a margin, and writes them to
benchmarks/results/decontam_thresholds.json.

    PYTHONPATH=src python benchmarks/decontam_thresholds.py [SOURCE ...]
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

from valuealign.decontam import (
    benchmark_questions,
    load_units,
    ngrams,
    shingles,
    token_streams,
)

MAX_N = 24


def main(sources: list[str]) -> None:
    questions = benchmark_questions("builtin")
    units = [u for s in sources for u in load_units(s)]
    idx: dict[str, dict[tuple, set[int]]] = {"w": defaultdict(set), "c": defaultdict(set)}
    qsh = []
    for k, q in enumerate(questions):
        w, c = token_streams(q.text)
        for n in range(2, MAX_N + 1):
            for g in ngrams(w, n):
                idx["w"][g].add(k)
            for g in ngrams(c, n):
                idx["c"][g].add(k)
        qsh.append(shingles(q.text))
    rows = []
    for u in units:
        w, c = token_streams(u.text)
        best: dict[tuple[str, int], int] = defaultdict(int)
        for key, seq in (("w", w), ("c", c)):
            for n in range(2, MAX_N + 1):
                found = False
                for g in ngrams(seq, n):
                    for k in idx[key].get(g, ()):
                        best[(key, k)] = max(best[(key, k)], n)
                        found = True
                if not found:
                    break
        sh = shingles(u.text)
        for k, q in enumerate(questions):
            a, b = sh, qsh[k]
            if not a or not b or min(len(a), len(b)) / max(len(a), len(b)) < 0.2:
                jac = 0.0
            else:
                jac = len(a & b) / len(a | b)
            wr, cr = best.get(("w", k), 0), best.get(("c", k), 0)
            if jac >= 0.2 or wr >= 5 or cr >= 6:
                rows.append(
                    {
                        "unit": f"{u.where} {u.record} {u.field}",
                        "item": f"{q.item_id}.{q.language}",
                        "word_run": wr,
                        "char_run": cr,
                        "jaccard": round(jac, 3),
                        "train": u.text[:90],
                        "question": q.text[:90],
                    }
                )
    out = {"units": len(units), "questions": len(questions), "sources": sources}
    for key in ("word_run", "char_run", "jaccard"):
        top = sorted(rows, key=lambda r: -r[key])[:15]
        out[f"top_{key}"] = top
        print(f"\n== highest {key} ==")
        for r in top:
            print(f"{r[key]:>6} {r['unit'][:60]:<60} ~ {r['item']}")
            print(f"        train: {r['train']}\n        bench: {r['question']}")
    Path("benchmarks/results").mkdir(parents=True, exist_ok=True)
    Path("benchmarks/results/decontam_thresholds.json").write_text(
        json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main(sys.argv[1:] or ["builtin:shipped"])
