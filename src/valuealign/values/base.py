"""What every value detector shares: the protocol, the spec grammar, language folding, a sync
runner.

The low end of :mod:`valuealign.values`' detectors: :mod:`~valuealign.values.detectors` (the
registry), :mod:`~valuealign.values.llm_detector` and :mod:`~valuealign.values.classifier` all
import from here, and this module imports none of them.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np

from valuealign.errors import UserError
from valuealign.lang import language_of
from valuealign.values.taxonomy import Taxonomy

__all__ = [
    "DETECTOR_SPECS",
    "ValueDetector",
    "llm_model_of",
    "normalise_languages",
    "run_sync",
]

DETECTOR_SPECS = (
    "keywords",
    "lexicon",
    "llm:<provider/model>",
    "classifier[:DIR]",
    "classifier:multilingual",
    "classifier:prompted",
)
T = TypeVar("T")


def llm_model_of(spec: str, what: str = "detector spec") -> str | None:
    """The backend of an ``llm:<provider/model>`` spec (detector or translator); None for any
    other spec. ``llm:`` with no model is a UserError."""
    kind, _, model = str(spec).strip().partition(":")
    if kind.strip().lower() != "llm":
        return None
    if not model.strip():
        raise UserError(f"{what} {spec!r} names no model", fix="write llm:<provider/model>")
    return model.strip()


@runtime_checkable
class ValueDetector(Protocol):
    """Texts -> value matrix over ``taxonomy``, shape (n, K), entries in [-1, 1] (NaN: failed)."""

    name: str
    taxonomy: Taxonomy

    async def adetect(
        self, texts: Sequence[str], languages: Sequence[str | None] | None = None
    ) -> np.ndarray: ...

    def detect_many(
        self, texts: Sequence[str], languages: Sequence[str | None] | None = None
    ) -> np.ndarray: ...


def normalise_languages(
    texts: Sequence[str], languages: Sequence[str | None] | str | None
) -> list[str]:
    """One "zh"/"en" per text: given ones folded ("zh-CN" -> "zh"), missing ones detected.

    A single string applies to every text.
    """
    n = len(texts)
    if languages is None or isinstance(languages, str):
        given: list[str | None] = [languages] * n  # type: ignore[list-item]
    else:
        given = list(languages)
        if len(given) != n:
            raise ValueError(f"{n} texts but {len(given)} languages")
    # strict: an unknown tag raises; a missing one is detected
    return [language_of(text, lang, strict=True) for text, lang in zip(texts, given, strict=True)]


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion in a fresh event loop, also when called from inside one.

    Inside a running loop (a notebook, an async caller) the coroutine runs in a worker thread
    with its own loop, so the sync API never fails with "event loop is already running".
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=target, name="valuealign-detect")
    worker.start()
    worker.join()
    if "error" in box:
        raise box["error"]
    return box["value"]
