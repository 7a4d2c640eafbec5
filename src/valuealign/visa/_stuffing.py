"""Value-word stuffing: text a rewrite adds that is little more than a list of value words.

The cheapest way to move a keyword-based value detector is to append its words to an unchanged
answer ("... repair Oak Street. tradition tradition customs heritage ancestors safety security").
Such an insertion keeps every fact and nearly all of the meaning, so neither the meaning measure
nor the fact check can object to it; what gives it away is that it carries no statement: it is
made mostly of value words and has none of the function words that join words into a sentence.

:func:`stuffed_spans` finds it. The rewrite is aligned with the original token by token (Latin
words, CJK characters, digits, punctuation; :class:`difflib.SequenceMatcher`), and each run of
inserted or replaced tokens is judged on its own. A run is **stuffing** when

* at least ``min_hits`` (3) terms of the bilingual value lexicon
  (:mod:`valuealign.values.schwartz`, either direction, any value, matched as the keyword
  detector matches them: :func:`~valuealign.visa._values.value_terms_pattern`) occur in it,
* they cover at least ``min_coverage`` (60%) of its word-like units (Latin words + CJK characters
  / 1.5, like :func:`~valuealign.values.detector.text_length` but Latin-script words only and
  without its floor of 1), and
* under ``max_function_share`` (15%) of its words are function words (articles, prepositions,
  auxiliaries, pronouns; for Chinese, particles and function characters such as 的 了 是 在 和
  与 将 把 被).

A rewrite that carries the target in a sentence ("Honouring the customs handed down by earlier
generations, the council ...") has function words and a low value-word coverage, so it is left
alone; on the shipped labelled texts, written as natural value-laden prose, no run is flagged
(tests/visa/test_visa_stuffing.py). The reward (:mod:`valuealign.visa.reward`) measures the
value vector of the rewrite **without** the stuffed runs (value credit only where the change
carries the value in a statement) and counts each run as a format artifact.

It is a rule against the known hack, not a proof against every one: a policy can still learn to
wrap value words in filler sentences, which the detector's own quality must catch.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from valuealign.lang import CJK_RE
from valuealign.visa._values import value_terms_pattern

__all__ = ["StuffingRule", "strip_stuffing", "stuffed_spans"]

_TOKEN_RE = re.compile(
    r"[A-Za-z\u00c0-\u024f]+(?:['’-][A-Za-z\u00c0-\u024f]+)*"  # a Latin word
    r"|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"  # one CJK character
    r"|\d+(?:[.,]\d+)*"  # a number
    r"|[^\sA-Za-z\u00c0-\u024f\d\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"  # one other symbol
)
_WORD_RE = re.compile(r"[A-Za-z\u00c0-\u024f]+(?:['’-][A-Za-z\u00c0-\u024f]+)*")

EN_FUNCTION_WORDS = frozenset(
    """a an the this that these those there here it its it's they them their we us our you your
    he him his she her i me my of in on at to for from by with about into onto over under
    between through during before after above below against among within without upon as than
    and or but nor so yet if because while although though since unless whether when where
    which who whom whose what how why is are was were be been being am do does did done have
    has had having will would shall should can could may might must not no also too very just
    only even still such all any each every both either neither some more most less much many
    other another own same then once again ever never""".split()
)
ZH_FUNCTION_CHARS = frozenset(
    "的了是在和与及或也都就而并且把被让对从向以为于之其所这那个们着过将会能要可不没很更最还又再"
    "已但如果因所虽然然即便就是吗呢吧啊他她它我你您该此些每各某何谁哪么如若则乃亦即"
)


@dataclass(frozen=True)
class StuffingRule:
    """The thresholds of :func:`stuffed_spans` (see the module docstring)."""

    min_hits: int = 3
    min_coverage: float = 0.6
    max_function_share: float = 0.15


def _words(text: str) -> list[str]:
    return _WORD_RE.findall(text)


def _units(text: str) -> float:
    """Word-like units: Latin words + CJK characters / 1.5."""
    return len(_words(text)) + len(CJK_RE.findall(text)) / 1.5


def _tokens(text: str) -> list[tuple[str, int, int]]:
    return [(m.group(0).lower(), m.start(), m.end()) for m in _TOKEN_RE.finditer(text)]


def _is_stuffing(span: str, rule: StuffingRule) -> bool:
    units = _units(span)
    if units <= 0:
        return False
    hits = 0
    covered = 0.0
    for language in ("en", "zh"):
        for m in value_terms_pattern(language).finditer(span):
            hits += 1
            covered += _units(m.group(0))
    if hits < rule.min_hits or covered / units < rule.min_coverage:
        return False
    words = _words(span)
    chars = CJK_RE.findall(span)
    function = sum(w.lower() in EN_FUNCTION_WORDS for w in words) + sum(
        c in ZH_FUNCTION_CHARS for c in chars
    )
    return function / (len(words) + len(chars)) < rule.max_function_share


def stuffed_spans(
    original: str, rewrite: str, rule: StuffingRule | None = None
) -> list[tuple[int, int]]:
    """Character spans of ``rewrite`` that are value-word stuffing (module docstring)."""
    rule = rule or StuffingRule()
    a, b = _tokens(original), _tokens(rewrite)
    if not b:
        return []
    matcher = difflib.SequenceMatcher(None, [t for t, _, _ in a], [t for t, _, _ in b], False)
    runs: list[tuple[int, int]] = []
    for tag, _i1, _i2, j1, j2 in matcher.get_opcodes():
        if tag in ("insert", "replace") and j2 > j1:
            if runs and j1 - runs[-1][1] <= 1:  # one kept token between two insertions
                runs[-1] = (runs[-1][0], j2)
            else:
                runs.append((j1, j2))
    spans = []
    for j1, j2 in runs:
        start, end = b[j1][1], b[j2 - 1][2]
        if _is_stuffing(rewrite[start:end], rule):
            spans.append((start, end))
    return spans


def strip_stuffing(
    original: str, rewrite: str, rule: StuffingRule | None = None
) -> tuple[str, list[str]]:
    """``rewrite`` without its stuffed spans, and the spans removed (as text)."""
    spans = stuffed_spans(original, rewrite, rule)
    if not spans:
        return rewrite, []
    kept, removed, at = [], [], 0
    for start, end in spans:
        kept.append(rewrite[at:start])
        removed.append(rewrite[start:end])
        at = end
    kept.append(rewrite[at:])
    text = re.sub(r"[ \t]{2,}", " ", "".join(kept)).strip()
    return text, removed
