// Follows one Llana table with the official socket.io-client (node_modules) and prints what it observes.
// Usage: node feed_client.js BASE_URL OPTIONS_JSON
//   OPTIONS_JSON: {"table": "Customer", "token": "...", "via": "header"|"auth"|"auth_bearer"|"cookie"|"query"|"llana",
//                  "transports": ["polling", "websocket"]}
//   via "llana" sends the token and table the way Llana's docs show: extraHeaders AND auth together.
// Output, one JSON line each: {"kind": "open", "value": transport}, {"kind": "connect", "value": {"sid", "transport"}},
//   {"kind": "upgrade", "value": name},
//   {"kind": "connect_error", "value": {"message", "data"}}, {"kind": "event", "name": ..., "args": [...]},
//   {"kind": "disconnect", "value": reason}.
// Input (stdin), one JSON line each: {"emit": "message", "args": [...]} emits; stdin closing ends the process.
"use strict";
const path = require("path");
const readline = require("readline");
const { io } = require(path.join(__dirname, "..", "..", "..", "..", "node_modules", "socket.io-client"));

const [base, optionsJson] = process.argv.slice(2);
const options = JSON.parse(optionsJson || "{}");
const print = (message) => process.stdout.write(JSON.stringify(message) + "\n");

const extraHeaders = {};
const auth = {};
let url = base;
const via = options.via || "header";
if (options.table !== undefined && options.table !== null) {
  if (via === "query") url = `${base}?x-llana-table=${encodeURIComponent(options.table)}`;
  else if (via === "header") extraHeaders["x-llana-table"] = options.table;
  else if (via === "llana") {
    extraHeaders["x-llana-table"] = options.table;
    auth["x-llana-table"] = options.table;
  } else auth["x-llana-table"] = options.table;
}
if (options.token) {
  if (via === "auth") auth.token = options.token;
  else if (via === "auth_bearer") auth.token = "Bearer " + options.token;
  else if (via === "cookie") extraHeaders.Cookie = "accessToken=" + options.token;
  else if (via === "llana") {
    extraHeaders.Authorization = "Bearer " + options.token;
    auth.token = options.token;
  } else extraHeaders.Authorization = "Bearer " + options.token;
}

const socket = io(url, {
  transports: options.transports || ["websocket"],
  extraHeaders,
  auth,
  reconnection: false,
  timeout: 15000,
});
socket.io.on("open", () => {
  const engine = socket.io.engine;
  print({ kind: "open", value: engine.transport.name });  // the transport of the Engine.IO handshake
  engine.once("upgrade", (transport) => print({ kind: "upgrade", value: transport.name }));
});
socket.on("connect", () => print({ kind: "connect", value: { sid: socket.id, transport: socket.io.engine.transport.name } }));
socket.on("connect_error", (error) => {
  print({ kind: "connect_error", value: { message: error.message, data: error.data === undefined ? null : error.data } });
});
socket.on("disconnect", (reason) => print({ kind: "disconnect", value: reason }));
socket.onAny((name, ...args) => print({ kind: "event", name, args }));

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const command = JSON.parse(line);
  if (command.emit) socket.emit(command.emit, ...(command.args || []));
});
process.stdin.on("end", () => {
  socket.disconnect();
  process.exit(0);
});
process.on("SIGTERM", () => {
  socket.disconnect();
  process.exit(0);
});
