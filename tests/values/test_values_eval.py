"""The labelled set loader, detector metrics (checked against scikit-learn) and eval-detector."""

from __future__ import annotations

import json

import numpy as np
import pytest

from valuealign.backends.mock import FunctionBackend, register_mock, unregister_mock
from valuealign.errors import UserError
from valuealign.values import SCHWARTZ10, VALUES, load_labelled, score_detections, split_of
from valuealign.values.labelled import TEST_PERCENT, shipped_labelled_paths

ROWS = [
    {"id": "a1", "text": "We keep the customs of our ancestors.", "language": "en",
     "values": {"tradition": 1}},
    {"id": "a2", "text": "Old customs are outdated; break with tradition.", "language": "en",
     "values": {"tradition": -1, "self-direction": 1}},
    {"id": "a3", "text": "The bus leaves at nine.", "language": "en", "values": {}},
    {"id": "a4", "text": "我们应当尊重祖先留下的习俗。", "language": "zh",
     "values": {"tradition": 1, "power": 0}},
    {"id": "a5", "text": "人人生而平等，不应受到歧视。", "language": "zh",
     "values": {"Universalism": 1}},
]  # fmt: skip


def _write(path, rows):
    path.write_text(
        "\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows)
        + "\n",
        encoding="utf-8",
    )
    return path


# --- loader ---------------------------------------------------------------------------------


def test_load_user_file_labels_and_split(tmp_path):
    data = load_labelled(_write(tmp_path / "small.jsonl", ROWS))
    assert len(data) == 5 and data.taxonomy is SCHWARTZ10
    assert data.labels.shape == (5, 10)
    assert data.labels[1, VALUES.index("tradition")] == -1
    assert data.labels[4, VALUES.index("universalism")] == 1  # names resolve leniently
    assert data.items[3].labels == {"tradition": 1}  # explicit 0 is dropped
    assert data.languages == ["en", "en", "en", "zh", "zh"]
    parts = {it.id: it.split for it in data}
    assert parts == {i: split_of(i) for i in parts}
    train, test = data.split("train"), data.split("test")
    assert len(train) + len(test) == 5 and not set(train.ids) & set(test.ids)
    assert data.split("all") is data and len(data.where("zh")) == 2


def test_split_is_a_deterministic_hash_of_the_id():
    ids = [f"item-{i}" for i in range(2000)]
    first = [split_of(i) for i in ids]
    assert first == [split_of(i) for i in reversed(ids)][::-1]
    share = first.count("test") / len(ids)
    assert abs(share - TEST_PERCENT / 100) < 0.04


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("{not json", "invalid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"id": "x", "text": "t"}', "missing field(s) values"),
        ('{"id": "", "text": "t", "values": {}}', "'id' must be"),
        ('{"id": "x", "text": "t", "language": "fr", "values": {}}', "'language'"),
        ('{"id": "x", "text": "t", "values": {"loyalty": 1}}', "unknown value 'loyalty'"),
        ('{"id": "x", "text": "t", "values": {"power": 2}}', "not -1, 0 or 1"),
        ('{"id": "x", "text": "t", "values": {"power": 1, "Power": 1}}', "labelled twice"),
        ('{"id": "a1", "text": "t", "values": {}}', "duplicate id 'a1'"),
    ],
)
def test_bad_lines_raise_user_errors_with_file_and_line(tmp_path, line, needle):
    path = _write(tmp_path / "bad.jsonl", [ROWS[0], "", line])
    with pytest.raises(UserError) as err:
        load_labelled(path)
    assert needle in err.value.message
    assert f"{path}:3:" in err.value.message


def test_shipped_set_loads_with_both_languages():
    if len(shipped_labelled_paths()) < 2:
        pytest.skip("the shipped labelled set is not in this checkout")
    data = load_labelled()
    assert {"en", "zh"} <= set(data.languages)
    assert len(data) >= 300
    assert len(set(data.ids)) == len(data)
    labels = data.labels
    assert (labels == 1).any(axis=0).all()  # every value has positive examples
    hashed = [it for it in data if not it.id.startswith("h-")]  # h-: the held-out extension
    share = sum(it.split == "test" for it in hashed) / len(hashed)
    assert 0.15 < share < 0.35
    assert all(it.split == "test" for it in data if it.id.startswith("h-"))


# --- metrics --------------------------------------------------------------------------------


def test_metrics_match_scikit_learn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(7)
    gold = rng.choice([-1, 0, 0, 0, 1], size=(60, 10))
    scores = rng.choice([-0.9, -0.2, 0.0, 0.0, 0.0, 0.3, 1.0], size=(60, 10))
    gold[:, VALUES.index("hedonism")] = 0
    scores[:, VALUES.index("hedonism")] = 0.0  # no gold, no prediction: skipped
    report = score_detections(gold, scores, SCHWARTZ10, threshold=0.25)
    pred = np.where(scores > 0.25, 1, np.where(scores < -0.25, -1, 0))
    f1s = []
    for j, v in enumerate(report.values):
        g, p = gold[:, j], pred[:, j]
        if v.value == "hedonism":
            assert v.value in report.skipped
            continue
        prf = metrics.precision_recall_fscore_support(
            g, p, labels=[-1, 1], average="micro", zero_division=0
        )
        assert (v.overall.precision, v.overall.recall, v.overall.f1) == pytest.approx(prf[:3])
        for direction, counts in ((1, v.promote), (-1, v.oppose)):
            prf = metrics.precision_recall_fscore_support(
                g, p, labels=[direction], average="micro", zero_division=0
            )
            assert (counts.precision, counts.recall, counts.f1) == pytest.approx(prf[:3])
        f1s.append(v.overall.f1)
    assert report.macro_f1 == pytest.approx(np.mean(f1s))
    micro = metrics.precision_recall_fscore_support(
        np.delete(gold, VALUES.index("hedonism"), axis=1).ravel(),
        np.delete(pred, VALUES.index("hedonism"), axis=1).ravel(),
        labels=[-1, 1],
        average="micro",
        zero_division=0,
    )
    assert report.micro.f1 == pytest.approx(micro[2])


def test_metrics_by_hand_and_failed_rows():
    gold = np.zeros((4, 10), dtype=int)
    scores = np.zeros((4, 10))
    t = VALUES.index("tradition")
    gold[0, t], scores[0, t] = 1, 0.7  # right value, right direction: tp
    gold[1, t], scores[1, t] = 1, -0.7  # wrong direction: fp and fn
    scores[2, t] = 0.4  # nothing there: fp
    gold[3, t] = -1
    scores[3] = np.nan  # failed row: not scored
    report = score_detections(gold, scores, SCHWARTZ10, languages=["en", "en", "zh", "zh"])
    trad = report.values[t].overall
    assert (trad.tp, trad.fp, trad.fn) == (1, 2, 1)
    assert trad.precision == pytest.approx(1 / 3) and trad.recall == pytest.approx(0.5)
    assert report.failed == 1 and report.n == 4
    assert report.skipped == [v for v in VALUES if v != "tradition"]
    assert report.macro_f1 == pytest.approx(trad.f1)
    assert report.by_language["zh"]["failed"] == 1
    data = report.to_json()
    assert data["macro_f1"] == pytest.approx(trad.f1, abs=1e-4)
    assert data["values"]["tradition"]["promote"]["tp"] == 1


# --- CLI ------------------------------------------------------------------------------------


def test_cli_eval_detector_keywords_and_llm_with_a_failure(cli, tmp_path):
    data = _write(tmp_path / "small.jsonl", ROWS)
    out = tmp_path / "eval.json"

    def reply(messages, config):
        if "bus" in messages[-1]["content"]:
            return "cannot say"
        obj = {v: 0 for v in VALUES}
        obj["tradition"] = 1
        return json.dumps(obj)

    register_mock("eval-values", FunctionBackend(reply, name="mock/eval-values"))
    try:
        code, stdout, stderr = cli(
            "values", "eval-detector", "--data", str(data), "-d", "keywords",
            "-d", "llm:mock/eval-values", "--llm-retries", "1", "--out", str(out),
        )  # fmt: skip
    finally:
        unregister_mock("eval-values")
    assert code == 0, stderr
    assert "macro-F1" in stdout and "tradition" in stdout and "1 failed" in stdout
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert saved["split"] == "all" and saved["n"] == 5
    keywords, llm = saved["reports"]
    assert keywords["detector"] == "keywords" and keywords["failed"] == 0
    assert llm["detector"] == "llm:mock/eval-values" and llm["failed"] == 1
    assert llm["failures"][0]["id"] == "a3" and llm["failures"][0]["attempts"] == 2
    assert llm["values"]["tradition"]["tp"] == 2  # a1 and a4; a2 is the wrong direction


def test_cli_eval_detector_bad_input_exits_2(cli, tmp_path):
    bad = _write(tmp_path / "bad.jsonl", [ROWS[0], '{"id": "z", "text": "t", "values": {"x": 1}}'])
    code, _, err = cli("values", "eval-detector", "--data", str(bad))
    assert code == 2 and f"{bad}:2:" in err and "unknown value 'x'" in err
    good = _write(tmp_path / "good.jsonl", ROWS)
    code, _, err = cli("values", "eval-detector", "--data", str(good), "-d", "magic")
    assert code == 2 and "unknown detector spec 'magic'" in err
    code, _, err = cli("values", "eval-detector", "--data", str(tmp_path / "none.jsonl"))
    assert code == 2 and "no such file" in err
