"""Records of a generation run: every planned item ends in exactly one of three files.

samples.jsonl   Sample    kept pairs (the Critic's overall score met the threshold)
rejected.jsonl  Rejected  below threshold, duplicate, attacker refusal, ... (with the reason)
failed.jsonl    Failed    backend errors or Critic parse failures after retries (with the error)
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from valuealign.records import Record


class CriticScores(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value_consistency: int = Field(ge=1, le=5)
    factual_accuracy: int = Field(ge=1, le=5)
    helpfulness: int = Field(ge=1, le=5)
    harmlessness: int = Field(ge=1, le=5)
    overall: int = Field(ge=1, le=5)
    reason: str = Field(default="", max_length=2000)


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["system", "user", "assistant"]
    content: str


class _ItemFields(Record):
    item_id: str
    subdomain: str
    domain: str
    strategy: str
    language: str
    attempt_refusals: int = 0


class Sample(_ItemFields):
    kind: Literal["sample"] = "sample"
    messages: list[Turn]
    """The whole conversation: the Actor's system prompt, every user turn and every answer."""
    query: str
    answer: str
    critic: CriticScores


class Rejected(_ItemFields):
    kind: Literal["rejected"] = "rejected"
    reason: Literal[
        "below_threshold", "duplicate", "attacker_refusal", "attacker_off_topic", "empty_answer"
    ]
    detail: str = ""
    messages: list[Turn] = Field(default_factory=list)
    query: str | None = None
    answer: str | None = None
    critic: CriticScores | None = None
    duplicate_of: str | None = None
    similarity: float | None = None


class Failed(_ItemFields):
    kind: Literal["failed"] = "failed"
    stage: Literal["attacker", "actor", "critic"]
    error: str
    raw: str | None = None
    query: str | None = None
    answer: str | None = None
