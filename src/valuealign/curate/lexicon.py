"""Step 5, lexicon: tag documents with the charter's subdomains and a relevance score.

The term lists come from the charter (each subdomain's optional ``lexicon``: ``zh`` and ``en``
terms plus optional ``red_line_terms``) and can be extended from YAML or JSON files that map
subdomain ids to the same shape::

    human-rights:
      en: [habeas data, right to food]
      zh: [食物权]
      red_line_terms: {en: [...], zh: [...]}

A subdomain without a lexicon falls back to its own name in each language (and ``stats.json``
lists it, since a name alone rarely matches). Matching is one Aho-Corasick pass
(``daachorse``, a double-array automaton in Rust; leftmost-longest: at each position the longest
term wins and matches do not overlap) over the lowercased text: English terms must sit on word
boundaries (a trailing ``*`` lets the word go on: ``refugee*``), Chinese terms match as plain
substrings.

Relevance in [0, 1): ``1 - 2 ** -s`` where ``s`` is the number of distinct terms found, scaled
down by ``sqrt(1000 / units)`` for documents longer than 1000 units (words or CJK characters):
one term in a short document gives 0.5, two give 0.75, three 0.875. ``--select relevant`` keeps
documents with relevance >= ``min_relevance`` (default 0.7: two distinct terms). A red-line term
drops the document (``red_lines="drop"``) or only lists it on the record (``"tag"``).

>>> spec, _ = build_lexicon(load_charter())
>>> LexiconMatcher(spec).match("Refugees and asylum seekers crossed the border.").hits
{'culture-tradition-migration': 2}
"""

from __future__ import annotations

import copy
import difflib
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from valuealign.charter import Charter, Lexicon
from valuealign.curate.quality import units
from valuealign.curate.steps import Document, Step
from valuealign.errors import MissingExtra, UserError
from valuealign.lang import LANGS

# {subdomain id: {"zh": [...], "en": [...], "red_line_terms": {"zh": [...], "en": [...]}}}
LexiconSpec = dict[str, dict[str, Any]]
LENGTH_NORM = 1000


def _as_spec(lex: Lexicon) -> dict[str, Any]:
    red = lex.red_line_terms
    return {
        "zh": list(lex.zh),
        "en": list(lex.en),
        "red_line_terms": {"zh": list(red.zh), "en": list(red.en)} if red else {"zh": [], "en": []},
    }


def charter_lexicon(charter: Charter) -> tuple[LexiconSpec, list[str]]:
    """The charter's term lists, and the ids of subdomains that had none (names used instead)."""
    spec: LexiconSpec = {}
    missing: list[str] = []
    for _, sub in charter.subdomains():
        if sub.lexicon is not None:
            spec[sub.id] = _as_spec(sub.lexicon)
        else:
            missing.append(sub.id)
            spec[sub.id] = {
                "zh": [sub.name.zh] if sub.name.zh else [],
                "en": [sub.name.en.lower()] if sub.name.en else [],
                "red_line_terms": {"zh": [], "en": []},
            }
    return spec, missing


def load_lexicon_file(path: str | Path, charter: Charter) -> LexiconSpec:
    """Read extra terms from YAML/JSON; ``UserError`` names the file, the line and the fix."""
    from pydantic import ValidationError

    from valuealign.yamlfile import line_for, line_map, load_yaml

    p = Path(path)
    if not p.is_file():
        raise UserError(f"{path}: lexicon file not found", fix="check the path given to --lexicon")
    from valuealign.records import decode_text

    data, node = load_yaml(decode_text(p.read_bytes(), str(path)), str(path))
    example = "human-rights: {en: [term, ...], zh: [术语, ...]}"
    if not isinstance(data, dict) or node is None:
        raise UserError(
            f"{path}:1: a lexicon file must map subdomain ids to term lists", fix=example
        )
    lines = line_map(node, str(path))
    known = charter.subdomain_ids()
    out: LexiconSpec = {}
    for key, value in data.items():
        line = lines.get((str(key),), 1)
        if str(key) not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            raise UserError(
                f"{path}:{line}: unknown subdomain {key!r} (charter {charter.id})",
                fix=f"did you mean '{close[0]}'?" if close else f"use one of: {', '.join(known)}",
            )
        try:
            lex = Lexicon.model_validate(value)
        except ValidationError as e:
            err = e.errors()[0]
            loc = (str(key), *(str(x) for x in err["loc"]))
            where = line_for(lines, loc) or line
            raise UserError(
                f"{path}:{where}: '{'.'.join(loc)}': {err['msg']}",
                fix=f"use the shape {example} (optional red_line_terms: {{en: [...], zh: [...]}})",
            ) from None
        out[str(key)] = _as_spec(lex)
    return out


def merge_lexicons(base: LexiconSpec, extra: LexiconSpec) -> LexiconSpec:
    """``base`` with ``extra``'s terms added (no duplicates); neither input is changed."""
    merged = copy.deepcopy(base)
    for sub, v in extra.items():
        target = merged.setdefault(
            sub, {"zh": [], "en": [], "red_line_terms": {"zh": [], "en": []}}
        )
        for lang in LANGS:
            target[lang] += [t for t in v[lang] if t not in target[lang]]
            red = target["red_line_terms"][lang]
            red += [t for t in v["red_line_terms"][lang] if t not in red]
    return merged


def build_lexicon(
    charter: Charter, files: Sequence[str | Path] = ()
) -> tuple[LexiconSpec, list[str]]:
    """The charter's lexicon extended by ``files``; also the subdomains that had no lexicon."""
    spec, missing = charter_lexicon(charter)
    for f in files:
        extra = load_lexicon_file(f, charter)
        spec = merge_lexicons(spec, extra)
        missing = [m for m in missing if m not in extra]
    return spec, missing


# -- matching --------------------------------------------------------------------------------


@dataclass
class Match:
    hits: dict[str, int] = field(default_factory=dict)  # subdomain -> occurrences
    terms: dict[str, set[str]] = field(default_factory=dict)  # subdomain -> distinct terms
    red_lines: list[tuple[str, str]] = field(default_factory=list)  # (term, subdomain)

    @property
    def distinct_terms(self) -> int:
        return len(set().union(*self.terms.values())) if self.terms else 0


def _is_word(ch: str) -> bool:
    return ch.isalnum() and ord(ch) < 0x2E80  # CJK characters are not word characters here


class LexiconMatcher:
    def __init__(self, spec: LexiconSpec) -> None:
        try:
            import daachorse
        except ImportError:
            raise MissingExtra("daachorse", "curate", "lexicon matching") from None
        self.order = list(spec)
        entries: dict[str, list[tuple[str, bool, bool, bool]]] = {}
        for sub, v in spec.items():
            for red, lists in ((False, v), (True, v["red_line_terms"])):
                for lang in LANGS:
                    for term in lists[lang]:
                        prefix = term.endswith("*")
                        key = term.rstrip("*").lower()
                        if not key:
                            continue
                        left = _is_word(key[0])
                        right = _is_word(key[-1]) and not prefix
                        entries.setdefault(key, []).append((sub, red, left, right))
        self.keys = list(entries)
        self.items = [tuple(entries[k]) for k in self.keys]
        self.size = len(entries)
        self.automaton: Any = None
        if entries:
            self.automaton = daachorse.CharwiseDoubleArrayAhoCorasick(
                self.keys, match_kind=daachorse.MATCH_KIND_LEFTMOST_LONGEST
            )

    def match(self, text: str) -> Match:
        out = Match()
        if not self.size:
            return out
        low = text.lower()
        n = len(low)
        keys, items_of = self.keys, self.items
        for start, end, idx in self.automaton.find(low):
            key = keys[idx]
            for sub, red, left, right in items_of[idx]:
                if left and start > 0 and _is_word(low[start - 1]):
                    continue
                if right and end < n and _is_word(low[end]):
                    continue
                if red:
                    out.red_lines.append((key, sub))
                else:
                    out.hits[sub] = out.hits.get(sub, 0) + 1
                    out.terms.setdefault(sub, set()).add(key)
        return out


def relevance(distinct_terms: int, n_units: int) -> float:
    scale = min(1.0, math.sqrt(LENGTH_NORM / max(n_units, 1)))
    return round(1 - 2 ** (-distinct_terms * scale), 4)


class LexiconStep(Step):
    """Tag subdomains and relevance; drop red-line documents and (optionally) irrelevant ones."""

    name = "lexicon"

    def __init__(
        self,
        spec: LexiconSpec,
        *,
        select: Literal["relevant", "all"] = "relevant",
        min_relevance: float = 0.7,
        red_lines: Literal["drop", "tag"] = "drop",
    ) -> None:
        super().__init__()
        self.matcher = LexiconMatcher(spec)
        self.rank = {s: i for i, s in enumerate(self.matcher.order)}  # subdomain order, for ties
        self.select = select
        self.min_relevance = min_relevance
        self.red_lines = red_lines
        self.coverage: Counter = Counter()
        self.counts.extra["subdomains"] = self.coverage

    def process(self, doc: Document) -> tuple[str, str] | None:
        m = self.matcher.match(doc.text)
        if m.red_lines:
            terms = sorted({t for t, _ in m.red_lines})
            if self.red_lines == "drop":
                term, sub = m.red_lines[0]
                return "red-line", f"red-line term {term!r} ({sub})"
            doc.red_line_terms = terms
        n_units = doc.n_units if doc.n_units >= 0 else len(units(doc.text))
        order = self.rank
        doc.subdomains = sorted(m.hits, key=lambda s: (-m.hits[s], order.get(s, 0)))
        doc.subdomain_hits = {s: m.hits[s] for s in doc.subdomains}
        doc.relevance = relevance(m.distinct_terms, n_units)
        if self.select == "relevant" and doc.relevance < self.min_relevance:
            return "not-relevant", f"relevance {doc.relevance} < {self.min_relevance}"
        self.coverage.update(doc.subdomains)
        return None
