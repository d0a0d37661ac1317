// Shared by the pages: tokens, rendering, the SDK.
import { Client, Code, Desk, FORWARDED_MANY_TIMES, ServiceDesk, anonymousVisitor, claimVisitor, directPeer, directTopic, isNews, makePreview, mentionsMe, newCallId, parseCard, parsePoll } from "./switchboard.js";
export { Client, Desk, ServiceDesk, anonymousVisitor, claimVisitor, isNews, mentionsMe };

export const params = new URLSearchParams(location.search);

// ?transport=websocket keeps a page off WebTransport.
export function transports() {
  return params.get("transport") === "websocket" ? ["websocket"] : ["webtransport", "websocket"];
}

// token: a dev node mints one (/dev/token); elsewhere the page asks, once
// per tab: the token is kept in sessionStorage for the reconnects, and
// asked for again only once it has expired or TOKEN_TRIES connections with
// it in a row got no welcome (tokenWorked, on "connected", resets that).
const TOKEN_TRIES = 3;
const tokenTries = new Map();
const tokenKey = (user, device) => `switchboard.token.${user}/${device}`;
export function tokenWorked(user, device) {
  tokenTries.delete(tokenKey(user, device));
}
function expired(t) {
  try {
    const exp = JSON.parse(atob(t.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).exp;
    return typeof exp === "number" && exp * 1000 < Date.now() + 5000;
  } catch {
    return false; // not a JWT we can read: let the node judge it
  }
}
export async function token(user, device) {
  const r = await fetch(`/dev/token?user=${encodeURIComponent(user)}&device=${encodeURIComponent(device)}`);
  if (r.ok) return (await r.json()).token;
  const key = tokenKey(user, device);
  const kept = sessionStorage.getItem(key);
  const tries = tokenTries.get(key) ?? 0;
  if (kept && tries < TOKEN_TRIES && !expired(kept)) {
    tokenTries.set(key, tries + 1);
    return kept;
  }
  sessionStorage.removeItem(key);
  tokenTries.delete(key);
  const t = prompt(`Token for ${user}`);
  if (!t) throw new Error("no token");
  sessionStorage.setItem(key, t);
  tokenTries.set(key, 1);
  return t;
}

// tabDevice names this tab's device for user: base, or base-2, base-3…
// while other tabs of this browser hold those. A device id has one
// connection (docs/PROTOCOL.md §8): of two tabs sharing one, the older got
// no pushes. A Web Lock, held until the tab closes, claims the name; a
// reload finds it free again. Without Web Locks (not a secure context):
// base.
export async function tabDevice(user, base) {
  if (!navigator.locks) return base;
  for (let i = 1; i <= 16; i++) {
    const name = i === 1 ? base : `${base}-${i}`;
    const held = await new Promise((resolve) => {
      navigator.locks.request(`switchboard.device.${user}/${name}`, { ifAvailable: true }, (lock) => {
        resolve(lock !== null);
        return lock ? new Promise(() => {}) : undefined;
      });
    });
    if (held) return name;
  }
  return base;
}

// adminDesk reaches the admin API through a dev node's proxy: only for dev
// conveniences (registering a demo agent). What a
// customer or an agent does goes over the protocol (ServiceDesk), as
// their own user, and works on any node given a token.
export const adminDesk = new Desk(location.origin + "/dev/admin");

// A refusal with FORBIDDEN (docs/PROTOCOL.md §9).
export const isForbidden = (err) => err?.code === Code.FORBIDDEN;

const marks = { sending: "…", sent: "✓", delivered: "✓✓", read: "✓✓ read", failed: "✗ failed" };

// The recall limit of a node's default configuration (actors.Config.RecallWindow):
// the workbench offers a recall only within it.
export const RECALL_WINDOW_MS = 2 * 60 * 1000;
// The edit limit of a node's default configuration (actors.Config.EditWindow).
export const EDIT_WINDOW_MS = 15 * 60 * 1000;

// quoteOf is the line a reply shows above its text: the message it
// answers, if this client holds it; name(user) shows its sender.
function quoteOf(conv, seq, name) {
  const q = document.createElement("div");
  q.className = "quote";
  const t = conv.messages.find((x) => x.seq === seq);
  q.textContent = !t ? `↪ message #${seq}` : t.recalled ? "↪ a withdrawn message" : `↪ ${name(t.sender)}: ${t.body.length > 80 ? t.body.slice(0, 80) + "…" : t.body}`;
  if (t && !t.recalled) q.title = t.sender;
  return q;
}

// PROFILE_FRESH_MS is how long a page trusts a profile it read: the node
// pushes no change, so one shown later than that is read again.
export const PROFILE_FRESH_MS = 5 * 60 * 1000;

// people keeps the profiles (display names, pictures) of the users a page
// shows, in a Map for the page's life, read with client.profiles: the
// users a draw names that the page does not know yet, or read more than
// PROFILE_FRESH_MS ago, are asked together once the draw is done, through
// the conversation they are shown in (conv: its members, past ones too;
// "" for a direct conversation's other member), and redraw(conv) is
// called when an answer changes how one shows. A user the node leaves out
// (not visible through that conversation), or a failed read, shows as
// their id until asked again. name(user, conv) answers the user's name,
// or their id while they have none; avatar(user) their picture's URL
// ("" when none, or one not http(s)); refresh(conv) has the users of conv
// read again at its next draw (the page shows it anew); set(profile)
// takes one the page read itself (its user's own, once saved).
// visitorName: an anonymous visitor (a website's, nobody signed in) who
// gave no name shows as "Visitor" and the first letters of their id, not
// as the id; "" for anyone else.
export const visitorName = (user) => (user?.startsWith("visitor-") ? `Visitor ${user.slice(8, 12)}` : "");

export function people(client, redraw) {
  const known = new Map(); // user → { name, avatarUrl, at }
  const asked = new Map(); // conv + "\n" + user → when asked
  const wanted = new Map(); // conv → the users to ask at the next flush
  const shown = new Map(); // conv → the users named in it
  const flush = () => {
    const batch = [...wanted];
    wanted.clear();
    for (const [conv, users] of batch) {
      client.profiles([...users], conv).then((list) => {
        let changed = false;
        const at = Date.now();
        for (const p of list) {
          const was = known.get(p.user);
          if (!was || was.name !== p.name || was.avatarUrl !== p.avatarUrl) changed = true;
          known.set(p.user, { name: p.name, avatarUrl: p.avatarUrl, at });
        }
        if (changed) redraw(conv);
      }, () => {}); // the ids show; asked again once stale
    }
  };
  const want = (user, conv) => {
    if (!user) return;
    if (!shown.has(conv)) shown.set(conv, new Set());
    shown.get(conv).add(user);
    const k = known.get(user);
    const key = `${conv}\n${user}`;
    const now = Date.now();
    // Known (through any conversation) and fresh, or asked through this one lately: not again.
    if ((k && now - k.at < PROFILE_FRESH_MS) || now - (asked.get(key) ?? -Infinity) < PROFILE_FRESH_MS) return;
    asked.set(key, now);
    if (!wanted.size) queueMicrotask(flush);
    if (!wanted.has(conv)) wanted.set(conv, new Set());
    wanted.get(conv).add(user);
  };
  return {
    name(user, conv = "") {
      want(user, conv);
      return known.get(user)?.name || visitorName(user) || user;
    },
    avatar(user) {
      const u = known.get(user)?.avatarUrl ?? "";
      return /^https?:\/\//i.test(u) ? u : "";
    },
    refresh(conv) {
      for (const user of shown.get(conv) ?? []) {
        asked.delete(`${conv}\n${user}`);
        const k = known.get(user);
        if (k) k.at = 0; // shown as known until the answer
      }
    },
    set(p) {
      known.set(p.user, { name: p.name, avatarUrl: p.avatarUrl, at: Date.now() });
    },
  };
}

// profileForm is a page's "Your name" setting: the name and picture URL
// inputs and their Save button. load() reads the user's profile into the
// inputs (client.profile) and enables them; Save sets both as typed
// (client.setProfile: an empty one clears it) and shows what the node
// kept (it trims the name), or notes its refusal (INVALID: a name too
// long or with control characters, a picture that is not an http(s)
// URL). people (optional) takes the saved profile.
export function profileForm(client, nameInput, avatarInput, save, note, people) {
  const show = (p) => {
    nameInput.value = p.name;
    avatarInput.value = p.avatarUrl;
    people?.set(p);
  };
  save.onclick = async (ev) => {
    ev?.preventDefault?.();
    save.disabled = true;
    try {
      show(await client.setProfile({ name: nameInput.value, avatarUrl: avatarInput.value.trim() }));
      note(nameInput.value ? `you show as ${nameInput.value}` : "you show as your user id");
    } catch (err) {
      note(`profile not saved: ${err.message}`);
    } finally {
      save.disabled = false;
    }
  };
  const form = {
    async load() {
      try {
        show(await client.profile());
      } catch (err) {
        note(`profile: ${err.message}`);
        return;
      }
      nameInput.disabled = avatarInput.disabled = save.disabled = false;
    },
  };
  // Changed on another device (or by the operator): shown, unless the
  // user is editing it here.
  client.on("profile", () => {
    const focused = globalThis.document?.activeElement;
    if (focused !== nameInput && focused !== avatarInput) void form.load();
  });
  return form;
}

// AWAY_CHOICES are awayForm's menu of how long an away message holds: a
// label and how long (ms; 0: until cleared).
export const AWAY_CHOICES = [
  ["until I clear it", 0],
  ["1 day", 86_400_000],
  ["1 week", 7 * 86_400_000],
];

// awayText says whether an away message (client.away) holds, and until
// when: "Away until Mon 4 May, 09:00" (the time alone when today),
// "Away" until cleared, "" when none is set or it has ended.
export function awayText(a, now = Date.now()) {
  if (!a?.text || (a.untilMs && a.untilMs <= now)) return "";
  if (!a.untilMs) return "Away";
  return `Away until ${endText(a.untilMs, now)}`;
}

// endText says when something that ends by itself (an away message, a
// mute, a snooze) ends: the time alone when today ("17:30"), else with the
// day ("Mon 4 May, 09:00").
function endText(ms, now = Date.now()) {
  const end = new Date(ms);
  const today = end.toDateString() === new Date(now).toDateString();
  return end.toLocaleString([], today ? { hour: "2-digit", minute: "2-digit" } : { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
}

// awayForm is the workbench's "Away message" setting: els.text (the
// message), els.until (a select of AWAY_CHOICES), els.save, els.clear and
// els.state (awayText, the message as its tooltip). load() reads the
// user's away message (client.away) and enables the controls; Save sets
// the text as typed, ending after the chosen while (client.setAway: the
// node trims it; too long, TOO_LARGE, or with control characters,
// INVALID, is noted), Clear clears it (client.clearAway). It is read
// again on the client's "away" (set or cleared on another device), the
// box left alone while the user types in it, and the state drawn again
// when the message ends.
export function awayForm(client, els, note) {
  let timer;
  const show = (a) => {
    if (globalThis.document?.activeElement !== els.text) els.text.value = a.text;
    els.state.textContent = awayText(a);
    els.state.title = awayText(a) ? a.text : "";
    els.state.dataset.away = String(!!awayText(a));
    clearTimeout(timer);
    const left = a.text && a.untilMs ? a.untilMs - Date.now() : 0;
    if (left > 0 && left < 2 ** 31 - 1) timer = setTimeout(() => show(a), left + 50);
  };
  if (!els.until.options?.length) els.until.replaceChildren(...AWAY_CHOICES.map(([label, ms]) => new Option(label, String(ms))));
  const act = async (button, what, fn) => {
    button.disabled = true;
    try {
      await fn();
    } catch (err) {
      note(`away message not ${what}: ${err.message}`);
    } finally {
      button.disabled = false;
    }
  };
  els.save.onclick = (ev) => {
    ev?.preventDefault?.();
    const text = els.text.value.trim();
    if (!text) return note("type an away message (Clear ends it)");
    const forMs = Number(els.until.value) || 0;
    return act(els.save, "saved", async () => {
      const a = await client.setAway(text, { untilMs: forMs ? Date.now() + forMs : 0 });
      els.text.value = a.text;
      show(a);
      note(`${awayText(a)}: whoever writes to you directly is answered with it, once`);
    });
  };
  els.clear.onclick = (ev) => {
    ev?.preventDefault?.();
    return act(els.clear, "cleared", async () => {
      await client.clearAway();
      els.text.value = "";
      show({ text: "", sinceMs: 0, untilMs: 0 });
      note("no longer away");
    });
  };
  const form = {
    async load() {
      try {
        show(await client.away());
      } catch (err) {
        note(`away message: ${err.message}`);
        return;
      }
      els.text.disabled = els.until.disabled = els.save.disabled = els.clear.disabled = false;
    },
  };
  client.on("away", () => void form.load());
  return form;
}

// personView shows user as name: their name, with their picture (avatar,
// an http(s) URL: the pages set no Content-Security-Policy that keeps
// remote images out, as a card's image shows) and their id as its
// tooltip; conv: the conversation it is shown for (relabel).
export function personView(user, name, avatar = "", conv = "") {
  const s = document.createElement("span");
  s.className = "person";
  s.dataset.user = user;
  if (conv) s.dataset.conv = conv;
  s.title = user;
  if (avatar) {
    const img = document.createElement("img");
    img.className = "avatar";
    img.alt = "";
    img.referrerPolicy = "no-referrer";
    img.src = avatar;
    s.append(img);
  }
  s.append(name);
  return s;
}

// relabel shows each user el shows (personView) as people knows them now:
// for a list drawn once (search results, the Starred panel), once names
// arrive.
export function relabel(el, people) {
  for (const p of el.querySelectorAll(".person")) {
    const user = p.dataset.user;
    p.replaceWith(personView(user, people.name(user, p.dataset.conv ?? ""), people.avatar(user), p.dataset.conv ?? ""));
  }
}

// peerOf is the user a conversation is with, for userId: a service
// conversation's (s:LINE:CUSTOMER:N) customer, read through it, or a
// direct conversation's other member, read as a direct peer (conv ""),
// or through the pair's conversation about a topic (a listing), which
// may be the only one they have; undefined for a group.
export function peerOf(id, userId) {
  if (id.startsWith("s:")) {
    const customer = id.split(":")[2];
    return customer && customer !== userId ? { user: customer, conv: id } : undefined;
  }
  const user = directPeer(id, userId);
  return user ? { user, conv: directTopic(id) ? id : "" } : undefined;
}

// presenceText is a user's presence as a page says it: "online", "last
// seen 5 min ago", "… 3 h ago", "… on <date>", or "" when the node tells
// neither (never seen, or not shared).
export function presenceText(p, now = Date.now()) {
  if (p.online) return "online";
  if (!p.lastSeen) return "";
  const min = Math.max(0, Math.round((now - p.lastSeen.getTime()) / 60_000));
  if (min < 60) return `last seen ${min} min ago`;
  if (min < 24 * 60) return `last seen ${Math.round(min / 60)} h ago`;
  return `last seen on ${p.lastSeen.toLocaleDateString()}`;
}

// presenceLine keeps el saying whether the open conversation's peer (a
// session's customer, a direct conversation's other member: peerOf) is
// online, or when last seen: read on open(peer) and every everyMs while
// it stays open, as the node pushes no presence; empty for a group, or
// where the node refuses (a block, a customer who hides it).
export function presenceLine(client, el, everyMs = 30_000) {
  let key = "";
  let timer;
  const read = async (peer, k) => {
    let text = "";
    try {
      text = presenceText(await client.presence(peer.user, peer.conv));
    } catch {
      // refused or offline: say nothing
    }
    if (key === k) el.textContent = text;
  };
  return {
    open(peer) {
      clearInterval(timer);
      el.textContent = "";
      key = peer ? `${peer.user} ${peer.conv}` : "";
      if (!peer) return;
      const k = key;
      void read(peer, k);
      timer = setInterval(() => void read(peer, k), everyMs);
    },
  };
}

// pinTracker keeps each conversation's pinned messages as the node says
// (group_settings), asked once and again whenever a pin or unpin step
// arrives, so a page that loaded only recent history still shows a pin
// made long ago (its message is read too). pinned(c) answers the pinned
// seqs whose message the page holds and that were not recalled; redraw(c)
// is called when an answer changes them.
export function pinTracker(client, redraw) {
  const known = new Map(); // conv → { seqs, step: the newest pin step when asked }
  const asking = new Set();
  const newestStep = (c) => {
    let step = 0;
    for (const m of c.messages) if (m.kind === "system" && /"op":"(un)?pin"/.test(m.body)) step = m.seq;
    return step;
  };
  return (c) => {
    const k = known.get(c.id);
    const step = newestStep(c);
    if ((!k || step > k.step) && !asking.has(c.id)) {
      asking.add(c.id);
      client
        .groupSettings(c.id)
        .then((s) => {
          known.set(c.id, { seqs: s.pinnedSeqs, step });
          for (const seq of s.pinnedSeqs) if (!c.messages.some((m) => m.seq === seq)) client.history(c.id, seq, 1).catch(() => {});
          redraw(c);
        })
        .catch(() => known.set(c.id, { seqs: k?.seqs ?? [], step }))
        .finally(() => asking.delete(c.id));
    }
    return (k?.seqs ?? []).filter((seq) => c.messages.some((m) => m.seq === seq && !m.recalled));
  };
}

// systemText is a system message's JSON body (docs/PROTOCOL.md, DESK.md)
// as a short sentence, each user shown by nameOf(user) (their name, or
// their id): a membership change, a join, a rename, a rule, a pin, a desk
// step; any other body as it is. A profile or settings step tells every
// current value: prev, the step of that op before it (when the page holds
// it), says which changed; without it, they are all told.
const and = (l) => (l.length < 2 ? l.join("") : `${l.slice(0, -1).join(", ")} and ${l.at(-1)}`);
const every = (ms) => (ms % 3_600_000 === 0 ? `${ms / 3_600_000} h` : ms % 60_000 === 0 ? `${ms / 60_000} min` : `${Math.round(ms / 1000)} s`);
const lasting = (ms) => (ms >= 86_400_000 && ms % 86_400_000 === 0 ? `${ms / 86_400_000} day${ms === 86_400_000 ? "" : "s"}` : every(ms));
const changes = (s, p, parts) => {
  const changed = parts.filter(([k]) => p && (s[k] || "") !== (p[k] || ""));
  return and((changed.length ? changed : parts).map(([, t]) => t));
};
const steps = {
  add: (a, s, l) => `${a} added ${l}${s.role && s.role !== "member" ? " as " + s.role : ""}`,
  remove: (a, s, l) => `${a} removed ${l}`,
  leave: (a) => `${a} left`,
  set_role: (a, s, l) => `${a} made ${l} ${s.role}`,
  mute: (a, s, l) => `${a} muted ${l}` + (s.until_ms ? ` until ${endText(s.until_ms)}` : ""),
  unmute: (a, s, l) => `${a} unmuted ${l}`,
  disband: (a) => `${a} ended the group`,
  join: (a) => `${a} joined with an invite`,
  approve: (a, s, l) => `${a} let ${l} in`,
  pin: (a, s) => `${a} pinned message #${s.seq}`,
  unpin: (a, s) => `${a} unpinned message #${s.seq}`,
  profile: (a, s, l, p) =>
    p
      ? `${a} ${changes(s, p, [
          ["title", `renamed the group to “${s.title}”`],
          ["description", s.description ? "changed the group's description" : "removed the group's description"],
          ["picture", s.picture ? "changed the group's picture" : "removed the group's picture"],
        ])}`
      : `${a} updated the group${s.title ? ` “${s.title}”` : ""}`,
  call: (a, s) => {
    const what = s.video ? "video call" : "call";
    if (s.outcome === "ended" || s.outcome === "dropped") return `${a}'s ${what} · ${clock(s.duration_ms ?? 0)}${s.outcome === "dropped" ? " (the line dropped)" : ""}`;
    return `${a}'s ${what}: ${{ missed: "no answer", cancelled: "cancelled", declined: "declined" }[s.outcome] ?? s.outcome}${s.reason ? ` (${s.reason})` : ""}`;
  },
  freeze: (a, s) => (s.frozen ? `${a} froze the conversation${s.reason ? `: ${s.reason}` : ""}` : `${a} opened the conversation again`),
  disappear: (a, s) => (s.after_ms ? `${a} set messages to disappear ${lasting(s.after_ms)} after they are sent` : `${a} turned disappearing messages off`),
  settings: (a, s, l, p) =>
    `${a} ${changes(s, p, [
      ["admins_only", s.admins_only ? "let only admins post" : "let everyone post"],
      ["slow_mode_ms", s.slow_mode_ms ? `set slow mode: one message per ${every(s.slow_mode_ms)}` : "turned slow mode off"],
    ])}`,
};
export function systemText(m, nameOf = (user) => user, prev = undefined) {
  let s, p;
  try {
    s = JSON.parse(m.body);
    p = prev && JSON.parse(prev.body);
  } catch {}
  if (!s || typeof s !== "object") return m.body;
  if (!s.desk && Object.hasOwn(steps, s.op)) {
    const l = (Array.isArray(s.users) ? s.users : []).map(nameOf);
    const others = (s.count ?? l.length) - l.length;
    if (others > 0) l.push(`${others} other${others === 1 ? "" : "s"}`);
    return steps[s.op](s.actor ? nameOf(s.actor) : "Someone", s, and(l), p);
  }
  // desk steps (docs/DESK.md)
  if (s.desk === "rating") return `rated ${s.score} of 5`;
  if (s.desk === "after_hours") return (s.message || "We are closed right now.") + (s.opens_at_ms ? ` We open ${new Date(s.opens_at_ms).toLocaleString()}.` : "");
  if (s.desk === "idle_warning") return `No reply for a while: this chat closes at ${new Date(s.closes_at_ms).toLocaleTimeString()} unless someone writes.`;
  if (s.desk === "requeue" && s.reason === "unanswered") return `requeue · ${nameOf(s.agent)} did not answer within ${Math.round(s.answer_timeout_ms / 1000)} s`;
  return s.desk ? `${s.desk}${s.agent ? " · " + nameOf(s.agent) : ""}${s.queue ? " · queue " + s.queue : ""}` : m.body;
}

// content: a text, a card or a poll (not an edit, update or close), the
// messages one replies to, pins, reports, reacts to and recalls.
const content = (m) => (m.kind === "normal" || m.kind === "card" || m.kind === "poll") && !(m.kind === "poll" && m.refSeq);

// renderMessages draws conv's messages, under its pinned ones
// (opts.pinned: their seqs, pinTracker). opts.onClick(m, action) makes
// card actions clickable, opts.onVote(m, options) a poll's options;
// opts.onRecall(m)
// and opts.onEdit(m) add recall and edit buttons to one's own recent
// messages, opts.onReport(m) a report button to others' messages,
// opts.onReply(m) a reply button to every message, opts.onPin(m, pinned)
// a pin (or unpin) button, opts.onReact(m, emoji) reaction toggles,
// opts.onForward(m) a forward button to texts and files (forwarder),
// opts.onStar(m, starred) a star (or unstar) button to texts, cards, polls
// and files (starTracker; opts.starred: the seqs this user starred),
// opts.onRemind(m, atMs) a "remind me" menu of REMIND_CHOICES beside it
// (opts.reminders: seq → when a reminder comes, shown as "⏰ time"),
// opts.onHide(m) a "delete for me" button to every stored message (hider),
// opts.preview(m) a text's link preview under it (linkTracker),
// opts.onThread(m) an "N replies" link to each message answered by
// replies held here (replyCounts; threadPanel shows them). A
// reply shows the message it answers quoted above it, a forwarded copy a
// "Forwarded" label, an away message's answer an "Automatic reply" label,
// a message to everyone an "@all" label; one that
// mentions me (by name, or someone else's "@all") is marked "mentioned".
// An edited message shows its newest text, marked "edited"; a text or
// card its reactions. opts.people (people) shows each user by their name
// and picture, their id as its tooltip; without it, by their id.
export function renderMessages(el, conv, me, opts = {}) {
  el.textContent = "";
  const name = (user) => opts.people?.name(user, conv.id) ?? user;
  const pinned = opts.pinned ?? [];
  for (const seq of pinned) {
    const m = conv.messages.find((x) => x.seq === seq);
    const p = document.createElement("div");
    p.className = "pinned";
    p.dataset.seq = String(seq);
    p.textContent = `📌 ${m.kind === "card" ? m.card?.title ?? "" : m.kind === "poll" ? "📊 " + (m.poll?.question ?? "") : m.body}`;
    el.append(p);
  }
  const before = {}; // "profile", "settings" → the last such step drawn (systemText's prev)
  const replies = opts.onThread ? replyCounts(conv) : new Map();
  for (const m of conv.visible()) {
    // A gap stands for a seq that holds no message (docs/PROTOCOL.md §6).
    if (m.kind === "system" && m.body === '{"op":"gap"}') continue;
    const d = document.createElement("div");
    d.className = "msg" + (m.kind === "system" ? " system" : m.sender === me ? " mine" : "") + (m.kind === "card" ? " card" : "") + (m.kind === "poll" ? " poll" : "") + (m.recalled ? " recalled" : "") + (mentionsMe(m, me) ? " mentioned" : "");
    d.dataset.seq = String(m.seq);
    const who = m.kind === "system" || m.sender === me ? "" : m.sender;
    let text = m.body;
    if (m.kind === "system") {
      const op = /"op":"(profile|settings)"/.exec(m.body)?.[1];
      text = systemText(m, name, op && before[op]);
      if (op) before[op] = m;
    } else if (m.expired) {
      text = m.expiresAtMs ? "(disappeared)" : "(expired)"; // its timer's end, or the node's retention
    } else if (m.kind === "card") {
      text = m.card ? m.card.title : "(a card that could not be read)";
    } else if (m.kind === "poll") {
      text = m.poll ? "📊 " + m.poll.question : "(a poll that could not be read)";
    }
    if (m.replyTo) d.append(quoteOf(conv, m.replyTo, name));
    if (m.forwarded) {
      // Only that it is a copy: where it came from is not told.
      const f = document.createElement("div");
      f.className = "forwarded";
      f.textContent = (m.forwardHops ?? 0) >= FORWARDED_MANY_TIMES ? "Forwarded many times" : "Forwarded";
      d.append(f);
    }
    if (m.autoReply) {
      // The node answered for its sender, who is away (their away message).
      const a = document.createElement("div");
      a.className = "auto-reply";
      a.textContent = "Automatic reply";
      d.append(a);
    }
    if (m.expiresAtMs && !m.expired) {
      // A disappearing message: when it goes (the client drops it then).
      const t = document.createElement("span");
      t.className = "disappears";
      t.textContent = "⏱";
      t.title = `disappears ${new Date(m.expiresAtMs).toLocaleString()}`;
      d.append(t);
    }
    if (m.mentionAll) {
      // Shown to everyone, its sender too: the whole group was notified.
      const a = document.createElement("span");
      a.className = "mention-all";
      a.textContent = "@all";
      d.append(a);
    }
    const b = document.createElement("span");
    b.className = "body";
    if (who) b.append(personView(who, name(who), opts.people?.avatar(who) ?? "", conv.id), ": ");
    b.append(text);
    d.append(b);
    const preview = opts.preview?.(m);
    if (preview) d.append(linkPreviewView(preview));
    if (m.editSeq && !m.recalled) {
      const e = document.createElement("span");
      e.className = "edited";
      e.textContent = "edited";
      d.append(e);
    }
    if (m.kind === "card" && m.card && !m.recalled) d.append(cardView(m, opts.onClick));
    if (m.kind === "poll" && m.poll && !m.recalled) d.append(pollView(m, opts.onVote, name));
    if (m.media && !m.recalled && m.seq > 0 && opts.download) d.append(mediaView(m, opts.download));
    if (m.location && !m.recalled) d.append(locationView(m.location));
    if (!m.recalled && m.seq > 0 && content(m)) {
      const line = reactionLine(m, me, opts.onReact, name);
      if (line) d.append(line);
    }
    const n = replies.get(m.seq);
    if (n && !m.recalled && content(m)) {
      const r = document.createElement("button");
      r.type = "button";
      r.className = "replies";
      r.textContent = n === 1 ? "1 reply" : `${n} replies`;
      r.onclick = () => opts.onThread(m);
      d.append(r);
    }
    if (m.state) {
      const s = document.createElement("span");
      s.className = "state";
      s.dataset.state = m.state;
      s.textContent = marks[m.state] ?? m.state;
      d.append(s);
    }
    if (opts.onRecall && m.sender === me && m.seq > 0 && !m.recalled && content(m) && Date.now() - m.serverTsMs < RECALL_WINDOW_MS) {
      const r = document.createElement("button");
      r.className = "recall";
      r.textContent = "recall";
      r.onclick = () => opts.onRecall(m);
      d.append(r);
    }
    if (opts.onReply && m.seq > 0 && !m.recalled && content(m)) {
      const r = document.createElement("button");
      r.className = "reply";
      r.textContent = "reply";
      r.onclick = () => opts.onReply(m);
      d.append(r);
    }
    // Only a text or a file is forwarded (the node refuses the rest).
    if (opts.onForward && m.seq > 0 && !m.recalled && m.kind === "normal" && !m.refSeq) {
      const r = document.createElement("button");
      r.className = "forward";
      r.textContent = "forward";
      r.onclick = () => opts.onForward(m);
      d.append(r);
    }
    if (opts.onPin && m.seq > 0 && !m.recalled && content(m) && !m.refSeq) {
      const r = document.createElement("button");
      r.className = "pin";
      r.textContent = pinned.includes(m.seq) ? "unpin" : "pin";
      r.onclick = () => opts.onPin(m, pinned.includes(m.seq));
      d.append(r);
    }
    // Only a text, card, poll or file is starred: the node refuses an
    // edit, a card's update, a reaction, a vote or a system message.
    if (opts.onStar && m.seq > 0 && !m.recalled && content(m) && !m.refSeq) {
      const starred = opts.starred?.includes(m.seq) ?? false;
      const r = document.createElement("button");
      r.className = "star";
      r.textContent = starred ? "unstar" : "star";
      r.onclick = () => opts.onStar(m, starred);
      d.append(r);
      const at = opts.reminders?.get(m.seq);
      if (at) {
        const mark = document.createElement("span");
        mark.className = "reminder";
        mark.textContent = `⏰ ${endText(at)}`;
        mark.title = `a reminder at ${new Date(at).toLocaleString()}`;
        d.append(mark);
      }
      if (opts.onRemind) {
        const sel = document.createElement("select");
        sel.className = "remind";
        sel.append(new Option(at ? "move reminder…" : "remind me…", ""), ...REMIND_CHOICES.map(([label], i) => new Option(label, String(i))));
        sel.onchange = () => sel.value && opts.onRemind(m, REMIND_CHOICES[Number(sel.value)][1](Date.now()));
        d.append(sel);
      }
    }
    if (opts.onReport && m.sender !== me && m.seq > 0 && !m.recalled && content(m)) {
      const r = document.createElement("button");
      r.className = "report";
      r.textContent = "report";
      r.onclick = () => opts.onReport(m);
      d.append(r);
    }
    if (opts.onEdit && m.sender === me && m.seq > 0 && !m.recalled && m.kind === "normal" && Date.now() - m.serverTsMs < EDIT_WINDOW_MS) {
      const r = document.createElement("button");
      r.className = "edit";
      r.textContent = "edit";
      r.onclick = () => opts.onEdit(m);
      d.append(r);
    }
    // Any stored message the page shows (a text, file, card, poll or
    // system note) may be deleted for this user alone; visible() already
    // left out what the node refuses (edits, reactions, votes, recalls).
    if (opts.onHide && m.seq > 0) {
      const r = document.createElement("button");
      r.className = "delete-for-me";
      r.textContent = "delete for me";
      r.title = "delete this message for you alone: the others keep it";
      r.onclick = () => opts.onHide(m);
      d.append(r);
    }
    el.append(d);
  }
  el.scrollTop = el.scrollHeight;
}

// forwarder makes renderMessages' onForward: it asks where a copy of the
// message goes, a user (a user id) or a conversation (its id: only those
// hold a ":"), queues it (client.forward) and notes once it is stored
// there or refused.
export function forwarder(client, note) {
  const waiting = new Set(); // forwards queued and not yet settled
  client.on("conversation", (c) => {
    for (const f of waiting) {
      if (f.state === "failed") note(`not forwarded: ${f.error}`);
      else if (c.id === f.conv && c.messages.some((x) => x.clientMsgId === f.clientMsgId)) note(`forwarded to ${f.conv}`);
      else continue;
      waiting.delete(f);
    }
  });
  return (m) => {
    const to = prompt(`Forward #${m.seq} to (a user, or a conversation id)`)?.trim();
    if (!to) return;
    try {
      waiting.add(client.forward(to.includes(":") ? to : { to }, m.conv, m.seq));
      note("forwarding…");
    } catch (err) {
      note(`not forwarded: ${err.message}`);
    }
  };
}

// hider makes renderMessages' onHide: it deletes the message for this
// user alone (client.hide; every device of theirs lets go of it, and the
// client's "conversation" event draws it gone) and shows in el a short
// notice, "Deleted for you · Undo", whose Undo shows it again
// (client.unhide fetches it back). The notice is for the latest deletion
// and goes by itself after ms. A failure goes to note.
export function hider(client, el, note, ms = 8000) {
  let timer;
  const done = () => {
    clearTimeout(timer);
    el.hidden = true;
    el.textContent = "";
  };
  return (m) => {
    note("");
    client.hide(m.conv, [m.seq]).then(() => {
      done();
      const undo = document.createElement("button");
      undo.type = "button";
      undo.className = "undo";
      undo.textContent = "Undo";
      undo.onclick = () => {
        done();
        client.unhide(m.conv, [m.seq]).catch((err) => note(`undo failed: ${err.message}`));
      };
      el.dataset.conv = m.conv;
      el.dataset.seq = String(m.seq);
      el.append("Deleted for you · ", undo);
      el.hidden = false;
      timer = setTimeout(done, ms);
    }, (err) => note(`delete failed: ${err.message}`));
  };
}

// replyCounts counts, per seq, the replies to that message among conv's
// held messages: stored ones (a pending reply is not in a thread yet) not
// recalled, as the node's thread (client.thread) lists them.
export function replyCounts(conv) {
  const counts = new Map();
  for (const m of conv.visible()) if (m.replyTo && m.seq > 0 && !m.recalled) counts.set(m.replyTo, (counts.get(m.replyTo) ?? 0) + 1);
  return counts;
}

// THREAD_PAGES bounds how many pages a thread panel reads (each up to 50
// replies, within the node's scan bound of messages): a thread longer, or
// reaching further back, shows its newest replies.
export const THREAD_PAGES = 4;

// threadPanel shows in el the replies to a message (renderMessages'
// onThread), read from the node (client.thread, newest first, page by
// page) and listed oldest first, for reading; each by its sender's name
// (people, optional). open(conv, m) shows m's thread (conv: the
// conversation held, whose replies to m are counted), close() hides the
// panel, follow(conv) reads the thread shown again when conv now holds
// another count of replies to its message (one arrived, or was recalled).
// A failure goes to note.
export function threadPanel(client, el, note, people) {
  let shown; // { conv, m, count } while open
  const close = () => {
    shown = undefined;
    el.hidden = true;
    el.textContent = "";
    delete el.dataset.conv;
    delete el.dataset.seq;
  };
  const open = async (conv, m) => {
    const mine = (shown = { conv: conv.id, m, count: replyCounts(conv).get(m.seq) ?? 0 });
    const replies = [];
    try {
      let before = 0;
      for (let i = 0; i < THREAD_PAGES; i++) {
        const r = await client.thread(m.conv, m.seq, before);
        replies.push(...r.messages);
        if (!(before = r.next)) break; // 0: down to m, the whole thread
      }
    } catch (err) {
      note(`thread: ${err.message}`);
      return;
    }
    if (shown !== mine) return; // another was opened, or it was closed, meanwhile
    el.textContent = "";
    el.dataset.conv = m.conv;
    el.dataset.seq = String(m.seq);
    const head = document.createElement("div");
    head.className = "thread-head";
    const x = document.createElement("button");
    x.type = "button";
    x.className = "close-thread";
    x.textContent = "×";
    x.title = "close the thread";
    x.onclick = close;
    head.append(`Replies to #${m.seq}: ${listText(m).slice(0, 60)} `, x);
    const ul = document.createElement("ul");
    if (!replies.length) ul.textContent = "no replies";
    for (const r of replies.reverse()) {
      const li = document.createElement("li");
      li.dataset.seq = String(r.seq);
      li.append(personView(r.sender, people?.name(r.sender, r.conv) ?? r.sender, people?.avatar(r.sender) ?? "", r.conv), `: ${listText(r)}`);
      ul.append(li);
    }
    el.append(head, ul);
    el.hidden = false;
  };
  const follow = (conv) => {
    if (shown?.conv === conv.id && (replyCounts(conv).get(shown.m.seq) ?? 0) !== shown.count) void open(conv, shown.m);
  };
  return { open, close, follow };
}

// filesPanel lists in el a conversation's shared files (client.files),
// newest first, 20 a page with a "more…" entry for the next: each its
// conversation and seq, its sender (by name, with people) and the file as
// a link that saves it (download(m), as renderMessages' opts.download).
// show(conv) reads the first page. A failure goes to note.
export function filesPanel(client, el, download, note, people) {
  const show = async (conv, before = 0, held = []) => {
    let r;
    try {
      r = await client.files(conv, before, 20);
    } catch (err) {
      note(`files: ${err.message}`);
      return;
    }
    const list = [...held, ...r.messages];
    el.textContent = list.length || r.next ? "" : "no files shared";
    for (const m of list) {
      const li = document.createElement("li");
      li.dataset.conv = m.conv;
      li.dataset.seq = String(m.seq);
      li.append(`${m.conv} #${m.seq} `, personView(m.sender, people?.name(m.sender, m.conv) ?? m.sender, people?.avatar(m.sender) ?? "", m.conv), ": ", fileLink(m, download));
      el.append(li);
    }
    if (r.next) {
      // The node reads a bounded number of messages a request: a page may
      // hold none with more to read.
      const li = document.createElement("li");
      li.className = "more";
      li.textContent = "more…";
      li.onclick = () => show(conv, r.next, list);
      el.append(li);
    }
  };
  return { show };
}

// isGroup: conv is a group's (its id says so: "g:…"), the only kind of
// conversation where a message may mention everyone.
export const isGroup = (conv) => typeof conv === "string" && conv.startsWith("g:");

// membersText is a group's size as its header says it: "1 member",
// "2,143 members".
export const membersText = (n) => `${n.toLocaleString("en")} member${n === 1 ? "" : "s"}`;

// memberCount keeps el saying how many members the open group has, and
// who runs it as its tooltip, from groupSettings (the node counts them:
// no paging through the members); empty for any other conversation.
// open(id) follows the conversation opened; seen(c), called as the open
// conversation is drawn, reads the count again once a membership change
// (an add, a removal, a leave, a join or an approval) arrived since.
export function memberCount(client, el) {
  let current = "";
  let step = -1; // the newest membership change drawn when last read (-1: none drawn yet)
  const changes = /"op":"(add|remove|leave|join|approve)"/;
  const newest = (c) => c.messages.findLast((m) => m.kind === "system" && changes.test(m.body))?.seq ?? 0;
  const read = async (id) => {
    try {
      const s = await client.groupSettings(id);
      if (current !== id) return;
      el.textContent = membersText(s.memberCount);
      el.title = s.managers?.length ? `run by ${s.managers.map((m) => `${m.user} (${m.role})`).join(", ")}` : "";
    } catch {
      // no longer a member, or offline: the header keeps what it said
    }
  };
  return {
    open(id) {
      current = id;
      step = -1;
      el.textContent = el.title = "";
      if (isGroup(id)) void read(id);
    },
    seen(c) {
      if (c.id !== current || !isGroup(c.id)) return;
      const n = newest(c);
      const first = step < 0; // the count read on open includes what is drawn now
      if (n <= step) return;
      step = n;
      if (!first) void read(c.id);
    },
  };
}

// mentionAllToggle drives the workbench's "@all" checkbox beside Send.
// open(conv) follows the conversation opened: the box is usable in a group
// alone (the node refuses "@all" elsewhere) and starts unticked.
// send(client, conv, text) sends text to everyone in conv
// (client.mentionAll) when the box is ticked there, and answers the
// message; otherwise it sends nothing and answers undefined, for the
// page's own send. Either way the box is unticked: "@all" notifies every
// member, even those who muted the group, so it is chosen for each
// message. The node lets only the group's owners and admins: a member's
// fails FORBIDDEN, shown as the message's failed state.
export function mentionAllToggle(box) {
  return {
    open(conv) {
      box.checked = false;
      box.disabled = !isGroup(conv);
    },
    send(client, conv, text) {
      const all = box.checked && isGroup(conv);
      box.checked = false;
      return all ? client.mentionAll(conv, text) : undefined;
    },
  };
}

// JOIN_WAITING is what a page says once a join with an approval invite's
// code asked, and waits.
export const JOIN_WAITING = "Asked to join — waiting for the group's admins";

// joinForm is a page's "Join with a code": on submit the code typed in
// input joins its group (client.joinGroup), with the words typed in
// askNote (optional) for the group's managers when the invite needs
// approval ("I'm Sam's father"; the node ignores them otherwise). Both
// are cleared once answered, kept to correct when refused (TOO_LARGE: a
// note past the node's limit). note says how it went: joined
// (onJoined(conv) then opens it), a member already, asked (JOIN_WAITING:
// an approval invite; once the group's owners or admins approve, the
// group arrives as after any add), or why not (NOT_FOUND: an unknown,
// revoked, expired or used-up code; FORBIDDEN: removed from the group).
// A group asked for that then arrives (approved) is noted too.
export function joinForm(client, form, input, note, onJoined = () => {}, askNote) {
  const asked = new Set(); // the groups this page asked to join, until they arrive
  client.on("conversation", (c) => {
    if (!asked.has(c.id) || !c.member) return;
    asked.delete(c.id);
    note(`approved: you joined ${c.title || c.id}`);
  });
  form.onsubmit = async (ev) => {
    ev?.preventDefault?.();
    const code = input.value.trim();
    if (!code) return note("type or paste the invite code first");
    try {
      const r = await client.joinGroup(code, askNote?.value.trim() ?? "");
      input.value = "";
      if (askNote) askNote.value = "";
      if (r.pending) {
        asked.add(r.conv);
        return note(JOIN_WAITING);
      }
      note(r.already ? `already a member of ${r.conv}` : `joined ${r.conv}`);
      onJoined(r.conv);
    } catch (err) {
      note(`not joined: ${err.message}`);
    }
  };
}

// invitePanel is a group's "Invite code" and "Requests to join", for its
// owners and admins (els: panel, the create button, the approval
// checkbox, the code's read-only input, the requests' list). open(conv)
// follows the conversation opened: the requests are read
// (client.joinRequests), and the panel shows only once the node lists
// them: a plain member's read is refused FORBIDDEN, and the panel stays
// hidden (as for a conversation that is not a group). Each request shows
// its user by name (else the id), their note to the managers if they
// wrote one, and Approve and Decline; the list is
// read again after either, and on "joinRequests" for the open group
// (someone asked, or another manager answered). The button creates a code
// (with the box ticked, joins with it wait for approval) and shows it to
// copy: the node answers it once. What fails goes to note.
export function invitePanel(client, els, note) {
  const { panel, create, approval, code, list } = els;
  let conv, reads = 0;
  const show = async () => {
    const id = conv, at = ++reads;
    if (!isGroup(id)) {
      panel.hidden = true;
      return;
    }
    let waiting;
    try {
      waiting = await client.joinRequests(id);
    } catch (err) {
      if (at !== reads) return;
      panel.hidden = true;
      if (!isForbidden(err)) note(`requests to join: ${err.message}`);
      return;
    }
    if (at !== reads) return; // another conversation opened, or read again, meanwhile
    panel.hidden = false;
    list.textContent = waiting.length ? "" : "nobody waiting";
    for (const r of waiting) {
      const li = document.createElement("li");
      li.dataset.user = r.user;
      li.title = `asked ${new Date(r.atMs).toLocaleString()}`;
      li.append(personView(r.user, r.name || r.user, "", id));
      if (r.note) {
        const n = document.createElement("span");
        n.className = "request-note";
        n.textContent = r.note; // text, never markup: the requester wrote it
        li.append(n);
      }
      for (const [label, act, done] of [
        ["Approve", () => client.approveJoin(id, r.user), "joined"],
        ["Decline", () => client.declineJoin(id, r.user), "declined"],
      ]) {
        const b = document.createElement("button");
        b.className = label.toLowerCase();
        b.textContent = label;
        b.onclick = async () => {
          b.disabled = true;
          try {
            await act();
            note(`${r.name || r.user} ${done}`);
          } catch (err) {
            note(`${label.toLowerCase()} failed: ${err.message}`); // NOT_FOUND: another manager answered first
          }
          await show();
        };
        li.append(b);
      }
      list.append(li);
    }
    list.dataset.loaded = "1";
  };
  client.on("joinRequests", (id) => id === conv && void show());
  code.onfocus = () => code.select?.(); // to copy it whole
  create.onclick = async () => {
    const id = conv, needsApproval = !!approval.checked;
    create.disabled = true;
    try {
      const r = await client.createInvite(id, { approval: needsApproval });
      if (id !== conv) return;
      code.value = r.code;
      code.dataset.approval = String(needsApproval);
      code.hidden = false;
      code.select?.();
      note(needsApproval ? "invite code created: joins with it wait for your approval below" : "invite code created: share it, it is shown once");
    } catch (err) {
      note(`no invite code: ${err.message}`);
    } finally {
      create.disabled = false;
    }
  };
  return {
    open(id) {
      if (id !== conv) {
        panel.hidden = true; // until the node lists this one's requests
        code.value = "";
        code.hidden = true;
        approval.checked = false;
      }
      conv = id;
      return show();
    },
    show,
  };
}

// MUTE_CHOICES are muteControl's menu: a label and how long (ms; 0:
// until unmuted).
export const MUTE_CHOICES = [
  ["Mute for 1 hour", 3_600_000],
  ["Mute for 8 hours", 8 * 3_600_000],
  ["Mute for 1 week", 7 * 86_400_000],
  ["Until I unmute", 0],
];

// mutedText says whether this user's mute of c holds (c.mutedAt()), and
// until when: "muted until 17:30" (with the day when not today), "muted"
// until unmuted, "" when not muted.
export function mutedText(c) {
  if (!c?.mutedAt()) return "";
  if (!c.mutedUntilMs) return "muted";
  return `muted until ${endText(c.mutedUntilMs)}`;
}

// mutedMark is a conversation list's 🔕 beside a muted conversation
// (mutedText as its tooltip); undefined when not muted.
export function mutedMark(c) {
  const text = mutedText(c);
  if (!text) return undefined;
  const s = document.createElement("span");
  s.className = "muted-mark";
  s.title = text;
  s.textContent = "🔕";
  return s;
}

// muteControl is the open conversation's mute, for this user alone
// (client.mute): select offers MUTE_CHOICES, and Unmute while muted;
// state shows mutedText. open(conv) follows the conversation opened
// ("": none, the menu disabled). It is drawn again on the client's
// "conversation" for it: a mute from another device, and the end of a
// mute for a while (the client emits it then; the node sends nothing).
// A refusal goes to note.
export function muteControl(client, select, state, note) {
  return timedControl(client, select, state, note, {
    flag: "muted",
    menu: ["Mute…", "Muted…", "Unmute"],
    verbs: ["mute", "unmute"],
    text: mutedText,
    on: (c) => !!c?.mutedAt(),
    untilMs: (c) => c.mutedUntilMs,
    choices: MUTE_CHOICES.map(([label, ms]) => [label, String(ms)]),
    set: (id, v) => client.mute(id, true, { forMs: Number(v) }),
    clear: (id) => client.mute(id, false),
    done: (text) => `${text}: nothing notifies you, its unread leave your total`,
  });
}

// timedControl is a menu that puts the open conversation into a state for
// this user alone, for a while or until taken out (muteControl,
// snoozeControl): t.menu's prompt, each of t.choices ([label, value],
// the value handed to t.set), and t.menu's "out" entry while t.on(c); state shows t.text(c), with t.untilMs(c) as its
// tooltip; select.dataset[t.flag] says whether it holds. It is drawn
// again on the client's "conversation" for the one open, and rebuilt
// only when the state changes, so an open menu stays open while messages
// arrive. A refusal goes to note.
function timedControl(client, select, state, note, t) {
  let conv = "";
  let shown; // the menu drawn for a conversation in the state (true) or not
  const draw = () => {
    const c = conv ? client.conversation(conv) : undefined;
    const on = t.on(c);
    select.disabled = !c;
    select.dataset[t.flag] = String(on);
    state.textContent = t.text(c);
    state.title = on && t.untilMs(c) ? new Date(t.untilMs(c)).toLocaleString() : "";
    if (shown === on) return;
    shown = on;
    const [prompt, held, out] = t.menu;
    select.replaceChildren(new Option(on ? held : prompt, ""), ...t.choices.map(([label, value]) => new Option(label, value)), ...(on ? [new Option(out, "off")] : []));
  };
  select.onchange = async () => {
    const id = conv, v = select.value;
    select.value = "";
    if (!id || !v) return;
    const [verb, undo] = t.verbs;
    try {
      if (v === "off") await t.clear(id);
      else await t.set(id, v);
      note(v === "off" ? `${undo}d` : t.done(t.text(client.conversation(id))));
    } catch (err) {
      note(`${v === "off" ? undo : verb} failed: ${err.message}`);
    }
    draw();
  };
  client.on("conversation", (c) => c.id === conv && draw());
  return {
    open(id) {
      conv = id ?? "";
      draw();
    },
  };
}

// SNOOZE_CHOICES are snoozeControl's menu: a label and when the snooze
// ends, from now (Unix ms; "tomorrow 9:00" in this browser's time zone).
export const SNOOZE_CHOICES = [
  ["Snooze for 1 hour", (now) => now + 3_600_000],
  ["Until tomorrow 9:00", (now) => tomorrowAtNine(now)],
  ["Snooze for 1 week", (now) => now + 7 * 86_400_000],
];

// REMIND_CHOICES are a message's "remind me" menu (starTracker.remind):
// a label and when the reminder comes, from now (Unix ms).
export const REMIND_CHOICES = [
  ["In 1 hour", (now) => now + 3_600_000],
  ["Tomorrow 9:00", (now) => tomorrowAtNine(now)],
  ["In 1 week", (now) => now + 7 * 86_400_000],
];

// tomorrowAtNine is 9:00 the next day in this browser's time zone (Unix ms).
function tomorrowAtNine(now) {
  const d = new Date(now);
  d.setDate(d.getDate() + 1); // the next day, across a month's end or a clock change
  d.setHours(9, 0, 0, 0);
  return d.getTime();
}

// snoozedText says whether this user's snooze of c holds (client.snooze:
// archived, its end not reached) and until when: "snoozed until 09:00"
// (with the day when not today); "" otherwise (a plain archive too).
export function snoozedText(c, now = Date.now()) {
  if (!c?.archivedUntilMs || !c.archivedAt(now)) return "";
  return `snoozed until ${endText(c.archivedUntilMs, now)}`;
}

// snoozedMark is a conversation list's small "snoozed until …" label
// beside a snoozed conversation; undefined when not snoozed.
export function snoozedMark(c) {
  const text = snoozedText(c);
  if (!text) return undefined;
  const s = document.createElement("span");
  s.className = "snoozed-mark";
  s.title = `${new Date(c.archivedUntilMs).toLocaleString()}: back in your list then, marked unread`;
  s.textContent = text;
  return s;
}

// markedUnreadMark is a conversation list's dot for a conversation this
// user marked unread, or whose snooze ended, and has not read since
// (c.markedUnread): a list shows it where no unread count shows;
// undefined when not marked.
export function markedUnreadMark(c) {
  if (!c?.markedUnread) return undefined;
  const s = document.createElement("span");
  s.className = "unread marked";
  s.title = "marked unread";
  s.textContent = "●";
  return s;
}

// snoozeControl is the open conversation's snooze, for this user alone
// (client.snooze: archived until a time, then back in the list marked
// unread): select offers SNOOZE_CHOICES, and Unsnooze while snoozed
// (client.archive(conv, false)); state shows snoozedText. open(conv)
// follows the conversation opened ("": none, the menu disabled). It is
// drawn again on the client's "conversation" for it: a snooze from
// another device, news that ends it, and its end (the client emits it
// then; the node sends nothing). A refusal goes to note.
export function snoozeControl(client, select, state, note) {
  return timedControl(client, select, state, note, {
    flag: "snoozed",
    menu: ["Snooze…", "Snoozed…", "Unsnooze"],
    verbs: ["snooze", "unsnooze"],
    text: snoozedText,
    on: (c) => !!snoozedText(c),
    untilMs: (c) => c.archivedUntilMs,
    choices: SNOOZE_CHOICES.map(([label], i) => [label, String(i)]),
    set: (id, v) => client.snooze(id, SNOOZE_CHOICES[Number(v)][1](Date.now())),
    clear: (id) => client.archive(id, false),
    done: (text) => `${text}: back in your list then, marked unread (a new message brings it back sooner)`,
  });
}

// labelChips shows a conversation's labels, this user's own (client.label:
// "new customer", "paid", "to ship"), as small chips in the order given
// (the node's, ascending); with onRemove(label) each has an × that takes it
// off. undefined when there are none.
export function labelChips(labels, onRemove) {
  if (!labels?.length) return undefined;
  const box = document.createElement("span");
  box.className = "label-chips";
  for (const l of labels) {
    const chip = document.createElement("span");
    chip.className = "label-chip";
    chip.dataset.label = l;
    chip.textContent = l; // text, never markup: the user typed it
    if (onRemove) {
      const x = document.createElement("button");
      x.type = "button";
      x.className = "remove-label";
      x.title = `remove the label ${l}`;
      x.textContent = "×";
      x.onclick = (ev) => {
        ev?.stopPropagation(); // a chip in a list row does not open it
        onRemove(l);
      };
      chip.append(x);
    }
    box.append(chip);
  }
  return box;
}

// labelFilter is a conversation list's filter by label: select offers
// "All labels" and each label the conversations given to draw(convs)
// carry, ascending; the one chosen stays a choice while chosen, even once
// no conversation carries it (the list shows none then, rather than all
// again behind the user's back). shows(c) says whether c passes; a new
// choice calls onChange (the list drawn again).
export function labelFilter(select, onChange) {
  let drawn; // the choices drawn: rebuilt only when they change, so an open menu stays open
  select.onchange = () => onChange();
  return {
    draw(convs) {
      const chosen = select.value;
      const labels = new Set([...convs].flatMap((c) => c.labels ?? []));
      if (chosen) labels.add(chosen);
      const list = [...labels].sort();
      select.disabled = list.length === 0;
      if (drawn === list.join("\n")) return;
      drawn = list.join("\n");
      select.replaceChildren(new Option("All labels", ""), ...list.map((l) => new Option(l, l)));
      select.value = chosen; // a rebuilt menu would fall back to its first choice
    },
    shows: (c) => !select.value || (c.labels ?? []).includes(select.value),
  };
}

// labelControl is the open conversation's labels, this user's own
// (client.label; nobody else sees them): els.chips shows them
// (labelChips), each × removing one; els.form adds the label typed in
// els.input (its button els.add). The node trims it; refused (INVALID:
// empty once trimmed, past its 32 bytes or with a control character;
// TOO_MANY: one label too many), it is noted and stays in the box to
// correct. open(conv) follows the conversation opened ("": none, the
// controls disabled); it is drawn again on the client's "conversation"
// for it (the answer, or a label changed on another device).
export function labelControl(client, els, note) {
  const { chips, form, input, add } = els;
  let conv = "";
  const change = async (id, opts) => {
    note("");
    try {
      await client.label(id, opts);
      return true;
    } catch (err) {
      note(`${opts.add ? "label" : "unlabel"} failed: ${err.message}`);
      return false;
    }
  };
  const draw = () => {
    const c = conv ? client.conversation(conv) : undefined;
    input.disabled = add.disabled = !c;
    chips.textContent = "";
    const shown = labelChips(c?.labels, (l) => void change(c.id, { remove: [l] }));
    if (shown) chips.append(shown);
  };
  form.onsubmit = async (ev) => {
    ev?.preventDefault?.();
    const id = conv, text = input.value.trim();
    if (!id) return;
    if (!text) return note("type a label first");
    if ((await change(id, { add: [text] })) && id === conv) input.value = "";
  };
  client.on("conversation", (c) => c.id === conv && draw());
  return {
    open(id) {
      if (id !== conv) input.value = ""; // a label typed for the conversation left
      conv = id ?? "";
      draw();
    },
  };
}

// firstLink is the first http(s) link in a text ("" when none), without
// the punctuation that ends a sentence after it.
export const firstLink = (text) => (text?.match(/https?:\/\/[^\s<>"']+/)?.[0] ?? "").replace(/[.,;:!?)\]]+$/, "");

// linkTracker is renderMessages' opts.preview: the preview of a text's
// first link, as the node read the page (client.linkPreview), asked once
// per link; undefined until it is read, and for a page with none.
// redraw(conv) draws the message's conversation again when one arrives.
export function linkTracker(client, redraw) {
  const known = new Map(); // link → its preview, null (none), or "asking"
  return (m) => {
    if (m.kind !== "normal" || m.recalled) return undefined;
    const url = firstLink(m.body);
    if (!url) return undefined;
    const k = known.get(url);
    if (k === undefined) {
      known.set(url, "asking");
      client.linkPreview(url).then(
        (p) => {
          known.set(url, p.title || p.description ? p : null);
          redraw(m.conv);
        },
        () => known.set(url, null),
      );
      return undefined;
    }
    return k && k !== "asking" ? k : undefined;
  };
}

// linkPreviewView is a link's preview under its message: its title as a
// link to the page (a new tab), then its site and description. No
// picture: the page would load it from another site.
function linkPreviewView(p) {
  const box = document.createElement("div");
  box.className = "link-preview";
  const a = document.createElement("a");
  a.href = p.url;
  a.target = "_blank";
  a.rel = "noopener noreferrer";
  a.textContent = p.title || p.url;
  box.append(a);
  const about = [p.siteName, p.description].filter(Boolean).join(" · ");
  if (about) {
    const s = document.createElement("div");
    s.className = "about";
    s.textContent = about;
    box.append(s);
  }
  return box;
}

// starTracker keeps which messages this user starred, for renderMessages'
// star buttons. It is read at the first draw, by list(), and again when
// the client emits "starred" (the list changed, on this device or
// another): then each conversation whose stars changed is drawn again.
// seqs(c) answers c's starred seqs (opts.starred); toggle(m, starred)
// stars or unstars m (opts.onStar), then redraw(conv) draws its
// conversation again; list() reads the whole list (client.starred) for
// a panel. reminders(c) answers c's reminders (opts.reminders: seq →
// when), remind(m, atMs) stars m with a reminder then (opts.onRemind;
// client.remind); when one comes (the client's "reminder") note says
// so, with the message's text when this page holds it. A failure goes
// to note.
export function starTracker(client, redraw, note) {
  const keys = new Map(); // conv#seq of each starred message → its reminder (0: none)
  const key = (conv, seq) => `${conv}#${seq}`;
  let asked = false;
  const list = async () => {
    const all = await client.starred();
    keys.clear();
    for (const s of all) keys.set(key(s.message.conv, s.message.seq), s.remindAtMs || 0);
    return all;
  };
  client.on("starred", () => {
    asked = true;
    const before = new Map(keys);
    const conv = (k) => k.slice(0, k.lastIndexOf("#"));
    list().then(() => {
      const changed = new Set([...before].filter(([k, at]) => keys.get(k) !== at).concat([...keys].filter(([k, at]) => before.get(k) !== at)).map(([k]) => conv(k)));
      for (const id of changed) redraw(id);
    }, (err) => note(`starred messages: ${err.message}`));
  });
  client.on("reminder", (conv, seq) => {
    if (keys.has(key(conv, seq))) keys.set(key(conv, seq), 0);
    const m = client.conversation(conv)?.messages.find((x) => x.seq === seq);
    note(`⏰ reminder: ${conv} #${seq}${m ? `: ${listText(m).slice(0, 80)}` : ""}`);
    redraw(conv);
  });
  return {
    seqs(c) {
      if (!asked) {
        asked = true;
        list().then(() => redraw(c.id), (err) => note(`starred messages: ${err.message}`));
      }
      return c.messages.filter((m) => keys.has(key(c.id, m.seq))).map((m) => m.seq);
    },
    reminders(c) {
      const out = new Map();
      for (const m of c.messages) {
        const at = keys.get(key(c.id, m.seq));
        if (at) out.set(m.seq, at);
      }
      return out;
    },
    remind(m, atMs) {
      note("");
      return client.remind(m.conv, m.seq, atMs).then(
        () => {
          keys.set(key(m.conv, m.seq), atMs);
          note(`⏰ a reminder of #${m.seq} at ${new Date(atMs).toLocaleString()}`);
          redraw(m.conv);
        },
        (err) => note(`remind failed: ${err.message}`),
      );
    },
    toggle(m, starred) {
      note("");
      return client.star(m.conv, m.seq, !starred).then(
        () => {
          if (starred) keys.delete(key(m.conv, m.seq));
          else keys.set(key(m.conv, m.seq), 0);
          redraw(m.conv);
        },
        (err) => note(`${starred ? "unstar" : "star"} failed: ${err.message}`),
      );
    },
    list,
  };
}

// listText is a message read apart from its conversation (starred, a
// thread) as a list shows it: a card's title, a poll's question, a file's
// name when it has no caption, else its text.
const listText = (m) => m.kind === "card" ? m.card?.title ?? "" : m.kind === "poll" ? "📊 " + (parsePoll(m.body)?.question ?? "") : m.body || (m.media ? "📎 " + m.media.name : "");

// renderStarred lists starred messages (starTracker's list()) in el, the
// most recently starred first: each with its conversation, sender and
// text (a card's title, a poll's question, a file's name when it has no
// caption), and "⏰ time" when a reminder is set; a click calls
// onOpen(m). people (optional) shows each sender by their name.
export function renderStarred(el, list, onOpen, people) {
  el.textContent = list.length ? "" : "nothing starred";
  for (const { message: m, remindAtMs } of list) {
    const text = listText(m);
    const li = document.createElement("li");
    li.dataset.conv = m.conv;
    li.dataset.seq = String(m.seq);
    li.textContent = `${m.conv} #${m.seq} `;
    li.append(personView(m.sender, people?.name(m.sender, m.conv) ?? m.sender, people?.avatar(m.sender) ?? "", m.conv), `: ${text.slice(0, 60)}`);
    if (remindAtMs) {
      const mark = document.createElement("span");
      mark.className = "reminder";
      mark.textContent = ` ⏰ ${endText(remindAtMs)}`;
      li.append(mark);
    }
    li.onclick = () => onOpen(m);
    el.append(li);
  }
}

// scheduledPanel is the workbench's "Send later" and its Scheduled list
// in el: this user's messages scheduled and not yet sent
// (client.scheduled), soonest first, each with its time, conversation and
// text and a cancel button; a click on one calls onOpen(conv). show()
// reads it; once shown it is read again after a schedule or a cancel here,
// when the client emits "scheduled" (the list changed on any device, or
// one went out or failed when due) and when a listed message arrives (it
// went out: the message carries its client id). schedule(conv, text, when, opts) schedules text
// into conv at when, a datetime-local input's value (the browser's local
// time), with opts as client.schedule takes them (replyTo), and resolves
// true once the node keeps it. A failure goes to note.
export function scheduledPanel(client, el, onOpen, note) {
  let listed; // the client ids of the messages shown, once shown
  const show = async () => {
    let list;
    try {
      list = await client.scheduled();
    } catch (err) {
      note(`scheduled messages: ${err.message}`);
      return;
    }
    listed = new Set(list.map((s) => s.clientMsgId));
    el.textContent = list.length ? "" : "nothing scheduled";
    for (const s of list) {
      const text = s.kind === "card" ? parseCard(s.body)?.title ?? "" : s.kind === "poll" ? "📊 " + (parsePoll(s.body)?.question ?? "") : s.body;
      const li = document.createElement("li");
      li.dataset.id = s.id;
      li.dataset.conv = s.conv;
      li.textContent = `${new Date(s.atMs).toLocaleString()} · ${s.conv} · ${text.slice(0, 60)} `;
      if (s.failed) {
        // Refused when it was due: the node keeps it so the agent learns of it.
        li.className = "failed";
        li.textContent += `(not sent: ${s.failed}) `;
      }
      li.onclick = () => onOpen(s.conv);
      const b = document.createElement("button");
      b.className = "cancel";
      b.textContent = "cancel";
      b.onclick = async (ev) => {
        ev?.stopPropagation(); // a cancel, not an open
        try {
          await client.unschedule(s.id);
          note("scheduled message cancelled");
        } catch (err) {
          note(`not cancelled: ${err.message}`); // NOT_FOUND: it went out meanwhile
        }
        await show();
      };
      li.append(b);
      el.append(li);
    }
    el.dataset.loaded = "1";
  };
  client.on("scheduled", () => listed && void show());
  client.on("conversation", (c) => {
    if (!listed?.size) return;
    let sent = false;
    // A listed one arrived: it went out. Its id leaves the set, so its
    // arrival reads the list once however often c is drawn again.
    for (const m of c.messages) sent = listed.delete(m.clientMsgId) || sent;
    if (sent) void show();
  });
  const schedule = async (conv, text, when, opts = {}) => {
    const at = new Date(when).getTime(); // "" or a partial value: NaN
    const wrong = !conv ? "open a conversation first" : !text ? "type the message first" : Number.isNaN(at) ? "pick when to send it" : at <= Date.now() ? "pick a time ahead" : "";
    if (wrong) {
      note(wrong);
      return false;
    }
    try {
      await client.schedule(conv, text, at, opts);
    } catch (err) {
      note(`not scheduled: ${err.message}`);
      return false;
    }
    note(`scheduled for ${new Date(at).toLocaleString()}`);
    await show();
    return true;
  };
  return { show, schedule };
}

// DRAFT_SAVE_MS is how long after the last keystroke the compose box's
// text is kept as the open conversation's draft.
export const DRAFT_SAVE_MS = 1000;

// draftKeeper keeps the compose box (box, an input) as the draft of the
// conversation convOf() names, for this user's other devices and the
// page's next visit (client.setDraft): saved DRAFT_SAVE_MS after typing
// stops (typed(), on each input) and when the page leaves the
// conversation (leave(conv), which empties the box for the next one),
// cleared once its message is sent (sent(conv)). The drafts are read at
// each connect and again when the client emits "drafts" (a change on any
// of the user's devices, this one too): open(conv) puts the draft of the
// conversation opened into the box, and a read fills the box of the open
// one, only ever when the box is empty and no save of it is on its way:
// what the user is typing is never overwritten. has(conv) says whether
// conv has a draft, as the node keeps it (a list's "draft" label), and
// text(conv) what it says; redraw() is called when they change. flush()
// saves at once what waits for the typing to stop (before the box takes
// something else). isDraft() says whether the box holds a new message
// (not an edit, or a report's reason): only then is it kept. A refusal
// goes to note.
export function draftKeeper(client, box, convOf, redraw = () => {}, note = () => {}, isDraft = () => true) {
  const known = new Map(); // conv → text, as the node keeps it
  // This page's own changes: each settles in order (a clear never
  // overtakes the save before it), and wins over a read asked before it
  // settled (one answered late must not bring a sent draft back).
  const own = new Map(); // conv → { text, done: the tick it settled at, Infinity until then }
  let tick = 0;
  let queue = Promise.resolve();
  let loaded = false;
  let timer, timerConv;
  const textOf = () => (box.value.trim() ? box.value : "");
  const last = (conv) => {
    const mine = own.get(conv);
    return mine && mine.done === Infinity ? mine.text : known.get(conv) ?? "";
  };
  const dirty = (conv) => (timer !== undefined && timerConv === conv) || own.get(conv)?.done === Infinity;
  const stop = () => {
    clearTimeout(timer);
    timer = timerConv = undefined;
  };
  const set = (conv, text) => {
    const mine = { text, done: Infinity };
    own.set(conv, mine);
    queue = queue
      .then(() => client.setDraft(conv, text))
      .then(
        () => {
          mine.done = ++tick;
          const had = known.get(conv) ?? "";
          if (text) known.set(conv, text);
          else known.delete(conv);
          if (had !== text) redraw();
        },
        (err) => {
          if (own.get(conv) === mine) own.delete(conv);
          note(`draft not kept: ${err.message}`);
        },
      );
    return queue;
  };
  const save = (conv) => {
    if (conv && isDraft() && textOf() !== last(conv)) void set(conv, textOf());
  };
  const fill = () => {
    const conv = convOf();
    if (!conv || box.value !== "" || dirty(conv) || !isDraft()) return;
    const t = known.get(conv);
    if (t) box.value = t;
  };
  let reading, again = false;
  const load = () => {
    if (reading) {
      again = true;
      return reading;
    }
    const at = ++tick;
    reading = client
      .drafts()
      .then(
        (list) => {
          const before = [...known].join("\n");
          known.clear();
          for (const d of list) known.set(d.conv, d.text);
          for (const [conv, mine] of own) {
            if (mine.done <= at) own.delete(conv); // the read saw it
            else if (mine.text) known.set(conv, mine.text);
            else known.delete(conv);
          }
          loaded = true;
          if ([...known].join("\n") !== before) redraw();
          fill();
        },
        (err) => note(`drafts: ${err.message}`),
      )
      .finally(() => {
        reading = undefined;
        if (again) {
          again = false;
          void load();
        }
      });
    return reading;
  };
  client.on("state", (s) => s === "connected" && void load());
  client.on("drafts", () => void load());
  return {
    typed() {
      const conv = convOf();
      stop();
      if (!conv || !isDraft()) return;
      timerConv = conv;
      timer = setTimeout(() => {
        timer = timerConv = undefined;
        save(conv);
      }, DRAFT_SAVE_MS);
    },
    flush() {
      if (timer === undefined) return;
      const conv = timerConv;
      stop();
      save(conv);
    },
    leave(conv) {
      stop();
      save(conv);
      box.value = "";
    },
    open(conv) {
      if (conv === convOf()) fill();
    },
    sent(conv) {
      if (timerConv === conv) stop();
      // Nothing kept, nothing on its way: nothing to clear.
      if (!loaded || known.has(conv) || own.get(conv)?.done === Infinity) void set(conv, "");
    },
    has: (conv) => known.has(conv),
    text: (conv) => known.get(conv) ?? "",
    load,
  };
}

// pollView shows a poll's options, each with its votes; with onVote, an
// option is a button that chooses it (again: takes it back; in a poll of
// several choices it adds or removes it). A closed poll says so; name
// shows its voters (an anonymous poll's are aliases: it says so instead).
function pollView(m, onVote, name) {
  const p = m.poll;
  const box = document.createElement("div");
  box.className = "poll-box";
  p.options.forEach((o, i) => {
    const b = document.createElement("button");
    b.dataset.option = String(i);
    b.textContent = `${o.text} · ${o.voters.length}`;
    // An anonymous poll's voters are aliases: nobody to name.
    b.title = p.anonymous ? "anonymous: counted, nobody named" : o.voters.map(name).join(", ");
    if (p.mine.includes(i)) b.className = "mine";
    // A quiz is answered once (the node refuses a change).
    b.disabled = !onVote || p.closed || m.seq <= 0 || (p.quiz && p.mine.length > 0);
    b.onclick = () => {
      const chosen = p.mine.includes(i);
      onVote(m, p.multiple ? (chosen ? p.mine.filter((x) => x !== i) : [...p.mine, i]) : chosen ? [] : [i]);
    };
    box.append(b);
  });
  if (p.quiz) {
    const q = document.createElement("span");
    q.className = "quiz";
    q.textContent = "quiz";
    box.append(q);
  }
  if (p.anonymous) {
    const a = document.createElement("span");
    a.className = "anonymous";
    a.textContent = "anonymous";
    box.append(a);
  }
  if (p.closed) {
    const c = document.createElement("span");
    c.className = "closed";
    c.textContent = "closed";
    box.append(c);
  } else if (p.closesAtMs) {
    const c = document.createElement("span");
    c.className = "closes";
    c.textContent = `closes ${new Date(p.closesAtMs).toLocaleString()}`;
    box.append(c);
  }
  return box;
}

// demoPoll is what the workbench's "Send poll" sends.
export const demoPoll = { question: "Which day suits you for the viewing?", options: ["Friday", "Saturday"] };

// mediaView shows a message's file: an image inline, anything else as a
// link that downloads it. download(m) resolves to the file's bytes; each
// file is fetched once per page (the list is drawn again on every change).
const mediaURLs = new Map();
const mediaURL = (m, download) => {
  const f = m.media;
  if (!mediaURLs.has(f.id)) mediaURLs.set(f.id, download(m).then((data) => URL.createObjectURL(new Blob([data], { type: f.mime }))));
  return mediaURLs.get(f.id);
};
const fileSize = (n) => (n < 1024 ? `${n} B` : `${Math.round(n / 1024)} KiB`);
function mediaView(m, download) {
  const f = m.media;
  const kb = fileSize(f.size);
  if (f.mime.startsWith("image/")) {
    const img = document.createElement("img");
    img.className = "media";
    img.alt = f.name;
    img.title = `${f.name} (${kb})`;
    if (f.width && f.height) {
      // Laid out at its size before a byte of it arrives; the sender's
      // tiny preview, stretched, shows until the picture replaces it.
      const scale = Math.min(1, 240 / f.width, 240 / f.height); // the style's bound
      img.width = Math.max(1, Math.round(f.width * scale));
      img.height = Math.max(1, Math.round(f.height * scale));
    }
    if (f.thumb) img.src = URL.createObjectURL(new Blob([f.thumb], { type: "image/jpeg" }));
    mediaURL(m, download).then((u) => (img.src = u), () => (img.alt = `${f.name} (could not be read)`));
    return img;
  }
  return fileLink(m, download);
}

// locationView is a shared place as a link that opens it on a map:
// "📍 name" (or its coordinates when it has none); a live one says until
// when it moves, or that it ended (the conversation shows its newest
// place as its sender moves it).
export function locationView(l, now = Date.now()) {
  const a = document.createElement("a");
  a.className = "location";
  a.target = "_blank";
  a.rel = "noopener";
  a.href = `https://www.openstreetmap.org/?mlat=${l.lat}&mlon=${l.lng}#map=17/${l.lat}/${l.lng}`;
  a.textContent = `📍 ${l.name || `${l.lat.toFixed(5)}, ${l.lng.toFixed(5)}`}`;
  if (l.liveUntilMs) {
    a.textContent += l.liveUntilMs > now ? ` · live until ${new Date(l.liveUntilMs).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}` : " · live, ended";
  }
  return a;
}

// playTime is a length in play as a player shows it: "0:42", "1:02:03".
export function playTime(ms) {
  const s = Math.round(ms / 1000);
  const two = (n) => String(n).padStart(2, "0");
  return s >= 3600 ? `${Math.floor(s / 3600)}:${two(Math.floor(s / 60) % 60)}:${two(s % 60)}` : `${Math.floor(s / 60)}:${two(s % 60)}`;
}

// fileLink is m's file as a link, "📎 name (size)", that saves it (read
// once with download(m), as mediaView does).
function fileLink(m, download) {
  const f = m.media;
  const a = document.createElement("a");
  a.className = "media";
  a.href = "#";
  // A voice note or a video says how long it plays before it is read.
  a.textContent = f.durationMs ? `${f.mime.startsWith("audio/") ? "🎤" : "🎬"} ${f.name} (${playTime(f.durationMs)}, ${fileSize(f.size)})` : `📎 ${f.name} (${fileSize(f.size)})`;
  a.onclick = (ev) => {
    ev?.preventDefault();
    mediaURL(m, download).then((u) => {
      const dl = document.createElement("a");
      dl.href = u;
      dl.download = f.name;
      dl.click();
    });
  };
  return a;
}

// attachFile sends the file picked in input, through client(), to the
// conversation conv() names, with the compose text as its caption;
// sent(conv), once it went, lets the page clear the caption's draft.
export function attachFile(client, input, text, conv, note, sent = () => {}) {
  input.onchange = async () => {
    const file = input.files?.[0];
    const c = conv();
    input.value = "";
    if (!file || !c) return;
    try {
      const preview = file.type.startsWith("image/") ? await makePreview(file) : undefined;
      await client().sendFile(c, file, { name: file.name, mime: file.type || "application/octet-stream", caption: text.value.trim(), preview });
      text.value = "";
      sent(c);
    } catch (err) {
      note(`file not sent: ${err.message}`);
    }
  };
}

// shareLocation makes button share where the device is (the browser's
// geolocation, which asks the user first) into the conversation conv()
// names, with the compose text as its caption: "I'm here" to a
// roadside-assistance desk, "meet me here" to a buyer.
export function shareLocation(client, button, text, conv, note, geo = globalThis.navigator?.geolocation) {
  button.onclick = (ev) => {
    ev?.preventDefault();
    const c = conv();
    if (!c) return;
    if (!geo) {
      note("this browser cannot tell where it is");
      return;
    }
    geo.getCurrentPosition(
      (pos) => {
        client().sendLocation(c, { lat: pos.coords.latitude, lng: pos.coords.longitude }, text.value.trim());
        text.value = "";
      },
      (err) => note(`location not shared: ${err.message}`),
      { enableHighAccuracy: true, timeout: 15_000 },
    );
  };
}

// reactionLine shows m's reactions ("👍 2"), each a toggle of one's own
// when onReact(m, emoji) is given ("" takes one's reaction back), and a
// 👍 to add when one has none.
function reactionLine(m, me, onReact, name) {
  const rs = m.reactions ?? [];
  const mine = rs.find((r) => r.users.includes(me));
  if (!rs.length && !onReact) return undefined;
  const line = document.createElement("span");
  line.className = "reactions";
  for (const r of rs) {
    const b = document.createElement(onReact ? "button" : "span");
    b.className = "reaction" + (r === mine ? " mine" : "");
    b.textContent = `${r.emoji} ${r.users.length}`;
    b.title = r.users.map(name).join(", ");
    if (onReact) b.onclick = () => onReact(m, r === mine ? "" : r.emoji);
    line.append(b);
  }
  if (onReact && !mine) {
    const b = document.createElement("button");
    b.className = "react";
    b.textContent = "+👍";
    b.onclick = () => onReact(m, "👍");
    line.append(b);
  }
  return line;
}

function cardView(m, onClick) {
  const c = m.card;
  const box = document.createElement("div");
  box.className = "card-box";
  if (m.cardUpdateSeq) box.dataset.updated = String(m.cardUpdateSeq);
  if (c.image_url && /^https?:/.test(c.image_url)) {
    const img = document.createElement("img");
    img.src = c.image_url;
    img.alt = "";
    box.append(img);
  }
  for (const f of c.fields ?? []) {
    const row = document.createElement("div");
    row.className = "field";
    row.textContent = `${f.label}: ${f.value}`;
    box.append(row);
  }
  if (c.actions?.length) {
    const bar = document.createElement("div");
    bar.className = "actions";
    for (const a of c.actions) {
      const btn = document.createElement("button");
      btn.textContent = a.label;
      btn.dataset.action = a.id;
      btn.disabled = !onClick || m.seq === 0;
      if (onClick) btn.onclick = () => {
        btn.disabled = true;
        onClick(m, a.id);
      };
      bar.append(btn);
    }
    box.append(bar);
  }
  return box;
}

// demoCard is what the workbench's "Send card" sends: the business's card
// webhook decides what a click does.
export const demoCard = {
  title: "Pick a time for a viewing",
  fields: [{ label: "where", value: "the showroom" }],
  actions: [
    { id: "fri-10", label: "Friday 10:00", payload: { slot: "fri-10" } },
    { id: "sat-14", label: "Saturday 14:00", payload: { slot: "sat-14" } },
  ],
};

export function showStatus(client) {
  const el = document.getElementById("status");
  let ended = "";
  client.on("error", (code, message) => {
    if (code === Code.SUSPENDED) ended = `account suspended: ${message}`;
    // This device id connected again (another tab or window): reload to use it here.
    if (code === Code.REPLACED) ended = "opened elsewhere: reload to use it here";
  });
  client.on("state", (s, t) => {
    el.textContent = s === "connected" ? `connected (${t})` : s;
    if (s === "closed" && ended) el.textContent = ended;
    el.dataset.state = s;
    el.dataset.transport = t ?? "";
  });
}

// typingLine shows who is typing in the conversation convOf() names, by
// their name when people (optional) knows it.
export function typingLine(client, el, convOf, people) {
  const timers = new Map();
  client.on("typing", (conv, user, on) => {
    if (conv !== convOf() || user === client.user) return;
    clearTimeout(timers.get(user));
    el.textContent = on ? `${people?.name(user, conv) ?? user} is typing…` : "";
    if (on) timers.set(user, setTimeout(() => (el.textContent = ""), 4000));
  });
}

// clock is a call's length as m:ss.
const clock = (ms) => `${Math.floor(ms / 60000)}:${String(Math.floor(ms / 1000) % 60).padStart(2, "0")}`;

// callLine shows this device's call in el and runs its WebRTC side. A call
// that rings here shows Accept and Decline; one placed with start(conv)
// shows "Calling…" and Hang up; once answered the two browsers exchange
// audio (the microphone if the page may use it, else listening only) and,
// in a video call, the cameras' pictures (the other side's large, this
// one's small), and the line counts the minutes; then it says how the
// call ended. The node
// only rings and relays: the offer and the answer carry every ICE
// candidate (gathered before they are sent, through the node's STUN and
// TURN servers when it names any), so no trickling is needed.
// el.dataset.call is the state ("ringing", "calling", "answered",
// "connected", "ended"), for tests and styles.
export function callLine(client, el, nameOf = (u) => u) {
  let cur; // { conv, id, role, peer, offer, timer, answeredAt }
  el.innerHTML =
    '<span class="call-text"></span> <button type="button" class="accept">Accept</button> <button type="button" class="decline">Decline</button> <button type="button" class="hangup">Hang up</button>' +
    '<div class="call-video" hidden><video class="remote" autoplay playsinline></video><video class="local" autoplay playsinline muted></video></div>';
  const [text, accept, decline, hangup, screens, remote, local] = ["call-text", "accept", "decline", "hangup", "call-video", "remote", "local"].map((c) => el.querySelector("." + c));
  const show = (state, t, buttons = []) => {
    el.hidden = false;
    el.dataset.call = state;
    text.textContent = t;
    for (const b of [accept, decline, hangup]) b.hidden = !buttons.includes(b);
  };
  const stop = () => {
    clearInterval(cur?.timer);
    cur?.peer?.stream?.getTracks().forEach((t) => t.stop());
    cur?.peer?.pc.close();
    remote.srcObject = local.srcObject = null;
    screens.hidden = true;
    cur = undefined;
  };
  const other = (call) => nameOf(call.caller === client.user ? call.callee : call.caller);
  const connected = () => {
    if (!cur || cur.timer) return;
    cur.answeredAt ??= Date.now();
    const tick = () => show("connected", `In call with ${cur.name} · ${clock(Date.now() - cur.answeredAt)}`, [hangup]);
    tick();
    cur.timer = setInterval(tick, 1000);
  };
  // peer is this side's connection, through the node's STUN and TURN
  // servers (with fresh TURN credentials), if it names any, with the
  // microphone (and the camera, for video) if the page may use them.
  const peer = async (conv, video) => {
    const iceServers = await client.iceServers(conv).catch(() => []);
    const pc = new RTCPeerConnection({ iceServers });
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true, video });
      for (const t of stream.getTracks()) pc.addTrack(t, stream);
    } catch {
      pc.addTransceiver("audio", { direction: "recvonly" }); // no microphone: listen only
      if (video) pc.addTransceiver("video", { direction: "recvonly" });
    }
    screens.hidden = !video;
    local.srcObject = video && stream ? stream : null;
    pc.ontrack = (ev) => (remote.srcObject = ev.streams[0] ?? new MediaStream([ev.track]));
    pc.onconnectionstatechange = () => pc.connectionState === "connected" && connected();
    return { pc, stream };
  };
  const described = async (pc) => {
    await new Promise((res) => {
      if (pc.iceGatheringState === "complete") return res();
      const t = setTimeout(res, 3000);
      pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && (clearTimeout(t), res()));
    });
    return JSON.stringify(pc.localDescription);
  };
  const failed = (what, err) => {
    const c = cur;
    stop();
    show("ended", `${what}: ${err.message ?? err}`);
    if (c) client.endCall(c.conv, c.id).catch(() => {});
  };
  // ring shows call ringing here, with the caller's offer to answer.
  const ring = (call, offer) => {
    cur = { conv: call.conv, id: call.id, role: "callee", video: call.video, offer: new TextDecoder().decode(offer), name: other(call) };
    show("ringing", `Incoming ${call.video ? "video " : ""}call from ${cur.name}`, [accept, decline]);
  };
  client.on("call", (e) => {
    const { call } = e;
    if (e.step === "ringing") {
      if (cur) return void client.declineCall(call.conv, call.id, "busy").catch(() => {});
      return ring(call, e.payload);
    }
    if (!cur || cur.id !== call.id) return;
    if (e.step === "accepted" && cur.role === "caller") {
      show("answered", `In call with ${cur.name}…`, [hangup]);
      cur.peer.pc.setRemoteDescription(JSON.parse(new TextDecoder().decode(e.payload))).catch((err) => failed("the call could not connect", err));
    } else if (e.step === "accepted" && !cur.peer) {
      stop();
      show("ended", "Answered on another device");
    } else if (e.step === "ended") {
      stop();
      show("ended", `Call ended: ${e.outcome ?? "ended"}${e.durationMs ? " · " + clock(e.durationMs) : ""}`); // no outcome: found gone after a reconnect
    }
  });
  accept.onclick = async () => {
    const c = cur;
    if (!c || c.peer) return;
    show("answered", `Connecting to ${c.name}…`, [hangup]);
    try {
      c.peer = await peer(c.conv, c.video);
      await c.peer.pc.setRemoteDescription(JSON.parse(c.offer));
      await c.peer.pc.setLocalDescription(await c.peer.pc.createAnswer());
      await client.acceptCall(c.conv, c.id, await described(c.peer.pc));
      if (c.peer.pc.connectionState === "connected") connected();
    } catch (err) {
      failed("could not answer", err);
    }
  };
  decline.onclick = () => {
    const c = cur;
    stop();
    show("ended", "Declined");
    if (c) client.declineCall(c.conv, c.id).catch(() => {});
  };
  hangup.onclick = () => {
    const c = cur;
    stop();
    show("ended", "Call ended");
    if (c) client.endCall(c.conv, c.id).catch(() => {});
  };
  return {
    // ringing shows a call that rings for this user in conv, begun before
    // the page was (a reload while it rang): the node keeps its offer.
    async ringing(conv) {
      const call = await client.callState(conv).catch(() => undefined);
      if (!cur && call?.offer && call.callee === client.user) ring(call, call.offer);
    },
    // start calls the other side of conv (the customer, from a service
    // conversation's agent), with video or not.
    async start(conv, name, video = false) {
      if (cur) return;
      const c = (cur = { conv, id: newCallId(), role: "caller", video, name });
      show("calling", `Calling ${name}…`, [hangup]);
      try {
        c.peer = await peer(conv, video);
        await c.peer.pc.setLocalDescription(await c.peer.pc.createOffer());
        const offer = await described(c.peer.pc);
        if (cur !== c) return void (c.peer.stream?.getTracks().forEach((t) => t.stop()), c.peer.pc.close()); // hung up meanwhile
        await client.startCall(conv, offer, { id: c.id, video });
      } catch (err) {
        failed("could not call", err);
      }
    },
  };
}
