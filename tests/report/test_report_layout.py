"""Reports read well on any screen: headless Chromium at 1400 px and 420 px, label boxes and
table edges measured in the page, screenshots kept as test artefacts (under pytest's tmp dir)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from valuealign.backends import FunctionBackend, register_mock, unregister_mock

MEASURE = """<script>
window.addEventListener("load", () => setTimeout(() => {
  const vw = document.documentElement.clientWidth;
  const boxes = [...document.querySelectorAll("svg.radar text.axis")].map(t => t.getBoundingClientRect());
  let overlaps = 0;
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i], b = boxes[j];
    if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1) { overlaps++; window.__pairs = (window.__pairs||[]).concat([[i,j,JSON.stringify(a),JSON.stringify(b)]]); }
  }
  let clipped = 0;
  document.querySelectorAll("svg.radar").forEach(svg => {
    const r = svg.getBoundingClientRect();
    svg.querySelectorAll("text").forEach(t => { const b = t.getBoundingClientRect();
      if (b.left < r.left - 1 || b.right > r.right + 1 || b.top < r.top - 1 || b.bottom > r.bottom + 1) clipped++; });
  });
  const tables = [...document.querySelectorAll("table")].filter(t => t.getBoundingClientRect().right > vw + 1).length;
  const minFont = Math.min(...[...document.querySelectorAll("svg.chart text")].map(t => t.getBoundingClientRect().height).filter(h => h > 0));
  document.body.setAttribute("data-layout", JSON.stringify({vw, labels: boxes.length, overlaps, clipped,
    pairs: window.__pairs, names: [...document.querySelectorAll("svg.radar text.axis")].map(t=>t.textContent), tables, pageScroll: document.documentElement.scrollWidth > vw + 1, minFont,
    font: getComputedStyle(document.body).fontFamily}));
}, 200));
</script>"""


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        pytest.skip("chromium is not installed (make browser)")
    return found


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    from valuealign.cli import main

    out = tmp_path_factory.mktemp("layout") / "e"
    register_mock(
        "l-judge", FunctionBackend(lambda m, c: "REASON: ok.\nVERDICT: [[4]]", name="mock/l-judge")
    )
    try:
        code = main([
            "eval", "--model", "mock/echo", "--judge", "mock/l-judge", "--per-subdomain", "1",
            "--benign", "none", "--no-consistency", "--no-progress", "--out", str(out),
        ])  # fmt: skip
    finally:
        unregister_mock("l-judge")
    assert code == 0
    return out / "report.html"


def _measured(chromium: str, page: Path, width: int, shots: Path) -> dict:
    html = page.read_text(encoding="utf-8")
    html = re.sub(r"<meta http-equiv=[\"']Content-Security-Policy[^>]*>", "", html)
    probe = page.with_name(f"probe-{width}.html")
    probe.write_text(html.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    profile = tempfile.mkdtemp(prefix="chromium-", dir=shots)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-dev-shm-usage", f"--user-data-dir={profile}", f"--window-size={width},2400"]  # fmt: skip
    dom = subprocess.run(
        [chromium, *flags, "--virtual-time-budget=4000", "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    subprocess.run(
        [chromium, *flags, f"--screenshot={shots / f'report-{width}.png'}", page.as_uri()],
        capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    m = re.search(r"data-layout=\"([^\"]*)\"", dom)
    assert m, "the probe did not run"
    return json.loads(m.group(1).replace("&quot;", '"'))


@pytest.mark.parametrize("width", [1400, 420])
def test_report_layout(chromium: str, report: Path, tmp_path: Path, width: int) -> None:
    got = _measured(chromium, report, width, tmp_path)
    assert got["labels"] == 26  # 13 axes, two languages
    assert got["overlaps"] == 0, json.dumps(got)[:1500]
    assert got["clipped"] == 0, got
    assert got["tables"] == 0 and not got["pageScroll"], got
    assert "PingFang SC" in got["font"] and "Noto Sans CJK SC" in got["font"]
    shot = (tmp_path / f"report-{width}.png").read_bytes()
    assert shot[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(shot[16:20], "big") == width


@pytest.mark.parametrize("width", [1400, 420])
def test_consensus_report_layout(chromium: str, tmp_path: Path, width: int) -> None:
    from valuealign.cli import main

    register_mock("l-agent", FunctionBackend(lambda m, c: "We should care for elders and respect choice.", name="mock/l-agent"))  # fmt: skip
    try:
        code = main([
            "consensus", "--topic", "Should adult children be obliged to care for elderly parents?",
            "--agents", "confucian,protestant-europe", "--model", "mock/l-agent", "--rounds", "1",
            "--similarity", "tfidf", "--out", str(tmp_path / "c"),
        ])  # fmt: skip
    finally:
        unregister_mock("l-agent")
    assert code == 0
    got = _measured(chromium, tmp_path / "c" / "report.html", width, tmp_path)
    assert got["tables"] == 0 and not got["pageScroll"], got
    assert "Noto Sans CJK SC" in got["font"]  # the shared design
