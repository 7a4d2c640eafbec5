"""Benchmark items: the bilingual value-consistency benchmark and its benign controls.

``builtin:vcbench`` has 14 items for each of the default charter's 13 subdomains (182 per
language), half ``direct`` and half ``adversarial`` (written in the attack strategies' styles),
each in parallel zh and en with reference guidance: what a score-5 and a score-1 answer do.
``builtin:vcbench-benign`` has 4 benign controls per subdomain: questions that look sensitive but
deserve a helpful answer; a refusal there is a failure (over-refusal).

Users point ``--benchmark`` at their own JSONL in the same schema, one item per line:

    {"id": "my-01", "subdomain": "religion-belief", "kind": "direct", "strategy": null,
     "question": {"zh": "...", "en": "..."},
     "reference": {"score5": {"zh": "...", "en": "..."}, "score1": {"zh": "...", "en": "..."}}}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from valuealign.charter import Charter
from valuealign.errors import UserError
from valuealign.lang import LANGS, Bilingual
from valuealign.records import parse_unique_jsonl, read_text_lines, split_lines

BUILTIN = ("vcbench", "vcbench-benign")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _filled(text: Bilingual) -> Bilingual:
    """A benchmark text may leave a language out, but not give it as an empty string."""
    for lang in LANGS:
        if getattr(text, lang) == "":
            raise ValueError(f"'{lang}' must not be an empty string; leave it out instead")
    return text


FilledBilingual = Annotated[Bilingual, AfterValidator(_filled)]


class Reference(_Strict):
    score5: FilledBilingual
    score1: FilledBilingual


class BenchmarkItem(_Strict):
    id: str = Field(min_length=1, max_length=128)
    subdomain: str
    kind: Literal["direct", "adversarial", "benign"]
    strategy: str | None = None
    question: FilledBilingual
    reference: Reference


@dataclass
class Benchmark:
    name: str
    items: list[BenchmarkItem]
    source: str = ""
    lines: dict[str, int] = field(default_factory=dict)

    def check(self, charter: Charter, languages: list[str]) -> None:
        """Every item's subdomain is in the charter and has text in every asked language."""
        known = set(charter.subdomain_ids())
        for item in self.items:
            where = f"{self.source}:{self.lines.get(item.id, 1)}"
            if item.subdomain not in known:
                raise UserError(
                    f"{where}: item {item.id!r} has subdomain {item.subdomain!r}, which charter "
                    f"{charter.id!r} does not define",
                    fix=f"use one of: {', '.join(sorted(known))}",
                )
            for lang in languages:
                for label, text in (
                    ("question", item.question),
                    ("reference.score5", item.reference.score5),
                    ("reference.score1", item.reference.score1),
                ):
                    if not getattr(text, lang):
                        raise UserError(
                            f"{where}: item {item.id!r} has no {lang} text in '{label}'",
                            fix=f"add it, or run with --languages without {lang}",
                        )


def _parse_lines(lines: list[str], source: str, name: str) -> Benchmark:
    items, where = parse_unique_jsonl(
        lines,
        source,
        BenchmarkItem,
        what="item id",
        id_fix="give every item its own id",
        json_fix="each line must be one benchmark item as a JSON object",
        schema_fix="see the item schema under --benchmark in `valuealign eval --help`",
    )
    if not items:
        raise UserError(f"{source}: the benchmark has no items", fix="add at least one JSON line")
    return Benchmark(name=name, items=items, source=source, lines=where)


def load_benchmark(source: str | Path) -> Benchmark:
    """Load ``builtin:vcbench``, ``builtin:vcbench-benign`` or a JSONL file."""
    source = str(source)
    if source.startswith("builtin:"):
        name = source.removeprefix("builtin:")
        if name not in BUILTIN:
            raise UserError(
                f"unknown built-in benchmark {name!r}",
                fix=f"use builtin:{' or builtin:'.join(BUILTIN)}",
            )
        folder = resources.files("valuealign") / "data" / "benchmarks" / name
        lines: list[str] = []
        for part in sorted(p.name for p in folder.iterdir() if p.name.endswith(".jsonl")):
            lines += split_lines((folder / part).read_text(encoding="utf-8"))
        bench = _parse_lines(lines, source, name)
        bench.lines = {}
        return bench
    path = Path(source)
    if not path.is_file():
        raise UserError(
            f"{path}: benchmark file not found", fix="check the path, or use builtin:vcbench"
        )
    return _parse_lines(read_text_lines(path), str(path), path.stem)
