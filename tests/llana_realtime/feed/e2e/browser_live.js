// Drives headless Chromium (Playwright, node_modules/playwright-core) through the project's live demo page.
// Usage: node browser_live.js BASE_URL OPTIONS_JSON
//   OPTIONS_JSON: {"executablePath": "/usr/bin/chromium", "userDataDir": "...", "email", "password", "table"}
// The page logs in, connects with socket.io-client's default transports (polling, then upgrade to WebSocket)
// and lists the table's events. Output, one JSON line each:
//   {"kind": "connect", "value": {"status", "transport", "polling": bool, "websocket": url|null}}  page connected
//   {"kind": "seen", "value": {"text", "transport", "polling", "websocket"}}  the expected event is on the page
//   {"kind": "connect_error", "value": {"message"}}  anything that went wrong
// Input (stdin): {"expect": {"kind": "INSERT", "key": "custid", "value": "42"}} waits for that event on the page;
//   {"write": {"action": "create"|"update"|"delete", "body": "{...}"}} clicks the page's write button (body: the
//   row's JSON, optional) and prints {"kind": "wrote", "value": {"ok": bool, "status", "id"}}.
"use strict";
const path = require("path");
const readline = require("readline");
const { chromium } = require(path.join(__dirname, "..", "..", "..", "..", "node_modules", "playwright-core"));

const [base, optionsJson] = process.argv.slice(2);
const options = JSON.parse(optionsJson);
const print = (message) => process.stdout.write(JSON.stringify(message) + "\n");
const seen = { polling: false, websocket: null };
let context = null;

async function main() {
  context = await chromium.launchPersistentContext(options.userDataDir, {
    executablePath: options.executablePath,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const page = context.pages()[0] || (await context.newPage());
  page.on("request", (request) => {
    if (request.url().includes("/socket.io/") && request.url().includes("transport=polling")) seen.polling = true;
  });
  page.on("websocket", (ws) => {
    if (ws.url().includes("/socket.io/")) seen.websocket = ws.url();
  });
  page.on("pageerror", (error) => print({ kind: "pageerror", value: String(error) }));
  await page.goto(`${base}/demo/live/?table=${encodeURIComponent(options.table)}`);
  await page.fill("#email", options.email);
  await page.fill("#password", options.password);
  await page.click("#login");
  await page.waitForFunction(() => document.getElementById("token").value.length > 0, null, { timeout: 15000 });
  await page.click("#connect");
  await page.waitForFunction(() => /^(connected|refused)/.test(document.getElementById("status").textContent),
                             null, { timeout: 15000 });
  const status = await page.textContent("#status");
  if (!status.startsWith("connected")) throw new Error(status);
  print({ kind: "connect", value: { status, transport: await page.textContent("#transport"), ...seen } });

  for await (const line of readline.createInterface({ input: process.stdin })) {
    const { expect, write } = JSON.parse(line);
    if (write) {
      // The page's own write buttons: fill the row's JSON, click, wait for the result line.
      if (write.body !== undefined) await page.fill("#row-body", write.body);
      await page.evaluate(() => (document.getElementById("write-status").className = ""));
      await page.click(`#${write.action}`);
      await page.waitForFunction(() => document.getElementById("write-status").className !== "", null,
                                 { timeout: 15000 });
      print({ kind: "wrote", value: { ok: (await page.getAttribute("#write-status", "class")) === "ok",
                                      status: await page.textContent("#write-status"),
                                      id: await page.inputValue("#row-id") } });
      continue;
    }
    const selector = `#events li[data-kind="${expect.kind}"][data-${expect.key}="${expect.value}"]`;
    await page.waitForSelector(selector, { timeout: 15000 });
    // The upgrade happens in the background right after the handshake: give it a moment if it has not yet.
    await page.waitForFunction(() => document.getElementById("transport").textContent === "websocket", null,
                               { timeout: 15000 }).catch(() => {});
    print({ kind: "seen", value: { text: await page.textContent(selector),
                                   transport: await page.textContent("#transport"), ...seen } });
  }
}

async function close(code) {
  if (context) await context.close().catch(() => {});
  process.exit(code);
}

process.on("SIGTERM", () => close(0));
main().then(() => close(0), (error) => {
  print({ kind: "connect_error", value: { message: String(error && error.message || error) } });
  close(1);
});
