// What every app page does: the availability switch, notifications
// (mentions, assignments) with sound and a browser notification, local
// times, and the live connection.
import { api, wsPath, me, workspace, toast, chime, notify, localiseTimes } from "./api.js";
import { on, connect } from "./live.js";
import "./mail.js";

function availability() {
  const select = document.getElementById("availability");
  if (!select) return;
  select.addEventListener("change", async () => {
    const value = select.value;
    try {
      await api("PATCH", wsPath(`/users/${me}`), { availability: value });
      select.className = `availability availability-${value}`;
      toast(`You are ${value}.`);
    } catch (e) {
      toast(e.message, "error");
    }
  });
  on("presence.updated", (e) => {
    if (e.data?.user_id === me && e.data.availability) {
      select.value = e.data.availability;
      select.className = `availability availability-${e.data.availability}`;
    }
  });
}

// Ask for notification permission once, on the first click anywhere.
function askPermissionOnce() {
  if (!("Notification" in window) || Notification.permission !== "default") return;
  if (localStorage.getItem("sb.asked-notifications")) return;
  document.addEventListener(
    "click",
    () => {
      localStorage.setItem("sb.asked-notifications", "1");
      Notification.requestPermission().catch(() => {});
    },
    { once: true },
  );
}

function conversationUrl(n) {
  return `/w/${workspace}/inbox?section=assigned&c=${encodeURIComponent(n.conversation_id)}`;
}

function notificationText(n) {
  const who = n.actor_name || "Someone";
  return n.kind === "mention" ? `${who} mentioned you: ${n.excerpt || ""}` : `${who} gave you a chat`;
}

function notifications() {
  const bell = document.getElementById("bell");
  const panel = document.getElementById("notifications");
  const list = document.getElementById("notification-list");
  const count = document.getElementById("bell-count");
  if (!bell) return;
  let unread = 0;
  const setCount = (n) => {
    unread = n;
    count.textContent = String(n);
    count.hidden = n === 0;
  };
  const item = (n) => {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = conversationUrl(n);
    a.textContent = notificationText(n);
    if (!n.read_at) li.className = "unread";
    li.append(a);
    return li;
  };
  const load = async () => {
    try {
      const page = await api("GET", wsPath("/notifications?limit=20"));
      list.replaceChildren(...(page.items || []).map(item));
      setCount(page.unread_count ?? (page.items || []).filter((n) => !n.read_at).length);
    } catch {
      /* notifications are optional on this page */
    }
  };
  bell.addEventListener("click", () => {
    const open = panel.hidden;
    panel.hidden = !open;
    bell.setAttribute("aria-expanded", String(open));
  });
  document.getElementById("notifications-read")?.addEventListener("click", async () => {
    await api("POST", wsPath("/notifications/read"), { all: true }).catch(() => {});
    load();
  });
  on("notification.created", (e) => {
    const n = e.data || {};
    list.prepend(item(n));
    setCount(unread + 1);
    const text = notificationText(n);
    toast(text);
    chime();
    notify("Switchboard", text, () => {
      location.href = conversationUrl(n);
    });
  });
  load();
}

availability();
askPermissionOnce();
notifications();
localiseTimes();
connect();
