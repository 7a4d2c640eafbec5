"""Label a run through the review page in headless Chromium, by keyboard, as a person would.

The labels are a person's decisions written down beforehand (a JSON file: task id -> keys,
e.g. {"m|item|en": ["4"]} or {"pair-id": ["k", "5"]}); this script only types them into the page,
so they travel the same path as labels made by hand (page -> API -> RUN_DIR/labels.jsonl).

    PYTHONPATH=src python benchmarks/review_session.py RUN_DIR REVIEWER KEYS.json
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import threading

from valuealign.review import load_review, make_server
from valuealign.testing.browser import review_by_keyboard


def main(run_dir: str, reviewer: str, keys_file: str) -> None:
    keys = json.loads(open(keys_file, encoding="utf-8").read())
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("chromium is not installed (make browser)")
    server = make_server(load_review(run_dir), port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        n = asyncio.run(review_by_keyboard(chromium, url, reviewer, keys))
    finally:
        server.shutdown()
        server.server_close()
    print(f"{reviewer}: labelled {n} tasks through the page")


if __name__ == "__main__":
    main(*sys.argv[1:4])
