"""Print a consensus run's comparison table of methods (means with 95% bootstrap intervals over
topics) as Markdown, from its metrics.json; with --rounds, the rounds played and stop reasons.

    python benchmarks/consensus_table.py RUN_DIR
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from valuealign.consensus.metrics import METRIC_LABELS
from valuealign.consensus.runner import _summary

NAMES = {
    "psro": "PSRO negotiation",
    "debate": "debate",
    "consultancy": "consultancy",
    "one_shot": "one-shot",
    "schulze": "best-of-n + Schulze",
}


def cell(v: dict) -> str:
    if v.get("mean") is None:
        return "–"
    if v.get("low") is None:
        return f"{v['mean']:.3f} (n={v['n']})"
    return f"{v['mean']:.3f} [{v['low']:.3f}, {v['high']:.3f}]"


def main(run: str) -> None:
    metrics = json.loads((Path(run) / "metrics.json").read_text())
    topics = metrics["topics"]
    table = _summary(topics)["methods"]
    keys = list(METRIC_LABELS)
    print("| method | " + " | ".join(METRIC_LABELS[k] for k in keys) + " | echo ratio < 1 |")
    print("|---" * (len(keys) + 2) + "|")
    for name, row in table.items():
        below = row.get("echo_ratio_below_1")
        print(
            f"| {NAMES.get(name, name)} | "
            + " | ".join(cell(row[k]) for k in keys)
            + f" | {'–' if below is None else f'{below:.2f}'} |"
        )
    rounds = Counter(m["rounds_used"] for m in topics.values())
    stops = Counter(m["stop_reason"] for m in topics.values())
    flagged = {t: m["degenerate"] for t, m in topics.items() if m.get("degenerate")}
    print(f"\ntopics: {len(topics)}; rounds played: {dict(rounds)}; stop reasons: {dict(stops)}")
    print(f"degenerate flags: {json.dumps(flagged, ensure_ascii=False)}")


if __name__ == "__main__":
    main(sys.argv[1])
