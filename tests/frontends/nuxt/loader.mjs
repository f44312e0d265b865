// Module resolution hooks (node --import ./register.mjs): the plugin's `#app` (the Nuxt runtime) resolves to
// the shim (app.mjs), and its `socket.io-client` to browser.mjs, which adds what a browser adds to a socket.
const here = new URL(".", import.meta.url);
const REDIRECTS = { "#app": new URL("app.mjs", here).href, "socket.io-client": new URL("socketio.mjs", here).href };

export async function resolve(specifier, context, nextResolve) {
  const target = REDIRECTS[specifier];
  if (target && !(context.parentURL || "").startsWith(here.href)) {
    return { url: target, shortCircuit: true };
  }
  return nextResolve(specifier, context);
}
