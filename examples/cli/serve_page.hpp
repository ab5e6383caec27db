// The page `charlstm serve` answers GET / with: one self-contained HTML file (inline CSS and
// JavaScript, nothing fetched but the server's own POST /v1/generate).  Type a prime, choose the
// temperature, top-p, length and seed, press generate and watch the text stream in; stop ends the
// stream (the server drops the request when the connection closes).  Not the API (serve.cpp).
#pragma once

namespace cli {

inline const char* serve_page() {
  return R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>charlstm</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem;
         color: #1d2021; background: #fbf8f1; }
  h1 { font-size: 1.3rem; margin: 0 0 1rem; }
  h1 small { font-weight: normal; color: #6b6b6b; }
  textarea { width: 100%; box-sizing: border-box; font: 14px/1.4 ui-monospace, monospace; padding: .5rem; }
  .row { display: flex; flex-wrap: wrap; gap: 1rem; align-items: end; margin: .75rem 0; }
  label { display: flex; flex-direction: column; font-size: .85rem; color: #444; }
  input { width: 6rem; font: inherit; padding: .2rem .3rem; }
  button { font: inherit; padding: .35rem 1.1rem; border: 1px solid #555; border-radius: 4px;
           background: #2f5d50; color: white; cursor: pointer; }
  button#stop { background: #8a3b2f; }
  button:disabled { opacity: .45; cursor: default; }
  #out { white-space: pre-wrap; font: 14px/1.45 ui-monospace, monospace; background: white;
         border: 1px solid #ccc; border-radius: 4px; padding: .75rem; min-height: 12rem; }
  #out .prime { color: #777; }
  #status { font-size: .85rem; color: #555; min-height: 1.2em; }
</style>
</head>
<body>
<h1>charlstm <small id="model"></small></h1>
<label for="prime">Prime</label>
<textarea id="prime" rows="3" placeholder="text to start from (empty: a window of the training text)"></textarea>
<div class="row">
  <label>temperature <input id="temperature" type="number" value="0.5" min="0" step="0.1"></label>
  <label>top-p <input id="top_p" type="number" value="1" min="0.01" max="1" step="0.05"></label>
  <label>length <input id="length" type="number" value="400" min="1" max="100000" step="50"></label>
  <label>seed <input id="seed" type="number" value="1" min="0" step="1"></label>
  <button id="generate">generate</button>
  <button id="stop" disabled>stop</button>
</div>
<div id="status"></div>
<div id="out"></div>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
let controller = null;

fetch("/v1/model").then((r) => r.json()).then((m) => {
  $("model").textContent = `${m.token_kind} model: ${m.layers} x ${m.hidden} LSTM, ` +
    `${m.vocab_size} tokens` + (m.validation_loss === null ? "" : `, validation loss ${Number(m.validation_loss).toFixed(4)}`);
}).catch(() => {});

function busy(on) {
  $("generate").disabled = on;
  $("stop").disabled = !on;
}

async function generate() {
  const out = $("out");
  out.textContent = "";
  $("status").textContent = "";
  const body = {
    prime: $("prime").value,
    temperature: Number($("temperature").value),
    top_p: Number($("top_p").value),
    length: Number($("length").value),
    seed: Number($("seed").value),
    stream: true,
  };
  controller = new AbortController();
  busy(true);
  let generated = "";
  const started = performance.now();
  try {
    const response = await fetch("/v1/generate", {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify(body), signal: controller.signal,
    });
    if (!response.ok) {
      const e = await response.json().catch(() => ({error: response.statusText}));
      throw new Error(e.error);
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    const text = document.createTextNode("");
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, {stream: true});
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let event = "message", data = "";
        for (const line of block.split("\n")) {
          if (line.startsWith("event: ")) event = line.slice(7);
          else if (line.startsWith("data: ")) data += line.slice(6);
        }
        const d = JSON.parse(data);
        if (event === "prime") {
          const span = document.createElement("span");
          span.className = "prime";
          span.textContent = d.text;
          out.append(span, text);
        } else if (event === "message") {
          generated += d.text;
          text.appendData(d.text);
        } else if (event === "error") {
          throw new Error(d.error);
        }
      }
      await new Promise((r) => setTimeout(r, 0));  // let the page draw what has arrived
    }
    const s = (performance.now() - started) / 1000;
    $("status").textContent = `${generated.length} characters in ${s.toFixed(2)} s`;
  } catch (e) {
    $("status").textContent = e.name === "AbortError" ? "stopped" : `error: ${e.message}`;
  } finally {
    busy(false);
    controller = null;
    out.dataset.done = "1";
  }
}

$("generate").addEventListener("click", () => { $("out").dataset.done = ""; generate(); });
$("stop").addEventListener("click", () => { if (controller) controller.abort(); });
</script>
</body>
</html>
)html";
}

}  // namespace cli
