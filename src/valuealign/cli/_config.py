"""``--config FILE.yaml`` for the long commands (eval, generate, consensus).

A config file holds the command's own options, spelt as on the command line without the dashes
(``per-subdomain: 2`` or ``per_subdomain: 2``); flags given on the command line override it.
Validation is as strict as the training configs: an unknown key, a bad value or a literal API key
is a :class:`UserError` naming ``file:line`` (exit code 2), with a did-you-mean.

>>> valuealign eval --config builtin:quick --per-subdomain 2
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

import click

from valuealign.errors import UserError

_SECRET_KEYS = {"api_key", "api-key"}


def _load(ctx: click.Context, kind: str, spec: str) -> dict[str, Any]:
    from valuealign.configs import builtin_configs, resolve_config
    from valuealign.yamlfile import line_map, load_yaml

    path = resolve_config(spec, kind)
    if not path.is_file():
        known = ", ".join(f"builtin:{n}" for n in builtin_configs(kind))
        raise UserError(f"{spec}: config file not found", fix=f"check the path (or use {known})")
    data, node = load_yaml(path.read_text(encoding="utf-8"), spec)
    data = data or {}
    if not isinstance(data, dict):
        raise UserError(
            f"{spec}:1: a config must be a YAML mapping of option: value",
            fix="e.g. 'per-subdomain: 2'",
        )
    lines = line_map(node, spec) if node is not None else {}
    params = {
        p.name: p
        for p in ctx.command.params
        if isinstance(p, click.Option) and p.name and not p.hidden and p.name != "config"
    }
    # the option's flag spelling (per-subdomain) and its Python name (per_subdomain) both work
    by_key: dict[str, click.Option] = {}
    for p in params.values():
        by_key[p.name.replace("_", "-")] = p
        by_key[p.name] = p
        for opt in p.opts:
            if opt.startswith("--"):
                by_key[opt[2:]] = p
    values: dict[str, Any] = {}
    for key, value in data.items():
        at = f"{spec}:{lines.get((str(key),), 1)}"
        if str(key) in _SECRET_KEYS:
            raise UserError(
                f"{at}: an API key does not belong in a config file",
                fix="put the NAME of an environment variable in 'api-key-env:' instead",
            )
        param = by_key.get(str(key))
        if param is None:
            names = sorted({o[2:] for p in params.values() for o in p.opts if o.startswith("--")})
            close = difflib.get_close_matches(str(key).replace("_", "-"), names, n=1)
            fix = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(names)}"
            raise UserError(f"{at}: unknown key '{key}' for `valuealign {ctx.info_name}`", fix=fix)
        if param.multiple and not isinstance(value, list):
            value = [value]
        if param.is_flag and not isinstance(value, bool):
            raise UserError(
                f"{at}: '{key}' takes true or false (got {value!r})", fix="use true/false"
            )
        try:
            if param.multiple:
                converted = tuple(param.type.convert(v, param, ctx) for v in value)
            else:
                converted = param.type.convert(value, param, ctx) if value is not None else None
        except click.BadParameter as e:
            raise UserError(
                f"{at}: '{key}': {e.message}", fix=f"see valuealign {ctx.info_name} --help"
            ) from None
        values[param.name] = converted
    return values


def config_option(kind: str) -> Callable[[Callable], Callable]:
    """Add ``--config FILE|builtin:NAME``; its values become defaults that flags override."""

    def callback(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
        if value is None:
            return None
        ctx.default_map = {**(ctx.default_map or {}), **_load(ctx, kind, value)}
        return value

    return click.option(
        "--config",
        "config",
        default=None,
        is_eager=True,
        expose_value=False,
        metavar="FILE.yaml|builtin:NAME",
        callback=callback,
        help="Read options from a YAML file (keys as the flags without dashes; flags override "
        "it; unknown keys are errors). Example: builtin:quick.",
    )
