"""Draw the ids of ``extra/more.jsonl`` that a second annotator labels blind.

100 ids, 50 per language, by a seeded sample of the sorted ids of each language (seed 25). The
list is written to ``data/values/extra/more-blind-sample.txt`` (one id per line, after one
comment line); ``--texts`` prints the drawn ids with their texts and without their labels, which
is what the blind annotator gets.

    PYTHONPATH=src python benchmarks/more_blind_sample.py            # (re)write the id list
    PYTHONPATH=src python benchmarks/more_blind_sample.py --texts    # ids and texts, no labels
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from valuealign.values.labelled import extra_labelled_path, load_labelled

SEED = 25
PER_LANGUAGE = 50
HEADER = "# ids of extra/more.jsonl for a blind second annotation; benchmarks/more_blind_sample.py"


def more_path() -> Path:
    return extra_labelled_path().with_name("more.jsonl")


def sample_path() -> Path:
    return extra_labelled_path().with_name("more-blind-sample.txt")


def draw(seed: int = SEED, per_language: int = PER_LANGUAGE) -> list[str]:
    """``per_language`` ids per language (en, then zh), each part sorted."""
    data = load_labelled(more_path())
    rng = random.Random(seed)
    out: list[str] = []
    for lang in ("en", "zh"):
        pool = sorted(it.id for it in data.where(lang))
        out += sorted(rng.sample(pool, per_language))
    return out


def read_sample(path: Path | None = None) -> list[str]:
    """The ids listed in the sample file (comment and blank lines skipped)."""
    text = (path or sample_path()).read_text(encoding="utf-8")
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--texts", action="store_true", help="print ids and texts, no labels")
    args = parser.parse_args()
    ids = draw()
    if args.texts:
        by_id = {it.id: it for it in load_labelled(more_path())}
        for item_id in ids:
            print(f"{item_id}\t{by_id[item_id].text}")
        return
    sample_path().write_text("\n".join([HEADER, *ids]) + "\n", encoding="utf-8")
    print(f"wrote {len(ids)} ids to {sample_path().name}")


if __name__ == "__main__":
    main()
