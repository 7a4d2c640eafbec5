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
@click.option(
    "--system",
    type=click.Choice(["none", "charter"]),
    default="none",
    show_default=True,
    help="'none': no system prompt, the values internalised (what the benchmark asks with); "
    "'charter': keep the Actor's charter system prompt.",
)
@click.option(
    "--strict-decontam",
    is_flag=True,
    help="Fail (exit 1, nothing written) when an exported text overlaps the benchmark.",
)
def sft(
    run_dir, out, min_score, subdomains, languages, strategies, system, strict_decontam
) -> None:
    """Write RUN_DIR's kept pairs as chat `messages` rows (and OUT.manifest.json).

    Every exported text is checked against the benchmark (`valuealign decontam`); overlaps are
    printed as a warning and recorded in the manifest."""
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
        system_prompt=system == "charter",
        strict_decontam=strict_decontam,
    )
    click.echo(f"wrote {n} conversations to {out}")
