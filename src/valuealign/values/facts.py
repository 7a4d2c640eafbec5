"""Fact keeping: does a rewrite keep the original's numbers, names and key phrases?

A value rewrite should change stance, not facts. :func:`fact_keeping` extracts three kinds of
fact-bearing items from the original and checks which ones survive in the rewrite, and lists
the numbers and names that the rewrite brings in from nowhere (a proxy for hallucination).
Deterministic, no model, both languages.

* **Numbers**: digit runs with their decimals (``3.5``, ``1,200`` -> ``1200``, ``45%``), after
  NFKC folding (full-width digits count). Chinese numerals written in characters (三千) are not
  read. A number survives when the same normalised number occurs in the rewrite.
* **Names**: English: runs of two or more capitalised words (``New York City``, ``World
  Health Organization``, ``Mr. Smith``; "of", "the", "de", "van", "von", ... may link them), single
  capitalised words that do not start a sentence (``Crimea``), and acronyms (``NATO``).
  Chinese: quoted phrases (“”, 「」, 《》, ""), and Latin-script tokens (``WHO``, ``GDP``).
  A name survives when it occurs in the rewrite (case-insensitive, whitespace folded).
* **Key phrases**: English: the most frequent content words (four letters or more, not a
  stop word, not part of a name), compared by a crude stem. Chinese: CJK 2-4-character
  n-grams that occur at least twice and neither start nor end with a function character (的,
  了, 是, ...), keeping only the longest of nested ones; a short text without repeats falls
  back to non-overlapping bigrams taken from the start of each stretch between function
  characters, spread evenly over the text (a crude, character-level proxy: there is no word
  segmenter). At most ``max_phrases`` per text. A phrase survives when it (or, in English,
  its stem) occurs in the rewrite.

``score`` is the weighted share of items kept (numbers 0.4, names 0.4, key phrases 0.2, over
the kinds the original has; 1.0 when it has none). ``novel`` lists numbers and names of the
rewrite that the original does not contain.

>>> r = fact_keeping("In 2014, 1,200 people met in Geneva.", "Some 1200 people met in Geneva.")
>>> r.numbers.kept, r.numbers.missing, r.names.kept
(('1200',), ('2014',), ('Geneva',))
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Any

from valuealign.lang import detect_language, fold_language

__all__ = ["FactCheck", "FactReport", "extract_facts", "fact_keeping"]

WEIGHTS = {"numbers": 0.4, "names": 0.4, "phrases": 0.2}

_NUMBER_RE = re.compile(
    r"(?<![0-9A-Za-z.])\d+(?:[,，]\d{3})*(?:\.\d+)?(?:\s?%|\s?percent\b|\s?per cent\b)?"
)
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RUN_RE = re.compile(f"[{_CJK}]+")
_QUOTED_RE = re.compile(r"“([^”]{1,40})”|「([^」]{1,40})」|《([^》]{1,40})》|\"([^\"]{1,40})\"")
_LATIN_TOKEN_RE = re.compile(r"[A-Za-z][A-Za-z0-9&.'’-]*[A-Za-z0-9]|[A-Za-z]")
_LINK = frozenset("of the de da del di van von der al bin la le du".split())
_HONORIFICS = frozenset("mr mrs ms dr prof st sr jr gen col sen rep".split())
_WORD_RE = re.compile(r"[^\W\d_]+(?:['’.-][^\W\d_]+)*")
_SENTENCE_START_RE = re.compile(r"(?:^|[.!?:;\n]\s*|[\"“(]\s*)$")

_EN_STOP = frozenset(
    """
    a about above after again against all also although am an and any are as at be because
    been before being below between both but by can could did do does doing down during each
    even ever every few for from further had has have having he her here hers herself him
    himself his how however i if in into is it its itself just least less let like made make
    many may me might more most much must my myself never no nor not now of off often on once
    only or other others our ours ourselves out over own per perhaps rather really said same
    say says she should since so some still such than that the their theirs them themselves
    then there these they thing things this those though through thus to too under until up
    upon us very was we were what when where whether which while who whom whose why will with
    within without would yet you your yours yourself yourselves one two three people way ways
    well much get gets got going goes come comes came take takes took give gives gave know
    known think thinks want wants need needs instead because therefore mean means
    """.split()
)
_OPENERS = frozenset(
    """
    yesterday today tomorrow tonight recently later earlier meanwhile finally first second
    third last next moreover furthermore therefore nevertheless nonetheless besides indeed
    officials critics experts researchers scientists analysts residents citizens according
    during although though while when where because dear hello thanks
    """.split()
)
_ZH_FUNCTION = frozenset(
    "的了是在和与及或也都就而且但又被把对于为着过之其这那些个们我你他她它有不没很更最会要能可以"
)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _norm_number(raw: str) -> str:
    s = raw.replace(",", "").replace("，", "").replace(" ", "")
    s = s.replace("percent", "%")
    pct = s.endswith("%")
    body = s.rstrip("%").lstrip("+")
    if "." in body:
        body = body.rstrip("0").rstrip(".") or "0"
    return body + ("%" if pct else "")


def _numbers(text: str) -> list[str]:
    return _unique(_norm_number(m.group(0)) for m in _NUMBER_RE.finditer(_fold(text)))


def _unique(items: Any) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        if item and item not in seen:
            seen[item] = None
    return list(seen)


def _en_names(text: str) -> list[str]:
    text = _fold(text)
    tokens = [(m.start(), m.end(), m.group(0)) for m in _WORD_RE.finditer(text)]
    names: list[str] = []
    i = 0
    while i < len(tokens):
        if not _capitalised(tokens[i][2]):
            i += 1
            continue
        run = [i]
        j = i + 1
        while j < len(tokens):
            gap = text[tokens[j - 1][1] : tokens[j][0]]
            honorific = tokens[j - 1][2].lower() in _HONORIFICS and gap.strip() == "."
            if gap.strip() and not honorific:
                break
            if _capitalised(tokens[j][2]):
                run.append(j)
                j += 1
                continue
            # a linking word ("of", "de", ...) between two capitalised words
            nxt = j + 1
            if (
                tokens[j][2] in _LINK
                and nxt < len(tokens)
                and not text[tokens[j][1] : tokens[nxt][0]].strip()
                and _capitalised(tokens[nxt][2])
            ):
                run += [j, nxt]
                j = nxt + 1
                continue
            break
        i = j
        while run and _ordinary(tokens[run[0]][2]):
            run = run[1:]
        if len(run) == 1 and tokens[run[0]][2].lower() in _HONORIFICS:
            run = []
        if len(run) >= 2:
            names.append(text[tokens[run[0]][0] : tokens[run[-1]][1]])
        elif run:
            start, _, word = tokens[run[0]]
            acronym = len(word) >= 2 and word.isupper()
            if acronym or not _at_sentence_start(text, start):
                names.append(word)
    return _unique(re.sub(r"\s+", " ", n) for n in names)


def _capitalised(word: str) -> bool:
    return word[0].isupper()


def _ordinary(word: str) -> bool:
    """A capitalised word that starts a name run only by accident ("The", "Yesterday")."""
    acronym = len(word) >= 2 and word.isupper()
    return not acronym and (word.lower() in _EN_STOP or word.lower() in _OPENERS)


def _at_sentence_start(text: str, start: int) -> bool:
    return bool(_SENTENCE_START_RE.search(text[:start]))


def _zh_names(text: str) -> list[str]:
    text = _fold(text)
    quoted = [next(g for g in m.groups() if g) for m in _QUOTED_RE.finditer(text)]
    latin = [m.group(0) for m in _LATIN_TOKEN_RE.finditer(text)]
    return _unique([q.strip() for q in quoted] + latin)


def _stem(word: str) -> str:
    w = word.lower().replace("’", "'")
    for suffix in ("ingly", "edly", "ing", "ies", "ied", "ed", "es", "ly", "s"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 4:
            return w[: -len(suffix)]
    return w


def _en_phrases(text: str, names: list[str], limit: int) -> list[str]:
    name_words = {w.lower() for n in names for w in n.split()}
    words = [
        w.lower()
        for w in _WORD_RE.findall(_fold(text))
        if len(w) >= 4 and w.lower() not in _EN_STOP and w.lower() not in name_words
    ]
    counts = Counter(_stem(w) for w in words)
    first: dict[str, str] = {}
    for w in words:
        first.setdefault(_stem(w), w)
    order = sorted(first, key=lambda s: (-counts[s], list(first).index(s)))
    return [first[s] for s in order[:limit]]


def _zh_phrases(text: str, limit: int) -> list[str]:
    runs = _CJK_RUN_RE.findall(_fold(text))
    counts: Counter[str] = Counter()
    order: dict[str, int] = {}
    for run in runs:
        for n in (2, 3, 4):
            for i in range(len(run) - n + 1):
                gram = run[i : i + n]
                if gram[0] in _ZH_FUNCTION or gram[-1] in _ZH_FUNCTION:
                    continue
                counts[gram] += 1
                order.setdefault(gram, len(order))
    repeated = [g for g, c in counts.items() if c >= 2]
    maximal = [
        g
        for g in repeated
        if not any(g != h and g in h and counts[h] >= counts[g] for h in repeated)
    ]
    if maximal:
        chosen = sorted(maximal, key=lambda g: (-counts[g], -len(g), order[g]))
    else:
        # no repeats (a short text): cut each run at function characters and take
        # non-overlapping bigrams from the start of every piece
        chosen = []
        for run in runs:
            for piece in re.split(f"[{''.join(sorted(_ZH_FUNCTION))}]+", run):
                chosen += [piece[i : i + 2] for i in range(0, len(piece) - 1, 2)]
        chosen = _unique(chosen)
        if len(chosen) > limit:  # spread the picks over the whole text
            step = len(chosen) / limit
            chosen = [chosen[int(i * step)] for i in range(limit)]
    return chosen[:limit]


@dataclass(frozen=True)
class FactCheck:
    """Items of one kind found in the original, split into kept and missing in the rewrite."""

    kept: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def total(self) -> int:
        return len(self.kept) + len(self.missing)

    @property
    def share(self) -> float | None:
        """Share kept, or None when the original has no item of this kind."""
        return len(self.kept) / self.total if self.total else None

    def to_json(self) -> dict[str, Any]:
        return {"share": self.share, "kept": list(self.kept), "missing": list(self.missing)}


@dataclass(frozen=True)
class FactReport:
    """What of the original's facts a rewrite kept, and what it made up (module docstring)."""

    language: str
    numbers: FactCheck
    names: FactCheck
    phrases: FactCheck
    novel_numbers: tuple[str, ...]
    novel_names: tuple[str, ...]

    @property
    def score(self) -> float:
        """Weighted share kept over the kinds present (1.0 when the original has no facts)."""
        parts = [
            (WEIGHTS[k], c.share)
            for k, c in (
                ("numbers", self.numbers),
                ("names", self.names),
                ("phrases", self.phrases),
            )
            if c.share is not None
        ]
        if not parts:
            return 1.0
        return sum(w * s for w, s in parts) / sum(w for w, _ in parts)

    @property
    def kept(self) -> tuple[str, ...]:
        """Every kept item: numbers, then names, then key phrases."""
        return self.numbers.kept + self.names.kept + self.phrases.kept

    @property
    def missing(self) -> tuple[str, ...]:
        """Every item of the original that the rewrite lost."""
        return self.numbers.missing + self.names.missing + self.phrases.missing

    @property
    def novel(self) -> tuple[str, ...]:
        """Numbers and names in the rewrite that the original does not have."""
        return self.novel_numbers + self.novel_names

    def to_json(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "score": round(self.score, 4),
            "numbers": self.numbers.to_json(),
            "names": self.names.to_json(),
            "phrases": self.phrases.to_json(),
            "novel_numbers": list(self.novel_numbers),
            "novel_names": list(self.novel_names),
        }


@dataclass(frozen=True)
class Facts:
    """The fact-bearing items of one text."""

    numbers: tuple[str, ...]
    names: tuple[str, ...]
    phrases: tuple[str, ...]


def extract_facts(text: str, language: str | None = None, *, max_phrases: int = 10) -> Facts:
    """Numbers, names and key phrases of ``text`` (see the module docstring)."""
    lang = _language(text, language)
    numbers = _numbers(text)
    if lang == "zh":
        names = _zh_names(text)
        # a quoted number is a number, not a name
        names = [n for n in names if _norm_number(n) not in numbers]
        phrases = _zh_phrases(text, max_phrases)
    else:
        names = _en_names(text)
        phrases = _en_phrases(text, names, max_phrases)
    return Facts(tuple(numbers), tuple(names), tuple(phrases))


def _language(text: str, language: str | None) -> str:
    if language is None:
        return detect_language(text)
    return fold_language(language, strict=False)  # lenient: an unknown tag counts as English


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", _fold(text)).lower()


def fact_keeping(
    original: str, rewrite: str, *, language: str | None = None, max_phrases: int = 10
) -> FactReport:
    """Which of ``original``'s numbers, names and key phrases survive in ``rewrite``."""
    lang = _language(original, language)
    facts = extract_facts(original, lang, max_phrases=max_phrases)
    new_numbers = set(_numbers(rewrite))
    haystack = _squash(rewrite)

    def name_kept(name: str) -> bool:
        return _squash(name) in haystack

    if lang == "zh":

        def phrase_kept(phrase: str) -> bool:
            return phrase in haystack
    else:
        stems = {_stem(w) for w in _WORD_RE.findall(_fold(rewrite))}

        def phrase_kept(phrase: str) -> bool:
            return _stem(phrase) in stems

    def split(items: tuple[str, ...], kept: Any) -> FactCheck:
        return FactCheck(tuple(i for i in items if kept(i)), tuple(i for i in items if not kept(i)))

    rewrite_names = _zh_names(rewrite) if lang == "zh" else _en_names(rewrite)
    original_squashed = _squash(original)
    novel_names = tuple(
        n
        for n in _unique(rewrite_names)
        if _squash(n) not in original_squashed and _norm_number(n) not in new_numbers
    )
    original_numbers = set(facts.numbers)
    return FactReport(
        language=lang,
        numbers=split(facts.numbers, lambda n: n in new_numbers),
        names=split(facts.names, name_kept),
        phrases=split(facts.phrases, phrase_kept),
        novel_numbers=tuple(n for n in _numbers(rewrite) if n not in original_numbers),
        novel_names=novel_names,
    )
