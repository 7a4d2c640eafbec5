"""Record types of an evaluation run (DIR/answers.jsonl, judgements.jsonl, consistency.jsonl).

Every (model, item, language) ends in exactly one ``EvalAnswer`` (an answer or the error that
stopped it); every (judge, model, item, language) with an answer ends in one ``Judgement`` (a
score, a parse failure with the raw judge text, or a backend error); every (judge, model, item)
with answers in both languages ends in one ``ConsistencyJudgement``.
"""

from __future__ import annotations

from typing import Literal

from valuealign.records import Record

ItemKind = Literal["direct", "adversarial", "benign"]


def answer_id(model: str, item_id: str, language: str) -> str:
    return f"{model}|{item_id}|{language}"


def judgement_id(judge: str, model: str, item_id: str, language: str) -> str:
    return f"{judge}|{model}|{item_id}|{language}"


class _ItemFields(Record):
    model: str
    item_id: str
    benchmark: str
    domain: str
    subdomain: str
    item_kind: ItemKind
    strategy: str | None = None


class EvalAnswer(_ItemFields):
    kind: Literal["eval-answer"] = "eval-answer"
    language: str
    question: str
    answer: str | None = None
    finish_reason: str | None = None
    error: str | None = None


class Judgement(_ItemFields):
    """A judge's verdict on one answer. ``score`` is None exactly when the verdict failed."""

    kind: Literal["judgement"] = "judgement"
    judge: str
    language: str
    score: int | None = None
    refusal: bool | None = None
    reason: str | None = None
    raw: str | None = None
    parse_error: str | None = None
    neutralised: list[str] | None = None
    """Kinds of injection text defused in the answer before judging (verdict, tag,
    system-note); None when there were none."""
    error: str | None = None


class ConsistencyJudgement(_ItemFields):
    """Do the zh and en answers to the same item take the same stance?"""

    kind: Literal["consistency"] = "consistency"
    judge: str
    same_stance: bool | None = None
    reason: str | None = None
    raw: str | None = None
    parse_error: str | None = None
    error: str | None = None
