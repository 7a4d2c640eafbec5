"""``valuealign consensus``: cultural agents negotiate a shared guideline with PSRO."""

from __future__ import annotations

import click

from valuealign.cli._config import config_option
from valuealign.cli._options import backend_kwargs, backend_options, role_kwargs, role_options


def _pairs(items: tuple[str, ...], flag: str, form: str) -> dict[str, str]:
    from valuealign.errors import UserError

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise UserError(f"bad {flag} {item!r}", fix=f"use {form}")
        out[key.strip()] = value.strip()
    return out


@click.command()
@click.option("--topic", default=None, help="One topic (a question or issue).")
@click.option(
    "--topics", default=None, metavar="FILE|builtin:topics", help="JSONL of {id, zh, en} topics."
)
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the first N topics.")
@click.option(
    "--agents",
    required=True,
    metavar="ZONE,ZONE[,...]",
    help="Cultural zones: protestant-europe, catholic-europe, english-speaking, orthodox-europe, "
    "confucian, west-south-asia, african-islamic, latin-america (or IDs from --agent-profile).",
)
@click.option(
    "--model", "-m", default="hf/smollm2-135m-instruct", show_default=True, metavar="PROVIDER/MODEL"
)
@click.option(
    "--agent-model",
    "agent_models",
    multiple=True,
    metavar="ZONE=PROVIDER/MODEL",
    help="Give one zone its own model (e.g. one with its own adapter).",
)
@click.option(
    "--agent-adapter",
    "agent_adapters",
    multiple=True,
    metavar="ZONE=DIR",
    help="A PEFT adapter for one agent's hf/ model.",
)
@click.option(
    "--agent-profile",
    "agent_profiles",
    multiple=True,
    metavar="ID=FILE#COUNTRY",
    help="An agent built from survey data (WVS wave CSV or GlobalOpinionQA JSONL); use ID in --agents.",
)
@click.option("--language", type=click.Choice(["en", "zh"]), default="en", show_default=True)
@click.option("--rounds", type=click.IntRange(1, 20), default=4, show_default=True)
@click.option(
    "--solver",
    type=click.Choice(["replicator", "mwu", "lp", "uniform"]),
    default="replicator",
    show_default=True,
)
@click.option(
    "--similarity",
    type=click.Choice(["auto", "tfidf", "embedding"]),
    default="auto",
    show_default=True,
)
@click.option("--max-tokens", type=click.IntRange(8), default=96, show_default=True)
@click.option("--no-baselines", is_flag=True)
@click.option("--out", required=True, type=click.Path(file_okay=False))
@role_options("model")
@backend_options
@config_option("consensus")
def consensus(
    topic,
    topics,
    limit,
    agents,
    model,
    agent_models,
    agent_adapters,
    agent_profiles,
    language,
    rounds,
    solver,
    similarity,
    max_tokens,
    no_baselines,
    out,
    **opts,
) -> None:
    """Negotiate a cross-cultural consensus (PSRO) and score it (PBA, VSC, NashConv).

    \b
    Example (embedded model, no key):
      valuealign consensus --topic "Should adult children be obliged to care for elderly parents?" \\
          --agents confucian,protestant-europe --rounds 2 --out runs/consensus
    """
    from valuealign.consensus.runner import ConsensusSettings, load_topics, run_consensus
    from valuealign.errors import UserError

    if bool(topic) == bool(topics):
        raise UserError(
            "give exactly one of --topic TEXT or --topics FILE", fix="e.g. --topics builtin:topics"
        )
    overrides = _pairs(agent_models, "--agent-model", "ZONE=PROVIDER/MODEL")
    adapters = _pairs(agent_adapters, "--agent-adapter", "ZONE=ADAPTER_DIR")
    customs = _pairs(agent_profiles, "--agent-profile", "ID=FILE#COUNTRY")
    chosen = load_topics(topics, topic)[:limit]
    opts = dict(opts)
    per_role = role_kwargs(opts, ("model",))
    kwargs = {**backend_kwargs(opts), **per_role["model"]}
    settings = ConsensusSettings(
        zones=[z.strip() for z in agents.split(",") if z.strip()],
        model=model,
        agent_models=overrides,
        custom_profiles=customs,
        agent_adapters=adapters,
        language=language,
        rounds=rounds,
        solver=solver,
        similarity=similarity,
        max_tokens=max_tokens,
        baselines=not no_baselines,
    )
    metrics = run_consensus(out, settings, chosen, backend_options=kwargs, log=click.echo)
    click.echo(format_summary(metrics["summary"], out))
    from valuealign.records import check_total_failure

    failures = metrics["failures"]
    if failures["failed"]:
        click.echo(f"consensus: {failures['failed']} of {failures['planned']} topics failed")
    check_total_failure("consensus: every topic", failures)


def format_summary(summary: dict, out: str) -> str:
    """One readable line (never a raw dict): counts as integers, means with two decimals."""

    def f(key: str) -> str:
        value = summary.get(key)
        return "-" if value is None else f"{value:.2f}"

    return (
        f"consensus: {summary['topics']} topic(s); mean rounds used {f('mean_rounds_used')}, "
        f"NashConv {f('mean_nash_conv')}, PBA gain {f('mean_pba_gain')}, "
        f"VSC balance {f('mean_vsc_balance')} -> {out}/report.html"
    )
