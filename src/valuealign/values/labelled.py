"""The labelled value set: short texts with the values each one promotes (+1) or opposes (-1).

The shipped set lives in ``valuealign/data/values/labelled/`` as ``en.jsonl`` and ``zh.jsonl``;
a user file has the same schema, one JSON object per line::

    {"id": "en-0001", "text": "...", "language": "en", "values": {"tradition": 1, "power": -1}}

Values left out of ``values`` are 0 (the text is neutral on them); an explicit 0 is allowed.
Value ids are those of the chosen taxonomy (``schwartz10`` by default); names are resolved
leniently (see :meth:`Taxonomy.resolve`). Every problem raises :class:`UserError` naming the file
and line: invalid JSON, a missing or mistyped field, an unknown value, a label outside
{-1, 0, 1}, a duplicate id.

**Split.** :func:`split_of` assigns every item to "train" or "test" by its id alone. An id
starting with ``h-`` (the held-out extension, ``labelled/heldout.jsonl``) is always "test"; one
starting with ``x-`` or ``m-`` (the training-only sets under ``extra/``) is always "train"; any other id
goes by a hash (SHA-256 of the id, first 8 bytes as an integer, modulo 100; below
:data:`TEST_PERCENT` is "test"). The split is deterministic, independent of file order and of
other items, and stable when items are added, so the trained classifier never sees the items
that ``eval-detector`` scores it on. The shipped held-out split is therefore the hashed test
part of ``en.jsonl`` and ``zh.jsonl`` plus all of ``heldout.jsonl``.

>>> data = load_labelled()
>>> train, test = data.split("train"), data.split("test")
>>> train.labels.shape == (len(train), 10)
True
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np

from valuealign.errors import UserError
from valuealign.lang import UnsupportedLanguage, detect_language, fold_language
from valuealign.records import split_lines
from valuealign.values.taxonomy import Taxonomy, get_taxonomy

__all__ = [
    "EXTRA_FILES",
    "HELDOUT_PREFIX",
    "SHIPPED_FILES",
    "TEST_PERCENT",
    "TRAIN_PREFIX",
    "TRAIN_PREFIXES",
    "LabelledItem",
    "LabelledSet",
    "extra_labelled_path",
    "extra_labelled_paths",
    "load_labelled",
    "shipped_labelled_paths",
    "split_of",
    "training_set",
]

TEST_PERCENT = 25
"""Share (in percent) of items that :func:`split_of` puts in the held-out "test" part."""

SHIPPED_FILES = ("en.jsonl", "zh.jsonl", "heldout.jsonl")
"""Files of ``data/values/labelled/``: the two hashed-split sets and the held-out extension."""

EXTRA_FILES = ("extra.jsonl", "balanced.jsonl", "implicit.jsonl", "more.jsonl")
"""Training-only files of ``data/values/extra/`` (ids ``x-...``, and ``m-...`` in ``more.jsonl``),
added by :func:`training_set`."""

HELDOUT_PREFIX = "h-"
"""Ids with this prefix are always in the "test" split (the held-out extension)."""

TRAIN_PREFIX = "x-"
"""Ids with this prefix are always in the "train" split (the first training-only extra sets)."""

TRAIN_PREFIXES = (TRAIN_PREFIX, "m-")
"""Every id prefix that is always "train": ``x-`` and ``m-`` (``extra/more.jsonl``)."""

Split = Literal["train", "test", "all"]


def split_of(item_id: str) -> Literal["train", "test"]:
    """ "test" for ``h-`` ids, "train" for ``x-`` and ``m-`` ids; otherwise "test" for about
    :data:`TEST_PERCENT` % of ids (by SHA-256 of the id), else "train"."""
    if item_id.startswith(HELDOUT_PREFIX):
        return "test"
    if item_id.startswith(TRAIN_PREFIXES):
        return "train"
    digest = hashlib.sha256(item_id.encode("utf-8")).digest()
    return "test" if int.from_bytes(digest[:8], "big") % 100 < TEST_PERCENT else "train"


@dataclass(frozen=True)
class LabelledItem:
    """One labelled text. ``labels`` holds the non-zero labels only (value id -> -1 or +1)."""

    id: str
    text: str
    language: str
    labels: Mapping[str, int]
    source: str = ""

    @property
    def split(self) -> Literal["train", "test"]:
        return split_of(self.id)

    def vector(self, taxonomy: Taxonomy) -> np.ndarray:
        """Labels as an int vector over ``taxonomy`` (0 for values not listed)."""
        out = np.zeros(len(taxonomy), dtype=np.int64)
        for value, label in self.labels.items():
            out[taxonomy.values.index(value)] = label
        return out


@dataclass(frozen=True)
class LabelledSet:
    """A list of :class:`LabelledItem` over one taxonomy, with matrix views."""

    items: tuple[LabelledItem, ...]
    taxonomy: Taxonomy
    sources: tuple[str, ...] = field(default=())

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[LabelledItem]:
        return iter(self.items)

    @property
    def texts(self) -> list[str]:
        return [it.text for it in self.items]

    @property
    def languages(self) -> list[str]:
        return [it.language for it in self.items]

    @property
    def ids(self) -> list[str]:
        return [it.id for it in self.items]

    @property
    def labels(self) -> np.ndarray:
        """Gold labels, int array of shape (n, K) with entries in {-1, 0, 1}."""
        if not self.items:
            return np.zeros((0, len(self.taxonomy)), dtype=np.int64)
        return np.stack([it.vector(self.taxonomy) for it in self.items])

    def split(self, part: Split) -> LabelledSet:
        """The "train" or "test" part by :func:`split_of`, or everything for "all"."""
        if part == "all":
            return self
        if part not in ("train", "test"):
            raise UserError(f"unknown split {part!r}", fix="use train, test or all")
        return LabelledSet(
            tuple(it for it in self.items if it.split == part), self.taxonomy, self.sources
        )

    def where(self, language: str) -> LabelledSet:
        """Only the items in ``language``."""
        return LabelledSet(
            tuple(it for it in self.items if it.language == language), self.taxonomy, self.sources
        )

    def fingerprint(self) -> str:
        """SHA-256 over ids, texts, languages and labels (names a model trained on this set)."""
        h = hashlib.sha256(self.taxonomy.id.encode())
        for it in self.items:
            row = [it.id, it.text, it.language, sorted(it.labels.items())]
            h.update(json.dumps(row, ensure_ascii=False).encode("utf-8"))
        return h.hexdigest()


def shipped_labelled_paths() -> list[Path]:
    """Paths of the shipped labelled files that exist (en.jsonl, zh.jsonl, heldout.jsonl)."""
    root = resources.files("valuealign") / "data" / "values" / "labelled"
    paths = []
    for name in SHIPPED_FILES:
        entry = root / name
        if entry.is_file():
            paths.append(Path(str(entry)))
    return paths


def extra_labelled_path() -> Path:
    """The extra training-only set (``data/values/extra/extra.jsonl``, ids ``x-...``).

    Written for the learned detector: mostly oppose-direction items, half of them Chinese. It is
    never part of the held-out split: :func:`training_set` adds all of it to the train part.
    """
    return Path(str(resources.files("valuealign") / "data" / "values" / "extra" / "extra.jsonl"))


def extra_labelled_paths() -> list[Path]:
    """Every training-only file of ``data/values/extra/`` (:data:`EXTRA_FILES`) that exists.

    ``extra.jsonl`` (60 texts, mostly oppose-direction), ``balanced.jsonl`` (404 texts, 202 per
    language, every value with at least 8 promote and 8 oppose examples per language, a fifth
    without any value) and ``implicit.jsonl`` (228 texts, 114 per language, values mostly
    without their keywords, keywords in neutral texts) and ``more.jsonl`` (ids ``m-...``,
    641 texts, 321 en and 320 zh, values mostly implicit, every value at least 12 promote and 12
    oppose examples per language). All are written for this project; see
    ``data/values/NOTICE.md``.
    """
    root = resources.files("valuealign") / "data" / "values" / "extra"
    return [Path(str(root / n)) for n in EXTRA_FILES if (root / n).is_file()]


def training_set(*, extra: bool = True, taxonomy: Taxonomy | str = "schwartz10") -> LabelledSet:
    """The shipped set's train split, plus (``extra=True``) every item of the extra sets."""
    if not extra:
        return load_labelled(taxonomy=taxonomy).split("train")
    every = load_labelled([*shipped_labelled_paths(), *extra_labelled_paths()], taxonomy=taxonomy)
    items = tuple(it for it in every if it.split == "train")
    return LabelledSet(items, every.taxonomy, every.sources)


def load_labelled(
    path: str | Path | Sequence[str | Path] | None = None,
    *,
    taxonomy: Taxonomy | str = "schwartz10",
) -> LabelledSet:
    """Load the shipped set (``path=None``: both files) or one or more JSONL files."""
    tax = get_taxonomy(taxonomy)
    if path is None:
        paths = shipped_labelled_paths()
        if not paths:
            raise UserError(
                "the shipped labelled value set is missing from this installation",
                fix="reinstall valuealign, or pass --data FILE.jsonl",
            )
    elif isinstance(path, str | Path):
        paths = [Path(path)]
    else:
        paths = [Path(p) for p in path]
    items: list[LabelledItem] = []
    seen: dict[str, str] = {}
    for p in paths:
        for item, where in _read_file(p, tax):
            if item.id in seen:
                raise UserError(
                    f"{where}: duplicate id {item.id!r} (first at {seen[item.id]})",
                    fix="give every item a unique id",
                )
            seen[item.id] = where
            items.append(item)
    return LabelledSet(tuple(items), tax, tuple(str(p) for p in paths))


def _read_file(path: Path, tax: Taxonomy) -> Iterator[tuple[LabelledItem, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file", fix="check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read ({exc})", fix="pass a UTF-8 JSONL file") from None
    fix_schema = (
        'one JSON object per line: {"id": str, "text": str, "language": "zh"|"en", '
        '"values": {value-id: -1|1}}'
    )
    for lineno, line in enumerate(split_lines(text.removeprefix("\ufeff")), start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"{where}: invalid JSON ({exc.msg})", fix=fix_schema) from None
        if not isinstance(row, dict):
            raise UserError(f"{where}: expected a JSON object", fix=fix_schema)
        missing = [k for k in ("id", "text", "values") if k not in row]
        if missing:
            raise UserError(f"{where}: missing field(s) {', '.join(missing)}", fix=fix_schema)
        item_id, body, lang = row["id"], row["text"], row.get("language")
        if not isinstance(item_id, str) or not item_id.strip():
            raise UserError(f"{where}: 'id' must be a non-empty string", fix=fix_schema)
        if not isinstance(body, str) or not body.strip():
            raise UserError(f"{where}: 'text' must be a non-empty string", fix=fix_schema)
        if lang is None:
            lang = detect_language(body)
        try:
            if not isinstance(lang, str):
                raise UnsupportedLanguage(lang)
            lang = fold_language(lang, strict=True)
        except UnsupportedLanguage:
            raise UserError(
                f"{where}: 'language' must be 'zh' or 'en', not {lang!r}", fix=fix_schema
            ) from None
        values = row["values"]
        if not isinstance(values, dict):
            raise UserError(f"{where}: 'values' must be an object", fix=fix_schema)
        labels: dict[str, int] = {}
        named: set[str] = set()
        for name, label in values.items():
            value = tax.resolve(str(name), context=f"{where}: ")
            if isinstance(label, bool) or label not in (-1, 0, 1):
                raise UserError(
                    f"{where}: label {label!r} for {name!r} is not -1, 0 or 1", fix=fix_schema
                )
            if value in named:
                raise UserError(f"{where}: value {value!r} is labelled twice", fix=fix_schema)
            named.add(value)
            if label != 0:
                labels[value] = int(label)
        yield LabelledItem(item_id, body, lang, labels, where), where
