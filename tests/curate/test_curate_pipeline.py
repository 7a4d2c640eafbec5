"""The whole curate run: planted cases, outputs, stats, workers, resume, CLI and bad input."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from curate_corpus import PII_EN, PII_ZH, SETTINGS, Reference, output_bytes

import valuealign.curate.pipeline as pipeline
from valuealign.curate import load_tokenizer, run_curate, tokenize_documents


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _curated(out: Path) -> list[dict]:
    return [rec for f in sorted((out / "curated").glob("part-*.jsonl")) for rec in _jsonl(f)]


def _audit(out: Path, step: str) -> dict[str, dict]:
    return {rec["id"]: rec for rec in _jsonl(out / "audit" / f"{step}.jsonl")}


def test_planted_cases_are_handled(reference: Reference) -> None:
    c, out = reference.corpus, reference.out
    curated = {r["id"]: r for r in _curated(out)}
    assert c.ids("relevant") <= set(curated)  # every original relevant document is kept
    for ident in c.ids("relevant"):
        rec = curated[ident]
        assert rec["subdomains"][0] == c.subdomain[ident] and rec["relevance"] >= 0.75
        assert rec["language"] == ("en" if int(ident.split("-")[1]) % 2 else "zh")
        assert rec["source"]["file"].endswith("corpus.jsonl") and rec["source"]["line"] >= 1
    dedup = _audit(out, "dedup")
    near = c.ids("near")
    caught = [i for i in near if i in dedup and dedup[i]["duplicate_of"]["id"] == c.original_of[i]]
    assert len(caught) / len(near) >= 0.95
    for i in c.ids("exact"):
        assert dedup[i]["reason"] == "exact-duplicate"
        assert dedup[i]["duplicate_of"]["id"] == c.original_of[i]
    # the paragraph in the second file repeats a corpus.jsonl document: dropped across files
    cross = [r for r in dedup.values() if r["source"]["file"].endswith("extra.txt.zst")]
    assert len(cross) == 1 and cross[0]["reason"] == "exact-duplicate"
    assert set(dedup) == near | c.ids("exact") | {cross[0]["id"]}  # no false positives
    assert {i: r["reason"] for i, r in _audit(out, "language").items()} == {
        i: "other-language" for i in c.ids("other-language")
    }
    assert set(_audit(out, "quality")) == c.ids("junk")
    lexicon = _audit(out, "lexicon")
    assert lexicon["red-en"]["reason"] == "red-line"
    assert c.ids("irrelevant") <= {i for i, r in lexicon.items() if r["reason"] == "not-relevant"}
    read = list(_audit(out, "read").values())
    line_of_broken = c.lines.index("{this is not json") + 1
    assert {(r["reason"], r["source"]["line"]) for r in read} >= {("malformed", line_of_broken)}
    assert {r["reason"] for r in read} == {"malformed", "no-text"}
    # PII is masked in the curated text and never appears in any output file
    assert "[EMAIL]" in curated["pii-en"]["text"] and "[PHONE]" in curated["pii-en"]["text"]
    assert "[ID]" in curated["pii-zh"]["text"] and "[PHONE]" in curated["pii-zh"]["text"]
    blob = b"".join(output_bytes(out).values()).decode("utf-8", "replace")
    for secret in ("jane.roe@example.org", "7946 0958", "13812345678", "11010519491231002X"):
        assert secret in PII_EN + PII_ZH and secret not in blob


def test_stats_add_up(reference: Reference) -> None:
    s = reference.stats
    assert json.loads((reference.out / "stats.json").read_text()) == s
    steps = s["steps"]
    order = ["read", "normalise", "language", "quality", "lexicon", "privacy", "dedup", "pack"]
    assert list(steps) == order
    for a, b in itertools.pairwise(order):
        assert steps[a]["kept"] == steps[b]["seen"], (a, b)
    for name in order:
        st = steps[name]
        assert st["seen"] == st["kept"] + st["dropped"] and st["seconds"] >= 0
        assert sum(st["reasons"].values()) == st["dropped"]
    curated = _curated(reference.out)
    assert s["documents"]["curated"] == len(curated) == steps["dedup"]["kept"]
    assert s["languages"]["curated"] == {
        lang: sum(r["language"] == lang for r in curated) for lang in ("en", "zh")
    }
    assert s["subdomains"]["covered"] == 6 and s["subdomains"]["total"] == 13
    assert s["pii_masked"]["documents"] == 2 and s["shards"] > 5
    assert s["bytes"]["input"] > s["bytes"]["curated_text"] > 0
    assert s["tokens"]["total"] > 0 and set(s["seconds"]) >= {"wall", "steps", "dedup", "pack"}
    assert not (reference.out / "_work").exists()


def test_packed_sequences(reference: Reference) -> None:
    out, seq_len = reference.out, reference.settings.seq_len
    meta = json.loads((out / "packed" / "meta.json").read_text())
    tok = load_tokenizer(meta["tokenizer"])
    assert meta["tokenizer"] == "hf/smollm2-135m-instruct" and meta["eos_id"] == tok.eos_id
    assert meta["seq_len"] == seq_len and meta["remainder"] == "pad"
    assert len(meta["files"]) > 1  # rows_per_file=40 splits the output
    rows = []
    for name in meta["files"]:
        table = pq.read_table(out / "packed" / name)
        kind = table.schema.field("input_ids").type
        assert pa.types.is_list(kind) and kind.value_type == pa.int32()
        rows += table.column("input_ids").to_pylist()
    assert all(len(r) == seq_len for r in rows) and len(rows) == meta["sequences"]
    flat = np.array(rows, dtype=np.int32).reshape(-1)
    expected = tokenize_documents(tok, [r["text"] for r in _curated(out)])
    assert meta["tokens"] == expected.size and meta["padded_tokens"] == flat.size - expected.size
    assert np.array_equal(flat[: expected.size], expected)
    assert (flat[expected.size :] == tok.eos_id).all()
    assert (expected == tok.eos_id).sum() == meta["documents"]


def test_datasets_loads_the_packed_shards(reference: Reference) -> None:
    datasets = pytest.importorskip("datasets")
    files = sorted(str(p) for p in (reference.out / "packed").glob("*.parquet"))
    ds = datasets.load_dataset("parquet", data_files=files, split="train")
    assert ds.column_names == ["input_ids"]
    assert len(ds) == reference.stats["tokens"]["sequences"]
    assert len(ds[0]["input_ids"]) == reference.settings.seq_len


def test_two_workers_give_identical_output(reference: Reference, tmp_path: Path) -> None:
    run_curate(reference.inputs, tmp_path / "w2", SETTINGS, workers=2, progress=False)
    assert output_bytes(tmp_path / "w2") == output_bytes(reference.out)


def test_resume_after_crashes_gives_identical_output(
    reference: Reference, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "crashy"

    def crash_after(fn, n):
        calls = {"n": 0}

        def wrapped(job):
            calls["n"] += 1
            if calls["n"] > n:
                raise KeyboardInterrupt("simulated kill")
            return fn(job)

        return wrapped

    # a kill in phase 1, after three shards
    monkeypatch.setattr(pipeline, "curate_shard", crash_after(pipeline.curate_shard, 3))
    with pytest.raises(KeyboardInterrupt):
        run_curate(reference.inputs, out, SETTINGS, workers=1, progress=False)
    monkeypatch.undo()
    assert len(list((out / "_work" / "p1").glob("*.done.json"))) == 3
    # leftovers of a kill in the middle of a shard: a temp folder and a half-written part
    (out / "_work" / "p1" / "00004.tmp").mkdir()
    (out / "_work" / "p1" / "00004.tmp" / "docs.jsonl").write_text('{"half": ')
    # a kill in phase 3, after two shards
    monkeypatch.setattr(pipeline, "finish_shard", crash_after(pipeline.finish_shard, 2))
    with pytest.raises(KeyboardInterrupt):
        run_curate(reference.inputs, out, SETTINGS, workers=1, progress=False)
    monkeypatch.undo()
    assert len(list((out / "_work" / "p3").glob("*.done.json"))) == 2
    (out / "curated" / ".part-00003.jsonl.tmp").write_text("partial")
    (out / "packed.tmp").mkdir()
    stats = run_curate(reference.inputs, out, SETTINGS, workers=1, progress=False)
    assert output_bytes(out) == output_bytes(reference.out)
    assert stats["steps"] == {
        k: {**v, "seconds": pytest.approx(v["seconds"], abs=1e9)}
        for k, v in reference.stats["steps"].items()
    }
    assert not list(out.rglob("*.tmp")) and not (out / "_work").exists()


def test_kill_9_then_rerun_gives_identical_output(
    reference: Reference, tmp_path: Path, cli
) -> None:
    out = tmp_path / "killed"
    args = [
        "curate", "--input", *map(str, reference.inputs), "--out", str(out), "--workers", "1",
        "--seq-len", str(SETTINGS.seq_len), "--shard-mb", str(SETTINGS.shard_mb),
        "--rows-per-file", str(SETTINGS.rows_per_file), "--no-progress",
    ]  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "valuealign", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    markers = out / "_work" / "p1"
    while time.monotonic() < deadline and proc.poll() is None:
        if markers.is_dir() and any(markers.glob("*.done.json")):
            break
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()
    assert not (out / "stats.json").exists()
    rc, stdout, _ = cli(*args)
    assert rc == 0, stdout
    assert "documents kept" in stdout and "packed:" in stdout
    assert output_bytes(out) == output_bytes(reference.out)
