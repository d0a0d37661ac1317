import { anonymousVisitor, attachFile, claimVisitor, callLine, Client, draftKeeper, forwarder, hider, linkTracker, params, people, pinTracker, profileForm, renderMessages, ServiceDesk, shareLocation, showStatus, starTracker, tabDevice, token, tokenWorked, transports, typingLine } from "./common.js";

const $ = (id) => document.getElementById(id);

// As web chats do, the visitor's name and open chat are kept in this
// browser: a reload, a new tab or a tab that crashed picks the chat up
// again (entering again returns the open session), and the outbox in the
// same storage sends what had not reached the node (docs/PROTOCOL.md §12).
const SAVED = "switchboard.chat";
const saved = (() => {
  try {
    return JSON.parse(localStorage.getItem(SAVED) ?? "null") ?? {};
  } catch {
    return {};
  }
})();
const save = (v) => {
  try {
    localStorage.setItem(SAVED, JSON.stringify(v));
  } catch {}
};
// Framed by the widget (widget.js, ?embed=1): the chat opens at once,
// the visitor's token comes from the page around it, and what arrives
// while the panel is closed counts on the bubble instead of being read.
const embed = params.get("embed") === "1";
if (embed) document.body.classList.add("embed");
let visible = !embed;
// A random id; crypto.randomUUID is missing outside secure contexts (a
// dev node reached over plain http on the LAN).
const randomID = () => Math.random().toString(36).slice(2, 10);
$("user").value = params.get("user") ?? saved.user ?? (embed ? `v-${randomID()}` : $("user").value);
$("scene").value = params.get("scene") ?? saved.scene ?? $("scene").value;
let client, conv, sd, calls, queuePos = 0, queueWait = 0;
let names; // people, once connected: the agents by their names
const nameOf = (user) => names?.name(user, conv) ?? user;
// The queue's estimate of the wait, when it has one.
const waitText = (ms) => (ms > 0 ? ` · about ${Math.max(1, Math.round(ms / 60000))} min` : "");

// The session's state, from the desk steps in the conversation (system
// messages, docs/DESK.md) and the QUEUE_POSITION signals: no polling.
// deskState answers its text and the agent it is with (shown by their
// name in the text).
const deskInfo = (c) => deskState(c)?.text;
function deskState(c) {
  const step = deskStep(c);
  return typeof step === "string" ? { text: step, agent: "" } : step;
}
function deskStep(c) {
  for (const m of [...c.messages].reverse()) {
    if (m.kind !== "system") continue;
    let s;
    try {
      s = JSON.parse(m.body);
    } catch {
      continue;
    }
    if (s.desk === "close") return "closed";
    // A new session (a message after the close reopened it): not the
    // last one's close; its next step says more.
    if (s.desk === "start") return "waiting";
    if (s.desk === "assigned" && s.agent) return { text: `with ${nameOf(s.agent)}`, agent: s.agent };
    if (s.desk === "transfer" && s.to) return s.to.startsWith("user:") ? { text: `with ${nameOf(s.to.slice(5))}`, agent: s.to.slice(5) } : "waiting (transferred)";
    if (s.desk === "queued") return `queue position ${queuePos || s.position || "?"}${waitText(queueWait)}`;
    if (s.desk === "requeue") return "waiting";
  }
  return undefined;
}

// The score the customer gave the last session, from its rating step; 0
// if it has none yet.
function ratedScore(c) {
  for (const m of [...c.messages].reverse()) {
    if (m.kind !== "system") continue;
    try {
      const s = JSON.parse(m.body);
      if (s.desk === "rating") return s.score;
      if (s.desk === "close" || s.desk === "start") return 0;
    } catch {}
  }
  return 0;
}

// Once the session is closed, the customer may rate it (desk_rate, once).
function showRating(c, info) {
  const score = ratedScore(c);
  $("rate").hidden = info !== "closed";
  for (const b of $("rate").querySelectorAll("button")) b.disabled = score > 0;
  if (score > 0) $("rated").textContent = `thank you: ${score} of 5`;
  else if (info !== "closed") $("rated").textContent = "";
}
for (const b of document.querySelectorAll("#rate button")) {
  b.onclick = async () => {
    try {
      const r = await sd.rate(conv, Number(b.dataset.score));
      $("rated").textContent = `thank you: ${r.score} of 5`;
    } catch (err) {
      $("rated").textContent = `could not rate: ${err.message}`;
    }
  };
}

const onCard = (m, action) => {
  $("card-note").textContent = "";
  client.clickCard(m.conv, m.seq, action).catch((err) => ($("card-note").textContent = `could not send your choice: ${err.message}`));
};
const onReact = (m, emoji) => {
  $("card-note").textContent = "";
  client.react(m.conv, m.seq, emoji).catch((err) => ($("card-note").textContent = `could not react: ${err.message}`));
};
const onVote = (m, options) => {
  $("card-note").textContent = "";
  client.vote(m.conv, m.seq, options).catch((err) => ($("card-note").textContent = `could not vote: ${err.message}`));
};
const download = (m) => client.download(m.conv, m.seq).then((r) => r.data);
let pinned; // pinTracker, once connected
let onForward; // forwarder, once connected: the agent's answer, a listing's photo, to someone else
let onHide; // hider, once connected: a message deleted for the customer alone ("delete for me"), with an Undo
let stars; // starTracker, once connected: the address or the price the agent gave, to find again
let previews; // linkTracker, once connected: a link's title under its message
// draftKeeper, once connected: what the visitor started writing is kept as
// the chat's draft, for their other devices and the next visit.
let drafts;
const draw = (c) =>
  renderMessages($("messages"), c, client.user, { onClick: onCard, onReact, onVote, onForward, onHide, download, pinned: pinned?.(c), onStar: stars?.toggle, starred: stars?.seqs(c), preview: previews, people: names });
// showInfo shows the session's state from c's desk steps, if they tell it.
function showInfo(c) {
  const st = deskState(c);
  if (st) {
    $("info").textContent = st.text;
    $("info").title = st.agent; // the agent's id
  }
  return st?.text;
}

// pageToken asks the page framing the chat for the visitor's token
// (SwitchboardWidget.token); null when it has none to give, or gives no
// answer (not the widget), for the dev node's own tokens.
function pageToken() {
  return new Promise((resolve, reject) => {
    const id = randomID();
    const done = (f) => {
      clearTimeout(timer);
      removeEventListener("message", on);
      f();
    };
    const timer = setTimeout(() => done(() => resolve(null)), 5000);
    function on(ev) {
      const m = ev.data ?? {};
      if (ev.source !== window.parent || m.type !== "sb-token" || m.id !== id) return;
      done(() => (m.error ? reject(new Error(`the page gave no token: ${m.error}`)) : resolve(m.none ? null : m.token)));
    }
    addEventListener("message", on);
    window.parent.postMessage({ type: "sb-token", id }, "*");
  });
}
const visitorToken = async (user, device) => (embed && (await pageToken())) || token(user, device);

// An anonymous visitor: a site that signs nobody in gives the widget no
// token, and a node open to visitors (serve --visitor-scenes; /web.json
// says "visitors") mints one (the SDK's anonymousVisitor), kept in this
// browser for its life, so the visitor finds their chat again on the
// next visit.
const visitor = () => anonymousVisitor(location.origin, localStorage);
// takesVisitors: the node makes anonymous visitors.
async function takesVisitors() {
  try {
    return Boolean((await (await fetch("/web.json")).json()).visitors);
  } catch {
    return false;
  }
}

// readLatest marks c read up to its newest message from someone else,
// while the visitor can see it; tells the widget the count otherwise.
function readLatest(c) {
  const last = c.messages.at(-1);
  if (visible && last && last.sender !== client.user && last.seq > c.readSeq) client.markRead(conv, last.seq).catch(() => {});
  if (embed) window.parent.postMessage({ type: "sb-unread", count: visible ? 0 : c.unread }, "*");
}
if (embed) {
  addEventListener("message", (ev) => {
    if (ev.source !== window.parent || ev.data?.type !== "sb-visible") return;
    visible = Boolean(ev.data.visible);
    if (visible && conv) readLatest(client.conversation(conv));
  });
  // Escape closes the widget's panel, wherever the focus is in it.
  addEventListener("keydown", (ev) => ev.key === "Escape" && window.parent.postMessage({ type: "sb-close" }, "*"));
  window.parent.postMessage({ type: "sb-ready" }, "*");
}

async function start() {
  const scene = $("scene").value.trim();
  $("enter").disabled = true;
  let tokenOf = visitorToken;
  // In the widget: a page that gives a token signed its visitor in, and
  // the chats they had as an anonymous visitor here become theirs; a page
  // that gives none has an anonymous visitor, where the node takes them.
  let fromPage = null, pageFailed = false;
  if (embed) {
    try {
      fromPage = await pageToken();
    } catch {
      pageFailed = true; // the page signs its visitor in, and failed: the connect says why
    }
  }
  if (fromPage) {
    await claimVisitor(location.origin, fromPage, localStorage).catch((err) => console.warn("the visitor's chats stay theirs:", err.message));
  } else if (embed && !pageFailed && (await takesVisitors())) {
    let v;
    try {
      v = await visitor();
    } catch (err) {
      $("info").textContent = `could not start: ${err.message}`;
      $("enter").disabled = false;
      return;
    }
    $("user").value = v.user;
    tokenOf = async () => {
      const now = await visitor();
      // The kept token ran out while the tab was open: its visitor is a
      // new one, and the chat starts again as them.
      if (now.user !== v.user) {
        location.reload();
        throw new Error("the visitor's token ran out: starting again");
      }
      return now.token;
    };
  }
  const user = $("user").value.trim();
  const device = await tabDevice(user, "web");
  client = new Client({ url: location.origin, token: () => tokenOf(user, device), device, transports: transports(), minBackoffMs: 100, maxBackoffMs: 2000, outbox: localStorage });
  client.on("state", (s) => s === "connected" && tokenWorked(user, device));
  window.switchboardClient = client;
  pinned = pinTracker(client, (c) => c.id === conv && draw(c));
  onForward = forwarder(client, (t) => ($("card-note").textContent = t));
  onHide = hider(client, $("hide-note"), (t) => ($("card-note").textContent = t));
  stars = starTracker(client, (id) => id === conv && draw(client.conversation(id)), (t) => ($("card-note").textContent = t));
  previews = linkTracker(client, (id) => id === conv && draw(client.conversation(id)));
  drafts = draftKeeper(client, $("text"), () => conv, undefined, (t) => ($("card-note").textContent = t));
  // The agents' names: read when shown, and shown again once read.
  names = people(client, () => {
    if (!conv) return;
    draw(client.conversation(conv));
    showInfo(client.conversation(conv));
  });
  showStatus(client);
  typingLine(client, $("typing"), () => conv, names);
  calls = callLine(client, $("call"), nameOf); // the agent may call: it rings here
  client.on("conversation", (c) => {
    if (c.id !== conv) return;
    draw(c);
    const info = showInfo(c);
    showRating(c, info);
    // A closed session is not resumed: the next visit enters anew. A
    // message after the close reopens it, and the chat is resumed again.
    if (info === "closed") save({ user: client.user, scene: $("scene").value.trim() });
    else if (info) save({ user: client.user, scene: $("scene").value.trim(), conv });
    readLatest(c);
  });
  client.on("queuePosition", (c, pos, waitMs) => {
    if (c !== conv) return;
    queuePos = pos;
    queueWait = waitMs;
    // Positions come as datagrams, outside the stream's order: one sent
    // before the assignment can arrive after it, and must not undo it.
    const info = deskInfo(client.conversation(conv));
    if (pos > 0 && (!info || info === "waiting" || info.startsWith("queue position"))) $("info").textContent = `queue position ${pos}${waitText(waitMs)}`;
  });
  await client.connect();
  void profileForm(client, $("profile-name"), $("profile-avatar"), $("save-profile"), (t) => ($("card-note").textContent = t), names).load();
  sd = new ServiceDesk(client);
  let e;
  try {
    e = await sd.enter(scene); // as this connection's user: the token's
  } catch (err) {
    $("info").textContent = `could not start: ${err.message}`;
    client.close();
    $("enter").disabled = false;
    return;
  }
  conv = e.conv;
  if (e.state === "queued") [queuePos, queueWait] = [e.queuePosition, e.queueWaitMs];
  $("info").title = e.agent;
  $("info").textContent = e.agent ? `with ${nameOf(e.agent)}` : e.state === "queued" ? `queue position ${e.queuePosition}${waitText(e.queueWaitMs)}` : e.state === "bot" ? "with the assistant" : e.state;
  $("info").dataset.conv = conv;
  save({ user: client.user, scene, conv });
  await client.history(conv);
  draw(client.conversation(conv));
  $("text").disabled = $("send").disabled = $("end").disabled = $("file").disabled = $("where").disabled = false;
  drafts.open(conv); // what was begun here before, or on another device
  void calls.ringing(conv); // a call that rang while the page reloaded
}

$("enter").onclick = start;
// The customer ends the chat (desk_close as its customer).
$("end").onclick = async () => {
  if (!conv) return;
  try {
    await sd.close(conv, "customer");
    $("info").textContent = "closed";
    $("rate").hidden = false;
  } catch (err) {
    $("info").textContent = `could not end the chat: ${err.message}`;
  }
};
// The chat this browser had open, for the same visitor: resume it. In
// the widget's frame, the visitor opened the panel: start.
if (embed || (saved.conv && saved.user === $("user").value.trim())) start();

$("text").oninput = () => {
  if (!conv) return;
  client.typing(conv);
  drafts.typed();
};
attachFile(() => client, $("file"), $("text"), () => conv, (t) => ($("info").textContent = t), (c) => drafts.sent(c));
shareLocation(() => client, $("where"), $("text"), () => conv, (t) => ($("info").textContent = t));
$("compose").onsubmit = (ev) => {
  ev.preventDefault();
  const t = $("text").value.trim();
  if (!t || !conv) return;
  client.send(conv, t);
  $("text").value = "";
  drafts.sent(conv); // sent: its draft goes
};
