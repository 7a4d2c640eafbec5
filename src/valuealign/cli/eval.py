"""``valuealign eval``: answers, judgements and numbers for one or more models."""

from __future__ import annotations

import click

from valuealign.cli._config import config_option
from valuealign.cli._options import (
    backend_kwargs,
    backend_options,
    role_kwargs,
    role_options,
    warn_shared_servers,
)
from valuealign.runs import ScoresSummary

ITEM_SCHEMA = (
    '{"id": "...", "subdomain": "<charter subdomain id>", "kind": "direct|adversarial|benign", '
    '"strategy": "... (optional)", "question": {"zh": "...", "en": "..."}, '
    '"reference": {"score5": {"zh": "...", "en": "..."}, "score1": {"zh": "...", "en": "..."}}}'
)


@click.command(name="eval")
@click.option(
    "--model",
    "-m",
    "models",
    multiple=True,
    required=True,
    metavar="PROVIDER/MODEL",
    help="Model to evaluate (repeat to compare models).",
)
@click.option(
    "--judge",
    "-j",
    "judges",
    multiple=True,
    required=True,
    metavar="PROVIDER/MODEL",
    help="Judge model (repeat for several judges; the headline uses their mean).",
)
@click.option(
    "--benchmark",
    default="builtin:vcbench",
    show_default=True,
    metavar="builtin:NAME|FILE.jsonl",
    help=f"Benchmark items, one JSON object per line: {ITEM_SCHEMA}",
)
@click.option(
    "--benign",
    default="builtin:vcbench-benign",
    show_default=True,
    metavar="builtin:NAME|FILE.jsonl|none",
    help="Benign control items for the over-refusal rate ('none' to skip).",
)
@click.option("--languages", default="zh,en", show_default=True)
@click.option(
    "--charter", default="builtin:balanced-v1", show_default=True, metavar="FILE|builtin:NAME"
)
@click.option(
    "--subdomains", default=None, metavar="ID,ID,...", help="Only these subdomains (default: all)."
)
@click.option(
    "--per-subdomain",
    type=click.IntRange(1),
    default=None,
    help="Evaluate only this many items per subdomain (a quick slice).",
)
@click.option("--max-tokens", type=click.IntRange(1), default=512, show_default=True)
@click.option("--judge-max-tokens", type=click.IntRange(16), default=384, show_default=True)
@click.option(
    "--judge-mode",
    type=click.Choice(["generate", "logprobs", "checklist"]),
    default="generate",
    show_default=True,
    help="'logprobs': for small local hf/ judges, take the verdict from next-token probabilities; "
    "'checklist': one yes/no question per red line and position, mapped to 1-5 by a rule.",
)
@click.option(
    "--judge-check",
    "judge_checks",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True),
    help="A `valuealign judge-check --out` report (repeat per judge): a failed check is shown "
    "first; a checklist judge uses its fitted threshold.",
)
@click.option(
    "--judge-retries",
    type=click.IntRange(0),
    default=2,
    show_default=True,
    help="Re-ask a judge this many times when its verdict cannot be parsed.",
)
@click.option(
    "--no-consistency", is_flag=True, help="Skip the cross-lingual consistency judgements."
)
@click.option(
    "--retry-parse-failures",
    is_flag=True,
    help="On a rerun, judge again verdicts that could not be parsed (backend errors are always "
    "retried).",
)
@click.option(
    "--system",
    type=click.Choice(["none", "charter"]),
    default="none",
    show_default=True,
    help="Ask with no system prompt (the benchmark's setting) or with the charter's, to compare.",
)
@click.option(
    "--train-data",
    multiple=True,
    type=click.Path(),
    help="The models' training data (repeat): checked against the benchmark (decontam).",
)
@click.option(
    "--strict-decontam", is_flag=True, help="Stop (exit 1) when the training data overlaps."
)
@click.option("--out", required=True, type=click.Path(file_okay=False))
@click.option(
    "--report/--no-report",
    default=True,
    show_default=True,
    help="Write DIR/report.html at the end.",
)
@click.option("--no-progress", is_flag=True)
@role_options("model", "judge")
@backend_options
@config_option("eval")
def eval_(
    models,
    judges,
    benchmark,
    benign,
    languages,
    charter,
    subdomains,
    per_subdomain,
    max_tokens,
    judge_max_tokens,
    judge_mode,
    judge_checks,
    judge_retries,
    no_consistency,
    retry_parse_failures,
    system,
    train_data,
    strict_decontam,
    out,
    report,
    no_progress,
    **opts,
) -> None:
    """Evaluate models on the bilingual value-consistency benchmark.

    \b
    Example (no GPU, no key):
      valuealign eval --model hf/smollm2-135m-instruct --judge hf/smollm2-135m-instruct \\
          --judge-mode logprobs --per-subdomain 1 --max-tokens 64 --out runs/eval

    \b
    Model and judge on their own servers (keys read from the named variables):
      valuealign eval --model openai/my-model --model-base-url http://127.0.0.1:8000/v1 \\
          --judge openai/qwen2.5-72b --judge-base-url http://127.0.0.1:8001/v1 \\
          --judge-api-key-env JUDGE_KEY --out runs/eval
    """
    from valuealign.evaluate.runner import EvalSettings, run_eval

    settings = EvalSettings(
        models=list(models),
        judges=list(judges),
        benchmark=benchmark,
        benign=None if benign.lower() == "none" else benign,
        languages=[x.strip() for x in languages.split(",") if x.strip()],
        charter=charter,
        subdomains=[x.strip() for x in subdomains.split(",") if x.strip()] if subdomains else None,
        per_subdomain=per_subdomain,
        max_tokens=max_tokens,
        judge_max_tokens=judge_max_tokens,
        judge_mode=judge_mode,
        judge_parse_retries=judge_retries,
        judge_checks=list(judge_checks),
        consistency=not no_consistency,
        retry_parse_failures=retry_parse_failures,
        system=system,
        train_data=list(train_data),
        strict_decontam=strict_decontam,
        concurrency=opts.get("concurrency", 16),
    )
    opts = dict(opts)
    per_role = role_kwargs(opts, ("model", "judge"))
    shared = backend_kwargs(opts)
    warn_shared_servers(shared, per_role, {"model": list(models), "judge": list(judges)})
    scores = run_eval(
        out,
        settings,
        backend_options=shared,
        role_backend_options=per_role,
        progress=not no_progress,
    )
    click.echo(format_headline(scores))
    failures = {k: v.model_dump() for k, v in scores.failures.items()}
    n_answers, n_judge = failures["answers"]["failed"], failures["judgements"]["failed"]
    if n_answers or n_judge:
        click.echo(
            f"failed for good: {n_answers} answers, {n_judge} judgements "
            "(rerun the same command to retry them)"
        )
    if report:
        from valuealign.report import write_report

        click.echo(f"report: {write_report(out)}")
    from valuealign.records import check_total_failure

    check_total_failure("eval: every answer request", failures["answers"])
    check_total_failure("eval: every judge request", failures["judgements"])


def format_headline(scores: dict | ScoresSummary) -> str:
    if not isinstance(scores, ScoresSummary):
        scores = ScoresSummary.model_validate(scores)
    warn = [f"WARNING: {w}" for w in scores.judge_warnings]
    warn += [f"WARNING: {w}" for w in scores.total_warnings]
    lines = [
        *warn,
        f"{'model':<36} {'lang':<4} {'total':>12} {'mean':>6} {'95% CI':>13} {'adv.drop':>8} {'over-ref':>8} {'parse-fail':>10}",
    ]
    for model, data in scores.per_model.items():
        for lang, s in data.languages.items():
            # an interval over fewer than two scores means nothing (as in the report)
            ci = (
                "n too small"
                if s.n < 2
                else f"[{s.ci95[0]:.2f},{s.ci95[1]:.2f}]"
                if s.ci95
                else "-"
            )
            mean = f"{s.mean:.2f}" if s.mean is not None else "-"
            drop = f"{s.adversarial_drop:+.2f}" if s.adversarial_drop is not None else "-"
            ref = f"{s.over_refusal_rate:.0%}" if s.over_refusal_rate is not None else "-"
            total = "-" if s.total is None else f"{s.total:g}"  # 52 or 51.5, never 52.0
            lines.append(
                f"{model:<36} {lang:<4} {total:>6}/{s.max_total:<5} {mean:>6} {ci:>13} {drop:>8} {ref:>8} {s.parse_failures:>10}"
                + (f"  INCOMPLETE: {s.missing} of {s.items} items missing" if s.incomplete else "")
                + (f"  slice of {s.slice['benchmark_items']}" if s.slice else "")
            )
        cons = data.cross_lingual_consistency
        if cons.rate is not None:
            lines.append(f"{'':<36} cross-lingual consistency {cons.rate:.0%} (n={cons.n})")
    return "\n".join(lines)
