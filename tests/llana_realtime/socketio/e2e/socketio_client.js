// Drives the official socket.io-client (node_modules) against the conformance app's /socket.io/.
// Usage: node socketio_client.js BASE_URL SCENARIO
// Prints one JSON line with what the client observed; exits 1 (with {"error": ...}) on a timeout or error.
//   upgrade | websocket   connect to "/" (polling then WebSocket, or WebSocket only), receive `auth`,
//                         emit `message` (text + binary) and `message-with-ack`, report what came back
//   custom                connect to "/custom", answer the server's `server-call` with an ack
//   refused               connect to "/random": the CONNECT_ERROR message reaches `connect_error`
//   reconnect             ask the server to close the connection; the client reconnects by itself, then
//                         asks for a namespace-level disconnect, after which it does not
//   silent                stop answering pings: the server closes the connection (heartbeat timeout)
//   broadcast             connect to "/custom" and print every `broadcast` received until SIGTERM/stdin end
"use strict";
const path = require("path");
const { io } = require(path.join(__dirname, "..", "..", "..", "..", "node_modules", "socket.io-client"));

const [base, scenario] = process.argv.slice(2);
const result = { scenario };
const timer = setTimeout(() => fail("timeout"), 15000);

function fail(why) {
  console.log(JSON.stringify({ error: String(why), ...result }));
  process.exit(1);
}

function finish(socket) {
  clearTimeout(timer);
  if (socket) socket.disconnect();
  console.log(JSON.stringify(result));
  process.exit(0);
}

const bytes = (buffer) => Array.from(new Uint8Array(buffer));
const plain = (value) => (Buffer.isBuffer(value) || value instanceof ArrayBuffer ? { bytes: bytes(value) } : value);

async function messages(transports) {
  const socket = io(base, { transports, auth: { token: "abc" }, reconnection: false });
  result.transports = [];
  const auth = new Promise((resolve) => socket.on("auth", resolve));
  const upgraded = new Promise((resolve) =>
    socket.io.once("open", () => {
      result.transports.push(socket.io.engine.transport.name);  // the transport of the handshake
      socket.io.engine.once("upgrade", resolve);
    }),
  );
  await new Promise((resolve, reject) => {
    socket.on("connect", resolve);
    socket.on("connect_error", reject);
  });
  result.sid = socket.id;
  result.auth = await auth;
  if (transports.length > 1) {
    await upgraded;
    result.transports.push(socket.io.engine.transport.name);
  }
  const back = new Promise((resolve) => socket.once("message-back", (...args) => resolve(args)));
  socket.emit("message", 1, "2", { 3: [true] }, Buffer.from([1, 2, 3]));
  result.messageBack = (await back).map(plain);
  const acked = await new Promise((resolve, reject) =>
    socket.timeout(5000).emit("message-with-ack", 1, "2", { 3: [false] }, Buffer.from([4, 5]), (err, ...args) =>
      err ? reject(err) : resolve(args),
    ),
  );
  result.ack = acked.map(plain);
  finish(socket);
}

async function custom() {
  const socket = io(base + "/custom", { transports: ["websocket"], reconnection: false });
  result.auth = await new Promise((resolve) => socket.on("auth", resolve));
  result.nsp = socket.nsp;
  socket.on("server-call", (...args) => {
    const ack = args.pop();
    result.serverCall = args.map(plain);
    ack("answer", Buffer.from([9, 8]));
  });
  const answered = new Promise((resolve) => socket.once("server-call-result", (...args) => resolve(args)));
  socket.emit("call-me", "question", Buffer.from([7]));
  result.serverCallResult = (await answered).map(plain);
  finish(socket);
}

async function refused() {
  const socket = io(base + "/random", { reconnection: false });
  const error = await new Promise((resolve) => socket.on("connect_error", resolve));
  result.message = error.message;
  result.connected = socket.connected;
  finish(socket);
}

async function reconnect() {
  const socket = io(base + "/custom", { transports: ["websocket"], reconnectionDelay: 100, reconnectionDelayMax: 200 });
  result.sids = [];
  result.reasons = [];
  socket.on("connect", () => result.sids.push(socket.id));
  socket.on("disconnect", (reason) => result.reasons.push(reason));
  await new Promise((resolve) => socket.once("auth", resolve));
  socket.emit("disconnect-me", true);  // the server closes the Engine.IO connection
  await new Promise((resolve) => socket.once("auth", resolve));  // reconnected by itself
  result.reconnected = socket.connected;
  socket.emit("disconnect-me", false);  // namespace disconnect: "io server disconnect", no reconnection
  await new Promise((resolve) => socket.once("disconnect", resolve));
  await new Promise((resolve) => setTimeout(resolve, 600));
  result.connectedAfterServerDisconnect = socket.connected;
  finish(socket);
}

async function silent() {
  const socket = io(base, { transports: ["websocket"], reconnection: false });
  await new Promise((resolve) => socket.once("auth", resolve));
  const engine = socket.io.engine;
  result.pings = 0;
  engine.on("ping", () => (result.pings += 1));
  await new Promise((resolve) => engine.once("ping", resolve));  // a heartbeat answered as usual first
  engine._sendPacket = () => {};  // from now on no pong (engine.io-client answers pings through _sendPacket)
  result.reason = await new Promise((resolve) => socket.once("disconnect", resolve));
  finish(null);
}

async function broadcast() {
  const socket = io(base + "/custom", { transports: ["websocket"], reconnection: false });
  await new Promise((resolve) => socket.once("auth", resolve));
  console.log(JSON.stringify({ ready: socket.id }));
  clearTimeout(timer);
  socket.on("broadcast", (...args) => console.log(JSON.stringify({ broadcast: args.map(plain) })));
  socket.on("disconnect", (reason) => {
    console.log(JSON.stringify({ disconnect: reason }));
    process.exit(0);
  });
  process.stdin.on("end", () => process.exit(0));
  process.stdin.resume();
}

const scenarios = {
  upgrade: () => messages(["polling", "websocket"]),
  websocket: () => messages(["websocket"]),
  custom,
  refused,
  reconnect,
  silent,
  broadcast,
};
if (!scenarios[scenario]) fail(`unknown scenario ${scenario}`);
scenarios[scenario]().catch(fail);
