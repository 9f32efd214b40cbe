// Switchboard chat panel (runs inside the widget's frame, on our origin).
// Everything shown is set with textContent: nothing a visitor or agent
// writes is ever parsed as HTML.
(function () {
  "use strict";
  var root = document.getElementById("chat");
  var channel = root.dataset.channel;
  var storageKey = "switchboard.visitor." + channel;
  var list = document.getElementById("messages");
  var composer = document.getElementById("composer");
  var text = document.getElementById("text");
  var prechat = document.getElementById("prechat");
  var statusLine = document.getElementById("status");
  var typingLine = document.getElementById("typing");
  var agentLine = document.getElementById("agent");
  var state = { token: null, conversation: null, shown: {}, open: false, socket: null, retry: 500, typingTimer: null, lastTyping: 0 };
  root.style.setProperty("--accent", root.dataset.color || "#1f6feb");

  function api(method, path, body) {
    var headers = { "Accept": "application/json" };
    if (state.token) headers["Authorization"] = "Bearer " + state.token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (r) {
        return r.text().then(function (t) {
          var data = t ? JSON.parse(t) : null;
          if (!r.ok) {
            var err = new Error((data && data.error && data.error.message) || ("HTTP " + r.status));
            err.code = data && data.error && data.error.code;
            throw err;
          }
          return data;
        });
      });
  }

  function time(ms) {
    var d = new Date(ms);
    return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function tick(message) {
    if (message.direction !== "in") return "";
    return message.delivery_status === "read" ? "Seen" : "Sent";
  }

  function render(message) {
    var item = state.shown[message.id];
    if (!item) {
      item = document.createElement("li");
      item.dataset.id = message.id;
      state.shown[message.id] = item;
      // Keep time order even if events arrive out of order.
      var after = null;
      for (var i = list.children.length - 1; i >= 0; i--) {
        if (list.children[i].dataset.id && list.children[i].dataset.id < message.id) { after = list.children[i]; break; }
      }
      var greetingItem = list.querySelector(".greeting");
      if (after) after.after(item);
      else if (greetingItem) greetingItem.after(item);
      else list.prepend(item);
    }
    item.className = message.direction === "in" ? "in" : "out";
    item.textContent = message.body || "";
    (message.attachments || []).forEach(function (a) { item.appendChild(attachmentView(a)); });
    if (message.buttons && message.buttons.length) item.appendChild(choices(message));
    // An answer makes earlier menus history.
    if (message.direction === "in") {
      list.querySelectorAll(".choices button").forEach(function (b) {
        if (b.closest("li").dataset.id < message.id) b.disabled = true;
      });
    }
    var meta = document.createElement("span");
    meta.className = "meta";
    var who = message.direction === "out" ? (message.author_name || "Support") : "You";
    meta.textContent = who + " · " + time(message.created_at) + (tick(message) ? " · " + tick(message) : "");
    item.appendChild(meta);
    if (message.direction === "out" && message.author_name) agentLine.textContent = message.author_name + " is here to help";
    list.scrollTop = list.scrollHeight;
    if (message.direction === "out") acknowledge(message);
  }

  // A bot menu: each choice sends its label as the visitor's answer.
  function choices(message) {
    var row = document.createElement("div");
    row.className = "choices";
    row.setAttribute("role", "group");
    row.setAttribute("aria-label", "Choices");
    message.buttons.forEach(function (label) {
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = label;
      b.addEventListener("click", function () {
        row.querySelectorAll("button").forEach(function (x) { x.disabled = true; });
        text.value = label;
        composer.requestSubmit();
      });
      row.appendChild(b);
    });
    return row;
  }

  // Files are fetched with the visitor's token and shown from a blob URL;
  // an image shows its small preview, never the whole file.
  function fetchBlob(a, part) {
    return fetch("/widget/v1/attachments/" + a.id + (part || ""), { headers: { "Authorization": "Bearer " + state.token } })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.blob(); });
  }

  function attachmentView(a) {
    if (a.kind === "image" && a.preview_url) {
      var img = document.createElement("img");
      img.className = "preview";
      img.alt = a.filename;
      fetchBlob(a, "/preview").then(function (blob) { img.src = URL.createObjectURL(blob); }).catch(function () { img.alt = a.filename + " (not available)"; });
      return img;
    }
    var link = document.createElement("a");
    link.className = "file";
    link.textContent = a.filename + " (" + Math.max(1, Math.round(a.size / 1024)) + " KB)";
    link.href = "#";
    link.addEventListener("click", function (e) {
      e.preventDefault();
      fetchBlob(a).then(function (blob) {
        var url = URL.createObjectURL(blob);
        var save = document.createElement("a");
        save.href = url;
        save.download = a.filename;
        save.click();
        setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
      });
    });
    return link;
  }

  var fileInput = document.getElementById("file");
  function enableFiles() { fileInput.disabled = !state.conversation; }
  fileInput.addEventListener("change", function () {
    var file = fileInput.files[0];
    if (!file || !state.conversation) return;
    statusLine.textContent = "Sending " + file.name + "…";
    fetch("/widget/v1/conversations/" + state.conversation + "/attachments?filename=" + encodeURIComponent(file.name), {
      method: "POST",
      headers: { "Authorization": "Bearer " + state.token },
      body: file
    }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) throw new Error((data && data.error && data.error.message) || ("HTTP " + r.status));
        statusLine.textContent = "";
        render({ id: data.id, conversation_id: data.conversation_id, direction: "in", body: data.body, attachments: data.attachments, created_at: data.created_at });
      });
    }).catch(function (e) { statusLine.textContent = e.message; })
      .finally(function () { fileInput.value = ""; });
  });

  function acknowledge(message) {
    if (!state.conversation) return;
    var status = state.open && document.visibilityState === "visible" ? "read" : "delivered";
    if (message.delivery_status === status || message.delivery_status === "read") return;
    send({ type: "ack", conversation_id: message.conversation_id, up_to: message.id, status: status });
    if (!state.open) parent.postMessage({ type: "switchboard:unread" }, "*");
  }

  function send(frame) {
    if (state.socket && state.socket.readyState === 1) state.socket.send(JSON.stringify(frame));
  }

  function greeting() {
    if (!root.dataset.greeting || list.querySelector(".greeting")) return;
    var item = document.createElement("li");
    item.className = "out greeting";
    item.textContent = root.dataset.greeting;
    list.prepend(item);
  }

  function loadConversation() {
    return api("GET", "/widget/v1/conversations").then(function (res) {
      var latest = res.items[0];
      prechat.hidden = !!latest || !(root.dataset.prechatName !== "off" || root.dataset.prechatEmail !== "off");
      if (!latest) return;
      state.conversation = latest.id;
      enableFiles();
      if (latest.agent_name) agentLine.textContent = latest.agent_name + " is here to help";
      return api("GET", "/widget/v1/conversations/" + latest.id + "/messages").then(function (msgs) {
        msgs.items.forEach(render);
      });
    });
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    // After a drop, ask for what came since the last event seen (any node replays it).
    var since = state.seq ? "&since=" + state.seq : "";
    var socket = new WebSocket(scheme + location.host + "/widget/v1/ws?token=" + encodeURIComponent(state.token) + since);
    state.socket = socket;
    socket.onopen = function () { state.retry = 500; statusLine.textContent = ""; loadConversation(); };
    socket.onmessage = function (e) {
      var event = JSON.parse(e.data);
      if (event.seq) state.seq = event.seq;
      if (event.type === "resync") {
        loadConversation();
      } else if (event.type === "message" || event.type === "message.updated") {
        if (!state.conversation || state.conversation !== event.data.conversation_id) {
          state.conversation = event.data.conversation_id;
          prechat.hidden = true;
        }
        render(event.data);
        typingLine.textContent = "";
      } else if (event.type === "typing") {
        typingLine.textContent = (event.data.name || "Support") + " is typing…";
        clearTimeout(state.typingTimer);
        state.typingTimer = setTimeout(function () { typingLine.textContent = ""; }, 4000);
      } else if (event.type === "conversation" && event.data.agent_name) {
        agentLine.textContent = event.data.agent_name + " is here to help";
      }
    };
    socket.onclose = function () {
      state.socket = null;
      setTimeout(connect, state.retry);
      state.retry = Math.min(state.retry * 2, 15000);
    };
  }

  function start(identity) {
    var body = { channel_id: channel, token: localStorage.getItem(storageKey) || null };
    if (identity && identity.identifier) {
      body.identifier = identity.identifier;
      body.identifier_hash = identity.identifier_hash || "";
    }
    return api("POST", "/widget/v1/session", body).then(function (session) {
      state.token = session.token;
      localStorage.setItem(storageKey, session.token);
      greeting();
      connect();
    }).catch(function (e) {
      statusLine.textContent = e.code === "bad_signature" ? "This chat could not verify who you are." : "The chat is not available right now.";
    });
  }

  composer.addEventListener("submit", function (e) {
    e.preventDefault();
    var value = text.value;
    if (!value.trim()) return;
    var body = { text: value, client_id: Date.now().toString(36) + Math.random().toString(36).slice(2) };
    if (!prechat.hidden) {
      var name = document.getElementById("prechat-name").value.trim();
      var email = document.getElementById("prechat-email").value.trim();
      if (name) body.name = name;
      if (email) body.email = email;
    }
    text.value = "";
    api("POST", "/widget/v1/messages", body).then(function (res) {
      state.conversation = res.conversation_id;
      enableFiles();
      prechat.hidden = true;
      document.getElementById("prechat-error").textContent = "";
      return api("GET", "/widget/v1/conversations/" + res.conversation_id + "/messages").then(function (msgs) {
        msgs.items.forEach(render);
      });
    }).catch(function (err) {
      text.value = value;
      if (err.code === "invalid_input" && !prechat.hidden) document.getElementById("prechat-error").textContent = err.message;
      else statusLine.textContent = err.message;
    });
  });

  text.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); composer.requestSubmit(); }
  });
  text.addEventListener("input", function () {
    var now = Date.now();
    if (state.conversation && now - state.lastTyping > 2000) {
      state.lastTyping = now;
      send({ type: "typing", conversation_id: state.conversation });
    }
  });
  document.getElementById("close").addEventListener("click", function () {
    parent.postMessage({ type: "switchboard:close" }, "*");
  });

  var started = false;
  window.addEventListener("message", function (e) {
    if (e.source !== parent || !e.data || typeof e.data.type !== "string") return;
    if (e.data.type === "switchboard:init" && !started) { started = true; start(e.data); }
    if (e.data.type === "switchboard:visibility") {
      state.open = !!e.data.open;
      if (state.open) text.focus();
      if (state.open && state.conversation) {
        var last = list.querySelector("li.out:last-of-type");
        if (last && last.dataset.id) send({ type: "ack", conversation_id: state.conversation, up_to: last.dataset.id, status: "read" });
      }
    }
  });
  // Opened on its own (not framed by the loader): start anonymously.
  setTimeout(function () { if (!started) { started = true; start(null); } }, parent === window ? 0 : 1500);
})();
