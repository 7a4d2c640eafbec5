"""Step 6, privacy: mask e-mail addresses, phone numbers and ID-like numbers.

Masks replace the match with a tag, so the sentence still reads: ``[EMAIL]``, ``[PHONE]``,
``[ID]`` and ``[CARD]``. What counts:

- e-mail addresses;
- PRC resident ID numbers: 18 digits (the last may be X) with a valid birth date and a valid
  ISO 7064 check digit, and the older 15-digit form with a valid date; Hong Kong identity card
  numbers (``A123456(7)``); US social security numbers written ``123-45-6789``;
- payment card numbers: 13-19 digits (spaces or dashes allowed) that pass the Luhn check;
- phone numbers: mainland Chinese mobiles (``138 1234 5678``, ``+86 13812345678``), Chinese
  landlines with an area code (``010-12345678``), international numbers with a ``+`` or ``00``
  country prefix (at least 8 digits), and North American ``(212) 555-0100`` forms.

Numbers that merely look similar (an 18-digit ID whose check digit is wrong, a year range, a
price) are left alone. Passes run e-mail first, then IDs, cards and phones, so an address like
``13812345678@qq.com`` is one ``[EMAIL]``.

>>> mask_pii("Call +86 138 1234 5678 or mail li.lei@example.cn")
('Call [PHONE] or mail [EMAIL]', {'email': 1, 'phone': 1})
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from datetime import date

from valuealign.curate.steps import Document, Step

_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"
)
_PRC18 = re.compile(
    r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9A-Za-z])"
)
_PRC15 = re.compile(
    r"(?<![0-9A-Za-z])[1-9]\d{5}\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}(?![0-9A-Za-z])"
)
_HKID = re.compile(r"(?<![0-9A-Za-z])[A-Z]{1,2}\d{6}\([0-9A]\)")
_SSN = re.compile(r"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])")
_CARD = re.compile(r"(?<![\d-])[3-6]\d{3}(?:[ -]?\d){9,15}(?![\d-])")
_CN_MOBILE = re.compile(r"(?<![\d+])(?:(?:\+|00)86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?![\d])")
_CN_LANDLINE = re.compile(r"(?<![\d+])(?:\(0\d{2,3}\)[ ]?|0\d{2,3}-)\d{7,8}(?![\d])")
_INTL = re.compile(
    r"(?<![\w+])(?:\+|00)[1-9]\d{0,2}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){1,4}(?![\d])"
)
_NANP = re.compile(r"(?<![\d+])(?:\(\d{3}\)[ ]?|\d{3}[.-])\d{3}[.-]\d{4}(?![\d])")

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def prc_id_valid(number: str) -> bool:
    """An 18-digit PRC resident ID with a real birth date and the right check digit."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _WEIGHTS, strict=True))
    return _CHECK[total % 11] == number[17].upper()


def _prc15_valid(number: str) -> bool:
    try:
        date(1900 + int(number[6:8]), int(number[8:10]), int(number[10:12]))
    except ValueError:
        return False
    return True


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _digits(s: str) -> str:
    return "".join(ch for ch in s if ch.isdigit())


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


@functools.cache
def _bmp_digit() -> re.Pattern:
    """One BMP character for which ``str.isdigit`` holds, as a class of ranges (``re`` compiles
    a class of BMP ranges into a bitmap: one look-up per character)."""
    runs: list[list[int]] = []
    for c in range(1 << 16):
        if chr(c).isdigit():
            if runs and runs[-1][1] == c - 1:
                runs[-1][1] = c
            else:
                runs.append([c, c])
    body = "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in runs)
    return re.compile(f"[{body}]")


def has_digits(text: str, n: int) -> bool:
    """At least ``n`` characters for which ``str.isdigit`` holds: for ASCII text, the ASCII
    digits (deleted from its bytes, the length difference); for text within the BMP, one
    pattern scan; otherwise ``str.isdigit`` on each character."""
    if text.isascii():
        raw = text.encode("ascii")
        return len(raw) - len(raw.translate(None, b"0123456789")) >= n
    if _ASTRAL.search(text) is None:
        return len(_bmp_digit().findall(text)) >= n
    return sum(map(str.isdigit, text)) >= n


def mask_pii(text: str) -> tuple[str, dict[str, int]]:
    """Return the masked text and how many of each kind were masked."""
    counts: Counter = Counter()

    def sub(pattern: re.Pattern, kind: str, tag: str, valid=None) -> None:
        nonlocal text

        def repl(m: re.Match) -> str:
            if valid is not None and not valid(m.group(0)):
                return m.group(0)
            counts[kind] += 1
            return tag

        text = pattern.sub(repl, text)

    if "@" in text:
        sub(_EMAIL, "email", "[EMAIL]")
    if has_digits(text, 7):
        sub(_PRC18, "id", "[ID]", prc_id_valid)
        sub(_PRC15, "id", "[ID]", _prc15_valid)
        sub(_HKID, "id", "[ID]")
        sub(_SSN, "id", "[ID]")
        sub(
            _CARD,
            "card",
            "[CARD]",
            lambda s: 13 <= len(_digits(s)) <= 19 and luhn_valid(_digits(s)),
        )
        sub(_CN_MOBILE, "phone", "[PHONE]")
        sub(_CN_LANDLINE, "phone", "[PHONE]")
        sub(_INTL, "phone", "[PHONE]", lambda s: len(_digits(s)) >= 8)
        sub(_NANP, "phone", "[PHONE]")
    return text, dict(sorted(counts.items()))


class PrivacyStep(Step):
    """Mask personal data in place; never drops a document."""

    name = "privacy"

    def __init__(self) -> None:
        super().__init__()
        self.masked: Counter = Counter()
        self.counts.extra["masked"] = self.masked

    def process(self, doc: Document) -> tuple[str, str] | None:
        text, found = mask_pii(doc.text)
        if found:
            doc.text = text
            self.masked.update(found)
            self.masked["documents"] += 1
        return None
