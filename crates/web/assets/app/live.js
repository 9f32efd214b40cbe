// One WebSocket per tab on /api/v1/ws. Resumes with ?since=<last seq>; a
// `resync` means the gap was too large and lists must be reloaded.
import { workspace } from "./api.js";

const handlers = new Map();
const seqKey = `sb.seq.${workspace}`;
let lastSeq = Number(sessionStorage.getItem(seqKey) || 0);
let socket = null;
let retry = 0;

export function on(type, fn) {
  if (!handlers.has(type)) handlers.set(type, []);
  handlers.get(type).push(fn);
}

function dispatch(event) {
  for (const fn of handlers.get(event.type) || []) fn(event);
  for (const fn of handlers.get("*") || []) fn(event);
}

export function connect() {
  if (socket) return;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const since = lastSeq ? `&since=${lastSeq}` : "";
  const url = `${scheme}://${location.host}/api/v1/ws?workspace_id=${encodeURIComponent(workspace)}${since}`;
  socket = new WebSocket(url);
  socket.addEventListener("open", () => {
    retry = 0;
    document.body.dataset.live = "connected";
  });
  socket.addEventListener("message", (m) => {
    let event;
    try {
      event = JSON.parse(m.data);
    } catch {
      return;
    }
    if (typeof event.seq === "number" && event.seq > lastSeq) {
      lastSeq = event.seq;
      sessionStorage.setItem(seqKey, String(lastSeq));
    }
    dispatch(event);
  });
  socket.addEventListener("close", () => {
    socket = null;
    document.body.dataset.live = "disconnected";
    retry = Math.min(retry + 1, 6);
    setTimeout(connect, 250 * 2 ** retry);
  });
}
