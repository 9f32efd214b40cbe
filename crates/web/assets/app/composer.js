// The composer: reply, private note or comment; files (checked against the
// workspace's limits before upload); reply-to; quick replies (picker and
// `/shortcut`); @mention suggestions in notes and comments; Ctrl+Enter sends.
import { api, wsPath, toast, workspace } from "./api.js";
import { clearErrors, showError } from "./forms.js";
import { bindSegments } from "./sms.js";

const KIND_OF = (mime) =>
  mime.startsWith("image/") ? "image" : mime.startsWith("video/") ? "video" : mime.startsWith("audio/") ? "audio" : "document";

const human = (bytes) =>
  bytes >= 1048576 ? `${Math.round(bytes / 104857.6) / 10} MB` : bytes >= 1024 ? `${Math.round(bytes / 1024)} KB` : `${bytes} B`;

// A file for a quick reply: checked against the workspace's limits, then
// stored in the caller's library (posted nowhere). Errors name the `file`
// field, so they show next to the file input.
export async function uploadLibraryFile(file, limits) {
  const fileError = (message) => Object.assign(new Error(message), { field: "file" });
  const kind = KIND_OF(file.type || "");
  if (limits[kind] && file.size > limits[kind]) {
    throw fileError(`${file.name} is ${human(file.size)}; ${kind}s may be at most ${human(limits[kind])}.`);
  }
  try {
    return await api("POST", wsPath(`/attachments?filename=${encodeURIComponent(file.name)}`), file, {
      "Content-Type": "application/octet-stream",
    });
  } catch (e) {
    throw fileError(e.message);
  }
}

// Create a quick reply from a form with `shortcut`, `text`, `scope`, an
// optional `attachment_id` select and an optional `file` input: a chosen
// file is uploaded first (once, even if creating then fails and is retried).
export async function createQuickReply(form, limits) {
  const els = form.elements;
  const picked = els.attachment_id?.value || "";
  const chosen = els.file?.files?.[0] || null;
  if (picked && chosen) {
    throw Object.assign(new Error("Choose a file of this chat or upload one, not both."), { field: "file" });
  }
  let attachmentId = picked || undefined;
  if (chosen) {
    if (form.uploaded?.file !== chosen) form.uploaded = { file: chosen, id: (await uploadLibraryFile(chosen, limits)).id };
    attachmentId = form.uploaded.id;
  }
  const body = { shortcut: els.shortcut.value, text: els.text.value, scope: els.scope.value, attachment_id: attachmentId };
  const created = await api("POST", wsPath("/quick-replies"), body);
  form.uploaded = null;
  return created;
}

let quickReplies = null;
async function loadQuickReplies(force = false) {
  if (!quickReplies || force) {
    try {
      quickReplies = (await api("GET", wsPath("/quick-replies"))).items || [];
    } catch {
      quickReplies = [];
    }
  }
  return quickReplies;
}

function option(label, detail, onPick) {
  const li = document.createElement("li");
  li.setAttribute("role", "option");
  li.tabIndex = -1;
  const strong = document.createElement("strong");
  strong.textContent = label;
  const span = document.createElement("span");
  span.className = "muted";
  span.textContent = detail ? ` ${detail}` : "";
  li.append(strong, span);
  li.addEventListener("mousedown", (e) => {
    e.preventDefault();
    onPick();
  });
  li.pick = onPick;
  return li;
}

export function bindComposer(root, refresh) {
  const form = root.querySelector("#composer");
  if (!form || form.dataset.bound) return;
  form.dataset.bound = "1";
  const conversation = root.dataset.id;
  const text = form.querySelector("#composer-text");
  const file = form.querySelector("#composer-file");
  const fileName = form.querySelector("#composer-file-name");
  const suggestions = form.querySelector("#suggestions");
  const error = form.querySelector("#composer-error");
  const limits = JSON.parse(form.dataset.limits || "{}");
  const members = JSON.parse(form.dataset.members || "[]");
  let replyTo = null;
  let quickFile = null; // a chosen quick reply that carries a file

  const mode = () => form.querySelector('input[name="mode"]:checked')?.value || "text";
  const countSegments = bindSegments(form, text, mode);

  // Files: refuse what is over the limit before a byte is sent.
  file.addEventListener("change", () => {
    error.textContent = "";
    quickFile = null;
    const f = file.files[0];
    fileName.textContent = f ? `${f.name} (${human(f.size)})` : "";
    if (f) {
      const kind = KIND_OF(f.type || "");
      if (limits[kind] && f.size > limits[kind]) {
        error.textContent = `${f.name} is ${human(f.size)}; ${kind}s may be at most ${human(limits[kind])}.`;
        file.value = "";
        fileName.textContent = "";
      }
    }
  });

  // Reply-to.
  root.addEventListener("click", (event) => {
    const button = event.target.closest(".reply-to");
    if (!button) return;
    replyTo = button.dataset.quote;
    form.querySelector("#reply-to-author").textContent = button.dataset.author;
    form.querySelector("#reply-to-bar").hidden = false;
    text.focus();
  });
  form.querySelector("#reply-to-cancel").addEventListener("click", () => {
    replyTo = null;
    form.querySelector("#reply-to-bar").hidden = true;
  });

  // Suggestions: `/shortcut` at the start, `@name` in notes and comments.
  let active = -1;
  const hide = () => {
    suggestions.hidden = true;
    suggestions.replaceChildren();
    active = -1;
  };
  const show = (items) => {
    suggestions.replaceChildren(...items);
    suggestions.hidden = items.length === 0;
    active = items.length ? 0 : -1;
    items[0]?.classList.add("active");
  };
  // A quick reply with a file goes out through its own call (text and file
  // as one message); the file's name shows until it is sent or dropped.
  const setQuickFile = (q) => {
    quickFile = q?.attachment ? q : null;
    fileName.textContent = quickFile ? `${quickFile.attachment.filename} (from /${quickFile.shortcut})` : "";
  };
  const useQuickReply = (q) => {
    text.value = q.text;
    setQuickFile(q);
    hide();
    text.focus();
  };
  text.addEventListener("input", async () => {
    const value = text.value;
    const slash = /^\/(\S*)$/.exec(value);
    if (slash) {
      const term = slash[1].toLowerCase();
      const items = (await loadQuickReplies()).filter((q) => q.shortcut.toLowerCase().startsWith(term));
      show(items.slice(0, 8).map((q) => option(`/${q.shortcut}`, q.text.slice(0, 60), () => useQuickReply(q))));
      return;
    }
    const at = /(^|\s)@([^\s@]*)$/.exec(value.slice(0, text.selectionStart));
    if (at && mode() !== "text") {
      const term = at[2].toLowerCase();
      const items = members.filter((m) => m.name.toLowerCase().startsWith(term));
      show(
        items.slice(0, 8).map((m) =>
          option(`@${m.name}`, "", () => {
            const before = value.slice(0, text.selectionStart - at[2].length);
            text.value = `${before}${m.name} ${value.slice(text.selectionStart)}`;
            hide();
            text.focus();
          }),
        ),
      );
      return;
    }
    hide();
  });
  text.addEventListener("keydown", (event) => {
    const items = [...suggestions.children];
    if (!suggestions.hidden && items.length) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        items[active]?.classList.remove("active");
        active = (active + (event.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
        items[active].classList.add("active");
        return;
      }
      if (event.key === "Enter" || event.key === "Tab") {
        event.preventDefault();
        items[active]?.pick();
        return;
      }
      if (event.key === "Escape") {
        hide();
        return;
      }
    }
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  text.addEventListener("blur", () => setTimeout(hide, 150));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const send = form.querySelector("#composer-send");
    clearErrors(form);
    error.textContent = "";
    const body = text.value.trim();
    const f = file.files[0];
    const template = mode() === "text" ? chosenTemplate(form) : null;
    if (template) {
      send.disabled = true;
      try {
        await api("POST", wsPath(`/conversations/${conversation}/messages`), template);
        resetTemplate(form);
        refresh();
      } catch (e) {
        error.textContent = e.message;
      } finally {
        send.disabled = false;
      }
      return;
    }
    if (mode() === "text" && form.dataset.windowOpen === "false") {
      error.textContent = "The messaging window is closed: choose a template above, or write a private note.";
      return;
    }
    if (quickFile && !f && mode() === "text") {
      send.disabled = true;
      try {
        await api("POST", wsPath(`/conversations/${conversation}/quick-replies/${quickFile.id}`), { text: body || undefined });
        text.value = "";
        countSegments();
        setQuickFile(null);
        refresh();
      } catch (e) {
        error.textContent = e.message;
      } finally {
        send.disabled = false;
      }
      return;
    }
    if (!body && !f) {
      error.textContent = "Write something or attach a file.";
      text.focus();
      return;
    }
    send.disabled = true;
    try {
      if (f) {
        const query = new URLSearchParams({ filename: f.name });
        if (body && mode() === "text") query.set("caption", body);
        await api("POST", wsPath(`/conversations/${conversation}/attachments?${query}`), f, {
          "Content-Type": "application/octet-stream",
        });
        file.value = "";
        fileName.textContent = "";
        if (mode() !== "text" && body) {
          await api("POST", wsPath(`/conversations/${conversation}/messages`), { kind: mode(), body });
        }
      } else {
        await api("POST", wsPath(`/conversations/${conversation}/messages`), {
          kind: mode(),
          body,
          in_reply_to: replyTo || undefined,
        });
      }
      text.value = "";
      countSegments();
      replyTo = null;
      form.querySelector("#reply-to-bar").hidden = true;
      refresh();
    } catch (e) {
      error.textContent = e.message;
    } finally {
      send.disabled = false;
      text.focus();
    }
  });

  // Typing indicator for the customer (at most every 3 s).
  let lastTyping = 0;
  text.addEventListener("input", () => {
    if (mode() !== "text" || Date.now() - lastTyping < 3000) return;
    lastTyping = Date.now();
    api("POST", wsPath(`/conversations/${conversation}/typing`)).catch(() => {});
  });

  bindQuickReplyPicker(root, useQuickReply, limits);
  bindTemplates(form);
  watchWindow(root);
}

function bindQuickReplyPicker(root, useQuickReply, limits) {
  const dialog = root.querySelector("#quick-replies-dialog");
  const opener = root.querySelector("#quick-replies-open");
  if (!dialog || !opener) return;
  const search = dialog.querySelector("#qr-search");
  const list = dialog.querySelector("#qr-list");
  const render = async (force) => {
    const term = search.value.trim().toLowerCase();
    const items = (await loadQuickReplies(force)).filter(
      (q) => !term || q.shortcut.toLowerCase().includes(term) || q.text.toLowerCase().includes(term),
    );
    list.replaceChildren(
      ...items.map((q) =>
        option(`/${q.shortcut}`, `${q.text.slice(0, 80)} · ${q.scope}`, () => {
          dialog.close();
          useQuickReply(q);
        }),
      ),
    );
    if (!items.length) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = "No quick replies yet. Create one below.";
      list.append(li);
    }
    for (const li of list.querySelectorAll("li[role=option]")) {
      li.addEventListener("click", () => li.pick());
      li.addEventListener("keydown", (e) => e.key === "Enter" && li.pick());
    }
  };
  opener.addEventListener("click", () => {
    dialog.showModal();
    render(false);
    search.focus();
  });
  search.addEventListener("input", () => render(false));
  dialog.querySelector("[data-close]")?.addEventListener("click", () => dialog.close());
  const create = dialog.querySelector("#qr-form");
  create.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(create);
    try {
      await createQuickReply(create, limits);
      create.reset();
      dialog.querySelector("#qr-new").open = false;
      toast("Quick reply created.");
      render(true);
    } catch (e) {
      showError(create, e);
    }
  });
}

// Templates (the only message outside the messaging window): choose one,
// fill its numbered values, its header and its buttons, see the text the
// customer will get.
async function bindTemplates(form) {
  const select = form.querySelector("#template-select");
  if (!select) return;
  let templates = [];
  try {
    templates = ((await api("GET", wsPath("/templates"))).items || []).filter((t) => t.status === "approved");
  } catch {
    templates = [];
  }
  const channel = form.dataset.channel;
  for (const t of templates.filter((t) => !channel || !t.channel_id || t.channel_id === channel)) {
    select.append(Object.assign(document.createElement("option"), { value: t.id, textContent: `${t.name} (${t.language})` }));
  }
  const values = form.querySelector("#template-values");
  const input = (id, label, data) => {
    const field = Object.assign(document.createElement("input"), { id, autocomplete: "off" });
    Object.assign(field.dataset, data);
    values.append(Object.assign(document.createElement("label"), { htmlFor: id, textContent: label }), field);
    return field;
  };
  const preview = () => {
    const t = templates.find((x) => x.id === select.value);
    const out = values.querySelector(".template-preview");
    if (!t || !out) return;
    const params = [...values.querySelectorAll("input[data-param]")];
    let text = t.body.replace(/\{\{(\d+)\}\}/g, (m, n) => params[n - 1]?.value || m);
    const header = values.querySelector("input[data-header]");
    if (t.header?.format === "text") text = `${t.header.text.replace("{{1}}", header?.value || "{{1}}")}\n\n${text}`;
    for (const b of t.buttons || []) text += `\n[${b.text}]`;
    out.textContent = text;
  };
  select.addEventListener("change", () => {
    const t = templates.find((x) => x.id === select.value);
    values.replaceChildren();
    if (!t) return;
    const h = t.header;
    if (h && h.format !== "text") input("template-header", `Header ${h.format}: its https:// link`, { header: "1" });
    else if (h && (h.text || "").includes("{{1}}")) input("template-header", `Header {{1}} (“${h.text}”)`, { header: "1" });
    const count = Math.max(0, ...[...t.body.matchAll(/\{\{(\d+)\}\}/g)].map((m) => Number(m[1])));
    for (let n = 1; n <= count; n++) input(`template-value-${n}`, `Value {{${n}}}`, { param: String(n) });
    (t.buttons || []).forEach((b, i) => {
      const takes = b.kind === "copy_code" || b.kind === "quick_reply" || (b.kind === "url" && (b.url || "").includes("{{1}}"));
      if (!takes) return;
      const what = { copy_code: "code to copy", quick_reply: "payload (optional)", url: "link {{1}}" }[b.kind];
      input(`template-button-${i}`, `Button “${b.text}”: ${what}`, { button: String(i) });
    });
    values.append(Object.assign(document.createElement("p"), { className: "template-preview" }));
    preview();
  });
  values.addEventListener("input", preview);
  return templates;
}

// The template to send instead of free text, if one is chosen.
function chosenTemplate(form) {
  const select = form.querySelector("#template-select");
  if (!select?.value) return null;
  const params = [...form.querySelectorAll("#template-values input[data-param]")].map((i) => i.value);
  const out = { kind: "template", template_id: select.value, params };
  const header = form.querySelector("#template-values input[data-header]");
  if (header?.value.trim()) out.header_param = header.value.trim();
  const buttons = [...form.querySelectorAll("#template-values input[data-button]")];
  if (buttons.some((b) => b.value.trim())) {
    const count = Math.max(...buttons.map((b) => Number(b.dataset.button))) + 1;
    out.button_params = Array.from({ length: count }, (_, i) => buttons.find((b) => Number(b.dataset.button) === i)?.value.trim() || "");
  }
  return out;
}

// "Send WhatsApp push" on an archived chat whose window is closed: a
// template starts a new conversation that waits for the customer's answer.
export function bindPush(root) {
  const form = root.querySelector("#push-form");
  if (!form || form.dataset.bound) return;
  form.dataset.bound = "1";
  bindTemplates(form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = form.querySelector("#push-error");
    error.textContent = "";
    const chosen = chosenTemplate(form);
    if (!chosen) {
      error.textContent = "Choose a template.";
      return;
    }
    const { kind, ...body } = chosen;
    try {
      const c = await api("POST", wsPath(`/contacts/${form.dataset.contact}/conversations`), { channel_id: form.dataset.channel, ...body });
      location.assign(`/w/${workspace}/conversations/${c.id}`);
    } catch (e) {
      error.textContent = e.message;
    }
  });
}

// An hour before the messaging window closes the agent is warned; when it
// closes, only a template can be sent.
export function watchWindow(root) {
  const warning = root.querySelector("#window-closing");
  const form = root.querySelector("#composer");
  if (!warning || !form || warning.dataset.watched) return;
  warning.dataset.watched = "1";
  const closes = Number(warning.dataset.closesAt);
  const hour = 3600 * 1000;
  const update = () => {
    const left = closes - Date.now();
    if (left <= 0) {
      form.dataset.windowOpen = "false";
      warning.hidden = false;
      warning.textContent = "The messaging window has closed. Only a template can reach the customer now.";
      const choice = form.querySelector("#template-choice");
      if (choice) choice.open = true;
      return;
    }
    warning.hidden = left > hour;
    // Timers beyond ~24 days overflow; the window is at most days long.
    setTimeout(update, Math.min(left > hour ? left - hour : left, 2 ** 31 - 1) + 50);
  };
  update();
}

function resetTemplate(form) {
  const select = form.querySelector("#template-select");
  if (!select) return;
  select.value = "";
  form.querySelector("#template-values").replaceChildren();
}
