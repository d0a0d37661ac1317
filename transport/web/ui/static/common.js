// Shared by the pages: tokens, rendering, the SDK.
import { Client, Desk } from "./switchboard.js";
export { Client, Desk };

export const params = new URLSearchParams(location.search);

// ?transport=websocket keeps a page off WebTransport.
export function transports() {
  return params.get("transport") === "websocket" ? ["websocket"] : ["webtransport", "websocket"];
}

// token: a dev node mints one (/dev/token); elsewhere the page asks.
export async function token(user, device) {
  const r = await fetch(`/dev/token?user=${encodeURIComponent(user)}&device=${encodeURIComponent(device)}`);
  if (r.ok) return (await r.json()).token;
  const t = prompt(`Token for ${user}`);
  if (!t) throw new Error("no token");
  return t;
}

export const desk = new Desk(location.origin + "/dev/admin");

const marks = { sending: "…", sent: "✓", delivered: "✓✓", read: "✓✓ read", failed: "✗ failed" };

export function renderMessages(el, conv, me) {
  el.textContent = "";
  for (const m of conv.all()) {
    const d = document.createElement("div");
    d.className = "msg" + (m.kind === "system" ? " system" : m.sender === me ? " mine" : "") + (m.recalled ? " recalled" : "");
    if (m.kind === "recall") continue;
    d.dataset.seq = String(m.seq);
    const who = m.kind === "system" ? "" : m.sender === me ? "" : m.sender + ": ";
    let text = m.body;
    if (m.kind === "system") {
      try {
        const s = JSON.parse(m.body); // desk steps are JSON (docs/DESK.md)
        text = s.desk ? `${s.desk}${s.agent ? " · " + s.agent : ""}${s.queue ? " · queue " + s.queue : ""}` : m.body;
      } catch {}
    }
    const b = document.createElement("span");
    b.className = "body";
    b.textContent = who + text;
    d.append(b);
    if (m.state) {
      const s = document.createElement("span");
      s.className = "state";
      s.dataset.state = m.state;
      s.textContent = marks[m.state] ?? m.state;
      d.append(s);
    }
    el.append(d);
  }
  el.scrollTop = el.scrollHeight;
}

export function showStatus(client) {
  const el = document.getElementById("status");
  client.on("state", (s, t) => {
    el.textContent = s === "connected" ? `connected (${t})` : s;
    el.dataset.state = s;
    el.dataset.transport = t ?? "";
  });
}

export function typingLine(client, el, convOf) {
  const timers = new Map();
  client.on("typing", (conv, user, on) => {
    if (conv !== convOf() || user === client.user) return;
    clearTimeout(timers.get(user));
    el.textContent = on ? `${user} is typing…` : "";
    if (on) timers.set(user, setTimeout(() => (el.textContent = ""), 4000));
  });
}
