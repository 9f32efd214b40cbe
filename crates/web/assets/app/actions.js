// Header actions of a conversation: resolve / abandon (comment, feedback
// request), priority, transfer (only agents who can take it now; the list
// refreshes itself), tags, save contact, reopen, enter chat.
import { api, wsPath, toast } from "./api.js";
import { clearErrors, serialize, showError } from "./forms.js";

export function renderTargets(box, teams) {
  const legend = box.querySelector("legend");
  box.replaceChildren(legend);
  if (!teams.length) {
    const p = document.createElement("p");
    p.className = "muted";
    p.textContent = "No teams.";
    box.append(p);
  }
  for (const team of teams) {
    const group = document.createElement("div");
    group.className = "target-team";
    const label = document.createElement("label");
    label.className = "inline";
    const radio = document.createElement("input");
    radio.type = "radio";
    radio.name = "target";
    radio.value = `team:${team.team_id}`;
    radio.disabled = !team.available;
    label.append(radio, ` ${team.name}`);
    group.append(label);
    if (!team.available) {
      const why = document.createElement("p");
      why.className = "reason muted small";
      why.textContent = team.reason || "Nobody can take it now.";
      group.append(why);
    }
    for (const agent of team.agents || []) {
      const a = document.createElement("label");
      a.className = "inline agent";
      const r = document.createElement("input");
      r.type = "radio";
      r.name = "target";
      r.value = `user:${agent.user_id}:${team.team_id}`;
      a.append(r, ` ${agent.name} (${agent.open_chats}/${agent.capacity})`);
      group.append(a);
    }
    box.append(group);
  }
}

// The assign request for the target chosen in a transfer form.
export function transferBody(form) {
  const chosen = form.querySelector('input[name="target"]:checked');
  if (!chosen) throw Object.assign(new Error("Choose a team or an agent."), { field: "form" });
  const [kind, id, team] = chosen.value.split(":");
  const comment = form.elements.comment.value.trim() || undefined;
  return kind === "team" ? { team_id: id, comment } : { user_id: id, team_id: team, comment };
}

export function bindActions(root, refresh) {
  if (root.dataset.actionsBound) return;
  root.dataset.actionsBound = "1";
  const conversation = root.dataset.id;
  const path = (p) => wsPath(`/conversations/${conversation}${p}`);
  let transferTimer = null;

  const loadTargets = async () => {
    const box = root.querySelector("#transfer-targets");
    try {
      renderTargets(box, await api("GET", wsPath("/transfer-targets")));
    } catch (e) {
      box.textContent = e.message;
    }
  };

  root.addEventListener("click", async (event) => {
    const opener = event.target.closest("[data-open]");
    if (opener) {
      const dialog = root.querySelector(`#${opener.dataset.open}`);
      const form = dialog.querySelector("form");
      if (form) clearErrors(form);
      if (opener.dataset.to) {
        form.elements.to.value = opener.dataset.to;
        dialog.querySelector("h3").textContent = opener.dataset.to === "resolved" ? "Resolve" : "Abandon";
      }
      if (opener.dataset.priority) {
        form.elements.priority.value = opener.dataset.priority;
        dialog.querySelector("h3").textContent = opener.dataset.priority === "critical" ? "Mark critical" : "Mark normal";
      }
      if (dialog.id === "transfer-dialog") {
        loadTargets();
        transferTimer = setInterval(loadTargets, 10000);
      }
      if (dialog.id === "tags-dialog") {
        api("GET", wsPath("/tags"))
          .then((r) => {
            const list = dialog.querySelector("datalist");
            list.replaceChildren(...(r.items || []).map((t) => Object.assign(document.createElement("option"), { value: t.name })));
          })
          .catch(() => {});
      }
      dialog.showModal();
      return;
    }
    if (event.target.closest("[data-close]")) {
      event.target.closest("dialog")?.close();
      return;
    }
    if (event.target.closest("#transfer-refresh")) {
      loadTargets();
      return;
    }
    if (event.target.closest("#reopen")) {
      try {
        await api("POST", path("/status"), { status: "assigned" });
        refresh();
      } catch (e) {
        toast(e.message, "error");
      }
      return;
    }
    const hold = event.target.closest("#hold-toggle");
    if (hold) {
      try {
        await api("PUT", path("/hold"), { held: hold.dataset.held !== "true" });
        refresh();
      } catch (e) {
        toast(e.message, "error");
      }
      return;
    }
    if (event.target.closest("#enter-chat")) {
      try {
        await api("POST", path("/enter"));
        refresh();
      } catch (e) {
        toast(e.message, "error");
      }
    }
  });

  for (const dialog of root.querySelectorAll("dialog")) {
    dialog.addEventListener("close", () => {
      if (dialog.id === "transfer-dialog") clearInterval(transferTimer);
    });
  }

  // Dialog forms are found when submitted: a pane refresh may replace them.
  const runs = new Map();
  const submit = (action, run) => runs.set(action, run);
  root.addEventListener("submit", async (event) => {
    const form = event.target;
    const run = runs.get(form.dataset.action);
    if (!run) return;
    event.preventDefault();
    clearErrors(form);
    try {
      await run(form);
      form.closest("dialog").close();
      refresh();
    } catch (e) {
      showError(form, e);
    }
  });

  submit("status", async (form) => {
    const comment = form.elements.comment.value.trim();
    await api("POST", path("/status"), {
      status: form.elements.to.value,
      reason: form.elements.reason.value || undefined,
      comment: comment || undefined,
      feedback_request: form.elements.feedback_request.checked,
    });
    form.reset();
  });
  submit("priority", async (form) => {
    await api("POST", path("/priority"), { priority: form.elements.priority.value });
    const comment = form.elements.comment.value.trim();
    // The priority call takes no comment; the comment is kept as a private note.
    if (comment) await api("POST", path("/messages"), { kind: "note", body: comment });
    form.reset();
  });
  submit("transfer", async (form) => {
    await api("POST", path("/assign"), transferBody(form));
    toast("Transferred.");
    form.reset();
  });
  submit("delete", async () => {
    await api("DELETE", path(""));
    toast("The chat was deleted permanently.");
    // Nothing is left to show: back to the list, which no longer has it.
    const back = new URL(location.href);
    back.searchParams.delete("c");
    location.href = back.pathname.includes("/conversations/") ? `/w/${root.dataset.ws}/inbox?section=archived` : back.toString();
  });
  submit("tags", async (form) => {
    const tags = form.elements.tags.value.split(",").map((t) => t.trim()).filter(Boolean);
    await api("PUT", path("/tags"), { tags });
  });
  submit("contact", async (form) => {
    const body = serialize(form);
    await api("PATCH", wsPath(`/contacts/${root.dataset.contact}`), body);
    toast("Contact saved.");
  });
}
