"""``valuealign decontam``: overlap between training data and the benchmark."""

from __future__ import annotations

import click


@click.command()
@click.argument("sources", nargs=-1)
@click.option(
    "--benchmark",
    default="builtin",
    show_default=True,
    metavar="builtin|FILE.jsonl",
    help="'builtin': vcbench and its benign controls; or a benchmark JSONL.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the full JSON report here.",
)
@click.option("--strict", is_flag=True, help="Exit 1 when any collision is found.")
@click.option(
    "--limit",
    type=click.IntRange(0),
    default=50,
    show_default=True,
    help="Print at most this many pairs (the report has them all).",
)
def decontam(sources, benchmark, report_path, strict, limit) -> None:
    """Compare training SOURCES with the benchmark questions (zh and en).

    SOURCES: JSONL files (chat `messages` or a text field), Parquet or .txt files,
    `valuealign generate` run directories, charter:FILE|builtin:NAME, visa:default,
    builtin:shipped (default: everything the package ships for training).

    \b
    Two tests: a long shared run (9 English words or 14 Chinese characters, or 80% of the
    shorter text) and near duplicates (character 3-gram Jaccard >= 0.6).
    \b
    Example:
      valuealign decontam builtin:shipped runs/gen --report runs/decontam.json --strict
    """
    from valuealign import decontam as dc
    from valuealign.records import write_json_atomic

    report = dc.check(list(sources) or ["builtin:shipped"], benchmark=benchmark)
    if report["n_collisions"]:
        click.echo(dc.format_collisions(report, limit))
    for s in report["sources"]:
        click.echo(f"{s['source']}: {s['units']} texts, {s['collisions']} collisions")
    click.echo(
        f"{report['n_collisions']} collisions over {len(report['items_hit'])} benchmark items "
        f"({report['units']} texts checked against {report['benchmark_questions']} questions)"
    )
    if report_path:
        write_json_atomic(report_path, report)
        click.echo(f"report: {report_path}")
    if strict and report["n_collisions"]:
        raise dc.ContaminationError(
            f"--strict: {report['n_collisions']} collisions with the benchmark"
        )
