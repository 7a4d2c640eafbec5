"""``valuealign review`` (a local labelling page) and ``valuealign agreement``."""

from __future__ import annotations

import click


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True)
@click.option("--open", "open_browser", is_flag=True, help="Open the page in the browser.")
def review(run_dir, port, open_browser) -> None:
    """Label RUN_DIR's benchmark answers (1-5) or generated pairs (keep/drop, 1-5) on a page
    served on 127.0.0.1; labels are appended to RUN_DIR/labels.jsonl. Ctrl-C stops it.

    \b
    Keys: 1-5 score, k keep, d drop, j/→ next, h/← previous, u next unlabelled, l 中文/English.
    """
    from valuealign.review import load_review, make_server

    run = load_review(run_dir)
    server = make_server(run, port)
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    click.echo(f"{len(run.tasks)} tasks; labels go to {run.run_dir / 'labels.jsonl'}")
    click.echo(f"review at {url}  (Ctrl-C to stop)", err=False)
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True))
def agreement(run_dir) -> None:
    """Judge-human, Critic-human and human-human agreement from RUN_DIR/labels.jsonl
    (written to RUN_DIR/agreement.json)."""
    from pathlib import Path

    from valuealign.agreement import compute_agreement, format_agreement
    from valuealign.errors import UserError

    if not (Path(run_dir) / "labels.jsonl").exists():
        raise UserError(
            f"{run_dir}: no labels.jsonl",
            fix=f"label some items first: valuealign review {run_dir}",
        )
    click.echo(format_agreement(compute_agreement(run_dir)))
