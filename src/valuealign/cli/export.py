"""``valuealign export sft``: kept pairs as chat-messages JSONL or Parquet for training."""

from __future__ import annotations

import click


@click.group()
def export() -> None:
    """Export generated data for the training stages."""


@export.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False), help="FILE.jsonl or FILE.parquet"
)
@click.option(
    "--min-score",
    type=click.IntRange(1, 5),
    default=None,
    help="Only pairs with at least this overall score.",
)
@click.option("--subdomains", default=None, metavar="ID,ID,...")
@click.option("--languages", default=None, metavar="zh,en")
@click.option("--strategies", default=None, metavar="ID,ID,...")
@click.option("--no-system", is_flag=True, help="Drop the Actor's system prompt from the messages.")
def sft(run_dir, out, min_score, subdomains, languages, strategies, no_system) -> None:
    """Write RUN_DIR's kept pairs as chat `messages` rows."""
    from valuealign.generate.export import export_sft

    def csv(v):
        return [x.strip() for x in v.split(",") if x.strip()] if v else None

    n = export_sft(
        run_dir,
        out,
        min_score=min_score,
        subdomains=csv(subdomains),
        languages=csv(languages),
        strategies=csv(strategies),
        system_prompt=not no_system,
    )
    click.echo(f"wrote {n} conversations to {out}")
