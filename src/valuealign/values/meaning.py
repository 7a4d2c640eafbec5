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
  has its opposite, from a short bilingual list) and *swapped roles* (the rewrite is the
  original with two names or nouns exchanged: "Maria lent her car to Tom" / "Tom lent his car to
  Maria"; :func:`swapped_roles`). Each cue found multiplies the score by ``cue_factor`` (0.4). Key phrases and names reworded by a paraphrase are not conflicts: a
  paraphrase may say "the firm" for "the company";
* **same-meaning judge** (optional, ``judge=``): a local chat model with next-token
  log-probabilities (``ct2/`` or ``hf/`` backends: ``choice_logprobs``) asked, in the pair's
  language, whether the two texts state the same facts (the same people doing the same things,
  the same numbers, the same yes or no), answering Yes/No (是/否); ``p_same`` is P(Yes) /
  (P(Yes) + P(No)). The score is multiplied by ``p_same ** judge_power``. Besides the swap
  cue, it is the only part that could see a swap of actors inside a rewording; how much a 0.5B
  model sees is measured, not assumed (near chance: it stays off by default).

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
    "swapped_roles",
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


_EN_WORD = re.compile(r"[a-z0-9]+", re.IGNORECASE)
_EN_FUNCTION = frozenset(
    "a an the his her their its my your our him them he she they it i you we me us this that "
    "these those to of for at in on by with from and or but as is was were are be been has had "
    "have do did does s".split()
)
_ZH_FUNCTION = frozenset("的了在把被给是和与及、，。！？；：“”‘’（）《》 了着过也都就还又很")
_CONJUNCTIONS = frozenset({"and", "or", "和", "与", "及", "、", "跟", "同"})
_PASSIVE = re.compile(r"被|\b(?:was|were|is|are|been|be|being|got)\s+\w+(?:ed|en|t)\b.*\bby\b")
SWAP_MIN_RATIO = 0.8
"""A swap is only called between texts that, with the two units exchanged back, agree on at
least this share of their tokens (difflib ratio): an edit, not a rewording."""
_MAX_SWAP_UNITS = 60


def _swap_tokens(text: str, zh: bool) -> list[str]:
    if zh:
        return [c for c in normalise_text(text) if not c.isspace()]
    return [w.lower() for w in _EN_WORD.findall(text)]


def _units(tokens: list[str], other: list[str], zh: bool, longest: int) -> list[tuple[int, int]]:
    """Spans (start, end) of ``tokens`` that occur exactly once in each text and are not made
    of function words or punctuation only."""
    function = _ZH_FUNCTION if zh else _EN_FUNCTION

    def count(seq: list[str], unit: tuple[str, ...]) -> int:
        n = len(unit)
        return sum(tuple(seq[i : i + n]) == unit for i in range(len(seq) - n + 1))

    spans = []
    for n in range(1, longest + 1):
        for i in range(len(tokens) - n + 1):
            unit = tuple(tokens[i : i + n])
            if all(t in function or not t.isalnum() for t in unit):
                continue
            if count(tokens, unit) == 1 and count(other, unit) == 1:
                spans.append((i, i + n))
    return spans[:_MAX_SWAP_UNITS]


def swapped_roles(original: str, rewrite: str, language: str | None = None) -> bool:
    """True when the rewrite looks like the original with two of its units (names, nouns; 1-3
    words, or 1-4 Chinese characters) exchanged: "Maria lent her car to Tom" / "Tom lent his car
    to Maria", "警察抓住了嫌疑人" / "嫌疑人袭击了警察".

    Tokens are lower-cased words (English) or characters (Chinese). Every pair of
    non-overlapping units that occur once in each text (not only function words) is exchanged
    in the original; the pair is a swap when the exchanged original matches the rewrite on at
    least 2 more tokens than the original itself (difflib's matching blocks: both units land in
    place, where moving one phrase to the front gains 1) and agrees with it on at least
    :data:`SWAP_MIN_RATIO` of its tokens (0.8: on the dev pairs the true swaps reach
    0.85-1.0 and the paraphrases at most 0.70). Not a swap: units with only punctuation or
    "and"/"和" (plus at most one more token) between them ("Tom and Anna" / "Anna and Tom"), and a pair where one text is passive and
    the other not ("the suspect was arrested by the police", "嫌疑人被警方逮捕"), which reverses
    the order of the actors without changing who did what. Texts over 80 tokens are compared
    sentence by sentence (each sentence of the original with the rewrite's closest one). No
    model: a rule for minimal edits; a rewording that also swaps the actors is beyond it.
    Written on the dev pairs (``meaning-pairs.jsonl``) and scored once on the held-out pairs.
    """
    from difflib import SequenceMatcher

    from valuealign.lang import detect_language

    zh = (language or detect_language(original)) == "zh"
    a, b = _swap_tokens(original, zh), _swap_tokens(rewrite, zh)
    if len(a) <= _SWAP_MAX_TOKENS and len(b) <= _SWAP_MAX_TOKENS:
        return _swapped_tokens(original, rewrite, a, b, zh)
    # long texts: each sentence of the original against the rewrite's closest sentence
    later = [(x, _swap_tokens(x, zh)) for x in _SENTENCE_END.split(rewrite) if x.strip()]
    for sentence in _SENTENCE_END.split(original):
        sa = _swap_tokens(sentence, zh)
        if len(sa) < 3 or not later:
            continue
        best, sb = max(later, key=lambda x: SequenceMatcher(None, sa, x[1]).quick_ratio())
        if len(sa) <= _SWAP_MAX_TOKENS and len(sb) <= _SWAP_MAX_TOKENS:
            if _swapped_tokens(sentence, best, sa, sb, zh):
                return True
    return False


_SWAP_MAX_TOKENS = 80
_SENTENCE_END = re.compile(r"(?<=[.!?。！？；;])\s*")


def _swapped_tokens(original: str, rewrite: str, a: list[str], b: list[str], zh: bool) -> bool:
    from difflib import SequenceMatcher

    if len(a) < 3 or len(b) < 3 or a == b:
        return False
    if SequenceMatcher(None, a, b, autojunk=False).quick_ratio() < SWAP_MIN_RATIO:
        return False  # not even the bags of tokens agree: a rewording, not an exchange
    if bool(_PASSIVE.search(original)) != bool(_PASSIVE.search(rewrite)):
        return False

    def matched(x: list[str]) -> int:
        blocks = SequenceMatcher(None, x, b, autojunk=False).get_matching_blocks()
        return sum(m.size for m in blocks)

    base = matched(a)
    units = _units(a, b, zh, 4 if zh else 3)
    for i, (s1, e1) in enumerate(units):
        for s2, e2 in units[i + 1 :]:
            if not (e1 <= s2 or e2 <= s1):  # overlapping
                continue
            first, second = ((s1, e1), (s2, e2)) if s1 < s2 else ((s2, e2), (s1, e1))
            between = a[first[1] : second[0]]
            if all(t in _CONJUNCTIONS or not t.isalnum() for t in between) or (
                len(between) <= 2 and any(t in _CONJUNCTIONS for t in between)
            ):
                continue  # "Tom and Anna", "老张和小陈": a coordination, order free
            swapped = (
                a[: first[0]]
                + a[second[0] : second[1]]
                + between
                + a[first[0] : first[1]]
                + a[second[1] :]
            )
            gained = matched(swapped)
            if gained >= base + 2 and 2 * gained / (len(swapped) + len(b)) >= SWAP_MIN_RATIO:
                return True
    return False


def conflict_cues(
    original: str, rewrite: str, language: str | None = None, *, swap: bool = True
) -> list[str]:
    """The conflict cues between two texts: "number", "negation", "antonym" and/or "swap"
    (module docstring)."""
    cues = []
    before, after = numbers_in(original, language), numbers_in(rewrite, language)
    if before - after and after - before:
        cues.append("number")
    if negation_count(original) % 2 != negation_count(rewrite) % 2:
        cues.append("negation")
    if antonym_flip(original, rewrite):
        cues.append("antonym")
    if swap and swapped_roles(original, rewrite, language):
        cues.append("swap")
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
    swap_cue: bool = True
    """Count swapped roles (:func:`swapped_roles`) as a conflict cue."""
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
        cues = tuple(conflict_cues(original, rewrite, language, swap=self.swap_cue))
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
