// Forms that submit to the JSON API: `data-api` (URL) and `data-method`.
// Field names become JSON keys (`a.b` nests); `data-type` says how to read
// a value (number, bool, json, lines, list, attributes). Errors appear next to
// the field they name (`data-error-for`), and the form keeps what the user
// typed. `data-then`: reload, notice, secret (show the once-only secret) or open (the
// conversation the call returned).
import { api, toast, workspace } from "./api.js";

function readField(el) {
  // A field an editor fills (business hours) reports what its inputs got wrong.
  if (el.validationError) throw Object.assign(new Error(el.validationError), { field: el.name, element: el.invalidElement });
  const type = el.dataset.type;
  if (el.type === "checkbox") return el.checked;
  if (el.multiple) return [...el.selectedOptions].map((o) => o.value);
  const raw = el.value;
  switch (type) {
    case "number":
      return raw.trim() === "" ? undefined : Number(raw);
    case "json":
      if (raw.trim() === "") return undefined;
      try {
        return JSON.parse(raw);
      } catch (e) {
        throw Object.assign(new Error(`not valid JSON: ${e.message}`), { field: el.name });
      }
    case "lines":
      return raw.split("\n").map((s) => s.trim()).filter(Boolean);
    case "list":
      return raw.split(",").map((s) => s.trim()).filter(Boolean);
    case "attributes": {
      const out = {};
      for (const line of raw.split("\n")) {
        if (!line.trim()) continue;
        const at = line.indexOf(":");
        if (at < 1) throw Object.assign(new Error(`write each line as key: value (“${line}”)`), { field: el.name });
        out[line.slice(0, at).trim()] = line.slice(at + 1).trim();
      }
      return out;
    }
    default:
      return raw;
  }
}

export function serialize(form) {
  const body = {};
  for (const el of form.elements) {
    if (!el.name || el.disabled || el.type === "submit" || el.type === "button") continue;
    if (el.dataset.kind && form.elements.kind && !el.dataset.kind.split(" ").includes(form.elements.kind.value)) continue;
    const value = readField(el);
    if (value === undefined) continue;
    if ("optional" in el.dataset && (value === "" || (Array.isArray(value) && value.length === 0))) continue;
    const path = el.name.split(".");
    let target = body;
    for (const key of path.slice(0, -1)) target = target[key] ??= {};
    target[path.at(-1)] = value;
  }
  return body;
}

export function clearErrors(form) {
  for (const p of form.querySelectorAll("[data-error-for]")) p.textContent = "";
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

// Put an error next to its field (or at the form's foot).
export function showError(form, error) {
  // A nested field (config.address) has its own slot where the form gives
  // one, else its group's (config).
  const full = error.field ? String(error.field) : null;
  const field = full ? full.split(".")[0] : null;
  let slot = full && form.querySelector(`[data-error-for="${CSS.escape(full)}"]`);
  slot ||= field && form.querySelector(`[data-error-for="${CSS.escape(field)}"]`);
  if (!slot && field) {
    const input = form.querySelector(`[name="${CSS.escape(field)}"], [name^="${CSS.escape(field)}."]`);
    slot = input?.closest("form")?.querySelector(`[data-error-for="${CSS.escape(input.name.split(".")[0])}"]`);
  }
  slot ||= form.querySelector('[data-error-for="form"]');
  if (slot) slot.textContent = error.message;
  else toast(error.message, "error");
  const input =
    error.element ||
    (full && form.querySelector(`[name="${CSS.escape(full)}"]`)) ||
    (field && form.querySelector(`[name="${CSS.escape(field)}"], [name^="${CSS.escape(field)}."]`));
  if (input) {
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }
}

function showOnce(form, data) {
  const secret = data?.secret || data?.token || data?.accept_url;
  const slot = form.querySelector("[data-notice-slot]") || document.querySelector("[data-notice-slot]");
  if (secret && slot) {
    slot.textContent = `Copy it now; it will not be shown again: ${secret}`;
    slot.dataset.secret = secret;
  } else {
    location.reload();
  }
}

function bindForm(form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    let body;
    try {
      body = serialize(form);
    } catch (e) {
      showError(form, e);
      return;
    }
    const button = form.querySelector('[type="submit"]');
    if (button) button.disabled = true;
    try {
      const data = await api(form.dataset.method || "POST", form.dataset.api, body);
      switch (form.dataset.then) {
        case "notice": {
          const slot = form.querySelector("[data-notice-slot]");
          if (slot) slot.textContent = form.dataset.notice || "Saved.";
          for (const el of form.querySelectorAll('[data-keep="false"]')) el.value = "";
          break;
        }
        case "secret":
          showOnce(form, data);
          break;
        case "open":
          location.href = `/w/${workspace}/conversations/${encodeURIComponent(data.id)}`;
          break;
        default:
          location.reload();
      }
    } catch (e) {
      showError(form, e);
    } finally {
      if (button) button.disabled = false;
    }
  });
}

// Pre-fill number fields from a JSON object (`data-fill`).
function fill(form) {
  try {
    const values = JSON.parse(form.dataset.fill);
    for (const [k, v] of Object.entries(values)) if (form.elements[k]) form.elements[k].value = v;
  } catch {
    /* nothing to fill */
  }
}

// A check's answer beside its button: `{ok, message}`.
function showResult(button, data) {
  const out = button.parentElement.querySelector("[data-result]");
  if (!out) return;
  out.textContent = data.message;
  out.className = data.ok ? "notice" : "field-error";
}

export function bindForms(root = document) {
  for (const form of root.querySelectorAll("form[data-api]")) {
    if (form.dataset.fill) fill(form);
    bindForm(form);
  }
  // Team membership: PUT …/members/{user}.
  for (const form of root.querySelectorAll("form[data-api-member]")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      try {
        await api("PUT", form.dataset.apiMember + encodeURIComponent(form.elements.user.value));
        location.reload();
      } catch (e) {
        showError(form, e);
      }
    });
  }
  // One-click calls (delete, revoke, rotate), confirmed first.
  for (const button of root.querySelectorAll("button[data-api-call]")) {
    button.addEventListener("click", async () => {
      if (button.dataset.confirm && !confirm(button.dataset.confirm)) return;
      try {
        const body = button.dataset.body ? JSON.parse(button.dataset.body) : undefined;
        const data = await api(button.dataset.method || "POST", button.dataset.apiCall, body);
        if (button.dataset.show === "secret") showOnce(button.closest("section") || document.body, data);
        else if (button.dataset.show === "result") showResult(button, data);
        else if (button.dataset.thenHref) location.href = button.dataset.thenHref;
        else location.reload();
      } catch (e) {
        toast(e.message, "error");
      }
    });
  }
}
