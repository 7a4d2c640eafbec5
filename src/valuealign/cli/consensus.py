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


def _weights(text: str) -> tuple[float, float, float]:
    from valuealign.errors import UserError

    try:
        parts = tuple(float(x) for x in text.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 3 or any(p < 0 for p in parts):
        raise UserError(
            f"bad --utility-weights {text!r}", fix="three non-negative numbers, e.g. 0.5,0.3,0.2"
        )
    return parts  # type: ignore[return-value]


@click.group(invoke_without_command=True)
@click.option("--topic", default=None, help="One topic (a question or issue).")
@click.option(
    "--topics", default=None, metavar="FILE|builtin:topics", help="JSONL of {id, zh, en} topics."
)
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the first N topics.")
@click.option(
    "--agents",
    default=None,
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
@click.option(
    "--protocol",
    type=click.Choice(["reference", "pool"]),
    default="reference",
    show_default=True,
    help="reference: the consensus paper's negotiation (mirror descent, analyses, stopping rule); "
    "pool: the earlier statement-pool PSRO.",
)
@click.option(
    "--rounds",
    type=click.IntRange(1, 20),
    default=None,
    help="Most rounds [default: 10 for reference, 4 for pool].",
)
@click.option(
    "--utility-weights",
    default="0.5,0.3,0.2",
    show_default=True,
    metavar="C,A,N",
    help="Reference protocol: weights of consistency, acceptance, novelty.",
)
@click.option(
    "--solver",
    type=click.Choice(["replicator", "mwu", "lp", "uniform"]),
    default="replicator",
    show_default=True,
    help="Meta-solver of --protocol pool (the reference protocol uses mirror descent).",
)
@click.option(
    "--similarity",
    type=click.Choice(["auto", "multilingual", "hybrid", "tfidf", "embedding"]),
    default="auto",
    show_default=True,
    help="Text similarity of the utilities: auto = Qwen multilingual embeddings where a local "
    "Qwen is available, else MiniLM + character TF-IDF (named in the output as a fallback).",
)
@click.option(
    "--max-tokens",
    type=click.IntRange(8),
    default=160,
    show_default=True,
    help="reply length for every call (the reference protocol uses 160; shorter cuts openings off)",
)
@click.option("--no-baselines", is_flag=True)
@click.option(
    "--vsc-rater",
    default="llm",
    show_default=True,
    metavar="llm|llm:PROVIDER/MODEL|lexicon",
    help="Who maps statements to Schwartz value vectors: an LLM rater on --model (default), "
    "another model, or the keyword lexicon (offline fallback, named in the output).",
)
@click.option("--no-echo-pba", is_flag=True, help="Skip the reference echo-perplexity PBA.")
@click.option("--debate-rounds", type=click.IntRange(1, 10), default=2, show_default=True)
@click.option(
    "--parallel-topics",
    type=click.IntRange(1),
    default=4,
    show_default=True,
    help="Topics negotiated at once; a local model (ct2/, hf/) batches their concurrent calls.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1),
    default=None,
    help="Largest batch a local ct2/ or hf/ model generates at once (default: the backend's, 8).",
)
@click.option(
    "--validation",
    default=None,
    type=click.Path(dir_okay=False, exists=True),
    help="A validate-agents validation.json: its map goes into the report (default: "
    "OUT/validation.json when present).",
)
@click.option("--out", default=None, type=click.Path(file_okay=False))
@role_options("model")
@backend_options
@config_option("consensus")
@click.pass_context
def consensus(
    ctx,
    topic,
    topics,
    limit,
    agents,
    model,
    agent_models,
    agent_adapters,
    agent_profiles,
    language,
    protocol,
    rounds,
    utility_weights,
    solver,
    similarity,
    max_tokens,
    no_baselines,
    vsc_rater,
    no_echo_pba,
    debate_rounds,
    parallel_topics,
    batch_size,
    validation,
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

    if ctx.invoked_subcommand:
        return
    if not agents or not out:
        raise UserError(
            "a negotiation needs --agents and --out",
            fix="e.g. --agents confucian,protestant-europe --out runs/consensus",
        )
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
    if batch_size and model.split("/", 1)[0] in ("ct2", "hf"):
        kwargs["max_batch_size"] = batch_size
    settings = ConsensusSettings(
        zones=[z.strip() for z in agents.split(",") if z.strip()],
        model=model,
        agent_models=overrides,
        custom_profiles=customs,
        agent_adapters=adapters,
        language=language,
        protocol=protocol,
        rounds=rounds or (10 if protocol == "reference" else 4),
        utility_weights=_weights(utility_weights),
        solver=solver,
        similarity=similarity,
        max_tokens=max_tokens,
        baselines=not no_baselines,
        vsc_detector=vsc_rater,
        echo_pba=not no_echo_pba,
        debate_rounds=debate_rounds,
        parallel_topics=parallel_topics,
    )
    metrics = run_consensus(out, settings, chosen, backend_options=kwargs, log=click.echo)
    from valuealign.report.consensus import summary_lines, write_consensus_report

    write_consensus_report(out, validation)

    for line in summary_lines(metrics.summary.model_dump()):
        click.echo(line)
    click.echo(f"report: {out}/report.html")
    from valuealign.records import check_total_failure

    failures = metrics.failures.model_dump()
    if failures["failed"]:
        click.echo(f"consensus: {failures['failed']} of {failures['planned']} topics failed")
    check_total_failure("consensus: every topic", failures)


def _zones(text: str) -> list[str]:
    return [z.strip() for z in text.split(",") if z.strip()]


def _lora_trainer(model: str, max_steps: int, say):
    """One LoRA adapter per zone through the SFT stage, with the reference's settings (rank 8 on
    all linear modules, lr 1e-4, cosine schedule, 10 epochs) capped at ``max_steps``."""

    def train(data, out_dir):
        from valuealign.train import load_stage_config, run_stage

        cfg = load_stage_config(
            "sft",
            None,
            {
                "model": model,
                "data": [str(data)],
                "out": str(out_dir),
                "learning_rate": 1e-4,
                "lr_scheduler": "cosine",
                "epochs": 10.0,
                "max_steps": max_steps,
                "seq_len": 256,
                "batch_size": 2,
                "logging_steps": 1,
                "eval_fraction": 0.0,
                "drift": False,
                "lora": {"enabled": True, "r": 8, "alpha": 16, "targets": "all-linear"},
            },
        )
        return run_stage(cfg, progress=say)

    return train


@consensus.command("train-agents")
@click.option(
    "--survey",
    required=True,
    metavar="FILE|builtin:survey-sample",
    help="GlobalOpinionQA JSONL (question, options, selections) or a WVS wave CSV.",
)
@click.option("--zones", required=True, metavar="ZONE,ZONE[,...]")
@click.option(
    "--country",
    "countries",
    multiple=True,
    metavar="ZONE=COUNTRY",
    help="Representative country of a zone as the survey names it (defaults: the paper's).",
)
@click.option(
    "--model", "-m", required=True, metavar="hf/MODEL", help="Base model of the adapters."
)
@click.option(
    "--writer",
    default=None,
    metavar="PROVIDER/MODEL",
    help="Model that rewrites open-ended answers and judges consistency [default: --model].",
)
@click.option("--per-question", type=click.IntRange(1), default=10, show_default=True)
@click.option("--max-steps", type=click.IntRange(1), default=20, show_default=True)
@click.option("--no-train", is_flag=True, help="Only build the data.")
@click.option("--out", required=True, type=click.Path(file_okay=False))
@backend_options
def train_agents_cmd(
    survey, zones, countries, model, writer, per_question, max_steps, no_train, out, **opts
) -> None:
    """Survey-grounded agents: per-zone QA data following each country's answer distribution
    (zh and en, multiple-choice and open-ended, LLM consistency filter), one LoRA adapter each.

    \b
    Example (the shipped synthetic sample; real GlobalOpinionQA / WVS files work the same):
      valuealign consensus train-agents --survey builtin:survey-sample \\
          --zones confucian,english-speaking,protestant-europe \\
          --model hf/qwen2.5-0.5b-instruct --writer ct2/qwen2.5-0.5b-instruct --out runs/agents
    """
    from valuealign.consensus.agents import train_agents

    if not model.startswith("hf/"):
        from valuealign.errors import UserError

        raise UserError(f"--model {model!r} is not an hf/ model", fix="adapters need hf/MODEL")
    summary = train_agents(
        survey,
        _zones(zones),
        model,
        out,
        countries=_pairs(countries, "--country", "ZONE=COUNTRY"),
        per_question=per_question,
        judge=writer,
        writer=writer,
        train_adapter=None if no_train else _lora_trainer(model, max_steps, click.echo),
        backend_options=backend_kwargs(dict(opts)),
        progress=click.echo,
    )
    for zone, z in summary["zones"].items():
        click.echo(
            f"{zone} ({z['country']}): {z['rows']} rows ({z['mc_rows']} multiple-choice, "
            f"{z['open_rows']} open-ended; rewrites kept {z['rewrites_kept']}, dropped "
            f"{z['rewrites_dropped']})" + (f" -> {z['adapter']}" if z.get("adapter") else "")
        )


@consensus.command("validate-agents")
@click.option("--zones", required=True, metavar="ZONE,ZONE[,...]")
@click.option("--model", "-m", required=True, metavar="PROVIDER/MODEL", help="Prompt-only agents.")
@click.option(
    "--adapters",
    default=None,
    type=click.Path(file_okay=False),
    help="A train-agents output folder: adapter agents from DIR/adapters/ZONE.",
)
@click.option("--adapter-model", default=None, metavar="hf/MODEL", help="Base of the adapters.")
@click.option("--personas", type=click.IntRange(1, 72), default=72, show_default=True)
@click.option("--language", type=click.Choice(["en", "zh"]), default="en", show_default=True)
@click.option(
    "--map-survey",
    default=None,
    metavar="FILE",
    help="A respondent-level WVS-7 or IVS CSV with the ten map items: fits the surveys' factor "
    "model (country-level PCA, two varimax components) and places the agents by it. Without "
    "it the positions are a linear proxy (named in the output).",
)
@click.option("--country-column", default=None, help="Country column of --map-survey.")
@click.option("--out", required=True, type=click.Path(file_okay=False))
@backend_options
def validate_agents_cmd(
    zones,
    model,
    adapters,
    adapter_model,
    personas,
    language,
    map_survey,
    country_column,
    out,
    **opts,
) -> None:
    """Put the ten IVS items to each agent under demographic personas; place it on the
    Inglehart-Welzel map; is it nearer its own zone than any other?"""
    from pathlib import Path

    from valuealign.consensus.agents import validate_agents

    chosen = _zones(zones)
    found = {}
    if adapters:
        for z in chosen:
            d = Path(adapters) / "adapters" / z
            if (d / "adapter_config.json").exists():
                found[z] = str(d)
    report = validate_agents(
        chosen,
        model,
        out,
        adapters=found,
        adapter_model=adapter_model,
        n_personas=personas,
        language=language,
        map_survey=map_survey,
        country_column=country_column,
        backend_options=backend_kwargs(dict(opts)),
        progress=click.echo,
    )
    from valuealign.report.consensus import write_validation_report

    page = write_validation_report(out)
    click.echo(f"map positions: {report['note']}")
    for row in report["table"]:
        click.echo(
            f"{row['variant']:12} {row['zone']:18} TS={row['traditional_secular']} "
            f"SSE={row['survival_self_expression']} distance={row['distance']} "
            f"nearest={row['nearest_zone']} in_own_zone={row['in_own_zone']}"
        )
    click.echo(f"-> {page}")


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
