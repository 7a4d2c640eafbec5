"""YAML files whose errors name the line: a key path -> line map, and the allowed keys there.

Shared by the charter loader, the training configs and the curation lexicon files, so every YAML
error in valuealign says ``file:line`` the same way.
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import BaseModel

from valuealign.errors import UserError

KeyPath = tuple[str, ...]


def line_map(node: yaml.Node, name: str, path: KeyPath = (), out: dict | None = None) -> dict:
    """Map each key path to its 1-based line; reject duplicate keys."""
    out = {} if out is None else out
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise UserError(
                    f"{name}:{line}: duplicate key '{key}'", fix="keep only one of the two entries"
                )
            seen.add(key)
            out[(*path, key)] = line
            line_map(value_node, name, (*path, key), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[(*path, str(i))] = item.start_mark.line + 1
            line_map(item, name, (*path, str(i)), out)
    return out


def line_for(lines: dict, loc: KeyPath) -> int | None:
    """The line of ``loc``, or of its nearest ancestor that has one."""
    for n in range(len(loc), 0, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


def allowed_keys(model: type[BaseModel], loc: KeyPath) -> list[str]:
    """Field names allowed at the parent of ``loc`` (for 'did you mean' hints)."""
    current: Any = model
    for part in loc[:-1]:
        if part.isdigit():
            continue
        field = current.model_fields.get(part) if isinstance(current, type) else None
        if field is None:
            return []
        ann = field.annotation
        candidates = [ann, *getattr(ann, "__args__", ())]
        for c in list(candidates):
            candidates += list(getattr(c, "__args__", ()))
        nxt = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
        if nxt is None:
            return []
        current = nxt
    return list(current.model_fields) if isinstance(current, type) else []


def load_yaml(text: str, name: str) -> tuple[Any, yaml.Node | None]:
    """(data, node tree) of YAML text; invalid YAML is a UserError naming ``name:line``."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e)
        raise UserError(
            f"{name}{line}: invalid YAML ({problem})",
            fix="check indentation and quote strings that contain ':' or '#'",
        ) from None
    return data, node
