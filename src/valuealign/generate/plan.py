"""Plan a generation run: N items spread evenly over subdomain x strategy x language.

Every cell of the grid gets ``N // cells`` items; the remainder goes to cells drawn with the
seed, so a plan is deterministic for (charter, strategies, languages, N, seed). Item ids are
stable and readable: ``<subdomain>.<strategy>.<language>.<index>``. Items are ordered round-robin
over the cells, so a run stopped early still covers the grid evenly.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

from valuealign.charter import Charter
from valuealign.errors import UserError


@dataclass(frozen=True)
class PlannedItem:
    item_id: str
    domain: str
    subdomain: str
    strategy: str
    language: str
    index: int


def plan_items(
    charter: Charter, strategies: list[str], languages: list[str], n: int, seed: int
) -> list[PlannedItem]:
    if n < 1:
        raise UserError(f"--n must be at least 1 (got {n})", fix="ask for one or more items")
    cells = [
        (d.id, s.id, st, lang)
        for d, s in charter.subdomains()
        for st in strategies
        for lang in languages
    ]
    if not cells:
        raise UserError("the plan grid is empty", fix="give at least one strategy and one language")
    base, extra = divmod(n, len(cells))
    rng = random.Random(seed)
    bonus = _balanced_sample(cells, extra, rng)
    per_cell = [base + (i in bonus) for i in range(len(cells))]
    items: list[PlannedItem] = []
    for index in range(max(per_cell)):
        layer = [
            PlannedItem(f"{sub}.{st}.{lang}.{index:04d}", dom, sub, st, lang, index)
            for (dom, sub, st, lang), count in zip(cells, per_cell, strict=True)
            if index < count
        ]
        rng.shuffle(layer)
        items += layer
    return items


def _balanced_sample(
    cells: list[tuple[str, str, str, str]], k: int, rng: random.Random
) -> set[int]:
    """``k`` cells at random, spread evenly over the languages (a 4-item zh/en plan gets two of
    each, never four English items by chance)."""
    by_lang: dict[str, list[int]] = {}
    for i, cell in enumerate(cells):
        by_lang.setdefault(cell[3], []).append(i)
    for group in by_lang.values():
        rng.shuffle(group)
    order = list(by_lang)
    rng.shuffle(order)
    chosen: list[int] = []
    while len(chosen) < k:
        for lang in order:
            if by_lang[lang] and len(chosen) < k:
                chosen.append(by_lang[lang].pop())
    return set(chosen)


def coverage(items: list[PlannedItem]) -> dict:
    """Counts per subdomain, strategy, language and the min/max per grid cell."""
    cells = Counter((it.subdomain, it.strategy, it.language) for it in items)
    return {
        "items": len(items),
        "cells": len(cells),
        "per_cell_min": min(cells.values(), default=0),
        "per_cell_max": max(cells.values(), default=0),
        "by_subdomain": dict(sorted(Counter(it.subdomain for it in items).items())),
        "by_strategy": dict(sorted(Counter(it.strategy for it in items).items())),
        "by_language": dict(sorted(Counter(it.language for it in items).items())),
    }
