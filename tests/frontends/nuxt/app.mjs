// The few pieces of the Nuxt runtime (`#app`) the official plugin uses, for a client-side (browser) run:
// defineNuxtPlugin, useCookie (the page's own cookies, e.g. isLlanaLoggedIn), navigateTo (recorded),
// useRequestHeaders (SSR only: empty in a browser; Bearer mode puts the Authorization header there) and the
// global $fetch (ofetch over browser.mjs's fetch: Origin, CORS, cookie jar).
import { createFetch } from "ofetch";

import { browserFetch } from "./browser.mjs";

export const nuxt = {
  pageCookies: new Map(),
  navigations: [],
  requestHeaders: {},
};

globalThis.$fetch = createFetch({ fetch: browserFetch, Headers, AbortController });

export function defineNuxtPlugin(plugin) {
  return plugin;
}

export function useCookie(name, _options = {}) {
  return {
    get value() {
      return nuxt.pageCookies.get(name);
    },
    set value(value) {
      if (value === undefined || value === null) nuxt.pageCookies.delete(name);
      else nuxt.pageCookies.set(name, value);
    },
  };
}

export function navigateTo(path, options = {}) {
  nuxt.navigations.push(path);
  return Promise.resolve(options);
}

export function useRequestHeaders() {
  return { ...nuxt.requestHeaders };
}
