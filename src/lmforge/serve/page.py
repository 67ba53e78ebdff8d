"""The page at ``/``: type or paste a text, see the label and a bar per class (most probable
first); with "explain" ticked, also the words highlighted by how much each pushed the decision
(POST /v1/explain after the prediction: green towards the label, red away from it; words the
model did not read, in a text longer than it takes, shown as [...]).

Titled with the served model's name; the text box suggests a short text like the model's own
training texts (GET /v1/models ``example``), and the footer links the run's report and model
card. A long explanation shows a running timer; an error clears the result above it.

Plain HTML, CSS and JavaScript in one string (no CDN: the machine may be offline, and no
package data to install). Texts are shown with textContent only, never as HTML.
"""

from __future__ import annotations

import html


def page_html(model_name: str) -> str:
    """The page, titled with ``model_name`` (the default model; the script retitles it when
    another one is chosen)."""
    return PAGE_HTML.replace("__MODEL_NAME__", html.escape(model_name))


PAGE_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__MODEL_NAME__</title>
<link rel="icon" href="data:,">
<style>
  :root { --fg: #1f2328; --muted: #656d76; --line: #d0d7de; --accent: #0969da;
          --bar: #54aeff; --top: #0969da; --bad: #cf222e; --bg: #f6f8fa; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif;
         color: var(--fg); background: var(--bg); }
  main { max-width: 720px; margin: 24px auto; padding: 28px 32px; background: #fff;
         border: 1px solid var(--line); border-radius: 12px; }
  h1 { margin: 0 0 4px; font-size: 24px; }
  .sub { margin: 0 0 20px; color: var(--muted); font-size: 14px; }
  label { display: block; font-weight: 600; margin: 14px 0 6px; font-size: 14px; }
  textarea, select, input { width: 100%; font: inherit; padding: 10px 12px;
         border: 1px solid var(--line); border-radius: 8px; background: #fff; }
  textarea { min-height: 100px; resize: vertical; }
  textarea:focus, select:focus, input:focus { outline: 2px solid var(--accent);
         border-color: transparent; }
  .row { display: flex; gap: 12px; align-items: center; margin-top: 14px; }
  button { font: inherit; font-weight: 600; padding: 10px 22px; border: 0; border-radius: 8px;
           background: var(--accent); color: #fff; cursor: pointer; }
  button:disabled { opacity: .6; cursor: progress; }
  .hint { color: var(--muted); font-size: 13px; }
  #result { margin-top: 24px; border-top: 1px solid var(--line); padding-top: 18px; }
  #result[hidden], #keybox[hidden], #modelbox[hidden], #error[hidden], #progress[hidden],
  #runlinks[hidden] { display: none; }
  #progress { display: flex; gap: 10px; align-items: center; margin-top: 16px; font-size: 14px;
              color: var(--muted); }
  .spinner { width: 16px; height: 16px; border: 2px solid var(--line);
             border-top-color: var(--accent); border-radius: 50%; animation: spin .8s linear infinite; }
  @keyframes spin { to { transform: rotate(360deg); } }
  .predicted { font-size: 14px; color: var(--muted); }
  #label { font-size: 30px; font-weight: 700; margin: 2px 0 14px; }
  #marked { line-height: 2.1; font-size: 16px; }
  mark.entity { background: #fff3b0; border-radius: 4px; padding: 1px 3px; }
  mark.entity sub { font-size: 10px; font-weight: 700; margin-left: 3px; color: #6b5900; }
  .cls { display: grid; grid-template-columns: 140px 1fr 64px; gap: 10px; align-items: center;
         margin: 6px 0; font-size: 14px; }
  .cls .name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .track { height: 14px; background: #eaeef2; border-radius: 7px; overflow: hidden; }
  .fill { height: 100%; background: var(--bar); border-radius: 7px; transition: width .3s; }
  .cls.top .fill { background: var(--top); }
  .cls.top .name { font-weight: 700; }
  .pct { text-align: right; font-variant-numeric: tabular-nums; }
  #error { margin-top: 18px; padding: 10px 12px; border-radius: 8px; color: var(--bad);
           background: #ffebe9; border: 1px solid #ffcecb; font-size: 14px; }
  .toggle { display: inline-flex; gap: 6px; align-items: center; font-size: 14px;
            font-weight: 400; margin: 0; }
  .toggle input { width: auto; }
  #explanation { margin-top: 16px; }
  #explanation[hidden] { display: none; }
  #words { font-size: 17px; line-height: 1.9; white-space: pre-wrap; }
  #words .w { border-radius: 4px; padding: 1px 2px; }
  #words .cut { color: var(--muted); background: #eaeef2; border-radius: 4px; padding: 1px 4px;
                font-style: italic; }
  #explain-note { font-size: 13px; color: var(--muted); margin-top: 6px; }
  footer { margin-top: 22px; font-size: 13px; color: var(--muted); }
  a { color: var(--accent); }
</style>
</head>
<body>
<main>
  <h1 id="title">__MODEL_NAME__</h1>
  <p class="sub" id="subtitle">Text classification with lmforge</p>
  <div id="modelbox" hidden>
    <label for="model">Model</label>
    <select id="model"></select>
  </div>
  <div id="keybox" hidden>
    <label for="apikey">API key</label>
    <input id="apikey" type="password" autocomplete="off" placeholder="the server's API key">
  </div>
  <label for="text" id="text-label">Text</label>
  <textarea id="text" placeholder="Type or paste a text"></textarea>
  <div id="more-inputs"></div>
  <div class="row">
    <button id="predict" type="button">Predict</button>
    <label class="toggle"><input id="explain" type="checkbox"> explain</label>
    <span class="hint">Ctrl+Enter also works</span>
  </div>
  <div id="progress" role="status" hidden><span class="spinner" aria-hidden="true"></span>
    <span id="progress-text"></span></div>
  <div id="error" role="alert" hidden></div>
  <section id="result" hidden aria-live="polite">
    <div class="predicted" id="caption">Predicted label</div>
    <div id="label"></div>
    <div id="bars"></div>
    <div id="explanation" hidden>
      <div class="predicted" id="explain-caption">Why</div>
      <div id="words"></div>
      <div id="explain-note"></div>
    </div>
  </section>
  <footer><span id="runlinks" hidden>This model: <a id="report-link" target="_blank">report</a>
    <span id="card-sep">&middot;</span> <a id="card-link" target="_blank">model card</a>
    &nbsp;|&nbsp; </span>API: <a href="/docs">/docs</a> &middot; <a href="/redoc">/redoc</a>
    &middot; <a href="/v1/models">/v1/models</a> &middot; <a href="/metrics">/metrics</a></footer>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
let models = [];
let limits = null;

function headers() {
  const h = {"Content-Type": "application/json"};
  const key = $("apikey").value.trim();
  if (key) h["Authorization"] = "Bearer " + key;
  return h;
}

function clearResult() {
  // an error must not leave the previous text's answer on screen as if it were this one's
  $("result").hidden = true;
  $("label").textContent = "";
  $("bars").textContent = "";
  $("explanation").hidden = true;
  $("words").textContent = "";
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = false;
}

async function errorMessage(response) {
  try {
    const body = await response.json();
    if (body && body.error) return body.error.message;
  } catch (e) { /* not JSON */ }
  return "HTTP " + response.status;
}

let ticker = null;

function startProgress(what) {
  // a running timer: an explanation runs the model tens of times and can take a while
  const started = Date.now();
  const tick = () => {
    $("progress-text").textContent = what + "\u2026 " +
      Math.floor((Date.now() - started) / 1000) + " s";
  };
  clearInterval(ticker);
  tick();
  ticker = setInterval(tick, 250);
  $("progress").hidden = false;
}

function stopProgress() {
  clearInterval(ticker);
  ticker = null;
  $("progress").hidden = true;
}

async function loadModels() {
  const response = await fetch("/v1/models", {headers: headers()});
  if (response.status === 401) {
    $("keybox").hidden = false;
    return;
  }
  if (!response.ok) return;
  const body = await response.json();
  const select = $("model");
  select.textContent = "";
  for (const m of body.models) {
    const option = document.createElement("option");
    option.value = m.name;
    option.textContent = m.name + (m.labels.length ? " (" + m.labels.join(", ") + ")" : "");
    if (m.default) option.selected = true;
    select.appendChild(option);
  }
  $("modelbox").hidden = body.models.length < 2;
  models = body.models;
  limits = body.limits;
  const current = body.models.find((m) => m.default) || body.models[0];
  if (current) showModel(current);
}

function selected() {
  const name = $("model").value;
  return models.find((m) => m.name === name) || models.find((m) => m.default) || models[0];
}

function listed(names) {
  const shown = names.slice(0, 6);
  const last = names.length > 6 ? "\u2026" : shown.pop();
  return shown.length ? shown.join(", ") + (names.length > 6 ? ", " : " or ") + last : last;
}

function neutralPlaceholder(m) {
  // said in the labels' language when they are Chinese or Japanese; never a sample text
  // from another domain
  if (m.labels.some((l) => /[\u3040-\u30ff\u3400-\u9fff]/.test(l))) return "输入或粘贴一段文字";
  if (m.task === "regression") return "Type or paste a text to score";
  if (m.task === "tokens") {
    const types = [...new Set(m.labels.filter((l) => l !== "O").map((l) => l.replace(/^[BIES]-/, "")))];
    return "Type or paste a text to find its entities" + (types.length ? " (" + listed(types) + ")" : "");
  }
  if (m.task === "multi") return "Type or paste a text to tag with any of " + listed(m.labels);
  return m.labels.length ? "Type or paste a text to sort into " + listed(m.labels)
    : "Type or paste a text";
}

function showModel(m) {
  document.title = m.name;
  $("title").textContent = m.name;
  $("subtitle").textContent = "Text classification with lmforge: " +
    (m.task === "regression" ? "predicts a number" : m.labels.join(" / "));
  showInputs(m);
  const link = (id, href) => {
    $(id).hidden = !href;
    if (href) $(id).href = href; else $(id).removeAttribute("href");
  };
  link("report-link", m.report);
  link("card-link", m.card);
  $("card-sep").hidden = !(m.report && m.card);
  $("runlinks").hidden = !(m.report || m.card);
}

function showInputs(m) {
  // one box per input: a sentence pair's two texts, or the columns joined in training
  const inputs = (m && m.inputs) || ["text"];
  const example = (m && m.example) || {};
  const more = $("more-inputs");
  more.textContent = "";
  $("text-label").textContent = inputs.length > 1 ? inputs[0] : "Text";
  $("text").placeholder = example[inputs[0]] ? "e.g. " + example[inputs[0]] : neutralPlaceholder(m);
  inputs.slice(1).forEach((name, i) => {
    const label = document.createElement("label");
    label.htmlFor = "text-" + (i + 2);
    label.textContent = name;
    const box = document.createElement("textarea");
    box.id = "text-" + (i + 2);
    box.dataset.input = name;
    if (example[name]) box.placeholder = "e.g. " + example[name];
    box.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) predict();
    });
    more.append(label, box);
  });
  // explanations are for one-text models; the toggle's CSS display would override "hidden"
  $("explain").parentElement.style.display = inputs.length > 1 ? "none" : "";
  if (inputs.length > 1) $("explain").checked = false;
}

function payloadOf(m) {
  const inputs = (m && m.inputs) || ["text"];
  const values = [$("text").value].concat(
    inputs.slice(1).map((_, i) => $("text-" + (i + 2)).value));
  if (inputs.length < 2) return {texts: [values[0]]};
  if (m.pair) return {pairs: [values]};
  const row = {};
  inputs.forEach((name, i) => { row[name] = values[i]; });
  return {rows: [row]};
}

function tooLong(m, values) {
  // said in the reader's words before sending, not as the server's flag name
  if (!limits) return null;
  const inputs = (m && m.inputs) || ["text"];
  for (let i = 0; i < values.length; i++) {
    const n = Array.from(values[i]).length;  // characters, as the server counts them
    if (n > limits.max_text_chars) {
      const what = values.length > 1 ? "The " + inputs[i] + " text" : "This text";
      return what + " is " + n.toLocaleString("en-US") + " characters; the server accepts at most " +
        limits.max_text_chars.toLocaleString("en-US") +
        ". Shorten it or ask the operator to raise the limit.";
    }
  }
  return null;
}

function bar(name, p, top) {
  const row = document.createElement("div");
  row.className = "cls" + (top ? " top" : "");
  row.dataset.label = name;
  const label = document.createElement("span");
  label.className = "name";
  label.textContent = name;
  label.title = name;
  const track = document.createElement("div");
  track.className = "track";
  const fill = document.createElement("div");
  fill.className = "fill";
  fill.style.width = (100 * p).toFixed(1) + "%";
  track.appendChild(fill);
  const pct = document.createElement("span");
  pct.className = "pct";
  pct.textContent = (100 * p).toFixed(1) + "%";
  row.append(label, track, pct);
  return row;
}

function markTokens(prediction, text) {
  // token runs: entities highlighted in the text (BIO), or each token with its tag
  const box = document.createElement("div");
  box.id = "marked";
  let cursor = 0;
  const marks = prediction.entities && prediction.entities.length ? prediction.entities
    : (prediction.entities ? [] : prediction.spans.map(([start, end], i) =>
      ({start: start, end: end, type: prediction.tags[i]})));
  for (const m of marks) {
    if (m.start > cursor) box.appendChild(document.createTextNode(text.slice(cursor, m.start)));
    const mark = document.createElement("mark");
    mark.className = "entity";
    mark.dataset.type = m.type;
    mark.textContent = text.slice(m.start, m.end);
    const kind = document.createElement("sub");
    kind.textContent = m.type;
    mark.appendChild(kind);
    if (m.score !== undefined) mark.title = m.type + " " + (100 * m.score).toFixed(1) + "%";
    box.appendChild(mark);
    cursor = Math.max(cursor, m.end);
  }
  if (cursor < text.length) box.appendChild(document.createTextNode(text.slice(cursor)));
  return box;
}

function show(prediction, task, text) {
  const bars = $("bars");
  bars.textContent = "";
  if (task === "tokens") {
    const entities = prediction.entities || [];
    $("caption").textContent = "Entities";
    $("label").textContent = entities.length ? entities.length + " found" : "(none)";
    if (!entities.length && prediction.tags && prediction.tags.length &&
        prediction.tags.some((t) => t !== "O")) {
      $("caption").textContent = "Tags";
      $("label").textContent = prediction.tags.length + " tokens";
      bars.appendChild(markTokens({spans: prediction.spans, tags: prediction.tags}, text));
    } else {
      bars.appendChild(markTokens(prediction, text));
    }
  } else if (task === "regression") {
    $("caption").textContent = "Predicted value";
    $("label").textContent = prediction.value.toFixed(3);
  } else {
    const chosen = task === "multi" ? prediction.labels : [prediction.label];
    $("caption").textContent = task === "multi" ? "Predicted labels" : "Predicted label";
    $("label").textContent = chosen.length ? chosen.join(", ") : "(none)";
    // most probable first (a stable sort: ties keep the model's class order)
    const ranked = Object.entries(prediction.scores).sort((a, b) => b[1] - a[1]);
    for (const [name, p] of ranked) bars.appendChild(bar(name, p, chosen.includes(name)));
  }
  $("result").hidden = false;
}

function highlight(e) {
  // the text rebuilt from its spans; words coloured by sign and share of the largest |score|;
  // where truncation dropped words, one grey [...] (as lmforge explain's HTML)
  const words = $("words");
  words.textContent = "";
  const scale = Math.max(...e.scores.map(Math.abs), 0.05);  // logits: as in lmforge explain
  const dropped = e.dropped_spans || [];
  const between = (start, end) => {
    if (start >= end) return;
    const cut = dropped.filter(([s]) => start <= s && s < end).length;
    if (!cut) {
      words.appendChild(document.createTextNode(e.text.slice(start, end)));
      return;
    }
    const mark = document.createElement("span");
    mark.className = "cut";
    mark.textContent = "[...]";
    mark.title = cut + (cut === 1 ? " word" : " words") + " here not read: the text is longer " +
      "than the model takes";
    words.append(" ", mark, " ");
  };
  let cursor = 0;
  e.spans.forEach(([start, end], i) => {
    between(cursor, start);
    const span = document.createElement("span");
    const score = e.scores[i];
    const share = scale > 0 ? Math.min(1, Math.abs(score) / scale) : 0;
    span.className = "w " + (score > 0 ? "pos" : score < 0 ? "neg" : "zero");
    span.dataset.score = String(score);
    span.style.background = (score > 0 ? "rgba(26,127,55," : "rgba(207,34,46,") +
      (0.85 * share).toFixed(3) + ")";
    if (share > 0.6) span.style.color = "#fff";
    span.title = (score >= 0 ? "+" : "") + score.toFixed(4);
    span.textContent = e.text.slice(start, end);
    words.appendChild(span);
    cursor = Math.max(cursor, end);
  });
  between(cursor, e.text.length);
  $("explain-caption").textContent = "Why " + e.target + " (" +
    (e.method === "ig" ? "integrated gradients" : "leave-one-word-out") + ")";
  $("explain-note").textContent = "Green pushed towards " + e.target + ", red away from it." +
    (e.truncated ? " The text is longer than the model reads: " + e.dropped_words.length +
      " words, shown as [...], were not read." : "");
  $("explanation").hidden = false;
}

async function explain(payload) {
  startProgress("Explaining (the model runs many times for this)");
  const response = await fetch("/v1/explain", {
    method: "POST", headers: headers(), body: JSON.stringify(payload)});
  if (!response.ok) {
    $("explanation").hidden = true;
    showError("Explanation: " + await errorMessage(response));
    return;
  }
  const body = await response.json();
  highlight(body.explanations[0]);
}

async function predict() {
  const button = $("predict");
  if (button.disabled) return;  // Ctrl+Enter while a request is running
  const m = selected();
  const payload = payloadOf(m);
  const values = payload.texts || payload.pairs?.[0] || Object.values(payload.rows[0]);
  $("error").hidden = true;
  if (m && m.pair ? values.some((v) => !v.trim()) : !values.some((v) => v.trim())) {
    clearResult();
    showError(m && m.pair ? "Type both texts first." : "Type a text first.");
    return;
  }
  const long = tooLong(m, values);
  if (long) {
    clearResult();
    showError(long);
    return;
  }
  button.disabled = true;
  startProgress("Predicting");
  try {
    if (!$("modelbox").hidden) payload.model = $("model").value;
    const response = await fetch("/v1/predict", {
      method: "POST", headers: headers(), body: JSON.stringify(payload)});
    if (response.status === 401) $("keybox").hidden = false;
    if (!response.ok) {
      clearResult();
      showError(await errorMessage(response));
      return;
    }
    const body = await response.json();
    $("explanation").hidden = true;
    show(body.predictions[0], body.task, values[0]);
    if ($("explain").checked && payload.texts && body.task !== "tokens") await explain(payload);
  } catch (e) {
    clearResult();
    showError("Could not reach the server: " + e.message);
  } finally {
    stopProgress();
    button.disabled = false;
  }
}

async function openRunFile(event) {
  // with an API key the browser cannot send it on a plain link: fetch, then show the text
  const key = $("apikey").value.trim();
  if (!key) return;
  event.preventDefault();
  const response = await fetch(event.currentTarget.href, {headers: headers()});
  if (!response.ok) {
    showError(await errorMessage(response));
    return;
  }
  const blob = new Blob([await response.text()], {type: "text/plain;charset=utf-8"});
  window.open(URL.createObjectURL(blob), "_blank");
}

$("predict").addEventListener("click", predict);
$("text").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) predict();
});
$("apikey").addEventListener("change", loadModels);
$("model").addEventListener("change", () => {
  clearResult();
  $("error").hidden = true;
  showModel(selected());
});
$("report-link").addEventListener("click", openRunFile);
$("card-link").addEventListener("click", openRunFile);
loadModels();
</script>
</body>
</html>
"""
