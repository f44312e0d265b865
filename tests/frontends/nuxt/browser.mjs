// What a browser page at APP_ORIGIN does around fetch(): the Origin header, CORS (preflights, the
// Access-Control-* checks, credentials) and a cookie jar that honours `credentials`. Failures are thrown as
// TypeError("Failed to fetch"), as browsers do.
export const state = {
  origin: "http://127.0.0.1:3000",
  cookies: new Map(), // the API's cookies: name -> value (Path=/, one host)
  blockedCookies: new Set(), // cookie names this "browser" refuses to store (Bearer mode: no accessToken)
  requests: [], // [method, path, status]
  preflights: 0,
};

const SAFE_HEADERS = new Set(["accept", "accept-language", "content-language"]);
const SIMPLE_TYPES = ["application/x-www-form-urlencoded", "multipart/form-data", "text/plain"];

function corsFailure(reason) {
  const error = new TypeError("Failed to fetch");
  error.cause = reason;
  return error;
}

export function cookieHeader() {
  return [...state.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
}

function storeCookies(response) {
  for (const line of response.headers.getSetCookie()) {
    const [pair, ...attributes] = line.split(";");
    const name = pair.slice(0, pair.indexOf("=")).trim();
    const value = pair.slice(pair.indexOf("=") + 1).trim();
    const attrs = Object.fromEntries(
      attributes.map((a) => a.trim().split("=")).map(([k, v]) => [k.toLowerCase(), v ?? ""]),
    );
    const expired =
      attrs["max-age"] === "0" || (attrs.expires && Date.parse(attrs.expires) <= Date.now()) || value === '""';
    if (expired) state.cookies.delete(name);
    else if (!state.blockedCookies.has(name)) state.cookies.set(name, value);
  }
}

function checkCors(response, credentials, what) {
  const allowOrigin = response.headers.get("access-control-allow-origin");
  if (allowOrigin !== state.origin && !(allowOrigin === "*" && credentials !== "include")) {
    throw corsFailure(`${what}: Access-Control-Allow-Origin ${allowOrigin} for ${state.origin}`);
  }
  if (credentials === "include" && response.headers.get("access-control-allow-credentials") !== "true") {
    throw corsFailure(`${what}: credentials not allowed`);
  }
}

export async function browserFetch(input, init = {}) {
  const request = new Request(input, init);
  const url = new URL(request.url);
  const crossOrigin = url.origin !== state.origin;
  const credentials = init.credentials || "same-origin";
  const sendCookies = credentials === "include" || (credentials === "same-origin" && !crossOrigin);
  const headers = new Headers(request.headers);
  if (crossOrigin) {
    const method = request.method;
    const unsafeHeaders = [...headers.keys()].filter((name) => {
      if (SAFE_HEADERS.has(name)) return false;
      if (name === "content-type") return !SIMPLE_TYPES.includes(headers.get(name).split(";")[0].trim());
      return true;
    });
    if (!["GET", "HEAD", "POST"].includes(method) || unsafeHeaders.length) {
      state.preflights += 1;
      const preflight = await fetch(url, {
        method: "OPTIONS",
        headers: {
          Origin: state.origin,
          "Access-Control-Request-Method": method,
          ...(unsafeHeaders.length ? { "Access-Control-Request-Headers": unsafeHeaders.sort().join(",") } : {}),
        },
      });
      if (!preflight.ok) throw corsFailure(`preflight ${method} ${url.pathname}: ${preflight.status}`);
      checkCors(preflight, credentials, "preflight");
      const methods = (preflight.headers.get("access-control-allow-methods") || "").toUpperCase().split(/\s*,\s*/);
      if (!["GET", "HEAD", "POST"].includes(method) && !methods.includes(method)) {
        throw corsFailure(`preflight: method ${method} not allowed`);
      }
      const allowed = (preflight.headers.get("access-control-allow-headers") || "").toLowerCase().split(/\s*,\s*/);
      for (const name of unsafeHeaders) {
        if (!allowed.includes(name)) throw corsFailure(`preflight: header ${name} not allowed`);
      }
    }
    headers.set("Origin", state.origin);
    headers.set("Sec-Fetch-Site", "same-site");
  }
  if (sendCookies && state.cookies.size) headers.set("Cookie", cookieHeader());
  const body = ["GET", "HEAD"].includes(request.method) ? undefined : await request.arrayBuffer();
  const response = await fetch(url, { method: request.method, headers, body, redirect: "manual" });
  state.requests.push([request.method, url.pathname + url.search, response.status]);
  if (crossOrigin) checkCors(response, credentials, `${request.method} ${url.pathname}`);
  if (sendCookies) storeCookies(response);
  return response;
}
