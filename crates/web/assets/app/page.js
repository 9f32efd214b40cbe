// Pages made of forms (admin, contacts, profile): bind the API forms, the
// device's notification preferences, and the admin lists the API serves.
import { api, wsPath, prefs } from "./api.js";
import { bindForms, clearErrors, showError } from "./forms.js";
import { createQuickReply } from "./composer.js";
import { bindRoutingEditors } from "./hours.js";

bindRoutingEditors();
bindForms();

// Template choosers: the workspace's approved templates, with their text.
async function fillTemplateChoosers() {
  const selects = document.querySelectorAll("select[data-templates]");
  if (!selects.length) return;
  let templates = [];
  try {
    templates = (await api("GET", wsPath("/templates"))).items || [];
  } catch {
    return;
  }
  for (const select of selects) {
    for (const t of templates.filter((t) => t.status === "approved")) {
      const label = `${t.name} (${t.language}): ${t.body.slice(0, 60)}`;
      select.append(Object.assign(document.createElement("option"), { value: t.id, textContent: label }));
    }
  }
}
fillTemplateChoosers();

for (const box of document.querySelectorAll("[data-pref]")) {
  box.checked = prefs.get(box.dataset.pref, true);
  box.addEventListener("change", () => {
    prefs.set(box.dataset.pref, box.checked);
    if (box.dataset.pref === "desktop" && box.checked && "Notification" in window) Notification.requestPermission();
  });
}

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text ?? "";
  return td;
}

function table(headers, rows) {
  const t = document.createElement("table");
  const head = document.createElement("tr");
  for (const h of headers) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = h;
    head.append(th);
  }
  t.createTHead().append(head);
  const body = t.createTBody();
  for (const r of rows) body.append(r);
  return t;
}

function removeButton(url, question) {
  const td = document.createElement("td");
  const b = document.createElement("button");
  b.type = "button";
  b.className = "link";
  b.textContent = "Delete";
  b.addEventListener("click", async () => {
    if (!confirm(question)) return;
    await api("DELETE", url).catch((e) => alert(e.message));
    location.reload();
  });
  td.append(b);
  return td;
}

async function adminList(box) {
  const section = box.dataset.section;
  const heading = document.createElement("h2");
  try {
    if (section === "quick-replies") {
      heading.textContent = "Quick replies";
      const items = (await api("GET", wsPath("/quick-replies"))).items || [];
      const rows = items.map((q) => {
        const tr = document.createElement("tr");
        tr.append(cell(`/${q.shortcut}`), cell(q.text), cell(q.scope), removeButton(wsPath(`/quick-replies/${q.id}`), `Delete /${q.shortcut}?`));
        return tr;
      });
      box.replaceChildren(heading, table(["Shortcut", "Text", "For", ""], rows), quickReplyForm());
    } else if (section === "templates") {
      heading.textContent = "Message templates";
      const items = (await api("GET", wsPath("/templates"))).items || [];
      const rows = items.map((t) => {
        const tr = document.createElement("tr");
        tr.append(cell(t.name), cell(t.language), cell(t.category), cell(t.body), cell(t.status), removeButton(wsPath(`/templates/${t.id}`), `Delete ${t.name}?`));
        return tr;
      });
      box.replaceChildren(heading, table(["Name", "Language", "Category", "Text", "State", ""], rows), templateForm());
    } else if (section === "audit") {
      heading.textContent = "Audit log";
      const items = (await api("GET", wsPath("/audit-log?limit=100"))).items || [];
      const rows = items.map((e) => {
        const tr = document.createElement("tr");
        tr.append(
          cell(new Date(e.created_at).toLocaleString()),
          cell(e.actor_name || e.actor_email || e.actor_user_id || "system"),
          cell(e.action),
          cell(`${e.record_kind || ""} ${e.record_id || ""}`.trim()),
          cell(e.details ? JSON.stringify(e.details) : ""),
        );
        return tr;
      });
      box.replaceChildren(heading, table(["When", "Who", "Action", "Record", "Details"], rows));
    }
  } catch (e) {
    box.replaceChildren(heading, Object.assign(document.createElement("p"), { className: "error", textContent: e.message }));
  }
}

function field(form, name, label, type = "input") {
  const id = `f-${name}`;
  const l = Object.assign(document.createElement("label"), { htmlFor: id, textContent: label });
  const input = document.createElement(type === "textarea" ? "textarea" : "input");
  input.id = id;
  input.name = name;
  const error = Object.assign(document.createElement("p"), { className: "field-error" });
  error.dataset.errorFor = name;
  form.append(l, input, error);
  return input;
}

function select(form, name, label, options) {
  const id = `f-${name}`;
  const l = Object.assign(document.createElement("label"), { htmlFor: id, textContent: label });
  const s = Object.assign(document.createElement("select"), { id, name });
  for (const [value, text] of options) s.append(Object.assign(document.createElement("option"), { value, textContent: text }));
  const error = Object.assign(document.createElement("p"), { className: "field-error" });
  error.dataset.errorFor = name;
  form.append(l, s, error);
  return s;
}

function apiForm(title, url) {
  const form = document.createElement("form");
  form.className = "card";
  form.noValidate = true;
  form.dataset.api = url;
  form.dataset.method = "POST";
  form.dataset.then = "reload";
  form.append(Object.assign(document.createElement("h3"), { textContent: title }));
  return form;
}

function finish(form, button) {
  const error = Object.assign(document.createElement("p"), { className: "field-error" });
  error.dataset.errorFor = "form";
  form.append(error, Object.assign(document.createElement("button"), { type: "submit", textContent: button }));
  bindForms(form.parentNode || document);
  return form;
}

// Not a plain API form: a chosen file is uploaded first, then the quick
// reply is created carrying it.
function quickReplyForm() {
  const form = apiForm("New quick reply", wsPath("/quick-replies"));
  delete form.dataset.api;
  field(form, "shortcut", "Shortcut (typed after /)");
  field(form, "text", "Text", "textarea");
  select(form, "scope", "For", [["workspace", "Everyone"], ["personal", "Only me"]]);
  field(form, "file", "A file to send with it (optional)").type = "file";
  const wrap = document.createElement("div");
  wrap.append(form);
  finish(form, "Create");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    try {
      const limits = await api("GET", wsPath("/attachment-limits")).catch(() => ({}));
      await createQuickReply(form, limits);
      location.reload();
    } catch (e) {
      showError(form, e);
    }
  });
  return form;
}

function templateForm() {
  const form = apiForm("New template", wsPath("/templates"));
  field(form, "name", "Name (lowercase, digits, underscores)");
  field(form, "language", "Language (e.g. en, pt_BR)");
  select(form, "category", "Category", [["utility", "Utility"], ["marketing", "Marketing"], ["authentication", "Authentication"]]);
  field(form, "body", "Text ({{1}}, {{2}}… for values)", "textarea");
  const wrap = document.createElement("div");
  wrap.append(form);
  finish(form, "Create");
  return form;
}

for (const box of document.querySelectorAll("#admin-list")) adminList(box);
