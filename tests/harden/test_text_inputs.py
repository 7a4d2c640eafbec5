"""Text inputs under attack: line separators inside JSON strings, byte-order marks, YAML bombs
and deeply nested JSON (issue 17, items 4, 5, 6 and 7)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from valuealign.backends import FunctionBackend, register_mock, unregister_mock
from valuealign.charter import load_charter
from valuealign.errors import UserError
from valuealign.evaluate.benchmark import load_benchmark
from valuealign.visa.records import load_inputs

SEPARATORS = ["\u2028", "\u2029", "\u0085"]
BUILTIN_LINE = (
    Path(__file__).resolve().parents[2] / "src/valuealign/data/benchmarks/vcbench/politics.jsonl"
)


def _bench_lines(n: int = 3) -> list[dict]:
    lines = BUILTIN_LINE.read_text(encoding="utf-8").split("\n")
    return [json.loads(x) for x in lines if x.strip()][:n]


@pytest.mark.parametrize("sep", SEPARATORS)
def test_a_benchmark_with_raw_line_separators_in_strings_loads(tmp_path: Path, sep) -> None:
    items = _bench_lines()
    items[1]["question"]["en"] = f"first part{sep}second part"
    path = tmp_path / "b.jsonl"
    path.write_text("\n".join(json.dumps(i, ensure_ascii=False) for i in items) + "\n", "utf-8")
    assert sep in path.read_text(encoding="utf-8")  # raw, not escaped
    bench = load_benchmark(path)
    assert [i.id for i in bench.items] == [i["id"] for i in items]
    assert bench.items[1].question.en == f"first part{sep}second part"


@pytest.mark.parametrize("sep", SEPARATORS)
def test_rewrite_input_with_raw_line_separators_loads(tmp_path: Path, sep) -> None:
    path = tmp_path / "answers.jsonl"
    rows = [
        {"id": "q1", "query": "Why?", "answer": f"one{sep}two", "language": "en"},
        {"id": "q2", "query": "How?", "answer": "three", "language": "en"},
    ]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    got = load_inputs(path)
    assert [g.id for g in got] == ["q1", "q2"]
    assert got[0].answer == f"one{sep}two"


@pytest.fixture
def separator_agents():
    def speak(messages, config):
        return "We share the care of elders.\u2028Both families and the state help.\u2029Yes\u0085."

    register_mock("sep-agent", FunctionBackend(speak, name="mock/sep-agent"))
    yield
    unregister_mock("sep-agent")


def test_consensus_reruns_after_a_model_emits_line_separators(
    cli, tmp_path: Path, separator_agents
) -> None:
    out = tmp_path / "c"
    args = [
        "consensus", "--topic", "Who should care\u2028for the elderly?\u0085", "--agents",
        "confucian,protestant-europe", "--model", "mock/sep-agent", "--rounds", "2",
        "--similarity", "tfidf", "--out", str(out),
    ]  # fmt: skip
    code, _, err = cli(*args)
    assert code == 0, err
    assert "\u2028" in (out / "statements.jsonl").read_text(encoding="utf-8")
    n = len((out / "transcript.jsonl").read_text("utf-8").split("\n"))
    code, _, err = cli(*args)
    assert code == 0, err
    assert len((out / "transcript.jsonl").read_text("utf-8").split("\n")) == n  # topic done


def test_a_bom_benchmark_loads(tmp_path: Path) -> None:
    items = _bench_lines(2)
    path = tmp_path / "b.jsonl"
    text = "".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items)
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert [i.id for i in load_benchmark(path).items] == [i["id"] for i in items]


def test_a_bom_charter_loads(tmp_path: Path) -> None:
    from valuealign.charter._scaffold import SCAFFOLD

    path = tmp_path / "c.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + SCAFFOLD.encode("utf-8"))
    assert load_charter(path).id == load_charter_from_text(tmp_path, SCAFFOLD).id


def load_charter_from_text(tmp_path: Path, text: str):
    p = tmp_path / "plain.yaml"
    p.write_text(text, encoding="utf-8")
    return load_charter(p)


def test_a_bom_rewrite_input_loads(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"id": "q1", "query": "Why?"}\n{"id": "q2", "query": "How?"}\n')
    assert [r.id for r in load_inputs(path)] == ["q1", "q2"]


def _read_audit(out: Path) -> str:
    path = out / "audit" / "read.jsonl"
    return path.read_text("utf-8") if path.exists() else ""


def test_curate_keeps_the_first_document_of_a_bom_file(cli, tmp_path: Path) -> None:
    docs = [
        {"id": f"d{i}", "text": f"Human rights and the rule of law, part {i}: {w}."}
        for i, w in enumerate(["courts", "elections", "a free press"])
    ]
    data = "".join(json.dumps(d) + "\n" for d in docs).encode()
    path = tmp_path / "a.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + data)
    out = tmp_path / "out"
    code, _, err = cli("curate", "--input", str(path), "--out", str(out), "--no-progress")
    assert code == 0, err
    assert _read_audit(out) == "", _read_audit(out)


BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


@pytest.mark.parametrize(
    "text, needle",
    [
        (BILLION_LAUGHS, "expands to more than"),
        ("id: x\nloop: &x [1, *x]\n", "refers to itself"),
        ("id: x\nloop: &x {a: *x}\n", "refers to itself"),
        ("id: x\ndeep: " + "[" * 5000 + "]" * 5000 + "\n", "nested"),
        ("id: x\ndeep: " + "[" * 100 + "]" * 100 + "\n", "nested deeper than 64"),
    ],
    ids=["billion-laughs", "self-ref-seq", "self-ref-map", "deep-5000", "deep-100"],
)
def test_yaml_bombs_are_refused_quickly(cli, tmp_path: Path, text, needle) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(text, encoding="utf-8")
    t0 = time.perf_counter()
    code, _, err = cli("charter", "validate", str(path))
    assert time.perf_counter() - t0 < 10
    assert code == 2, err
    assert str(path) in err and needle in err
    assert "Traceback" not in err


def test_a_yaml_bomb_train_config_and_lexicon_are_refused(cli, tmp_path: Path) -> None:
    from valuealign.curate.lexicon import load_lexicon_file
    from valuealign.train.config import read_yaml

    path = tmp_path / "bomb.yaml"
    path.write_text(BILLION_LAUGHS, encoding="utf-8")
    with pytest.raises(UserError, match="expands to more than"):
        read_yaml(path)
    with pytest.raises(UserError, match="expands to more than"):
        load_lexicon_file(path, load_charter("builtin:balanced-v1"))


def test_an_oversized_yaml_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text("id: x\nnotes: |\n" + ("  " + "x" * 1000 + "\n") * 9000, encoding="utf-8")
    t0 = time.perf_counter()
    with pytest.raises(UserError, match="MB of YAML; the limit is 8 MB"):
        load_charter(path)
    assert time.perf_counter() - t0 < 5


def test_deeply_nested_json_in_a_benchmark_exits_2(cli, tmp_path: Path) -> None:
    items = _bench_lines(2)
    path = tmp_path / "b.jsonl"
    text = json.dumps(items[0], ensure_ascii=False) + "\n"
    text += '{"id": "x", "question": ' + "[" * 100_000 + "]" * 100_000 + "}\n"
    path.write_text(text, encoding="utf-8")
    code, _, err = cli(
        "eval", "--model", "mock/echo", "--judge", "mock/echo", "--benchmark", str(path),
        "--benign", "none", "--out", str(tmp_path / "run"), "--no-progress",
    )  # fmt: skip
    assert code == 2, err
    assert f"{path}:2:" in err and "nested too deeply" in err
    assert not (tmp_path / "run").exists()


def test_deeply_nested_json_in_a_curate_corpus_goes_to_the_audit(cli, tmp_path: Path) -> None:
    good = {"id": "ok", "text": "Human rights and the rule of law: courts and a free press."}
    bomb = '{"id": "bomb", "text": ' + "[" * 100_000 + "]" * 100_000 + "}"
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps(good) + "\n" + bomb + "\n", "utf-8")
    out = tmp_path / "out"
    code, _, err = cli("curate", "--input", str(path), "--out", str(out), "--no-progress")
    assert code == 0, err
    audit = [json.loads(x) for x in _read_audit(out).split("\n") if x]
    assert len(audit) == 1 and "nested too deeply" in json.dumps(audit[0]), audit
