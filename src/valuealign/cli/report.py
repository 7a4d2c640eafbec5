"""``valuealign report DIR``: the self-contained HTML report of an evaluation run."""

from __future__ import annotations

import click


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--open", "open_", is_flag=True, help="Open the report in a browser.")
def report(run_dir: str, open_: bool) -> None:
    """Write RUN_DIR/report.html (plus scores.md and scores.csv) from an eval run."""
    from valuealign.report import write_report

    path = write_report(run_dir)
    click.echo(f"wrote {path}")
    if open_:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())
