"""Export kept pairs as chat ``messages`` data for the training stages (JSONL or Parquet).

Each row is ``{"messages": [...], "id", "subdomain", "strategy", "language", "score"}``;
``datasets.load_dataset("json", data_files=...)`` (or "parquet") loads it as is.

By default the rows carry **no system prompt**: the benchmark asks its questions with no
system prompt, and the method's aim is a model that holds the values without being told them
(values internalised). Human decisions from ``valuealign review`` (``RUN_DIR/labels.jsonl``)
win over the Critic's: a pair a person dropped is never exported, a pair a person kept is
exported even when the Critic rejected it (and with the person's score); the manifest counts
both. ``system_prompt=True`` (``--system charter``) keeps the Actor's charter
system prompt, for comparison. ``OUT.manifest.json`` records that choice, the counts and the
decontamination check of the exported rows against the benchmark (:mod:`valuealign.decontam`).

>>> export_sft("runs/r1", "runs/r1/sft.jsonl", min_score=5, languages=["zh"])
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from valuealign.errors import MissingExtra, UserError
from valuealign.generate.records import Sample
from valuealign.records import check_output_file, fix_mode, read_jsonl


def export_sft(
    run_dir: str | Path,
    out: str | Path,
    *,
    min_score: int | None = None,
    subdomains: list[str] | None = None,
    languages: list[str] | None = None,
    strategies: list[str] | None = None,
    system_prompt: bool = False,
    strict_decontam: bool = False,
    benchmark: str = "builtin",
) -> int:
    run_dir, out = Path(run_dir), Path(out)
    path = run_dir / "samples.jsonl"
    if not path.exists():
        raise UserError(
            f"{path}: no kept samples here", fix="point at a `valuealign generate --out` directory"
        )
    if min_score is not None and not 1 <= min_score <= 5:
        raise UserError(f"--min-score {min_score} is outside 1-5", fix="use 1 to 5")
    from valuealign.generate.records import Rejected
    from valuealign.labels import latest_labels

    decisions: dict[str, set[str]] = {}
    human_score: dict[str, int] = {}
    for (_, task), lab in latest_labels(run_dir).items():
        if lab.get("decision"):
            decisions.setdefault(task, set()).add(lab["decision"])
        if lab.get("score"):
            human_score[task] = lab["score"]
    dropped = {t for t, d in decisions.items() if "drop" in d}  # anyone's drop wins
    kept = {t for t, d in decisions.items() if d == {"keep"}}
    human = {"dropped": 0, "kept": 0, "kept_critic_rejected": 0}

    candidates: list[tuple[Any, bool]] = [(s, True) for s in read_jsonl(path, Sample, repair=True)]
    rejected_path = run_dir / "rejected.jsonl"
    if kept and rejected_path.exists():
        candidates += [
            (r, False)
            for r in read_jsonl(rejected_path, Rejected, repair=True)
            if r.id in kept and r.messages and r.answer
        ]
    rows = []
    for s, critic_kept in candidates:
        if s.id in dropped:
            human["dropped"] += 1
            continue
        by_human = s.id in kept
        score = human_score.get(s.id) if by_human else None
        if score is None and s.critic is not None:
            score = s.critic.overall
        if min_score is not None and not by_human and (score is None or score < min_score):
            continue
        if subdomains and s.subdomain not in subdomains:
            continue
        if languages and s.language not in languages:
            continue
        if strategies and s.strategy not in strategies:
            continue
        if by_human:
            human["kept"] += 1
            human["kept_critic_rejected"] += not critic_kept
        messages = [m.model_dump() for m in s.messages if system_prompt or m.role != "system"]
        rows.append(
            {
                "messages": messages,
                "id": s.id,
                "subdomain": s.subdomain,
                "strategy": s.strategy,
                "language": s.language,
                "score": score,
            }
        )
    check_output_file(out, "--out")
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(fd)
    try:
        if out.suffix == ".parquet":
            try:
                import pyarrow as pa
                import pyarrow.parquet as pq
            except ImportError:
                raise MissingExtra("pyarrow", "train", "Parquet export") from None
            pq.write_table(pa.Table.from_pylist(rows), tmp)
        elif out.suffix in (".jsonl", ".json"):
            with open(tmp, "w", encoding="utf-8") as f:
                for row in rows:
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            raise UserError(
                f"{out}: unknown output format", fix="use a .jsonl or .parquet file name"
            )
        from valuealign.decontam import Unit, check, summary, warn_line

        units = [
            Unit(str(out), f"{out}:{n}", r["id"], f"messages[{k}].{m['role']}", m["content"])
            for n, r in enumerate(rows, 1)
            for k, m in enumerate(r["messages"])
            if m["role"] != "system" and m["content"].strip()
        ]
        report = check([], benchmark=benchmark, units=units)
        line = warn_line(report, f"the exported pairs of {run_dir}")
        if line:
            import sys

            print(line, file=sys.stderr)
            if strict_decontam:
                from valuealign.decontam import ContaminationError, format_collisions

                raise ContaminationError(line + "\n" + format_collisions(report, 10))
        fix_mode(tmp)
        os.replace(tmp, out)
    finally:
        Path(tmp).unlink(missing_ok=True)
    from valuealign.records import utcnow, write_json_atomic

    write_json_atomic(
        manifest_path(out),
        {
            "job": "export-sft",
            "run_dir": str(run_dir),
            "out": str(out),
            "created_at": utcnow(),
            "system_prompt": "charter" if system_prompt else "none",
            "filters": {
                "min_score": min_score,
                "subdomains": subdomains,
                "languages": languages,
                "strategies": strategies,
            },
            "rows": len(rows),
            "human_decisions": human,
            "decontamination": summary(report),
        },
    )
    return len(rows)


def manifest_path(out: str | Path) -> Path:
    out = Path(out)
    return out.with_name(out.stem + ".manifest.json")
