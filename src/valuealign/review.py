"""Human review: a local page to label benchmark answers and generated pairs, and the labels.

``valuealign review RUN_DIR`` serves one page on 127.0.0.1 (no external assets; a strict
Content-Security-Policy; every answer is put on the page as text, so markup in it stays inert).
A reviewer types a name, then labels with the keyboard:

* benchmark answers (an eval run's ``answers.jsonl``): ``1``-``5``, with the rubric, the
  subdomain's positions and red lines and the item's score-5 / score-1 guidance beside it;
* generated pairs (a generate run's ``samples.jsonl`` and Critic-scored ``rejected.jsonl``):
  ``k`` keep or ``d`` drop, and ``1``-``5``;
* ``j`` / ``→`` next, ``h`` / ``←`` previous, ``u`` next unlabelled; the interface speaks Chinese
  or English (``l`` switches).

Each label is appended as one line to ``RUN_DIR/labels.jsonl`` (never rewritten); a reviewer's
latest line for a task is their label, so reopening the page resumes where they stopped.
The model that wrote an answer and the Critic's verdict are not shown (blind review).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from valuealign.errors import UserError
from valuealign.labels import LABELS, latest_labels, read_jsonl_dicts
from valuealign.records import utcnow

MAX_REVIEWER = 64


@dataclass
class ReviewRun:
    run_dir: Path
    tasks: list[dict[str, Any]]

    @property
    def ids(self) -> set[str]:
        return {t["id"] for t in self.tasks}


def _eval_tasks(run_dir: Path) -> list[dict]:
    from valuealign.charter import load_charter
    from valuealign.evaluate.benchmark import load_benchmark

    manifest = {}
    if (run_dir / "manifest.json").exists():
        manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    settings = manifest.get("settings", {})
    charter = load_charter(settings.get("charter", "builtin:balanced-v1"))
    items = {}
    for spec in (settings.get("benchmark", "builtin:vcbench"), settings.get("benign")):
        if spec:
            for it in load_benchmark(spec).items:
                items[it.id] = it
    tasks = []
    for a in read_jsonl_dicts(run_dir / "answers.jsonl"):
        if a.get("answer") is None or a.get("item_id") not in items:
            continue
        it, lang = items[a["item_id"]], a["language"]
        sub = charter.subdomain(it.subdomain)
        tasks.append(
            {
                "id": a["id"],
                "kind": "answer",
                "language": lang,
                "subdomain": sub.name.get(lang),
                "item_kind": it.kind,
                "question": a["question"],
                "answer": a["answer"],
                "rubric": charter.rubric_text(lang),
                "positions": [p.get(lang) for p in sub.positions],
                "red_lines": [r.get(lang) for r in sub.red_lines],
                "score5": it.reference.score5.get(lang),
                "score1": it.reference.score1.get(lang),
            }
        )
    return tasks


def _pair_tasks(run_dir: Path) -> list[dict]:
    tasks = []
    rows = [(r, "samples") for r in read_jsonl_dicts(run_dir / "samples.jsonl")]
    rows += [
        (r, "rejected")
        for r in read_jsonl_dicts(run_dir / "rejected.jsonl")
        if r.get("critic") and r.get("answer") and r.get("messages")
    ]
    for r, _ in rows:
        turns = [m for m in r.get("messages", []) if m.get("role") != "system"]
        tasks.append(
            {
                "id": r["id"],
                "kind": "pair",
                "language": r.get("language", "en"),
                "subdomain": r.get("subdomain", ""),
                "strategy": r.get("strategy", ""),
                "turns": [{"role": m["role"], "content": m["content"]} for m in turns],
            }
        )
    return tasks


def load_review(run_dir: str | Path) -> ReviewRun:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"{run_dir}: no such run folder", fix="give an eval or generate --out")
    tasks = _eval_tasks(run_dir) if (run_dir / "answers.jsonl").exists() else []
    tasks += _pair_tasks(run_dir)
    if not tasks:
        raise UserError(
            f"{run_dir}: nothing to review",
            fix="point at a `valuealign eval --out` or `valuealign generate --out` folder",
        )
    return ReviewRun(run_dir, tasks)


def validate_label(run: ReviewRun, body: Any) -> dict:
    if not isinstance(body, dict):
        raise UserError("a label must be a JSON object")
    task = body.get("task")
    kinds = {t["id"]: t["kind"] for t in run.tasks}
    if task not in kinds:
        raise UserError(f"unknown task {task!r}")
    reviewer = body.get("reviewer")
    if not isinstance(reviewer, str) or not reviewer.strip() or len(reviewer) > MAX_REVIEWER:
        raise UserError("reviewer must be a name of 1-64 characters")
    score = body.get("score")
    if score is not None and (
        not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5
    ):
        raise UserError("score must be 1-5 or null")
    decision = body.get("decision")
    if decision not in (None, "keep", "drop") or (decision and kinds[task] != "pair"):
        raise UserError("decision must be keep or drop, and only for generated pairs")
    if score is None and decision is None:
        raise UserError("a label needs a score or a decision")
    return {
        "task": task,
        "kind": kinds[task],
        "reviewer": reviewer.strip(),
        "score": score,
        "decision": decision,
        "created_at": utcnow(),
    }


_LOCK = threading.Lock()


def append_label(run_dir: Path, label: dict) -> None:
    line = json.dumps(label, ensure_ascii=False) + "\n"
    with _LOCK, open(run_dir / LABELS, "a", encoding="utf-8") as f:
        f.write(line)
        f.flush()


# ------------------------------------------------------------------------------------ page

_CSS = """
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{display:flex;gap:1em;align-items:center;padding:.6em 1em;background:#263238;color:#fff}
header input{font:inherit;padding:.2em .4em}
main{display:grid;grid-template-columns:3fr 2fr;gap:1em;padding:1em}
section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:1em}
.text{white-space:pre-wrap;word-break:break-word}
.turn{margin:.4em 0;padding:.4em;border-left:3px solid #90a4ae}
.turn.assistant{border-color:#43a047}
#label{font-weight:bold;font-size:1.1em}
.keys{color:#555;font-size:.9em}
h3{margin:.6em 0 .2em}
"""

_JS = r"""
"use strict";
const T = {
  en: {name: "Reviewer name", start: "Start", of: "of", labelled: "labelled", question: "Question",
       answer: "Answer", rubric: "Rubric", positions: "Positions", redlines: "Red lines",
       ref5: "A score-5 answer", ref1: "A score-1 answer", conv: "Conversation",
       none: "not labelled", keep: "keep", drop: "drop", score: "score",
       keys: "1-5 score · k keep · d drop · j/→ next · h/← previous · u next unlabelled · l 中文",
       needname: "Type your name and press Enter to start."},
  zh: {name: "评审人姓名", start: "开始", of: "/", labelled: "已标注", question: "问题",
       answer: "回答", rubric: "评分标准", positions: "立场", redlines: "红线",
       ref5: "5 分回答", ref1: "1 分回答", conv: "对话", none: "未标注", keep: "保留",
       drop: "丢弃", score: "分数",
       keys: "1-5 打分 · k 保留 · d 丢弃 · j/→ 下一条 · h/← 上一条 · u 下一条未标注 · l English",
       needname: "输入姓名并按回车开始。"},
};
let ui = localStorage.getItem("va-ui") || "en";
let tasks = [], labels = {}, pos = 0, reviewer = "", queue = Promise.resolve();
const $ = (id) => document.getElementById(id);
function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}
function block(title, text) {
  const d = el("div"); d.appendChild(el("h3", title)); d.appendChild(el("div", text, "text"));
  return d;
}
function list(title, items) {
  const d = el("div"); d.appendChild(el("h3", title));
  const ul = el("ul"); for (const x of items) ul.appendChild(el("li", x)); d.appendChild(ul);
  return d;
}
function labelText(l) {
  if (!l) return T[ui].none;
  const parts = [];
  if (l.decision) parts.push(T[ui][l.decision]);
  if (l.score) parts.push(T[ui].score + " " + l.score);
  return parts.join(" · ");
}
function render() {
  $("keys").textContent = T[ui].keys;
  $("name-label").textContent = T[ui].name;
  const left = $("left"), right = $("right");
  left.replaceChildren(); right.replaceChildren();
  if (!reviewer || !tasks.length) { left.appendChild(el("p", T[ui].needname)); return; }
  const t = tasks[pos];
  const done = tasks.filter((x) => labels[x.id]).length;
  $("progress").textContent = `${pos + 1} ${T[ui].of} ${tasks.length} · ${T[ui].labelled} ${done}`;
  const box = $("task"); box.dataset.id = t.id; box.dataset.kind = t.kind;
  left.appendChild(el("p", `${t.kind} · ${t.language} · ${t.subdomain}`, "keys"));
  if (t.kind === "answer") {
    left.appendChild(block(T[ui].question, t.question));
    left.appendChild(block(T[ui].answer, t.answer));
    right.appendChild(block(T[ui].rubric, t.rubric));
    right.appendChild(block(T[ui].ref5, t.score5));
    right.appendChild(block(T[ui].ref1, t.score1));
    right.appendChild(list(T[ui].positions, t.positions));
    right.appendChild(list(T[ui].redlines, t.red_lines));
  } else {
    left.appendChild(el("h3", T[ui].conv));
    for (const m of t.turns) left.appendChild(el("div", m.content, "turn text " + m.role));
  }
  $("label").textContent = labelText(labels[t.id]);
}
async function save(change) {
  const t = tasks[pos];
  const cur = Object.assign({score: null, decision: null}, labels[t.id] || {}, change);
  const body = {task: t.id, reviewer, score: cur.score, decision: cur.decision};
  labels[t.id] = cur;  // at once, so a second key before the reply builds on this one
  const complete = t.kind === "answer" ? cur.score : (cur.score && cur.decision);
  if (complete && pos < tasks.length - 1) pos += 1;
  render();
  // one request at a time, in key order, so the file's last line is the last key pressed
  queue = queue.then(async () => {
    const r = await fetch("/api/label", {method: "POST",
      headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
    if (!r.ok) { $("label").textContent = "error: " + (await r.text()); return; }
    document.body.dataset.saved = String(Number(document.body.dataset.saved || 0) + 1);
  });
  await queue;
}
function nextUnlabelled() {
  for (let i = 1; i <= tasks.length; i++) {
    const j = (pos + i) % tasks.length;
    if (!labels[tasks[j].id]) { pos = j; return; }
  }
}
async function start(name) {
  reviewer = name.trim().slice(0, 64);
  if (!reviewer) return;
  localStorage.setItem("va-reviewer", reviewer);
  const [tr, lr] = await Promise.all([fetch("/api/tasks"),
    fetch("/api/labels?reviewer=" + encodeURIComponent(reviewer))]);
  tasks = (await tr.json()).tasks; labels = await lr.json();
  pos = 0; if (labels[tasks[0].id]) nextUnlabelled();
  $("name").blur();
  render();
  document.body.dataset.ready = "1";
}
document.addEventListener("keydown", (e) => {
  if (e.target === $("name")) {
    if (e.key === "Enter") start($("name").value);
    return;
  }
  if (!reviewer || !tasks.length || e.ctrlKey || e.metaKey || e.altKey) return;
  const t = tasks[pos];
  if ("12345".includes(e.key) && e.key.length === 1) save({score: Number(e.key)});
  else if (e.key === "k" && t.kind === "pair") save({decision: "keep"});
  else if (e.key === "d" && t.kind === "pair") save({decision: "drop"});
  else if (e.key === "j" || e.key === "ArrowRight") { pos = Math.min(pos + 1, tasks.length - 1); render(); }
  else if (e.key === "h" || e.key === "ArrowLeft") { pos = Math.max(pos - 1, 0); render(); }
  else if (e.key === "u") { nextUnlabelled(); render(); }
  else if (e.key === "l") { ui = ui === "en" ? "zh" : "en"; localStorage.setItem("va-ui", ui); render(); }
  else return;
  e.preventDefault();
});
const saved = localStorage.getItem("va-reviewer");
if (saved) { $("name").value = saved; start(saved); } else { render(); $("name").focus(); }
"""


def _page() -> tuple[str, str]:
    digest = base64.b64encode(hashlib.sha256(_JS.encode("utf-8")).digest()).decode("ascii")
    csp = (
        "default-src 'none'; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{digest}'; connect-src 'self'; base-uri 'none'; form-action 'none'"
    )
    html = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="referrer" content="no-referrer"><title>valuealign review</title>'
        f"<style>{_CSS}</style></head><body>"
        '<header><strong>valuealign review</strong><label><span id="name-label"></span> '
        '<input id="name" autocomplete="off"></label><span id="progress"></span>'
        '<span id="label"></span><span id="keys" class="keys"></span></header>'
        '<main id="task"><section id="left"></section><section id="right"></section></main>'
        f"<script>{_JS}</script></body></html>"
    )
    return html, csp


def make_server(run: ReviewRun, port: int = 8765) -> ThreadingHTTPServer:
    html, csp = _page()
    tasks_json = json.dumps({"tasks": run.tasks}, ensure_ascii=False).encode("utf-8")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def _send(self, code: int, body: bytes, ctype: str, extra: dict | None = None) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def _host_ok(self) -> bool:
            host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
            return host in ("127.0.0.1", "localhost")

        def do_GET(self) -> None:
            if not self._host_ok():
                return self._send(403, b"forbidden host", "text/plain")
            path, _, query = self.path.partition("?")
            if path == "/":
                return self._send(
                    200,
                    html.encode("utf-8"),
                    "text/html; charset=utf-8",
                    {"Content-Security-Policy": csp},
                )
            if path == "/api/tasks":
                return self._send(200, tasks_json, "application/json")
            if path == "/api/labels":
                from urllib.parse import parse_qs

                who = (parse_qs(query).get("reviewer") or [""])[0]
                mine = {t: lab for (r, t), lab in latest_labels(run.run_dir).items() if r == who}
                return self._send(200, json.dumps(mine).encode("utf-8"), "application/json")
            return self._send(404, b"not found", "text/plain")

        def do_POST(self) -> None:
            if not self._host_ok() or self.path != "/api/label":
                return self._send(403, b"forbidden", "text/plain")
            if not (self.headers.get("Content-Type") or "").startswith("application/json"):
                return self._send(415, b"send application/json", "text/plain")
            n = int(self.headers.get("Content-Length") or 0)
            if n > 10_000:
                return self._send(413, b"too large", "text/plain")
            try:
                label = validate_label(run, json.loads(self.rfile.read(n) or b"null"))
            except (UserError, ValueError) as e:
                return self._send(400, str(e).encode("utf-8"), "text/plain")
            append_label(run.run_dir, label)
            return self._send(200, json.dumps(label).encode("utf-8"), "application/json")

    return ThreadingHTTPServer(("127.0.0.1", port), Handler)
