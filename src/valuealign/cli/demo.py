"""``valuealign demo``: the main job on the embedded models (see valuealign.demo)."""

from __future__ import annotations

from pathlib import Path

import click

from valuealign.cli._options import backend_kwargs, backend_options
from valuealign.runs import ScoresSummary, read_model

ALL_STAGES = ("ask", "curate", "generate", "train", "eval", "consensus")


@click.command()
@click.option("--out", default="runs/demo", show_default=True, type=click.Path(file_okay=False))
@click.option(
    "--model",
    "-m",
    default="hf/qwen2.5-0.5b-instruct",
    show_default=True,
    metavar="PROVIDER/MODEL",
    help="The model being aligned (trained through hf/, served through --engine).",
)
@click.option(
    "--attacker", default="ct2/qwen2.5-1.5b-instruct", show_default=True, metavar="PROVIDER/MODEL"
)
@click.option(
    "--critic", default="ct2/qwen2.5-1.5b-instruct", show_default=True, metavar="PROVIDER/MODEL"
)
@click.option(
    "--judge", default="ct2/qwen2.5-1.5b-instruct", show_default=True, metavar="PROVIDER/MODEL"
)
@click.option(
    "--engine",
    type=click.Choice(["ct2", "hf"]),
    default="ct2",
    show_default=True,
    help="How the hf/ model is served for inference: CTranslate2 int8 (fast) or transformers.",
)
@click.option(
    "--charter", default="builtin:balanced-v1", show_default=True, metavar="FILE|builtin:NAME"
)
@click.option(
    "--subdomains",
    "n_subdomains",
    type=click.IntRange(1),
    default=3,
    show_default=True,
    help="How many subdomains the ask stage covers (spread over the domains).",
)
@click.option(
    "--eval-subdomains",
    type=click.IntRange(1),
    default=5,
    show_default=True,
    help="How many of the charter's subdomains the evaluation covers (13: all).",
)
@click.option(
    "--benign", is_flag=True, help="Also ask the benign controls (over-refusal); doubles eval."
)
@click.option("--languages", default="zh,en", show_default=True)
@click.option("--max-tokens", type=click.IntRange(1), default=96, show_default=True)
@click.option(
    "--gen-n", type=click.IntRange(1), default=4, show_default=True, help="Items to generate."
)
@click.option(
    "--train-steps", type=click.IntRange(1), default=2, show_default=True, help="Steps per stage."
)
@click.option(
    "--stages",
    default="ask,curate,generate,train,eval",
    show_default=True,
    help=f"Stages to run, in order (any of {', '.join(ALL_STAGES)}).",
)
@click.option("--no-progress", is_flag=True)
@backend_options
def demo(
    out: str,
    model: str,
    attacker: str,
    critic: str,
    judge: str,
    engine: str,
    charter: str,
    n_subdomains: int,
    eval_subdomains: int,
    benign: bool,
    languages: str,
    max_tokens: int,
    gen_n: int,
    train_steps: int,
    stages: str,
    no_progress: bool,
    **opts: object,
) -> None:
    """Run the alignment loop end to end on the embedded Qwen models (2 CPU cores, offline).

    \b
    Examples:
      valuealign demo                                  # about 10-15 minutes on 2 cores
      valuealign demo --stages ask,eval --eval-subdomains 3
      valuealign demo --model mock/echo --stages ask   # no model at all
    """
    from valuealign.demo import DemoSettings, StageFailed, run_demo
    from valuealign.errors import UserError

    wanted = tuple(x.strip() for x in stages.split(",") if x.strip())
    unknown = [x for x in wanted if x not in ALL_STAGES]
    if unknown or not wanted:
        raise UserError(
            f"--stages: unknown or empty stage list {stages!r}",
            fix=f"use a comma-separated list of {', '.join(ALL_STAGES)}",
        )
    settings = DemoSettings(
        model=model,
        attacker=attacker,
        critic=critic,
        judge=judge,
        engine=engine,
        charter=charter,
        n_subdomains=n_subdomains,
        eval_subdomains=eval_subdomains,
        benign=benign,
        languages=tuple(x.strip() for x in languages.split(",") if x.strip()),
        max_tokens=max_tokens,
        gen_n=gen_n,
        train_steps=train_steps,
        stages=wanted,
        backend_options=backend_kwargs(dict(opts)),
    )
    try:
        manifest = run_demo(out, settings, progress=not no_progress)
    except StageFailed as e:
        from valuealign.console import is_verbose

        if is_verbose():
            click.echo(e.traceback, err=True, nl=False)
        hint = "" if is_verbose() else "; rerun with `valuealign -v demo ...` to print it"
        raise _Failed(f"{e} (traceback in {e.log}{hint})") from None
    print_summary(out, manifest)


class _Failed(click.ClickException):
    """A stage's bug, told in one line (exit code 1: not bad input)."""

    exit_code = 1

    def show(self, file: object = None) -> None:
        click.echo(f"error: {self.message}", err=True)


def print_summary(out: str, manifest: dict) -> None:
    echo = click.echo
    if "counts" in manifest:
        c = manifest["counts"]
        share = manifest.get("zh_cjk_share")
        echo(
            f"\nask: {c['answered']}/{c['planned']} answered, {c['failed']} failed"
            + (f"; Chinese answers are {share:.0%} CJK characters" if share is not None else "")
        )
        from valuealign.records import AnswerRecord, read_jsonl

        for r in read_jsonl(f"{out}/answers.jsonl", AnswerRecord):
            text = (r.answer or f"[failed: {r.error}]").replace("\n", " ")
            echo(f"  [{r.language}] {r.question}\n      -> {text[:160]}")
    if "curate" in manifest:
        cu = manifest["curate"]
        docs = cu.get("documents", {})
        echo(
            f"\ncurate: {docs.get('read', '?')} sample documents read, {docs.get('curated', '?')} "
            f"kept, {cu.get('sequences')} packed sequences -> {Path(out, 'curate')}"
        )
    if "generate" in manifest:
        g = manifest["generate"]
        echo(
            f"\ngenerate (Attacker -> Actor -> Critic): {g['kept']} kept, {g['rejected']} "
            f"dropped, {g['failed']} failed -> {Path(out, 'generate')}"
        )
        for d in g.get("decisions", []):
            score = f" overall {d['overall']}" if d.get("overall") is not None else ""
            echo(f"  [{d['language']}] {d['item']} {d['decision']}{score}")
            if d.get("query"):
                echo(f"      attack: {d['query'][:140]!s}".replace("\n", " "))
            if d.get("why"):
                echo(f"      why: {str(d['why'])[:160]}".replace("\n", " "))
    if "train" in manifest:
        t = manifest["train"]
        echo("\ntrain (a few LoRA steps per stage on the CPU, each merged):")
        for note in t["notes"]:
            echo(f"  note: {note}")
        for stage, st in t["stages"].items():
            drift = st.get("drift") or {}
            ppl = ", ".join(
                f"{lang} ppl {d['base']:.1f}->{d['trained']:.1f}" for lang, d in drift.items()
            )
            first, last = st["loss_first"], st["loss_last"]
            loss = f"loss {first:.3f} -> {last:.3f}" if first is not None else "no loss logged"
            echo(f"  {stage:<12} {st['steps']} steps, {loss}; {ppl}")
        echo(f"  trained model: {t['model']}")
    if "eval" in manifest:
        from valuealign.cli.eval import format_headline

        e = manifest["eval"]
        scores = read_model(Path(out, "eval", "scores.json"), ScoresSummary)
        echo(f"\neval on a benchmark slice ({e['subdomains']} subdomains), judge {e['judge']}:")
        echo(format_headline(scores))
        echo(f"report: {Path(out, e['report'])}")
    if "consensus" in manifest:
        c2 = manifest["consensus"]
        echo(
            f"\nconsensus (confucian vs protestant-europe, PSRO): "
            f"{_rounds(c2.get('mean_rounds_used'))} on average -> {Path(out, c2['report'])}"
        )
    timings = manifest.get("timings", {})
    if timings:
        echo("\nstage        seconds   peak memory")
        for name, t in timings.items():
            echo(f"  {name:<10} {t['seconds']:>7.0f}   {t['peak_rss_mb'] / 1024:.2f} GB")
        echo(f"  {'total':<10} {manifest.get('wall_seconds', 0):>7.0f}")
    # what the reader must not over-read, for the stages that ran
    caveats = []
    if "train" in manifest:
        caveats.append(
            "A few LoRA steps on 2 CPU cores demonstrate the mechanism; they are not an effect size."
        )
    if "eval" in manifest:
        caveats.append(
            f"The judge is {manifest['eval']['judge']}: treat its verdicts as weak evidence until "
            "`valuealign judge-check` says otherwise."
        )
    if caveats:
        echo("\n" + " ".join(caveats))


def _rounds(mean: float | None) -> str:
    """``2 rounds``, ``1.5 rounds``, ``1 round`` (never ``2.0 rounds``)."""
    if mean is None:
        return "no rounds"
    return f"{mean:g} round{'' if mean == 1 else 's'}"
