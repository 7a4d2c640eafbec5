"""Human review: the labelling API, export honouring people, agreement, and the page in Chromium."""

import asyncio
import json
import os
import shutil
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from valuealign.agreement import compute_agreement
from valuealign.generate.records import CriticScores, Rejected, Sample, Turn
from valuealign.review import load_review, make_server

XSS = '<img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script>'


def _critic(overall: int) -> CriticScores:
    return CriticScores(
        value_consistency=overall,
        factual_accuracy=overall,
        helpfulness=overall,
        harmlessness=overall,
        overall=overall,
    )


def _pair(cls, pid: str, overall: int, answer: str, **extra):
    return cls(
        id=pid,
        item_id=pid,
        subdomain="law-justice",
        domain="politics",
        strategy="direct",
        language="en",
        query=f"question {pid}?",
        answer=answer,
        messages=[
            Turn(role="system", content="charter"),
            Turn(role="user", content=f"question {pid}?"),
            Turn(role="assistant", content=answer),
        ],
        critic=_critic(overall),
        **extra,
    )


@pytest.fixture
def gen_run(tmp_path: Path) -> Path:
    run = tmp_path / "gen"
    run.mkdir()
    samples = [_pair(Sample, f"s{k}", 5, f"kept answer {k}") for k in range(3)]
    samples[0] = _pair(Sample, "s0", 5, "An answer with markup " + XSS)
    rejected = [_pair(Rejected, "r0", 2, "rejected answer 0", reason="below_threshold")]
    (run / "samples.jsonl").write_text("".join(s.model_dump_json() + "\n" for s in samples))
    (run / "rejected.jsonl").write_text("".join(r.model_dump_json() + "\n" for r in rejected))
    return run


@pytest.fixture
def server(gen_run: Path):
    srv = make_server(load_review(gen_run), port=0)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", gen_run
    srv.shutdown()
    srv.server_close()


def _post(base: str, body: dict, host: str | None = None) -> tuple[int, str]:
    req = urllib.request.Request(
        base + "/api/label",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **({"Host": host} if host else {})},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_labels_are_appended_validated_and_the_latest_counts(server) -> None:
    base, run = server
    tasks = json.loads(urllib.request.urlopen(base + "/api/tasks").read())["tasks"]
    assert sorted(t["id"] for t in tasks) == ["r0", "s0", "s1", "s2"]  # the Critic's reject too
    assert all(t["kind"] == "pair" for t in tasks)
    assert all(m["role"] != "system" for t in tasks for m in t["turns"])
    assert _post(base, {"task": "s1", "reviewer": "ana", "decision": "keep", "score": 4})[0] == 200
    assert _post(base, {"task": "s1", "reviewer": "ana", "decision": "drop", "score": 2})[0] == 200
    assert _post(base, {"task": "nope", "reviewer": "ana", "score": 2})[0] == 400
    assert _post(base, {"task": "s1", "reviewer": "ana", "score": 6})[0] == 400
    assert _post(base, {"task": "s1", "reviewer": "", "score": 3})[0] == 400
    assert _post(base, {"task": "s1", "reviewer": "x", "score": 3}, host="evil.example")[0] == 403
    lines = (run / "labels.jsonl").read_text().splitlines()
    assert len(lines) == 2  # appended, never rewritten; rejected posts wrote nothing
    mine = json.loads(urllib.request.urlopen(base + "/api/labels?reviewer=ana").read())
    assert mine["s1"]["decision"] == "drop" and mine["s1"]["score"] == 2
    page = urllib.request.urlopen(base + "/")
    assert "script-src 'sha256-" in page.headers["Content-Security-Policy"]
    body = page.read().decode()
    assert "http" not in body.replace("http://", "")[:0] and "src=" not in body.split("<script>")[0]


def _label(run: Path, rows: list[dict]) -> None:
    with open(run / "labels.jsonl", "a", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


def test_export_honours_people_over_the_critic(gen_run: Path, tmp_path: Path) -> None:
    from valuealign.generate.export import export_sft

    _label(
        gen_run,
        [
            {"task": "s1", "reviewer": "ana", "decision": "drop", "score": 1},
            {"task": "r0", "reviewer": "ana", "decision": "keep", "score": 4},
            {"task": "s2", "reviewer": "ana", "decision": "keep", "score": 5},
            {"task": "s2", "reviewer": "bo", "decision": "drop", "score": 2},  # a drop wins
        ],
    )
    n = export_sft(gen_run, tmp_path / "o.jsonl", min_score=5)
    rows = [json.loads(x) for x in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert n == 2 and sorted(r["id"] for r in rows) == ["r0", "s0"]
    assert next(r for r in rows if r["id"] == "r0")["score"] == 4  # the person's score
    m = json.loads((tmp_path / "o.manifest.json").read_text())
    assert m["human_decisions"] == {"dropped": 2, "kept": 1, "kept_critic_rejected": 1}


def test_agreement_by_hand(gen_run: Path) -> None:
    # Critic kept s0, s1, s2 and rejected r0. ana keeps s0, s2, r0 and drops s1.
    _label(
        gen_run,
        [
            {"task": "s0", "reviewer": "ana", "decision": "keep", "score": 5},
            {"task": "s1", "reviewer": "ana", "decision": "drop", "score": 2},
            {"task": "s2", "reviewer": "ana", "decision": "keep", "score": 5},
            {"task": "r0", "reviewer": "ana", "decision": "keep", "score": 2},
            {"task": "s0", "reviewer": "bo", "decision": "keep", "score": 5},
            {"task": "s1", "reviewer": "bo", "decision": "drop", "score": 2},
        ],
    )
    r = compute_agreement(gen_run)
    c = r["critic_human"]
    assert c["n"] == 4
    assert c["confusion"] == {
        "critic_keep": {"human_keep": 2, "human_drop": 1},
        "critic_drop": {"human_keep": 1, "human_drop": 0},
    }
    assert c["critic_precision_on_keep"] == round(2 / 3, 4) and c["decision_agreement"] == 0.5
    # human scores (mean of reviewers): s0 5, s1 2, s2 5, r0 2; Critic overall: 5, 5, 5, 2
    assert c["scores"]["confusion"][4] == [0, 0, 0, 0, 2]  # human 5: both Critic 5
    assert c["scores"]["confusion"][1] == [0, 1, 0, 0, 1]  # human 2: Critic 2 once, 5 once
    (hh,) = r["human_human"]
    assert hh["shared"] == 2 and hh["decision_agreement"] == 1.0
    assert hh["scores"]["qwk"] == 1.0 and hh["scores"]["alpha_ordinal"] == 1.0
    assert json.loads((gen_run / "agreement.json").read_text())["labels"] == 6


# --------------------------------------------------------------------------- the browser


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: apt-get install -y chromium")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    return found


async def _drive(chromium: str, url: str) -> dict:
    from valuealign.testing.browser import chromium_page

    async with chromium_page(chromium) as cdp:
        await cdp.call("Page.navigate", url=url)
        await cdp.wait("document.getElementById('name') !== null")
        await cdp.eval("document.getElementById('name').focus()")
        await cdp.type("ana")
        await cdp.key("Enter")
        await cdp.wait("document.body.dataset.ready === '1'")
        first = await cdp.eval("document.getElementById('task').dataset.id")
        await cdp.key("k")
        await cdp.key("4")  # keep + 4 -> saved, moves on
        await cdp.wait(f"document.getElementById('task').dataset.id !== '{first}'")
        second = await cdp.eval("document.getElementById('task').dataset.id")
        await cdp.key("d")
        await cdp.key("2")
        await cdp.wait(f"document.getElementById('task').dataset.id !== '{second}'")
        await cdp.wait("document.body.dataset.saved === '4'")  # four keys, four lines
        await cdp.key("l")  # the interface in Chinese
        zh = await cdp.eval("document.getElementById('keys').textContent")
        # reload: the page resumes at the first unlabelled task, labels intact
        await cdp.call("Page.reload")
        await cdp.wait("document.body && document.body.dataset.ready === '1'")
        after = await cdp.eval("document.getElementById('task').dataset.id")
        progress = await cdp.eval("document.getElementById('progress').textContent")
        # go to the answer with markup in it: it must be text, not elements
        for _ in range(4):
            if await cdp.eval("document.getElementById('task').dataset.id") == "s0":
                break
            await cdp.key("h")
        inert = await cdp.eval(
            "[document.querySelectorAll('main img, main script').length,"
            " document.getElementById('left').textContent, document.title]"
        )
    return {
        "first": first,
        "second": second,
        "after": after,
        "zh": zh,
        "progress": progress,
        "inert": inert,
    }


def test_the_page_in_chromium_by_keyboard(chromium: str, server) -> None:
    base, run = server
    got = asyncio.run(_drive(chromium, base + "/"))
    labels = [json.loads(x) for x in (run / "labels.jsonl").read_text().splitlines()]
    by_task = {lab["task"]: lab for lab in labels}  # the latest line per task
    assert by_task[got["first"]]["decision"] == "keep" and by_task[got["first"]]["score"] == 4
    assert by_task[got["second"]]["decision"] == "drop" and by_task[got["second"]]["score"] == 2
    assert {lab["reviewer"] for lab in labels} == {"ana"} and len(labels) == 4
    assert "保留" in got["zh"]
    assert got["after"] not in (got["first"], got["second"])  # resumed past the labelled ones
    assert "2" in got["progress"]  # "labelled 2" / "已标注 2"
    n_elements, text, title = got["inert"]
    assert n_elements == 0 and "<img src=x" in text and "<script>" in text and title != "pwned"


def test_scripted_session_labels_through_the_page(chromium: str, server) -> None:
    from valuealign.testing.browser import review_by_keyboard

    base, run = server
    keys = {"s1": ["k", "5"], "r0": ["d", "1"]}
    assert asyncio.run(review_by_keyboard(chromium, base + "/", "bo", keys)) == 2
    labels = {
        json.loads(x)["task"]: json.loads(x)
        for x in (run / "labels.jsonl").read_text().splitlines()
    }
    assert set(labels) == {"s1", "r0"}
    assert (labels["s1"]["decision"], labels["s1"]["score"]) == ("keep", 5)
    assert (labels["r0"]["decision"], labels["r0"]["score"]) == ("drop", 1)
