// The live demo page (project/demo/templates/demo/live.html): log in, follow one table, list its events.
"use strict";
(function () {
  const config = JSON.parse(document.getElementById("live-config").textContent);
  const $ = (id) => document.getElementById(id);
  let socket = null;
  let userId = null; // the logged-in user's id, from /auth/profile (the demo Customer needs a userId)
  // A row to start from per demo table (edit it in the page); other tables start from {}.
  const SAMPLES = {
    Customer: () => ({ companyName: "Live demo", city: "Oslo", ...(userId !== null ? { userId } : {}) }),
    Employee: () => ({ firstName: "Live", lastName: "Demo" }),
    Shipper: () => ({ companyName: "Live demo" }),
    Supplier: () => ({ companyName: "Live demo" }),
    SalesOrder: () => ({ shipName: "Live demo", freight: "12.50" }),
  };

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

  function authHeaders() {
    const token = $("token").value.trim();
    return token ? { Authorization: "Bearer " + token } : {};
  }

  function setWriteStatus(text, kind) {
    $("write-status").textContent = text;
    $("write-status").className = kind || "";
  }

  function fillSample() {
    const sample = SAMPLES[$("table").value.trim()];
    $("row-body").value = JSON.stringify(sample ? sample() : {}, null, 1);
  }

  async function loadProfile(token) {
    try {
      const response = await fetch("/auth/profile", { headers: { Authorization: "Bearer " + token } });
      if (response.ok) userId = (await response.json()).id;
    } catch (error) {
      console.warn("could not read the profile", error);
    }
  }

  async function primaryKey(table) {
    const response = await fetch(`/${encodeURIComponent(table)}/schema`, { headers: authHeaders() });
    const body = await response.json();
    if (!response.ok) throw new Error(body.message || response.statusText);
    return body.primary_key;
  }

  // Create, update or delete one row through the REST API with the page's token: the socket shows its event.
  async function write(action) {
    const table = $("table").value.trim();
    const id = $("row-id").value.trim();
    if (action !== "create" && !id) return setWriteStatus("enter a row id (Create fills it in)", "error");
    const options = { method: { create: "POST", update: "PATCH", delete: "DELETE" }[action], headers: authHeaders() };
    if (action !== "delete") {
      try {
        options.body = JSON.stringify(JSON.parse($("row-body").value || "{}"));
      } catch (error) {
        return setWriteStatus("the row is not valid JSON: " + error.message, "error");
      }
      options.headers["Content-Type"] = "application/json";
    }
    const path = `/${encodeURIComponent(table)}/` + (action === "create" ? "" : encodeURIComponent(id));
    setWriteStatus(`${options.method} ${path}…`);
    try {
      const response = await fetch(path, options);
      const body = await response.json();
      if (!response.ok) throw new Error(`${response.status} ${body.message || response.statusText}`);
      if (action === "create") $("row-id").value = String(body[await primaryKey(table)]);
      setWriteStatus(`${options.method} ${path} → ${response.status} ${JSON.stringify(body).slice(0, 200)}`, "ok");
    } catch (error) {
      setWriteStatus(`${options.method} ${path} failed: ${error.message}`, "error");
    }
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
      await loadProfile(body.access_token);
      fillSample();
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
  $("table").addEventListener("change", () => {
    fillSample();
    $("row-id").value = "";
  });
  for (const action of ["create", "update", "delete"]) $(action).addEventListener("click", () => write(action));
  fillSample();
  if ($("token").value) loadTables($("token").value);
})();
