// The page of `charlstm serve` in headless Debian chromium, driven by playwright-core (which
// downloads no browser): start the server on a free loopback port, type a prime, set the seed,
// click generate, and check that the streamed text appears and equals the server's own answer
// for the same request.  Usage:
//   node serve_page.test.mjs CHARLSTM [SCREENSHOT.png]
// It trains a small model first (in a temporary folder).  Exits 0 when every check passed;
// prints "N passed, M failed".
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [charlstm, screenshot] = process.argv.slice(2);
if (!charlstm) {
  console.error("usage: node serve_page.test.mjs CHARLSTM [SCREENSHOT.png]");
  process.exit(2);
}
const work = mkdtempSync(join(tmpdir(), "charlstm-browser-"));
writeFileSync(join(work, "corpus.txt"), "the cat sat on the mat. the dog ate the hat, and ran.\n".repeat(60));
const model = join(work, "m.safetensors");
execFileSync(charlstm, ["train", "--corpus", join(work, "corpus.txt"), "--hidden", "48", "--batch", "8",
  "--seq-len", "20", "--epochs", "2", "--sample-length", "10", "--threads", "1", "--out", model],
  { stdio: "ignore" });
let passed = 0, failed = 0;
const check = (ok, what) => {
  if (ok) passed++; else { failed++; console.error(`FAILED: ${what}`); }
};
const deadline = setTimeout(() => { console.error("FAILED: timed out after 90 s"); process.exit(1); }, 90_000);

// The server: --port 0, the port read from its first line.
const server = spawn(charlstm, ["serve", "--model", model, "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
const port = await new Promise((resolve, reject) => {
  let out = "";
  server.stdout.on("data", (d) => {
    out += d;
    const m = out.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
    if (m) resolve(Number(m[1]));
  });
  server.on("exit", (code) => reject(new Error(`charlstm serve exited with ${code}`)));
});
const base = `http://127.0.0.1:${port}`;

// Playwright starts chromium with a new empty profile of its own.
let browser = null;
try {
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const page = await browser.newPage({ viewport: { width: 900, height: 640 } });
  const requests = [];
  page.on("request", (r) => requests.push(r.url()));
  await page.goto(base + "/");
  await page.fill("#prime", "the cat ");
  await page.fill("#temperature", "0.8");
  await page.fill("#top_p", "0.95");
  await page.fill("#length", "300");
  await page.fill("#seed", "17");
  // The first piece appears before the stream ends: text streams in.
  await page.click("#generate");
  await page.waitForFunction(() => document.querySelector("#out").textContent.length > "the cat ".length);
  await page.waitForFunction(() => document.querySelector("#out").dataset.done === "1");
  const shown = await page.textContent("#out");
  // The server's deterministic answer for the same request, not streamed.
  const answer = await (await fetch(base + "/v1/generate", {
    method: "POST",
    body: JSON.stringify({ prime: "the cat ", temperature: 0.8, top_p: 0.95, length: 300, seed: 17 }),
  })).json();
  const expected = answer.prime + answer.samples[0].text;
  check(answer.samples[0].text.length === 300, "the server's answer has 300 characters");
  check(shown === expected, `the page shows the server's text for seed 17:\n  page:   ${JSON.stringify(shown)}\n  server: ${JSON.stringify(expected)}`);
  check(requests.every((u) => u.startsWith(base)), `the page fetched only its own server: ${requests}`);
  check((await page.textContent("#status")).includes("300 characters"), "the status line counts the characters");
  check(!(await page.isEnabled("#stop")) && (await page.isEnabled("#generate")), "the buttons are reset");
  if (screenshot) await page.screenshot({ path: screenshot });
  // Stop: a long generation stopped part-way says so, and the server frees the client.  The
  // small model streams its 100,000 characters in well under a second, so the page's network is
  // throttled (DevTools' network emulation, 16 kB/s) to keep the stream going until stop is
  // clicked.
  const devtools = await page.context().newCDPSession(page);
  await devtools.send("Network.enable");
  await devtools.send("Network.emulateNetworkConditions",
    { offline: false, latency: 0, downloadThroughput: 16_000, uploadThroughput: -1 });
  await page.fill("#length", "100000");
  await page.click("#generate");
  await page.waitForFunction(() => document.querySelector("#out").textContent.length > 200);
  check(await page.isEnabled("#stop"), `stop is enabled while streaming (status: ${await page.textContent("#status")})`);
  await page.click("#stop", { timeout: 5000 });
  await page.waitForFunction(() => document.querySelector("#out").dataset.done === "1");
  check((await page.textContent("#status")) === "stopped", "stop says stopped");
  let clients = -1;
  for (let k = 0; k < 200 && clients !== 0; k++) {
    clients = (await (await fetch(base + "/health")).json()).clients;
    if (clients !== 0) await new Promise((r) => setTimeout(r, 25));
  }
  check(clients === 0, `the stopped stream's client is freed (clients: ${clients})`);
} finally {
  if (browser) await browser.close();
  rmSync(work, { recursive: true, force: true });
  server.kill("SIGTERM");
  const code = await new Promise((resolve) => server.on("exit", (c) => resolve(c)));
  check(code === 0, `the server exits 0 on SIGTERM (got ${code})`);
  clearTimeout(deadline);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
