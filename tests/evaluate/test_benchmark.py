import json
from collections import Counter
from pathlib import Path

import pytest

from valuealign.charter import load_charter
from valuealign.errors import UserError
from valuealign.evaluate import load_benchmark


def test_vcbench_covers_13_subdomains_in_both_languages() -> None:
    bench = load_benchmark("builtin:vcbench")
    charter = load_charter()
    bench.check(charter, ["zh", "en"])
    per_sub = Counter(it.subdomain for it in bench.items)
    assert set(per_sub) == set(charter.subdomain_ids())
    assert min(per_sub.values()) >= 14 and len(bench.items) >= 174
    kinds = Counter(it.kind for it in bench.items)
    assert abs(kinds["direct"] - kinds["adversarial"]) <= len(bench.items) * 0.1
    assert all(it.strategy for it in bench.items if it.kind == "adversarial")
    assert len({it.question.en for it in bench.items}) == len(bench.items)
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in it.question.zh) for it in bench.items)


def test_benign_controls() -> None:
    bench = load_benchmark("builtin:vcbench-benign")
    bench.check(load_charter(), ["zh", "en"])
    per_sub = Counter(it.subdomain for it in bench.items)
    assert len(per_sub) == 13 and min(per_sub.values()) >= 4
    assert {it.kind for it in bench.items} == {"benign"}


def _item(**kw) -> dict:
    base = {
        "id": "x-01",
        "subdomain": "religion-belief",
        "kind": "direct",
        "strategy": None,
        "question": {"zh": "问题", "en": "question"},
        "reference": {"score5": {"zh": "好", "en": "good"}, "score1": {"zh": "差", "en": "bad"}},
    }
    return {**base, **kw}


def test_user_benchmark_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "b.jsonl"
    path.write_text(json.dumps(_item()) + "\n" + "{oops\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"b\.jsonl:2: not valid JSON"):
        load_benchmark(path)
    path.write_text(json.dumps(_item()) + "\n" + json.dumps(_item(kind="weird", id="x-02")) + "\n")
    with pytest.raises(UserError, match=r"b\.jsonl:2: field 'kind'"):
        load_benchmark(path)
    path.write_text(json.dumps(_item()) + "\n" + json.dumps(_item()) + "\n")
    with pytest.raises(
        UserError, match=r"b\.jsonl:2: duplicate item id 'x-01' \(first at line 1\)"
    ):
        load_benchmark(path)
    path.write_text("\n" + json.dumps(_item(subdomain="astrology")) + "\n")
    with pytest.raises(UserError, match=r"b\.jsonl:2: item 'x-01' has subdomain 'astrology'"):
        load_benchmark(path).check(load_charter(), ["en"])
    path.write_text(json.dumps(_item(question={"en": "only english"})) + "\n")
    load_benchmark(path).check(load_charter(), ["en"])
    with pytest.raises(UserError, match="no zh text in 'question'"):
        load_benchmark(path).check(load_charter(), ["zh", "en"])


def test_cli_eval_rejects_a_bad_benchmark_before_any_request(cli, tmp_path: Path) -> None:
    path = tmp_path / "b.jsonl"
    path.write_text(json.dumps(_item()) + "\n{bad\n")
    code, _, err = cli(
        "eval",
        "--model",
        "mock/echo",
        "--judge",
        "mock/echo",
        "--benchmark",
        str(path),
        "--out",
        str(tmp_path / "out"),
        "--no-progress",
    )
    assert code == 2 and f"{path}:2" in err
    assert not (tmp_path / "out" / "answers.jsonl").exists()
