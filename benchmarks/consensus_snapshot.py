"""Copy a consensus run's finished topics (still running or stopped) into a results folder with
its summary, methods table and report, without the request cache.

    python benchmarks/consensus_snapshot.py RUN_DIR OUT_DIR --note "..."

A run folder gets its summary and manifest only when the run ends; a snapshot of a run still
going computes the summary from the topics finished so far and says so in manifest.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

from valuealign.consensus.negotiation import PROMPTS
from valuealign.consensus.runner import _summary, degenerate_flags, final_prompt
from valuealign.records import write_json_atomic
from valuealign.report.consensus import write_consensus_report


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("out")
    ap.add_argument("--note", default="")
    ap.add_argument("--validation", default=None, help="a validate-agents validation.json")
    ap.add_argument("--settings", default="{}", help="JSON of the run's settings (partial runs)")
    args = ap.parse_args()
    run, out = Path(args.run), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    metrics = json.loads((run / "metrics.json").read_text())
    done = set(metrics["topics"])
    # only finished topics' lines (a topic's lines are written when it finishes)
    for name in ("statements.jsonl", "transcript.jsonl"):
        lines = [
            line
            for line in (run / name).read_text(encoding="utf-8").splitlines()
            if line.strip() and json.loads(line)["topic_id"] in done
        ]
        (out / name).write_text("".join(x + "\n" for x in lines), encoding="utf-8")
    # the degenerate flags by this checkout's check (a run started before a fix keeps the
    # flags of the code it started with)
    statements = {
        d["topic_id"]: d
        for d in map(json.loads, (out / "statements.jsonl").read_text().splitlines())
    }
    events: dict[str, list] = {}
    for d in map(json.loads, (out / "transcript.jsonl").read_text().splitlines()):
        events.setdefault(d["topic_id"], []).append(d)
    protocol = json.loads(args.settings).get("protocol", "reference")
    for tid, m in metrics["topics"].items():
        st = statements[tid]
        result = SimpleNamespace(
            agents=st["agents"],
            openings=st["openings"],
            finals=st["finals"],
            psro=SimpleNamespace(rounds=m["rounds_used"]),
            events=events.get(tid, []),
        )
        lang = st.get("language", "en")
        m["degenerate"] = degenerate_flags(
            st["topic"],
            result,
            PROMPTS[lang]["opening"].format(topic=st["topic"]),
            final_prompt(protocol, lang, st["topic"]),
        )
    metrics["summary"] = _summary(metrics["topics"])
    write_json_atomic(out / "metrics.json", metrics)
    if (run / "manifest.json").exists():
        shutil.copy(run / "manifest.json", out / "manifest.json")
    else:
        write_json_atomic(
            out / "manifest.json",
            {
                "command": "consensus",
                "settings": json.loads(args.settings),
                "partial": True,
                "topics_finished": sorted(done),
                "note": args.note,
            },
        )
    validation = Path(args.validation) if args.validation else run / "validation.json"
    if validation.exists():
        shutil.copy(validation, out / "validation.json")
    print(write_consensus_report(out))


if __name__ == "__main__":
    main()
