// AI assist in the composer: an action on the draft (or a summary of the
// chat) streams into a preview; the agent accepts, tries again, discards
// or cancels. The draft is only replaced on Accept, and "Restore my
// draft" brings the original back. Nothing is sent to the customer here.
import { api, wsPath, toast } from "./api.js";

const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content || "";

// Read a server-sent-events body: each `data:` line as JSON.
async function* events(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of block.split("\n")) {
        if (line.startsWith("data:")) {
          try {
            yield JSON.parse(line.slice(5).trim());
          } catch {
            /* a keep-alive or a broken line: skip */
          }
        }
      }
    }
  }
}

export function bindAssist(root, refresh) {
  const form = root.querySelector("#composer");
  const bar = root.querySelector("#assist-bar");
  if (!form || !bar || bar.dataset.bound) return;
  bar.dataset.bound = "1";
  const conversation = root.dataset.id;
  const draft = form.querySelector("#composer-text");
  const preview = form.querySelector("#assist-preview");
  const status = form.querySelector("#assist-status");
  const output = form.querySelector("#assist-text");
  const accept = form.querySelector("#assist-accept");
  const note = form.querySelector("#assist-note");
  const restore = form.querySelector("#assist-restore");
  let controller = null;
  let last = null; // the last request, for "Try again"
  let answer = null;
  let original = null;

  const say = (text, failed = false) => {
    status.textContent = text;
    status.classList.toggle("field-error", failed);
  };

  async function run(request) {
    controller?.abort();
    controller = new AbortController();
    last = request;
    answer = null;
    preview.hidden = false;
    output.textContent = "";
    accept.disabled = true;
    note.disabled = true;
    const summary = request.action === "summarize";
    accept.hidden = summary;
    note.hidden = !summary;
    say(summary ? "Summarizing the conversation…" : "Writing…");
    try {
      const response = await fetch(wsPath(`/conversations/${conversation}/assist/stream`), {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": meta("csrf-token"), Accept: "text/event-stream" },
        body: JSON.stringify(request),
        signal: controller.signal,
      });
      if (!response.ok) {
        const data = await response.json().catch(() => null);
        say(data?.error?.message || `The AI request failed (${response.status}).`, true);
        return;
      }
      for await (const event of events(response)) {
        if (event.type === "delta") output.textContent += event.text;
        if (event.type === "done") {
          answer = event.answer;
          output.textContent = answer.text;
          accept.disabled = false;
          note.disabled = false;
          say("Check it, then accept or discard.");
        }
        if (event.type === "failed") say(event.message, true);
      }
      if (!answer && !status.classList.contains("field-error")) say("The answer stopped before it was complete.", true);
    } catch (e) {
      if (e.name === "AbortError") say("Cancelled.");
      else say("The server cannot be reached. Your draft is unchanged.", true);
    } finally {
      controller = null;
    }
  }

  function request(action) {
    const text = draft.value;
    if (action === "summarize") return { action };
    if (!text.trim()) {
      say("Write a draft first.", true);
      preview.hidden = false;
      return null;
    }
    if (action === "translate") {
      const language = form.querySelector("#assist-language")?.value.trim();
      return language ? { action, language, draft: text } : { action, draft: text };
    }
    return { action, draft: text };
  }

  function start(action, extra = {}) {
    const r = request(action);
    if (r) run({ ...r, ...extra });
  }

  function close() {
    controller?.abort();
    preview.hidden = true;
    answer = null;
  }

  bar.addEventListener("click", (event) => {
    const button = event.target.closest("[data-assist]");
    if (button) start(button.dataset.assist);
    if (event.target.closest("#assist-restore") && original !== null) {
      draft.value = original;
      original = null;
      restore.hidden = true;
      draft.focus();
    }
  });
  bar.querySelector("#assist-tone")?.addEventListener("change", (event) => {
    const tone = event.target.value;
    event.target.value = "";
    if (tone) start("tone", { tone });
  });
  accept.addEventListener("click", () => {
    if (!answer) return;
    original = draft.value;
    draft.value = answer.text;
    restore.hidden = false;
    close();
    draft.focus();
  });
  note.addEventListener("click", async () => {
    if (!answer) return;
    try {
      await api("POST", wsPath(`/conversations/${conversation}/messages`), { kind: "note", body: answer.text });
      toast("The summary is saved as a private note.");
      close();
      refresh();
    } catch (e) {
      say(e.message, true);
    }
  });
  form.querySelector("#assist-retry").addEventListener("click", () => last && run(last));
  form.querySelector("#assist-cancel").addEventListener("click", () => {
    controller?.abort();
  });
  form.querySelector("#assist-discard").addEventListener("click", close);
  // Alt+R rephrase, Alt+T tone, Alt+E expand, Alt+L translate, Alt+S summarize; Escape closes.
  form.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !preview.hidden) {
      close();
      return;
    }
    if (!event.altKey || event.ctrlKey || event.metaKey) return;
    const key = event.key.toLowerCase();
    const action = { r: "rephrase", e: "expand", l: "translate", s: "summarize" }[key];
    if (action && bar.querySelector(`[data-assist="${action}"]`)) {
      event.preventDefault();
      start(action);
    } else if (key === "t" && bar.querySelector("#assist-tone")) {
      event.preventDefault();
      bar.querySelector("#assist-tone").focus();
    }
  });
}
