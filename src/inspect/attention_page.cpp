#include "rosetta/inspect/attention_page.h"

#include <string_view>

namespace rosetta {

namespace {

// The page: styles, a place for the weights, and the script that draws them.
// Colours are those of the SVG (white to dark blue, square-root scale).
constexpr std::string_view kHead = R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Rosetta attention</title>
<style>
body { font-family: sans-serif; margin: 16px; color: #222; }
h1 { font-size: 18px; margin: 0 0 8px; }
#pair { font-size: 13px; color: #555; margin-bottom: 10px; }
#controls label { margin-right: 14px; font-size: 14px; }
#controls select { font-size: 14px; }
#hint { font-size: 12px; color: #666; margin: 6px 0 12px; }
#grid { display: flex; flex-direction: column; gap: 4px; margin-bottom: 16px; }
.grid-row { display: flex; align-items: center; gap: 6px; font-size: 12px; }
.grid-row span { width: 52px; }
canvas.thumb { border: 2px solid #ddd; cursor: pointer; image-rendering: pixelated; }
canvas.thumb.selected { border-color: #d33; }
#views { display: flex; gap: 40px; align-items: flex-start; flex-wrap: wrap; }
#tokens { position: relative; font-size: 14px; }
.column { position: absolute; top: 0; }
.token { height: 22px; line-height: 22px; padding: 0 6px; white-space: nowrap; cursor: default; border-radius: 3px; }
.queries .token { text-align: right; }
.token.active { outline: 2px solid #d33; }
#heat table { border-collapse: collapse; font-size: 12px; }
#heat td.cell { width: 16px; min-width: 16px; height: 16px; padding: 0; border: 1px solid #fff; }
#heat td.cell.lit { border-color: #d33; }
#heat th { font-weight: normal; padding: 0 4px; white-space: nowrap; }
#heat th.key { writing-mode: vertical-rl; transform: rotate(180deg); text-align: left; height: auto; padding: 4px 0; }
#heat th.lit { color: #d33; font-weight: bold; }
.caption { font-size: 13px; color: #555; margin-bottom: 6px; }
</style>
</head>
<body>
<h1>What each attention head looks at</h1>
<div id="pair"></div>
<div id="controls">
  <label>kind <select id="kind"></select></label>
  <label>layer <select id="layer"></select></label>
  <label>head <select id="head"></select></label>
</div>
<div id="hint">Click a small map to pick its layer and head. Hover a token (or a cell) to see what it attends to;
hover a token on the right to see what attends to it. Darker is more weight.</div>
<div id="grid"></div>
<div id="views">
  <div><div class="caption" id="tokens-caption"></div><div id="tokens"></div></div>
  <div><div class="caption">the same weights as a heat map (rows: queries, columns: keys)</div><div id="heat"></div></div>
</div>
<script type="application/json" id="attention-data">)html";

constexpr std::string_view kScript = R"html(</script>
<script>
"use strict";
const D = JSON.parse(document.getElementById("attention-data").textContent);
const T = D.tokens;
const KINDS = {
  encoder_self: {title: "encoder self-attention", q: T.source, k: T.source, qname: "source", kname: "source"},
  decoder_self: {title: "decoder self-attention", q: T.target_out, k: T.target_in,
                 qname: "target (what each position produced)", kname: "target input"},
  cross: {title: "cross-attention", q: T.target_out, k: T.source, qname: "target", kname: "source"},
};
const state = {kind: "cross", layer: 0, head: 0, query: -1, key: -1};
const ROW = 22, LINES = 170;

function colour(w) {
  const v = Math.sqrt(Math.min(1, Math.max(0, w)));
  return `rgb(${Math.round(255 - 247 * v)},${Math.round(255 - 207 * v)},${Math.round(255 - 148 * v)})`;
}
function ink(w) { return Math.sqrt(Math.max(0, w)) > 0.6 ? "#fff" : "#222"; }
function layers() { return D[state.kind]; }
// [query][key] of the chosen head, or the mean of the layer's heads (head -1).
function weights() {
  const heads = layers()[state.layer];
  if (state.head >= 0) return heads[state.head];
  return heads[0].map((row, q) => row.map((_, k) => heads.reduce((s, h) => s + h[q][k], 0) / heads.length));
}
function element(tag, props, parent) {
  const e = Object.assign(document.createElement(tag), props || {});
  if (parent) parent.appendChild(e);
  return e;
}

function readAddress() {
  const p = new URLSearchParams(location.hash.slice(1));
  if (KINDS[p.get("kind")]) state.kind = p.get("kind");
  const n = (key, fallback) => (p.has(key) && !isNaN(parseInt(p.get(key)))) ? parseInt(p.get(key)) : fallback;
  state.layer = Math.min(Math.max(0, n("layer", 0)), layers().length - 1);
  state.head = Math.min(Math.max(-1, n("head", 0)), layers()[state.layer].length - 1);
  state.query = n("query", -1);
  state.key = n("key", -1);
}
function writeAddress() {
  const p = new URLSearchParams({kind: state.kind, layer: state.layer, head: state.head});
  if (state.query >= 0) p.set("query", state.query);
  if (state.key >= 0) p.set("key", state.key);
  history.replaceState(null, "", "#" + p.toString());
}

function fillControls() {
  const kind = document.getElementById("kind"), layer = document.getElementById("layer"),
        head = document.getElementById("head");
  kind.innerHTML = layer.innerHTML = head.innerHTML = "";
  for (const name in KINDS) element("option", {value: name, textContent: KINDS[name].title}, kind);
  layers().forEach((_, l) => element("option", {value: l, textContent: l}, layer));
  element("option", {value: -1, textContent: "mean of heads"}, head);
  layers()[state.layer].forEach((_, h) => element("option", {value: h, textContent: h}, head));
  kind.value = state.kind; layer.value = state.layer; head.value = state.head;
}

function drawGrid() {
  const grid = document.getElementById("grid");
  grid.innerHTML = "";
  const kind = KINDS[state.kind];
  const cell = Math.max(1, Math.min(4, Math.floor(120 / Math.max(kind.q.length, kind.k.length))));
  layers().forEach((heads, l) => {
    const row = element("div", {className: "grid-row"}, grid);
    element("span", {textContent: "layer " + l}, row);
    heads.forEach((w, h) => {
      const c = element("canvas", {className: "thumb", width: kind.k.length * cell, height: kind.q.length * cell,
                                   title: `layer ${l}, head ${h}`}, row);
      if (l === state.layer && h === state.head) c.classList.add("selected");
      const g = c.getContext("2d");
      w.forEach((r, q) => r.forEach((v, k) => { g.fillStyle = colour(v); g.fillRect(k * cell, q * cell, cell, cell); }));
      c.onclick = () => { state.layer = l; state.head = h; render(); };
    });
  });
}

function drawTokens() {
  const kind = KINDS[state.kind], w = weights();
  const box = document.getElementById("tokens");
  box.innerHTML = "";
  document.getElementById("tokens-caption").textContent =
      `${kind.title}, layer ${state.layer}, ` + (state.head >= 0 ? `head ${state.head}` : "mean of heads") +
      `: ${kind.qname} (left) attends to ${kind.kname} (right)`;
  const left = element("div", {className: "column queries"}, box);
  const right = element("div", {className: "column keys"}, box);
  kind.q.forEach((t, q) => {
    const e = element("div", {className: "token", textContent: t}, left);
    e.onmouseenter = () => { state.query = q; state.key = -1; highlight(); };
  });
  kind.k.forEach((t, k) => {
    const e = element("div", {className: "token", textContent: t}, right);
    e.onmouseenter = () => { state.key = k; state.query = -1; highlight(); };
  });
  const width = left.offsetWidth;
  left.style.left = "0px";
  right.style.left = (width + LINES) + "px";
  box.style.width = (width + LINES + right.offsetWidth) + "px";
  box.style.height = Math.max(kind.q.length, kind.k.length) * ROW + "px";
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("width", LINES); svg.setAttribute("height", box.style.height);
  svg.style.position = "absolute"; svg.style.left = width + "px";
  w.forEach((row, q) => row.forEach((v, k) => {
    const line = document.createElementNS("http://www.w3.org/2000/svg", "line");
    line.setAttribute("x1", 4); line.setAttribute("y1", q * ROW + ROW / 2);
    line.setAttribute("x2", LINES - 4); line.setAttribute("y2", k * ROW + ROW / 2);
    line.setAttribute("stroke", "#1f4e8f"); line.setAttribute("stroke-width", 2);
    line.dataset.q = q; line.dataset.k = k; line.dataset.w = v;
    svg.appendChild(line);
  }));
  box.appendChild(svg);
  box.onmouseleave = () => { state.query = state.key = -1; highlight(); };
}

function drawHeat() {
  const kind = KINDS[state.kind], w = weights();
  const heat = document.getElementById("heat");
  heat.innerHTML = "";
  const table = element("table", {}, heat);
  const top = element("tr", {}, table);
  element("th", {}, top);
  kind.k.forEach(t => element("th", {className: "key", textContent: t}, top));
  w.forEach((row, q) => {
    const tr = element("tr", {}, table);
    element("th", {className: "query", textContent: kind.q[q]}, tr);
    row.forEach((v, k) => {
      const td = element("td", {className: "cell", title: `${kind.q[q]} -> ${kind.k[k]}: ${v.toFixed(3)}`}, tr);
      td.style.background = colour(v);
      td.onmouseenter = () => { state.query = q; state.key = -1; highlight(); };
    });
  });
  table.onmouseleave = () => { state.query = state.key = -1; highlight(); };
}

// Shows the hovered query's weights over the keys (or the weights onto the
// hovered key), in the token columns, the lines and the heat map.
function highlight() {
  const w = weights(), q0 = state.query, k0 = state.key;
  const left = document.querySelectorAll("#tokens .queries .token");
  const right = document.querySelectorAll("#tokens .keys .token");
  left.forEach((e, q) => {
    const v = k0 >= 0 ? w[q][k0] : (q === q0 ? 1 : 0);
    e.style.background = k0 >= 0 ? colour(v) : "";
    e.style.color = k0 >= 0 ? ink(v) : "";
    e.classList.toggle("active", q === q0);
  });
  right.forEach((e, k) => {
    const v = q0 >= 0 ? w[q0][k] : 0;
    e.style.background = q0 >= 0 ? colour(v) : "";
    e.style.color = q0 >= 0 ? ink(v) : "";
    e.classList.toggle("active", k === k0);
    e.title = q0 >= 0 ? v.toFixed(3) : "";
  });
  document.querySelectorAll("#tokens line").forEach(line => {
    const q = +line.dataset.q, k = +line.dataset.k, v = +line.dataset.w;
    const shown = (q0 < 0 && k0 < 0) || q === q0 || k === k0;
    line.setAttribute("stroke-opacity", shown ? Math.min(1, v) * (q0 < 0 && k0 < 0 ? 0.6 : 1) : 0);
  });
  document.querySelectorAll("#heat tr").forEach((tr, r) => {
    tr.querySelectorAll("td.cell").forEach((td, k) => td.classList.toggle("lit", r - 1 === q0 || k === k0));
    const th = tr.querySelector("th.query");
    if (th) th.classList.toggle("lit", r - 1 === q0);
  });
  document.querySelectorAll("#heat th.key").forEach((th, k) => th.classList.toggle("lit", k === k0));
  writeAddress();
}

function render() {
  state.head = Math.min(state.head, layers()[state.layer].length - 1);
  fillControls();
  drawGrid();
  drawTokens();
  drawHeat();
  highlight();
}

document.getElementById("pair").textContent =
    "source: " + T.source.join(" ") + "    target: " + T.target_out.join(" ");
document.getElementById("kind").onchange = e => {
  state.kind = e.target.value; state.layer = Math.min(state.layer, layers().length - 1);
  state.query = state.key = -1; render();
};
document.getElementById("layer").onchange = e => { state.layer = +e.target.value; render(); };
document.getElementById("head").onchange = e => { state.head = +e.target.value; render(); };
readAddress();
render();
</script>
</body>
</html>
)html";

}  // namespace

std::string attention_html(const AttentionMap& map) {
  // "</" inside the data would end the script element early ("</s>" is a
  // token); "<\/" means the same to JSON.
  const std::string json = attention_json(map);
  std::string data;
  data.reserve(json.size() + 64);
  for (size_t i = 0; i < json.size(); ++i) {
    data += json[i];
    if (json[i] == '<' && i + 1 < json.size() && json[i + 1] == '/') data += '\\';
  }
  return std::string(kHead) + data + std::string(kScript);
}

}  // namespace rosetta
