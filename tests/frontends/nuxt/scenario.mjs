// Runs the official Llana Nuxt plugin (@juicyllama/llana-plugins-nuxtjs, unchanged) as a page at another origin
// would, through the Nuxt shim (app.mjs) and a browser-like fetch (browser.mjs).
// Usage: node --import ./register.mjs scenario.mjs BASE_URL OPTIONS_JSON
//   OPTIONS_JSON: {"mode": "cookie"|"bearer", "origin": "http://127.0.0.1:3000", "username", "password"}
// Output: one JSON line per step {"step", ...what it observed}; the last line is {"step": "done"} or
// {"step": "error", "message", "cause"}.
// The runtime plugin itself (the package exports only its Nuxt module, which registers this file).
import plugin from "../../../node_modules/@juicyllama/llana-plugins-nuxtjs/dist/runtime/plugin.js";

import { nuxt } from "./app.mjs";
import { state } from "./browser.mjs";

const [base, optionsJson] = process.argv.slice(2);
const options = JSON.parse(optionsJson || "{}");
const print = (step, value = {}) => process.stdout.write(JSON.stringify({ step, ...value }) + "\n");
const WAIT_MS = 20000;

state.origin = options.origin || state.origin;
if (options.mode === "bearer") state.blockedCookies.add("accessToken");

const { provide } = plugin({ $config: { public: { LLANA_INSTANCE_URL: base, LLANA_DEBUG: false } } });
const { llana, llanaLogin, llanaLogout, llanaGetProfile, llanaSubscribe, llanaAuthCheck, llanaAccessToken } =
  Object.fromEntries(Object.entries(provide).map(([name, value]) => [name.replace(/^\$/, ""), value]));

function errorOf(e) {
  return { message: String(e?.message || e), status: e?.response?.status ?? null, cause: String(e?.cause || "") };
}

async function attempt(fn) {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    return { ok: false, ...errorOf(e) };
  }
}

function waitFor(predicate, what) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const timer = setInterval(() => {
      const value = predicate();
      if (value) {
        clearInterval(timer);
        resolve(value);
      } else if (Date.now() - started > WAIT_MS) {
        clearInterval(timer);
        reject(new Error(`timed out waiting for ${what}`));
      }
    }, 20);
  });
}

async function main() {
  print("start", { origin: state.origin, mode: options.mode, authCheck: llanaAuthCheck() });

  // A public table before login: anonymous.
  const publicList = await llana({ type: "LIST", table: "Employee", limit: 2 });
  print("public_list", { total: publicList.total, count: publicList.data.length });

  const login = await llanaLogin({ username: options.username, password: options.password });
  if (login.error) throw login.error;
  if (options.mode === "bearer") nuxt.requestHeaders = { authorization: `Bearer ${login.access_token}` };
  print("login", { status: login.status, authCheck: llanaAuthCheck(), cookies: [...state.cookies.keys()].sort() });

  const profile = await llanaGetProfile();
  print("profile", { email: profile.email, id: profile.id });

  const filtered = await llana({
    type: "LIST",
    table: "Customer",
    fields: ["custId", "companyName", "country"],
    where: [{ field: "country", operator: "equals", value: "Germany" }],
    sort: "companyName.asc",
    limit: 3,
    relations: "SalesOrder",
  });
  print("list", {
    total: filtered.total,
    count: filtered.data.length,
    countries: [...new Set(filtered.data.map((row) => row.country))],
    names: filtered.data.map((row) => row.companyName),
    relations: filtered.data.every((row) => Array.isArray(row.SalesOrder)),
    next: filtered.pagination?.page?.next || null,
  });
  const nextPage = await llana({
    type: "LIST",
    table: "Customer",
    fields: ["custId", "companyName"],
    where: [{ field: "country", operator: "equals", value: "Germany" }],
    sort: "companyName.asc",
    page: filtered.pagination.page.next,
  });
  print("page", { offset: nextPage.offset, names: nextPage.data.map((row) => row.companyName) });

  const events = [];
  const unsubscribe = await llanaSubscribe(
    "Customer",
    (data) => events.push(["INSERT", data]),
    (data) => events.push(["UPDATE", data]),
    (data) => events.push(["DELETE", data]),
  );
  const socket = state.sockets.at(-1);
  await waitFor(() => socket.connected, "the socket to connect");
  print("subscribe", { connected: socket.connected });

  const created = await llana({
    type: "CREATE",
    table: "Customer",
    data: { companyName: `Plugin ${options.mode}`, userId: profile.id, country: "Iceland" },
  });
  const id = created.custId;
  print("create", { id, companyName: created.companyName });
  const updated = await llana({ type: "UPDATE", table: "Customer", id, data: { city: "Reykjavik" } });
  print("update", { city: updated.city });
  const got = await llana({ type: "GET", table: "Customer", id, fields: ["custId", "city"] });
  print("get", { city: got.city });
  const deleted = await llana({ type: "DELETE", table: "Customer", id });
  print("delete", { deleted: deleted.deleted ?? null });
  await waitFor(() => events.length >= 3, "INSERT, UPDATE and DELETE events");
  print("events", { events: events.map(([kind, data]) => [kind, data.type, String(data.custId)]) });

  const refreshed = await llanaAccessToken();
  print("refresh", { token: typeof refreshed === "string" && refreshed.length > 20 });
  if (options.mode === "bearer") nuxt.requestHeaders = { authorization: `Bearer ${refreshed}` };
  const afterRefresh = await llana({ type: "LIST", table: "Customer", limit: 1 });
  print("after_refresh", { count: afterRefresh.data.length });

  unsubscribe();
  nuxt.requestHeaders = {};
  await llanaLogout();
  print("logout", { authCheck: llanaAuthCheck(), cookies: [...state.cookies.keys()].sort() });

  const publicAfter = await llana({ type: "LIST", table: "Employee", limit: 1 });
  const privateAfter = await attempt(() => llana({ type: "LIST", table: "Customer", limit: 1 }));
  print("anonymous", { public: publicAfter.data.length, private: privateAfter });
  await new Promise((resolve) => setTimeout(resolve, 50)); // the plugin navigates in a timer
  print("done", {
    navigations: nuxt.navigations,
    preflights: state.preflights,
    requests: state.requests,
  });
}

main()
  .catch((e) => print("error", { ...errorOf(e), requests: state.requests, navigations: nuxt.navigations }))
  .finally(() => {
    for (const socket of state.sockets || []) socket.close();
    setTimeout(() => process.exit(0), 100);
  });
