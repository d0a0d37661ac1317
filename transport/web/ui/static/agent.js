import { Client, demoCard, desk, params, renderMessages, showStatus, token, transports, typingLine } from "./common.js";

const $ = (id) => document.getElementById(id);
if (params.get("user")) $("user").value = params.get("user");
let client, current, user;

const note = (t) => ($("card-note").textContent = t);
const onRecall = (m) => {
  note("");
  client.recall(m.conv, m.seq).catch((err) => note(`recall failed: ${err.message}`));
};
const draw = (c) => renderMessages($("messages"), c, user, { onRecall });

// My service metrics from the metrics engine (docs/METRICS.md), over the
// hour windows (a family the engine keeps by default): the newest with activity.
// After a reply the metrics engine takes a moment to see it: look again
// shortly, a few times, rather than waiting for the half-minute refresh.
let metricsTimer, metricsTries = 0;
function soonMetrics(tries) {
  if (tries !== undefined) metricsTries = tries;
  if (!metricsTimer) metricsTimer = setTimeout(showMetrics, 2000);
}
const secs = (ms) => (ms > 0 ? `${(ms / 1000).toFixed(1)} s` : "–");
async function showMetrics() {
  metricsTimer = undefined;
  try {
    const rows = await desk.metrics(user, "1h");
    const r = rows.filter((x) => x.questions > 0 || x.sessions > 0).sort((a, b) => Date.parse(b.window_end) - Date.parse(a.window_end))[0];
    const el = $("metrics");
    el.dataset.loaded = "1";
    if (!r && metricsTries-- > 0) soonMetrics();
    el.textContent = r
      ? `reply rate ${Math.round(r.timely_rate * 100)}% · first response ${secs(r.avg_first_response_ms)} · avg response ${secs(r.avg_response_ms)} · ${r.sessions} sessions`
      : "no service metrics yet";
  } catch (err) {
    $("metrics").textContent = `metrics unavailable: ${err.message}`;
  }
}

function renderList() {
  const ul = $("convs");
  ul.textContent = "";
  const convs = [...client.conversations.values()].filter((c) => c.id.startsWith("s:"));
  convs.sort((a, b) => (b.messages.at(-1)?.serverTsMs ?? 0) - (a.messages.at(-1)?.serverTsMs ?? 0));
  for (const c of convs) {
    const li = document.createElement("li");
    li.dataset.conv = c.id;
    if (c.id === current) li.className = "active";
    const last = c.visible().at(-1);
    li.textContent = `${c.id} — ${last ? (last.kind === "card" ? "[card] " + (last.card?.title ?? "") : last.body).slice(0, 40) : ""} `;
    const unread = c.id === current ? 0 : c.messages.filter((m) => m.seq > c.readSeq && m.sender !== user && m.kind === "normal").length;
    if (unread) {
      const u = document.createElement("span");
      u.className = "unread";
      u.textContent = String(unread);
      li.append(u);
    }
    li.onclick = () => open(c.id);
    ul.append(li);
  }
}

async function open(id) {
  current = id;
  $("title").textContent = id;
  $("text").disabled = $("send").disabled = $("send-card").disabled = $("transfer").disabled = $("close").disabled = false;
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
  client = new Client({ url: location.origin, token: () => token(user, "workbench"), transports: transports(), minBackoffMs: 100, maxBackoffMs: 2000 });
  window.switchboardClient = client;
  showStatus(client);
  typingLine(client, $("typing"), () => current);
  client.on("conversation", (c) => {
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
  await desk.agent(user, { status: "online", capacity: 3, skills: $("skills").value.split(",").map((s) => s.trim()).filter(Boolean) });
  $("presence").disabled = false;
  renderList();
  void showMetrics();
  setInterval(showMetrics, 30000);
  // Recall buttons go away when the recall window ends.
  setInterval(() => current && draw(client.conversation(current)), 15000);
};

$("presence").onchange = () => desk.agent(user, { status: $("presence").value });
$("text").oninput = () => current && client.typing(current);
$("compose").onsubmit = (ev) => {
  ev.preventDefault();
  const t = $("text").value.trim();
  if (!t || !current) return;
  client.send(current, t);
  $("text").value = "";
  soonMetrics(5);
};
$("send-card").onclick = () => current && client.sendCard(current, demoCard);
$("transfer").onclick = async () => {
  await desk.transfer(user, current, $("transfer-to").value.trim());
  $("title").textContent = `${current} (transferred)`;
};
$("close").onclick = async () => {
  await desk.close(user, current);
  $("title").textContent = `${current} (closed)`;
};
