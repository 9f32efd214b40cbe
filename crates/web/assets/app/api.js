// The JSON API from pages: the session cookie plus the CSRF token the page
// carries in <meta name="csrf-token">.
const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content || "";

export const workspace = meta("workspace-id");
export const me = meta("user-id");

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

export const wsPath = (path) => `/api/v1/workspaces/${workspace}${path}`;

export async function api(method, path, body, extraHeaders = {}) {
  const headers = { "X-CSRF-Token": meta("csrf-token"), Accept: "application/json", ...extraHeaders };
  const options = { method, headers, credentials: "same-origin" };
  if (body instanceof Blob) {
    options.body = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, options);
  } catch {
    throw new ApiError(0, "network", "The server cannot be reached. Check your connection.", null);
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const e = data?.error || {};
    throw new ApiError(response.status, e.code, e.message || response.statusText, e.field || null);
  }
  return data;
}

// A server-rendered fragment, parsed (never executed: templates hold no script).
export async function fragment(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
  if (!response.ok) throw new ApiError(response.status, "fragment", response.statusText, null);
  const template = document.createElement("template");
  template.innerHTML = await response.text();
  return template.content;
}

// A short message at the corner of the screen. Text only.
export function toast(text, kind = "info") {
  const box = document.getElementById("toasts");
  if (!box) return;
  const item = document.createElement("div");
  item.className = `toast ${kind}`;
  item.textContent = text;
  box.append(item);
  setTimeout(() => item.remove(), 6000);
}

export const prefs = {
  get(name, fallback) {
    const v = localStorage.getItem(`sb.pref.${name}`);
    return v === null ? fallback : v === "true";
  },
  set(name, value) {
    localStorage.setItem(`sb.pref.${name}`, String(value));
  },
};

// A short tone (no audio file needed).
export function chime() {
  if (!prefs.get("sound", true)) return;
  try {
    const ctx = new AudioContext();
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.08, ctx.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + 0.25);
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.25);
  } catch {
    /* no audio on this device */
  }
}

// A browser notification, when allowed. Title and body are plain text.
export function notify(title, body, onClick) {
  if (!prefs.get("desktop", true) || !("Notification" in window) || Notification.permission !== "granted") return;
  if (document.hasFocus()) return;
  const n = new Notification(title, { body });
  if (onClick) n.onclick = () => { window.focus(); onClick(); };
}

// Show times in the reader's own zone.
export function localiseTimes(root = document) {
  for (const t of root.querySelectorAll("time[datetime]")) {
    if (t.dataset.localised) continue;
    const d = new Date(t.getAttribute("datetime"));
    if (Number.isNaN(d.getTime()) || !/Z$/.test(t.getAttribute("datetime")) || /min|h|d$/.test(t.textContent)) continue;
    t.textContent = d.toLocaleString([], { dateStyle: "short", timeStyle: "short" });
    t.dataset.localised = "1";
  }
}
