"""One real loop run with the embedded SmolLM2-135M-Instruct as the rewriter (offline)."""

from __future__ import annotations

import json
from pathlib import Path

from valuealign.backends import register_mock, unregister_mock


def test_real_rewriter_loop(cli, smollm, tmp_path: Path) -> None:
    answers = tmp_path / "answers.jsonl"
    answers.write_text(
        json.dumps(
            {
                "id": "council",
                "query": "What did the council decide?",
                "answer": "The council approved 4.2 million dollars in 2023 for three bus lines.",
            }
        )
        + "\n",
        encoding="utf-8",
    )
    register_mock("visa-smollm", smollm)  # the session's loaded model, under a CLI address
    try:
        code, _, err = cli(
            "rewrite",
            "--target",
            "someone who prizes tradition and security",
            "--input",
            str(answers),
            "--rewriter",
            "mock/visa-smollm",
            "--out",
            str(tmp_path / "run"),
            "--max-rounds",
            "2",
            "--max-tokens",
            "32",
            "--similarity",
            "tfidf",
        )
    finally:
        unregister_mock("visa-smollm")
    assert code == 0, err
    [record] = [
        json.loads(x) for x in (tmp_path / "run" / "rewrites.jsonl").read_text().splitlines()
    ]
    assert record["status"] == "ok" and record["provenance"]["roles"]["rewriter"] == smollm.name
    assert 1 <= record["rounds"] <= 2 and len(record["steps"]) == record["rounds"]
    for step in record["steps"]:
        assert step["instruction"].startswith("Rewrite the answer so that it")
        assert step["reason"]  # accepted or the shield's reason
        assert step["accepted"] == step["reason"].startswith("accepted")
    # the shield guarantees what is kept: the final answer is the original or a rewrite that
    # passed it
    accepted = [s for s in record["steps"] if s["accepted"]]
    if accepted:
        assert record["final"] == accepted[-1]["rewrite"]
        assert accepted[-1]["similarity"] >= 0.6 and accepted[-1]["fact_share"] >= 0.6
    else:
        assert record["final"] == record["original"] and not record["changed"]
