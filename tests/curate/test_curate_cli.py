"""``valuealign curate`` on the command line: bad input exits 2 and writes nothing; reruns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from curate_corpus import SETTINGS, Reference

import valuealign.curate.pipeline as pipeline
from valuealign.curate import curate_sample, sample_corpus_path


@pytest.fixture
def good_input(tmp_path: Path) -> Path:
    f = tmp_path / "in.jsonl"
    f.write_text(json.dumps({"text": "human rights and torture"}) + "\n")
    return f


@pytest.mark.parametrize(
    ("make", "expect"),
    [
        (lambda d: ["--input", str(d / "nope.jsonl")], ["nope.jsonl: input file not found"]),
        (lambda d: ["--input", str(_touch(d / "data.csv"))], ["data.csv", "unknown input format"]),
        (
            lambda d: ["--input", str(d / "in.jsonl"), "--charter", str(_bad_charter(d))],
            ["charter.yaml:", "unknown key 'postions'", "did you mean 'positions'"],
        ),
        (
            lambda d: ["--input", str(d / "in.jsonl"), "--charter", str(d / "missing.yaml")],
            ["missing.yaml: charter file not found"],
        ),
        (
            lambda d: ["--input", str(d / "in.jsonl"), "--lexicon", str(_bad_lexicon(d))],
            ["lex.yaml:2: 'human-rights.en'", "fix:"],
        ),
        (
            lambda d: ["--input", str(d / "in.jsonl"), "--tokenizer", "openai/gpt-4o"],
            ["tokenizer 'openai/gpt-4o' is not an hf/ model"],
        ),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(
    cli, tmp_path: Path, good_input: Path, make, expect: list[str]
) -> None:
    out = tmp_path / "out"
    code, _, err = cli("curate", *make(tmp_path), "--out", str(out), "--no-progress")
    assert code == 2, err
    assert err.startswith("error: ") and "Traceback" not in err
    for text in expect:
        assert text in err
    assert not out.exists()


def _touch(path: Path) -> Path:
    path.write_text("a,b\n")
    return path


def _bad_charter(d: Path) -> Path:
    from valuealign.charter._scaffold import SCAFFOLD

    path = d / "charter.yaml"
    path.write_text(SCAFFOLD.replace("        positions:", "        postions:"), encoding="utf-8")
    return path


def _bad_lexicon(d: Path) -> Path:
    path = d / "lex.yaml"
    path.write_text("human-rights:\n  en: [ok, '']\n", encoding="utf-8")
    return path


def test_finished_run_is_not_redone_and_other_settings_are_refused(
    cli, reference: Reference
) -> None:
    args = ["curate", "--input", *map(str, reference.inputs), "--out", str(reference.out)]
    flags = ["--seq-len", str(SETTINGS.seq_len), "--shard-mb", str(SETTINGS.shard_mb)]
    flags += ["--rows-per-file", str(SETTINGS.rows_per_file), "--no-progress"]
    before = (reference.out / "stats.json").read_bytes()
    code, out, _ = cli(*args, *flags)
    assert code == 0 and "already complete" in out and "documents kept" in out
    assert (reference.out / "stats.json").read_bytes() == before
    code, _, err = cli(*args, *flags, "--select", "all")
    assert code == 2 and "other settings or inputs" in err


def test_non_empty_out_folder_is_refused(cli, tmp_path: Path, good_input: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    code, _, err = cli("curate", "--input", str(good_input), "--out", str(tmp_path / "out"))
    assert code == 2 and "not an empty folder" in err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["notes.txt"]


def test_ray_executor_without_ray_is_a_missing_extra(
    cli, tmp_path: Path, good_input: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(__import__("sys").modules, "ray", None)
    code, _, err = cli(
        "curate", "--input", str(good_input), "--out", str(tmp_path / "o"), "--executor", "ray"
    )
    assert code == 2 and "pip install 'valuealign[curate]'" in err
    assert not (tmp_path / "o").exists()


def test_curate_sample_tolerates_any_fields(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from curate_corpus import make_corpus

    corpus = make_corpus(seed=3, n_base=12, n_near=2, n_exact=1)
    sample = tmp_path / "sample.jsonl"
    lines = [
        json.dumps({**json.loads(x), "source": "synthetic", "extra": [1, 2]})
        for x in corpus.lines
        if x.startswith('{"')
    ]
    lines.append(
        json.dumps({"text": "A record with no id about refugees and asylum and migration."})
    )
    sample.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setattr(pipeline, "sample_corpus_path", lambda: sample)
    logged: list[str] = []
    stats = curate_sample(tmp_path / "out", log=logged.append)
    assert stats["documents"]["curated"] >= 12 and stats["tokens"]["sequences"] >= 1
    assert any("documents kept" in line for line in logged)
    first = json.loads(
        next((tmp_path / "out" / "curated").glob("*.jsonl")).read_text().splitlines()[0]
    )
    assert first["source"]["file"] == "builtin:corpus/sample.jsonl"


def test_builtin_sample_corpus_if_present(tmp_path: Path) -> None:
    if not sample_corpus_path().is_file():
        pytest.skip("the built-in sample corpus is not there yet")
    stats = curate_sample(tmp_path / "out", select="all")
    assert stats["documents"]["read"] > 0
    assert (tmp_path / "out" / "packed" / "meta.json").exists()


def test_progress_is_the_rich_display_and_third_party_noise_is_off(tmp_path: Path) -> None:
    """The real command in its own process (two spawned workers, 12 shards): one rich bar per
    phase like every other command, no tqdm bar, and nothing at all on stderr unless -v."""
    import re
    import subprocess
    import sys

    src = Path(pipeline.__file__).parents[2]
    args = [sys.executable, "-m", "valuealign", "curate", "--input", str(sample_corpus_path())]
    args += ["--seq-len", "256", "--shard-mb", "0.02", "--workers", "2"]
    env = {**__import__("os").environ, "PYTHONPATH": str(src), "COLUMNS": "120"}
    proc = subprocess.run(
        [*args, "--out", str(tmp_path / "o")], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stderr == ""  # no tqdm bar, no library warning, no log line
    phases = re.findall(r"^curate (\S+) +━+ +(\d+)/(\d+) shards", proc.stdout, re.M)
    shards = json.loads((tmp_path / "o" / "stats.json").read_text())["shards"]
    assert shards == 12
    assert phases == [(p, "12", "12") for p in ("steps", "dedup", "write+tokenize", "pack")]
    assert "it/s" not in proc.stdout and "%|" not in proc.stdout
