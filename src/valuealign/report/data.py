"""Load an evaluation run directory and shape it for the report.

Everything read here is untrusted text (model answers, judge output, names); this module only
collects it. Escaping happens where it is written out: ``html.escape`` for markup,
:func:`json_for_script` for the embedded JSON blob, :mod:`valuealign.report.tables` for Markdown.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from valuealign.errors import UserError
from valuealign.evaluate.records import ConsistencyJudgement, EvalAnswer, Judgement
from valuealign.records import read_jsonl

SCORES_FILE = "scores.json"
ANSWERS_FILE = "answers.jsonl"
JUDGEMENTS_FILE = "judgements.jsonl"
CONSISTENCY_FILE = "consistency.jsonl"

LANGUAGE_NAMES = {"zh": "Chinese", "en": "English"}


def as_dict(x: Any) -> dict:
    return x if isinstance(x, dict) else {}


def as_list(x: Any) -> list:
    return x if isinstance(x, list) else []


def number(x: Any) -> float | None:
    """A finite number, or None (for null, NaN, strings, booleans)."""
    if isinstance(x, bool) or not isinstance(x, int | float):
        return None
    return float(x) if math.isfinite(x) else None


def ci_bounds(x: Any) -> tuple[float | None, float | None]:
    ci = as_list(x)
    if len(ci) != 2:
        return None, None
    return number(ci[0]), number(ci[1])


def language_label(code: str) -> str:
    name = LANGUAGE_NAMES.get(code)
    return f"{name} ({code})" if name else code


@dataclass
class RunData:
    run_dir: Path
    scores: dict[str, Any]
    answers: list[EvalAnswer] = field(default_factory=list)
    judgements: list[Judgement] = field(default_factory=list)
    consistency: list[ConsistencyJudgement] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def benchmark(self) -> str:
        return str(self.scores.get("benchmark") or "")

    @property
    def per_model(self) -> dict[str, Any]:
        return as_dict(self.scores.get("per_model"))

    @property
    def models(self) -> list[str]:
        names = [str(m) for m in as_list(self.scores.get("models"))] or list(self.per_model)
        for a in self.answers:
            if a.model not in names:
                names.append(a.model)
        return names

    @property
    def judges(self) -> list[str]:
        names = [str(j) for j in as_list(self.scores.get("judges"))]
        for j in [*self.judgements, *self.consistency]:
            if j.judge not in names:
                names.append(j.judge)
        return names

    @property
    def languages(self) -> list[str]:
        langs = [str(x) for x in as_list(self.scores.get("languages"))]
        for m in self.per_model.values():
            for lang in as_dict(as_dict(m).get("languages")):
                if lang not in langs:
                    langs.append(lang)
        for a in self.answers:
            if a.language not in langs:
                langs.append(a.language)
        return langs

    def stats(self, model: str, lang: str) -> dict[str, Any]:
        return as_dict(as_dict(as_dict(self.per_model.get(model)).get("languages")).get(lang))

    def consistency_stats(self, model: str) -> dict[str, Any]:
        return as_dict(as_dict(self.per_model.get(model)).get("cross_lingual_consistency"))

    def _ordered(self, names_key: str, stats_key: str, from_records: list[str]) -> list[str]:
        """Ids that have data: first in the order of ``scores[names_key]``, then the rest sorted."""
        present = set(from_records)
        for model in self.models:
            for lang in self.languages:
                present.update(str(k) for k in as_dict(self.stats(model, lang).get(stats_key)))
        named = [str(k) for k in as_dict(self.scores.get(names_key))]
        return [i for i in named if i in present] + sorted(present - set(named))

    def subdomain_ids(self) -> list[str]:
        """Subdomains with data, in charter order (the order of ``subdomain_names``)."""
        return self._ordered("subdomain_names", "subdomains", [a.subdomain for a in self.answers])

    def domain_ids(self) -> list[str]:
        return self._ordered("domain_names", "domains", [a.domain for a in self.answers])

    def _name(self, key: str, ident: str, lang: str) -> str:
        names = as_dict(as_dict(self.scores.get(key)).get(ident))
        name = names.get(lang) or names.get("en")
        return str(name) if name else ident

    def subdomain_name(self, ident: str, lang: str = "en") -> str:
        return self._name("subdomain_names", ident, lang)

    def domain_name(self, ident: str, lang: str = "en") -> str:
        return self._name("domain_names", ident, lang)


def load_run(run_dir: str | Path) -> RunData:
    run_dir = Path(run_dir)
    path = run_dir / SCORES_FILE
    if not path.is_file():
        raise UserError(
            f"{path}: not found; the report is built from the scores of an evaluation run",
            fix="run valuealign eval first (it writes scores.json, answers.jsonl and "
            "judgements.jsonl), then pass its run directory",
        )
    try:
        scores = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise UserError(
            f"{path}: not valid JSON ({e.msg} at line {e.lineno})",
            fix="run valuealign eval again to rewrite it",
        ) from None
    if not isinstance(scores, dict):
        raise UserError(f"{path}: expected a JSON object", fix="run valuealign eval again")
    run = RunData(run_dir=run_dir, scores=scores)
    for name, model, attr in (
        (ANSWERS_FILE, EvalAnswer, "answers"),
        (JUDGEMENTS_FILE, Judgement, "judgements"),
        (CONSISTENCY_FILE, ConsistencyJudgement, "consistency"),
    ):
        p = run_dir / name
        if p.is_file():
            setattr(run, attr, read_jsonl(p, model))
        elif name != CONSISTENCY_FILE:
            run.missing.append(name)
    return run


def build_items(run: RunData) -> dict[str, Any]:
    """The item browser's data: one entry per (item, language), answers and verdicts per model."""
    items: dict[tuple[str, str], dict[str, Any]] = {}

    def item_for(r: EvalAnswer | Judgement) -> dict[str, Any]:
        key = (r.item_id, r.language)
        if key not in items:
            items[key] = {
                "id": r.item_id,
                "lang": r.language,
                "sub": r.subdomain,
                "dom": r.domain,
                "kind": r.item_kind,
                "strategy": r.strategy,
                "q": None,
                "m": {},
            }
        return items[key]

    def cell(item: dict[str, Any], model: str) -> dict[str, Any]:
        return item["m"].setdefault(model, {"a": None, "err": None, "fin": None, "j": {}})

    for a in run.answers:
        item = item_for(a)
        if item["q"] is None:
            item["q"] = a.question
        c = cell(item, a.model)
        c.update(a=a.answer, err=a.error, fin=a.finish_reason)
    for j in run.judgements:
        cell(item_for(j), j.model)["j"][j.judge] = {
            "s": j.score,
            "ref": j.refusal,
            "r": j.reason,
            "raw": j.raw if j.score is None else None,
            "pe": j.parse_error,
            "err": j.error,
        }
    consistency: dict[str, dict[str, dict[str, Any]]] = {}
    for c in run.consistency:
        consistency.setdefault(c.model, {}).setdefault(c.item_id, {})[c.judge] = {
            "same": c.same_stance,
            "r": c.reason,
            "pe": c.parse_error,
            "err": c.error,
        }
    sub_rank = {s: i for i, s in enumerate(run.subdomain_ids())}
    lang_rank = {x: i for i, x in enumerate(run.languages)}
    ordered = sorted(
        items.values(),
        key=lambda it: (sub_rank.get(it["sub"], 1 << 30), it["id"], lang_rank.get(it["lang"], 99)),
    )
    return {
        "models": run.models,
        "judges": run.judges,
        "languages": [[x, language_label(x)] for x in run.languages],
        "subdomains": [[s, run.subdomain_name(s)] for s in run.subdomain_ids()],
        "items": ordered,
        "consistency": consistency,
    }


def json_for_script(data: Any) -> str:
    """JSON that is safe inside ``<script type="application/json">`` (no ``</script>``, no ``&``)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for ch, esc in (
        ("&", "\\u0026"),
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(ch, esc)
    return text
