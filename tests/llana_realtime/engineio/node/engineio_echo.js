// Drives the official engine.io-client against the conformance app's /engine.io/ echo.
// Usage: node engineio_echo.js BASE_URL MODE [HOLD_MS]
//   MODE: "upgrade" = polling then WebSocket, "websocket" = WebSocket only, "polling" = polling only;
//   HOLD_MS: stay connected this long after the echoes (heartbeats must keep the session alive).
// Prints one JSON line: {"transports": [...], "texts": [...], "binaries": [[...]], "upgraded": bool}.
"use strict";
const path = require("path");
const { Socket } = require(path.join(__dirname, "..", "..", "..", "..", "node_modules", "engine.io-client"));

const [base, mode, hold] = process.argv.slice(2);
const options = {
  websocket: { path: "/engine.io/", transports: ["websocket"] },
  polling: { path: "/engine.io/", transports: ["polling"] },
  upgrade: { path: "/engine.io/", transports: ["polling", "websocket"], upgrade: true },
}[mode];

const socket = new Socket(base, options);
const result = { transports: [], texts: [], binaries: [], upgraded: false };
const timer = setTimeout(() => fail("timeout"), 10000 + Number(hold || 0));
let done = false;

function fail(why) {
  console.log(JSON.stringify({ error: why, ...result }));
  process.exit(1);
}

function sendAll() {
  socket.send("hello");
  socket.send("héllo ☃ \u{1F600}");
  socket.send(Uint8Array.from([1, 2, 3, 4]));
}

socket.on("open", () => {
  result.transports.push(socket.transport.name);
  sendAll();
});
socket.on("upgrade", () => {
  result.upgraded = true;
  result.transports.push(socket.transport.name);
  sendAll();
});
socket.on("message", (data) => {
  if (typeof data === "string") result.texts.push(data);
  else result.binaries.push(Array.from(new Uint8Array(data)));
  const expected = mode === "upgrade" ? 6 : 3;
  if (result.texts.length + result.binaries.length === expected) {
    setTimeout(() => {
      done = true;
      clearTimeout(timer);
      socket.close();
      console.log(JSON.stringify(result));
    }, Number(hold || 0));
  }
});
socket.on("error", (err) => fail(String(err)));
socket.on("close", (reason) => { if (!done) fail("closed: " + reason); });
