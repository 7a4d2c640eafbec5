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


MAX_YAML_BYTES = 8 * 1024 * 1024
"""A charter, config or lexicon is a few KB; anything over this is refused before parsing."""
MAX_YAML_NODES = 200_000
"""Nodes after expanding every alias: a 'billion laughs' file is refused, not expanded."""
MAX_YAML_DEPTH = 64
MAX_YAML_ALIASES = 1_000


def _check_tree(root: yaml.Node, name: str) -> None:
    """Refuse alias bombs, self-referencing anchors and deep nesting, in time linear in the
    file: the expanded size of each node is computed once (aliases share nodes)."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    aliases = 0
    fix = "write the values out plainly (no deep nesting, few anchors and aliases)"

    def size(node: yaml.Node, depth: int) -> int:
        nonlocal aliases
        key = id(node)
        if key in on_path:
            raise UserError(
                f"{name}:{node.start_mark.line + 1}: an anchor refers to itself", fix=fix
            )
        if key in sizes:
            aliases += 1
            if aliases > MAX_YAML_ALIASES:
                raise UserError(f"{name}: more than {MAX_YAML_ALIASES} aliases", fix=fix)
            return sizes[key]
        if depth > MAX_YAML_DEPTH:
            raise UserError(
                f"{name}:{node.start_mark.line + 1}: nested deeper than {MAX_YAML_DEPTH} levels",
                fix=fix,
            )
        total = 1
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            on_path.add(key)
            children = (
                [n for pair in node.value for n in pair]
                if isinstance(node, yaml.MappingNode)
                else node.value
            )
            for child in children:
                total += size(child, depth + 1)
                if total > MAX_YAML_NODES:
                    raise UserError(
                        f"{name}: expands to more than {MAX_YAML_NODES:,} values "
                        "(anchors and aliases that multiply, a 'billion laughs' file?)",
                        fix=fix,
                    )
            on_path.discard(key)
        sizes[key] = total
        return total

    size(root, 0)


def _check_flow_depth(text: str, name: str) -> None:
    """Refuse ``[[[[...`` / ``{{{...`` nesting before the (recursive, slow) parser sees it.
    Brackets inside quotes and comments are skipped; a line-level scan, linear in the text."""
    depth = 0
    for lineno, line in enumerate(text.split("\n"), start=1):
        quote = ""
        for ch in line:
            if quote:
                if ch == quote:
                    quote = ""
            elif ch in "'\"":
                quote = ch
            elif ch == "#":
                break
            elif ch in "[{":
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    raise UserError(
                        f"{name}:{lineno}: nested deeper than {MAX_YAML_DEPTH} levels",
                        fix="write the values out plainly (no deep nesting)",
                    )
            elif ch in "]}":
                depth = max(0, depth - 1)


def load_yaml(text: str, name: str) -> tuple[Any, yaml.Node | None]:
    """(data, node tree) of YAML text; invalid YAML is a UserError naming ``name:line``.

    The one YAML reader of valuealign (charters, train configs, lexicons). It is bounded: a
    file over 8 MB, one that expands to more than 200,000 values through aliases, one with a
    self-referencing anchor or nested deeper than 64 levels is refused with a UserError before
    anything is built from it. A leading byte-order mark is dropped.
    """
    text = text.removeprefix("\ufeff")
    if len(text) > MAX_YAML_BYTES:
        raise UserError(
            f"{name}: {len(text.encode('utf-8')) / 1e6:.1f} MB of YAML; the limit is "
            f"{MAX_YAML_BYTES // (1024 * 1024)} MB",
            fix="charters, configs and lexicons are small files: check that this is the right one",
        )
    _check_flow_depth(text, name)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is not None:
            _check_tree(node, name)
        # the data from the checked node tree, as safe_load builds it (without parsing again)
        data = yaml.SafeLoader("").construct_document(node) if node is not None else None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e)
        raise UserError(
            f"{name}{line}: invalid YAML ({problem})",
            fix="check indentation and quote strings that contain ':' or '#'",
        ) from None
    except RecursionError:
        raise UserError(
            f"{name}: YAML nested too deeply to read",
            fix="write the values out plainly (no deep nesting)",
        ) from None
    return data, node
