"""Data out: per-item tables (CSV/Parquet) and preference data (KTO, DPO) from runs.

* :func:`export_items` flattens an eval run (one row per answer and judge: the answer, the score,
  the refusal flag, the judge's reason, errors and the servers that answered) or a generation run
  (one row per planned item: kept, rejected or failed, with the Critic's scores) into CSV,
  Parquet or JSONL.
* :func:`export_kto` writes TRL's unpaired preference format: kept pairs are desirable
  (``label: true``); pairs the Critic scored below the keep threshold and at most ``max_bad``
  are undesirable (``label: false``).
* :func:`export_dpo` pairs two scored answers to one attack (the same query text, e.g. two
  ``generate`` runs with the same ``--seed`` and different ``--actor``): the higher Critic score is
  ``chosen``, the lower ``rejected``.

Every file loads with ``datasets.load_dataset("json" | "csv" | "parquet", data_files=...)``.

>>> export_kto(["runs/gen"], "kto.jsonl")
>>> export_dpo(["runs/gen-a", "runs/gen-b"], "dpo.jsonl")
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from valuealign.errors import MissingExtra, UserError
from valuealign.generate.records import Rejected, Sample
from valuealign.records import read_jsonl

ITEM_FORMATS = (".csv", ".parquet", ".jsonl")


def _write_rows(rows: list[dict[str, Any]], out: Path, formats: tuple[str, ...]) -> None:
    if out.suffix not in formats:
        raise UserError(f"{out}: unknown output format", fix=f"use a {' or '.join(formats)} file")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(fd)
    try:
        if out.suffix == ".parquet":
            try:
                import pyarrow as pa
                import pyarrow.parquet as pq
            except ImportError:
                raise MissingExtra("pyarrow", "curate", "Parquet export") from None
            pq.write_table(pa.Table.from_pylist(rows), tmp)
        elif out.suffix == ".csv":
            columns = list(dict.fromkeys(k for row in rows for k in row))
            with open(tmp, "w", encoding="utf-8", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=columns)
                writer.writeheader()
                for row in rows:
                    writer.writerow({k: _cell(v) for k, v in row.items()})
        else:
            with open(tmp, "w", encoding="utf-8") as f:
                for row in rows:
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
        os.replace(tmp, out)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _cell(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value


def _lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text(encoding="utf-8").split("\n") if x.strip()]


def _eval_rows(run: Path) -> list[dict[str, Any]]:
    answers = {(a["model"], a["item_id"], a["language"]): a for a in _lines(run / "answers.jsonl")}
    judged: dict[tuple, list[dict]] = {}
    for j in _lines(run / "judgements.jsonl"):
        judged.setdefault((j["model"], j["item_id"], j["language"]), []).append(j)
    rows = []
    for key, a in answers.items():
        base = {
            "model": a["model"],
            "item_id": a["item_id"],
            "benchmark": a.get("benchmark"),
            "domain": a.get("domain"),
            "subdomain": a.get("subdomain"),
            "strategy": a.get("strategy"),
            "language": a["language"],
            "question": a["question"],
            "answer": a.get("answer"),
            "answer_error": a.get("error"),
            "model_server": a.get("provenance", {}).get("servers", {}).get("model"),
        }
        for j in judged.get(key) or [{}]:
            rows.append(
                {
                    **base,
                    "judge": j.get("judge"),
                    "score": j.get("score"),
                    "refusal": j.get("refusal"),
                    "reason": j.get("reason"),
                    "parse_error": j.get("parse_error"),
                    "judge_error": j.get("error"),
                    "judge_server": j.get("provenance", {}).get("servers", {}).get("judge"),
                }
            )
    return rows


_SCORES = ("value_consistency", "factual_accuracy", "helpfulness", "harmlessness", "overall")


def _generate_rows(run: Path) -> list[dict[str, Any]]:
    rows = []
    for status, name in (("kept", "samples"), ("rejected", "rejected"), ("failed", "failed")):
        for r in _lines(run / f"{name}.jsonl"):
            critic = r.get("critic") or {}
            rows.append(
                {
                    "item_id": r["item_id"],
                    "status": status,
                    "reason": r.get("reason") or r.get("stage"),
                    "detail": r.get("detail") or r.get("error"),
                    "subdomain": r["subdomain"],
                    "strategy": r.get("strategy"),
                    "language": r["language"],
                    "query": r.get("query"),
                    "answer": r.get("answer"),
                    **{f"critic_{k}": critic.get(k) for k in _SCORES},
                    "critic_reason": critic.get("reason"),
                    # JSON text: the same column type in CSV and Parquet, never an empty struct
                    "roles": json.dumps(r.get("provenance", {}).get("roles", {})),
                    "servers": json.dumps(r.get("provenance", {}).get("servers", {})),
                }
            )
    return sorted(rows, key=lambda r: r["item_id"])


def export_items(run_dir: str | Path, out: str | Path) -> int:
    """One row per answer and verdict (eval run) or per planned item (generate run)."""
    run, out = Path(run_dir), Path(out)
    if (run / "answers.jsonl").exists():
        rows = _eval_rows(run)
    elif (run / "plan.json").exists():
        rows = _generate_rows(run)
    else:
        raise UserError(
            f"{run}: neither an eval run (answers.jsonl) nor a generate run (plan.json)",
            fix="point at a `valuealign eval --out` or `valuealign generate --out` directory",
        )
    _write_rows(rows, out, ITEM_FORMATS)
    return len(rows)


def _scored(runs: Iterable[Path]) -> list[tuple[Path, Sample | Rejected]]:
    found: list[tuple[Path, Sample | Rejected]] = []
    for run in runs:
        if not (run / "plan.json").exists():
            raise UserError(
                f"{run}: not a generate run (no plan.json)",
                fix="point at a `valuealign generate --out` directory",
            )
        for path, model in (("samples.jsonl", Sample), ("rejected.jsonl", Rejected)):
            if (run / path).exists():
                found += [(run, r) for r in read_jsonl(run / path, model, repair=True)]
    return found


def _prompt(record: Sample | Rejected, system: bool) -> list[dict[str, str]]:
    turns = [m.model_dump() for m in record.messages[:-1]]  # everything before the last answer
    return [t for t in turns if system or t["role"] != "system"]


def export_kto(
    run_dirs: list[str | Path], out: str | Path, *, max_bad: int = 2, system_prompt: bool = False
) -> dict[str, int]:
    """Kept pairs desirable, Critic-rejected pairs scored at most ``max_bad`` undesirable."""
    rows = []
    for _, r in _scored(Path(d) for d in run_dirs):
        if isinstance(r, Sample):
            label = True
        elif r.reason == "below_threshold" and r.critic is not None and r.critic.overall <= max_bad:
            label = False
        else:
            continue
        if not r.messages or r.answer is None:
            continue
        rows.append(
            {
                "prompt": _prompt(r, system_prompt),
                "completion": [{"role": "assistant", "content": r.answer}],
                "label": label,
                "id": r.id,
                "score": r.critic.overall if r.critic is not None else None,
                "subdomain": r.subdomain,
                "language": r.language,
            }
        )
    good = sum(r["label"] for r in rows)
    if not rows:
        raise UserError(
            "no kept or low-scored pairs in these runs", fix="check the folders (samples.jsonl)"
        )
    _write_rows(rows, Path(out), (".jsonl", ".parquet"))
    return {"desirable": good, "undesirable": len(rows) - good}


def export_dpo(
    run_dirs: list[str | Path], out: str | Path, *, min_margin: int = 1, system_prompt: bool = False
) -> int:
    """Pairs of answers to one attack (same query), chosen = the higher Critic score."""
    groups: dict[tuple[str, str], list[Sample | Rejected]] = {}
    for _, r in _scored(Path(d) for d in run_dirs):
        if r.critic is None or r.answer is None or not r.messages or r.query is None:
            continue
        groups.setdefault((r.language, r.query), []).append(r)
    rows = []
    for recs in groups.values():
        recs = sorted(recs, key=lambda r: -r.critic.overall)  # type: ignore[union-attr]
        best, worst = recs[0], recs[-1]
        margin = best.critic.overall - worst.critic.overall  # type: ignore[union-attr]
        if len(recs) < 2 or margin < min_margin or best.answer == worst.answer:
            continue
        rows.append(
            {
                "prompt": _prompt(best, system_prompt),
                "chosen": [{"role": "assistant", "content": best.answer}],
                "rejected": [{"role": "assistant", "content": worst.answer}],
                "id": best.id,
                "score_chosen": best.critic.overall,  # type: ignore[union-attr]
                "score_rejected": worst.critic.overall,  # type: ignore[union-attr]
                "subdomain": best.subdomain,
                "language": best.language,
            }
        )
    if not rows:
        raise UserError(
            "no attack in these runs has two answers with different Critic scores",
            fix="run `valuealign generate` again with the same --seed and another --actor into a "
            "second folder, then pass both folders",
        )
    _write_rows(rows, Path(out), (".jsonl", ".parquet"))
    return len(rows)


__all__ = ["export_dpo", "export_items", "export_kto"]
