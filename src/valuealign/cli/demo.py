"""``valuealign demo``: the main job on the embedded model (see valuealign.demo)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from valuealign.cli._options import backend_kwargs, backend_options


@click.command()
@click.option("--out", default="runs/demo", show_default=True, type=click.Path(file_okay=False))
@click.option(
    "--model", "-m", default="hf/smollm2-135m-instruct", show_default=True, metavar="PROVIDER/MODEL"
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
    help="How many subdomains to ask about (spread over the domains).",
)
@click.option("--languages", default="zh,en", show_default=True)
@click.option("--max-tokens", type=click.IntRange(1), default=96, show_default=True)
@click.option(
    "--judge",
    default=None,
    metavar="PROVIDER/MODEL",
    help="Judge for the evaluation (default: --model).",
)
@click.option(
    "--no-eval",
    is_flag=True,
    help="Only ask the charter questions; skip the evaluation and report.",
)
@click.option("--no-generate", is_flag=True, help="Skip the Attacker -> Actor -> Critic stage.")
@click.option("--no-consensus", is_flag=True, help="Skip the cultural negotiation stage.")
@click.option("--no-curate", is_flag=True, help="Skip curating the built-in sample corpus.")
@click.option("--no-train", is_flag=True, help="Skip the CPT -> SFT -> adversarial LoRA chain.")
@click.option(
    "--train-steps", type=click.IntRange(1), default=2, show_default=True, help="Steps per stage."
)
@click.option("--no-progress", is_flag=True)
@backend_options
def demo(
    out: str,
    model: str,
    charter: str,
    n_subdomains: int,
    languages: str,
    max_tokens: int,
    judge: str | None,
    no_eval: bool,
    no_generate: bool,
    no_consensus: bool,
    no_curate: bool,
    no_train: bool,
    train_steps: int,
    no_progress: bool,
    **opts: object,
) -> None:
    """Ask charter questions in Chinese and English and write a run directory."""
    from valuealign.demo import run_demo

    langs = tuple(x.strip() for x in languages.split(",") if x.strip())
    manifest = run_demo(
        out,
        model=model,
        charter=charter,
        n_subdomains=n_subdomains,
        languages=langs,
        max_tokens=max_tokens,
        progress=not no_progress,
        judge=judge,
        evaluate=not no_eval,
        generate=not no_generate,
        consensus=not no_consensus,
        curate=not no_curate,
        train=not no_train,
        train_steps=train_steps,
        backend_options=backend_kwargs(dict(opts)),
    )
    c = manifest["counts"]
    click.echo(
        f"demo: {c['answered']}/{c['planned']} answered, {c['failed']} failed "
        f"({c['resumed_from_disk']} already on disk, {c['cache_hits']} from cache) -> {out}"
    )
    from valuealign.records import AnswerRecord, read_jsonl

    for r in read_jsonl(f"{out}/answers.jsonl", AnswerRecord):
        text = (r.answer or f"[failed: {r.error}]").replace("\n", " ")
        click.echo(f"  [{r.language}] {r.subdomain}: {r.question}\n      -> {text[:160]}")
    if "generate" in manifest:
        g = manifest["generate"]
        click.echo(
            f"\ngenerated pairs (Attacker -> Actor -> Critic, same model): {g['kept']} kept, "
            f"{g['rejected']} rejected, {g['failed']} failed -> {Path(out, 'generate')}"
        )
    if "curate" in manifest:
        cu = manifest["curate"]
        docs = cu.get("documents", {})
        click.echo(
            f"\ncurated the built-in sample corpus: {docs.get('read', '?')} documents read, "
            f"{docs.get('curated', '?')} kept, {cu.get('sequences')} packed sequences "
            f"-> {Path(out, 'curate')}"
        )
    if "train" in manifest:
        t = manifest["train"]
        if "skipped" in t:
            click.echo(f"\ntraining skipped: {t['skipped']}")
        else:
            click.echo("\ntraining chain (a few LoRA steps per stage on the CPU):")
            for note in t["notes"]:
                click.echo(f"  note: {note}")
            for stage, st in t["stages"].items():
                drift = st.get("drift") or {}
                ppl = ", ".join(
                    f"{lang} ppl {d['base']:.1f}->{d['trained']:.1f}" for lang, d in drift.items()
                )
                click.echo(
                    f"  {stage:<12} {st['steps']} steps, loss {st['loss_first']:.3f} -> "
                    f"{st['loss_last']:.3f}; {ppl}"
                )
            click.echo(f"  trained model: {t['model']}")
    if "eval" in manifest:
        from valuealign.cli.eval import format_headline

        scores = json.loads(Path(out, "eval", "scores.json").read_text(encoding="utf-8"))
        click.echo("\nevaluation on a benchmark slice (the same model as judge):")
        click.echo(format_headline(scores))
        click.echo(f"report: {Path(out, manifest['eval']['report'])}")
    if "consensus" in manifest:
        c2 = manifest["consensus"]
        click.echo(
            f"\nnegotiation (confucian vs protestant-europe, PSRO): {c2['mean_rounds_used']} rounds, "
            f"NashConv {c2['mean_nash_conv']}, PBA gain {c2['mean_pba_gain']} -> {Path(out, c2['report'])}"
        )
