import { Client, desk, params, renderMessages, showStatus, token, transports, typingLine } from "./common.js";

const $ = (id) => document.getElementById(id);
if (params.get("user")) $("user").value = params.get("user");
let client, current, user;

function renderList() {
  const ul = $("convs");
  ul.textContent = "";
  const convs = [...client.conversations.values()].filter((c) => c.id.startsWith("s:"));
  convs.sort((a, b) => (b.messages.at(-1)?.serverTsMs ?? 0) - (a.messages.at(-1)?.serverTsMs ?? 0));
  for (const c of convs) {
    const li = document.createElement("li");
    li.dataset.conv = c.id;
    if (c.id === current) li.className = "active";
    const last = c.all().filter((m) => m.kind !== "recall").at(-1);
    li.textContent = `${c.id} — ${last ? last.body.slice(0, 40) : ""} `;
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
  $("text").disabled = $("send").disabled = $("transfer").disabled = $("close").disabled = false;
  await client.history(id).catch(() => {});
  const c = client.conversation(id);
  renderMessages($("messages"), c, user);
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
      renderMessages($("messages"), c, user);
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
};

$("presence").onchange = () => desk.agent(user, { status: $("presence").value });
$("text").oninput = () => current && client.typing(current);
$("compose").onsubmit = (ev) => {
  ev.preventDefault();
  const t = $("text").value.trim();
  if (!t || !current) return;
  client.send(current, t);
  $("text").value = "";
};
$("transfer").onclick = async () => {
  await desk.transfer(user, current, $("transfer-to").value.trim());
  $("title").textContent = `${current} (transferred)`;
};
$("close").onclick = async () => {
  await desk.close(user, current);
  $("title").textContent = `${current} (closed)`;
};
