"""Prompted Qwen vectors (the text read inside a question about values) and classifier:prompted."""

from __future__ import annotations

import json

import numpy as np
import pytest

from valuealign.errors import UserError
from valuealign.values import ClassifierSettings, get_detector, load_labelled, train_classifier
from valuealign.values import embed as embed_module
from valuealign.values.classifier import (
    _settings_key,
    multilingual_settings,
    prompted_large_settings,
    prompted_settings,
)
from valuealign.values.embed import (
    PROMPT_LAYERS,
    PROMPT_PREFIX,
    PROMPT_SUFFIX,
    embed_prompted,
    embedding_available,
)
from valuealign.values.labelled import shipped_labelled_paths

needs_qwen = pytest.mark.skipif(
    not embedding_available(), reason="torch, transformers or the embedded Qwen 0.5B missing"
)

TEXTS = [
    "We keep the old festival rites, as our grandparents did every year.",
    "成年子女应当赡养父母。",
    "Rules are there to be broken; I do what I like.",
]


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    """Prompted vectors go to a fresh folder (the model itself still loads from the cache)."""
    monkeypatch.setattr(embed_module, "embed_cache_dir", lambda model=None: tmp_path / "embed")
    return tmp_path / "embed"


@needs_qwen
def test_prompted_vectors_match_a_direct_forward_pass(private_cache):
    """Oracle: transformers run by hand on prefix + text + suffix, one text at a time, no
    padding; the batched, padded pass must give the same mean-over-text and last-token states."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from valuealign.backends.hf import resolve_model_path

    folder = resolve_model_path("qwen2.5-0.5b-instruct")
    tok = AutoTokenizer.from_pretrained(str(folder))
    net = AutoModel.from_pretrained(str(folder), dtype=torch.float32).eval()
    got = embed_prompted(TEXTS, layers=(12, 24), pooling="mean+last", cache=False)
    assert got.shape == (3, 4 * net.config.hidden_size)
    h = net.config.hidden_size
    for i, text in enumerate(TEXTS):
        pre, own = tok(PROMPT_PREFIX)["input_ids"], tok(text)["input_ids"]
        ids = pre + own + tok(PROMPT_SUFFIX)["input_ids"]
        with torch.inference_mode():
            states = net(input_ids=torch.tensor([ids]), output_hidden_states=True).hidden_states
        for block, (layer, pool) in enumerate(
            [(12, "mean"), (12, "last"), (24, "mean"), (24, "last")]
        ):
            hidden = states[layer][0]
            vec = hidden[len(pre) : len(pre) + len(own)].mean(0) if pool == "mean" else hidden[-1]
            vec = (vec / vec.norm()).numpy()
            np.testing.assert_allclose(got[i, block * h : (block + 1) * h], vec, atol=2e-4)


@needs_qwen
def test_prompted_vectors_are_cached_and_sliced_by_layer_and_pooling(private_cache, monkeypatch):
    both = embed_prompted(TEXTS, layers=(12, 24), pooling="mean+last")
    assert any(private_cache.rglob("*.npy"))

    def no_compute(*_a, **_k):
        raise AssertionError("the cache should have answered")

    monkeypatch.setattr(embed_module, "_compute_prompted", no_compute)
    again = embed_prompted(TEXTS, layers=(12, 24), pooling="mean+last")
    np.testing.assert_array_equal(both, again)
    h = both.shape[1] // 4
    last24 = embed_prompted(TEXTS, layers=(24,), pooling="last")
    np.testing.assert_array_equal(last24, both[:, 3 * h :])
    mean12 = embed_prompted(TEXTS, layers=(12,), pooling="mean")
    np.testing.assert_array_equal(mean12, both[:, :h])
    # every block is a unit vector, and the two poolings are different vectors
    for b in range(4):
        np.testing.assert_allclose(np.linalg.norm(both[:, b * h : (b + 1) * h], axis=1), 1, 1e-5)
    assert np.abs(both[:, :h] - both[:, h : 2 * h]).max() > 0.1
    assert embed_prompted([], layers=(24,), pooling="last").shape[0] == 0


def test_prompted_settings_and_arguments_are_checked():
    with pytest.raises(UserError, match="not all among"):
        embed_prompted(["x"], layers=(13,))
    with pytest.raises(UserError, match="pooling"):
        embed_prompted(["x"], pooling="max")
    with pytest.raises(UserError, match="not supported"):
        ClassifierSettings(
            embedding="qwen2.5-0.5b-instruct", embedding_prompt=True, embedding_layers=(13,)
        ).check()
    with pytest.raises(UserError, match="not supported"):
        ClassifierSettings(
            embedding="qwen2.5-0.5b-instruct", embedding_prompt=True, embedding_pooling="max"
        ).check()
    with pytest.raises(UserError, match="multilingual embedding"):
        ClassifierSettings(embedding_prompt=True).check()
    s = prompted_settings()
    s.check()
    assert s.embedding_prompt and set(s.embedding_layers) <= set(PROMPT_LAYERS)
    large = prompted_large_settings()
    large.check()
    assert large.embedding == "qwen2.5-1.5b-instruct" and large.embedding_prompt
    # only the vectors differ from classifier:prompted; the two never share a cache key
    assert {k for k in s.__dict__ if s.__dict__[k] != large.__dict__[k]} == {
        "embedding",
        "embedding_layers",
    }
    assert _settings_key(s) != _settings_key(large)


def test_older_settings_keep_their_cache_keys():
    """Fields added for prompted vectors stay out of a key while at their defaults, so the
    cached classifier and classifier:multilingual are not retrained after this change."""
    old_fields = {
        k: v
        for k, v in multilingual_settings().__dict__.items()
        if k not in ("embedding_prompt", "embedding_pooling", "precision_margin", "precision_bound")
    }
    assert _settings_key(multilingual_settings()) == old_fields
    assert _settings_key(prompted_settings())["embedding_prompt"] is True


def _tiny_rows() -> list[dict]:
    rows = []
    cues = {
        "tradition": (
            "We honour our ancestors' customs at the festival",
            "我们在节日里遵循祖先的习俗",
        ),
        "hedonism": ("Tonight we party and enjoy every pleasure", "今晚我们尽情享乐"),
    }
    for value, (en, zh) in cues.items():
        for i in range(6):
            rows.append({"id": f"{value}-en-{i}", "text": f"{en}, day {i}.", "values": {value: 1}})
            rows.append({"id": f"{value}-zh-{i}", "text": f"第{i}天，{zh}。", "values": {value: 1}})
    for i in range(6):
        rows.append({"id": f"none-{i}", "text": f"The bus number {i} is late again.", "values": {}})
    return rows


@needs_qwen
def test_prompted_classifier_trains_saves_and_loads(tmp_path, private_cache):
    path = tmp_path / "tiny.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in _tiny_rows()), "utf-8")
    data = load_labelled(path)
    messages: list[str] = []
    settings = ClassifierSettings(
        embedding="qwen2.5-0.5b-instruct",
        embedding_prompt=True,
        embedding_layers=(24,),
        embedding_pooling="last",
        standardise_embeddings=True,
        folds=3,
        ngram_max=1,
        calibration="platt",
        precision_target=0.5,
    )
    model = train_classifier(data, settings, progress=messages.append)
    assert any(m.startswith("sentence vectors:") for m in messages)
    assert model.scaling[0].shape == (896,)
    texts = ["Every spring we keep the customs of our ancestors.", "这个周末我们要尽情享乐。"]
    out = model.detect_many(texts)
    folder = model.save(tmp_path / "model")
    loaded = get_detector(f"classifier:{folder}")
    assert loaded.settings.embedding_prompt and loaded.settings.embedding_pooling == "last"
    np.testing.assert_allclose(loaded.detect_many(texts), out)
    probs = model.probabilities(texts)
    j_trad, j_hed = (model.taxonomy.values.index(v) for v in ("tradition", "hedonism"))
    # the promote head of the cued value is the more confident one for each text
    assert probs[0, j_trad, 0] > probs[0, j_hed, 0]
    assert probs[1, j_hed, 0] > probs[1, j_trad, 0]


def _held_out_scores(det):
    """Per language of the held-out split: (language, the balanced point's scores, the
    high-precision point's scores) of a detector fresh from training."""
    from valuealign.values.metrics import score_detections

    test = load_labelled().split("test")
    balanced = det.at_best_f1()
    for lang in ("en", "zh"):
        rows = [i for i, it in enumerate(test) if it.language == lang]
        texts = [test.texts[i] for i in rows]
        gold = test.labels[rows]
        yield (
            lang,
            score_detections(gold, balanced.detect_many(texts, lang), test.taxonomy),
            score_detections(gold, det.detect_many(texts, lang), test.taxonomy),
        )


@pytest.mark.slow
@pytest.mark.skipif(len(shipped_labelled_paths()) < 2, reason="no shipped labelled set")
@needs_qwen
def test_prompted_detector_on_the_held_out_split():
    """classifier:prompted trained afresh on the shipped training data (the real thing; the
    Qwen vectors take minutes on 2 cores where not cached yet), scored on the held-out split
    per language."""
    det = get_detector("classifier:prompted", cache=False)
    for lang, rep, hp in _held_out_scores(det):
        # session 25 (1,666 training texts) measured 0.57 en / 0.58 zh; session 24 0.52 / 0.53
        assert rep.macro_f1 >= 0.53, (lang, rep.macro_f1)
        # measured 0.86 / 0.86 at 42 / 50 labels (recall 0.19 / 0.21); a floor below that
        assert hp.micro.predicted >= 30 and hp.micro.precision >= 0.75, (lang, hp.micro)


@pytest.mark.slow
@pytest.mark.skipif(len(shipped_labelled_paths()) < 2, reason="no shipped labelled set")
@pytest.mark.skipif(
    not embedding_available("qwen2.5-1.5b-instruct"), reason="the embedded Qwen 1.5B is missing"
)
def test_prompted_large_detector_on_the_held_out_split():
    """classifier:prompted-1.5b trained afresh (the 1.5B's vectors: about 20 minutes for the
    training texts on 2 cores where not cached), scored on the held-out split per language."""
    det = get_detector("classifier:prompted-1.5b", cache=False)
    assert det.name == "classifier:prompted-1.5b"
    for lang, rep, hp in _held_out_scores(det):
        # a floor above classifier:prompted's (0.5B) measured 0.57 / 0.58
        assert rep.macro_f1 >= 0.6, (lang, rep.macro_f1)
        assert hp.micro.predicted >= 40 and hp.micro.precision >= 0.75, (lang, hp.micro)
