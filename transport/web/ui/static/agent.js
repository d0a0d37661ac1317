import { adminDesk, attachFile, awayForm, callLine, Client, demoCard, demoPoll, linkTracker, draftKeeper, filesPanel, forwarder, hider, invitePanel, isForbidden, isGroup, isNews, joinForm, memberCount, presenceLine, labelChips, labelControl, labelFilter, markedUnreadMark, mentionAllToggle, mentionsMe, muteControl, mutedMark, params, peerOf, people, personView, pinTracker, profileForm, relabel, renderMessages, renderStarred, scheduledPanel, ServiceDesk, shareLocation, showStatus, snoozeControl, snoozedMark, starTracker, systemText, tabDevice, threadPanel, token, tokenWorked, transports, typingLine } from "./common.js";

const $ = (id) => document.getElementById(id);
if (params.get("user")) $("user").value = params.get("user");
let client, current, user, sd, me;

const note = (t) => ($("card-note").textContent = t);
const onRecall = (m) => {
  note("");
  client.recall(m.conv, m.seq).catch((err) => note(`recall failed: ${err.message}`));
};
// Edit: the message's text goes into the reply box, and the next send
// replaces it instead of posting a new message.
let editing;
const onEdit = (m) => {
  drafts?.flush(); // the draft typed so far is kept before the box takes the edit
  editing = m;
  reporting = replying = undefined;
  $("text").value = m.body;
  $("text").placeholder = `Edit #${m.seq}`;
  $("text").focus();
};
// Report: an abusive customer's message goes to the operator's moderators
// (docs/OPERATIONS.md, "Moderation"); the next send is the reason.
let reporting;
const onReport = (m) => {
  drafts?.flush();
  reporting = m;
  editing = replying = undefined;
  $("text").value = "";
  $("text").placeholder = `Why report #${m.seq}?`;
  $("text").focus();
};
// Reply: the next send answers this message (it shows quoted above).
let replying;
const onReply = (m) => {
  replying = m;
  editing = reporting = undefined;
  $("text").placeholder = `Reply to #${m.seq}`;
  $("text").focus();
};
// React: a member's one reaction per message, toggled ("" takes it back).
const onReact = (m, emoji) => {
  note("");
  client.react(m.conv, m.seq, emoji).catch((err) => note(`reaction failed: ${err.message}`));
};
const onVote = (m, options) => {
  note("");
  client.vote(m.conv, m.seq, options).catch((err) => note(`vote failed: ${err.message}`));
};
// Pin: a message for the customer and the agents to see above the chat
// (the order, the agreed appointment); unpin takes it off.
const onPin = (m, pinned) => {
  note("");
  client.changeGroupSettings(m.conv, pinned ? { unpin: m.seq } : { pin: m.seq }).catch((err) => note(`pin failed: ${err.message}`));
};
const download = (m) => client.download(m.conv, m.seq).then((r) => r.data);
let pinned; // pinTracker, once connected
let onForward; // forwarder, once connected: a copy of a text or file to a colleague or a conversation
let onHide; // hider, once connected: a message deleted for the agent alone ("delete for me"), with an Undo
let stars; // starTracker, once connected: an order number, an address, to find again in the Starred panel
let previews; // linkTracker, once connected: a link's title under its message
let names; // people, once connected: customers and colleagues by their names
// draftKeeper, once connected: the reply box is kept as the open
// conversation's draft, for the agent's other devices (an answer begun on
// the desktop is finished on the phone) and the next visit; an edit or a
// report's reason is not a draft.
let drafts;
// invitePanel, once connected: in a group the agent owns or administers
// (a team room, a class), an invite code to share and the requests to
// join that wait for an answer.
let invites;
// memberCount, once connected: "24 members" beside an open group's title.
let members;
// presenceLine, once connected: whether the open session's customer (or a
// direct chat's other member) is online, or when last seen.
let peerPresence;
// muteControl, once connected: the open conversation muted for the agent
// alone, for a while or until unmuted (a busy team room).
let mute;
// snoozeControl, once connected: the open conversation snoozed ("remind
// me tomorrow"): out of the way until then, back marked unread. The
// lists label a snoozed conversation (this page shows no archived list).
let snooze;
// labelControl, once connected: the agent's own labels of the open
// conversation ("new customer", "paid", "to ship"), shown as chips in the
// lists too, where the filter (labelFilter) keeps only those carrying one.
let labels;
const byLabel = labelFilter($("label-filter"), () => renderList());
// threadPanel, once connected: a message's replies ("2 replies"), read
// from the node, under the conversation; filesPanel the open
// conversation's shared files (the Files button).
let thread, files;
let calls; // callLine, once connected: the agent calls the open session's customer
const onThread = (m) => thread.open(client.conversation(m.conv), m);
const draw = (c) => {
  renderMessages($("messages"), c, user, { onRecall, onEdit, onReport, onReply, onReact, onVote, onPin, onForward, onHide, onThread, download, pinned: pinned?.(c), onStar: stars?.toggle, starred: stars?.seqs(c), onRemind: stars?.remind, reminders: stars?.reminders(c), preview: previews, people: names });
  thread?.follow(c); // a reply arrived (or went) in the thread shown: read it again
  members?.seen(c); // someone joined or left: the group's size again
  drawDue();
};

// showPeer shows beside the title whom the open conversation is with (a
// session's customer, a direct conversation's other member) once they
// have a name: the id is in the title already.
function showPeer(id) {
  const el = $("peer");
  const peer = id ? peerOf(id, user) : undefined;
  const name = peer && names ? names.name(peer.user, peer.conv) : "";
  el.textContent = "";
  el.title = peer?.user ?? "";
  if (peer && name !== peer.user) el.append(" · ", personView(peer.user, name, names.avatar(peer.user), peer.conv));
}

// The Starred panel: this agent's starred messages across conversations,
// read when asked (the node pushes no change), and again after a star or
// unstar while it is shown; a click opens the message's conversation.
// The open conversation's star buttons follow the list read.
async function showStarred() {
  try {
    renderStarred($("starred"), await stars.list(), (m) => open(m.conv), names);
    $("starred").dataset.loaded = "1";
    if (current) draw(client.conversation(current));
  } catch (err) {
    note(`starred messages: ${err.message}`);
  }
}
$("show-starred").onclick = showStarred;
$("show-files").onclick = () => current && files.show(current);

// Send later: the reply box's text goes into the open conversation at the
// time picked, sent by the node (a follow-up for when the shop opens);
// the Scheduled panel lists what waits, with a cancel for each.
let scheduled; // scheduledPanel, once connected
$("show-scheduled").onclick = () => scheduled.show();
$("send-later").onclick = async () => {
  // The node schedules only new messages: an edit or a report goes now.
  if (editing?.conv === current || reporting?.conv === current) return note("an edit or a report is not scheduled: press Send");
  const replyTo = replying?.conv === current ? replying.seq : undefined;
  if (!(await scheduled.schedule(current, $("text").value.trim(), $("later-at").value, { replyTo }))) return;
  editing = reporting = replying = undefined;
  $("text").placeholder = "Reply";
  $("text").value = "";
  drafts.sent(current); // the node has it now: its draft goes
};

// My service metrics from the metrics engine (docs/METRICS.md), asked over
// the protocol as this connection's user (my_metrics), in the hour windows
// (a family the engine keeps by default): the newest with activity.
// After a reply the metrics engine takes a moment to see it: look again
// shortly, a few times, rather than waiting for the half-minute refresh.
let metricsTimer, metricsTries = 0;
function soonMetrics(tries) {
  if (tries !== undefined) metricsTries = tries;
  if (!metricsTimer) metricsTimer = setTimeout(showMetrics, 2000);
}
const secs = (ms) => (ms > 0 ? `${(ms / 1000).toFixed(1)} s` : "–");
const rate = (r) => `reply rate ${Math.round(r.timelyRate * 100)}% · first response ${secs(r.avgFirstResponseMs)} · ${r.sessions} sessions`;
// Desk sessions' first responses, across nights, in opening hours, and the
// share within their lines' targets.
const deskFirst = (r) => (r.deskFirstResponses > 0
  ? ` · desk first response ${secs(r.avgDeskFirstResponseMs)}, ${Math.round(r.deskFirstTimelyRate * 100)}% within target`
  : "");
// The agents' handling: the sessions they closed and how long they held them.
const handled = (r) => (r.deskHandled > 0
  ? ` · ${r.deskResolved} resolved · avg handle ${secs(r.avgHandleMs)}`
  : "");
// Sessions the desk took back because nobody answered them in time.
const missed = (r) => (r.deskMissed > 0 ? ` · ${r.deskMissed} missed` : "");
// Customers' ratings of closed sessions: the share of 4 or 5 (CSAT).
const csat = (r) => (r.ratings > 0 ? ` · CSAT ${Math.round(r.csatRate * 100)}% of ${r.ratings} ratings` : "");

// A supervisor's team panel: the whole desk's row ("*") and one line per
// agent of the queues on the queue panel (their status and load from the
// queue, their numbers from teamMetrics), refreshed with the own metrics.
// The node refuses teamMetrics to anyone the desk does not mark supervisor.
let teamAgents = new Map();

// heldSession is one session an agent holds, with the supervisor's
// Reassign: to the agent or queue typed in the team panel (an agent who
// stopped answering keeps their sessions otherwise).
function heldSession(sessionId) {
  const conv = sessionId.slice(0, sessionId.lastIndexOf("/"));
  const div = document.createElement("div");
  div.className = "held";
  div.dataset.conv = conv;
  const b = moveButton("Reassign", conv, showTeam);
  div.append(`${conv} `, b);
  return div;
}

// statusButton sets an agent's status as the supervisor: "away" for one
// who stepped out (no new sessions), "offline" for one who left without
// signing out (its sessions go back to their queues).
function statusButton(agent, status, label) {
  const b = document.createElement("button");
  b.className = status;
  b.textContent = label;
  b.onclick = async () => {
    try {
      await sd.manageAgent(agent, { status });
      note(`${agent} set ${status}`);
    } catch (err) {
      note(`${agent} not set ${status}: ${err.message}`);
    }
    await showQueue(); // the agents' statuses as the queues see them
    void showTeam();
  };
  return b;
}

async function showTeam() {
  if (!me?.supervisor) return;
  $("team-panel").hidden = false;
  try {
    const all = (await sd.teamMetrics("*", "1h", 3)).rows.find((x) => x.questions > 0 || x.sessions > 0);
    $("team-all").textContent = all
      ? `desk: ${rate(all)}${deskFirst(all)}${handled(all)}${missed(all)} · avg queue wait ${secs(all.avgQueueWaitMs)} · ${all.abandoned} abandoned${csat(all)}`
      : "desk: no service metrics yet";
    const ul = $("team");
    const items = [];
    for (const [agent] of [...teamAgents].sort(([x], [y]) => x.localeCompare(y))) {
      const r = (await sd.teamMetrics(agent, "1h", 3)).rows.find((x) => x.questions > 0 || x.sessions > 0);
      const li = document.createElement("li");
      li.dataset.agent = agent;
      const st = await sd.agent(agent); // its sessions, and who set its status
      const by = st.statusBy && st.statusBy !== agent ? ` (set by ${st.statusBy} ${new Date(st.statusSinceMs).toLocaleTimeString()})` : "";
      li.textContent = `${st.name ? `${st.name} (${agent})` : agent} · ${st.status}${by} ${st.load}/${st.capacity} · ${r ? rate(r) + missed(r) : "no metrics yet"} `;
      if (agent !== user && st.status !== "offline") {
        if (st.status === "online") li.append(statusButton(agent, "away", "Set away"));
        li.append(statusButton(agent, "offline", "Sign out"));
      }
      li.append(...st.sessions.map(heldSession));
      items.push(li);
    }
    ul.replaceChildren(...items);
    $("team-panel").dataset.loaded = "1";
  } catch (err) {
    $("team-all").textContent = `team metrics unavailable: ${err.message}`;
  }
}

async function showMetrics() {
  metricsTimer = undefined;
  try {
    // A new window may so far hold only a queue wait: show the newest of a
    // few that has questions or sessions.
    const r = (await sd.myMetrics("1h", 3)).rows.find((x) => x.questions > 0 || x.sessions > 0);
    const el = $("metrics");
    el.dataset.loaded = "1";
    // Look again while tries are left, even once a row shows: the row
    // may predate the reply (a desk session's first response is counted
    // a moment after the reply itself).
    if (metricsTries-- > 0) soonMetrics();
    el.textContent = r
      ? `reply rate ${Math.round(r.timelyRate * 100)}% · first response ${secs(r.avgFirstResponseMs)} · avg response ${secs(r.avgResponseMs)} · ${r.sessions} sessions` +
        deskFirst(r) + handled(r) + missed(r) +
        (r.queueWaits > 0 ? ` · avg queue wait ${secs(r.avgQueueWaitMs)}` : "") + csat(r)
      : "no service metrics yet";
  } catch (err) {
    $("metrics").textContent = `metrics unavailable: ${err.message}`;
  }
}

// waitingSince: the time of the customer's oldest message in a service
// conversation (s:LINE:CUSTOMER:N) that nobody answered yet (an agent or a
// robot), 0 when the last word is not the customer's or the session closed.
function waitingSince(c) {
  const customer = c.id.split(":")[2];
  let since = 0;
  for (const m of c.visible()) {
    if (m.kind === "system") {
      try {
        if (JSON.parse(m.body).desk === "close") since = 0;
      } catch {}
    }
    if (m.kind !== "normal" && m.kind !== "card") continue;
    if (m.sender !== customer) since = 0;
    else if (!since) since = m.serverTsMs;
  }
  return since;
}
const waited = (ms) => (ms < 60_000 ? `${Math.floor(ms / 1000)}s` : ms < 3_600_000 ? `${Math.floor(ms / 60_000)}m` : `${Math.floor(ms / 3_600_000)}h`);

// The agent's sessions: those waiting for a reply first, the longest
// waiting on top (with how long), then the others by last activity.
function renderList() {
  const ul = $("convs");
  ul.textContent = "";
  byLabel.draw(client.conversations.values()); // the labels every held conversation carries
  const convs = [...client.conversations.values()].filter((c) => c.id.startsWith("s:") && byLabel.shows(c)).map((c) => ({ c, since: waitingSince(c) }));
  convs.sort((a, b) => (!a.since !== !b.since ? (a.since ? -1 : 1) : a.since ? a.since - b.since : (b.c.messages.at(-1)?.serverTsMs ?? 0) - (a.c.messages.at(-1)?.serverTsMs ?? 0)));
  for (const { c, since } of convs) {
    const li = document.createElement("li");
    li.dataset.conv = c.id;
    if (c.id === current) li.className = "active";
    li.classList.toggle("muted", c.mutedAt());
    const last = c.visible().at(-1);
    // The customer by their name, once they have one (their id is in the conversation's).
    const peer = peerOf(c.id, user);
    const name = peer && names ? names.name(peer.user, peer.conv) : "";
    li.textContent = "";
    if (peer && name !== peer.user) li.append(personView(peer.user, name, names.avatar(peer.user), peer.conv), " · ");
    const text = !last ? "" : last.kind === "system" ? systemText(last, (u) => names?.name(u, c.id) ?? u) : last.kind === "card" ? "[card] " + (last.card?.title ?? "") : last.media && !last.body ? "📎 " + last.media.name : last.body;
    li.append(`${c.id} — ${text.slice(0, 40)} `);
    const chips = labelChips(c.labels);
    if (chips) li.append(chips);
    if (drafts?.has(c.id)) {
      // Begun and not sent (on this device or another): its text as the tooltip.
      const d = document.createElement("span");
      d.className = "draft";
      d.title = drafts.text(c.id);
      d.textContent = "draft";
      li.append(d);
    }
    if (since) {
      const w = document.createElement("span");
      w.className = "waiting";
      w.title = `waiting for a reply since ${new Date(since).toLocaleTimeString()}`;
      w.textContent = `⏱ ${waited(Math.max(0, Date.now() - since))}`;
      li.append(w);
    }
    const muted = mutedMark(c);
    if (muted) li.append(muted);
    const snoozed = snoozedMark(c);
    li.classList.toggle("snoozed", !!snoozed);
    if (snoozed) li.append(snoozed);
    const unread = c.id === current ? [] : c.messages.filter((m) => m.seq > c.readSeq && m.sender !== user && isNews(m)); // the server's rule
    // A colleague who names this agent (@user, or "@all") is flagged apart.
    const mentioned = unread.filter((m) => mentionsMe(m, user)).length;
    for (const [n, cls, text] of [[unread.length, "unread", String(unread.length)], [mentioned, "unread mention", `@${mentioned}`]]) {
      if (!n) continue;
      const u = document.createElement("span");
      u.className = cls;
      u.textContent = text;
      li.append(u);
    }
    // Marked unread (by hand, or a snooze that ended): a dot where no count shows.
    const marked = c.id === current || unread.length ? undefined : markedUnreadMark(c);
    if (marked) li.append(marked);
    li.onclick = () => open(c.id);
    ul.append(li);
  }
  renderGroups();
}

// The groups the agent is in (a team room, a class), the latest active
// first, by name: a click opens one. One joined with a code, or approved
// after asking, arrives by itself (its first message); its name comes
// with no push then, so a group without one is asked its settings once.
const groupTitles = new Map(); // conv → the title its settings told
function renderGroups() {
  const groups = [...client.conversations.values()].filter((c) => isGroup(c.id) && c.member && byLabel.shows(c));
  groups.sort((a, b) => (b.messages.at(-1)?.serverTsMs ?? 0) - (a.messages.at(-1)?.serverTsMs ?? 0));
  for (const c of groups) {
    if (c.title || groupTitles.has(c.id)) continue;
    groupTitles.set(c.id, "");
    client.groupSettings(c.id).then((s) => s.title && (groupTitles.set(c.id, s.title), renderGroups()), () => {});
  }
  $("groups").replaceChildren(
    ...groups.map((c) => {
      const li = document.createElement("li");
      li.dataset.conv = c.id;
      li.title = c.id;
      if (c.id === current) li.className = "active";
      li.classList.toggle("muted", c.mutedAt());
      li.textContent = `${c.title || groupTitles.get(c.id) || c.id} `;
      const chips = labelChips(c.labels);
      if (chips) li.append(chips);
      const muted = mutedMark(c);
      if (muted) li.append(muted);
      const snoozed = snoozedMark(c);
      li.classList.toggle("snoozed", !!snoozed);
      if (snoozed) li.append(snoozed);
      if (c.id !== current && c.unread > 0) {
        const u = document.createElement("span");
        u.className = "unread";
        u.textContent = String(c.unread);
        li.append(u);
      }
      const marked = c.id === current || c.unread > 0 ? undefined : markedUnreadMark(c);
      if (marked) li.append(marked);
      li.onclick = () => open(c.id);
      return li;
    }),
  );
}

// Saved replies of the open conversation's business line (s:LINE:…),
// their placeholders filled for its session by the node ("Hi
// {customer_name|there}"): picking one puts its text in the reply box.
// Asked again once a minute at most (an admin may change them, the
// customer their name); a failed ask keeps what was known.
const savedByConv = new Map(); // conv → { at, list }
const savedFreshMs = 60_000;
async function showSaved(id) {
  const sel = $("saved");
  sel.hidden = true;
  if (!id.startsWith("s:") || !sd) return;
  let known = savedByConv.get(id);
  if (!known || Date.now() - known.at > savedFreshMs) {
    // Filled for the session when this agent holds it; else the line's.
    const list = await sd.savedRepliesFor(id).catch(() => sd.savedReplies(id.split(":")[1])).catch(() => null);
    if (list) savedByConv.set(id, (known = { at: Date.now(), list }));
  }
  const list = known?.list ?? [];
  if (current !== id || !list.length) return;
  sel.replaceChildren(new Option("Saved replies…", ""), ...list.map((r) => new Option(r.name, r.text)));
  sel.hidden = false;
}
$("saved").onchange = () => {
  if (!$("saved").value) return;
  $("text").value = $("saved").value;
  $("saved").value = "";
  $("text").focus();
  drafts?.typed();
};

// The open session's first-response target (docs/DESK.md,
// "First-response targets"): when an agent's first message is due, shown
// until an agent wrote in the session; overdue in red.
let due; // { conv, dueMs, startedMs, agent, answerByMs }
function drawDue() {
  drawAnswerBy();
  const el = $("due");
  const c = due?.dueMs && due.conv === current ? client.conversation(current) : undefined;
  const answered = c?.messages.some((m) => (m.role === "agent" || m.sender === user) && (m.kind === "normal" || m.kind === "card") &&
    (m.serverTsMs === 0 || m.serverTsMs >= due.startedMs));
  const late = !!c && !answered && Date.now() > due.dueMs;
  el.textContent = !c || answered ? "" : `first response ${late ? "overdue since" : "due by"} ${new Date(due.dueMs).toLocaleTimeString()}`;
  el.classList.toggle("late", late);
}

// The desk's answer timeout (docs/DESK.md, "Unanswered sessions"): when
// the open session goes back to its queue unless its agent writes in it
// since it was given to them; shown until they did.
function drawAnswerBy() {
  const el = $("answer-by");
  const c = due?.answerByMs && due.conv === current ? client.conversation(current) : undefined;
  let given = 0; // the seq of the step that gave the session to its agent
  let gone = false; // a later step took it from them (a re-queue, a transfer, the close)
  for (const m of c?.messages ?? []) {
    if (m.kind !== "system") continue;
    try {
      const b = JSON.parse(m.body);
      if ((b.desk === "assigned" && b.agent === due.agent) || (b.desk === "transfer" && b.to === `user:${due.agent}`)) [given, gone] = [m.seq, false];
      else if (given && ["requeue", "transfer", "close"].includes(b.desk)) gone = true;
    } catch {}
  }
  const answered = c?.messages.some((m) => m.sender === due.agent && (m.kind === "normal" || m.kind === "card") && (m.seq === 0 || m.seq > given));
  const show = !!c && given > 0 && !gone && !answered;
  el.textContent = show ? `answer by ${new Date(due.answerByMs).toLocaleTimeString()} or it goes back to the queue` : "";
  el.classList.toggle("late", show);
}

// drawNotes shows a session's internal notes, each by its author's name,
// and its tags (none: empty panels).
let notesShown;
function drawNotes(s) {
  notesShown = s;
  due = s ? { conv: s.conv, dueMs: s.firstResponseDueMs, startedMs: s.startedMs, agent: s.agent, answerByMs: s.answerByMs } : undefined;
  drawDue();
  $("tags").textContent = s?.tags?.length ? `tags: ${s.tags.join(", ")}` : "";
  // The customer's attributes (their plan, e-mail, orders), by name.
  const attrs = Object.entries(s?.customerAttributes ?? {}).sort(([a], [b]) => a.localeCompare(b));
  $("customer").textContent = attrs.length ? `customer: ${attrs.map(([k, v]) => `${k}: ${v}`).join(" · ")}` : "";
  $("notes").replaceChildren(...(s?.notes ?? []).map((n) => {
    const d = document.createElement("div");
    d.className = "note";
    d.append(personView(n.by, names?.name(n.by, s.conv) ?? n.by, "", s.conv), `, ${new Date(n.atMs).toLocaleString()}: ${n.text}`);
    return d;
  }));
}

// showNotes reads the notes of a desk conversation (a transfer may have
// left one for this agent).
async function showNotes(id) {
  drawNotes(undefined);
  if (!id.startsWith("s:")) return;
  try {
    const s = await sd.session(id);
    if (current === id) drawNotes(s);
  } catch (err) {
    note(`notes: ${err.message}`);
  }
}

async function open(id) {
  if (id !== current) {
    // The box's text stays with the conversation left, as its draft; an
    // edit, a report or a reply begun there ends.
    drafts?.leave(current);
    thread?.close(); // the thread shown was the conversation left's
    editing = reporting = replying = undefined;
    $("text").placeholder = "Reply";
  }
  current = id;
  // Shown anew: its users' names are read again (the node pushes no change).
  names?.refresh(id);
  names?.refresh("");
  showSaved(id);
  void showNotes(id);
  $("title").textContent = id;
  showPeer(id);
  $("text").disabled = $("send").disabled = $("send-card").disabled = $("send-poll").disabled = $("later-at").disabled = $("send-later").disabled = $("show-files").disabled = $("transfer").disabled = $("close").disabled = $("file").disabled = $("where").disabled = false;
  $("note-text").disabled = $("add-note").disabled = $("tag-text").disabled = $("add-tags").disabled = $("call").disabled = $("video-call").disabled = !id.startsWith("s:");
  allToggle.open(id);
  void invites?.open(id); // shown in a group the agent manages
  members?.open(id);
  peerPresence?.open(id ? peerOf(id, user) : undefined);
  mute?.open(id);
  snooze?.open(id);
  labels?.open(id);
  drafts?.open(id); // its draft, unless the box holds something already
  await client.history(id).catch(() => {});
  const c = client.conversation(id);
  draw(c);
  const last = c.messages.at(-1);
  if (last) client.markRead(id, last.seq).catch(() => {});
  renderList();
}

$("connect").onclick = async () => {
  user = $("user").value.trim();
  $("connect").disabled = true;
  const device = await tabDevice(user, "workbench");
  client = new Client({ url: location.origin, token: () => token(user, device), device, transports: transports(), minBackoffMs: 100, maxBackoffMs: 2000 });
  client.on("state", (s) => s === "connected" && tokenWorked(user, device));
  window.switchboardClient = client;
  pinned = pinTracker(client, (c) => c.id === current && draw(c));
  onForward = forwarder(client, note);
  onHide = hider(client, $("hide-note"), note);
  previews = linkTracker(client, (id) => id === current && draw(client.conversation(id)));
  stars = starTracker(client, (id) => {
    if (id === current) draw(client.conversation(id));
    if ($("starred").dataset.loaded) void showStarred();
  }, note);
  scheduled = scheduledPanel(client, $("scheduled"), open, note);
  members = memberCount(client, $("member-count"));
  peerPresence = presenceLine(client, $("peer-presence"));
  invites = invitePanel(client, { panel: $("invite-panel"), create: $("create-invite"), approval: $("invite-approval"), code: $("invite-code"), list: $("join-requests") }, note);
  mute = muteControl(client, $("mute"), $("muted-state"), note);
  snooze = snoozeControl(client, $("snooze"), $("snoozed-state"), note);
  labels = labelControl(client, { chips: $("conv-labels"), form: $("label-form"), input: $("label-text"), add: $("add-label") }, note);
  joinForm(client, $("join-form"), $("join-code"), (t) => ($("join-note").textContent = t), open, $("join-request-note"));
  drafts = draftKeeper(client, $("text"), () => current, renderList, note, () => !editing && !reporting);
  // Names: read when shown, and everything that shows them drawn again
  // once read.
  names = people(client, () => {
    if (current) {
      draw(client.conversation(current));
      showPeer(current);
      if (notesShown?.conv === current) drawNotes(notesShown);
    }
    renderList();
    relabel($("starred"), names);
    relabel($("search-results"), names);
    relabel($("files"), names);
    relabel($("thread"), names);
  });
  thread = threadPanel(client, $("thread"), note, names);
  files = filesPanel(client, $("files"), download, note, names);
  showStatus(client);
  typingLine(client, $("typing"), () => current, names);
  calls = callLine(client, $("call-line"), (u) => names?.name(u, current) ?? u);
  // A supervisor's note on the open session shows at once.
  client.on("deskNote", (conv) => conv === current && void showNotes(conv));
  // A supervisor (or the admin, or the desk) changed my state: show it.
  client.on("deskAgent", async (by) => {
    me = await sd?.status().catch(() => me);
    if (!me) return;
    $("presence").value = me.status;
    showWrapUp();
    if (by !== "desk") note(`${by} set you ${me.status}`);
  });
  client.on("conversation", (c) => {
    if (c.id.startsWith("s:")) void takenUnanswered(c);
    if (c.id === current) {
      draw(c);
      const last = c.messages.at(-1);
      if (last && last.sender !== user && last.seq > c.readSeq) {
        c.readSeq = last.seq;
        client.markRead(current, last.seq).catch(() => {});
      }
    }
    renderList();
  });
  await client.connect();
  sd = new ServiceDesk(client);
  try {
    me = await signIn();
  } catch (err) {
    note(`not signed in as an agent: ${err.message}`);
    client.close();
    $("connect").disabled = false;
    return;
  }
  $("presence").value = me.status;
  showWrapUp();
  void profileForm(client, $("profile-name"), $("profile-avatar"), $("save-profile"), note, names).load();
  // On holiday: whoever writes to the agent directly is answered, once.
  void awayForm(client, { text: $("away-text"), until: $("away-for"), save: $("save-away"), clear: $("clear-away"), state: $("away-state") }, note).load();
  $("search-text").disabled = $("search-from").disabled = $("search-mentions").disabled = $("search").disabled = $("join-code").disabled = $("join").disabled = $("join-request-note").disabled = $("reach-customer").disabled = $("reach-scene").disabled = $("reach").disabled = $("show-starred").disabled = $("show-scheduled").disabled = false;
  renderList();
  setInterval(renderList, 15_000); // the waiting times move on
  void showQueue().then(showTeam); // the team's agents come with the queues
  setInterval(showQueue, 2000);
  void showMetrics();
  setInterval(showMetrics, 30000);
  if (me.supervisor) setInterval(showTeam, 30000);
  // Recall buttons go away when the recall window ends.
  setInterval(() => current && draw(client.conversation(current)), 15000);
};

// signIn sets the chosen status over the protocol, as the signed-in user.
// Only a registered agent may: a dev node registers a new one (capacity 3,
// the skills typed in) through its admin proxy, a convenience no other
// node offers (there the admin registers agents: docs/DESK.md).
async function signIn() {
  const status = $("presence").value;
  try {
    return await sd.status(status);
  } catch (err) {
    if (!isForbidden(err)) throw err;
    const skills = $("skills").value.split(",").map((s) => s.trim()).filter(Boolean);
    try {
      await adminDesk.agent(user, { capacity: 3, skills });
    } catch {
      throw err; // no dev node: the protocol's refusal says it all
    }
    return await sd.status(status);
  }
}

// moveButton is a supervisor's transfer of conv's session to the agent or
// queue typed in the team panel: "Reassign" for a held session, "Assign"
// for a waiting one (past the queue's order).
function moveButton(label, conv, refresh) {
  const b = document.createElement("button");
  b.className = label.toLowerCase();
  b.textContent = label;
  b.onclick = async () => {
    const verb = label.toLowerCase();
    const to = $("reassign-to").value.trim();
    if (!to) return note(`type user:ID or queue:SKILL to ${verb} to`);
    try {
      const s = await sd.transfer(conv, to, "");
      note(`${conv} ${verb}ed${s.agent ? " to " + s.agent : " to queue " + s.queue}`);
    } catch (err) {
      note(`${verb} failed: ${err.message}`);
    }
    void refresh();
  };
  return b;
}

// The queue panel: the waiting customers of my skill groups (and my own
// queue), polled over the protocol.
let queueBusy = false;
async function showQueue() {
  if (queueBusy) return;
  queueBusy = true;
  try {
    await drawQueue();
  } finally {
    queueBusy = false;
  }
}
async function drawQueue() {
  const ul = $("queue");
  const rows = [];
  try {
    const agents = new Map();
    for (const skill of [...me.skills, "@" + user]) {
      const q = await sd.queue(skill);
      rows.push(...q.waiting.map((w) => ({ ...w, skill, total: q.total })));
      for (const a of q.agents) if (a.user !== user) agents.set(a.user, a);
    }
    teamAgents = agents;
  } catch (err) {
    $("queue-count").textContent = `(unavailable: ${err.message})`;
    return;
  }
  rows.sort((a, b) => a.sinceMs - b.sinceMs);
  ul.textContent = "";
  for (const w of rows) {
    const li = document.createElement("li");
    li.dataset.conv = w.conv;
    li.dataset.position = String(w.position);
    // Who waits, by name (the queue's readers see it: docs/DESK.md); the
    // conversation's id in the tooltip.
    li.title = w.conv;
    li.textContent = `#${w.position} ${w.priority ? `★${w.priority} ` : ""}${w.skill} · ${w.customerName || w.customer || w.conv} · waiting ${Math.max(0, Math.round((Date.now() - w.sinceMs) / 1000))} s`;
    if (w.firstResponseDueMs) {
      // Only while no agent has had the session: the line's target.
      const late = Date.now() > w.firstResponseDueMs;
      const span = document.createElement("span");
      span.className = late ? "due late" : "due";
      span.textContent = `first response ${late ? "overdue since" : "due by"} ${new Date(w.firstResponseDueMs).toLocaleTimeString()}`;
      li.append(span);
    }
    if (me?.supervisor) li.append(" ", moveButton("Assign", w.conv, showQueue));
    ul.append(li);
  }
  $("queue-count").textContent = `(${rows.length})`;
  ul.dataset.loaded = "1";
}

// takenUnanswered: the desk gave a session of mine back to its queue
// because I wrote nothing in it for its answer timeout, and set me away
// (docs/DESK.md, "Unanswered sessions"): say so, and show the status.
const unanswered = new Set(); // the steps already told, by conv/seq
async function takenUnanswered(c) {
  const m = c.messages.at(-1);
  // Told once, and only as it happens (not again after a reload).
  if (m?.kind !== "system" || unanswered.has(`${c.id}/${m.seq}`) || Date.now() - m.serverTsMs > 60_000) return;
  let step;
  try {
    step = JSON.parse(m.body);
  } catch {
    return;
  }
  if (step.desk !== "requeue" || step.reason !== "unanswered" || step.agent !== user) return;
  unanswered.add(`${c.id}/${m.seq}`);
  note(`${c.id} went back to the queue: no answer from you within ${Math.round(step.answer_timeout_ms / 1000)} s. You are away until you choose online.`);
  me = await sd?.status().catch(() => me);
  if (me) $("presence").value = me.status;
}

// The slots my closed sessions keep taken (the desk's wrap-up time): shown
// until they end, with a Ready button that ends them at once.
let wrapUpTimer;
function showWrapUp() {
  clearTimeout(wrapUpTimer);
  const slots = me?.wrapUp ?? [];
  $("wrap-up").hidden = $("ready").hidden = !slots.length;
  if (!slots.length) return;
  $("wrap-up").textContent = `wrap-up: ${slots.length} until ${new Date(slots.at(-1).untilMs).toLocaleTimeString()}`;
  wrapUpTimer = setTimeout(async () => {
    me = await sd.status().catch(() => me);
    showWrapUp();
  }, Math.max(500, slots[0].untilMs - Date.now() + 200));
}
$("ready").onclick = async () => {
  try {
    me = await sd.endWrapUp();
    showWrapUp();
  } catch (err) {
    note(`ready: ${err.message}`);
  }
};

$("presence").onchange = async () => {
  if (!sd) return;
  try {
    me = await sd.status($("presence").value);
    showWrapUp();
    note("");
  } catch (err) {
    note(`status: ${err.message}`);
  }
};
$("text").oninput = () => {
  if (!current) return;
  client.typing(current);
  drafts.typed();
};
attachFile(() => client, $("file"), $("text"), () => current, note, (conv) => drafts.sent(conv));
shareLocation(() => client, $("where"), $("text"), () => current, note);
// "@all": in a group the agent owns or administers (a team room, a class),
// the next send mentions every member (mentionAllToggle).
const allToggle = mentionAllToggle($("mention-all"));
$("compose").onsubmit = (ev) => {
  ev.preventDefault();
  const t = $("text").value.trim();
  if (!t || !current) return;
  const message = !(reporting?.conv === current || editing?.conv === current); // a new message, not a report or an edit
  if (reporting && reporting.conv === current) {
    const seq = reporting.seq;
    client.report(current, seq, t).then(
      (r) => note(`#${seq} reported to the moderators (report ${r.reportId})`),
      (err) => note(`report failed: ${err.message}`),
    );
  } else if (editing && editing.conv === current) {
    note("");
    client.edit(current, editing.seq, t).catch((err) => note(`edit failed: ${err.message}`));
  } else {
    if (!allToggle.send(client, current, t)) {
      // Not an "@all" (which answers nothing): a reply or a plain message.
      if (replying && replying.conv === current) client.reply(current, replying.seq, t);
      else client.send(current, t);
    }
    drafts.sent(current); // sent: its draft goes
  }
  editing = reporting = replying = undefined;
  $("text").placeholder = "Reply";
  $("text").value = "";
  // An edit or a report done: the draft begun before it comes back.
  if (!message) drafts.open(current);
  soonMetrics(15); // a desk session's first response is counted a moment after the reply: longer on a busy node
};
$("send-card").onclick = () => current && client.sendCard(current, demoCard);
$("send-poll").onclick = () => current && client.sendPoll(current, demoPoll);
$("transfer").onclick = async () => {
  const conv = current;
  try {
    const s = await sd.transfer(conv, $("transfer-to").value.trim(), $("transfer-note").value.trim());
    $("title").textContent = `${conv} (transferred${s.agent ? " to " + s.agent : ""})`;
    $("transfer-note").value = "";
  } catch (err) {
    note(`transfer failed: ${err.message}`);
  }
};
$("note-form").onsubmit = async (e) => {
  e.preventDefault();
  const conv = current, text = $("note-text").value.trim();
  if (!conv || !text) return;
  try {
    drawNotes(await sd.note(conv, text));
    $("note-text").value = "";
  } catch (err) {
    note(`note failed: ${err.message}`);
  }
};
// Tags are typed as a list; one with a leading "-" is removed.
$("tag-form").onsubmit = async (e) => {
  e.preventDefault();
  const conv = current, words = $("tag-text").value.split(/[\s,]+/).filter((w) => w !== "" && w !== "-");
  if (!conv || words.length === 0) return;
  const remove = words.filter((w) => w.startsWith("-")).map((w) => w.slice(1));
  const add = words.filter((w) => !w.startsWith("-"));
  try {
    drawNotes(await sd.tag(conv, { add, remove }));
    $("tag-text").value = "";
  } catch (err) {
    note(`tags failed: ${err.message}`);
  }
};
// Reach out: an outbound session with a customer, the agent's at once,
// opened here to write the first message.
$("reach-form").onsubmit = async (e) => {
  e.preventDefault();
  const customer = $("reach-customer").value.trim();
  const scene = $("reach-scene").value.trim();
  if (!customer || !scene) return note("type the customer and a scene to reach out");
  try {
    const s = await sd.reach(customer, scene);
    note(`${s.conv}: session with ${customer} opened`);
    await open(s.conv);
  } catch (err) {
    note(`reach out failed: ${err.message}`);
  }
};
// Search reads all of this agent's conversations (the sessions it had,
// newest first as its list shows them); a match opens its conversation.
// More pages follow a "more" entry. "from" keeps one user's messages
// (sender), "@me" those that mention this agent (by name, as the author a
// group reply answers, or everyone): with either the words may be empty.
$("search-form").onsubmit = async (e) => {
  e.preventDefault();
  const query = $("search-text").value.trim();
  const sender = $("search-from").value.trim();
  const mentions = $("search-mentions").checked;
  const ul = $("search-results");
  ul.textContent = "";
  if (!query && !sender && !mentions) return;
  const page = async (from) => {
    let r;
    try {
      r = await client.searchEverywhere(query, { from, limit: 20, sender, mentions });
    } catch (err) {
      note(`search failed: ${err.message}`);
      return;
    }
    ul.querySelector(".more")?.remove();
    for (const m of r.messages) {
      const li = document.createElement("li");
      li.dataset.conv = m.conv;
      li.textContent = `${m.conv} #${m.seq} `;
      li.append(personView(m.sender, names.name(m.sender, m.conv), names.avatar(m.sender), m.conv), `: ${(m.body || m.media?.name || "").slice(0, 60)}`);
      li.onclick = () => open(m.conv);
      ul.append(li);
    }
    if (r.next) {
      const li = document.createElement("li");
      li.className = "more";
      li.textContent = "more…";
      li.onclick = () => page(r.next);
      ul.append(li);
    } else if (!ul.children.length) {
      ul.textContent = "nothing found";
    }
  };
  await page(undefined);
};
$("profile-form").onsubmit = (e) => e.preventDefault(); // Save does it
$("away-form").onsubmit = (e) => e.preventDefault(); // Save does it
$("close").onclick = async () => {
  const conv = current;
  try {
    await sd.close(conv);
    $("title").textContent = `${conv} (closed)`;
    $("title").dataset.closed = conv;
    me = await sd.status();
    showWrapUp();
  } catch (err) {
    note(`close failed: ${err.message}`);
  }
};

// The agent calls the open session's customer (in the browser, voice or
// video): the customer's chat page rings.
const callCustomer = (video) => {
  const peer = current && peerOf(current, user);
  if (peer) void calls?.start(current, names?.name(peer.user, peer.conv) ?? peer.user, video);
};
$("call").onclick = () => callCustomer(false);
$("video-call").onclick = () => callCustomer(true);
