"""``valuealign curate``: raw corpus -> filtered, deduped, packed (see valuealign.curate)."""

from __future__ import annotations

import os

import click


@click.command()
@click.option(
    "--charter", default="builtin:balanced-v1", show_default=True, metavar="FILE|builtin:NAME"
)
@click.option(
    "--input",
    "first_input",
    required=True,
    metavar="PATH [PATH ...]",
    help="Input files or folders: .jsonl/.ndjson/.json, .parquet, .txt/.md; .gz or .zst too.",
)
@click.argument("more_inputs", nargs=-1, metavar="", type=click.Path())
@click.option(
    "--out", required=True, type=click.Path(file_okay=False), help="Output folder (reruns resume)."
)
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True)
@click.option(
    "--workers", type=click.IntRange(1), default=None, help="Parallel workers (default: CPU count)."
)
@click.option(
    "--select",
    type=click.Choice(["relevant", "all"]),
    default="relevant",
    show_default=True,
    help="Keep only documents relevant to the charter's subdomains, or all that pass.",
)
@click.option(
    "--min-relevance",
    type=click.FloatRange(0, 1),
    default=0.7,
    show_default=True,
    help="Relevance needed by --select relevant (0.5: one term, 0.75: two, 0.875: three).",
)
@click.option(
    "--lexicon",
    "lexicon_files",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="YAML/JSON file of extra terms: {subdomain-id: {zh: [...], en: [...]}} (repeatable).",
)
@click.option(
    "--red-lines",
    type=click.Choice(["drop", "tag"]),
    default="drop",
    show_default=True,
    help="What a red-line term does to a document.",
)
@click.option("--text-field", default="text", show_default=True, help="JSONL/Parquet text field.")
@click.option("--id-field", default="id", show_default=True, help="JSONL/Parquet id field.")
@click.option(
    "--text-unit",
    type=click.Choice(["paragraph", "line", "file"]),
    default="paragraph",
    show_default=True,
    help="What one document is in a plain-text file.",
)
@click.option(
    "--tokenizer", default="hf/smollm2-135m-instruct", show_default=True, metavar="hf/MODEL"
)
@click.option("--seq-len", type=click.IntRange(2), default=2048, show_default=True)
@click.option(
    "--remainder",
    type=click.Choice(["pad", "drop"]),
    default="pad",
    show_default=True,
    help="The last partial sequence: padded out with EOS, or dropped.",
)
@click.option(
    "--near-dup-threshold",
    type=click.FloatRange(0.3, 1.0),
    default=0.8,
    show_default=True,
    help="Estimated Jaccard similarity (character 5-grams) that makes a near-duplicate.",
)
@click.option(
    "--rows-per-file",
    type=click.IntRange(1),
    default=4096,
    show_default=True,
    help="Packed sequences per Parquet file.",
)
@click.option(
    "--shard-mb",
    type=click.FloatRange(0.001),
    default=64.0,
    show_default=True,
    help="Approximate shard size: the unit of parallel work and of resuming.",
)
@click.option("--keep-work", is_flag=True, help="Keep OUT/_work (per-shard intermediates).")
@click.option("--no-progress", is_flag=True)
def curate(
    charter,
    first_input,
    more_inputs,
    out,
    executor,
    workers,
    select,
    min_relevance,
    lexicon_files,
    red_lines,
    text_field,
    id_field,
    text_unit,
    tokenizer,
    seq_len,
    remainder,
    near_dup_threshold,
    rows_per_file,
    shard_mb,
    keep_work,
    no_progress,
) -> None:
    """Curate a raw corpus for continued pre-training.

    \b
    Read -> normalise -> language (zh/en) -> quality -> charter lexicon -> privacy
    -> dedup (exact + near, global) -> pack into input_ids Parquet shards.
    Writes OUT/curated/*.jsonl, OUT/packed/, OUT/audit/STEP.jsonl and OUT/stats.json.

    \b
    Example:
      valuealign curate --input corpus/*.jsonl.zst --out runs/cpt --workers 8
    """
    from valuealign.curate import CurateSettings, ReadOptions, run_curate

    settings = CurateSettings(
        charter=charter,
        lexicon_files=tuple(lexicon_files),
        select=select,
        min_relevance=min_relevance,
        red_lines=red_lines,
        read=ReadOptions(text_field=text_field, id_field=id_field, text_unit=text_unit),
        near_dup_threshold=near_dup_threshold,
        tokenizer=tokenizer,
        seq_len=seq_len,
        remainder=remainder,
        rows_per_file=rows_per_file,
        shard_mb=shard_mb,
        keep_work=keep_work,
    )
    run_curate(
        [first_input, *more_inputs],
        out,
        settings,
        executor=executor,
        workers=workers or os.cpu_count() or 1,
        progress=not no_progress,
        log=click.echo,
    )
