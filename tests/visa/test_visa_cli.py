"""``valuealign rewrite``, ``eval-rewrite`` and ``visa make-data`` through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from valuealign.backends import FunctionBackend, GenerateConfig, register_mock, unregister_mock
from valuealign.visa import gap_instruction, rewrite_messages
from valuealign.visa._measure import Measurer
from valuealign.visa._values import ValueTarget

ORIGINAL = (
    "The city council approved the new budget of 4.2 million dollars in March 2023. "
    "Mayor Lina Park said the money will fund three bus lines and repair Oak Street."
)
ZH = "根据2015年修订的法律，成年子女有赡养父母的义务。许多家庭每月给父母500元生活费。"


def _rewrite(messages, config: GenerateConfig) -> str:
    text = messages[-1]["content"]
    answer = text.split("<answer>\n", 1)[1].split("\n</answer>", 1)[0]
    if any("\u4e00" <= ch <= "\u9fff" for ch in answer):
        return "以下是改写后的回答：" + answer + "这体现了尊重传统习俗、维护家庭安全稳定的精神。"
    return "Sure! " + answer + " This honours the customs handed down and keeps everyone safe."


def _answer(messages, config: GenerateConfig) -> str:
    q = messages[-1]["content"]
    if any("\u4e00" <= ch <= "\u9fff" for ch in q):
        return "这个问题涉及2015年的法律和多方观点。"
    return f"There are several views on this question ({len(q)} characters), as of 2024."


@pytest.fixture(autouse=True)
def mocks():
    register_mock("visa-rewriter", FunctionBackend(_rewrite, name="mock/visa-rewriter"))
    register_mock("visa-answerer", FunctionBackend(_answer, name="mock/visa-answerer"))
    yield
    unregister_mock("visa-rewriter")
    unregister_mock("visa-answerer")


def _answers(tmp_path: Path, lines: list[str] | None = None) -> Path:
    path = tmp_path / "answers.jsonl"
    if lines is None:
        lines = [
            json.dumps({"id": "a1", "query": "What did the council decide?", "answer": ORIGINAL}),
            json.dumps({"id": "a2", "query": "成年子女应该赡养父母吗？", "answer": ZH}),
            json.dumps(
                {
                    "id": 3,
                    "query": "<b>Why?</b>",
                    "answer": ORIGINAL + " <script>alert(1)</script>",
                    "extra": "ignored",
                }
            ),
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _rewrite_args(tmp_path: Path, *extra: str) -> list[str]:
    return [
        "rewrite",
        "--input",
        str(_answers(tmp_path)),
        "--rewriter",
        "mock/visa-rewriter",
        "--out",
        str(tmp_path / "run"),
        "--similarity",
        "tfidf",
        *extra,
    ]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("tradtion=+1", "unknown value 'tradtion'"),
        ("tradition=+1,security", "malformed value target token"),
        ("tradition=+3", "outside [-1, 1]"),
        ("someone who likes green tea", "no value found"),
    ],
)
def test_bad_targets_exit_2_and_write_nothing(cli, tmp_path: Path, target: str, message: str):
    code, _, err = cli(*_rewrite_args(tmp_path, "--target", target))
    assert code == 2 and message in err and "fix:" in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            ['{"id": "a", "query": "q", "answer": "x"}', '{"id": "b", "query": '],
            ":2: not valid JSON",
        ),
        (['{"id": "a", "query": "q"}', "", '{"id": "b", "answer": "x"}'], ":3: field 'query'"),
        (['{"id": "a", "query": "q", "answer": "x"}'] * 2, ":2: duplicate id 'a'"),
        (['{"id": "a", "query": "q", "answer": "x", "language": "fr"}'], ":1: field 'language'"),
        (['{"id": "a", "query": "q"}'], "no 'answer' and no --answerer"),
    ],
)
def test_bad_input_lines_exit_2_with_the_line(cli, tmp_path: Path, lines, message) -> None:
    path = _answers(tmp_path, lines)
    code, _, err = cli(
        "rewrite",
        "--target",
        "tradition=+1",
        "--input",
        str(path),
        "--rewriter",
        "mock/visa-rewriter",
        "--out",
        str(tmp_path / "run"),
    )
    assert code == 2 and message in err and str(path) in err
    assert not (tmp_path / "run").exists()


def test_unknown_detector_and_missing_input_exit_2(cli, tmp_path: Path) -> None:
    code, _, err = cli(*_rewrite_args(tmp_path, "--target", "tradition=+1", "--detector", "nope"))
    assert code == 2 and "nope" in err
    code, _, err = cli(
        "rewrite",
        "--target",
        "tradition=+1",
        "--input",
        str(tmp_path / "missing.jsonl"),
        "--rewriter",
        "mock/visa-rewriter",
        "--out",
        str(tmp_path / "run"),
    )
    assert code == 2 and "not found" in err


def test_rewrite_then_eval_rewrite(cli, tmp_path: Path) -> None:
    persona = "someone who prizes tradition and security"
    code, out, err = cli(*_rewrite_args(tmp_path, "--target", persona))
    assert code == 0, err
    assert "target security=+1,tradition=+1" in out and "3 done" in out
    records = [
        json.loads(x) for x in (tmp_path / "run" / "rewrites.jsonl").read_text().splitlines()
    ]
    assert sorted(r["id"] for r in records) == ["3", "a1", "a2"]
    assert all(r["persona"] == persona and r["steps"] for r in records)
    code, out, _ = cli(*_rewrite_args(tmp_path, "--target", persona))
    assert code == 0 and "3 already done" in out

    # the steering detector is refused as evaluator, unless allowed
    rewrites = str(tmp_path / "run" / "rewrites.jsonl")
    code, _, err = cli("eval-rewrite", "--input", rewrites, "--detector", "keywords")
    assert code == 2 and "--allow-same-detector" in err
    code, _, err = cli("eval-rewrite", "--input", rewrites, "--target", "power=-1")
    assert code == 2 and "were made for security=+1,tradition=+1" in err

    code, out, err = cli(
        "eval-rewrite",
        "--input",
        rewrites,
        "--rewriter",
        "mock/visa-rewriter",
        "--similarity",
        "tfidf",
    )
    assert code == 0, err
    scores = json.loads((tmp_path / "run" / "scores.json").read_text())
    assert scores["detectors"] == {"evaluation": "lexicon", "reward": "keywords"}
    # issue 13: lexicon scores Chinese with the keywords detector, so in zh the two are one
    # detector; independence is per language and the fallback is named
    by_lang = scores["independent_by_language"]
    assert by_lang["en"]["independent"] is True
    assert by_lang["zh"] == {
        "independent": False,
        "evaluation": "lexicon (falls back to keywords for zh)",
        "steering": "keywords",
    }
    assert scores["independent_detectors"] is False and scores["baseline_available"]
    assert "falls back to keywords" in scores["detector_note"]
    ev = scores["scores"]["evaluation"]
    assert ev["original"]["value_precision"] == 0.0 and ev["original"]["similarity"] == 1.0
    # the unrewritten original is a copy of itself: by the reward's own rule it earns nothing
    assert ev["original"]["reward"] == 0.0
    assert scores["scores"]["reward"]["original"]["reward"] == 0.0
    assert ev["visa"]["n"] == ev["baseline"]["n"] == 3
    assert ev["visa"]["value_precision"] > 0 and ev["visa"]["fact_share"] == 1.0
    assert set(scores["scores"]["reward"]) == {"original", "baseline", "visa"}
    comps = {(c["a"], c["b"], c["metric"]): c for c in scores["comparisons"]}
    gain = comps[("visa", "original", "value_precision")]
    assert gain["n"] == 3 and gain["mean_diff"] > 0 and len(gain["ci95"]) == 2
    # per language (two English inputs, one Chinese): the same metrics on each part, and the
    # per-item file is the oracle for both the means and the paired differences
    items = [
        json.loads(x) for x in (tmp_path / "run" / "rewrite-eval.jsonl").read_text().splitlines()
    ]
    by_lang = scores["scores_by_language"]
    assert set(by_lang) == {"en", "zh"}
    for lang, n in (("en", 2), ("zh", 1)):
        part = [it for it in items if it["language"] == lang]
        ev_lang = by_lang[lang]["evaluation"]
        assert ev_lang["visa"]["n"] == ev_lang["baseline"]["n"] == len(part) == n
        want = sum(it["systems"]["visa"]["similarity"] for it in part) / n
        assert ev_lang["visa"]["similarity"] == pytest.approx(want, abs=1e-4)
        rows = {(c["a"], c["b"], c["metric"]): c for c in scores["comparisons_by_language"][lang]}
        d = [
            it["systems"]["visa"]["value_precision"] - it["systems"]["original"]["value_precision"]
            for it in part
        ]
        row = rows[("visa", "original", "value_precision")]
        assert row["n"] == n and row["mean_diff"] == pytest.approx(sum(d) / n, abs=1e-4)
        assert row["ci95"][0] <= row["mean_diff"] <= row["ci95"][1]
    html = (tmp_path / "run" / "rewrite-report.html").read_text()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)" in html
    assert "<b>Why?</b>" not in html and "<script" not in html
    assert "Content-Security-Policy" in html and "Prompting baseline" in html
    md = (tmp_path / "run" / "rewrite-report.md").read_text()
    assert "| Value precision (gap closed) ↑ |" in md and "<script>" not in md
    assert "## Paired differences" in md
    assert "## Language en: evaluation detector (lexicon)" in md and "## Language zh" in md
    assert 'id="lang-zh"' in html
    assert len((tmp_path / "run" / "baseline.jsonl").read_text().splitlines()) == 3

    code, _, err = cli(
        "eval-rewrite",
        "--input",
        rewrites,
        "--detector",
        "keywords",
        "--allow-same-detector",
        "--similarity",
        "tfidf",
        "--out",
        str(tmp_path / "same"),
    )
    assert code == 0, err
    same = json.loads((tmp_path / "same" / "scores.json").read_text())
    assert same["independent_detectors"] is False and not same["baseline_available"]


def test_eval_rewrite_on_plain_answers_runs_the_loop(cli, tmp_path: Path) -> None:
    answers = str(_answers(tmp_path))
    code, _, err = cli("eval-rewrite", "--input", answers, "--out", str(tmp_path / "e"))
    assert code == 2 and "--target" in err and not (tmp_path / "e").exists()
    code, _, err = cli(
        "eval-rewrite",
        "--input",
        answers,
        "--target",
        "tradition=+1,security=+1",
        "--rewriter",
        "mock/visa-rewriter",
        "--out",
        str(tmp_path / "e"),
        "--similarity",
        "tfidf",
    )
    assert code == 0, err
    assert (tmp_path / "e" / "rewrites.jsonl").exists()
    scores = json.loads((tmp_path / "e" / "scores.json").read_text())
    assert scores["n_scored"] == 3 and scores["baseline_available"]


def test_make_data(cli, tmp_path: Path) -> None:
    out = tmp_path / "data" / "visa.jsonl"
    code, stdout, err = cli(
        "visa",
        "make-data",
        "--answerer",
        "mock/visa-answerer",
        "--out",
        str(out),
        "--n",
        "12",
    )
    assert code == 0, err
    assert "12 rows" in stdout
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 12 and {r["language"] for r in rows} == {"en", "zh"}
    assert len({r["id"] for r in rows}) == 12
    measurer = Measurer("keywords", "tfidf")
    for r in rows:
        assert {"prompt", "original", "target", "language"} <= set(r)
        target = ValueTarget.parse(r["target"])
        vec = measurer.vectors([r["original"]], [r["language"]], target)[0]
        instruction = gap_instruction(target, vec, r["language"], tolerance=0.5)
        assert r["prompt"] == rewrite_messages(
            r["query"], r["original"], instruction, r["language"]
        )
    code, _, err = cli(
        "visa",
        "make-data",
        "--answerer",
        "mock/visa-answerer",
        "--out",
        str(out),
        "--languages",
        "fr",
    )
    assert code == 2 and "--languages" in err


def test_make_data_queries_may_share_an_id_across_languages(cli, tmp_path: Path) -> None:
    # the default pool has one id per question in zh and en; a --queries file written the same
    # way must work (it stopped with "duplicate id" before session 24)
    queries = tmp_path / "q.jsonl"
    rows_in = [
        {"id": "q1", "query": "Should cities protect their old neighbourhoods?", "language": "en"},
        {"id": "q1", "query": "城市应该保护老街区吗？", "language": "zh"},
    ]
    queries.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows_in), "utf-8")
    out = tmp_path / "rows.jsonl"
    code, _, err = cli(
        "visa", "make-data", "--answerer", "mock/visa-answerer", "--queries", str(queries),
        "--personas", str(_persona_file(tmp_path)), "--n", "2", "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert sorted((r["query"], r["language"]) for r in rows) == sorted(
        (r["query"], r["language"]) for r in rows_in
    )
    # the same id twice in one language is still an error naming both lines
    queries.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in [rows_in[0], rows_in[0]]),
        "utf-8",
    )
    out.unlink()
    code, _, err = cli(
        "visa", "make-data", "--answerer", "mock/visa-answerer", "--queries", str(queries),
        "--n", "2", "--out", str(out),
    )  # fmt: skip
    assert code == 2 and "q.jsonl:2: duplicate id 'q1' in en (first at line 1)" in err
    assert not out.exists()


def _persona_file(tmp_path: Path) -> Path:
    path = tmp_path / "personas.txt"
    path.write_text("tradition=+1,security=+1\n", encoding="utf-8")
    return path


def test_make_data_rows_feed_the_trl_reward_functions(tmp_path: Path) -> None:
    import asyncio

    from valuealign.visa import abuild_rewriter_dataset, trl_reward_functions

    rows = asyncio.run(
        abuild_rewriter_dataset(FunctionBackend(_answer), n=4, languages=("en",), seed=3)
    )
    columns = {k: [r[k] for r in rows] for k in ("original", "target", "language", "id")}
    completions = [
        [{"role": "assistant", "content": r["original"] + " We honour old customs."}] for r in rows
    ]
    for f in trl_reward_functions(similarity="tfidf"):
        values = f(prompts=[r["prompt"] for r in rows], completions=completions, **columns)
        assert len(values) == 4 and all(v is not None for v in values)


def test_llm_translator_turns_a_persona_into_the_target(cli, tmp_path: Path) -> None:
    from valuealign.backends import ScriptedBackend

    translator = ScriptedBackend(["Here you go:", '{"tradition": 1, "power": -0.5}'])
    register_mock("visa-translator", translator)
    try:
        code, out, err = cli(
            *_rewrite_args(tmp_path, "--target", "an old-fashioned village elder"),
            "--translator",
            "llm:mock/visa-translator",
        )
    finally:
        unregister_mock("visa-translator")
    assert code == 0, err
    assert "target power=-0.5,tradition=+1" in out and len(translator.calls) == 2
    code, _, err = cli(*_rewrite_args(tmp_path, "--target", "someone", "--translator", "gpt"))
    assert code == 2 and "unknown translator" in err
