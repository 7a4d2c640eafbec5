"""``valuealign export``: SFT pairs, per-item tables (CSV/Parquet) and preference data (KTO, DPO)."""

from __future__ import annotations

import click


@click.group()
def export() -> None:
    """Export generated data for the training stages."""


def _system_option(help: str):  # type: ignore[no-untyped-def]
    """--system none|charter: whether exported prompts keep the Actor's system prompt."""
    return click.option(
        "--system",
        "system",
        type=click.Choice(["none", "charter"]),
        default="none",
        show_default=True,
        help=help,
    )


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
@_system_option(
    "'none': no system prompt, the values internalised (what the benchmark asks with); "
    "'charter': keep the Actor's charter system prompt."
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


def _items(fmt: str):  # type: ignore[no-untyped-def]
    @export.command(name=fmt)
    @click.argument("run_dir", type=click.Path(file_okay=False))
    @click.option("--out", required=True, type=click.Path(dir_okay=False), help=f"FILE.{fmt}")
    def command(run_dir: str, out: str) -> None:
        from valuealign.errors import UserError
        from valuealign.generate.preference import export_items

        if not out.endswith(f".{fmt}"):
            raise UserError(f"--out {out!r} does not end in .{fmt}", fix=f"e.g. --out items.{fmt}")
        n = export_items(run_dir, out)
        click.echo(f"wrote {n} rows to {out}")

    command.__doc__ = (
        f"Per-item {fmt.upper()}: an eval run's answers and verdicts (one row per answer and "
        "judge) or a generate run's items (kept, rejected, failed, with the Critic's scores)."
    )
    return command


csv_ = _items("csv")
parquet = _items("parquet")


def _preference_command(*own_options):  # type: ignore[no-untyped-def]
    """A KTO/DPO command: the generate runs, --out, the command's own options, --system."""

    def make(fn):  # type: ignore[no-untyped-def]
        fn = _system_option(
            "As for export sft: 'none' drops the Actor's charter system prompt from the prompt."
        )(fn)
        for option in reversed(own_options):
            fn = option(fn)
        fn = click.option(
            "--out", required=True, type=click.Path(dir_okay=False), help="FILE.jsonl|.parquet"
        )(fn)
        fn = click.argument("run_dirs", nargs=-1, required=True, type=click.Path(file_okay=False))(
            fn
        )
        return export.command()(fn)

    return make


@_preference_command(
    click.option(
        "--max-bad",
        type=click.IntRange(1, 4),
        default=2,
        show_default=True,
        help="Critic-rejected pairs scored at most this are the undesirable examples.",
    )
)
def kto(run_dirs, out, max_bad, system) -> None:
    """Unpaired preference data for TRL's KTO trainer: kept pairs desirable, low-scored
    Critic rejects undesirable (prompt, completion, label)."""
    from valuealign.generate.preference import export_kto

    counts = export_kto(list(run_dirs), out, max_bad=max_bad, system_prompt=system == "charter")
    click.echo(
        f"wrote {counts['desirable']} desirable and {counts['undesirable']} undesirable rows to {out}"
    )


@_preference_command(
    click.option("--min-margin", type=click.IntRange(1, 4), default=1, show_default=True)
)
def dpo(run_dirs, out, min_margin, system) -> None:
    """Pairs for TRL's DPO trainer: two scored answers to one attack (e.g. two generate runs
    with the same --seed and different --actor); the higher Critic score is chosen."""
    from valuealign.generate.preference import export_dpo

    n = export_dpo(list(run_dirs), out, min_margin=min_margin, system_prompt=system == "charter")
    click.echo(f"wrote {n} chosen/rejected pairs to {out}")
