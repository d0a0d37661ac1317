// The chat widget: one script tag on a business's own site puts a chat
// bubble in the page's corner that opens the node's customer chat
// (chat.html?embed=1) in a frame, for the scene the tag names:
//
//   <script src="https://chat.example.com/widget.js" data-scene="listing/123" async></script>
//
// data-title is the panel's title ("Chat with us"), data-user the
// visitor's user id for a dev node's tokens (else one is made up and kept
// in the frame's storage). The page signs its visitor in by defining,
// before the tag,
//
//   window.SwitchboardWidget = { token: () => fetch("/chat-token").then((r) => r.text()) };
//
// a function its own backend answers with the visitor's token (ours, or
// the identity provider's ID token: docs/OPERATIONS.md). The frame asks
// the page for it by postMessage at each connect; the page answers only
// its own frame of the node's origin. Without one, a node open to
// anonymous visitors (serve --visitor-scenes) makes the visitor one,
// kept in the browser; else a dev node mints a token for the made-up id.
// The node lets the pages of --web-origins frame the chat
// (Content-Security-Policy frame-ancestors). Open and close it from the
// page with SwitchboardWidget.open() and .close().
(() => {
  const tag = document.currentScript;
  if (!tag || window.__switchboardWidget) return;
  window.__switchboardWidget = true;
  const node = new URL(tag.src).origin;
  const scene = tag.dataset.scene ?? "";
  const title = tag.dataset.title ?? "Chat with us";

  const css = document.createElement("style");
  css.textContent = `
.sb-widget-bubble { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; width: 56px; height: 56px; border-radius: 50%;
  border: none; background: #2563eb; color: #fff; font: 26px/56px system-ui, sans-serif; cursor: pointer; box-shadow: 0 4px 14px rgba(0,0,0,.25); }
.sb-widget-badge { position: absolute; top: -4px; right: -4px; min-width: 20px; height: 20px; border-radius: 10px; background: #dc2626;
  color: #fff; font: 600 12px/20px system-ui, sans-serif; text-align: center; padding: 0 5px; box-sizing: border-box; }
.sb-widget-panel { position: fixed; right: 20px; bottom: 88px; z-index: 2147483000; width: 370px; height: 540px; max-width: calc(100vw - 40px);
  max-height: calc(100vh - 110px); display: flex; flex-direction: column; border-radius: 12px; overflow: hidden; background: #fff;
  box-shadow: 0 8px 30px rgba(0,0,0,.3); }
.sb-widget-panel[hidden] { display: none; }
.sb-widget-head { display: flex; align-items: center; padding: 10px 14px; background: #2563eb; color: #fff; font: 600 15px system-ui, sans-serif; }
.sb-widget-head span { flex: 1; }
.sb-widget-head button { border: none; background: none; color: #fff; font-size: 20px; cursor: pointer; }
.sb-widget-panel iframe { flex: 1; border: 0; width: 100%; }
@media (max-width: 480px) { .sb-widget-panel { right: 0; bottom: 0; width: 100vw; height: 100%; max-width: none; max-height: none; border-radius: 0; } }`;
  document.head.appendChild(css);

  const bubble = document.createElement("button");
  bubble.className = "sb-widget-bubble";
  bubble.type = "button";
  bubble.title = title;
  bubble.setAttribute("aria-label", title);
  bubble.textContent = "💬";
  const badge = document.createElement("span");
  badge.className = "sb-widget-badge";
  badge.hidden = true;
  bubble.appendChild(badge);

  const panel = document.createElement("div");
  panel.className = "sb-widget-panel";
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", title);
  const head = document.createElement("div");
  head.className = "sb-widget-head";
  const name = document.createElement("span");
  name.textContent = title;
  const shut = document.createElement("button");
  shut.type = "button";
  shut.title = "Close";
  shut.textContent = "×";
  head.append(name, shut);
  panel.appendChild(head);

  let frame; // made at the first open: no connection for a visitor who never chats
  const post = (msg) => frame?.contentWindow?.postMessage(msg, node);
  function open() {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.title = title;
      frame.allow = "microphone; camera; geolocation"; // the agent's calls, a shared place
      const q = new URLSearchParams({ embed: "1" });
      if (scene) q.set("scene", scene);
      if (tag.dataset.user) q.set("user", tag.dataset.user);
      frame.src = `${node}/chat.html?${q}`;
      panel.appendChild(frame);
    }
    panel.hidden = false;
    badge.hidden = true;
    post({ type: "sb-visible", visible: true });
  }
  function close() {
    panel.hidden = true;
    post({ type: "sb-visible", visible: false });
  }
  bubble.onclick = () => (panel.hidden ? open() : close());
  shut.onclick = close;
  panel.addEventListener("keydown", (ev) => ev.key === "Escape" && close());

  // The frame's requests: a token for its next connect, and the unread
  // count to show on the bubble while the panel is closed. Only the
  // frame this script made, from the node's origin, is answered.
  window.addEventListener("message", async (ev) => {
    if (!frame || ev.source !== frame.contentWindow || ev.origin !== node) return;
    const m = ev.data ?? {};
    if (m.type === "sb-token") {
      const source = window.SwitchboardWidget?.token;
      let reply = { type: "sb-token", id: m.id };
      if (typeof source !== "function") reply.none = true;
      else {
        try {
          reply.token = String(await source());
        } catch (err) {
          reply.error = String(err?.message ?? err);
        }
      }
      post(reply);
    } else if (m.type === "sb-close") {
      close();
      bubble.focus();
    } else if (m.type === "sb-ready") {
      post({ type: "sb-visible", visible: !panel.hidden });
    } else if (m.type === "sb-unread") {
      const n = Number(m.count) || 0;
      badge.textContent = n > 99 ? "99+" : String(n);
      badge.hidden = n === 0 || !panel.hidden;
    }
  });

  const api = window.SwitchboardWidget ?? {};
  api.open = open;
  api.close = close;
  window.SwitchboardWidget = api;
  const mount = () => document.body.append(panel, bubble);
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
