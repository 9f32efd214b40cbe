// The inbox: the list refreshes itself on every change, a chat opens in
// the pane without leaving the page, j/k move between chats, new chats and
// customer messages chime and notify.
import { api, wsPath, fragment, workspace, chime, notify, localiseTimes, toast } from "./api.js";
import { on } from "./live.js";
import { bindComposer, bindPush } from "./composer.js";
import { bindActions } from "./actions.js";
import { bindAssist } from "./assist.js";
import { bindPaging } from "./paging.js";
import { bindForms } from "./forms.js";

const list = document.getElementById("list");
const pane = document.getElementById("pane");
const paging = list ? bindPaging(list) : { watch() {}, shown: () => 0 };

function openId() {
  return document.getElementById("conversation")?.dataset.id || "";
}

let listTimer = null;
function refreshList() {
  if (!list) return;
  clearTimeout(listTimer);
  listTimer = setTimeout(async () => {
    try {
      // As many rows as are shown now, so a refresh does not lose the scrolled ones.
      const content = await fragment(`/w/${workspace}/inbox/list?${list.dataset.query}&c=${encodeURIComponent(openId())}&shown=${paging.shown()}`);
      list.replaceChildren(content);
      localiseTimes(list);
      paging.watch();
    } catch {
      /* the next event retries */
    }
  }, 150);
}

function bindPane() {
  const root = document.getElementById("conversation");
  if (!root) return;
  bindComposer(root, refreshPane);
  bindAssist(root, refreshPane);
  bindPush(root);
  bindActions(root, refreshPane);
  const messages = document.getElementById("messages");
  if (messages) messages.scrollTop = messages.scrollHeight;
  localiseTimes(root);
  markRead();
}

// The agent who answers the chat has it on screen: the customer sees "Seen".
function markRead() {
  const root = document.getElementById("conversation");
  if (root?.dataset.reads !== "true" || document.visibilityState !== "visible") return;
  api("POST", wsPath(`/conversations/${root.dataset.id}/read`)).catch(() => {});
}
document.addEventListener("visibilitychange", markRead);

// Re-render the open conversation; the composer (and what is typed) stays.
async function refreshPane() {
  const id = openId();
  if (!id) return;
  try {
    const content = await fragment(`/w/${workspace}/conversations/${id}/pane`);
    const current = document.getElementById("conversation");
    const fresh = content.getElementById("conversation");
    if (!current || !fresh || current.dataset.id !== id) return;
    const oldComposer = document.getElementById("composer");
    const newComposer = content.getElementById("composer");
    // The composer changes only when what may be written changes (then
    // the whole pane is new); otherwise it stays with what is typed.
    if (!oldComposer !== !newComposer || (newComposer && oldComposer && newComposer.dataset.windowOpen !== oldComposer.dataset.windowOpen)) {
      current.replaceWith(fresh);
    } else {
      for (const part of ["conv-head", "messages", "contact-panel"]) {
        const old = document.getElementById(part);
        const next = content.getElementById(part);
        if (old && next) old.replaceWith(next);
      }
      current.dataset.status = fresh.dataset.status;
    }
    for (const dialog of content.querySelectorAll("dialog")) {
      const old = document.getElementById(dialog.id);
      if (!old || old.open) continue;
      if ("keep" in old.dataset) {
        // Bound once with the composer (the quick-reply picker): only its file choices follow.
        // The choice stays what it was (moved options would otherwise pick the newest file).
        const files = dialog.querySelector("#qr-attachment");
        const choice = old.querySelector("#qr-attachment");
        if (choice) {
          const kept = choice.value;
          choice.replaceChildren(...(files ? files.children : []));
          choice.value = kept;
          if (choice.value !== kept) choice.value = "";
        }
        continue;
      }
      old.replaceWith(dialog);
    }
    bindPane();
  } catch (e) {
    // Out of reach now (transferred to another team, say): say so, and
    // leave nothing to act on.
    if (e.status === 404 && openId() === id) {
      const gone = document.createElement("p");
      gone.className = "empty muted";
      gone.id = "conversation-gone";
      gone.textContent = "This chat is no longer in your inbox: it went to another team or agent. Choose another chat from the list.";
      (pane || document.getElementById("conversation").parentElement).replaceChildren(gone);
      refreshList();
    }
  }
}

async function openConversation(id, push = true) {
  if (!pane) {
    location.href = `/w/${workspace}/conversations/${id}`;
    return;
  }
  const content = await fragment(`/w/${workspace}/conversations/${id}/pane`);
  pane.replaceChildren(content);
  document.querySelector("main").classList.add("has-pane");
  for (const row of document.querySelectorAll(".row")) row.classList.toggle("open", row.dataset.id === id);
  if (push) {
    const url = new URL(location.href);
    url.searchParams.set("c", id);
    history.pushState({ c: id }, "", url);
  }
  bindPane();
  document.getElementById("composer-text")?.focus();
}

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-conversation]");
  if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
  event.preventDefault();
  openConversation(link.dataset.conversation);
});

const saveFilter = document.getElementById("save-filter-box");
if (saveFilter) bindForms(saveFilter);

// A saved filter is deleted from its chip.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-delete-filter]");
  if (!button) return;
  try {
    await api("DELETE", wsPath(`/saved-filters/${button.dataset.deleteFilter}`));
    button.closest(".saved-filter").remove();
  } catch (e) {
    toast(e.message, "error");
  }
});

window.addEventListener("popstate", () => {
  const id = new URL(location.href).searchParams.get("c");
  if (id) openConversation(id, false);
});

function typing(target) {
  return target.closest("input, textarea, select, [contenteditable]");
}

document.addEventListener("keydown", (event) => {
  if (typing(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key !== "j" && event.key !== "k") return;
  const rows = [...document.querySelectorAll(".row")];
  if (!rows.length) return;
  const at = rows.findIndex((r) => r.dataset.id === openId());
  const next = event.key === "j" ? Math.min(at + 1, rows.length - 1) : Math.max(at - 1, 0);
  event.preventDefault();
  openConversation(rows[next].dataset.id);
  rows[next].querySelector("a")?.focus();
});

on("conversation.created", (e) => {
  refreshList();
  chime();
  notify("New chat", "A customer is waiting.", () => openConversation(e.data?.id));
});
for (const type of ["conversation.updated", "conversation.assigned", "conversation.status_changed", "resync"]) {
  on(type, (e) => {
    refreshList();
    if (type === "resync" || e.data?.id === openId()) refreshPane();
  });
}
on("message.created", (e) => {
  refreshList();
  const m = e.data || {};
  if (m.conversation_id === openId()) refreshPane();
  if (m.direction === "in") {
    chime();
    notify("New message", m.body || "A file arrived", () => openConversation(m.conversation_id));
  }
});
on("message.updated", (e) => {
  // The customer's messages being read shows only in the widget; their
  // edits show here.
  if (e.data?.direction === "in" && e.data?.delivery_status === "read" && !e.data?.edited_at) return;
  if (e.data?.conversation_id === openId()) refreshPane();
});
on("delivery.updated", (e) => {
  if (e.data?.conversation_id === openId()) refreshPane();
});

bindPane();
