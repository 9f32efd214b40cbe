// Routing settings as fields instead of JSON: time zone, business hours per
// weekday, dated exceptions, and the other routing values of a team
// (`data-editor="team"`) or the workspace (`data-editor="workspace"`). The
// fields write the JSON textarea the form submits (which stays available
// under "Edit as JSON"); typing JSON there fills the fields again. A value
// the fields cannot express is reported next to the form's routing field.

const DAYS = [
  ["mon", "Monday"],
  ["tue", "Tuesday"],
  ["wed", "Wednesday"],
  ["thu", "Thursday"],
  ["fri", "Friday"],
  ["sat", "Saturday"],
  ["sun", "Sunday"],
];
const ALL_DAY = [{ from: "00:00", to: "24:00" }];
const SPAN = /^(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})$/;

let counter = 0;

function control(box, label, input, hint) {
  const id = `routing-field-${++counter}`;
  input.id = id;
  const l = Object.assign(document.createElement("label"), { htmlFor: id, textContent: label });
  box.append(l, input);
  if (hint) box.append(Object.assign(document.createElement("p"), { className: "muted hint", textContent: hint }));
  return input;
}

const input = (type = "text") => Object.assign(document.createElement("input"), { type, autocomplete: "off" });

function select(options) {
  const s = document.createElement("select");
  for (const [value, text] of options) s.append(Object.assign(document.createElement("option"), { value, textContent: text }));
  return s;
}

const pad = (n) => String(n).padStart(2, "0");

// "09:00-12:00, 13:00-17:00" ⇄ [{from, to}, …]; empty means closed.
function spansText(spans) {
  return (spans || []).map((s) => `${s.from}-${s.to}`).join(", ");
}

function parseSpans(text, what) {
  const spans = [];
  for (const part of text.split(",").map((s) => s.trim()).filter(Boolean)) {
    const m = SPAN.exec(part);
    if (!m) throw new Error(`${what}: write hours as 09:00-17:00 (several separated by commas), not “${part}”`);
    spans.push({ from: `${pad(m[1])}:${m[2]}`, to: `${pad(m[3])}:${m[4]}` });
  }
  return spans;
}

// One exception per line: "2026-12-24 09:00-12:00 Christmas Eve" or "2026-12-25 Christmas" (closed).
function exceptionsText(list) {
  return (list || []).map((e) => [e.date, spansText(e.hours), e.name || ""].filter(Boolean).join(" ")).join("\n");
}

function parseExceptions(text) {
  const out = [];
  for (const line of text.split("\n").map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\d{4}-\d{2}-\d{2})\s*(.*)$/.exec(line);
    if (!m) throw new Error(`Exceptions: start each line with a date like 2026-12-25 (“${line}”)`);
    let rest = m[2];
    const spans = [];
    for (;;) {
      const s = /^(\d{1,2}:\d{2}\s*[-–]\s*\d{1,2}:\d{2})\s*,?\s*/.exec(rest);
      if (!s) break;
      spans.push(...parseSpans(s[1], m[1]));
      rest = rest.slice(s[0].length);
    }
    const entry = { date: m[1], hours: spans };
    if (rest.trim()) entry.name = rest.trim();
    out.push(entry);
  }
  return out;
}

function isAllWeek(hours) {
  return DAYS.every(([key]) => spansText(hours.weekly?.[key]) === "00:00-24:00") && !(hours.exceptions || []).length;
}

function build(area) {
  const scope = area.dataset.editor;
  const form = area.form;
  const box = document.createElement("fieldset");
  box.className = "routing-editor";
  box.append(Object.assign(document.createElement("legend"), { textContent: "Hours and routing" }));

  const modes = [
    ["always", "Always open"],
    ["hours", "Open at set hours"],
  ];
  if (scope === "team") modes.unshift(["inherit", "Same as the workspace"]);
  const mode = control(box, "When are you open?", select(modes));
  const zone = control(box, "Time zone", input(), "An IANA name such as Europe/Berlin; the supervisor's “today” uses it too.");
  mode.dataset.role = "mode";
  zone.dataset.role = "time-zone";
  const zones = document.createElement("datalist");
  zones.id = `zones-${++counter}`;
  for (const z of Intl.supportedValuesOf?.("timeZone") || []) zones.append(Object.assign(document.createElement("option"), { value: z }));
  zone.setAttribute("list", zones.id);
  box.append(zones);
  const week = document.createElement("div");
  week.className = "week";
  const days = DAYS.map(([key, name]) => [key, name, control(week, name, input())]);
  for (const [key, , field] of days) Object.assign(field, { placeholder: "closed" }).dataset.day = key;
  const exceptions = control(week, "Exceptions (one per line)", document.createElement("textarea"), "2026-12-24 09:00-12:00 Christmas Eve · 2026-12-25 Christmas (no hours: closed)");
  exceptions.rows = 3;
  box.append(week);

  const other = document.createElement("div");
  const fields = {};
  if (scope === "workspace") {
    fields.expiry_minutes = control(other, "Expiry period (minutes without activity before an open chat expires)", input("number"));
    fields.expiry_minutes.min = "5";
  } else {
    fields.queue_order = control(other, "Queue order", select([["oldest_first", "Oldest chat first"], ["longest_waiting", "Longest waiting first"]]));
    fields.requeue_offline_after_minutes = control(other, "Return an offline member's chats to the queue after (minutes; empty: never)", input("number"));
  }
  fields.ticket_auto_reply = control(other, "Auto-reply when a chat becomes a ticket (empty: none)", document.createElement("textarea"));
  fields.ticket_auto_reply.rows = 2;
  box.append(other);

  // The raw JSON, for what the fields do not show.
  const details = document.createElement("details");
  details.append(Object.assign(document.createElement("summary"), { textContent: "Edit as JSON" }));
  area.before(box);
  const label = form.querySelector(`label[for="${CSS.escape(area.id)}"]`);
  details.append(...(label ? [label] : []), area);
  box.after(details);

  const showMode = () => {
    week.hidden = mode.value !== "hours";
    zone.disabled = mode.value === "inherit";
  };

  // JSON → fields.
  const fill = () => {
    let value;
    try {
      value = JSON.parse(area.value || "{}") || {};
    } catch {
      return; // the JSON field reports it on submit
    }
    const hours = value.business_hours;
    mode.value = hours ? (isAllWeek(hours) ? "always" : "hours") : scope === "team" ? "inherit" : "always";
    zone.value = hours?.time_zone || "UTC";
    for (const [key, , field] of days) field.value = hours ? spansText(hours.weekly?.[key]) : key === "sat" || key === "sun" ? "" : "09:00-17:00";
    exceptions.value = exceptionsText(hours?.exceptions);
    for (const [key, field] of Object.entries(fields)) field.value = value[key] ?? (key === "queue_order" ? "oldest_first" : "");
    showMode();
  };

  // Fields → JSON (keeping keys the fields do not know).
  const write = () => {
    area.validationError = "";
    for (const el of box.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
    let value;
    try {
      value = JSON.parse(area.value || "{}") || {};
    } catch {
      value = {};
    }
    area.invalidElement = null;
    const fail = (el, message) => {
      el.setAttribute("aria-invalid", "true");
      area.validationError ||= message;
      area.invalidElement ||= el;
    };
    if (mode.value === "inherit") {
      value.business_hours = null;
    } else {
      const weekly = {};
      for (const [key, name, field] of days) {
        try {
          weekly[key] = mode.value === "always" ? ALL_DAY : parseSpans(field.value, name);
        } catch (e) {
          fail(field, e.message);
        }
      }
      let dated = [];
      try {
        dated = mode.value === "always" ? [] : parseExceptions(exceptions.value);
      } catch (e) {
        fail(exceptions, e.message);
      }
      value.business_hours = { time_zone: zone.value.trim(), weekly, exceptions: dated };
    }
    for (const [key, field] of Object.entries(fields)) {
      const raw = field.value.trim();
      value[key] = field.type === "number" ? (raw === "" ? null : Number(raw)) : raw === "" ? null : raw;
    }
    if (scope === "workspace" && value.expiry_minutes === null) delete value.expiry_minutes;
    area.value = JSON.stringify(value, null, 2);
    showMode();
  };

  fill();
  box.addEventListener("input", write);
  box.addEventListener("change", write);
  area.addEventListener("input", fill);
}

export function bindRoutingEditors(root = document) {
  for (const area of root.querySelectorAll("textarea[data-editor]")) build(area);
}
