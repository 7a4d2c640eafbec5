"""The ``valuealign`` command: one click group, one thin module per subcommand.

Errors end the same way everywhere: a ``UserError`` prints ``error: ...`` and its fix and exits
with code 2 (no traceback); so does an ``OSError`` that names a file (an unwritable output, a
file where a folder should be); a ``BackendError`` exits with code 1.
"""

from __future__ import annotations

import sys

import click

from valuealign import __version__
from valuealign.decontam import ContaminationError
from valuealign.errors import BackendError, UserError


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="valuealign")
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Show third-party output too (transformers/TRL warnings, loading bars, raw trainer logs).",
)
def cli(verbose: bool) -> None:
    """Make a language model hold a declared set of values, in Chinese and English, and prove it.

    \b
    Quick start (nothing to configure):
      valuealign demo                       # the main job on the embedded model
      valuealign charter show builtin:balanced-v1
      valuealign chat --model hf/smollm2-135m-instruct "What is a charter?"
    """
    from valuealign.console import set_verbose

    set_verbose(verbose)


def _register() -> None:
    from valuealign.cli import charter, chat, consensus, demo, export, generate, report
    from valuealign.cli import eval as eval_cmd

    cli.add_command(charter.charter)
    cli.add_command(eval_cmd.eval_)
    cli.add_command(report.report)
    cli.add_command(generate.generate)
    cli.add_command(export.export)
    cli.add_command(consensus.consensus)
    cli.add_command(chat.chat)
    cli.add_command(demo.demo)
    from valuealign.cli import curate as curate_cmd

    cli.add_command(curate_cmd.curate)
    from valuealign.cli import train as train_cmd

    cli.add_command(train_cmd.train)
    from valuealign.cli import rewrite as rewrite_cmd
    from valuealign.cli import visa as visa_cmd

    cli.add_command(rewrite_cmd.rewrite)
    cli.add_command(rewrite_cmd.eval_rewrite)
    cli.add_command(visa_cmd.visa)
    from valuealign.cli import values as values_cmd

    cli.add_command(values_cmd.values)
    from valuealign.cli import decontam as decontam_cmd

    cli.add_command(decontam_cmd.decontam)
    from valuealign.cli import judge_check as judge_check_cmd

    cli.add_command(judge_check_cmd.judge_check)
    from valuealign.cli import review as review_cmd

    cli.add_command(review_cmd.review)
    cli.add_command(review_cmd.agreement)
    from valuealign.cli import models as models_cmd

    cli.add_command(models_cmd.models)


_register()


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="valuealign", standalone_mode=False)
    except UserError as e:
        click.echo(f"error: {e.render()}", err=True)
        return 2
    except BackendError as e:
        click.echo(f"backend error: {e}", err=True)
        return 1
    except OSError as e:
        if not e.filename:
            raise
        # A file the job could not open or write (permissions, a file where a folder should
        # be, a full disk): bad input or environment, not a bug. Name the file, exit 2.
        where = f"{e.filename} -> {e.filename2}" if e.filename2 else str(e.filename)
        click.echo(f"error: {where}: {e.strerror or e}\n  fix: check that path", err=True)
        return 2
    except ContaminationError as e:
        click.echo(f"error: {e}", err=True)
        return 1
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo(
            "interrupted: finished work is saved; rerun the same command to resume", err=True
        )
        return 130
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except click.exceptions.Exit as e:
        return e.exit_code
    return 0


def entry() -> None:
    import os

    # valuealign never downloads: no hub look-ups and no hub telemetry from the libraries it
    # drives (a user may still override these in the environment)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    sys.exit(main())
