import json
from pathlib import Path

import pytest

from valuealign.errors import UserError
from valuealign.records import (
    AnswerRecord,
    JsonlWriter,
    existing_ids,
    read_jsonl,
    read_records,
    write_json_atomic,
)


def _rec(i: int) -> AnswerRecord:
    return AnswerRecord(
        id=f"a{i}", item_id=f"a{i}", subdomain="s", language="en", question="q", answer="x"
    )


def test_append_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    with JsonlWriter(path) as w:
        for i in range(3):
            w.append(_rec(i))
    assert [r.id for r in read_jsonl(path, AnswerRecord)] == ["a0", "a1", "a2"]
    assert read_jsonl(path, AnswerRecord)[0].schema_version == 1


def test_torn_last_line_is_repaired_on_resume(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    with JsonlWriter(path) as w:
        w.append(_rec(0))
    with path.open("a") as f:
        f.write('{"id": "a1", "item_')  # a write cut by kill -9
    assert existing_ids(path) == {"a0"}
    with JsonlWriter(path) as w:
        w.append(_rec(1))
    assert [r.id for r in read_jsonl(path, AnswerRecord)] == ["a0", "a1"]


def test_bad_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(_rec(0).model_dump_json() + "\n" + "{not json}\n")
    with pytest.raises(UserError, match=r"r\.jsonl:2: not valid JSON"):
        read_jsonl(path, AnswerRecord)
    path.write_text(json.dumps({"id": "x"}) + "\n")
    with pytest.raises(UserError, match=r"r\.jsonl:1: field 'item_id'"):
        read_jsonl(path, AnswerRecord)


def test_write_json_atomic_leaves_no_temp_files(tmp_path: Path) -> None:
    write_json_atomic(tmp_path / "m.json", {"a": 1})
    write_json_atomic(tmp_path / "m.json", {"a": 2})
    assert json.loads((tmp_path / "m.json").read_text()) == {"a": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]


def test_read_records_before_the_file_exists_after_a_kill_and_latest_per_id(tmp_path) -> None:
    path = tmp_path / "answers.jsonl"
    assert read_records(path, AnswerRecord) == []
    rows = [
        {
            "id": "a",
            "item_id": "a",
            "subdomain": "s",
            "language": "en",
            "question": "q",
            "error": "down",
        },
        {
            "id": "b",
            "item_id": "b",
            "subdomain": "s",
            "language": "en",
            "question": "q",
            "answer": "x",
        },
        {
            "id": "a",
            "item_id": "a",
            "subdomain": "s",
            "language": "en",
            "question": "q",
            "answer": "y",
        },
    ]
    text = "".join(json.dumps(r) + "\n" for r in rows)
    path.write_text(text + '{"id": "c", "item')  # a write cut by a kill
    assert [r.id for r in read_records(path, AnswerRecord)] == ["a", "b", "a"]
    assert path.read_text() == text
    latest = read_records(path, AnswerRecord, latest=True)
    assert [(r.id, r.answer) for r in latest] == [("a", "y"), ("b", "x")]


def test_fast_json_path_reads_every_line_as_json_loads_then_model_validate_does() -> None:
    """parse_jsonl_lines validates with pydantic's JSON parser first; the oracle is the stdlib
    parser + python-mode validation, line by line, including lines the fast parser rejects (a
    lone surrogate escape, which ``json.loads`` accepts) and the errors it must still name."""
    from typing import Literal

    from pydantic import BaseModel

    from valuealign.records import parse_jsonl_lines

    class Inner(BaseModel):
        score: float
        tags: tuple[str, ...] = ()

    class Rec(BaseModel):
        id: str
        kind: Literal["a", "b"]
        n: int | None = None
        inner: Inner | None = None
        extra: dict[str, float] = {}

    lines = [
        '{"id": "1", "kind": "a"}',
        '{"id": "2", "kind": "b", "n": 3, "inner": {"score": 1, "tags": ["x", "y"]}}',
        '{"id": "3", "kind": "a", "extra": {"p": NaN, "q": 2.5}, "n": null}',
        '{"id": "4", "kind": "a", "id": "4b"}',
        '{"id": "\\u4e2d\\u6587", "kind": "b"}',
        '{"id": "5\\ud800", "kind": "a"}',
        "",
        '{"id": "6", "kind": "b", "inner": {"score": "0.5"}}',
    ]
    got = list(parse_jsonl_lines(lines, "f.jsonl", Rec))
    expected = [
        (i, Rec.model_validate(json.loads(line)))
        for i, line in enumerate(lines, start=1)
        if line.strip()
    ]
    assert [g[0] for g in got] == [e[0] for e in expected]
    for (_, a), (_, b) in zip(got, expected, strict=True):
        assert repr(a) == repr(b)  # NaN != NaN, so compare the reprs
    assert got[5][1].id == "5\ud800"  # the stdlib path had the last word
    for bad, says in [
        ('{"id": "7", "kind": "c"}', "field 'kind'"),
        ('{"id": "8", "kind": "a"', "not valid JSON"),
        ('["id", "kind"]', "a JSON list, not an object"),
    ]:
        with pytest.raises(UserError, match=says) as info:
            list(parse_jsonl_lines(["", bad], "f.jsonl", Rec))
        assert "f.jsonl:2:" in str(info.value)
