import { Client, desk, params, renderMessages, showStatus, token, transports, typingLine } from "./common.js";

const $ = (id) => document.getElementById(id);
if (params.get("user")) $("user").value = params.get("user");
if (params.get("scene")) $("scene").value = params.get("scene");
let client, conv;

$("enter").onclick = async () => {
  const user = $("user").value.trim();
  $("enter").disabled = true;
  client = new Client({ url: location.origin, token: () => token(user, "web"), transports: transports(), minBackoffMs: 100, maxBackoffMs: 2000 });
  window.switchboardClient = client;
  showStatus(client);
  typingLine(client, $("typing"), () => conv);
  client.on("conversation", (c) => {
    if (c.id !== conv) return;
    renderMessages($("messages"), c, client.user);
    const last = c.messages.at(-1);
    if (last && last.sender !== client.user && last.seq > c.readSeq) client.markRead(conv, last.seq).catch(() => {});
  });
  await client.connect();
  let e;
  try {
    e = await desk.enter(user, $("scene").value.trim());
  } catch (err) {
    $("info").textContent = `could not start: ${err.message}`;
    $("enter").disabled = false;
    return;
  }
  conv = e.conv;
  $("info").textContent = e.agent ? `with ${e.agent}` : `queue position ${e.queue_position}`;
  $("info").dataset.conv = conv;
  await client.history(conv);
  renderMessages($("messages"), client.conversation(conv), client.user);
  $("text").disabled = $("send").disabled = false;
  setInterval(async () => {
    try {
      const s = await desk.session(conv, user);
      $("info").textContent = s.agent ? `with ${s.agent}` : s.state === "closed" ? "closed" : `queue position ${s.queue_position ?? "?"}`;
    } catch {}
  }, 2000);
};

$("text").oninput = () => conv && client.typing(conv);
$("compose").onsubmit = (ev) => {
  ev.preventDefault();
  const t = $("text").value.trim();
  if (!t || !conv) return;
  client.send(conv, t);
  $("text").value = "";
};
