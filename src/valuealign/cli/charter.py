"""``valuealign charter validate|show|init``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from valuealign.errors import UserError
from valuealign.lang import LANGS


@click.group()
def charter() -> None:
    """Check, show and scaffold value charters."""


@charter.command()
@click.argument("source")
def validate(source: str) -> None:
    """Validate a charter FILE (or builtin:NAME). Exit 0 if valid, 2 with file:line if not."""
    from valuealign.charter import charter_hash, load_charter

    c = load_charter(source)
    n = len(list(c.subdomains()))
    click.echo(
        f"ok: {source} is a valid charter '{c.id}' v{c.version}: {len(c.domains)} domains, "
        f"{n} subdomains, languages {','.join(c.languages)}, critic threshold {c.critic_threshold}, "
        f"hash {charter_hash(source)}"
    )


@charter.command()
@click.argument("source", default="builtin:balanced-v1")
@click.option("--lang", "language", type=click.Choice(list(LANGS)), default="en", show_default=True)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def show(source: str, language: str, fmt: str) -> None:
    """Show a charter (default builtin:balanced-v1); builtin charters are listed with `list`."""
    from valuealign.charter import load_charter

    c = load_charter(source)
    if fmt == "json":
        click.echo(json.dumps(c.model_dump(exclude_none=True), ensure_ascii=False, indent=2))
        return
    if language not in c.languages:
        raise UserError(
            f"charter {c.id!r} has no {language} text", fix=f"use --lang {c.languages[0]}"
        )
    click.echo(f"{c.title.get(language)}  ({c.id} v{c.version})")
    click.echo(c.description.get(language))
    click.echo(f"critic threshold: {c.critic_threshold}\n")
    for domain in c.domains:
        click.echo(f"== {domain.name.get(language)} [{domain.id}]")
        for sub in domain.subdomains:
            click.echo(f"  -- {sub.name.get(language)} [{sub.id}]")
            for p in sub.positions:
                click.echo(f"     + {p.get(language)}")
            for r in sub.red_lines:
                click.echo(f"     x {r.get(language)}")
    click.echo("\nrubric:")
    click.echo(c.rubric_text(language))


@charter.command(name="list")
def list_() -> None:
    """List the built-in charters."""
    from valuealign.charter import list_builtin_charters

    for name in list_builtin_charters():
        click.echo(f"builtin:{name}")


@charter.command()
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: str, force: bool) -> None:
    """Write a commented charter scaffold to PATH (it validates as written)."""
    from valuealign.charter import SCAFFOLD
    from valuealign.records import check_output_file, write_text_atomic

    target = Path(path)
    if target.exists() and not force:
        raise UserError(
            f"{target}: file exists", fix="pass --force to overwrite, or choose another path"
        )
    for parent in target.parents:
        if parent.exists() and not parent.is_dir():
            raise UserError(
                f"{target}: {parent} is a file, not a folder", fix="choose another path"
            )
    check_output_file(target, "PATH")
    write_text_atomic(target, SCAFFOLD)
    click.echo(f"wrote {target}; edit it, then run: valuealign charter validate {target}")
