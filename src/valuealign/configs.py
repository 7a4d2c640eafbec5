"""Config files by path or by ``builtin:NAME`` (the examples shipped inside the package).

>>> resolve_config("builtin:sft", "train")          # works outside a clone
PosixPath('.../valuealign/data/configs/train/sft.yaml')
>>> builtin_configs("eval")
['quick']
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from valuealign.errors import UserError

KINDS = ("train", "eval", "generate", "consensus")


def _folder(kind: str) -> Path:
    return Path(str(resources.files("valuealign") / "data" / "configs" / kind))


def builtin_configs(kind: str) -> list[str]:
    folder = _folder(kind)
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def resolve_config(spec: str | Path, kind: str) -> Path:
    """A config's file: ``builtin:NAME`` is looked up among the shipped ``kind`` configs."""
    text = str(spec)
    if not text.startswith("builtin:"):
        return Path(text)
    name = text.removeprefix("builtin:")
    path = _folder(kind) / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(f"builtin:{n}" for n in builtin_configs(kind)) or "none"
        raise UserError(f"unknown built-in {kind} config {text!r}", fix=f"use one of: {known}")
    return path
