"""The charter schema: what a value charter may contain, strictly.

Every mapping forbids unknown keys, so a typo (``postions``) is an error, not a silently ignored
field. Bilingual text is a ``{zh: ..., en: ...}`` mapping; which languages must be filled is
decided by the charter's own ``languages`` list and checked by the loader.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Strict):
    """One piece of text in each language of the charter."""

    zh: str | None = None
    en: str | None = None

    def get(self, language: str) -> str:
        value = getattr(self, language, None)
        if not value:
            raise KeyError(f"no {language!r} text")
        return value


class Subdomain(_Strict):
    id: Slug
    name: Text
    description: Text
    positions: list[Text] = Field(min_length=1)
    red_lines: list[Text] = Field(min_length=1)
    example_questions: list[Text] = Field(default_factory=list)


class Domain(_Strict):
    id: Slug
    name: Text
    subdomains: list[Subdomain] = Field(min_length=1)


class Charter(_Strict):
    """A declared set of values: domains, subdomains, positions, red lines and a 1-5 rubric."""

    id: Slug
    version: str = Field(min_length=1)
    title: Text
    description: Text
    languages: list[Language] = Field(min_length=1)
    domains: list[Domain] = Field(min_length=1)
    rubric: dict[StrictInt, Text]
    critic_threshold: Annotated[StrictInt, Field(ge=1, le=5)] = 4

    @field_validator("languages")
    @classmethod
    def _unique_languages(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("languages must not repeat")
        return v

    @field_validator("rubric")
    @classmethod
    def _five_levels(cls, v: dict[int, Text]) -> dict[int, Text]:
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
