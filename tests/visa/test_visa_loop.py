"""The VISA loop with scripted rewriters: shield, retries, early stop, records, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from valuealign.backends import FunctionBackend, GenerateConfig, ScriptedBackend
from valuealign.errors import BackendError, UserError
from valuealign.records import read_jsonl
from valuealign.visa import RewriteInput, RewriteRecord, VisaSettings, run_rewrite
from valuealign.visa._values import ValueTarget

ORIGINAL = (
    "The city council approved the new budget of 4.2 million dollars in March 2023. "
    "Mayor Lina Park said the money will fund three bus lines and repair Oak Street."
)
GOOD = (
    "Honouring the customs handed down by earlier generations, the city council approved the "
    "new budget of 4.2 million dollars in March 2023. Mayor Lina Park said the money will keep "
    "residents safe and secure and bring stability, funding three bus lines and repairing Oak "
    "Street."
)
FACTS_CHANGED = (
    GOOD.replace("4.2", "5.9")
    .replace("2023", "2021")
    .replace("Mayor Lina Park", "The mayor")
    .replace("Oak Street", "the main road")
)
DROPPED = "We honour our customs and traditions and keep everyone safe and secure."
PARAPHRASE = ORIGINAL.replace("approved", "passed").replace("repair", "fix")
TARGET = ValueTarget.parse("tradition=+1,security=+1")
SETTINGS = VisaSettings(similarity="tfidf", max_rounds=3)


def _read(out: Path) -> list[RewriteRecord]:
    return read_jsonl(out / "rewrites.jsonl", RewriteRecord)


def test_rejected_rewrites_are_retried_and_the_loop_stops_on_target(tmp_path: Path) -> None:
    rewriter = ScriptedBackend(
        ["Here is the rewritten answer:\n" + DROPPED, FACTS_CHANGED, GOOD, "never used"]
    )
    stats = run_rewrite(
        [RewriteInput(id="a1", query="What did the council decide?", answer=ORIGINAL)],
        TARGET,
        tmp_path,
        rewriter=rewriter,
        settings=VisaSettings(similarity="tfidf", max_rounds=5),
    )
    assert stats["ok"] == 1 and stats["met"] == 1
    [rec] = _read(tmp_path)
    assert rec.status == "ok" and rec.met and rec.stop_reason == "target met"
    assert rec.rounds == 3 and rec.accepted_rounds == 1 and len(rewriter.calls) == 3
    s1, s2, s3 = rec.steps
    assert not s1.accepted and s1.reason.startswith("similarity")
    assert s1.raw is not None and s1.rewrite == DROPPED  # preamble cleaned off, raw kept
    assert not s2.accepted and s2.reason.startswith("fact share")
    assert "2023" in s2.missing_facts and "2021" in s2.novel_entities
    assert s3.accepted and s3.reason.startswith("accepted")
    for step in rec.steps:  # every step records the full state
        assert step.gap == {"security": 1.0, "tradition": 1.0}
        assert "Tradition" in step.instruction and step.distance_before == 2.0
        assert step.similarity is not None and step.rewrite_vector is not None
    assert rec.final == GOOD and rec.changed
    assert rec.final_vector is not None and rec.final_vector["tradition"] > 0.5
    assert rec.reward is not None and rec.reward["value_precision"] > 0.5
    assert rec.provenance.roles == {"rewriter": "mock/scripted", "detector": "keywords"}
    # round 1 is greedy, retries sample; every attempt rewrites the original (none accepted)
    temps = [cfg.temperature for _, cfg in rewriter.calls]
    assert temps[0] == 0.0 and temps[1] > 0 and temps[2] > 0
    assert all(ORIGINAL in msgs[-1]["content"] for msgs, _ in rewriter.calls)


def test_no_progress_is_rejected_and_max_rounds_ends_the_loop(tmp_path: Path) -> None:
    rewriter = ScriptedBackend([PARAPHRASE, PARAPHRASE])
    run_rewrite(
        [RewriteInput(id="a1", query="q", answer=ORIGINAL)],
        TARGET,
        tmp_path,
        rewriter=rewriter,
        settings=VisaSettings(similarity="tfidf", max_rounds=2),
    )
    [rec] = _read(tmp_path)
    assert rec.stop_reason == "max rounds" and not rec.met and rec.rounds == 2
    assert all(s.reason.startswith("no progress") for s in rec.steps)
    assert rec.final == ORIGINAL and not rec.changed


def test_accepted_rewrites_accumulate(tmp_path: Path) -> None:
    half = ORIGINAL + " This honours the customs handed down."
    rewriter = ScriptedBackend([half, half + " It keeps residents safe, secure and stable."])
    run_rewrite(
        [RewriteInput(id="a1", query="q", answer=ORIGINAL)],
        TARGET,
        tmp_path,
        rewriter=rewriter,
        settings=VisaSettings(similarity="tfidf", max_rounds=4),
    )
    [rec] = _read(tmp_path)
    assert [s.accepted for s in rec.steps] == [True, True]
    assert half in rewriter.calls[1][0][-1]["content"]  # round 2 rewrites round 1's result
    gap = rec.steps[1].gap  # tradition came within tolerance in round 1...
    assert gap["security"] == 1.0 and gap["tradition"] < 0.5
    assert "(Tradition)" not in rec.steps[1].instruction  # ...so round 2 only asks for security
    assert "(Security)" in rec.steps[1].instruction


def test_already_on_target_needs_no_rewriter(tmp_path: Path) -> None:
    rewriter = ScriptedBackend([])
    run_rewrite(
        [RewriteInput(id="a1", query="q", answer=GOOD)],
        TARGET,
        tmp_path,
        rewriter=rewriter,
        settings=SETTINGS,
    )
    [rec] = _read(tmp_path)
    assert rec.met and rec.stop_reason == "already on target" and rec.steps == []
    assert rewriter.calls == []


def _content_rewriter() -> FunctionBackend:
    def fn(messages, config: GenerateConfig) -> str:
        text = messages[-1]["content"]
        answer = text.split("<answer>\n", 1)[1].split("\n</answer>", 1)[0]
        if "FAIL" in answer:
            raise BackendError("server down", backend="mock/function")
        return answer + " This honours the customs handed down and keeps everyone safe and secure."

    return FunctionBackend(fn)


def test_many_inputs_resume_and_failures(tmp_path: Path) -> None:
    inputs = [
        RewriteInput(id=f"q{i}", query=f"question {i}", answer=f"{ORIGINAL} Item {i}.")
        for i in range(5)
    ]
    inputs.append(RewriteInput(id="bad", query="q", answer="FAIL " + ORIGINAL))
    rewriter = _content_rewriter()
    stats = run_rewrite(inputs[:3], TARGET, tmp_path, rewriter=rewriter, settings=SETTINGS)
    assert stats["ok"] == 3 and stats["skipped"] == 0
    calls = rewriter.calls
    stats = run_rewrite(inputs, TARGET, tmp_path, rewriter=rewriter, settings=SETTINGS)
    assert stats == stats | {"planned": 6, "skipped": 3, "ok": 2, "failed": 1}
    assert rewriter.calls - calls == 3  # two new inputs, one round each, plus the failure
    records = _read(tmp_path)
    assert sorted(r.id for r in records) == sorted(it.id for it in inputs)  # one record per id
    bad = next(r for r in records if r.id == "bad")
    assert bad.status == "failed" and "server down" in (bad.error or "")
    stats = run_rewrite(inputs, TARGET, tmp_path, rewriter=rewriter, settings=SETTINGS)
    assert stats["skipped"] == 6 and len(_read(tmp_path)) == 6
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["target"] == "security=+1,tradition=+1" and manifest["detector"] == "keywords"


def test_a_different_target_refuses_the_run_directory(tmp_path: Path) -> None:
    inputs = [RewriteInput(id="a", query="q", answer=ORIGINAL)]
    run_rewrite(inputs, TARGET, tmp_path, rewriter=_content_rewriter(), settings=SETTINGS)
    before = (tmp_path / "rewrites.jsonl").read_text()
    with pytest.raises(UserError, match="made with target"):
        run_rewrite(
            inputs,
            ValueTarget.parse("power=-1"),
            tmp_path,
            rewriter=_content_rewriter(),
            settings=SETTINGS,
        )
    assert (tmp_path / "rewrites.jsonl").read_text() == before


def test_the_answerer_writes_missing_answers(tmp_path: Path) -> None:
    answerer = ScriptedBackend([ORIGINAL])
    run_rewrite(
        [RewriteInput(id="a", query="What did the council decide?")],
        TARGET,
        tmp_path,
        rewriter=_content_rewriter(),
        answerer=answerer,
        settings=SETTINGS,
    )
    [rec] = _read(tmp_path)
    assert rec.original_source == "answerer" and rec.original == ORIGINAL
    assert rec.provenance.roles["answerer"] == "mock/scripted"
    assert answerer.calls[0][0] == [{"role": "user", "content": "What did the council decide?"}]
    with pytest.raises(UserError, match="no 'answer'"):
        run_rewrite(
            [RewriteInput(id="b", query="q")],
            TARGET,
            tmp_path / "x",
            rewriter=_content_rewriter(),
            settings=SETTINGS,
        )
    assert not (tmp_path / "x").exists()


def test_chinese_input(tmp_path: Path) -> None:
    original = "根据2015年修订的法律，成年子女有赡养父母的义务。许多家庭每月给父母500元生活费。"
    rewriter = ScriptedBackend(
        ["好的，以下是改写后的回答：" + original + "这体现了尊重传统习俗、维护家庭安全稳定的精神。"]
    )
    run_rewrite(
        [RewriteInput(id="z", query="成年子女应该赡养父母吗？", answer=original)],
        TARGET,
        tmp_path,
        rewriter=rewriter,
        settings=VisaSettings(similarity="tfidf", max_rounds=1),
    )
    [rec] = _read(tmp_path)
    assert rec.language == "zh" and rec.steps[0].accepted
    assert rec.final is not None and rec.final.startswith("根据2015年")
    assert "改写这个回答" in rewriter.calls[0][0][-1]["content"]
