"""VISA's records: the input lines it reads and the one final record per input it writes.

Input (``--input answers.jsonl``), one JSON object per line::

    {"id": "q1", "query": "Should children care for their parents?", "answer": "...",
     "language": "en"}

``answer`` is optional (without it, the frozen ``--answerer`` writes it); ``language`` is
optional (detected from the text); other keys are ignored. Output: one :class:`RewriteRecord`
per input id in ``rewrites.jsonl``, with every round of the loop in ``steps``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from valuealign.errors import UserError
from valuealign.records import Record, parse_unique_jsonl, read_text_lines

__all__ = ["BaselineRecord", "RewriteInput", "RewriteRecord", "VisaStep", "load_inputs"]


class RewriteInput(BaseModel):
    """One input line: an id, the user's query and (optionally) the frozen model's answer."""

    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1, max_length=256)
    query: str = Field(min_length=1)
    answer: str | None = None
    language: Literal["zh", "en"] | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _int_ids(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v

    @field_validator("answer", mode="before")
    @classmethod
    def _blank_answer(cls, v: Any) -> Any:
        return None if isinstance(v, str) and not v.strip() else v


class VisaStep(BaseModel):
    """One round of the loop: what was asked, what came back, and whether the shield let it in."""

    model_config = ConfigDict(extra="forbid")
    round: int
    detected: dict[str, float]
    gap: dict[str, float]
    instruction: str
    rewrite: str | None = None
    raw: str | None = None
    rewrite_vector: dict[str, float] | None = None
    similarity: float | None = None
    fact_share: float | None = None
    missing_facts: list[str] = Field(default_factory=list)
    novel_entities: list[str] = Field(default_factory=list)
    distance_before: float
    distance_after: float | None = None
    accepted: bool = False
    reason: str


class RewriteRecord(Record):
    """The final record of one input: the original, the final answer and every step."""

    kind: Literal["rewrite"] = "rewrite"
    status: Literal["ok", "failed"] = "ok"
    query: str
    language: str
    target: str
    taxonomy: str = "schwartz10"
    persona: str | None = None
    original: str | None = None
    original_source: Literal["input", "answerer"] = "input"
    final: str | None = None
    changed: bool = False
    met: bool = False
    rounds: int = 0
    accepted_rounds: int = 0
    stop_reason: str = ""
    original_vector: dict[str, float] | None = None
    final_vector: dict[str, float] | None = None
    reward: dict[str, Any] | None = None
    steps: list[VisaStep] = Field(default_factory=list)
    error: str | None = None


class BaselineRecord(Record):
    """The one-shot prompting baseline's rewrite of one input (``eval-rewrite``)."""

    kind: Literal["baseline"] = "baseline"
    status: Literal["ok", "failed"] = "ok"
    rewrite: str | None = None
    raw: str | None = None
    error: str | None = None


def load_inputs(path: str | Path) -> list[RewriteInput]:
    """Read and validate every input line; a bad line raises :class:`UserError` naming it."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: input file not found", fix="check the --input path")
    lines = read_text_lines(path)
    items, _ = parse_unique_jsonl(
        lines,
        str(path),
        RewriteInput,
        json_fix='each line must be one JSON object like {"id": "q1", "query": "...", '
        '"answer": "..."}',
        schema_fix="each line needs a string 'id' and 'query'; 'answer' and 'language' "
        "('zh' or 'en') are optional",
    )
    if not items:
        raise UserError(f"{path}: no input lines", fix="add at least one JSON line")
    return items
