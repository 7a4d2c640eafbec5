"""Options shared by the subcommands that talk to a model.

One convention in every command: ``--base-url`` (repeat for replicas) and ``--api-key-env NAME``
address the servers of every role; ``--ROLE-base-url`` and ``--ROLE-api-key-env`` give one role
(``--judge-base-url``, ``--attacker-api-key-env``, ...) its own servers and key. A key is always
read from an environment variable whose *name* is given, never typed on the command line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

import click

from valuealign.errors import UserError

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def backend_options(f: Callable) -> Callable:
    f = click.option(
        "--base-url",
        "base_urls",
        multiple=True,
        metavar="URL",
        help="OpenAI-compatible server for every role (repeat for replicas). "
        "Default: $OPENAI_BASE_URL.",
    )(f)
    f = click.option(
        "--api-key-env",
        default=None,
        metavar="NAME",
        help="Name of the environment variable holding the API key for openai/ models "
        "(default: OPENAI_API_KEY).",
    )(f)
    f = click.option(
        "--api-key",
        envvar="OPENAI_API_KEY",
        default=None,
        hidden=True,  # a literal key ends up in shell history: prefer --api-key-env
    )(f)
    f = click.option(
        "--concurrency",
        type=click.IntRange(1),
        default=16,
        show_default=True,
        help="Requests in flight per backend.",
    )(f)
    f = click.option(
        "--timeout",
        type=click.FloatRange(0.1),
        default=120.0,
        show_default=True,
        help="Seconds before a request times out (then it is retried).",
    )(f)
    f = click.option("--max-retries", type=click.IntRange(0), default=6, show_default=True)(f)
    f = click.option(
        "--adapter",
        type=click.Path(file_okay=False),
        default=None,
        help="PEFT adapter folder to apply on top of an hf/ model.",
    )(f)
    return f


def role_options(*roles: str) -> Callable[[Callable], Callable]:
    """``--ROLE-base-url`` (repeatable) and ``--ROLE-api-key-env`` for each role."""

    def deco(f: Callable) -> Callable:
        for role in reversed(roles):
            f = click.option(
                f"--{role}-api-key-env",
                f"{role.replace('-', '_')}_api_key_env",
                default=None,
                metavar="NAME",
                help=f"Environment variable holding the {role}'s API key (default: --api-key-env).",
            )(f)
            f = click.option(
                f"--{role}-base-url",
                f"{role.replace('-', '_')}_base_urls",
                multiple=True,
                metavar="URL",
                help=f"Server(s) for the {role} only (repeat for replicas; default: --base-url).",
            )(f)
        return f

    return deco


def key_from_env(name: str | None, flag: str) -> str | None:
    """The API key held in environment variable ``name`` (``None`` when no name is given)."""
    if not name:
        return None
    if not _ENV_NAME.match(name):
        raise UserError(
            f"{flag} takes the NAME of an environment variable, not a key",
            fix=f"export MY_KEY=... and pass {flag} MY_KEY",
        )
    value = os.environ.get(name)
    if not value:
        raise UserError(
            f"{flag} {name}: the environment variable {name} is not set",
            fix=f"export {name}=<your key> (or name another variable)",
        )
    return value


def backend_kwargs(opts: dict) -> dict:
    """The options every role shares (pops them from ``opts``)."""
    env_name = opts.pop("api_key_env", None)
    literal = opts.pop("api_key", None)
    return {
        "base_urls": list(opts.pop("base_urls", ())) or None,
        "api_key": key_from_env(env_name, "--api-key-env") or literal,
        "concurrency": opts.pop("concurrency", 16),
        "timeout": opts.pop("timeout", 120.0),
        "max_retries": opts.pop("max_retries", 6),
        "adapter": opts.pop("adapter", None),
    }


def role_kwargs(opts: dict, roles: tuple[str, ...] | list[str]) -> dict[str, dict]:
    """Role -> the options that override :func:`backend_kwargs` for it (pops them)."""
    out: dict[str, dict] = {}
    for role in roles:
        key = role.replace("-", "_")
        urls = list(opts.pop(f"{key}_base_urls", ()) or ())
        api_key = key_from_env(opts.pop(f"{key}_api_key_env", None), f"--{role}-api-key-env")
        out[role] = {
            **({"base_urls": urls} if urls else {}),
            **({"api_key": api_key} if api_key else {}),
        }
    return out


def warn_shared_servers(
    shared: dict, per_role: dict[str, dict], specs: dict[str, list[str]]
) -> str | None:
    """Say so when several ``--base-url`` servers are spread over roles with different models.

    Replicas are for one model: a judge on its own server needs ``--judge-base-url``. Returns
    the warning (also printed to stderr) or ``None``.
    """
    urls = shared.get("base_urls") or []
    if len(urls) < 2:
        return None
    sharing = [r for r in specs if not per_role.get(r, {}).get("base_urls")]
    models = {m for r in sharing for m in specs[r] if m.startswith("openai/")}
    if len(models) < 2:
        return None
    flags = ", ".join(f"--{r}-base-url" for r in sharing)
    msg = (
        f"warning: {len(urls)} --base-url servers are treated as replicas of every model "
        f"({', '.join(sorted(models))}): requests for each go to all of them. To put a role on "
        f"its own server use {flags}."
    )
    click.echo(msg, err=True)
    return msg
