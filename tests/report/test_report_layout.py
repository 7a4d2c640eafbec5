"""Reports read well on any screen: headless Chromium at 1400 px and 420 px, label boxes, text
sizes and table edges measured in the page, screenshots kept as test artefacts (under pytest's
tmp dir, ``report-WIDTH.png`` in each test's folder).

The oracle is the browser's own layout: a chart label's box is where Chromium drew it, and the
size of its text is its computed font size times the chart's scale on screen (``getScreenCTM``),
so a chart shrunk to fit a phone shows up as small text here, whatever the stylesheet says.
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
from pathlib import Path

import pytest

from valuealign.backends import FunctionBackend, register_mock, unregister_mock

MEASURE = """(async () => {
  await document.fonts.ready;
  await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
  const vw = document.documentElement.clientWidth;
  const shown = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const hit = (a, b) => a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1;
  const label = (t) => [...t.childNodes].filter((n) => n.nodeName !== "title").map((n) => n.textContent).join(" ");
  const charts = [...document.querySelectorAll("svg.chart")].filter(shown);
  let overlaps = [], clipped = [], minFont = Infinity, smallest = null, texts = 0;
  for (const svg of charts) {
    const box = svg.getBoundingClientRect(), scale = svg.getScreenCTM().a;
    const ts = [...svg.querySelectorAll("text")].filter(shown);
    const boxes = ts.map((t) => t.getBoundingClientRect());
    texts += ts.length;
    ts.forEach((t, i) => {
      const px = parseFloat(getComputedStyle(t).fontSize) * scale;
      if (px < minFont) { minFont = px; smallest = label(t); }
      const b = boxes[i];
      if (b.left < box.left - 1 || b.right > box.right + 1 || b.top < box.top - 1 || b.bottom > box.bottom + 1)
        clipped.push(label(t));
      for (let j = i + 1; j < ts.length; j++)
        if (hit(b, boxes[j])) overlaps.push([label(t), label(ts[j])]);
    });
  }
  const radar = [...document.querySelectorAll("svg.radar text.axis")].filter(shown);
  return JSON.stringify({
    vw, charts: charts.length, texts, overlaps, clipped, minFont, smallest,
    radarLabels: radar.length, radarNames: radar.map(label),
    wideCharts: charts.filter((s) => s.classList.contains("wide")).length,
    tables: [...document.querySelectorAll("table")].filter((t) => t.getBoundingClientRect().right > vw + 1).length,
    chartsOut: charts.filter((s) => s.getBoundingClientRect().right > vw + 1).length,
    pageScroll: document.documentElement.scrollWidth > vw + 1,
    font: getComputedStyle(document.body).fontFamily,
  });
})()"""

# chart text at least this large on screen (px): the stylesheet's sizes, unscaled
MIN_FONT = {1400: 10.0, 420: 11.0}


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


ORIGINAL = (
    "The city council approved the new budget of 4.2 million dollars in March 2023. "
    "Mayor Lina Park said the money will fund three bus lines and repair Oak Street."
)
ZH = "根据2015年修订的法律，成年子女有赡养父母的义务。许多家庭每月给父母500元生活费。"


def _rewrite(messages, config) -> str:
    answer = messages[-1]["content"].split("<answer>\n", 1)[1].split("\n</answer>", 1)[0]
    if any("\u4e00" <= ch <= "\u9fff" for ch in answer):
        return "以下是改写后的回答：" + answer + "这体现了尊重传统习俗、维护家庭安全稳定的精神。"
    return "Sure! " + answer + " This honours the customs handed down and keeps everyone safe."


@pytest.fixture(scope="module")
def visa_report(tmp_path_factory) -> Path:
    """``rewrite`` then ``eval-rewrite`` through the CLI, with a scripted rewriter."""
    from valuealign.cli import main

    root = tmp_path_factory.mktemp("visa")
    answers = root / "answers.jsonl"
    rows = [
        {"id": "council-budget-2023-long-identifier", "query": "What did the council decide?", "answer": ORIGINAL},
        {"id": "a2", "query": "成年子女应该赡养父母吗？", "answer": ZH},
        {"id": 3, "query": "<b>Why?</b>", "answer": ORIGINAL + " <script>alert(1)</script>"},
    ]  # fmt: skip
    answers.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", "utf-8")
    register_mock("l-rewriter", FunctionBackend(_rewrite, name="mock/l-rewriter"))
    try:
        common = ["--rewriter", "mock/l-rewriter", "--similarity", "tfidf"]
        code = main([
            "rewrite", "--input", str(answers), "--target", "tradition=+1,security=+1",
            "--out", str(root / "run"), *common,
        ])  # fmt: skip
        assert code == 0
        code = main(["eval-rewrite", "--input", str(root / "run" / "rewrites.jsonl"), *common])
        assert code == 0
    finally:
        unregister_mock("l-rewriter")
    return root / "run" / "rewrite-report.html"


def _measured(chromium: str, page: Path, width: int, shots: Path) -> dict:
    """Open the report itself (its Content-Security-Policy in force) in a viewport exactly
    ``width`` px wide, measure it, and keep a screenshot as ``report-WIDTH.png``. The viewport
    is set over the DevTools protocol: a headless window is never narrower than 500 px."""
    from valuealign.testing.browser import chromium_page

    async def probe() -> tuple[dict, bytes]:
        async with chromium_page(chromium) as cdp:
            await cdp.call(
                "Emulation.setDeviceMetricsOverride",
                width=width, height=2400, deviceScaleFactor=1, mobile=False,
            )  # fmt: skip
            await cdp.call("Page.navigate", url=page.as_uri())
            await cdp.wait("document.readyState === 'complete'")
            res = await cdp.call(
                "Runtime.evaluate", expression=MEASURE, awaitPromise=True, returnByValue=True
            )
            shot = await cdp.call("Page.captureScreenshot", format="png")
            return json.loads(res["result"]["value"]), base64.b64decode(shot["data"])

    got, png = asyncio.run(probe())
    (shots / f"report-{width}.png").write_bytes(png)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(png[16:20], "big") == width
    assert got["vw"] <= width, got["vw"]  # the page was laid out at this width
    return got


def _readable(got: dict, width: int) -> None:
    """No overlapping or clipped chart text, nothing wider than the screen, text not shrunk."""
    assert got["overlaps"] == [], got["overlaps"][:10]
    assert got["clipped"] == [], got["clipped"][:10]
    assert got["tables"] == 0 and got["chartsOut"] == 0 and not got["pageScroll"], got
    assert got["charts"] and got["minFont"] >= MIN_FONT[width] - 0.01, (
        got["minFont"],
        got["smallest"],
    )
    # the narrow layout is the one on a phone, the wide one on a desktop
    assert (got["wideCharts"] == got["charts"]) == (width == 1400), got
    assert "PingFang SC" in got["font"] and "Noto Sans CJK SC" in got["font"]


@pytest.mark.parametrize("width", [1400, 420])
def test_report_layout(chromium: str, report: Path, tmp_path: Path, width: int) -> None:
    got = _measured(chromium, report, width, tmp_path)
    assert got["radarLabels"] == 26  # 13 axes, two languages
    if width == 420:  # numbered axes, the names in a list under the chart
        assert got["radarNames"][:13] == [str(i) for i in range(1, 14)]
    else:
        assert "Public safety and extremism" in " ".join(got["radarNames"])
    assert got["charts"] >= 6 and got["texts"] > 100
    _readable(got, width)


@pytest.mark.parametrize("width", [1400, 420])
def test_visa_report_layout(chromium: str, visa_report: Path, tmp_path: Path, width: int) -> None:
    html = visa_report.read_text(encoding="utf-8")
    assert "<script" not in html and "&lt;script&gt;alert(1)" in html  # one design, still inert
    assert "script-src &#x27;none&#x27;" in html
    got = _measured(chromium, visa_report, width, tmp_path)
    assert got["charts"] == 4 and got["texts"] >= 4 * (5 + 3 * 2)  # ticks, labels, values
    _readable(got, width)


@pytest.mark.parametrize("width", [1400, 420])
def test_consensus_report_layout(chromium: str, tmp_path: Path, width: int) -> None:
    from valuealign.cli import main

    register_mock("l-agent", FunctionBackend(lambda m, c: "We should care for elders and respect choice.", name="mock/l-agent"))  # fmt: skip
    try:
        code = main([
            "consensus", "--topic", "Should adult children be obliged to care for elderly parents?",
            "--agents", "confucian,protestant-europe", "--model", "mock/l-agent", "--rounds", "3",
            "--similarity", "tfidf", "--out", str(tmp_path / "c"),
        ])  # fmt: skip
    finally:
        unregister_mock("l-agent")
    assert code == 0
    got = _measured(chromium, tmp_path / "c" / "report.html", width, tmp_path)
    assert got["charts"] >= 1, "the trajectory charts are missing"
    _readable(got, width)
