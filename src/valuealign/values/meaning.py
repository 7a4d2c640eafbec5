"""Meaning kept: embedding similarity, checked for the small edits that embeddings miss.

A sentence and its negation, or the same sentence with another number or with its actors
swapped, sit closer together in every embedding space we have than a sentence and its
reworded paraphrase (see benchmarks/meaning_preservation.py: AUC 0.10-0.27). A rewrite that
must keep the meaning needs those edits caught. :class:`MeaningMeasure` combines three parts:

* **similarity**: :class:`~valuealign.values.similarity.MultilingualSimilarity` (Qwen2.5 0.5B
  mean-pooled vectors, rescaled so unrelated text sits near 0), for Chinese, English and mixed
  text: it separates related from unrelated text;
* **conflict cues** (no model): a *changed number* (the original has a number the rewrite lacks
  **and** the rewrite has a number the original lacks: a substitution, not a dropped figure;
  digits, English number words and Chinese numerals are read as values, so "12000" and "一万两千"
  or "two" and "2" agree), a *flipped polarity* (the count of negation markers, English words
  and Chinese characters such as 不/没/无/未/非/别/勿 and 禁止/反对/拒绝, differs in parity) and a
  *swapped antonym* (one text has "more", "open", "approve", 增加, 开放, 批准 ... where the other
  has its opposite, from a short bilingual list). Each cue found multiplies the score by
  ``cue_factor`` (0.4). Key phrases and names reworded by a paraphrase are not conflicts: a
  paraphrase may say "the firm" for "the company";
* **same-meaning judge** (optional, ``judge=``): a local chat model with next-token
  log-probabilities (``ct2/`` or ``hf/`` backends: ``choice_logprobs``) asked, in the pair's
  language, whether the two texts state the same facts (the same people doing the same things,
  the same numbers, the same yes or no), answering Yes/No (是/否); ``p_same`` is P(Yes) /
  (P(Yes) + P(No)). The score is multiplied by ``p_same ** judge_power``. This is the only part
  that can see a swap of actors ("Tom lent Maria his car" / "Maria lent Tom her car"); how much
  a 0.5B model sees is measured, not assumed.

``score = similarity x cue_factor ** (number of cues) x p_same ** judge_power`` in [0, 1]; an
identical text scores 1 and an empty one 0. :meth:`MeaningMeasure.check` returns every part
(:class:`MeaningCheck`). It has the similarity interface (``similarity(a, b)``), so the VISA
reward and shield use it as ``similarity: meaning``.

>>> m = MeaningMeasure()
>>> m.check("The council approved 2 million dollars.", "The council approved 9 million dollars.")
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from valuealign.values.facts import extract_facts
from valuealign.values.similarity import MultilingualSimilarity, normalise_text

__all__ = [
    "MeaningCheck",
    "MeaningMeasure",
    "conflict_cues",
    "negation_count",
    "numbers_in",
    "same_meaning_messages",
]

_EN_NEGATION = re.compile(
    r"\b(?:not|no|never|none|nobody|nothing|neither|nor|cannot|without)\b|n't\b",
    re.IGNORECASE,
)
# single characters that negate in most uses, minus common words in which they do not (不断
# "continuously", 非常 "very", 别人 "others", 特别 "especially", 未来 "future", 无论 "no matter")
_ZH_NEGATION = re.compile(
    r"不(?![断少错仅但过久管])"
    r"|(?<![是])非(?!常)"
    r"|(?<![特区分类级告性个识辨差])别(?![人的])"
    r"|未(?!来)"
    r"|无(?!论)"
    r"|没|勿|禁止|反对|拒绝"
)


def negation_count(text: str) -> int:
    """Negation markers in ``text`` (English words and Chinese characters/words)."""
    return len(_EN_NEGATION.findall(text)) + len(_ZH_NEGATION.findall(text))


_EN_UNITS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen".split()
    )
}
_EN_TENS = {w: 10 * i for i, w in enumerate("_ _ twenty thirty forty fifty sixty seventy "
                                              "eighty ninety".split()) if w != "_"}  # fmt: skip
_EN_SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}
_EN_NUMBER_RE = re.compile(
    r"\b(?:" + "|".join([*_EN_UNITS, *_EN_TENS]) + r")(?:-(?:" + "|".join(_EN_UNITS) + r"))?"
    r"(?:\s+(?:" + "|".join(_EN_SCALES) + r"))?\b",
    re.IGNORECASE,
)
_ZH_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"两": 2}
_ZH_SCALES = {"十": 10, "百": 100, "千": 1000, "万": 10**4, "亿": 10**8}
# a run of Chinese numerals: two characters or more, or one (not 一, too common in words)
# followed by a measure word or unit
_ZH_NUMBER_RE = re.compile(
    "[零一二两三四五六七八九十百千万亿]{2,}|[二两三四五六七八九十](?=[个名位年月日天次岁元块号点分秒人本条只家层倍])"
)


_SCALE_OF = {**_EN_SCALES, **_ZH_SCALES}
_SCALED_DIGITS_RE = re.compile(
    r"(\d+(?:,\d{3})*(?:\.\d+)?)\s?(hundred|thousand|million|billion|百|千|万|亿)", re.IGNORECASE
)


def _zh_value(run: str) -> int:
    """The value of a run of Chinese numerals (一万两千 -> 12000, 两百万 -> 2000000)."""
    total = section = digit = 0
    for ch in run:
        if ch in _ZH_DIGITS:
            digit = _ZH_DIGITS[ch]
        elif ch in ("万", "亿"):
            total += (section + digit) * _ZH_SCALES[ch]
            section = digit = 0
        else:
            section += (digit or 1) * _ZH_SCALES[ch]
            digit = 0
    return total + section + digit


def _en_value(words: str) -> int:
    parts = words.lower().replace("-", " ").split()
    value = sum(_EN_UNITS.get(w, 0) + _EN_TENS.get(w, 0) for w in parts)
    for w in parts:
        if w in _EN_SCALES:
            value *= _EN_SCALES[w]
    return value


def numbers_in(text: str, language: str | None = None) -> set[str]:
    """Numbers in ``text``: digits (as :func:`valuealign.values.facts.extract_facts` reads them),
    English number words (two, forty-two, three hundred) and Chinese numerals (四十, 两百万,
    三个), all as normalised digit strings; a number with a scale word is there both ways
    ("2 million": "2" and "2000000"), so two spellings of one amount share a value."""
    found = set(extract_facts(text, language, max_phrases=1).numbers)
    for m in _EN_NUMBER_RE.finditer(text):
        found.add(str(_en_value(m.group(0))))
        found.add(str(_en_value(m.group(0).split()[0])))  # "two million" also as "two"
    found |= {str(_zh_value(m.group(0))) for m in _ZH_NUMBER_RE.finditer(text)}
    # a digit number with a scale word ("2 million", "2000万") also as its full value
    for m in _SCALED_DIGITS_RE.finditer(text):
        value = float(m.group(1).replace(",", "")) * _SCALE_OF[m.group(2).lower()]
        found.add(str(int(value)) if value == int(value) else str(value))
    return found


# pairs of opposite words: a rewrite that has one where the original has the other (and not
# the word itself) reverses a claim without any negation marker
_ANTONYMS = [
    ("more", "less"), ("more", "fewer"), ("increase", "decrease"),
    ("rise|rose|risen", "fall|fell|fallen"), ("raise", "lower"), ("open", "closed"),
    ("hire", "fire"), ("win|won", "lose|lost"),
    ("allow", "forbid"), ("accept", "reject"), ("approve", "reject"), ("support", "oppose"),
    ("safe", "dangerous"), ("legal", "illegal"), ("before", "after"),
    ("更多", "更少"), ("增加", "减少"), ("上升", "下降"), ("上涨", "下跌"), ("开放", "关闭"),
    ("开放", "闭馆"), ("招聘", "裁员"), ("雇用", "解雇"), ("赢", "输"), ("允许", "禁止"),
    ("接受", "拒绝"), ("批准", "否决"), ("支持", "反对"), ("安全", "危险"), ("合法", "违法"),
    ("之前", "之后"),
]  # fmt: skip


def _has(text: str, word: str) -> bool:
    """``word`` (forms separated by "|"; English ones with regular endings) occurs in text."""
    forms = word.split("|")
    if word.isascii():
        alternatives = "|".join(re.escape(f) for f in forms)
        pattern = rf"\b(?:{alternatives})(?:s|es|d|ed|ing|er|ers)?\b"
        return re.search(pattern, text, re.IGNORECASE) is not None
    return any(f in text for f in forms)


def antonym_flip(original: str, rewrite: str) -> bool:
    """True when one text has a word and the other its opposite (see :data:`_ANTONYMS`), and
    neither has both."""
    for x, y in _ANTONYMS:
        for a, b in ((x, y), (y, x)):
            if (
                _has(original, a)
                and not _has(original, b)
                and _has(rewrite, b)
                and not _has(rewrite, a)
            ):
                return True
    return False


def conflict_cues(original: str, rewrite: str, language: str | None = None) -> list[str]:
    """The conflict cues between two texts: "number", "negation" and/or "antonym" (module
    docstring)."""
    cues = []
    before, after = numbers_in(original, language), numbers_in(rewrite, language)
    if before - after and after - before:
        cues.append("number")
    if negation_count(original) % 2 != negation_count(rewrite) % 2:
        cues.append("negation")
    if antonym_flip(original, rewrite):
        cues.append("antonym")
    return cues


_JUDGE = {
    "en": (
        "Text A: {a}\n\nText B: {b}\n\n"
        "Do A and B state the same facts: the same people or groups doing the same things to "
        "the same others, the same numbers, and the same yes or no? Rewording does not matter. "
        "Answer with one word, Yes or No."
    ),
    "zh": (
        "文本A：{a}\n\n文本B：{b}\n\n"
        "A和B陈述的事实是否相同：同样的人或群体对同样的对象做同样的事、同样的数字、同样的肯定或否定？"
        "措辞不同没有关系。只用一个字回答：是 或 否。"
    ),
}
_CHOICES = {"en": ("Yes", "No"), "zh": ("是", "否")}


def same_meaning_messages(a: str, b: str, language: str) -> list[dict[str, str]]:
    """The judge's chat for the pair (a, b) in ``language`` ("zh" or anything else: English)."""
    lang = "zh" if language == "zh" else "en"
    return [{"role": "user", "content": _JUDGE[lang].format(a=a.strip(), b=b.strip())}]


@dataclass(frozen=True)
class MeaningCheck:
    """Every part of one pair's score."""

    similarity: float
    cues: tuple[str, ...]
    p_same: float | None
    score: float

    def to_json(self) -> dict[str, Any]:
        return {
            "similarity": round(self.similarity, 4),
            "cues": list(self.cues),
            "p_same": None if self.p_same is None else round(self.p_same, 4),
            "score": round(self.score, 4),
        }


@dataclass
class MeaningMeasure:
    """Similarity x conflict cues x (optional) same-meaning judge; see the module docstring.

    ``judge`` is a backend with ``choice_logprobs`` (``ct2/...`` or ``hf/...``) or a spec
    string for :func:`valuealign.backends.get_backend`; None leaves the judge out.
    """

    similarity_model: Any = None
    judge: Any = None
    cue_factor: float = 0.4
    judge_power: float = 1.0
    _judge_cache: dict[tuple[str, str, str], float] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.cue_factor <= 1.0:
            raise ValueError(f"cue_factor must be in [0, 1], got {self.cue_factor}")
        if self.judge_power < 0:
            raise ValueError(f"judge_power must be >= 0, got {self.judge_power}")
        if self.similarity_model is None:
            self.similarity_model = MultilingualSimilarity()
        if isinstance(self.judge, str):
            from valuealign.backends import get_backend

            self.judge = get_backend(self.judge)
        if self.judge is not None and not callable(getattr(self.judge, "choice_logprobs", None)):
            from valuealign.errors import UserError

            raise UserError(
                f"the meaning judge {getattr(self.judge, 'name', self.judge)!r} gives no "
                "next-token log-probabilities",
                fix="use a local model (ct2/NAME or hf/NAME) or leave the judge out",
            )

    def p_same(self, a: str, b: str, language: str | None = None) -> float:
        """P(the judge answers that A and B state the same facts), in [0, 1]; cached."""
        from valuealign.lang import detect_language

        lang = "zh" if (language or detect_language(a)) == "zh" else "en"
        key = (a, b, lang)
        if key not in self._judge_cache:
            yes, no = _CHOICES[lang]
            logp = self.judge.choice_logprobs(same_meaning_messages(a, b, lang), "", [yes, no])
            top = max(logp[yes], logp[no])
            py, pn = math.exp(logp[yes] - top), math.exp(logp[no] - top)
            self._judge_cache[key] = py / (py + pn)
        return self._judge_cache[key]

    def check(self, original: str, rewrite: str, language: str | None = None) -> MeaningCheck:
        """The parts and the score of one pair."""
        if not original.strip() or not rewrite.strip():
            return MeaningCheck(0.0, (), None, 0.0)
        if normalise_text(original) == normalise_text(rewrite):
            return MeaningCheck(1.0, (), None if self.judge is None else 1.0, 1.0)
        sim = float(self.similarity_model.similarity(original, rewrite))
        cues = tuple(conflict_cues(original, rewrite, language))
        score = sim * self.cue_factor ** len(cues)
        p = None
        if self.judge is not None:
            p = self.p_same(original, rewrite, language)
            score *= p**self.judge_power
        return MeaningCheck(sim, cues, p, float(min(1.0, max(0.0, score))))

    def similarity(self, a: str, b: str) -> float:
        """The score alone (the similarity interface the VISA reward and shield call)."""
        return self.check(a, b).score

    def matrix(self, texts: Sequence[str]) -> np.ndarray:
        """Pairwise scores (n, n); diagonal 1. Not symmetric when the judge is used."""
        texts = list(texts)
        out = np.eye(len(texts))
        for i, a in enumerate(texts):
            for j, b in enumerate(texts):
                if i != j:
                    out[i, j] = self.check(a, b).score
        return out
