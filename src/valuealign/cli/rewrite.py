"""``valuealign rewrite`` and ``valuealign eval-rewrite``: the VISA loop and its evaluation."""

from __future__ import annotations

import asyncio
from typing import Any

import click

from valuealign.cli._options import backend_kwargs, backend_options, role_kwargs, role_options

VISA_ROLES = ("rewriter", "answerer", "translator")
EVAL_ROLES = (*VISA_ROLES, "sft-rewriter", "grpo-rewriter")

_TARGET_HELP = (
    "Target values: value=weight pairs ('tradition=+1,security=+1', weights in [-1, 1]) or a "
    "persona in English or Chinese ('someone who prizes tradition and security')."
)


def _backends(
    specs: dict[str, str | None], kwargs: dict[str, Any], per_role: dict[str, dict] | None = None
) -> dict[str, Any]:
    """Role -> backend; roles bound to the same spec and servers share one backend (one load)."""
    from valuealign.backends import get_backend

    made: dict[tuple, Any] = {}
    out: dict[str, Any] = {}
    for role, spec in specs.items():
        if spec is None:
            out[role] = None
            continue
        kw = {**kwargs, **(per_role or {}).get(role, {})}
        key = (spec, tuple(kw.get("base_urls") or ()), kw.get("api_key"))
        if key not in made:
            made[key] = get_backend(spec, **kw)
        out[role] = made[key]
    return out


def _translator(  # type: ignore[no-untyped-def]
    spec: str, taxonomy: str, kwargs: dict[str, Any], per_role: dict[str, dict] | None = None
):
    from valuealign.errors import UserError
    from valuealign.values import llm_model_of

    if spec == "rules":
        return None
    model = llm_model_of(spec, "translator")
    if model is None:
        raise UserError(f"unknown translator {spec!r}", fix="use 'rules' or 'llm:PROVIDER/MODEL'")
    from valuealign.visa import LLMTranslator

    return LLMTranslator(_backends({"translator": model}, kwargs, per_role)["translator"], taxonomy)


def _loop_options(f):  # type: ignore[no-untyped-def]
    f = click.option(
        "--tolerance",
        type=click.FloatRange(0, 2),
        default=0.5,
        show_default=True,
        help="The target is met when every targeted value is within this of its weight.",
    )(f)
    f = click.option(
        "--min-fact-share",
        type=click.FloatRange(0, 1),
        default=0.6,
        show_default=True,
        help="Shield: reject a rewrite keeping less than this share of the facts.",
    )(f)
    f = click.option(
        "--min-similarity",
        type=click.FloatRange(0, 1),
        default=0.6,
        show_default=True,
        help="Shield: reject a rewrite less similar than this to the original.",
    )(f)
    f = click.option(
        "--max-rounds",
        type=click.IntRange(1),
        default=3,
        show_default=True,
        help="Rewrite attempts per input.",
    )(f)
    f = click.option(
        "--similarity",
        type=click.Choice(["meaning", "multilingual", "auto", "tfidf", "embedding"]),
        default="meaning",
        show_default=True,
        help="meaning: Qwen2.5 0.5B sentence vectors (zh, en, mixed) times 0.4 per conflict cue "
        "(a changed number, a flipped negation, a swapped antonym); multilingual: the vectors "
        "alone; auto: MiniLM for English pairs, character TF-IDF otherwise (cheaper, "
        "surface-level for Chinese).",
    )(f)
    f = click.option(
        "--translator",
        default="rules",
        show_default=True,
        metavar="rules|llm:PROVIDER/MODEL",
        help="How a persona --target becomes value weights.",
    )(f)
    f = click.option(
        "--answerer",
        default=None,
        metavar="PROVIDER/MODEL",
        help="Frozen model that answers inputs without an 'answer'.",
    )(f)
    f = click.option(
        "--max-tokens",
        type=click.IntRange(1),
        default=512,
        show_default=True,
        help="Rewrite length.",
    )(f)
    f = click.option("--seed", type=int, default=0, show_default=True)(f)
    return f


@click.command()
@click.option("--target", required=True, help=_TARGET_HELP)
@click.option(
    "--input",
    "input_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="JSONL with id, query and (optionally) answer and language per line.",
)
@click.option("--rewriter", required=True, metavar="PROVIDER/MODEL")
@click.option(
    "--out", required=True, type=click.Path(file_okay=False), help="Run directory (reruns resume)."
)
@click.option(
    "--detector",
    default="keywords",
    show_default=True,
    help="Value detector steering the loop: keywords, lexicon, llm:P/M, classifier[:DIR].",
)
@click.option(
    "--taxonomy",
    default="schwartz10",
    show_default=True,
    type=click.Choice(["schwartz10", "schwartz19"]),
)
@_loop_options
@role_options(*VISA_ROLES)
@backend_options
def rewrite(
    target: str,
    input_path: str,
    rewriter: str,
    out: str,
    detector: str,
    taxonomy: str,
    tolerance: float,
    min_fact_share: float,
    min_similarity: float,
    max_rounds: int,
    similarity: str,
    translator: str,
    answerer: str | None,
    max_tokens: int,
    seed: int,
    **opts: Any,
) -> None:
    """Move answers to a target value profile without losing their meaning (VISA).

    Each answer is scored by the detector, the gap to the target becomes a rewrite
    instruction, the rewriter rewrites, and the shield rejects rewrites that lose meaning or
    facts; up to --max-rounds times. One record per input id goes to OUT/rewrites.jsonl.

    \b
    Example (no GPU, no key):
      valuealign rewrite --target "tradition=+1,security=+1" --input answers.jsonl \\
          --rewriter hf/smollm2-135m-instruct --out runs/visa
    """
    from valuealign.backends import aclose_all
    from valuealign.visa import (
        VisaSettings,
        arun_rewrite,
        get_value_detector,
        is_explicit_target,
        load_inputs,
        resolve_target,
    )

    opts = dict(opts)
    per_role = role_kwargs(opts, VISA_ROLES)
    kwargs = backend_kwargs(opts)
    settings = VisaSettings(
        max_rounds=max_rounds,
        min_similarity=min_similarity,
        min_fact_share=min_fact_share,
        tolerance=tolerance,
        detector=detector,
        similarity=similarity,
        rewrite_max_tokens=max_tokens,
        concurrency=kwargs["concurrency"],
        seed=seed,
    )
    llm = (
        _translator(translator, taxonomy, kwargs, per_role)
        if not is_explicit_target(target)
        else None
    )
    value_target = asyncio.run(resolve_target(target, taxonomy)) if llm is None else None
    inputs = load_inputs(input_path)
    get_value_detector(detector)
    if answerer is None and any(it.answer is None for it in inputs):
        first = next(it.id for it in inputs if it.answer is None)
        from valuealign.errors import UserError

        raise UserError(
            f"{input_path}: input {first!r} has no 'answer' and no --answerer is set",
            fix="add answers to the input, or pass --answerer PROVIDER/MODEL",
        )
    roles = _backends({"rewriter": rewriter, "answerer": answerer}, kwargs, per_role)

    async def go() -> dict[str, Any]:
        try:
            tgt = value_target or await resolve_target(target, taxonomy, llm)
            click.echo(f"rewrite: target {tgt}")
            return await arun_rewrite(
                inputs,
                tgt,
                out,
                rewriter=roles["rewriter"],
                answerer=roles["answerer"],
                settings=settings,
                persona=None if is_explicit_target(target) else target,
                log=click.echo,
            )
        finally:
            await aclose_all(*{id(b): b for b in roles.values() if b is not None}.values())
            if llm is not None:
                await aclose_all(llm.backend)

    stats = asyncio.run(go())
    click.echo(
        f"rewrite: {stats['ok']} done ({stats['met']} met the target, {stats['changed']} changed), "
        f"{stats['failed']} failed, {stats['skipped']} already done of {stats['planned']} -> "
        f"{stats['path']}"
    )


@click.command("eval-rewrite")
@click.option(
    "--input",
    "input_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="DIR/rewrites.jsonl from `valuealign rewrite`, or an answers JSONL (then VISA runs).",
)
@click.option("--target", default=None, help=_TARGET_HELP + " Default: the rewrites' target.")
@click.option(
    "--detector",
    default="lexicon",
    show_default=True,
    help="Evaluation detector; must differ from the one that steered the rewrites.",
)
@click.option(
    "--reward-detector",
    default=None,
    help="The detector that steered the rewrites (default: as recorded, else keywords).",
)
@click.option(
    "--rewriter",
    default=None,
    metavar="PROVIDER/MODEL",
    help="Rewriter for the one-shot prompting baseline (and for VISA on plain answers).",
)
@click.option(
    "--sft-rewriter",
    default=None,
    metavar="PROVIDER/MODEL",
    help="A rewriter fine-tuned on gated rewrites (visa sft-data -> train sft): one more "
    "system, asked once with the loop's rewrite prompt.",
)
@click.option(
    "--grpo-rewriter",
    default=None,
    metavar="PROVIDER/MODEL",
    help="The GRPO-trained rewriter (train rewriter): one more system, asked the same way.",
)
@click.option(
    "--out",
    default=None,
    type=click.Path(file_okay=False),
    help="Where scores.json and the report go (default: the input's folder).",
)
@click.option(
    "--allow-same-detector",
    is_flag=True,
    help="Evaluate with the steering detector anyway (flagged in the scores).",
)
@_loop_options
@role_options(*EVAL_ROLES)
@backend_options
def eval_rewrite(
    input_path: str,
    target: str | None,
    detector: str,
    reward_detector: str | None,
    rewriter: str | None,
    sft_rewriter: str | None,
    grpo_rewriter: str | None,
    out: str | None,
    allow_same_detector: bool,
    tolerance: float,
    min_fact_share: float,
    min_similarity: float,
    max_rounds: int,
    similarity: str,
    translator: str,
    answerer: str | None,
    max_tokens: int,
    seed: int,
    **opts: Any,
) -> None:
    """Compare the original answers, a prompting baseline, trained rewriters and VISA under an
    independent detector.

    Writes scores.json, rewrite-eval.jsonl, rewrite-report.md and rewrite-report.html.

    \b
    Example:
      valuealign eval-rewrite --input runs/visa/rewrites.jsonl --detector lexicon \\
          --rewriter hf/smollm2-135m-instruct --sft-rewriter hf/runs/visa/sft-rewriter
    """
    from valuealign.backends import aclose_all
    from valuealign.visa import EvalRewriteSettings, VisaSettings, arun_eval_rewrite
    from valuealign.visa.translator import is_explicit_target

    opts = dict(opts)
    per_role = role_kwargs(opts, EVAL_ROLES)
    kwargs = backend_kwargs(opts)
    if target is not None and not is_explicit_target(target) and translator == "rules":
        from valuealign.visa import translate_persona

        translate_persona(target)
    settings = EvalRewriteSettings(
        detector=detector,
        reward_detector=reward_detector,
        similarity=similarity,
        tolerance=tolerance,
        allow_same_detector=allow_same_detector,
        baseline_max_tokens=max_tokens,
        concurrency=kwargs["concurrency"],
    )
    loop_settings = VisaSettings(
        max_rounds=max_rounds,
        min_similarity=min_similarity,
        min_fact_share=min_fact_share,
        tolerance=tolerance,
        detector=reward_detector or "keywords",
        similarity=similarity,
        rewrite_max_tokens=max_tokens,
        concurrency=kwargs["concurrency"],
        seed=seed,
    )
    llm = (
        _translator(translator, "schwartz10", kwargs, per_role)
        if target is not None and not is_explicit_target(target)
        else None
    )
    roles = _backends(
        {
            "rewriter": rewriter,
            "answerer": answerer,
            "sft-rewriter": sft_rewriter,
            "grpo-rewriter": grpo_rewriter,
        },
        kwargs,
        per_role,
    )

    async def go() -> dict[str, Any]:
        try:
            return await arun_eval_rewrite(
                input_path,
                out,
                target=target,
                rewriter=roles["rewriter"],
                answerer=roles["answerer"],
                sft_rewriter=roles["sft-rewriter"],
                grpo_rewriter=roles["grpo-rewriter"],
                translator=llm,
                settings=settings,
                loop_settings=loop_settings,
                log=click.echo,
            )
        finally:
            await aclose_all(*{id(b): b for b in roles.values() if b is not None}.values())
            if llm is not None:
                await aclose_all(llm.backend)

    scores = asyncio.run(go())
    table = scores["scores"]["evaluation"]
    click.echo(
        f"eval-rewrite: target {scores['target']}, {scores['n_scored']} inputs, evaluation "
        f"detector {scores['detectors']['evaluation']} (steering: {scores['detectors']['reward']})"
    )
    for system in scores["systems"]:
        s = table.get(system, {})
        if not s.get("n"):
            continue
        click.echo(
            f"  {system:9s} precision {_f(s.get('value_precision'))}  hit {_f(s.get('hit_rate'))}"
            f"  drift {_f(s.get('untargeted_drift'))}  similarity {_f(s.get('similarity'))}"
            f"  facts {_f(s.get('fact_share'))}  novel {_f(s.get('novel_entities'))}"
        )
    for lang, ind in (scores.get("independent_by_language") or {}).items():
        if not ind["independent"]:
            click.echo(
                f"  warning ({lang}): the evaluation detector {ind['evaluation']} is not "
                f"independent of the steering one {ind['steering']}"
            )
    where = out or "the input's folder"
    click.echo(f"  wrote scores.json, rewrite-report.md and rewrite-report.html to {where}")


def _f(x: Any) -> str:
    return "-" if x is None else f"{x:.2f}"
