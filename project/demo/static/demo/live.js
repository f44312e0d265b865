// The live demo page (project/demo/templates/demo/live.html): log in, follow one table, list its events.
"use strict";
(function () {
  const config = JSON.parse(document.getElementById("live-config").textContent);
  const $ = (id) => document.getElementById(id);
  let socket = null;

  function setStatus(text, kind) {
    $("status").textContent = text;
    $("status").className = kind || "";
  }

  function show(kind, payload) {
    const item = document.createElement("li");
    item.className = kind;
    item.dataset.kind = kind;
    if (payload && typeof payload === "object") {
      for (const [key, value] of Object.entries(payload)) item.dataset[key.toLowerCase()] = String(value);
    }
    item.textContent = `${new Date().toLocaleTimeString()}  ${kind}  ${JSON.stringify(payload)}`;
    $("events").prepend(item);
  }

  async function loadTables(token) {
    try {
      const response = await fetch("/tables", { headers: token ? { Authorization: "Bearer " + token } : {} });
      if (!response.ok) return;
      const body = await response.json();
      $("tables").replaceChildren(...(body.tables || []).map((name) => new Option(name, name)));
    } catch (error) {
      console.warn("could not list tables", error);
    }
  }

  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("login-status").textContent = "logging in…";
    try {
      const response = await fetch("/auth/login", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ username: $("email").value, password: $("password").value }),
      });
      const body = await response.json();
      if (!response.ok) throw new Error(body.message || response.statusText);
      $("token").value = body.access_token;
      $("login-status").textContent = `logged in (token valid ${body.expires_in} s)`;
      loadTables(body.access_token);
    } catch (error) {
      $("login-status").textContent = "login failed: " + error.message;
    }
  });

  $("connect-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (socket) socket.disconnect();
    const table = $("table").value.trim();
    const token = $("token").value.trim();
    // Browsers can't send headers on the WebSocket transport: the table and token go in `auth`.
    socket = io(window.location.origin, {
      path: config.socketioPath,
      auth: token ? { token: token, "x-llana-table": table } : { "x-llana-table": table },
      reconnection: false,
    });
    setStatus("connecting…");
    socket.io.on("open", () => {
      const engine = socket.io.engine;
      $("transport").textContent = engine.transport.name;
      engine.on("upgrade", (transport) => ($("transport").textContent = transport.name));
    });
    socket.on("connect", () => {
      setStatus(`connected to ${table}`, "connected");
      $("disconnect").disabled = false;
    });
    socket.on("connect_error", (error) => setStatus("refused: " + error.message, "error"));
    socket.on("disconnect", (reason) => {
      setStatus("disconnected: " + reason, reason === "io client disconnect" ? "" : "error");
      $("disconnect").disabled = true;
    });
    socket.on(table, (payload) => show(payload.type, payload));
    socket.on("exception", (payload) => show("exception", payload));
  });

  $("disconnect").addEventListener("click", () => socket && socket.disconnect());
  $("clear").addEventListener("click", () => $("events").replaceChildren());
  if ($("token").value) loadTables($("token").value);
})();
