// The console: the tiles and the table's shown rows refresh on every
// change; the table loads more as it scrolls; a row's Transfer opens the
// transfer dialog (a group, or an agent within one of their groups).
import { api, fragment, localiseTimes, toast, workspace, wsPath } from "./api.js";
import { renderTargets, transferBody } from "./actions.js";
import { clearErrors, showError } from "./forms.js";
import { on } from "./live.js";
import { bindPaging } from "./paging.js";

const tiles = document.getElementById("tiles");
const table = document.getElementById("table");
const dialog = document.getElementById("transfer-dialog");
const paging = bindPaging(table);
localiseTimes(table);

let timer = null;
function refresh() {
  clearTimeout(timer);
  timer = setTimeout(async () => {
    try {
      tiles.replaceChildren(await fragment(`/w/${workspace}/console/tiles`));
      // Rows are not swapped under an open menu or dialog.
      if (dialog.open || notesDialog.open || table.querySelector("details[open]")) return;
      const params = new URLSearchParams(location.search);
      params.delete("cursor");
      params.set("shown", paging.shown());
      const content = await fragment(`/w/${workspace}/console/rows?${params}`);
      const body = table.querySelector("tbody[data-group]");
      const fresh = content.querySelector("tbody[data-group]");
      if (!body || !fresh) return;
      body.replaceChildren(...fresh.children);
      table.querySelector(".more")?.remove();
      const more = content.querySelector(".more");
      if (more) table.append(more);
      localiseTimes(table);
      paging.watch();
    } catch {
      /* the next event retries */
    }
  }, 300);
}
for (const type of ["conversation.created", "conversation.updated", "message.created", "presence.updated", "resync"]) on(type, refresh);
// Waiting times move even when nothing happens.
setInterval(refresh, 30000);

let conversation = null;
let targetsTimer = null;
async function loadTargets() {
  const box = dialog.querySelector("#transfer-targets");
  try {
    renderTargets(box, await api("GET", wsPath("/transfer-targets")));
  } catch (e) {
    box.textContent = e.message;
  }
}

// A chat's private notes and supervisor comments, newest first.
const notesDialog = document.getElementById("notes-dialog");
let people = null;
async function showNotes(id, customer) {
  const list = notesDialog.querySelector("#notes-list");
  notesDialog.querySelector("#notes-who").textContent = `Conversation with ${customer}`;
  list.replaceChildren(Object.assign(document.createElement("li"), { textContent: "Loading…" }));
  notesDialog.showModal();
  try {
    people ??= new Map(((await api("GET", wsPath("/users"))).items || []).map((m) => [m.id, m.name]));
    const notes = [];
    let cursor = "";
    for (let page = 0; page < 20; page += 1) {
      const r = await api("GET", wsPath(`/conversations/${id}/messages?order=desc&limit=200${cursor}`));
      notes.push(...(r.items || []).filter((m) => m.kind === "note" || m.kind === "comment"));
      if (!r.next_cursor) break;
      cursor = `&cursor=${encodeURIComponent(r.next_cursor)}`;
    }
    list.replaceChildren(
      ...notes.map((m) => {
        const li = document.createElement("li");
        const meta = document.createElement("p");
        meta.className = "muted small";
        const when = new Date(m.created_at).toLocaleString([], { dateStyle: "short", timeStyle: "short" });
        meta.textContent = `${people.get(m.sender_id) || "Someone"} · ${m.kind === "comment" ? "comment" : "note"} · ${when}`;
        const body = document.createElement("p");
        body.textContent = m.body || "";
        li.append(meta, body);
        return li;
      }),
    );
    if (!notes.length) list.replaceChildren(Object.assign(document.createElement("li"), { textContent: "No notes in this chat." }));
  } catch (e) {
    list.replaceChildren(Object.assign(document.createElement("li"), { textContent: e.message }));
  }
}
notesDialog.addEventListener("click", (event) => {
  if (event.target.closest("[data-close]")) notesDialog.close();
});

table.addEventListener("click", (event) => {
  const notes = event.target.closest("[data-notes]");
  if (notes) {
    notes.closest("details")?.removeAttribute("open");
    showNotes(notes.dataset.notes, notes.dataset.customer);
    return;
  }
  const button = event.target.closest("[data-transfer]");
  if (!button) return;
  conversation = button.dataset.transfer;
  button.closest("details")?.removeAttribute("open");
  dialog.querySelector("#transfer-who").textContent = `Conversation with ${button.dataset.customer}`;
  clearErrors(dialog.querySelector("form"));
  loadTargets();
  targetsTimer = setInterval(loadTargets, 10000);
  dialog.showModal();
});
dialog.addEventListener("close", () => clearInterval(targetsTimer));
dialog.addEventListener("click", (event) => {
  if (event.target.closest("[data-close]")) dialog.close();
  if (event.target.closest("#transfer-refresh")) loadTargets();
});
dialog.querySelector("form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  clearErrors(form);
  try {
    await api("POST", wsPath(`/conversations/${conversation}/assign`), transferBody(form));
    toast("Transferred.");
    form.reset();
    dialog.close();
    refresh();
  } catch (e) {
    showError(form, e);
  }
});
