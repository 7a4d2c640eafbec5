"""``valuealign generate``: the Attacker -> Actor -> Critic data loop (see valuealign.generate)."""

from __future__ import annotations

import click

from valuealign.cli._config import config_option
from valuealign.cli._options import backend_kwargs, backend_options, role_kwargs, role_options

ROLES = ("attacker", "actor", "critic")


def _csv(value: str | None) -> list[str] | None:
    return [x.strip() for x in value.split(",") if x.strip()] if value else None


@click.command()
@click.option(
    "--charter", default="builtin:balanced-v1", show_default=True, metavar="FILE|builtin:NAME"
)
@click.option(
    "--out", required=True, type=click.Path(file_okay=False), help="Run directory (reruns resume)."
)
@click.option(
    "--n", "n", type=click.IntRange(1), required=True, help="Items to plan over the grid."
)
@click.option("--languages", default="zh,en", show_default=True)
@click.option("--attacker", required=True, metavar="PROVIDER/MODEL")
@click.option("--actor", required=True, metavar="PROVIDER/MODEL")
@click.option("--critic", required=True, metavar="PROVIDER/MODEL")
@click.option(
    "--attacker-concurrency", type=click.IntRange(1), default=None, help="Default: --concurrency."
)
@click.option(
    "--actor-concurrency", type=click.IntRange(1), default=None, help="Default: --concurrency."
)
@click.option(
    "--critic-concurrency", type=click.IntRange(1), default=None, help="Default: --concurrency."
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--strategies", default=None, metavar="ID,ID,...", help="Attack strategies (default: all)."
)
@click.option(
    "--strategy-file",
    "strategy_files",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="A Python file that defines extra strategies (STRATEGIES = [Strategy(...)]). The file is "
    "EXECUTED as Python with your rights: pass only files you trust.",
)
@click.option(
    "--threshold",
    type=click.IntRange(1, 5),
    default=None,
    help="Keep threshold (default: the charter's).",
)
@click.option("--attacker-retries", type=click.IntRange(0), default=2, show_default=True)
@click.option("--critic-retries", type=click.IntRange(0), default=2, show_default=True)
@click.option(
    "--max-tokens",
    type=click.IntRange(1),
    default=512,
    show_default=True,
    help="Actor answer length.",
)
@click.option(
    "--max-in-flight",
    type=click.IntRange(1),
    default=None,
    help="Items processed at once (default: the sum of the role concurrencies).",
)
@click.option(
    "--retry-parse-failures",
    is_flag=True,
    help="On a rerun, redo items whose Critic reply could not be parsed (items that failed "
    "with a backend error are always redone).",
)
@click.option("--no-progress", is_flag=True)
@role_options("attacker", "actor", "critic")
@backend_options
@config_option("generate")
def generate(
    charter,
    out,
    n,
    languages,
    attacker,
    actor,
    critic,
    attacker_concurrency,
    actor_concurrency,
    critic_concurrency,
    seed,
    strategies,
    strategy_files,
    threshold,
    attacker_retries,
    critic_retries,
    max_tokens,
    max_in_flight,
    retry_parse_failures,
    no_progress,
    **opts,
) -> None:
    """Generate adversarial training pairs: Attacker -> Actor -> Critic.

    \b
    Example (no GPU, no key; the embedded model plays every role):
      valuealign generate --n 8 --attacker hf/smollm2-135m-instruct \\
          --actor hf/smollm2-135m-instruct --critic hf/smollm2-135m-instruct --out runs/gen
    """
    from valuealign.generate.pipeline import GenerateSettings, run_generate

    opts = dict(opts)
    per_role = role_kwargs(opts, ROLES)
    kwargs = backend_kwargs(opts)
    base = kwargs["concurrency"]
    settings = GenerateSettings(
        n=n,
        attacker=attacker,
        actor=actor,
        critic=critic,
        charter=charter,
        languages=_csv(languages) or [],
        strategies=_csv(strategies),
        strategy_files=list(strategy_files),
        seed=seed,
        threshold=threshold,
        attacker_retries=attacker_retries,
        critic_retries=critic_retries,
        concurrency={
            "attacker": attacker_concurrency or base,
            "actor": actor_concurrency or base,
            "critic": critic_concurrency or base,
        },
        max_tokens={"attacker": 256, "actor": max_tokens, "critic": 256},
        max_items_in_flight=max_in_flight,
        retry_parse_failures=retry_parse_failures,
    )
    stats = run_generate(
        out,
        settings,
        backend_options=kwargs,
        role_backend_options=per_role,
        progress=not no_progress,
        log=click.echo,
    )
    c = stats.counts
    click.echo(
        f"generate: {c.kept} kept, {c.rejected} rejected, {c.failed} failed "
        f"of {c.planned} planned ({c.pending} pending) -> {out}"
    )
    if stats.rejected_by_reason:
        click.echo(
            "  rejected: "
            + ", ".join(f"{k} {v}" for k, v in sorted(stats.rejected_by_reason.items()))
        )
    if stats.failed_by_stage:
        click.echo(
            "  failed: " + ", ".join(f"{k} {v}" for k, v in sorted(stats.failed_by_stage.items()))
        )
    d = stats.diversity
    if d.get("n"):
        sim = d["mean_pairwise_similarity"]
        click.echo(
            f"  diversity: distinct-2 {d['distinct_2']:.2f}, mean pairwise similarity "
            f"{'-' if sim is None else f'{sim:.2f}'}, "
            f"cells with kept items {d['cells_with_kept_items']}/{d['cells_planned']}"
        )
    from valuealign.records import check_total_failure

    check_total_failure("generate: every planned item", stats.failures.model_dump())
