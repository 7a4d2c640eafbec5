"""The charter schema: what a value charter may contain, strictly.

Every mapping forbids unknown keys, so a typo (``postions``) is an error, not a silently ignored
field. Bilingual text is a ``{zh: ..., en: ...}`` mapping (:class:`valuealign.lang.Bilingual`);
which languages must be filled is decided by the charter's own ``languages`` list and checked by
the loader.

A subdomain may carry a ``lexicon``: terms per language that mark a document as being about
the subdomain (used by ``valuealign curate``), plus optional ``red_line_terms`` whose presence
drops a document. English terms match case-insensitively on word boundaries (a trailing ``*``
also matches longer words: ``refugee*``); Chinese terms match as plain substrings.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

from valuealign.lang import Bilingual, Language

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _clean_terms(terms: list[str]) -> list[str]:
    cleaned: list[str] = []
    for term in terms:
        term = term.strip()
        if not term or term == "*":
            raise ValueError("a lexicon term must not be empty")
        if "*" in term[:-1]:
            raise ValueError(f"'*' may only end a term (got {term!r})")
        if len(term) > 100:
            raise ValueError(f"lexicon term longer than 100 characters: {term[:40]!r}...")
        if term not in cleaned:
            cleaned.append(term)
    return cleaned


class Terms(_Strict):
    """Lexicon terms per language (lists may be empty for a language the charter lacks)."""

    zh: list[str] = Field(default_factory=list)
    en: list[str] = Field(default_factory=list)

    @field_validator("zh", "en")
    @classmethod
    def _terms(cls, v: list[str]) -> list[str]:
        return _clean_terms(v)

    def get(self, language: str) -> list[str]:
        return list(getattr(self, language, None) or [])


class Lexicon(Terms):
    """Terms that tie a document to a subdomain, and red-line terms that drop a document."""

    red_line_terms: Terms | None = None


class Subdomain(_Strict):
    id: Slug
    name: Bilingual
    description: Bilingual
    positions: list[Bilingual] = Field(min_length=1)
    red_lines: list[Bilingual] = Field(min_length=1)
    example_questions: list[Bilingual] = Field(default_factory=list)
    # left out of dumps when absent, so charters without a lexicon keep their hash
    lexicon: Lexicon | None = Field(default=None, exclude_if=lambda v: v is None)


class Domain(_Strict):
    id: Slug
    name: Bilingual
    subdomains: list[Subdomain] = Field(min_length=1)


class Charter(_Strict):
    """A declared set of values: domains, subdomains, positions, red lines and a 1-5 rubric."""

    id: Slug
    version: str = Field(min_length=1)
    title: Bilingual
    description: Bilingual
    languages: list[Language] = Field(min_length=1)
    domains: list[Domain] = Field(min_length=1)
    rubric: dict[StrictInt, Bilingual]
    critic_threshold: Annotated[StrictInt, Field(ge=1, le=5)] = 4

    @field_validator("languages")
    @classmethod
    def _unique_languages(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("languages must not repeat")
        return v

    @field_validator("rubric")
    @classmethod
    def _five_levels(cls, v: dict[int, Bilingual]) -> dict[int, Bilingual]:
        if sorted(v) != [1, 2, 3, 4, 5]:
            raise ValueError(f"rubric must have exactly the levels 1, 2, 3, 4, 5 (got {sorted(v)})")
        return v

    def subdomains(self) -> Iterator[tuple[Domain, Subdomain]]:
        for domain in self.domains:
            for sub in domain.subdomains:
                yield domain, sub

    def subdomain(self, subdomain_id: str) -> Subdomain:
        for _, sub in self.subdomains():
            if sub.id == subdomain_id:
                return sub
        known = ", ".join(s.id for _, s in self.subdomains())
        raise KeyError(f"unknown subdomain {subdomain_id!r}; known: {known}")

    def domain_of(self, subdomain_id: str) -> Domain:
        for domain, sub in self.subdomains():
            if sub.id == subdomain_id:
                return domain
        raise KeyError(subdomain_id)

    def subdomain_ids(self) -> list[str]:
        return [s.id for _, s in self.subdomains()]

    def rubric_text(self, language: str) -> str:
        return "\n".join(f"{k}: {self.rubric[k].get(language)}" for k in sorted(self.rubric))
