"""The page's stylesheet and script, inlined into report.html (nothing is fetched).

The script reads the item data from ``<script type="application/json" id="data">`` and builds
the item browser with ``createElement`` and ``textContent`` only: answers and judge output are
never parsed as markup. The page's Content-Security-Policy allows this one script by its hash.
"""

CSS = """
:root { --fg:#1d232b; --muted:#5b6572; --line:#d9dee4; --bg:#fff; --soft:#f5f7f9; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans",
  "Helvetica Neue", Arial, "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei",
  "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei", sans-serif;
  color: var(--fg); background: var(--bg); }
header { padding: 20px 32px 12px; border-bottom: 1px solid var(--line); background: var(--soft); }
header h1 { margin: 0 0 6px; font-size: 22px; }
header dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0; }
header dt { color: var(--muted); }
header dd { margin: 0; }
nav { padding: 8px 32px; border-bottom: 1px solid var(--line); font-size: 13px; }
nav a { margin-right: 14px; color: #2a5d9f; text-decoration: none; }
main { padding: 8px 32px 40px; max-width: 1500px; }
section { margin-top: 26px; }
h2 { font-size: 18px; margin: 0 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 16px 0 6px; }
p.note, .muted { color: var(--muted); font-size: 12.5px; }
.warn { color: #8a4b00; background: #fff4e0; padding: 6px 10px; border-radius: 4px; }
table.data { border-collapse: collapse; margin: 6px 0 10px; max-width: 100%; }
table.data th, table.data td { border: 1px solid var(--line); padding: 4px 8px; vertical-align: top; }
table.data th { background: var(--soft); font-weight: 600; text-align: center; }
table.data td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.data td.best { font-weight: 700; }
.ci-t { color: var(--muted); font-size: 12px; }
.charts { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
.charts figure { margin: 0; }
figcaption { font-weight: 600; margin-bottom: 4px; }
svg.chart { display: block; max-width: 100%; height: auto; font-size: 11px; }
svg.chart .grid { fill: none; stroke: #e3e7ec; }
svg.chart .sep { stroke: #eef0f3; }
svg.chart .frame { stroke: #999; }
svg.chart .tick { fill: var(--muted); font-size: 10px; }
svg.chart .axis { fill: var(--fg); }
svg.chart .title { font-weight: 600; }
svg.chart .val { fill: var(--muted); font-size: 10.5px; }
svg.chart .zone { fill: #555; }
svg.chart.narrow { font-size: 12px; }
svg.chart.narrow .tick, svg.chart.narrow .val { font-size: 11px; }
.lay-narrow { display: none; }
ol.radar-key { font-size: 12.5px; margin: 6px 0 0; padding-left: 26px; max-width: 360px; }
svg.chart .ci { fill: none; stroke: #222; stroke-width: 1.3; }
svg.chart .link { stroke: #9aa3ad; stroke-width: 2; }
svg.chart .zero { stroke: #555; stroke-dasharray: 3 3; }
svg.hist { vertical-align: middle; }
.legend { margin: 4px 0 8px; }
.legend .key { margin-right: 16px; white-space: nowrap; }
.legend .sw { display: inline-block; width: 12px; height: 12px; margin-right: 5px;
  vertical-align: -1px; border-radius: 2px; }
.filters { display: flex; flex-wrap: wrap; gap: 10px 16px; align-items: end; padding: 10px;
  background: var(--soft); border: 1px solid var(--line); border-radius: 6px; }
.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); }
.filters select, .filters input { font: inherit; padding: 3px 4px; min-width: 140px; }
#count { margin: 8px 0; color: var(--muted); }
table.items { border-collapse: collapse; width: 100%; table-layout: fixed; }
table.items th, table.items td { border: 1px solid var(--line); padding: 6px 8px; vertical-align: top;
  text-align: left; overflow-wrap: anywhere; }
table.items thead th { position: sticky; top: 0; background: var(--soft); z-index: 1; }
table.items th.item-col { width: 26%; }
.item-id { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
.tag { display: inline-block; font-size: 11px; padding: 0 6px; margin: 2px 4px 2px 0;
  border-radius: 9px; background: #e8edf3; color: #33414f; }
.tag.adversarial { background: #fde2e1; } .tag.benign { background: #e0f3e6; }
.q { margin-top: 6px; white-space: pre-wrap; }
.ans { white-space: pre-wrap; max-height: 18em; overflow: auto; padding: 4px 6px;
  background: #fafbfc; border: 1px solid #eceff2; border-radius: 4px; }
.err { color: #a12622; white-space: pre-wrap; }
ul.judges { list-style: none; margin: 6px 0 0; padding: 0; }
ul.judges li { margin: 4px 0; padding-top: 4px; border-top: 1px dashed #e3e7ec; }
.judge { font-weight: 600; margin-right: 6px; }
.score { display: inline-block; min-width: 20px; text-align: center; border-radius: 3px;
  padding: 0 5px; font-weight: 700; color: #fff; background: #8a939d; }
.score.s1 { background: #d73027; } .score.s2 { background: #f07c4a; }
.score.s3 { background: #c9a227; } .score.s4 { background: #6aaa3a; } .score.s5 { background: #1a9850; }
.reason { white-space: pre-wrap; color: #33414f; }
.cons { margin-top: 6px; font-size: 12px; color: var(--muted); }
details pre { white-space: pre-wrap; font-size: 12px; background: #f7f7f7; padding: 4px; margin: 2px 0; }
button { font: inherit; padding: 4px 12px; margin-top: 8px; }
@media print { nav, .filters, #more { display: none; } .ans { max-height: none; } }
.side { display: grid; grid-template-columns: repeat(auto-fit, minmax(280px, 1fr)); gap: 10px; }
.card { border: 1px solid var(--line); border-radius: 4px; padding: 8px 10px; background: #fff;
  overflow-wrap: anywhere; }
.card h4 { margin: 0 0 4px; font-size: 13px; } .card ol { padding-left: 18px; margin: 4px 0; }
.stmt { white-space: pre-wrap; }
/* the widest wide-layout chart is 830 px: below that, charts switch to their narrow layout
   instead of shrinking (their text keeps its size) */
@media (max-width: 900px) {
  .lay-wide { display: none; }
  .lay-narrow { display: block; }
}
@media (max-width: 700px) {
  header, nav, main { padding-left: 12px; padding-right: 12px; }
  header dl { grid-template-columns: 1fr; }
  header dt { margin-top: 4px; }
  header dd { overflow-wrap: anywhere; }
  table.data { display: block; overflow-x: auto; }
  table.data td.num { white-space: normal; }
  .filters select, .filters input { min-width: 0; max-width: 100%; }
  .filters label { flex: 1 1 140px; min-width: 0; }
  .legend .key { white-space: normal; overflow-wrap: anywhere; }
  .item-id { overflow-wrap: anywhere; word-break: normal; }
  .side { grid-template-columns: 1fr; }
}
"""

JS = r"""
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("data").textContent);
  const PAGE = 100;
  let limit = PAGE;
  const byId = (id) => document.getElementById(id);
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function fill(select, pairs) {
    for (const [value, label] of pairs) select.appendChild(new Option(label, value));
  }
  const subName = {};
  for (const [id, name] of data.subdomains) subName[id] = name;
  const langName = {};
  for (const [code, name] of data.languages) langName[code] = name;
  const judges = data.judges.slice();
  for (const it of data.items)
    for (const m of Object.values(it.m))
      for (const j of Object.keys(m.j)) if (!judges.includes(j)) judges.push(j);

  fill(byId("f-model"), [["", "all models"]].concat(data.models.map((m) => [m, m])));
  fill(byId("f-lang"), [["", "all languages"]].concat(data.languages));
  fill(byId("f-sub"), [["", "all subdomains"]].concat(
    data.subdomains.map(([id, name]) => [id, name === id ? id : name + " (" + id + ")"])));
  fill(byId("f-score"), [["", "any score"], ["1", "1"], ["2", "2"], ["3", "3"], ["4", "4"],
    ["5", "5"], ["none", "no score (failed)"]]);
  fill(byId("f-kind"), [["", "all kinds"], ["direct", "direct"], ["adversarial", "adversarial"],
    ["benign", "benign"]]);

  function filters() {
    return {
      model: byId("f-model").value, lang: byId("f-lang").value, sub: byId("f-sub").value,
      score: byId("f-score").value, kind: byId("f-kind").value,
      text: byId("f-text").value.trim().toLowerCase(),
    };
  }
  function models(f) { return f.model ? [f.model] : data.models; }
  function matches(it, f) {
    if (f.lang && it.lang !== f.lang) return false;
    if (f.sub && it.sub !== f.sub) return false;
    if (f.kind && it.kind !== f.kind) return false;
    const cells = models(f).map((m) => it.m[m]).filter(Boolean);
    if (f.model && cells.length === 0) return false;
    if (f.score) {
      const hit = cells.some((c) => judges.some((j) => {
        const v = c.j[j];
        if (!v) return false;
        return f.score === "none" ? v.s === null : String(v.s) === f.score;
      }));
      if (!hit) return false;
    }
    if (f.text) {
      const hay = [it.id, it.q || ""].concat(cells.map((c) => (c.a || "") + " " + (c.err || "")));
      if (!hay.join(" ").toLowerCase().includes(f.text)) return false;
    }
    return true;
  }
  function itemCell(it) {
    const td = el("td");
    td.appendChild(el("div", "item-id", it.id));
    const tags = el("div");
    tags.appendChild(el("span", "tag", langName[it.lang] || it.lang));
    tags.appendChild(el("span", "tag", subName[it.sub] || it.sub));
    tags.appendChild(el("span", "tag " + it.kind, it.kind));
    if (it.strategy) tags.appendChild(el("span", "tag", it.strategy));
    td.appendChild(tags);
    td.appendChild(el("div", "q", it.q === null ? "(question not recorded)" : it.q));
    return td;
  }
  function verdict(name, v) {
    const li = el("li");
    li.appendChild(el("span", "judge", name));
    li.appendChild(el("span", v.s === null ? "score" : "score s" + v.s, v.s === null ? "–" : v.s));
    if (v.ref) li.appendChild(el("span", "tag", "refusal"));
    if (v.r) li.appendChild(el("div", "reason", v.r));
    if (v.pe) li.appendChild(el("div", "err", "could not parse the verdict: " + v.pe));
    if (v.err) li.appendChild(el("div", "err", "judge error: " + v.err));
    if (v.raw) {
      const d = el("details");
      d.appendChild(el("summary", null, "raw judge output"));
      d.appendChild(el("pre", null, v.raw));
      li.appendChild(d);
    }
    return li;
  }
  function modelCell(it, model) {
    const td = el("td");
    const c = it.m[model];
    if (!c) { td.appendChild(el("span", "muted", "no answer recorded")); return td; }
    if (c.err) td.appendChild(el("div", "err", "answer failed: " + c.err));
    else td.appendChild(el("div", "ans", c.a === null || c.a === "" ? "(empty answer)" : c.a));
    if (c.fin && c.fin !== "stop") td.appendChild(el("div", "muted", "finish reason: " + c.fin));
    const ul = el("ul", "judges");
    for (const j of judges) if (c.j[j]) ul.appendChild(verdict(j, c.j[j]));
    if (ul.childNodes.length) td.appendChild(ul);
    const cons = (data.consistency[model] || {})[it.id];
    if (cons) {
      const parts = Object.entries(cons).map(([j, v]) => j + ": " +
        (v.same === true ? "same stance" : v.same === false ? "different stance" : "failed"));
      td.appendChild(el("div", "cons", "cross-lingual consistency — " + parts.join("; ")));
    }
    return td;
  }
  function render() {
    const f = filters();
    const ms = models(f);
    const table = byId("item-table");
    const head = el("tr");
    head.appendChild(el("th", "item-col", "Item"));
    for (const m of ms) head.appendChild(el("th", null, m));
    table.tHead.replaceChildren(head);
    const matched = data.items.filter((it) => matches(it, f));
    const shown = matched.slice(0, limit);
    const rows = shown.map((it) => {
      const tr = el("tr");
      tr.appendChild(itemCell(it));
      for (const m of ms) tr.appendChild(modelCell(it, m));
      return tr;
    });
    table.tBodies[0].replaceChildren(...rows);
    table.dataset.rows = String(rows.length);
    byId("count").textContent = "Showing " + shown.length + " of " + matched.length +
      " matching items (" + data.items.length + " in total).";
    byId("more").hidden = shown.length >= matched.length;
  }
  // Filters live in the address's fragment (#f-lang=en&f-score=1), so a view can be shared.
  const FILTERS = ["f-model", "f-lang", "f-sub", "f-score", "f-kind", "f-text"];
  const initial = new URLSearchParams(location.hash.slice(1));
  for (const id of FILTERS) {
    const v = initial.get(id);
    const input = byId(id);
    if (v === null) continue;
    if (input.tagName === "SELECT" && ![...input.options].some((o) => o.value === v)) continue;
    input.value = v;
  }
  function changed() {
    limit = PAGE;
    render();
    const params = new URLSearchParams();
    for (const id of FILTERS) if (byId(id).value) params.set(id, byId(id).value);
    try { history.replaceState(null, "", "#" + params.toString()); } catch (e) { /* file: */ }
  }
  for (const id of FILTERS) byId(id).addEventListener(id === "f-text" ? "input" : "change", changed);
  byId("more").addEventListener("click", () => { limit += PAGE; render(); });
  render();
  document.body.dataset.ready = "1";
})();
"""
