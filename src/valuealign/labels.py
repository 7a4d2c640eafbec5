"""Human labels of a run (``RUN_DIR/labels.jsonl``), as the review page writes them.

Low in the layering so that ``export`` can honour human decisions without importing the page.
"""

from __future__ import annotations

import json
from pathlib import Path

LABELS = "labels.jsonl"


def read_jsonl_dicts(path: Path) -> list[dict]:
    """Every JSON object line of ``path`` (none if it is missing); a torn last line is skipped."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").split("\n"):
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a torn last line of a killed writer
    return out


def latest_labels(run_dir: str | Path) -> dict[tuple[str, str], dict]:
    """(reviewer, task) -> that reviewer's latest label."""
    out: dict[tuple[str, str], dict] = {}
    for row in read_jsonl_dicts(Path(run_dir) / LABELS):
        if isinstance(row, dict) and row.get("reviewer") and row.get("task"):
            out[(row["reviewer"], row["task"])] = row
    return out
