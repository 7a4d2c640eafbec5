"""``valuealign values``: list value taxonomies, evaluate and train value detectors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from valuealign.cli._options import backend_kwargs, backend_options

_TAXONOMY = click.option(
    "--taxonomy",
    default="schwartz10",
    show_default=True,
    metavar="schwartz10|schwartz19",
    help="Value taxonomy of the data and the detector.",
)


@click.group()
def values() -> None:
    """Value taxonomies (Schwartz 10 / 19) and value detectors.

    \b
    Examples:
      valuealign values list --taxonomy schwartz19
      valuealign values target "tradition=+1,security=+1,self-direction=-1"
      valuealign values eval-detector --detector keywords
      valuealign values eval-detector --detector llm:openai/qwen2.5-72b --out llm.json
      valuealign values train-detector builtin --out my-classifier
      valuealign values eval-detector --detector classifier:my-classifier
    """


@values.command(name="list")
@_TAXONOMY
@click.option(
    "--language", type=click.Choice(["en", "zh", "both"]), default="both", show_default=True
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_(taxonomy: str, language: str, as_json: bool) -> None:
    """List the values of a taxonomy with their names and definitions."""
    from valuealign.values.taxonomy import get_taxonomy

    tax = get_taxonomy(taxonomy)
    if as_json:
        rows = [
            {
                "id": v,
                "parent": tax.parent[v],
                "name": dict(tax.names[v]),
                "definition": dict(tax.definitions[v]),
            }
            for v in tax.values
        ]
        click.echo(json.dumps({"taxonomy": tax.id, "values": rows}, ensure_ascii=False, indent=2))
        return
    click.echo(f"{tax.id}: {tax.description} ({len(tax)} values)")
    width = max(len(v) for v in tax.values)
    langs = ("en", "zh") if language == "both" else (language,)
    for v in tax.values:
        parent = f"  [{tax.parent[v]}]" if tax.parent[v] != v else ""
        click.echo(f"\n{v:<{width}}{parent}")
        for lang in langs:
            click.echo(f"  {lang}  {tax.names[v][lang]}: {tax.definitions[v][lang]}")


@values.command(name="target")
@click.argument("target", metavar="TARGET")
@_TAXONOMY
def target_(target: str, taxonomy: str) -> None:
    """Check a value target such as 'tradition=+1,security=+1,self-direction=-1'.

    Prints the target over the taxonomy, one value a line (unconstrained values as '.').
    """
    from valuealign.values.target import ValueTarget

    parsed = ValueTarget.parse(target, taxonomy)
    click.echo(f"{parsed}  ({parsed.taxonomy.id}, {len(parsed.values)} constrained)")
    width = max(len(v) for v in parsed.taxonomy.values)
    for value, weight, on in zip(
        parsed.taxonomy.values, parsed.weights, parsed.constrained, strict=True
    ):
        click.echo(f"  {value:<{width}}  {f'{weight:+.2f}' if on else '.'}")


@values.command(name="eval-detector")
@click.option(
    "--data",
    default=None,
    metavar="FILE.jsonl",
    help="Labelled JSONL ({id, text, language, values}); default: the shipped set.",
)
@click.option(
    "--split",
    type=click.Choice(["test", "train", "all"]),
    default=None,
    help="Part of the data by id (h-... ids are always test, x-... always train, others by "
    "hash). Default: test for the shipped set, all for --data.",
)
@click.option(
    "--detector",
    "-d",
    "detectors",
    multiple=True,
    metavar="SPEC",
    help="keywords | lexicon | llm:PROVIDER/MODEL | classifier[:DIR] (repeat to compare; "
    "default: keywords).",
)
@_TAXONOMY
@click.option(
    "--threshold",
    type=click.FloatRange(0.0, 1.0),
    default=0.0,
    show_default=True,
    help="A score counts as a label when |score| > threshold.",
)
@click.option(
    "--llm-retries",
    type=click.IntRange(0),
    default=2,
    show_default=True,
    help="Re-ask an LLM detector this many times when its reply does not parse.",
)
@click.option("--out", default=None, type=click.Path(dir_okay=False), help="Write JSON here.")
@backend_options
def eval_detector(
    data: str | None,
    split: str | None,
    detectors: tuple[str, ...],
    taxonomy: str,
    threshold: float,
    llm_retries: int,
    out: str | None,
    **opts: Any,
) -> None:
    """Per-value precision, recall and F1 of value detectors on labelled texts.

    A prediction counts when it is non-zero and its direction (+1 promote, -1 oppose) matches
    the gold label; macro-F1 averages the per-value F1 (see valuealign.values.metrics).
    """
    from valuealign.values import get_detector, llm_model_of
    from valuealign.values.labelled import load_labelled
    from valuealign.values.metrics import evaluate_detector

    labelled = load_labelled(data, taxonomy=taxonomy)
    part = split or ("all" if data else "test")
    subset = labelled.split(part)  # type: ignore[arg-type]
    source = data or "shipped labelled set"
    click.echo(f"data: {source}, split {part}: {len(subset)} texts, taxonomy {subset.taxonomy.id}")
    kwargs = backend_kwargs(dict(opts))
    reports = []
    for spec in detectors or ("keywords",):
        extra: dict[str, Any] = {}
        if llm_model_of(spec) is not None:
            extra = {k: v for k, v in kwargs.items() if v is not None}
            extra["max_parse_retries"] = llm_retries
            extra["taxonomy"] = subset.taxonomy
        detector = get_detector(spec, **extra)
        report = evaluate_detector(detector, subset, threshold=threshold)
        _print_report(report)
        reports.append(report.to_json())
    if out:
        payload = {"data": source, "split": part, "n": len(subset), "reports": reports}
        _write_json(Path(out), payload)
        click.echo(f"wrote {out}")


def _fmt(x: float) -> str:
    return f"{x:.2f}"


def _print_report(report: Any) -> None:
    click.echo("")
    click.echo(
        f"detector {report.detector}: {report.n} texts"
        + (f", {report.failed} failed (not scored)" if report.failed else "")
    )
    width = max(len(v.value) for v in report.values)
    head = f"{'value':<{width}}  {'P':>5} {'R':>5} {'F1':>5}   {'P+':>5} {'R+':>5} {'F1+':>5}"
    click.echo(head + f"   {'P-':>5} {'R-':>5} {'F1-':>5}   {'gold +/-':>8}")
    for v in report.values:
        o, p, m = v.overall, v.promote, v.oppose
        mark = "  (no labels)" if v.value in report.skipped else ""
        click.echo(
            f"{v.value:<{width}}  {_fmt(o.precision):>5} {_fmt(o.recall):>5} {_fmt(o.f1):>5}"
            f"   {_fmt(p.precision):>5} {_fmt(p.recall):>5} {_fmt(p.f1):>5}"
            f"   {_fmt(m.precision):>5} {_fmt(m.recall):>5} {_fmt(m.f1):>5}"
            f"   {p.support:>4}/{m.support:<3}{mark}"
        )
    micro = report.micro
    langs = ", ".join(f"{k} {v['macro_f1']:.3f}" for k, v in report.by_language.items())
    click.echo(
        f"macro-F1 {report.macro_f1:.3f} (promote {report.macro_f1_promote:.3f}, "
        f"oppose {report.macro_f1_oppose:.3f}); micro P {micro.precision:.3f} "
        f"R {micro.recall:.3f} F1 {micro.f1:.3f}" + (f"; by language: {langs}" if langs else "")
    )


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    from valuealign.records import write_json_atomic

    write_json_atomic(path, payload)


@values.command(name="train-detector")
@click.argument("data", metavar="DATA")
@click.option(
    "--out",
    default="value-classifier",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for model.json and weights.npz.",
)
@click.option(
    "--precision-target",
    type=click.FloatRange(0.0, 1.0, min_open=True),
    default=0.8,
    show_default=True,
    help="Calibrate each head's threshold to reach this cross-validated precision.",
)
@click.option(
    "--split",
    type=click.Choice(["train", "all"]),
    default="train",
    show_default=True,
    help="Train on the train part (by id hash; eval-detector scores the test part) or on all.",
)
@_TAXONOMY
@click.option("--no-embeddings", is_flag=True, help="Character n-grams and keywords only.")
def train_detector(
    data: str,
    out: str,
    precision_target: float,
    split: str,
    taxonomy: str,
    no_embeddings: bool,
) -> None:
    """Train the value classifier on DATA (a labelled JSONL file, or 'builtin').

    \b
    Example:
      valuealign values train-detector builtin --out my-classifier
      valuealign values eval-detector --detector classifier:my-classifier
    """
    from valuealign.values.classifier import ClassifierSettings, train_classifier
    from valuealign.values.labelled import load_labelled

    labelled = load_labelled(None if data == "builtin" else data, taxonomy=taxonomy)
    subset = labelled.split(split)  # type: ignore[arg-type]
    settings = ClassifierSettings(
        precision_target=precision_target, use_embeddings=not no_embeddings
    )
    click.echo(f"training on {len(subset)} texts ({split} split of {data})")
    model = train_classifier(subset, settings, progress=lambda msg: click.echo(f"  {msg}"))
    model.save(out)
    reached = model.training["heads_reaching_target"]
    click.echo(f"{reached}/{len(model.heads)} heads reach precision {precision_target:g}:")
    for h in model.heads:
        sign = "+" if h.direction > 0 else "-"
        est = (
            f"t={h.threshold:.2f} P~{h.precision:.2f} R~{h.recall:.2f}"
            if h.threshold is not None
            else "off"
        )
        click.echo(f"  {h.value}{sign}: {h.rule}; {est} ({h.positives} positives)")
    click.echo(f"saved to {out} (use --detector classifier:{out})")
