"""Options shared by the subcommands that talk to a model."""

from __future__ import annotations

from collections.abc import Callable

import click


def backend_options(f: Callable) -> Callable:
    f = click.option(
        "--base-url",
        "base_urls",
        multiple=True,
        metavar="URL",
        help="OpenAI-compatible server (repeat for replicas). Default: $OPENAI_BASE_URL.",
    )(f)
    f = click.option(
        "--api-key",
        envvar="OPENAI_API_KEY",
        show_envvar=True,
        default=None,
        help="API key for openai/ models (prefer the environment variable).",
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


def backend_kwargs(opts: dict) -> dict:
    return {
        "base_urls": list(opts.pop("base_urls", ())) or None,
        "api_key": opts.pop("api_key", None),
        "concurrency": opts.pop("concurrency", 16),
        "timeout": opts.pop("timeout", 120.0),
        "max_retries": opts.pop("max_retries", 6),
        "adapter": opts.pop("adapter", None),
    }
