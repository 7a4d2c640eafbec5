"""The consensus page says what a reader needs: readable names, why no trajectory, the map and
how its positions were computed, the similarity fallback, zh text marked as zh."""

from __future__ import annotations

import json
import re
from pathlib import Path

from valuealign.report.consensus import validation_map, write_consensus_report


def _run(tmp_path: Path, *, rounds: int, similarity: dict | None = None) -> Path:
    run = tmp_path / "r"
    run.mkdir(parents=True)
    st = {
        "topic_id": "t1",
        "topic": "成年子女是否应当照顾父母？",
        "language": "zh",
        "agents": ["confucian", "protestant-europe"],
        "openings": ["孝道很重要。", "国家应当提供养老服务。"],
        "finals": ["家庭与国家共同承担。", "<b>共同</b>照顾。"],
    }
    (run / "statements.jsonl").write_text(json.dumps(st, ensure_ascii=False) + "\n")
    events = [
        {"topic_id": "t1", "type": "round", "round": r, "expected_utilities": [1.0 + r, 1.2],
         "best_response_utilities": [0.5, 0.6], "mixtures": [[1.0], [0.6, 0.4]]}
        for r in range(rounds)
    ] + [
        {"topic_id": "t1", "type": "best_response", "round": 0, "agent": "confucian",
         "mode": "innovate", "utility": 0.61, "guideline": {"content": "家庭优先"},
         "statement": "我们提议家庭优先。"}
    ]  # fmt: skip
    (run / "transcript.jsonl").write_text(
        "".join(json.dumps(ev, ensure_ascii=False) + "\n" for ev in events)
    )
    metrics = {
        "topics": {
            "t1": {
                "rounds_used": rounds,
                "stop_reason": "utility_stable",
                "nash_conv": 0.1,
                "degenerate": ["confucian: the opening repeats the topic"],
                "vsc": {"vsc": {"confucian": 0.9}, "detector": "llm:mock/x"},
            }
        },
        "summary": {"topics": 1, "mean_rounds_used": float(rounds), "methods": {}},
    }
    if similarity:
        metrics["similarity"] = similarity
    (run / "metrics.json").write_text(json.dumps(metrics))
    (run / "manifest.json").write_text(
        json.dumps({"settings": {"protocol": "reference", "language": "zh", "model": "m"}})
    )
    return run


def test_one_round_says_why_there_is_no_trajectory(tmp_path: Path) -> None:
    page = write_consensus_report(_run(tmp_path, rounds=1)).read_text()
    assert "No trajectory to draw" in page and "after 1 round" in page
    assert "utilities stable" in page  # the stop reason in words, not utility_stable
    assert page.count("<polyline") == 0


def test_several_rounds_draw_trajectories_with_readable_names(tmp_path: Path) -> None:
    page = write_consensus_report(_run(tmp_path, rounds=3)).read_text()
    # three charts, two agents each, drawn for the wide and the narrow layout
    assert page.count("<polyline") == 3 * 2 * 2
    assert "No trajectory" not in page
    # zone ids never reach the reader: card titles, legends, flags
    for raw in (">confucian<", ">protestant-europe<", "confucian:"):
        assert raw not in page
    assert "<h4>Confucian</h4>" in page and "Protestant Europe" in page
    assert "Confucian: the opening repeats the topic" in page
    assert "new idea" in page and "innovate" not in page
    assert "Chinese (中文)" in page and "the paper&#x27;s negotiation" in page


def test_generated_chinese_is_marked_and_escaped(tmp_path: Path) -> None:
    page = write_consensus_report(_run(tmp_path, rounds=2)).read_text()
    assert '<p class="stmt" lang="zh-Hans">孝道很重要。</p>' in page
    assert "&lt;b&gt;共同&lt;/b&gt;照顾。" in page and "<b>共同</b>" not in page


def test_similarity_fallback_is_a_warning(tmp_path: Path) -> None:
    fallback = {"kind": "hybrid", "name": "MiniLM + TF-IDF", "fallback": "no local Qwen"}
    page = write_consensus_report(_run(tmp_path, rounds=1, similarity=fallback)).read_text()
    warnings = page.split('id="warnings"')[1].split("</section>")[0]
    assert "<li>The text similarity falls back to MiniLM + TF-IDF: no local Qwen." in warnings
    ok = {"kind": "multilingual", "name": "qwen centred", "fallback": None}
    page = write_consensus_report(_run(tmp_path / "b", rounds=1, similarity=ok)).read_text()
    assert "falls back" not in page and "qwen centred" in page


def _validation(method: str, note: str) -> dict:
    return {
        "zones": {
            "confucian": {"traditional_secular": 1.17, "survival_self_expression": -0.23},
            "protestant-europe": {"traditional_secular": 0.99, "survival_self_expression": 2.61},
        },
        "table": [
            {"variant": "prompt-only", "zone": "confucian", "traditional_secular": 0.5,
             "survival_self_expression": 3.4, "distance": 3.7, "nearest_zone": "protestant-europe",
             "in_own_zone": False, "unparsed": 2},
            {"variant": "adapter", "zone": "confucian", "traditional_secular": None,
             "survival_self_expression": None, "distance": None, "nearest_zone": None,
             "in_own_zone": None},
        ],
        "personas": 72,
        "language": "zh",
        "map": {"method": method},
        "note": note,
    }  # fmt: skip


def test_validation_map_draws_zones_and_agents_inside_the_plot() -> None:
    svg = validation_map(_validation("factor scores: ...", "positions are factor scores"))
    assert ">Confucian<" in svg and ">Protestant Europe<" in svg
    # one circle per layout (wide, narrow); the adapter agent was not placed
    assert svg.count("<circle") == 2 and "<polygon" not in svg
    assert "Confucian agent (Prompt-only)" in svg
    # the range grows to hold SSE 3.4: in both layouts the circle is inside the plot rectangle
    rects = re.findall(
        r'<rect class="grid" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"', svg
    )
    circles = re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)"', svg)
    assert len(rects) == len(circles) == 2
    for rect, circle in zip(rects, circles, strict=True):
        x0, y0, w, h = map(float, rect)
        cx, cy = map(float, circle)
        assert x0 < cx < x0 + w and y0 < cy < y0 + h
    assert "Positions are factor scores" in svg and 'class="warn"' not in svg
    assert "<td>Protestant Europe</td><td>no</td>" in svg and "<td>n/a</td><td>n/a</td>" in svg


def test_a_linear_proxy_map_is_a_warning() -> None:
    svg = validation_map(_validation("linear proxy", "positions are a linear proxy"))
    assert '<p class="warn">Positions are a linear proxy.</p>' in svg


def test_charts_and_cards_number_rounds_alike(tmp_path: Path) -> None:
    """Transcript rounds are 0-based; the page says "round 1" for the first round everywhere."""
    page = write_consensus_report(_run(tmp_path, rounds=3)).read_text()
    # the card's best response of transcript round 0 is "round 1"
    assert "round 1: <b>家庭优先</b>" in page
    # the charts' point labels run 1..3 (never 0), and their axis ticks likewise
    labels = {int(k) for k in re.findall(r"<title>[^<]*, round (\d+): ", page)}
    assert labels == {1, 2, 3}
    ticks = re.findall(r'class="tick"[^>]*>(\d+)</text>', page)
    assert ticks and "0" not in ticks and {"1", "2", "3"} <= set(ticks)
