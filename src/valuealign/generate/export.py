"""Export kept pairs as chat ``messages`` data for the training stages (JSONL or Parquet).

Each row is ``{"messages": [...], "id", "subdomain", "strategy", "language", "score"}``;
``datasets.load_dataset("json", data_files=...)`` (or "parquet") loads it as is.

>>> export_sft("runs/r1", "runs/r1/sft.jsonl", min_score=5, languages=["zh"])
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

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
    system_prompt: bool = True,
) -> int:
    run_dir, out = Path(run_dir), Path(out)
    path = run_dir / "samples.jsonl"
    if not path.exists():
        raise UserError(
            f"{path}: no kept samples here", fix="point at a `valuealign generate --out` directory"
        )
    if min_score is not None and not 1 <= min_score <= 5:
        raise UserError(f"--min-score {min_score} is outside 1-5", fix="use 1 to 5")
    rows = []
    for s in read_jsonl(path, Sample, repair=True):
        if min_score is not None and s.critic.overall < min_score:
            continue
        if subdomains and s.subdomain not in subdomains:
            continue
        if languages and s.language not in languages:
            continue
        if strategies and s.strategy not in strategies:
            continue
        messages = [m.model_dump() for m in s.messages if system_prompt or m.role != "system"]
        rows.append(
            {
                "messages": messages,
                "id": s.id,
                "subdomain": s.subdomain,
                "strategy": s.strategy,
                "language": s.language,
                "score": s.critic.overall,
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
        fix_mode(tmp)
        os.replace(tmp, out)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return len(rows)
