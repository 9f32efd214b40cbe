// Switchboard web-chat loader. Embed with:
//   <script src="https://HOST/widget.js" data-channel="CHANNEL_ID" async></script>
// Optional, for signed-in users of the site: data-identifier and
// data-identifier-hash (hex HMAC-SHA256 of the identifier, keyed with the
// channel secret, computed on the site's server).
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.dataset.channel) return;
  var base = new URL(script.src).origin;
  var channel = script.dataset.channel;
  var host = document.createElement("div");
  host.setAttribute("data-switchboard-widget", "");
  // A shadow root keeps the host page's styles out and ours in.
  var shadow = host.attachShadow({ mode: "open" });
  var style = document.createElement("style");
  style.textContent =
    ":host{all:initial}" +
    ".launcher{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;cursor:pointer;" +
    "background:#1f6feb;color:#fff;display:flex;align-items:center;justify-content:center;box-shadow:0 4px 14px rgba(0,0,0,.25);z-index:2147483646}" +
    ".launcher:focus-visible{outline:3px solid #ffbf47;outline-offset:2px}" +
    ".badge{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;border-radius:10px;background:#d92d20;color:#fff;font:600 12px/20px system-ui,sans-serif}" +
    ".badge[hidden]{display:none}" +
    ".panel{position:fixed;right:20px;bottom:88px;width:370px;height:560px;max-width:calc(100vw - 40px);max-height:calc(100vh - 110px);" +
    "border:0;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.3);background:#fff;z-index:2147483647}" +
    ".panel[hidden]{display:none}" +
    "@media (max-width:480px){.panel{right:0;bottom:0;width:100vw;height:100vh;max-width:none;max-height:none;border-radius:0}}";
  var launcher = document.createElement("button");
  launcher.className = "launcher";
  launcher.type = "button";
  launcher.setAttribute("aria-label", "Open the chat");
  // A speech-bubble icon, drawn rather than an emoji (fonts vary).
  var ns = "http://www.w3.org/2000/svg";
  var icon = document.createElementNS(ns, "svg");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("width", "26");
  icon.setAttribute("height", "26");
  icon.setAttribute("aria-hidden", "true");
  var path = document.createElementNS(ns, "path");
  path.setAttribute("fill", "currentColor");
  path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z");
  icon.appendChild(path);
  launcher.appendChild(icon);
  var badge = document.createElement("span");
  badge.className = "badge";
  badge.hidden = true;
  launcher.appendChild(badge);
  var frame = document.createElement("iframe");
  frame.className = "panel";
  frame.title = "Chat";
  frame.hidden = true;
  frame.src = base + "/widget/frame?channel=" + encodeURIComponent(channel);
  shadow.appendChild(style);
  shadow.appendChild(frame);
  shadow.appendChild(launcher);
  var unread = 0;
  function setOpen(open) {
    frame.hidden = !open;
    launcher.setAttribute("aria-label", open ? "Close the chat" : "Open the chat");
    if (open) { unread = 0; badge.hidden = true; }
    frame.contentWindow.postMessage({ type: "switchboard:visibility", open: open }, base);
  }
  launcher.addEventListener("click", function () { setOpen(frame.hidden); });
  frame.addEventListener("load", function () {
    frame.contentWindow.postMessage({
      type: "switchboard:init",
      identifier: script.dataset.identifier || null,
      identifier_hash: script.dataset.identifierHash || null
    }, base);
  });
  window.addEventListener("message", function (e) {
    if (e.origin !== base || e.source !== frame.contentWindow || !e.data) return;
    if (e.data.type === "switchboard:close") setOpen(false);
    if (e.data.type === "switchboard:unread" && frame.hidden) { unread += 1; badge.textContent = String(unread); badge.hidden = false; }
  });
  (document.body || document.documentElement).appendChild(host);
})();
