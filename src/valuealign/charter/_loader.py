"""Load a charter from YAML with errors that point at the line to fix.

YAML is parsed once into a node tree to learn where each key and list item sits, then validated
with pydantic; a validation error's location is mapped back to a line. Duplicate keys (which
plain YAML loaders silently merge) and missing translations are errors too.

>>> charter = load_charter("builtin:balanced-v1")
>>> charter = load_charter("my-charter.yaml")   # UserError: my-charter.yaml:14: ...
"""

from __future__ import annotations

import difflib
import functools
import hashlib
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from valuealign.charter._schema import Charter
from valuealign.errors import UserError
from valuealign.lang import Bilingual
from valuealign.yamlfile import allowed_keys, line_for, line_map, load_yaml

BUILTIN_PREFIX = "builtin:"
DEFAULT_CHARTER = "builtin:balanced-v1"

Path_ = tuple[str, ...]


def list_builtin_charters() -> list[str]:
    folder = resources.files("valuealign") / "data" / "charters"
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def resolve_charter_source(source: str | Path) -> tuple[str, str]:
    """Return (display name, YAML text) for a file path or ``builtin:NAME``."""
    source = str(source)
    if source.startswith(BUILTIN_PREFIX):
        name = source[len(BUILTIN_PREFIX) :]
        if name not in list_builtin_charters():
            raise UserError(
                f"unknown built-in charter {name!r}",
                fix=f"use one of: {', '.join(BUILTIN_PREFIX + n for n in list_builtin_charters())}",
            )
        res = resources.files("valuealign") / "data" / "charters" / f"{name}.yaml"
        return source, res.read_text(encoding="utf-8")
    path = Path(source)
    if not path.is_file():
        raise UserError(
            f"{path}: charter file not found", fix="check the path, or use builtin:balanced-v1"
        )
    try:
        return str(path), path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise UserError(
            f"{path}: not UTF-8 text ({e.reason})", fix="save the file as UTF-8"
        ) from None


def _distinct_problems(errors: list[dict]) -> list[dict]:
    """The errors less each 'missing key' that a misspelt key beside it explains (a typo
    ``postions`` is one problem, not an unknown key plus a missing ``positions``)."""
    misspelt = set()
    for err in errors:
        if err["type"] == "extra_forbidden" and err["loc"]:
            loc = tuple(str(p) for p in err["loc"])
            close = difflib.get_close_matches(loc[-1], allowed_keys(Charter, loc), n=1)
            misspelt.update((loc[:-1], c) for c in close)
    return [
        err
        for err in errors
        if not (
            err["type"] == "missing"
            and err["loc"]
            and (tuple(str(p) for p in err["loc"][:-1]), str(err["loc"][-1])) in misspelt
        )
    ]


def _explain(err: dict, loc: Path_) -> tuple[str, str]:
    kind = err["type"]
    field = loc[-1] if loc else "(top level)"
    if kind == "extra_forbidden":
        allowed = allowed_keys(Charter, loc)
        close = difflib.get_close_matches(field, allowed, n=1)
        fix = f"did you mean '{close[0]}'?" if close else f"allowed keys here: {', '.join(allowed)}"
        return f"unknown key '{field}'", fix
    if kind == "missing":
        return f"missing required key '{field}'", f"add '{field}:' here"
    if kind == "too_short":
        return f"'{field}' must not be empty", f"add at least one entry to '{field}'"
    if field == "critic_threshold" or kind in ("greater_than_equal", "less_than_equal"):
        return f"'{field}': {err['msg']}", "use a whole number from 1 to 5"
    if kind == "literal_error" and "languages" in loc:
        return f"unsupported language {err.get('input')!r}", "languages may be 'zh' and 'en'"
    if kind == "string_pattern_mismatch":
        return (
            f"'{field}' = {err.get('input')!r} is not a valid id",
            "use lowercase letters, digits and '-' (e.g. human-rights)",
        )
    return (
        f"'{'.'.join(loc) or field}': {err['msg']}",
        "see `valuealign charter init` for a valid example",
    )


def _missing_translations(
    obj: Any, languages: list[str], path: Path_ = ()
) -> list[tuple[Path_, str]]:
    found: list[tuple[Path_, str]] = []
    if isinstance(obj, Bilingual):
        for lang in languages:
            value = getattr(obj, lang)
            if value is None or not value.strip():
                found.append((path, lang))
    elif isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            found += _missing_translations(getattr(obj, name), languages, (*path, name))
    elif isinstance(obj, list):
        for i, item in enumerate(obj):
            found += _missing_translations(item, languages, (*path, str(i)))
    elif isinstance(obj, dict):
        for k, v in obj.items():
            found += _missing_translations(v, languages, (*path, str(k)))
    return found


@functools.lru_cache(maxsize=32)
def parse_charter(text: str, name: str = "<charter>") -> Charter:
    """Parse and validate charter YAML; raise ``UserError`` with file:line on any problem.

    Results are cached by text (charters are immutable), so loading one many times is cheap.
    """
    data, node = load_yaml(text, name)
    if not isinstance(data, dict):
        raise UserError(
            f"{name}:1: a charter must be a YAML mapping",
            fix="run `valuealign charter init PATH` for a scaffold",
        )
    lines = line_map(node, name)
    try:
        charter = Charter.model_validate(data)
    except ValidationError as e:
        errors = sorted(e.errors(), key=lambda x: x["type"] != "extra_forbidden")
        err = errors[0]
        loc = tuple(str(p) for p in err["loc"])
        problem, fix = _explain(err, loc)
        line = line_for(lines, loc) or 1
        more = len(_distinct_problems(e.errors())) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise UserError(f"{name}:{line}: {problem}{suffix}", fix=fix) from None
    missing = _missing_translations(charter, list(charter.languages))
    if missing:
        path, lang = missing[0]
        line = line_for(lines, path) or 1
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise UserError(
            f"{name}:{line}: '{'.'.join(path)}' has no {lang} text{more}",
            fix=f"add '{lang}: \"...\"' (the charter declares languages {list(charter.languages)})",
        )
    _check_unique_ids(charter, lines, name)
    _check_lexicons(charter, lines, name)
    return charter


def _check_lexicons(charter: Charter, lines: dict[Path_, int], name: str) -> None:
    """A lexicon (and its red-line terms, when given) needs terms in every charter language."""
    for di, domain in enumerate(charter.domains):
        for si, sub in enumerate(domain.subdomains):
            if sub.lexicon is None:
                continue
            base: Path_ = ("domains", str(di), "subdomains", str(si), "lexicon")
            parts = [(base, sub.lexicon)]
            if sub.lexicon.red_line_terms is not None:
                parts.append(((*base, "red_line_terms"), sub.lexicon.red_line_terms))
            for path, terms in parts:
                for lang in charter.languages:
                    if not terms.get(lang):
                        line = line_for(lines, path) or 1
                        raise UserError(
                            f"{name}:{line}: '{'.'.join(path)}' has no {lang} terms",
                            fix=f"add '{lang}: [term, ...]' (the charter declares languages "
                            f"{list(charter.languages)})",
                        )


def _check_unique_ids(charter: Charter, lines: dict[Path_, int], name: str) -> None:
    seen: dict[str, Path_] = {}
    for di, domain in enumerate(charter.domains):
        items = [(("domains", str(di), "id"), domain.id)]
        items += [
            (("domains", str(di), "subdomains", str(si), "id"), sub.id)
            for si, sub in enumerate(domain.subdomains)
        ]
        for path, ident in items:
            if ident in seen:
                raise UserError(
                    f"{name}:{lines.get(path, 1)}: id '{ident}' is used twice "
                    f"(first at line {lines.get(seen[ident], 1)})",
                    fix="give every domain and subdomain its own id",
                )
            seen[ident] = path


def load_charter(source: str | Path = DEFAULT_CHARTER) -> Charter:
    name, text = resolve_charter_source(source)
    return parse_charter(text, name)


def charter_hash(source: str | Path = DEFAULT_CHARTER) -> str:
    """sha256 of the charter's canonical JSON (stable under YAML formatting changes)."""
    charter = load_charter(source)
    return hashlib.sha256(charter.model_dump_json().encode()).hexdigest()[:16]
