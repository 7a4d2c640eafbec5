"""The bilingual basics: the two languages, folding a language tag, detecting one, and a
bilingual text.

valuealign works in Chinese and English. Every module that takes a language tag folds it here,
with an explicit choice of what to do with a tag that is neither:

* ``strict=True``: raise :class:`UnsupportedLanguage` (a :class:`~valuealign.errors.UserError`
  and a ``ValueError``) naming the tag;
* ``strict=False``: take a default (``"en"`` unless told), for prompt tables that have only the
  two languages and must pick one.

A tag folds by its prefix, case-insensitively: ``zh``, ``zh-CN``, ``zh_Hans``, ``ZH`` and ``zho``
are Chinese; ``en``, ``en-US`` and ``eng`` are English.

>>> fold_language("zh-CN", strict=True)
'zh'
>>> fold_language("fr", strict=False)
'en'
>>> detect_language("我们应当尊重祖先留下的习俗。")
'zh'
>>> Bilingual(zh="你好", en="hello").get("en")
'hello'
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict

from valuealign.errors import UserError

__all__ = [
    "CJK_RE",
    "LANGS",
    "Bilingual",
    "Language",
    "UnsupportedLanguage",
    "cjk_share",
    "detect_language",
    "fold_language",
    "language_of",
]

Language = Literal["zh", "en"]
LANGS: tuple[Language, ...] = ("zh", "en")

# CJK ideographs: the unified block, extension A, the compatibility block and the supplementary
# planes' extensions.
CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
DETECT_THRESHOLD = 0.3


class UnsupportedLanguage(UserError, ValueError):
    """A language tag that is neither Chinese nor English (strict folding)."""

    def __init__(self, language: object) -> None:
        super().__init__(f"unsupported language {language!r}", fix="use 'zh' or 'en'")
        self.language = language


def _prefix(language: object) -> Language | None:
    tag = str(language).strip().lower()
    if tag.startswith("zh"):
        return "zh"
    if tag.startswith("en"):
        return "en"
    return None


def fold_language(language: object, *, strict: bool, default: Language = "en") -> Language:
    """``language`` folded to "zh" or "en" by its prefix.

    A tag that is neither (also None or blank) raises :class:`UnsupportedLanguage` when
    ``strict``, and gives ``default`` otherwise.
    """
    code = None if language is None else _prefix(language)
    if code is not None:
        return code
    if strict:
        raise UnsupportedLanguage(language)
    return default


def cjk_share(text: str) -> float:
    """Share of CJK ideographs among the letters of ``text`` (0.0 when it has no letters)."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return 0.0
    return sum(1 for ch in letters if CJK_RE.match(ch)) / len(letters)


def detect_language(text: str, threshold: float = DETECT_THRESHOLD) -> Language:
    """ "zh" when at least ``threshold`` of the letters are CJK ideographs, else "en".

    Chinese packs a word into one or two characters, so a modest share already means the text
    is mainly Chinese.
    """
    return "zh" if cjk_share(text) >= threshold else "en"


def language_of(text: str, language: object = None, *, strict: bool) -> Language:
    """``language`` folded, or the language detected from ``text`` when it is None or blank.

    A tag that is neither zh nor en raises when ``strict``; otherwise the text decides.
    """
    if language is None or not str(language).strip():
        return detect_language(text or "")
    code = _prefix(language)
    if code is not None:
        return code
    if strict:
        raise UnsupportedLanguage(language)
    return detect_language(text or "")


class Bilingual(BaseModel):
    """One piece of text in Chinese and/or English (``{zh: ..., en: ...}`` in YAML and JSON).

    Which languages must be filled is the container's business (a charter checks its declared
    languages, a benchmark the languages a run asks for).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    zh: str | None = None
    en: str | None = None

    def get(self, language: str) -> str:
        """The text in ``language``; KeyError when it has none."""
        value = getattr(self, language, None) if language in LANGS else None
        if not value:
            raise KeyError(f"no {language!r} text")
        return value
