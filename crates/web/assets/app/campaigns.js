// Admin › Campaigns: the new-campaign form (a value source per placeholder,
// a CSV read in the browser and sent as text) and a campaign's report (its
// counts refreshed every two seconds while it runs, the ledger page by
// page, the actions).
import { api, wsPath, toast } from "./api.js";
import { clearErrors, showError } from "./forms.js";

const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
};

// ---- the form -------------------------------------------------------------

const SOURCES = [
  ["field:name", "Contact name"],
  ["field:phone", "Contact phone"],
  ["field:email", "Contact e-mail"],
  ["field:country", "Contact country"],
  ["column", "CSV column…"],
  ["text", "The same text for everyone…"],
];

function valueRow(n) {
  const id = `c-value-${n}`;
  const select = el("select", { id, name: `source-${n}` });
  for (const [value, label] of SOURCES) select.append(el("option", { value, textContent: label }));
  const extra = el("input", { name: `source-${n}-text`, placeholder: "column name or text", hidden: true });
  extra.setAttribute("aria-label", `{{${n}}}: column or text`);
  select.addEventListener("change", () => {
    extra.hidden = !["column", "text"].includes(select.value);
  });
  return el("div", { className: "value-row" }, el("label", { htmlFor: id, textContent: `{{${n}}}` }), select, extra);
}

function readValue(row) {
  const select = row.querySelector("select");
  const text = row.querySelector("input").value.trim();
  if (select.value.startsWith("field:")) return { from: "field", field: select.value.slice(6) };
  if (select.value === "column") return { from: "column", column: text };
  return { from: "text", text };
}

async function bindForm(form) {
  const templateSelect = form.querySelector("[data-campaign-templates]");
  let templates = [];
  try {
    templates = ((await api("GET", wsPath("/templates?status=approved"))).items || []);
  } catch (e) {
    showError(form, e);
  }
  const channelSelect = form.elements.channel_id;
  const fillTemplates = () => {
    const channel = channelSelect.value;
    templateSelect.replaceChildren();
    for (const t of templates.filter((t) => !t.channel_id || t.channel_id === channel)) {
      templateSelect.append(el("option", { value: t.id, textContent: `${t.name} (${t.language}): ${t.body.slice(0, 60)}` }));
    }
    if (!templateSelect.options.length) templateSelect.append(el("option", { value: "", textContent: "No approved template for this channel" }));
    showValues();
  };
  const valuesBox = form.querySelector("[data-values]");
  const showValues = () => {
    const t = templates.find((t) => t.id === templateSelect.value);
    const rows = form.querySelector("[data-value-rows]");
    rows.replaceChildren();
    const buttons = form.querySelector("[data-button-rows]");
    buttons.replaceChildren();
    const header = form.elements.header_param;
    const headerLabel = form.querySelector("[data-header-label]");
    if (!t) {
      valuesBox.hidden = true;
      return;
    }
    for (let n = 1; n <= t.placeholder_count; n++) rows.append(valueRow(n));
    const h = t.header;
    const headerTakes = h && (h.format !== "text" || (h.text || "").includes("{{1}}"));
    header.hidden = headerLabel.hidden = !headerTakes;
    if (headerTakes) headerLabel.textContent = h.format === "text" ? `Header {{1}} (“${h.text}”)` : `Header ${h.format}: its https:// link`;
    (t.buttons || []).forEach((b, i) => {
      const takes = b.kind === "copy_code" || (b.kind === "url" && (b.url || "").includes("{{1}}")) || b.kind === "quick_reply";
      const input = el("input", { name: `button-${i}`, id: `c-button-${i}`, disabled: !takes });
      buttons.append(el("label", { htmlFor: input.id, textContent: `Button “${b.text}” (${b.kind.replace("_", " ")})` }), input);
    });
    valuesBox.hidden = !t.placeholder_count && !headerTakes && !(t.buttons || []).length;
  };
  channelSelect.addEventListener("change", fillTemplates);
  templateSelect.addEventListener("change", showValues);
  fillTemplates();
  for (const radio of form.querySelectorAll('input[name="audience"]')) {
    radio.addEventListener("change", () => {
      for (const box of form.querySelectorAll("[data-audience]")) box.hidden = box.dataset.audience !== radio.value;
    });
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    form.querySelector("[data-rejected]").replaceChildren();
    const body = {
      name: form.elements.name.value,
      channel_id: channelSelect.value,
      template_id: templateSelect.value,
      values: { body: [...form.querySelectorAll("[data-value-rows] .value-row")].map(readValue) },
    };
    const header = form.elements.header_param;
    if (!header.hidden && header.value.trim()) body.values.header_param = header.value.trim();
    const buttonInputs = [...form.querySelectorAll("[data-button-rows] input")];
    if (buttonInputs.some((i) => i.value.trim())) body.values.button_params = buttonInputs.map((i) => i.value.trim());
    const rate = form.elements.rate_per_second.value.trim();
    if (rate) body.rate_per_second = Number(rate);
    const when = form.elements.send_at.value;
    if (when) body.send_at = new Date(when).getTime();
    const audience = form.querySelector('input[name="audience"]:checked').value;
    if (audience === "tag") {
      body.tag = form.elements.tag.value;
    } else {
      const file = form.elements.csv.files[0];
      if (!file) return showError(form, { field: "csv", message: "Choose a CSV file" });
      body.csv = await file.text();
      body.csv_filename = file.name;
    }
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      const created = await api("POST", wsPath("/campaigns"), body);
      const rejected = created.rejected_rows || [];
      if (rejected.length) sessionStorage.setItem(`rejected-${created.id}`, JSON.stringify(rejected));
      location.assign(`campaigns/${created.id}`);
    } catch (e) {
      showError(form, e);
    } finally {
      button.disabled = false;
    }
  });
}

// ---- the report -----------------------------------------------------------

function bindReport(box) {
  const id = box.dataset.campaign;
  const base = wsPath(`/campaigns/${id}`);
  const statusPill = box.querySelector("[data-campaign-status]");
  const show = (c) => {
    statusPill.textContent = c.status;
    for (const dd of box.querySelectorAll("[data-count]")) dd.textContent = c.counts[dd.dataset.count] ?? 0;
    for (const b of box.querySelectorAll("[data-campaign-action]")) {
      const allowed = {
        pause: ["running", "scheduled"],
        resume: ["paused"],
        cancel: ["running", "scheduled", "paused"],
        retry_failed: ["running", "paused", "completed", "scheduled"],
      }[b.dataset.campaignAction];
      b.disabled = !allowed.includes(c.status) || (b.dataset.campaignAction === "retry_failed" && !c.counts.failed);
    }
  };
  let timer = null;
  let seen = "";
  const ledger = ledgerTable(base);
  const refresh = async () => {
    try {
      const c = await api("GET", base);
      show(c);
      // The ledger follows the counts: reloaded when they moved.
      const counts = JSON.stringify(c.counts);
      if (counts !== seen) {
        seen = counts;
        ledger.reset();
      }
      clearTimeout(timer);
      // Live while it runs; counts also move later (statuses, answers), so slower then.
      timer = setTimeout(refresh, ["running", "scheduled"].includes(c.status) ? 2000 : 10000);
    } catch (e) {
      timer = setTimeout(refresh, 10000);
    }
  };
  refresh();
  const result = box.querySelector("[data-action-result]");
  for (const b of box.querySelectorAll("[data-campaign-action]")) {
    b.addEventListener("click", async () => {
      if (b.dataset.confirm && !confirm(b.dataset.confirm)) return;
      result.textContent = "";
      try {
        show(await api("POST", `${base}/actions`, { action: b.dataset.campaignAction }));
        refresh();
      } catch (e) {
        result.textContent = e.message;
      }
    });
  }
  const rejected = sessionStorage.getItem(`rejected-${id}`);
  if (rejected) {
    sessionStorage.removeItem(`rejected-${id}`);
    const rows = JSON.parse(rejected);
    const list = el("ul", {}, ...rows.slice(0, 50).map((r) => el("li", { textContent: `line ${r.line}: ${r.reason}` })));
    box.append(el("div", { className: "card" }, el("h3", { textContent: `${rows.length} rows of the file were left out` }), list));
  }
}

function ledgerTable(base) {
  const body = document.querySelector("[data-ledger]");
  const more = document.querySelector("[data-ledger-more]");
  const empty = document.querySelector("[data-ledger-empty]");
  const filter = document.querySelector("[data-ledger-filter]");
  let cursor = null;
  const load = async () => {
    const params = new URLSearchParams({ limit: "100" });
    if (filter.value) params.set("status", filter.value);
    if (cursor) params.set("cursor", cursor);
    try {
      const page = await api("GET", `${base}/recipients?${params}`);
      for (const r of page.items) {
        const chat = r.conversation_id ? el("a", { href: `../../conversations/${r.conversation_id}`, textContent: "open" }) : "";
        body.append(
          el("tr", {},
            el("td", { textContent: r.position + 1 }),
            el("td", { textContent: r.external_id }),
            el("td", { textContent: r.name || "" }),
            el("td", {}, el("span", { className: "status-pill", textContent: r.status })),
            el("td", { textContent: r.reason || "" }),
            el("td", {}, chat),
          ),
        );
      }
      cursor = page.next_cursor || null;
      more.hidden = !cursor;
      empty.hidden = body.children.length > 0;
    } catch (e) {
      toast(e.message, "error");
    }
  };
  more.addEventListener("click", load);
  const reset = () => {
    cursor = null;
    body.replaceChildren();
    load();
  };
  filter.addEventListener("change", reset);
  return { reset };
}

const form = document.getElementById("new-campaign");
if (form) bindForm(form);
const report = document.getElementById("campaign-report");
if (report) bindReport(report);
