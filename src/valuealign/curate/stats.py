"""``stats.json`` and the summary printed at the end of a curate run.

``stats.json`` holds, per step, what it saw, kept and dropped (with reasons) and the seconds it
spent (summed over workers: CPU-seconds of work, comparable across worker counts), plus the
language mix, subdomain coverage, bytes and tokens, and the phases' seconds (the phases overlap:
``steps`` and ``write`` are the seconds from the start until the last shard was through the
steps, and through writing and tokenizing; ``dedup`` and ``pack`` the curate process's own time
in them; ``wall`` the whole run).
A benchmark reads throughput from it: ``bytes.input / seconds.wall`` overall, or
``steps.quality.seen / steps.quality.seconds`` documents per second for one step.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from valuealign.curate.steps import StepCounts

STEP_NAMES = ("read", "normalise", "language", "quality", "lexicon", "privacy", "dedup", "pack")


def build_stats(
    *,
    fingerprint: str,
    settings: dict[str, Any],
    files: Sequence[Any],
    shards: int,
    phase1: Sequence[dict[str, Any]],
    dedup: dict[str, Any],
    phase3: Sequence[dict[str, Any]],
    pack: dict[str, Any],
    subdomain_ids: Sequence[str],
    no_lexicon: Sequence[str],
    seconds: dict[str, float],
    executor: str,
) -> dict[str, Any]:
    steps: dict[str, Any] = {}
    for name in STEP_NAMES[:-2]:
        steps[name] = StepCounts.merge(p["steps"][name] for p in phase1)
    sign_seconds = sum(p["steps"]["dedup"]["seconds"] for p in phase1)
    steps["dedup"] = {**dedup, "seconds": round(dedup["seconds"] + sign_seconds, 4)}
    curated = sum(p["curated"] for p in phase3)
    steps["pack"] = {
        "seen": curated,
        "kept": curated,
        "dropped": 0,
        "seconds": round(sum(p["tokenize_seconds"] for p in phase3) + seconds.get("pack", 0), 4),
        "reasons": {},
        "tokens": pack["tokens"],
        "sequences": pack["sequences"],
    }
    curated_langs = StepCounts.merge(p["languages"] for p in phase3)
    coverage = StepCounts.merge(p["subdomains"] for p in phase3)
    read = steps["read"]
    return {
        "schema_version": 1,
        "fingerprint": fingerprint,
        "executor": executor,
        "settings": settings,
        "inputs": [{"file": f.name, "format": f.format, "bytes": f.size} for f in files],
        "shards": shards,
        "documents": {"read": read.get("seen", 0), "curated": curated},
        "steps": steps,
        "languages": {
            "detected": dict(sorted(steps["language"].get("detected", {}).items())),
            "curated": dict(sorted(curated_langs.items())),
        },
        "subdomains": {
            "curated": {s: coverage.get(s, 0) for s in subdomain_ids},
            "covered": sum(1 for s in subdomain_ids if coverage.get(s, 0)),
            "total": len(subdomain_ids),
            "without_lexicon": list(no_lexicon),
        },
        "pii_masked": dict(sorted(steps["privacy"].get("masked", {}).items())),
        "bytes": {
            "input": read.get("bytes", 0),
            "curated_text": sum(p["text_bytes"] for p in phase3),
        },
        "tokens": {
            "total": pack["tokens"],
            "sequences": pack["sequences"],
            "seq_len": pack["seq_len"],
            "padded": pack["padded_tokens"],
            "dropped_remainder": pack["dropped_tokens"],
        },
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
    }


def _fmt_reasons(reasons: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1]))


def summary_lines(stats: dict[str, Any], out: Path | str) -> list[str]:
    docs = stats["documents"]
    lines = [f"curate: {docs['curated']} of {docs['read']} documents kept -> {out}"]
    for name in STEP_NAMES[:-1]:
        st = stats["steps"].get(name, {})
        if not st:
            continue
        text = f"  {name:<9} seen {st.get('seen', 0):>7}  dropped {st.get('dropped', 0):>6}"
        if st.get("reasons"):
            text += f"  ({_fmt_reasons(st['reasons'])})"
        if name == "privacy" and stats.get("pii_masked"):
            text += "  masked " + _fmt_reasons(stats["pii_masked"])
        lines.append(text)
    langs = stats["languages"]["curated"]
    sub = stats["subdomains"]
    lines.append(
        "  languages: "
        + (", ".join(f"{k} {v}" for k, v in langs.items()) or "-")
        + f"; subdomains covered {sub['covered']}/{sub['total']}"
    )
    t = stats["tokens"]
    extra = f", {t['padded']} padding" if t["padded"] else ""
    extra += f", {t['dropped_remainder']} left over" if t["dropped_remainder"] else ""
    lines.append(
        f"  packed: {t['sequences']} sequences x {t['seq_len']} tokens "
        f"({t['total']} tokens{extra}) -> {Path(out) / 'packed'}"
    )
    lines.append(
        f"  audit: {Path(out) / 'audit'}; stats: {Path(out) / 'stats.json'} "
        f"({stats['seconds'].get('wall', 0):.1f}s)"
    )
    return lines
