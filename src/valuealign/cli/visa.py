"""``valuealign visa ...``: VISA utilities (the rewriter's GRPO training data)."""

from __future__ import annotations

from typing import Any

import click

from valuealign.cli._options import backend_kwargs, backend_options, role_kwargs, role_options
from valuealign.lang import LANGS


@click.group()
def visa() -> None:
    """VISA value rewriting: training data for the GRPO rewriter.

    \b
    See also: valuealign rewrite (the loop), valuealign eval-rewrite (its evaluation).
    """


def _read_personas(path: str) -> list[str]:
    from pathlib import Path

    from valuealign.errors import UserError
    from valuealign.records import read_text_lines
    from valuealign.visa import translate_persona

    lines = read_text_lines(Path(path))
    personas = []
    for lineno, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            translate_persona(text)
        except UserError as e:
            raise UserError(f"{path}:{lineno}: {e.message}", fix=e.fix) from None
        personas.append(text)
    if not personas:
        raise UserError(f"{path}: no personas", fix="write one persona per line")
    return personas


@visa.command("make-data")
@click.option("--answerer", required=True, metavar="PROVIDER/MODEL", help="The frozen model.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="JSONL file to write.")
@click.option("--n", "n", type=click.IntRange(1), default=64, show_default=True)
@click.option("--languages", default="en,zh", show_default=True)
@click.option(
    "--queries",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="JSONL with id, query, language per line (default: charter examples + the shipped VISA prompts, none of them benchmark questions).",
)
@click.option(
    "--personas",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="Text file, one persona (or value=weight target) per line (default: built-in set).",
)
@click.option("--detector", default="keywords", show_default=True)
@click.option("--tolerance", type=click.FloatRange(0, 2), default=0.5, show_default=True)
@click.option("--max-tokens", type=click.IntRange(1), default=256, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@role_options("answerer")
@backend_options
def make_data(
    answerer: str,
    out: str,
    n: int,
    languages: str,
    queries: str | None,
    personas: str | None,
    detector: str,
    tolerance: float,
    max_tokens: int,
    seed: int,
    **opts: Any,
) -> None:
    """Write GRPO training rows for the rewriter: prompt, original, target, language.

    \b
    Example:
      valuealign visa make-data --answerer hf/smollm2-135m-instruct --n 32 --out data/visa.jsonl
    """
    from valuealign.backends import get_backend
    from valuealign.errors import UserError
    from valuealign.records import check_output_file, check_total_failure
    from valuealign.visa import build_rewriter_dataset, get_value_detector
    from valuealign.visa.dataset import load_queries

    langs = [x.strip() for x in languages.split(",") if x.strip()]
    bad = [x for x in langs if x not in LANGS]
    if not langs or bad:
        raise UserError(f"bad --languages {languages!r}", fix="use en, zh or en,zh")
    check_output_file(out, "--out")  # before any model is asked
    query_items = load_queries(queries) if queries is not None else None
    persona_list = _read_personas(personas) if personas is not None else None
    get_value_detector(detector)
    opts = dict(opts)
    per_role = role_kwargs(opts, ("answerer",))
    backend = get_backend(answerer, **{**backend_kwargs(opts), **per_role["answerer"]})
    rows = build_rewriter_dataset(
        backend,
        out,
        n=n,
        queries=query_items,
        personas=persona_list,
        languages=langs,
        detector=detector,
        tolerance=tolerance,
        max_tokens=max_tokens,
        concurrency=int(opts.get("concurrency", 16)),
        seed=seed,
        failures=(failures := {}),
    )
    by_lang: dict[str, int] = {}
    for r in rows:
        by_lang[r["language"]] = by_lang.get(r["language"], 0) + 1
    shown = ", ".join(f"{k} {v}" for k, v in sorted(by_lang.items())) or "none"
    click.echo(
        f"visa make-data: {len(rows)} rows ({shown}) -> {out}; "
        f"{failures['failed']} of {failures['planned']} answer requests failed"
    )
    check_total_failure("visa make-data: every answer request", failures)


@visa.command("sft-data")
@click.option(
    "--input",
    "input_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="Rows from `valuealign visa make-data`.",
)
@click.option("--rewriter", required=True, metavar="PROVIDER/MODEL", help="The model to sample.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="JSONL file to write.")
@click.option("--samples", type=click.IntRange(1), default=4, show_default=True)
@click.option("--temperature", type=click.FloatRange(0, 2), default=0.8, show_default=True)
@click.option(
    "--min-reward",
    type=float,
    default=0.0,
    show_default=True,
    help="Keep a rewrite only above this reward (a copy earns 0).",
)
@click.option("--detector", default="keywords", show_default=True, help="The reward's detector.")
@click.option(
    "--similarity",
    type=click.Choice(["multilingual", "meaning", "auto", "tfidf", "embedding"]),
    default="meaning",
    show_default=True,
    help="The reward's meaning measure.",
)
@click.option("--max-tokens", type=click.IntRange(1), default=256, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@role_options("rewriter")
@backend_options
def sft_data(
    input_path: str,
    rewriter: str,
    out: str,
    samples: int,
    temperature: float,
    min_reward: float,
    detector: str,
    similarity: str,
    max_tokens: int,
    seed: int,
    **opts: Any,
) -> None:
    """Write SFT rows for the rewriter baseline: the best gated rewrite of each make-data row.

    Each row of --input is rewritten --samples times (the first greedily); the composite reward
    scores every rewrite, and the best one that passes the content gate and earns more than
    --min-reward becomes an assistant turn. Train on the output with `valuealign train sft`.

    \b
    Example:
      valuealign visa make-data --answerer hf/smollm2-135m-instruct --n 32 --out runs/visa/triples.jsonl
      valuealign visa sft-data --input runs/visa/triples.jsonl \\
          --rewriter hf/smollm2-135m-instruct --out runs/visa/sft.jsonl
      valuealign train sft --model hf/smollm2-135m-instruct --data runs/visa/sft.jsonl \\
          --out runs/visa/sft-rewriter
    """
    from valuealign.backends import get_backend
    from valuealign.errors import UserError
    from valuealign.records import check_output_file
    from valuealign.visa import VisaReward, get_value_detector
    from valuealign.visa.sft import build_sft_dataset, load_rewriter_rows

    check_output_file(out, "--out")
    load_rewriter_rows(input_path)  # a bad line stops here, before any model loads
    get_value_detector(detector)
    opts = dict(opts)
    per_role = role_kwargs(opts, ("rewriter",))
    kwargs = backend_kwargs(opts)
    backend = get_backend(rewriter, **{**kwargs, **per_role["rewriter"]})
    rows, counts = build_sft_dataset(
        input_path,
        backend,
        out,
        reward=VisaReward(detector=detector, similarity=similarity),
        samples=samples,
        temperature=temperature,
        max_tokens=max_tokens,
        min_reward=min_reward,
        concurrency=int(kwargs.get("concurrency") or 8),
        seed=seed,
        progress=lambda msg: click.echo(msg, err=True),
    )
    click.echo(
        f"visa sft-data: {counts['kept']} of {counts['rows']} rows kept -> {out} "
        f"({counts['all_gated']} with every rewrite gated, {counts['no_gain']} with no rewrite "
        f"above reward {min_reward:g}, {counts['failed']} with every request failed)"
    )
    if not rows:
        raise UserError(
            "no rewrite passed the gate with a reward above --min-reward: nothing to train on",
            fix="raise --samples, lower --min-reward or use a stronger --rewriter",
        )
