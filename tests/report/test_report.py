from __future__ import annotations

import csv
import html
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlencode

import pytest

from valuealign.errors import UserError
from valuealign.report import write_report
from valuealign.report.tables import CSV_FIELDS

# --------------------------------------------------------------------------- files and tables


def test_writes_report_markdown_and_csv(run_dir: Path) -> None:
    out = write_report(run_dir)
    assert out == run_dir / "report.html"
    for name in ("report.html", "scores.md", "scores.csv"):
        assert (run_dir / name).stat().st_size > 0
    assert not [p for p in run_dir.iterdir() if p.name.startswith(".")]  # no temp files left
    # Writing again replaces the files in place.
    assert write_report(str(run_dir)) == out


def test_csv_has_one_row_per_model_and_language(run_dir: Path, facts) -> None:
    write_report(run_dir)
    scores = json.loads((run_dir / "scores.json").read_text("utf-8"))
    with (run_dir / "scores.csv").open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == CSV_FIELDS
        rows = list(reader)
    assert [(r["model"], r["language"]) for r in rows] == [
        (m, lang) for m in facts.models for lang in facts.languages
    ]
    for r in rows:
        s = scores["per_model"][r["model"]]["languages"][r["language"]]
        rate = scores["per_model"][r["model"]]["cross_lingual_consistency"]["rate"]
        assert float(r["total"]) == pytest.approx(s["total"])
        assert float(r["mean"]) == pytest.approx(s["mean"])
        assert int(r["n"]) == s["n"]
        assert int(r["max_total"]) == s["max_total"]
        assert [float(r["ci_low"]), float(r["ci_high"])] == pytest.approx(s["ci95"])
        assert float(r["adversarial_drop"]) == pytest.approx(s["adversarial_drop"])
        assert float(r["consistency_rate"]) == pytest.approx(rate)
        assert int(r["parse_failures"]) == s["parse_failures"]
    by_key = {(r["model"], r["language"]): r for r in rows}
    assert by_key[("mock/beta", "zh")]["over_refusal_rate"] == ""  # null in scores.json
    assert by_key[("mock/beta", "zh")]["parse_failures"] == "1"
    assert by_key[("hf/alpha", "en")]["over_refusal_rate"] == "0.25"


def test_csv_writes_formula_like_names_as_text(run_dir: Path) -> None:
    path = run_dir / "scores.json"
    scores = json.loads(path.read_text("utf-8"))
    scores["models"].append("=HYPERLINK(1)")
    path.write_text(json.dumps(scores), "utf-8")
    write_report(run_dir)
    rows = list(csv.DictReader((run_dir / "scores.csv").open(encoding="utf-8")))
    assert "'=HYPERLINK(1)" in {r["model"] for r in rows}
    assert "=HYPERLINK(1)" not in {r["model"] for r in rows}


def test_markdown_tables(run_dir: Path) -> None:
    write_report(run_dir)
    md = (run_dir / "scores.md").read_text("utf-8")
    assert md.startswith("# vcbench scores\n")
    assert "| Model | zh total | zh mean [95% CI] | zh n | en total |" in md
    assert "| hf/alpha | 10 / 20 | 2.50 [2.20, 2.80] | 4 |" in md
    assert "| mock/beta | 11 / 15 | 3.67 [3.37, 3.97] | 3 |" in md
    assert "| Rule of law (s1) |" in md
    assert "Privacy &lt;i&gt;&amp; data&lt;/i&gt; (s2)" in md  # names are escaped
    assert "<i>" not in md
    assert "Krippendorff's alpha (ordinal): 0.71 over 15 units" in md
    assert "| mock/j1 | mock/j2 | 0.74 | 14 |" in md
    assert "| mock/beta | zh | 5.00 | 2.00 | 3.00 | – | 1 | 1 | 1 |" in md
    assert "| hf/alpha | 75.0% | 4 |" in md
    assert "<0.001 \\*\\*\\* |" in md
    for line in md.splitlines():
        if line.startswith("|"):
            assert line.endswith("|")


def test_missing_scores_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError) as e:
        write_report(tmp_path)
    assert str(tmp_path / "scores.json") in e.value.message
    assert e.value.fix and "valuealign eval" in e.value.fix
    with pytest.raises(UserError, match=r"scores\.json"):
        write_report(tmp_path / "no-such-run")
    assert not (tmp_path / "report.html").exists()


def test_invalid_scores_json_is_a_user_error(tmp_path: Path) -> None:
    (tmp_path / "scores.json").write_text("{not json", "utf-8")
    with pytest.raises(UserError, match=r"scores\.json: not valid JSON"):
        write_report(tmp_path)


def test_sparse_scores_without_records(tmp_path: Path) -> None:
    """Nulls everywhere and no JSONL files: the report still renders, with dashes."""
    lang = {"total": None, "mean": None, "n": 0, "ci95": None, "histogram": {}}
    scores = {
        "benchmark": "vcbench",
        "languages": ["en"],
        "models": ["m"],
        "per_model": {"m": {"languages": {"en": lang}, "cross_lingual_consistency": {}}},
        "comparisons": [{"a": "m", "b": "m2", "language": "en"}],
        "judge_agreement": {"krippendorff_alpha_ordinal": None, "n_units": 0, "pairs": []},
    }
    (tmp_path / "scores.json").write_text(json.dumps(scores), "utf-8")
    page = write_report(tmp_path).read_text("utf-8")
    assert "Not found in the run directory: answers.jsonl, judgements.jsonl" in page
    csv_text = (tmp_path / "scores.csv").read_text("utf-8")
    assert (
        csv_text.splitlines()[1] == "m,en,,,0,,,,,,,,,,"
    )  # (items, missing, incomplete) empty too


# ----------------------------------------------------------------------------------- escaping

FORBIDDEN_RAW = (
    "<script>window.__pwned",
    "<img src=x",
    '<img src="x"',
    "</textarea><b>",
    "<b>x</b>",
    "</script><script>window",
    "</script><img",
    "<i>& data",
    "<i>",
)


def _blob(page: str) -> str:
    m = re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S)
    assert m, "embedded data block missing"
    return m.group(1)


def test_html_never_contains_payloads_unescaped(run_dir: Path, facts) -> None:
    page = write_report(run_dir).read_text("utf-8")
    for bad in FORBIDDEN_RAW:
        assert bad not in page, bad
    assert page.count("<script") == 2  # the data block and the page's own script
    assert "\u2028" not in page and "\u2029" not in page
    assert 'http-equiv="Content-Security-Policy"' in page
    assert "default-src &#x27;none&#x27;" in page
    for external in ("http://", "https://", "<link", "@import", "url(", "<img", "<iframe"):
        assert external not in page, external
    # The blob has no markup characters, yet decodes to the exact untrusted text.
    blob = _blob(page)
    assert not set("<>&") & set(blob)
    data = json.loads(blob)
    answers = {
        (m, it["id"], it["lang"]): cell["a"] for it in data["items"] for m, cell in it["m"].items()
    }
    for key, text in facts.payloads.items():
        assert answers[key] == text
    assert len(data["items"]) == facts.n_rows
    judge, model, item, lang = facts.parse_failure
    failed = next(it for it in data["items"] if (it["id"], it["lang"]) == (item, lang))
    assert failed["m"][model]["j"][judge] == {
        "s": None,
        "ref": None,
        "r": None,
        "raw": facts.raw,
        "pe": "no score in the verdict",
        "err": None,
    }
    # Names rendered server-side are escaped too.
    assert html.escape("Privacy <i>& data</i>") in page


# ------------------------------------------------------------------------- headless Chromium

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--enable-logging=stderr",
    "--v=0",
]
PAGE_ERRORS = ("Uncaught", "SyntaxError", "ReferenceError", "TypeError", "Refused to")


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: apt-get update && apt-get install -y chromium")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    return found


def _browse(chromium: str, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tempfile.mkdtemp(prefix="chromium-", dir=tmp)
    cmd = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _page_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if any(e in line for e in PAGE_ERRORS)]


def _dump(chromium: str, tmp: Path, url: str) -> tuple[str, str]:
    proc = _browse(chromium, tmp, "--virtual-time-budget=3000", "--dump-dom", url)
    return proc.stdout, proc.stderr


def _rows(dom: str) -> int:
    tag = re.search(r'<table[^>]*id="item-table"[^>]*>', dom)
    assert tag, "item table missing from the DOM"
    m = re.search(r'data-rows="(\d+)"', tag.group(0))
    assert m
    return int(m.group(1))


def test_browser_console_errors_are_detected(chromium: str, tmp_path: Path) -> None:
    """The console check below is not vacuous: a page error does reach stderr."""
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><body><script>notDefinedAnywhere();</script></body>", "utf-8")
    _, err = _dump(chromium, tmp_path, page.as_uri())
    assert any("ReferenceError" in line for line in _page_errors(err)), err[-2000:]


def test_browser_screenshot(chromium: str, report_html: Path, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    proc = _browse(
        chromium, tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", report_html.as_uri()
    )
    assert _page_errors(proc.stderr) == []
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(data[16:20], "big") == 1280
    assert int.from_bytes(data[20:24], "big") == 2000
    assert len(data) > 50_000  # a blank page is a few kB


def test_browser_renders_payloads_as_text(
    chromium: str, report_html: Path, tmp_path: Path, facts
) -> None:
    dom, err = _dump(chromium, tmp_path, report_html.as_uri())
    assert _page_errors(err) == [], err[-3000:]
    assert 'data-ready="1"' in dom  # the script ran to the end
    assert _rows(dom) == facts.n_rows
    # The payloads are text nodes (the serializer escapes their < and >) ...
    for text in (facts.script, facts.img, facts.textarea, facts.close, facts.reason, facts.raw):
        assert text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in dom
    assert facts.inject in dom
    # ... and never elements.
    for bad in FORBIDDEN_RAW:
        assert bad not in dom, bad
    assert dom.count("<script") == 2
    assert "<img" not in dom and "<b>" not in dom
    # Options built from data are text as well.
    assert ">Privacy &lt;i&gt;&amp; data&lt;/i&gt; (s2)</option>" in dom
    # Side by side: a column per model, every judge's verdict, the failed ones marked.
    for name in (*facts.models, *facts.judges):
        assert f">{name}<" in dom
    assert "answer failed: timeout after 3 retries" in dom
    assert "could not parse the verdict: no score in the verdict" in dom


def test_browser_filters_from_fragment(
    chromium: str, report_html: Path, tmp_path: Path, facts
) -> None:
    url = report_html.as_uri() + "#" + urlencode({"f-lang": "en", "f-model": "mock/beta"})
    dom, err = _dump(chromium, tmp_path, url)
    assert _page_errors(err) == []
    assert _rows(dom) == len(facts.items)
    head = re.search(r'id="item-table"[^>]*><thead>(.*?)</thead>', dom, re.S)
    assert head and ">mock/beta<" in head.group(1) and "hf/alpha" not in head.group(1)

    dom, _ = _dump(chromium, tmp_path, report_html.as_uri() + "#f-score=none")
    assert _rows(dom) == 1  # the one verdict that failed to parse
