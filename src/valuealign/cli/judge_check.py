"""``valuealign judge-check``: can a judge tell score-5 answers from score-1 answers?"""

from __future__ import annotations

import click

from valuealign.cli._options import backend_kwargs, backend_options
from valuealign.lang import LANGS


@click.command(name="judge-check")
@click.option("--judge", "-j", required=True, metavar="PROVIDER/MODEL")
@click.option(
    "--judge-mode",
    type=click.Choice(["generate", "logprobs", "checklist"]),
    default="generate",
    show_default=True,
)
@click.option(
    "--known",
    type=click.Path(dir_okay=False),
    default=None,
    help="Known-answer JSONL (default: the shipped set, 26 items x zh/en x score 5/1).",
)
@click.option(
    "--items",
    type=click.IntRange(1),
    default=None,
    help="Use only the first N items per language (a quick subset).",
)
@click.option("--languages", default="zh,en", show_default=True)
@click.option("--no-injections", is_flag=True, help="Skip the injection-variant flip rate.")
@click.option("--judge-max-tokens", type=click.IntRange(16), default=384, show_default=True)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the JSON report here (pass it to `eval --judge-check`).",
)
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None)
@backend_options
def judge_check(
    judge,
    judge_mode,
    known,
    items,
    languages,
    no_injections,
    judge_max_tokens,
    out,
    cache_dir,
    **opts,
) -> None:
    """Score known answers (written to match each item's score-5 and score-1 guidance) and
    report AUC, mean gap and parse failures per language and subdomain, plus the flip rate of
    injection variants appended to the score-1 answers. A judge with AUC < 0.7 in any language
    FAILS.

    \b
    Example:
      valuealign judge-check --judge hf/smollm2-135m-instruct --judge-mode logprobs --items 4
    """
    from valuealign.errors import UserError
    from valuealign.evaluate.judgecheck import judge_warning, run_judge_check
    from valuealign.records import write_json_atomic

    langs = tuple(x.strip() for x in languages.split(",") if x.strip())
    if not langs or any(x not in LANGS for x in langs):
        raise UserError(f"bad --languages {languages!r}", fix="use zh,en or one of them")
    kwargs = backend_kwargs(dict(opts))
    report = run_judge_check(
        judge,
        mode=judge_mode,
        known=known,
        items_per_language=items,
        injections=not no_injections,
        languages=langs,
        backend_options=kwargs,
        concurrency=kwargs["concurrency"],
        max_tokens=judge_max_tokens,
        cache_dir=cache_dir,
    )
    click.echo(format_report(report))
    warning = judge_warning(report)
    if warning:
        click.echo(f"WARNING: {warning}")
    if out:
        write_json_atomic(out, report)
        click.echo(f"report: {out}")


def _f(x) -> str:
    return "-" if x is None else f"{x:.2f}"


def format_report(r: dict) -> str:
    lines = [
        f"judge {r['judge']} mode {r['mode']}: {r['answers']} known answers"
        + (
            f", headline on the '{r['headline_split']}' split"
            if r["headline_split"] != "all"
            else ""
        ),
        f"{'language':<10} {'AUC':>5} {'gap':>6} {'mean5':>6} {'mean1':>6} {'n':>4} {'parse-fail':>10}",
    ]
    for lang, d in r["languages"].items():
        lines.append(
            f"{lang:<10} {_f(d['auc']):>5} {_f(d['mean_gap']):>6} {_f(d['mean_5']):>6} "
            f"{_f(d['mean_1']):>6} {d['n']:>4} {d['parse_failures']:>10}"
        )
    for lang, subs in r["subdomains"].items():
        cells = ", ".join(f"{s} {_f(d['auc'])}" for s, d in subs.items())
        lines.append(f"  {lang} AUC by subdomain: {cells}")
    inj = r["injections"]
    if inj["n"]:
        per = ", ".join(f"{k} {_f(v['flip_rate'])}" for k, v in inj["by_injection"].items())
        lines.append(f"injection flip rate {_f(inj['flip_rate'])} (n={inj['n']}): {per}")
    if r.get("checklist_threshold"):
        t = r["checklist_threshold"]
        lines.append(
            f"checklist threshold P(yes) >= {t['threshold']} fitted on the {t['fitted_on']} "
            f"(AUC there {_f(t['calibration_auc'])}; P(yes) from {t['p_yes_source']})"
        )
    status = r.get("status", "pass" if r["passed"] else "fail")
    if status == "pass":
        lines.append("PASS")
    elif status == "fail":
        lines.append(f"FAIL ({', '.join(r['failing_languages'])})")
    else:
        lines.append(f"INCONCLUSIVE (too few answers in {', '.join(r['too_few_answers'])})")
    return "\n".join(lines)
