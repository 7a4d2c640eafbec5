"""The SFT rewriter baseline: gated rewrites (visa sft-data) -> train sft -> eval-rewrite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from valuealign.backends import FunctionBackend, GenerateConfig, register_mock, unregister_mock
from valuealign.visa import gap_instruction, rewrite_messages
from valuealign.visa._measure import Measurer
from valuealign.visa._values import ValueTarget

PERSONA = "someone who prizes tradition and security"
EN_VALUES = " This honours the customs handed down and keeps everyone safe."
ZH_VALUES = "这体现了尊重传统习俗、维护家庭安全稳定的精神。"
ORIGINAL = (
    "The city council approved the new budget of 4.2 million dollars in March 2023. "
    "Mayor Lina Park said the money will fund three bus lines and repair Oak Street."
)
ZH = "根据2015年修订的法律，成年子女有赡养父母的义务。许多家庭每月给父母500元生活费。"


def _answer_in(messages) -> str:
    text = messages[-1]["content"]
    return text.split("<answer>\n", 1)[1].split("\n</answer>", 1)[0]


def _is_zh(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _candidates(messages, config: GenerateConfig) -> str:
    """Sample 0 copies, 1 is empty, 2 adds the target's values, 3 is off topic."""
    answer = _answer_in(messages)
    k = config.sample_index
    if k == 0:
        return answer
    if k == 1:
        return ""
    if k == 2:
        return answer + (ZH_VALUES if _is_zh(answer) else EN_VALUES)
    return "企鹅生活在南半球。" if _is_zh(answer) else "Penguins live in the south."


def _answerer(messages, config: GenerateConfig) -> str:
    q = messages[-1]["content"]
    if _is_zh(q):
        return "这个问题涉及2015年的法律和多方观点。"
    return f"There are several views on this question ({len(q)} characters), as of 2024."


@pytest.fixture(autouse=True)
def mocks():
    register_mock("sft-candidates", FunctionBackend(_candidates, name="mock/sft-candidates"))
    register_mock("sft-copier", FunctionBackend(lambda m, c: _answer_in(m), name="mock/copier"))
    register_mock("sft-answerer", FunctionBackend(_answerer, name="mock/sft-answerer"))
    yield
    for name in ("sft-candidates", "sft-copier", "sft-answerer"):
        unregister_mock(name)


def _make_data(cli, tmp_path: Path, n: int = 6) -> Path:
    personas = tmp_path / "personas.txt"
    personas.write_text(PERSONA + "\n", encoding="utf-8")
    out = tmp_path / "triples.jsonl"
    code, _, err = cli(
        "visa", "make-data", "--answerer", "mock/sft-answerer", "--personas", str(personas),
        "--n", str(n), "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    return out


def test_sft_data_keeps_the_best_rewrite_that_passes_the_gate(cli, tmp_path: Path) -> None:
    triples = _make_data(cli, tmp_path)
    rows_in = [json.loads(x) for x in triples.read_text(encoding="utf-8").splitlines()]
    out = tmp_path / "sft.jsonl"
    code, stdout, err = cli(
        "visa", "sft-data", "--input", str(triples), "--rewriter", "mock/sft-candidates",
        "--samples", "4", "--similarity", "tfidf", "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    assert f"{len(rows_in)} of {len(rows_in)} rows kept" in stdout
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == [r["id"] for r in rows_in]
    for got, row in zip(rows, rows_in, strict=True):
        # the copy earns 0, the empty and the off-topic samples are gated: only sample 2 is kept
        added = ZH_VALUES if row["language"] == "zh" else EN_VALUES
        assert got["messages"][:-1] == row["prompt"]
        assert got["messages"][-1] == {"role": "assistant", "content": row["original"] + added}
        assert got["reward"] > 0 and got["value_precision"] > 0
        assert got["candidates"] == 4 and got["passed_gate"] == 2  # the copy and sample 2
    # the rows are what `train sft` reads: conversations ending with the assistant's rewrite
    from valuealign.train.data import read_chat_rows

    chats = read_chat_rows(out)
    assert len(chats) == len(rows)


def test_sft_data_with_nothing_above_a_copy_exits_2(cli, tmp_path: Path) -> None:
    triples = _make_data(cli, tmp_path, n=2)
    out = tmp_path / "sft.jsonl"
    code, stdout, err = cli(
        "visa", "sft-data", "--input", str(triples), "--rewriter", "mock/sft-copier",
        "--samples", "2", "--similarity", "tfidf", "--out", str(out),
    )  # fmt: skip
    assert code == 2 and "nothing to train on" in err
    assert "0 of 2 rows kept" in stdout and "2 with no rewrite above reward 0" in stdout
    # nothing half-written: an empty file would pass a "done" check and then fail `train sft`
    assert not out.exists()


def test_sft_data_bad_input_line_exits_2_with_the_line(cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "prompt": "hi", "original": "a", "target": "tradition=+1", '
                   '"language": "en"}\n', encoding="utf-8")  # fmt: skip
    code, _, err = cli(
        "visa", "sft-data", "--input", str(bad), "--rewriter", "mock/sft-candidates",
        "--out", str(tmp_path / "o.jsonl"),
    )  # fmt: skip
    assert code == 2 and "bad.jsonl:1" in err and "'prompt'" in err


def _answers(tmp_path: Path) -> Path:
    path = tmp_path / "answers.jsonl"
    lines = [
        {"id": "a1", "query": "What did the council decide?", "answer": ORIGINAL},
        {"id": "a2", "query": "成年子女应该赡养父母吗？", "answer": ZH},
    ]
    path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), "utf-8")
    return path


def test_eval_rewrite_scores_sft_and_grpo_rewriters_with_the_loop_prompt(
    cli, tmp_path: Path
) -> None:
    seen: list[list[dict]] = []

    def trained(messages, config: GenerateConfig) -> str:
        seen.append(messages)
        answer = _answer_in(messages)
        return answer + (ZH_VALUES if _is_zh(answer) else EN_VALUES)

    register_mock("sft-trained", FunctionBackend(trained, name="mock/sft-trained"))
    try:
        run = tmp_path / "run"
        code, _, err = cli(
            "rewrite", "--input", str(_answers(tmp_path)), "--rewriter", "mock/sft-candidates",
            "--target", PERSONA, "--out", str(run), "--similarity", "tfidf",
        )  # fmt: skip
        assert code == 0, err
        code, out, err = cli(
            "eval-rewrite", "--input", str(run / "rewrites.jsonl"),
            "--rewriter", "mock/sft-candidates", "--sft-rewriter", "mock/sft-trained",
            "--grpo-rewriter", "mock/sft-copier", "--similarity", "tfidf",
        )  # fmt: skip
    finally:
        unregister_mock("sft-trained")
    assert code == 0, err
    scores = json.loads((run / "scores.json").read_text())
    assert scores["sft_available"] and scores["grpo_available"]
    assert scores["sft_rewriter"] == "mock/sft-trained"
    ev = scores["scores"]["evaluation"]
    assert ev["sft"]["n"] == ev["grpo"]["n"] == ev["visa"]["n"] == 2
    # the copier as "grpo" rewriter moves nothing: reward 0 by the copy rule
    assert ev["grpo"]["value_precision"] == 0.0 and ev["grpo"]["reward"] == 0.0
    assert scores["scores"]["reward"]["sft"]["value_precision"] > 0
    # the trained rewriter got the loop's prompt: the gap instruction under the steering
    # detector, not the persona prompt of the prompting baseline
    target = ValueTarget.parse(scores["target"])
    measurer = Measurer("keywords", "tfidf")
    expected = []
    for original, query, lang in ((ORIGINAL, "What did the council decide?", "en"),
                                  (ZH, "成年子女应该赡养父母吗？", "zh")):  # fmt: skip
        vec = measurer.vectors([original], [lang], target)[0]
        instruction = gap_instruction(target, vec, lang, tolerance=0.5)
        expected.append(rewrite_messages(query, original, instruction, lang))
    assert sorted(map(json.dumps, seen)) == sorted(map(json.dumps, expected))
    assert len((run / "sft.jsonl").read_text().splitlines()) == 2
    pairs = {(c["a"], c["b"]) for c in scores["comparisons"]}
    assert {("visa", "sft"), ("sft", "baseline"), ("grpo", "sft")} <= pairs
    html = (run / "rewrite-report.html").read_text()
    assert "SFT rewriter" in html and "GRPO rewriter" in html
    assert "sft " in out and "grpo " in out


def test_eval_rewrite_without_trained_rewriters_reports_them_as_not_run(
    cli, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    code, _, err = cli(
        "rewrite", "--input", str(_answers(tmp_path)), "--rewriter", "mock/sft-candidates",
        "--target", PERSONA, "--out", str(run), "--similarity", "tfidf",
    )  # fmt: skip
    assert code == 0, err
    code, _, err = cli(
        "eval-rewrite", "--input", str(run / "rewrites.jsonl"), "--similarity", "tfidf"
    )
    assert code == 0, err
    scores = json.loads((run / "scores.json").read_text())
    assert not scores["sft_available"] and "sft" not in scores["scores"]["evaluation"]
    assert not any("sft" in (c["a"], c["b"]) for c in scores["comparisons"])
    md = (run / "rewrite-report.md").read_text()
    assert "not run (no --sft-rewriter)" in md and "| SFT rewriter |" not in md


@pytest.mark.slow
def test_smollm_sft_rewriter_trains_on_gated_rewrites_and_is_evaluated(cli, tmp_path: Path) -> None:
    """The real plumbing with tiny steps: mock gated rewrites -> `train sft` on SmolLM2 (one
    LoRA step, merged) -> the trained folder as `--sft-rewriter` in eval-rewrite."""
    triples = _make_data(cli, tmp_path, n=4)
    sft = tmp_path / "sft.jsonl"
    code, _, err = cli(
        "visa", "sft-data", "--input", str(triples), "--rewriter", "mock/sft-candidates",
        "--similarity", "tfidf", "--out", str(sft),
    )  # fmt: skip
    assert code == 0, err
    model = tmp_path / "sft-rewriter"
    code, _, err = cli(
        "train", "sft", "--config", "builtin:sft", "--data", str(sft), "--max-steps", "1",
        "--out", str(model),
    )  # fmt: skip
    assert code == 0, err
    manifest = json.loads((model / "manifest.json").read_text())
    assert manifest["global_step"] == 1
    run = tmp_path / "run"
    code, _, err = cli(
        "rewrite", "--input", str(_answers(tmp_path)), "--rewriter", "mock/sft-candidates",
        "--target", PERSONA, "--out", str(run), "--similarity", "tfidf",
    )  # fmt: skip
    assert code == 0, err
    code, _, err = cli(
        "eval-rewrite", "--input", str(run / "rewrites.jsonl"), "--similarity", "tfidf",
        "--sft-rewriter", f"hf/{model}", "--max-tokens", "48",
    )  # fmt: skip
    assert code == 0, err
    scores = json.loads((run / "scores.json").read_text())
    assert scores["sft_available"] and scores["scores"]["evaluation"]["sft"]["n"] >= 1


def test_sft_data_sends_the_rows_requests_together(cli, tmp_path: Path) -> None:
    # a local backend batches the requests it has in flight: with one row at a time it only
    # ever saw --samples of them (session 24's CPU run spent most of its sft-data time so)
    import asyncio

    from valuealign.visa import VisaReward
    from valuealign.visa.sft import abuild_sft_dataset, load_rewriter_rows

    rows = load_rewriter_rows(_make_data(cli, tmp_path, n=4))
    state = {"now": 0, "most": 0}

    async def slow(messages, config: GenerateConfig) -> str:
        state["now"] += 1
        state["most"] = max(state["most"], state["now"])
        await asyncio.sleep(0.05)
        state["now"] -= 1
        return _candidates(messages, config)

    built, counts = asyncio.run(
        abuild_sft_dataset(
            rows,
            FunctionBackend(slow, name="mock/slow"),
            reward=VisaReward(similarity="tfidf"),
            samples=4,
            concurrency=8,
        )
    )
    assert state["most"] == 8  # four rows x four samples, as many as --concurrency allows
    assert [r["id"] for r in built] == [r["id"] for r in rows]  # in input order
    assert counts["rows"] == 4
