// socket.io-client as a browser page at APP_ORIGIN uses it: the handshake carries the page's Origin and the
// cookies of the API (a browser sends both on a WebSocket handshake; Node's client sends neither by itself).
import { io as realIo } from "socket.io-client";

import { cookieHeader, state } from "./browser.mjs";

export * from "socket.io-client";

export function io(url, options = {}) {
  const extraHeaders = { Origin: state.origin, ...(options.extraHeaders || {}) };
  if (state.cookies.size) extraHeaders.Cookie = cookieHeader();
  const socket = realIo(url, { ...options, extraHeaders });
  state.sockets = [...(state.sockets || []), socket];
  return socket;
}
