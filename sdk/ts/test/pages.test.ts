// The served pages' shared code (transport/web/ui/static/common.js), run
// in node with the browser globals it uses stubbed: outside --dev a page
// asks for a token once per tab, not on every reconnect; a forwarded
// message is labelled, and a text or a file forwarded where the user says;
// stars and the Starred panel; Send later and the Scheduled panel; "@all"
// shown on a message, and the workbench's "@all" toggle; users shown by
// their profiles' names, read in batches, and the "Your name" setting;
// the compose box kept as the open conversation's draft; joining a group
// with a code, and a group's invite code and requests to join; the
// workbench's mute menu; the workbench's "Away message" setting, and an
// automatic reply labelled; a message deleted for me, with its Undo; a
// message's replies ("2 replies") and its thread panel, and the Files list;
// the workbench's own labels of a conversation, and its filter by label;
// the workbench's snooze menu, and its marks in the lists; a group's size
// beside its title; whether the open chat's peer is online.
// cmd/switchboard's TestBrowserPages drives the pages in Chromium.
import { mock, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Conversation, type ChatMessage } from "../src/store.js";
import { Code } from "../src/gen/wire_pb.js";

const jwt = (exp: number) => `x.${Buffer.from(JSON.stringify({ sub: "a1", exp })).toString("base64url")}.y`;

test("pages keep a prompted token for the tab", async () => {
  const kept = new Map<string, string>();
  const g = globalThis as any;
  g.location = { search: "", origin: "http://node.test" };
  g.sessionStorage = { getItem: (k: string) => kept.get(k) ?? null, setItem: (k: string, v: string) => kept.set(k, v), removeItem: (k: string) => kept.delete(k) };
  g.fetch = async () => ({ ok: false, status: 404 }); // no /dev/token: not a dev node
  let asked = 0;
  let answer = jwt(Math.floor(Date.now() / 1000) + 3600);
  g.prompt = () => (asked++, answer);
  const here = path.dirname(fileURLToPath(import.meta.url)); // sdk/ts/dist/test
  const page = await import(pathToFileURL(path.resolve(here, "../../../../transport/web/ui/static/common.js")).href);

  const first = await page.token("a1", "workbench");
  assert.equal(first, answer);
  assert.equal(asked, 1);
  // Reconnects that get their welcome: no prompt.
  for (let i = 0; i < 5; i++) {
    assert.equal(await page.token("a1", "workbench"), first);
    page.tokenWorked("a1", "workbench");
  }
  assert.equal(asked, 1);
  // Another device of the page has its own token.
  await page.token("a1", "web");
  assert.equal(asked, 2);

  // A token that never gets a welcome is asked again after three tries.
  answer = jwt(Math.floor(Date.now() / 1000) + 3600) + "2";
  for (let i = 0; i < 3; i++) assert.equal(await page.token("a1", "workbench"), first);
  assert.equal(asked, 2);
  assert.equal(await page.token("a1", "workbench"), answer);
  assert.equal(asked, 3);
  page.tokenWorked("a1", "workbench");

  // An expired token is asked again at once.
  kept.set("switchboard.token.a1/workbench", jwt(Math.floor(Date.now() / 1000) - 1));
  answer = jwt(Math.floor(Date.now() / 1000) + 3600) + "3";
  assert.equal(await page.token("a1", "workbench"), answer);
  assert.equal(asked, 4);

  // No answer: no token.
  kept.clear();
  answer = "";
  await assert.rejects(page.token("a1", "workbench"), /no token/);
});

// FakeElement is the little of the DOM renderMessages uses.
class FakeElement {
  children: FakeElement[] = [];
  className = "";
  title = "";
  dataset: Record<string, string> = {};
  onclick?: (ev?: { stopPropagation(): void }) => unknown;
  scrollTop = 0;
  scrollHeight = 0;
  private text = "";
  get textContent(): string {
    return this.text + this.children.map((c) => c.textContent).join("");
  }
  set textContent(t: string) {
    this.text = t;
    this.children = [];
  }
  append(...cs: (FakeElement | string)[]) {
    for (const c of cs) this.children.push(typeof c === "string" ? Object.assign(new FakeElement(), { text: c }) : c);
  }
  click() {} // a link's save (fileLink): nothing to save here
  /** find: the element and its descendants whose classes include cls. */
  find(cls: string): FakeElement[] {
    const own = this.className.split(" ").includes(cls) ? [this] : [];
    return [...own, ...this.children.flatMap((c) => c.find(cls))];
  }
}

// loadPage loads the pages' shared module (common.js) with a fake DOM
// whose elements are FakeElements.
async function loadPage(): Promise<any> {
  const g = globalThis as any;
  g.location ??= { search: "", origin: "http://node.test" };
  g.document = { createElement: () => new FakeElement() };
  const here = path.dirname(fileURLToPath(import.meta.url)); // sdk/ts/dist/test
  return import(pathToFileURL(path.resolve(here, "../../../../transport/web/ui/static/common.js")).href);
}

test("a voice note or a video says how long it plays before it is read", async () => {
  const page = await loadPage();
  assert.deepEqual([42_000, 62_400, 3_723_000].map(page.playTime), ["0:42", "1:02", "1:02:03"]);
  const c = new Conversation("d:alice:bob");
  const base = { conv: "d:alice:bob", sender: "bob", recalled: false, serverTsMs: Date.now(), kind: "normal" as const, body: "" };
  c.insert({ ...base, seq: 1, clientMsgId: "a", media: { id: "v", name: "note.ogg", mime: "audio/ogg", size: 2048, chunks: 1, durationMs: 42_000 } });
  c.insert({ ...base, seq: 2, clientMsgId: "b", media: { id: "f", name: "list.pdf", mime: "application/pdf", size: 2048, chunks: 1 } });
  const el = new FakeElement();
  page.renderMessages(el, c, "alice", { download: async () => new Uint8Array() });
  const links = el.find("media").map((a) => a.textContent);
  assert.equal(links.length, 2);
  assert.match(links[0], /^🎤 note\.ogg \(0:42, /);
  assert.match(links[1], /^📎 list\.pdf \(/);
});

test("a shared place: a link that opens it on a map, named or by its coordinates; none once recalled", async () => {
  const page = await loadPage();
  const c = new Conversation("d:buyer:seller");
  const base = { conv: "d:buyer:seller", sender: "buyer", serverTsMs: Date.now(), kind: "normal" as const };
  c.insert({ ...base, seq: 1, clientMsgId: "a", recalled: false, body: "here at 6?", location: { lat: 52.52, lng: 13.405, name: "Café am Markt" } });
  c.insert({ ...base, seq: 2, clientMsgId: "b", recalled: false, body: "", location: { lat: -33.8568, lng: 151.2153 } });
  c.insert({ ...base, seq: 3, clientMsgId: "c", recalled: true, body: "", location: { lat: 1, lng: 2, name: "gone" } });
  const el = new FakeElement();
  page.renderMessages(el, c, "seller", {});
  const links = el.find("location");
  assert.deepEqual(links.map((a) => a.textContent), ["📍 Café am Markt", "📍 -33.85680, 151.21530"]);
  assert.match((links[0] as any).href, /^https:\/\/www\.openstreetmap\.org\/\?mlat=52\.52&mlon=13\.405#map=17\/52\.52\/13\.405$/);
  const now = Date.now();
  assert.match(page.locationView({ lat: 1, lng: 2, name: "courier", liveUntilMs: now + 600_000 }, now).textContent, /^📍 courier · live until /);
  assert.equal(page.locationView({ lat: 1, lng: 2, name: "courier", liveUntilMs: now - 1 }, now).textContent, "📍 courier · live, ended");
});

test("a live location: the conversation shows its newest move's place with the caption, moves held before their message too", () => {
  const base = { conv: "d:courier:me", sender: "courier", recalled: false, serverTsMs: Date.now(), kind: "normal" as const };
  const c = new Conversation("d:courier:me");
  const end = Date.now() + 600_000;
  // A newest-first page: the second move, a caption edit, the first move, then the share.
  c.insert({ ...base, seq: 5, clientMsgId: "m2", body: "", refSeq: 2, location: { lat: 1.2, lng: 2, liveUntilMs: end } }, "me");
  c.insert({ ...base, seq: 4, clientMsgId: "e1", body: "nearly there", refSeq: 2 }, "me");
  c.insert({ ...base, seq: 3, clientMsgId: "m1", body: "", refSeq: 2, location: { lat: 1.1, lng: 2, liveUntilMs: end } }, "me");
  c.insert({ ...base, seq: 2, clientMsgId: "s", body: "on my way", location: { lat: 1, lng: 2, liveUntilMs: end } }, "me");
  const share = c.messages.find((m) => m.seq === 2)!;
  assert.deepEqual([share.body, share.location?.lat, share.moveSeq, share.editSeq], ["nearly there", 1.2, 5, 4]);
  // A later move replaces it; an older one arriving late does not.
  c.insert({ ...base, seq: 6, clientMsgId: "m3", body: "", refSeq: 2, location: { lat: 1.3, lng: 2, liveUntilMs: end } }, "me");
  assert.equal(share.location?.lat, 1.3);
  assert.deepEqual(c.visible().map((m) => m.seq), [2], "moves are not messages of their own");
});

test("share where I am: the browser's position goes out with the compose text as its caption; a refusal is said", async () => {
  const page = await loadPage();
  const sent: any[] = [];
  const client = { sendLocation: (conv: string, place: any, caption: string) => sent.push({ conv, place, caption }) };
  const button = new FakeElement() as any;
  const text = { value: " at the gate " } as any;
  const notes: string[] = [];
  let answer: (ok: any, fail: any) => void = (ok) => ok({ coords: { latitude: 48.1372, longitude: 11.5756 } });
  const geo = { getCurrentPosition: (ok: any, fail: any) => answer(ok, fail) };
  page.shareLocation(() => client, button, text, () => "s:roadside:c1:1", (t: string) => notes.push(t), geo);
  button.onclick();
  assert.deepEqual(sent, [{ conv: "s:roadside:c1:1", place: { lat: 48.1372, lng: 11.5756 }, caption: "at the gate" }]);
  assert.equal(text.value, "");
  answer = (_ok, fail) => fail({ message: "User denied Geolocation" });
  button.onclick();
  assert.equal(sent.length, 1);
  assert.deepEqual(notes, ["location not shared: User denied Geolocation"]);
});

test("a quiz: labelled, and its options locked once answered (the node takes one answer)", async () => {
  const page = await loadPage();
  const c = new Conversation("g:class");
  c.insert({ conv: "g:class", seq: 1, clientMsgId: "q", sender: "teacher", recalled: false, serverTsMs: Date.now(), kind: "poll", body: '{"question":"2+2?","options":["3","4"],"quiz":true}' }, "ann");
  const el = new FakeElement();
  page.renderMessages(el, c, "ann", { onVote: () => {} });
  assert.deepEqual(el.find("quiz").map((q) => q.textContent), ["quiz"]);
  assert.deepEqual(el.find("poll-box")[0].children.filter((b: any) => b.dataset.option !== undefined).map((b: any) => b.disabled), [false, false]);
  c.insert({ conv: "g:class", seq: 2, clientMsgId: "v", sender: "ann", recalled: false, serverTsMs: Date.now(), kind: "vote", refSeq: 1, body: "[0]" }, "ann");
  const again = new FakeElement();
  page.renderMessages(again, c, "ann", { onVote: () => {} });
  assert.deepEqual(again.find("poll-box")[0].children.filter((b: any) => b.dataset.option !== undefined).map((b: any) => b.disabled), [true, true]);
});

test("an anonymous poll: labelled, counted under aliases with nobody named, and this user's own choice known by the alias the node told", async () => {
  const page = await loadPage();
  const c = new Conversation("g:class");
  const base = { conv: "g:class", recalled: false, serverTsMs: Date.now() };
  c.insert({ ...base, seq: 1, clientMsgId: "p", sender: "teacher", kind: "poll", body: '{"question":"The pace?","options":["fine","too fast"],"anonymous":true}' }, "ann");
  c.insert({ ...base, seq: 2, clientMsgId: "v1", sender: "~00000000000000aa", kind: "vote", refSeq: 1, body: "[0]" }, "ann");
  c.insert({ ...base, seq: 3, clientMsgId: "v2", sender: "~00000000000000bb", kind: "vote", refSeq: 1, body: "[1]" }, "ann");
  c.insert({ ...base, seq: 4, clientMsgId: "v3", sender: "~00000000000000aa", kind: "vote", refSeq: 1, body: "[1]" }, "ann");
  const poll = () => c.messages.find((m) => m.seq === 1)!.poll!;
  assert.deepEqual([poll().anonymous, poll().options.map((o) => o.voters.length), poll().mine], [true, [0, 2], []]);
  assert.equal(c.myAlias(1, "~00000000000000aa"), true);
  assert.deepEqual(poll().mine, [1], "ann's own choice, by her alias");
  const el = new FakeElement();
  page.renderMessages(el, c, "ann", { onVote: () => {} });
  assert.deepEqual(el.find("anonymous").map((a) => a.textContent), ["anonymous"]);
  const buttons = el.find("poll-box")[0].children.filter((b: any) => b.dataset.option !== undefined);
  assert.deepEqual(buttons.map((b: any) => b.textContent), ["fine · 0", "too fast · 2"]);
  assert.ok(buttons.every((b: any) => !b.title.includes("~")), "no alias shown as a name");
});

test("disappearing messages: the conversation drops a message's content at its end, and the pages mark one still to go", async () => {
  const page = await loadPage();
  const now = Date.now();
  const c = new Conversation("d:alice:bob");
  const base = { conv: "d:alice:bob", sender: "bob", recalled: false, serverTsMs: now - 5_000, kind: "normal" as const };
  c.insert({ ...base, seq: 1, clientMsgId: "a", body: "stays" });
  c.insert({ ...base, seq: 2, clientMsgId: "b", body: "code 4711", expiresAtMs: now - 1, media: { id: "f", name: "a.png", mime: "image/png", size: 5, chunks: 1 } });
  c.insert({ ...base, seq: 3, clientMsgId: "c", body: "see you", expiresAtMs: now + 60_000 });
  assert.deepEqual(c.disappear(now), { changed: true, next: now + 60_000 });
  const [kept, gone, later] = c.messages;
  assert.equal(kept.body, "stays");
  assert.ok(gone.expired && gone.recalled && gone.body === "" && !gone.media, "the one whose end came has no text or file");
  assert.equal(later.body, "see you");
  assert.deepEqual(c.disappear(now), { changed: false, next: now + 60_000 }, "nothing more until the next end");
  const el = new FakeElement();
  page.renderMessages(el, c, "alice", {});
  const msgs = el.find("msg");
  assert.deepEqual(msgs.map((d) => d.find("disappears").length), [0, 0, 1], "only the one still to go is marked");
  assert.match(msgs[1].textContent, /\(disappeared\)/);
});

test("pages label forwarded messages and forward a text or a file where the user says", async () => {
  const page = await loadPage();

  const c = new Conversation("g:bikes");
  const base = { conv: "g:bikes", sender: "bob", recalled: false, serverTsMs: Date.now() };
  c.insert({ ...base, seq: 1, clientMsgId: "a", body: "the red bike", kind: "normal" });
  c.insert({ ...base, seq: 2, clientMsgId: "b", body: "the bike", kind: "normal", forwarded: true, media: { id: "f", name: "bike.png", mime: "image/png", size: 5, chunks: 1 } });
  c.insert({ ...base, seq: 3, clientMsgId: "c", body: '{"title":"Bike"}', kind: "card", card: { title: "Bike" } });
  c.insert({ ...base, seq: 4, clientMsgId: "d", body: "win a bike, send this to 10 friends", kind: "normal", forwarded: true, forwardHops: 5 });
  const forwarded: number[] = [];
  const el = new FakeElement();
  page.renderMessages(el, c, "alice", { onForward: (m: ChatMessage) => forwarded.push(m.seq) });
  const msgs = el.find("msg");
  assert.deepEqual(msgs.map((d) => d.dataset.seq), ["1", "2", "3", "4"]);
  assert.deepEqual(msgs.map((d) => d.find("forwarded").map((f) => f.textContent)), [[], ["Forwarded"], [], ["Forwarded many times"]], "only the forwarded copies are labelled, a chain letter as one");
  assert.deepEqual(msgs.map((d) => d.find("forward").length), [1, 1, 0, 1], "a text and a file may be forwarded, a card not");
  for (const d of msgs.slice(0, 3)) for (const b of d.find("forward")) b.onclick!();
  assert.deepEqual(forwarded, [1, 2]);

  // The forward asks where to: a user id goes as { to }, a conversation
  // id (it holds a ":") as itself; no answer sends nothing.
  const calls: unknown[][] = [];
  const listeners: ((c: Conversation) => void)[] = [];
  const client = {
    on: (_: string, fn: (c: Conversation) => void) => listeners.push(fn),
    forward: (...args: unknown[]) => (calls.push(args), { conv: "d:alice:partner", clientMsgId: "fw", state: "sending" }),
  };
  const notes: string[] = [];
  const onForward = page.forwarder(client, (t: string) => notes.push(t));
  const answers = ["partner", " g:club ", ""];
  (globalThis as any).prompt = () => answers.shift();
  for (let i = 0; i < 3; i++) onForward(c.messages[0]);
  assert.deepEqual(calls, [[{ to: "partner" }, "g:bikes", 1], ["g:club", "g:bikes", 1]]);
  // Stored in its conversation: the page says so.
  const target = new Conversation("d:alice:partner");
  target.insert({ ...base, conv: target.id, sender: "alice", seq: 1, clientMsgId: "fw", body: "the red bike", kind: "normal", forwarded: true });
  for (const fn of listeners) fn(target);
  assert.equal(notes.at(-1), "forwarded to d:alice:partner");
});

test("pages star texts, files, cards and polls through client.star, and list the starred ones", async () => {
  const page = await loadPage();

  const c = new Conversation("g:bikes");
  const base = { conv: "g:bikes", sender: "bob", recalled: false, serverTsMs: Date.now() };
  const file = { id: "f", name: "bike.png", mime: "image/png", size: 5, chunks: 1 };
  c.insert({ ...base, seq: 1, clientMsgId: "a", body: "the red bike", kind: "normal" }, "alice");
  c.insert({ ...base, seq: 2, clientMsgId: "b", sender: "alice", body: "", kind: "normal", media: file }, "alice");
  c.insert({ ...base, seq: 3, clientMsgId: "c", body: '{"title":"Bike"}', kind: "card", card: { title: "Bike" } }, "alice");
  c.insert({ ...base, seq: 4, clientMsgId: "d", body: '{"question":"Viewing?","options":["Fri","Sat"]}', kind: "poll" }, "alice");
  c.insert({ ...base, seq: 5, clientMsgId: "", sender: "", body: '{"op":"join"}', kind: "system" }, "alice");
  c.insert({ ...base, seq: 6, clientMsgId: "e", body: "gone", kind: "normal", recalled: true }, "alice");

  // A star (or unstar) button on each text, file, card and poll; its
  // label says whether it is starred.
  const clicked: [number, boolean][] = [];
  const el = new FakeElement();
  page.renderMessages(el, c, "alice", { onStar: (m: ChatMessage, starred: boolean) => clicked.push([m.seq, starred]), starred: [3] });
  const msgs = el.find("msg");
  assert.deepEqual(msgs.map((d) => d.dataset.seq), ["1", "2", "3", "4", "5", "6"]);
  assert.deepEqual(msgs.map((d) => d.find("star").map((b) => b.textContent)), [["star"], ["star"], ["unstar"], ["star"], [], []], "none on a system or recalled message");
  for (const d of msgs) for (const b of d.find("star")) b.onclick!();
  assert.deepEqual(clicked, [[1, false], [2, false], [3, true], [4, false]]);
  // Nor on an edit, a card's update, a reaction or a vote, should a
  // conversation show them.
  const about = [
    { ...base, seq: 7, clientMsgId: "f", body: "the blue bike", kind: "normal", refSeq: 1 },
    { ...base, seq: 8, clientMsgId: "g", body: '{"title":"Sold"}', kind: "card", refSeq: 3, card: { title: "Sold" } },
    { ...base, seq: 9, clientMsgId: "h", body: "👍", kind: "reaction", refSeq: 1 },
    { ...base, seq: 10, clientMsgId: "i", body: "[0]", kind: "vote", refSeq: 4 },
  ] as ChatMessage[];
  page.renderMessages(el, { messages: about, visible: () => about }, "alice", { onStar: () => {} });
  assert.equal(el.find("star").length, 0);

  // starTracker: the node's list lights the buttons once read; a toggle
  // goes to client.star, then redraws; a refusal is noted and changes nothing.
  const stars: unknown[][] = [];
  let refuse = false;
  let onStarred = () => {};
  let onReminder = (_conv: string, _seq: number) => {};
  let held = [{ message: { conv: "g:bikes", seq: 3 }, starredAtMs: 2 }];
  const client = {
    on: (ev: string, fn: () => void) => (ev === "starred" ? (onStarred = fn) : ev === "reminder" && (onReminder = fn)),
    conversation: (id: string) => (id === c.id ? c : undefined),
    remind: async (...args: unknown[]) => {
      stars.push(["remind", ...args]);
      return 1;
    },
    starred: async () => held,
    star: async (...args: unknown[]) => {
      if (refuse) throw new Error("TOO_MANY: unstar one first");
      stars.push(args);
      return 1;
    },
  };
  const redrawn: string[] = [];
  const notes: string[] = [];
  const tracker = page.starTracker(client, (conv: string) => redrawn.push(conv), (t: string) => notes.push(t));
  assert.deepEqual(tracker.seqs(c), [], "not read yet");
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual([tracker.seqs(c), redrawn], [[3], ["g:bikes"]]);
  page.renderMessages(el, c, "alice", { onStar: tracker.toggle, starred: tracker.seqs(c) });
  const button = (seq: number) => el.find("msg").find((d) => d.dataset.seq === String(seq))!.find("star")[0];
  button(1).onclick!();
  button(3).onclick!();
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(stars, [["g:bikes", 1, true], ["g:bikes", 3, false]]);
  assert.deepEqual(tracker.seqs(c), [1]);
  assert.deepEqual(redrawn, ["g:bikes", "g:bikes", "g:bikes"]);
  refuse = true;
  await tracker.toggle(c.messages[1], false);
  assert.deepEqual([tracker.seqs(c), notes.at(-1)], [[1], "star failed: TOO_MANY: unstar one first"]);

  // "starred" (a star on another device): the list is read again, and each
  // conversation whose stars changed is drawn again, once.
  held = [
    { message: { conv: "d:alice:bob", seq: 9 }, starredAtMs: 4 },
    { message: { conv: "g:bikes", seq: 1 }, starredAtMs: 3 },
  ];
  redrawn.length = 0;
  onStarred();
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual([tracker.seqs(c), redrawn], [[1], ["d:alice:bob"]]);
  held = [{ message: { conv: "g:bikes", seq: 4 }, starredAtMs: 5 }];
  onStarred();
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual([tracker.seqs(c), redrawn.sort()], [[4], ["d:alice:bob", "d:alice:bob", "g:bikes"]]);

  // A reminder: remind goes to client.remind; the message shows "⏰" and
  // its menu; one that comes is noted with the message's text, unmarked.
  (globalThis as any).Option = class {
    constructor(readonly text: string, readonly value: string) {}
    readonly textContent = "";
    find() {
      return [];
    }
  };
  const at = Date.now() + 3_600_000;
  await tracker.remind(c.messages.find((m) => m.seq === 4)!, at);
  assert.deepEqual([stars.at(-1), [...tracker.reminders(c)]], [["remind", "g:bikes", 4, at], [[4, at]]]);
  const drawReminders = () => {
    page.renderMessages(el, c, "alice", { onStar: tracker.toggle, starred: tracker.seqs(c), onRemind: tracker.remind, reminders: tracker.reminders(c) });
    return el.find("msg").find((d) => d.dataset.seq === "4")!;
  };
  assert.ok(drawReminders().find("reminder")[0]?.textContent.startsWith("⏰ "), "the reminder marked");
  assert.equal(drawReminders().find("remind").length, 1, "the menu beside the star");
  onReminder("g:bikes", 4);
  assert.deepEqual([[...tracker.reminders(c)], notes.at(-1)], [[], "⏰ reminder: g:bikes #4: 📊 Viewing?"]);
  assert.equal(drawReminders().find("reminder").length, 0);

  // The workbench's panel: each with its conversation, sender and text.
  const opened: number[] = [];
  const list = [1, 2, 3, 4].map((seq) => ({ message: c.messages.find((m) => m.seq === seq)!, starredAtMs: 10 - seq, remindAtMs: 0 }));
  const ul = new FakeElement();
  page.renderStarred(ul, list, (m: ChatMessage) => opened.push(m.seq));
  assert.deepEqual(ul.children.map((li) => li.textContent), ["g:bikes #1 bob: the red bike", "g:bikes #2 alice: 📎 bike.png", "g:bikes #3 bob: Bike", "g:bikes #4 bob: 📊 Viewing?"]);
  ul.children[2].onclick!();
  assert.deepEqual(opened, [3]);
  list[0].remindAtMs = Date.now() + 60_000;
  page.renderStarred(ul, list, () => {});
  assert.ok(ul.children[0].textContent.startsWith("g:bikes #1 bob: the red bike ⏰ "), ul.children[0].textContent);
  page.renderStarred(ul, [], () => {});
  assert.equal(ul.textContent, "nothing starred");
});

test("the workbench's Send later schedules the box's text at the time picked, and its Scheduled panel lists, opens and cancels", async () => {
  const page = await loadPage();

  // A node standing in: what is scheduled, soonest first, and each request.
  const soon = Date.now() + 3_600_000;
  let waiting = [
    { id: "s2", conv: "g:bikes", to: "", clientMsgId: "c2", kind: "card", body: '{"title":"Viewing slots"}', atMs: soon + 1, createdMs: 1 },
    { id: "s3", conv: "g:bikes", to: "", clientMsgId: "c3", kind: "poll", body: '{"question":"Viewing?","options":["Fri","Sat"]}', atMs: soon + 2, createdMs: 1 },
  ];
  const calls: unknown[][] = [];
  const listeners: ((c: Conversation) => void)[] = [];
  let onScheduled = () => {};
  let refuse = "";
  const client = {
    on: (ev: string, fn: (c: Conversation) => void) => (ev === "conversation" ? listeners.push(fn) : ev === "scheduled" && (onScheduled = fn as () => void)),
    scheduled: async () => (calls.push(["scheduled"]), [...waiting].sort((a, b) => a.atMs - b.atMs)),
    schedule: async (...args: any[]) => {
      calls.push(["schedule", ...args]);
      if (refuse) throw new Error(refuse);
      waiting.push({ id: "s1", conv: args[0], to: "", clientMsgId: "c1", kind: "normal", body: args[1], atMs: args[2], createdMs: 1 });
    },
    unschedule: async (id: string) => {
      calls.push(["unschedule", id]);
      if (!waiting.some((s) => s.id === id)) throw new Error("NOT_FOUND: sent already?");
      waiting = waiting.filter((s) => s.id !== id);
    },
  };
  const ul = new FakeElement();
  const opened: string[] = [];
  const notes: string[] = [];
  const panel = page.scheduledPanel(client, ul, (conv: string) => opened.push(conv), (t: string) => notes.push(t));

  // Nothing to send, no time, or a time gone: the page says so and asks nothing.
  // The time is a datetime-local input's value: the browser's local time.
  const local = (ms: number) => {
    const d = new Date(ms);
    const two = (n: number) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}`;
  };
  const when = local(soon);
  const at = new Date(when).getTime();
  assert.ok(Math.abs(at - soon) < 60_000, "read as local time");
  for (const [conv, text, w, said] of [
    [undefined, "see you at 9", when, "open a conversation first"],
    ["s:cars:c1:1", "", when, "type the message first"],
    ["s:cars:c1:1", "see you at 9", "", "pick when to send it"],
    ["s:cars:c1:1", "see you at 9", local(Date.now() - 120_000), "pick a time ahead"],
  ]) {
    assert.equal(await panel.schedule(conv, text, w), false);
    assert.equal(notes.at(-1), said);
  }
  onScheduled();
  assert.deepEqual(calls, [], "nothing asked, nor read on a \"scheduled\" before the panel is shown");

  // Scheduled: the note says when, and the panel shows the list read again.
  assert.equal(await panel.schedule("s:cars:c1:1", "see you at 9", when, { replyTo: 4 }), true);
  assert.deepEqual(calls, [["schedule", "s:cars:c1:1", "see you at 9", at, { replyTo: 4 }], ["scheduled"]]);
  assert.equal(notes.at(-1), `scheduled for ${new Date(at).toLocaleString()}`);
  const time = (ms: number) => new Date(ms).toLocaleString();
  assert.deepEqual(ul.children.map((li) => [li.dataset.id, li.textContent]), [
    ["s1", `${time(at)} · s:cars:c1:1 · see you at 9 cancel`],
    ["s2", `${time(soon + 1)} · g:bikes · Viewing slots cancel`],
    ["s3", `${time(soon + 2)} · g:bikes · 📊 Viewing? cancel`],
  ]);
  assert.equal(ul.dataset.loaded, "1");
  ul.children[1].onclick!();
  assert.deepEqual(opened, ["g:bikes"]);

  // A refusal is noted; nothing else changes.
  refuse = "INVALID: more than 8760h0m0s ahead";
  calls.length = 0;
  assert.equal(await panel.schedule("s:cars:c1:1", "next year", local(soon + 400 * 86_400_000)), false);
  assert.deepEqual([calls.length, notes.at(-1), ul.children.length], [1, "not scheduled: INVALID: more than 8760h0m0s ahead", 3]);

  // cancel unschedules that one (not opening it) and reads the list again.
  calls.length = 0;
  const cancel = (li: FakeElement) => li.find("cancel")[0].onclick!({ stopPropagation: () => {} });
  await cancel(ul.children[2]);
  assert.deepEqual(calls, [["unschedule", "s3"], ["scheduled"]]);
  assert.deepEqual([ul.children.map((li) => li.dataset.id), notes.at(-1), opened], [["s1", "s2"], "scheduled message cancelled", ["g:bikes"]]);
  // One that went out meanwhile: the node's NOT_FOUND is noted.
  const gone = ul.children[1];
  waiting = waiting.filter((s) => s.id !== "s2");
  await cancel(gone);
  assert.deepEqual([ul.children.map((li) => li.dataset.id), notes.at(-1)], [["s1"], "not cancelled: NOT_FOUND: sent already?"]);

  // A listed message arriving went out: the list is read again, once.
  calls.length = 0;
  const c = new Conversation("s:cars:c1:1");
  c.insert({ conv: c.id, seq: 7, clientMsgId: "other", sender: "a1", body: "hi", kind: "normal", recalled: false, serverTsMs: 1 });
  for (const fn of listeners) fn(c);
  assert.deepEqual(calls, [], "not one of the listed");
  waiting = [];
  c.insert({ conv: c.id, seq: 8, clientMsgId: "c1", sender: "a1", body: "see you at 9", kind: "normal", recalled: false, serverTsMs: at });
  for (const fn of listeners) fn(c);
  for (const fn of listeners) fn(c);
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(calls, [["scheduled"]]);
  assert.equal(ul.textContent, "nothing scheduled");

  // "scheduled" (a change on another device, or one sent or failed when
  // due): the shown list is read again.
  calls.length = 0;
  waiting = [{ id: "s5", conv: "g:bikes", to: "", clientMsgId: "c5", kind: "normal", body: "from the phone", atMs: soon, createdMs: 1 }];
  onScheduled();
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual([calls, ul.children.map((li) => li.dataset.id)], [[["scheduled"]], ["s5"]]);

  // One the node refused when it was due stays listed, saying why.
  waiting = [{ id: "s4", conv: "g:bikes", to: "", clientMsgId: "c4", kind: "normal", body: "hi all", atMs: soon, createdMs: 1, failed: "NOT_MEMBER: removed" } as any];
  await panel.show();
  assert.deepEqual(ul.children.map((li) => [li.textContent, li.className === "failed"]), [
    [`${time(soon)} · g:bikes · hi all (not sent: NOT_MEMBER: removed) cancel`, true],
  ]);
});

test("pages show an @all message labelled (mentioned for the others), and the workbench's @all toggle sends with client.mentionAll in a group only", async () => {
  const page = await loadPage();

  const c = new Conversation("g:class");
  const base = { conv: "g:class", recalled: false, serverTsMs: Date.now(), kind: "normal" as const };
  c.insert({ ...base, seq: 1, clientMsgId: "a", sender: "teacher", body: "@all no class tomorrow", mentionAll: true }, "ann");
  c.insert({ ...base, seq: 2, clientMsgId: "b", sender: "ann", body: "@all me too", mentionAll: true }, "ann");
  c.insert({ ...base, seq: 3, clientMsgId: "c", sender: "teacher", body: "@ann see me", mentions: ["ann"] }, "ann");
  c.insert({ ...base, seq: 4, clientMsgId: "d", sender: "teacher", body: "page 12" }, "ann");
  const el = new FakeElement();
  page.renderMessages(el, c, "ann");
  const msgs = el.find("msg");
  assert.deepEqual(msgs.map((d) => d.find("mention-all").map((x) => x.textContent)), [["@all"], ["@all"], [], []], "each @all labelled, its sender's too");
  assert.deepEqual(msgs.map((d) => d.className.split(" ").includes("mentioned")), [true, false, true, false], "mentioned: someone else's @all, or by name");

  // The toggle: usable in a group alone, unticked on open and after each send.
  const box = { checked: false, disabled: true };
  const sent: unknown[][] = [];
  const client = { mentionAll: (...args: unknown[]) => (sent.push(args), { clientMsgId: "all1" }) };
  const toggle = page.mentionAllToggle(box);
  toggle.open("g:class");
  assert.equal(box.disabled, false);
  assert.equal(toggle.send(client, "g:class", "hi"), undefined, "unticked: the page sends it itself");
  box.checked = true;
  assert.deepEqual(toggle.send(client, "g:class", "@all no class tomorrow"), { clientMsgId: "all1" });
  assert.deepEqual([sent, box.checked], [[["g:class", "@all no class tomorrow"]], false]);
  for (const conv of ["s:cars:c1:1", "d:a1:bob"]) {
    box.checked = true;
    toggle.open(conv);
    assert.deepEqual([box.disabled, box.checked], [true, false], `${conv}: no @all`);
    box.checked = true; // should a stale tick remain, nothing goes to everyone
    assert.equal(toggle.send(client, conv, "hi"), undefined);
    assert.equal(box.checked, false);
  }
  assert.equal(sent.length, 1, "only the group's send mentioned everyone");
});

// A node standing in for client.profiles: the profiles it keeps, the users
// each conversation lets the caller see (a direct peer: conv ""), and each
// request.
function profileNode(profiles: Record<string, { name: string; avatarUrl?: string }>, visible: Record<string, string[]>) {
  const calls: [string[], string][] = [];
  let fail = "";
  return {
    calls,
    fail: (why: string) => (fail = why),
    client: {
      user: "a1",
      profiles: async (users: string[], conv = "") => {
        calls.push([users, conv]);
        if (fail) throw new Error(fail);
        return users
          .filter((u) => visible[conv]?.includes(u))
          .map((u) => ({ user: u, name: profiles[u]?.name ?? "", avatarUrl: profiles[u]?.avatarUrl ?? "", updatedMs: profiles[u] ? 1 : 0 }));
      },
    },
  };
}
const settle = () => new Promise((r) => setTimeout(r, 0));

test("an anonymous visitor without a name shows as Visitor and the first letters of their id, the id as the tooltip", async () => {
  const page = await loadPage();
  const conv = "s:cars:visitor-k3q9zt4m2x8cabcdefgh:1";
  const visitor = "visitor-k3q9zt4m2x8cabcdefgh";
  const node = profileNode({ "visitor-namedzt4m2x8cabcdefgh": { name: "Dana" } }, { [conv]: [visitor, "visitor-namedzt4m2x8cabcdefgh", "a1"] });
  const names = page.people(node.client, () => {});
  const c = new Conversation(conv);
  const base = { conv, recalled: false, serverTsMs: Date.now(), kind: "normal" as const };
  c.insert({ ...base, seq: 1, clientMsgId: "a", sender: visitor, body: "Is the coupe red?" }, "a1");
  c.insert({ ...base, seq: 2, clientMsgId: "b", sender: "visitor-namedzt4m2x8cabcdefgh", body: "And mine?" }, "a1");
  const el = new FakeElement();
  const draw = () => page.renderMessages(el, c, "a1", { people: names });
  draw();
  await settle();
  draw();
  assert.deepEqual(el.find("msg").map((d) => d.find("body")[0].textContent), ["Visitor k3q9: Is the coupe red?", "Dana: And mine?"], "a name given wins");
  assert.deepEqual(el.find("person").map((p) => p.title), [visitor, "visitor-namedzt4m2x8cabcdefgh"]);
  assert.equal(page.visitorName("a1"), "");
});

test("pages show users by their profiles' names, read in one batch per conversation, the id kept as a tooltip", async () => {
  const page = await loadPage();
  const conv = "s:cars:c5:1";
  const node = profileNode({ c5: { name: "Carla Diaz", avatarUrl: "https://img.example/c5.png" }, a2: { name: "Ben" }, mallory: { name: "M" } }, { [conv]: ["c5", "a1", "a2", "quiet"] });
  const redrawn: string[] = [];
  const names = page.people(node.client, (c: string) => redrawn.push(c));

  const c = new Conversation(conv);
  const base = { conv, recalled: false, serverTsMs: Date.now(), kind: "normal" as const };
  c.insert({ ...base, seq: 1, clientMsgId: "a", sender: "c5", body: "Is the car still for sale?" }, "a1");
  c.insert({ ...base, seq: 2, clientMsgId: "b", sender: "a1", body: "Yes it is!", replyTo: 1 }, "a1");
  c.insert({ ...base, seq: 3, clientMsgId: "c", sender: "a2", body: "I can take it", replyTo: 1 }, "a1");
  c.insert({ ...base, seq: 4, clientMsgId: "", sender: "", kind: "system", body: '{"op":"pin","actor":"a2","seq":1}' }, "a1");
  c.insert({ ...base, seq: 5, clientMsgId: "d", sender: "quiet", body: "hello" }, "a1");
  c.insert({ ...base, seq: 6, clientMsgId: "e", sender: "mallory", body: "not seen" }, "a1");
  c.insert({ ...base, seq: 7, clientMsgId: "f", sender: "c5", body: "👍", kind: "reaction", refSeq: 2 }, "a1");
  const el = new FakeElement();
  const draw = () => page.renderMessages(el, c, "a1", { people: names });
  const bodies = () => el.find("msg").map((d) => d.find("body")[0].textContent);
  const quotes = () => el.find("quote").map((q) => q.textContent);

  // Before the answer: ids; the users are asked together, once, through the conversation.
  draw();
  assert.deepEqual(bodies(), ["c5: Is the car still for sale?", "Yes it is!", "a2: I can take it", "a2 pinned message #1", "quiet: hello", "mallory: not seen"]);
  draw();
  await settle();
  assert.deepEqual(node.calls, [[["c5", "a2", "quiet", "mallory"], conv]], "one request, each user once, not the page's own");
  assert.deepEqual(redrawn, [conv]);

  // After: names where there are some; the others by their ids (no
  // profile, or not visible through the conversation).
  draw();
  assert.deepEqual(bodies(), ["Carla Diaz: Is the car still for sale?", "Yes it is!", "Ben: I can take it", "Ben pinned message #1", "quiet: hello", "mallory: not seen"]);
  assert.deepEqual(quotes(), ["↪ Carla Diaz: Is the car still for sale?", "↪ Carla Diaz: Is the car still for sale?"]);
  const senders = el.find("person");
  assert.deepEqual(senders.map((p) => [p.dataset.user, p.title, p.textContent]), [["c5", "c5", "Carla Diaz"], ["a2", "a2", "Ben"], ["quiet", "quiet", "quiet"], ["mallory", "mallory", "mallory"]], "the id as the tooltip");
  assert.deepEqual(senders.map((p) => p.find("avatar").map((i) => (i as any).src)), [["https://img.example/c5.png"], [], [], []], "a picture where there is one");
  assert.equal(el.find("reaction")[0].title, "Carla Diaz", "a reaction's users by name");
  await settle();
  assert.deepEqual([node.calls.length, redrawn.length], [1, 1], "nothing asked again: known, or left out lately");

  // Without people: ids, as before.
  page.renderMessages(el, c, "a1");
  assert.deepEqual(bodies().slice(0, 3), ["c5: Is the car still for sale?", "Yes it is!", "a2: I can take it"]);

  // Shown anew (refresh): read again; a changed name is drawn again.
  node.calls.length = 0;
  names.refresh(conv);
  assert.equal(names.name("c5", conv), "Carla Diaz", "the known name shows until the answer");
  names.name("a2", conv);
  names.name("mallory", conv);
  await settle();
  assert.deepEqual(node.calls, [[["c5", "a2", "mallory"], conv]]);
  assert.deepEqual(redrawn, [conv], "nothing changed: no redraw");
  node.calls.length = 0;

  // Names of direct peers are asked with no conversation; a failed read
  // shows the id and is not asked again at once.
  node.fail("UNAVAILABLE");
  assert.equal(names.name("bob"), "bob");
  await settle();
  assert.equal(names.name("bob"), "bob");
  await settle();
  assert.deepEqual(node.calls, [[["bob"], ""]]);

  // Stale after PROFILE_FRESH_MS: asked again at the next draw.
  node.fail("");
  node.calls.length = 0;
  const now = Date.now;
  Date.now = () => now() + page.PROFILE_FRESH_MS + 1;
  try {
    assert.equal(names.name("c5", conv), "Carla Diaz");
    await settle();
  } finally {
    Date.now = now;
  }
  assert.deepEqual(node.calls, [[["c5"], conv]]);

  // The typing line names the user too.
  let onTyping = (_c: string, _u: string, _on: boolean) => {};
  const line = new FakeElement();
  page.typingLine({ user: "a1", on: (_: string, fn: typeof onTyping) => (onTyping = fn) }, line, () => conv, names);
  onTyping(conv, "c5", true);
  assert.equal(line.textContent, "Carla Diaz is typing…");

  // The Starred panel: senders by name, their ids kept.
  const ul = new FakeElement();
  page.renderStarred(ul, [{ message: c.messages[0], starredAtMs: 1 }], () => {}, names);
  assert.deepEqual([ul.children[0].textContent, ul.find("person")[0].title], [`${conv} #1 Carla Diaz: Is the car still for sale?`, "c5"]);
});

test("systemText says a system message's body as a sentence, users by name (else their id); other bodies as they are", async () => {
  const page = await loadPage();
  const sys = (body: unknown) => ({ kind: "system", body: typeof body === "string" ? body : JSON.stringify(body) });
  const named: Record<string, string> = { ann: "Ann", bob: "Bob", carol: "Carol", dan: "Dan" };
  const nameOf = (u: string) => named[u] ?? u;
  const say = (body: unknown, prev?: unknown) => page.systemText(sys(body), nameOf, prev === undefined ? undefined : sys(prev));
  const ids = (body: unknown) => page.systemText(sys(body));

  // Membership: users lists at most the first 20 of count.
  assert.equal(say({ op: "add", actor: "ann", users: ["bob", "carol", "u3", "u4", "u5"], count: 8, role: "member" }), "Ann added Bob, Carol, u3, u4, u5 and 3 others");
  assert.equal(say({ op: "add", actor: "ann", users: ["bob", "carol"], count: 3, role: "member" }), "Ann added Bob, Carol and 1 other");
  assert.equal(say({ op: "add", actor: "ann", users: ["bob", "carol"], count: 2, role: "member" }), "Ann added Bob and Carol");
  assert.equal(say({ op: "add", actor: "ann", users: ["bob"], count: 1, role: "admin" }), "Ann added Bob as admin");
  assert.equal(ids({ op: "add", actor: "ann", users: ["bob"], count: 1, role: "member" }), "ann added bob", "no names: ids");
  assert.equal(say({ op: "remove", actor: "ann", users: ["bob"], count: 1, role: "unknown" }), "Ann removed Bob");
  assert.equal(say({ op: "leave", actor: "bob", users: ["bob"], count: 1, role: "unknown" }), "Bob left");
  assert.equal(say({ op: "set_role", actor: "ann", users: ["bob"], count: 1, role: "admin" }), "Ann made Bob admin");
  assert.equal(say({ op: "mute", actor: "ann", users: ["bob"], count: 1, role: "unknown" }), "Ann muted Bob");
  assert.equal(say({ op: "unmute", actor: "ann", users: ["bob"], count: 1, role: "unknown" }), "Ann unmuted Bob");
  const until = Date.now() + 3_600_000;
  assert.ok(say({ op: "mute", actor: "ann", users: ["bob"], count: 1, role: "unknown", until_ms: until }).startsWith("Ann muted Bob until "), "a mute for a while says until when");
  assert.equal(say({ op: "disband", actor: "ann", users: ["ann", "bob"], count: 2, role: "unknown" }), "Ann ended the group");
  assert.equal(ids({ op: "disband", actor: "ann", users: [], count: 0 }), "ann ended the group");
  // Joining with an invite, and a request to join approved.
  assert.equal(say({ op: "join", actor: "dan", users: ["dan"], count: 1, role: "member", invite: "i1" }), "Dan joined with an invite");
  assert.equal(ids({ op: "join", actor: "dan", users: ["dan"], count: 1, role: "member", invite: "i1" }), "dan joined with an invite");
  assert.equal(say({ op: "approve", actor: "ann", users: ["dan"], count: 1, role: "member" }), "Ann let Dan in");
  assert.equal(say({ op: "approve", actor: "ann", users: ["dan", "bob"], count: 25, role: "member" }), "Ann let Dan, Bob and 23 others in");

  // A call's record: its length, or how it went unanswered.
  assert.equal(say({ op: "call", call: "c1", actor: "ann", callee: "bob", video: false, outcome: "ended", duration_ms: 192_000, by: "bob" }), "Ann's call · 3:12");
  assert.equal(say({ op: "call", call: "c1", actor: "ann", callee: "bob", video: true, outcome: "dropped", duration_ms: 5_000 }), "Ann's video call · 0:05 (the line dropped)");
  assert.equal(say({ op: "call", call: "c1", actor: "ann", callee: "bob", video: false, outcome: "missed" }), "Ann's call: no answer");
  assert.equal(say({ op: "call", call: "c1", actor: "ann", callee: "bob", video: false, outcome: "declined", by: "bob", reason: "busy" }), "Ann's call: declined (busy)");
  assert.equal(say({ op: "call", call: "c1", actor: "ann", callee: "bob", video: false, outcome: "cancelled", by: "ann" }), "Ann's call: cancelled");

  // A profile step tells every current value: the one before it says what changed.
  const profile = { op: "profile", actor: "ann", title: "Team room", description: "", picture: "" };
  assert.equal(say({ ...profile, title: "Sales" }, profile), "Ann renamed the group to “Sales”");
  assert.equal(ids({ ...profile, title: "Sales" }), "ann updated the group “Sales”", "nothing before it held: which changed is not known");
  assert.equal(say({ ...profile, description: "Weekly numbers" }, profile), "Ann changed the group's description");
  assert.equal(say(profile, { ...profile, description: "Weekly numbers" }), "Ann removed the group's description");
  assert.equal(say({ ...profile, picture: "m1" }, profile), "Ann changed the group's picture");
  assert.equal(say({ ...profile, title: "Sales", description: "x" }, profile), "Ann renamed the group to “Sales” and changed the group's description");
  // Disappearing messages: a timer in days, hours or minutes, and off.
  assert.equal(say({ op: "disappear", actor: "ann", after_ms: 86_400_000 }), "Ann set messages to disappear 1 day after they are sent");
  assert.equal(say({ op: "disappear", actor: "ann", after_ms: 7 * 86_400_000 }), "Ann set messages to disappear 7 days after they are sent");
  assert.equal(say({ op: "disappear", actor: "ann", after_ms: 3_600_000 }), "Ann set messages to disappear 1 h after they are sent");
  assert.equal(say({ op: "disappear", actor: "ann", after_ms: 0 }), "Ann turned disappearing messages off");
  // A freeze: closed to new messages, with or without a reason, and open again.
  assert.equal(say({ op: "freeze", actor: "ann", frozen: true, reason: "the term is over" }), "Ann froze the conversation: the term is over");
  assert.equal(say({ op: "freeze", actor: "ann", frozen: true }), "Ann froze the conversation");
  assert.equal(say({ op: "freeze", actor: "ann", frozen: false }), "Ann opened the conversation again");
  // Settings: who may post, and slow mode.
  const settings = { op: "settings", actor: "ann", admins_only: false, slow_mode_ms: 0 };
  assert.equal(say({ ...settings, admins_only: true }, settings), "Ann let only admins post");
  assert.equal(say(settings, { ...settings, admins_only: true }), "Ann let everyone post");
  assert.equal(say({ ...settings, slow_mode_ms: 30_000 }, settings), "Ann set slow mode: one message per 30 s");
  assert.equal(say({ ...settings, slow_mode_ms: 300_000 }, settings), "Ann set slow mode: one message per 5 min");
  assert.equal(say(settings, { ...settings, slow_mode_ms: 30_000 }), "Ann turned slow mode off");
  assert.equal(ids({ ...settings, admins_only: true, slow_mode_ms: 3_600_000 }), "ann let only admins post and set slow mode: one message per 1 h", "nothing before it held: both told");
  // Pins.
  assert.equal(say({ op: "pin", actor: "ann", seq: 4 }), "Ann pinned message #4");
  assert.equal(ids({ op: "unpin", actor: "ann", seq: 4 }), "ann unpinned message #4");

  // Desk steps keep their rendering; anything else shows as it is.
  assert.equal(say({ desk: "assigned", agent: "ann", queue: "cars" }), "assigned · Ann · queue cars");
  assert.equal(say({ desk: "rating", score: 4 }), "rated 4 of 5");
  for (const body of ['{"op":"merge","actor":"ann","from":"x","to":"y"}', '{"op":"block","actor":"ann","users":["bob"],"count":1}', '{"op":"toString"}', "not json", "42", "null"]) {
    assert.equal(say(body), body, body);
  }
});

test("renderMessages shows a system message as its sentence, centered like a system line, names once known", async () => {
  const page = await loadPage();
  const conv = "g:team";
  const node = profileNode({ ann: { name: "Ann" }, bob: { name: "Bob" } }, { [conv]: ["ann", "bob", "carol", "me"] });
  const redrawn: string[] = [];
  const names = page.people(node.client, (c: string) => redrawn.push(c));
  const c = new Conversation(conv);
  const base = { conv, recalled: false, serverTsMs: Date.now(), kind: "system" as const, clientMsgId: "", sender: "" };
  c.insert({ ...base, seq: 1, body: '{"actor":"ann","count":2,"op":"add","role":"member","users":["bob","carol"]}' }, "me");
  c.insert({ ...base, seq: 2, body: '{"actor":"ann","admins_only":true,"op":"settings","slow_mode_ms":0}' }, "me");
  c.insert({ ...base, seq: 3, kind: "normal", clientMsgId: "a", sender: "bob", body: "hi" }, "me");
  c.insert({ ...base, seq: 4, body: '{"actor":"ann","admins_only":true,"op":"settings","slow_mode_ms":30000}' }, "me");
  c.insert({ ...base, seq: 5, body: '{"op":"future","x":1}' }, "me");
  const el = new FakeElement();
  const draw = () => page.renderMessages(el, c, "me", { people: names });
  draw();
  const lines = () => el.find("msg").map((d) => [d.className, d.find("body")[0].textContent]);
  assert.deepEqual(lines(), [
    ["msg system", "ann added bob and carol"],
    ["msg system", "ann let only admins post and turned slow mode off"],
    ["msg", "bob: hi"],
    ["msg system", "ann set slow mode: one message per 30 s"],
    ["msg system", '{"op":"future","x":1}'],
  ]);
  await settle();
  assert.deepEqual(redrawn, [conv]);
  draw();
  assert.deepEqual(lines().map(([, t]) => t), ["Ann added Bob and carol", "Ann let only admins post and turned slow mode off", "Bob: hi", "Ann set slow mode: one message per 30 s", '{"op":"future","x":1}']);
  assert.equal(el.find("system")[0].find("person").length, 0, "a plain sentence: no sender shown");
});

test("pages find whom a conversation is with: a session's customer through it, a direct conversation's other member as a direct peer", async () => {
  const page = await loadPage();
  assert.deepEqual(page.peerOf("s:cars:c5:1", "a1"), { user: "c5", conv: "s:cars:c5:1" });
  assert.deepEqual(page.peerOf("d:a1:bob", "a1"), { user: "bob", conv: "" });
  assert.deepEqual(page.peerOf("d:ann:zoe", "zoe"), { user: "ann", conv: "" });
  assert.equal(page.peerOf("d:ann:a1", "a1"), undefined, "not in order: no id the node makes");
  assert.equal(page.peerOf("g:team", "a1"), undefined);
  assert.equal(page.peerOf("d:x:y", "a1"), undefined, "not one of its two");
  assert.deepEqual(page.peerOf("d:a1:bob:listing-7", "a1"), { user: "bob", conv: "d:a1:bob:listing-7" }, "a topic: read through it");
  assert.equal(page.peerOf("s:cars:c5:1", "c5"), undefined, "the customer's own session");
});

test("the pages' \"Your name\" reads the profile, saves both fields as typed, and shows what the node kept or why it refused", async () => {
  const page = await loadPage();
  const asked: unknown[] = [];
  let kept = { user: "c5", name: "", avatarUrl: "", updatedMs: 0 };
  const handlers = new Map<string, () => void>();
  const client = {
    on: (event: string, f: () => void) => handlers.set(event, f),
    profile: async () => kept,
    setProfile: async (change: { name: string; avatarUrl: string }) => {
      asked.push(change);
      if (!/^(https?:\/\/.+)?$/.test(change.avatarUrl)) throw new Error("INVALID: avatar_url: not an http(s) URL");
      return (kept = { user: "c5", name: change.name.trim(), avatarUrl: change.avatarUrl, updatedMs: 2 });
    },
  };
  const input = (value = "") => ({ value, disabled: true });
  const nameIn = input(), avatarIn = input(), save = { disabled: true, onclick: undefined as any };
  const notes: string[] = [];
  const names = page.people({ profiles: async () => [] }, () => {});
  const form = page.profileForm(client, nameIn, avatarIn, save, (t: string) => notes.push(t), names);
  assert.equal(save.disabled, true, "disabled until read");
  kept = { user: "c5", name: "Carla", avatarUrl: "", updatedMs: 1 };
  await form.load();
  assert.deepEqual([nameIn.value, avatarIn.value, nameIn.disabled, avatarIn.disabled, save.disabled], ["Carla", "", false, false, false]);

  nameIn.value = "  Carla Diaz ";
  avatarIn.value = " https://img.example/c5.png ";
  await save.onclick({ preventDefault() {} });
  assert.deepEqual(asked, [{ name: "  Carla Diaz ", avatarUrl: "https://img.example/c5.png" }]);
  assert.deepEqual([nameIn.value, avatarIn.value, notes.at(-1), save.disabled], ["Carla Diaz", "https://img.example/c5.png", "you show as Carla Diaz", false], "as the node kept it");
  assert.equal(names.name("c5"), "Carla Diaz", "the page's own names know it");

  avatarIn.value = "javascript:alert(1)";
  await save.onclick();
  assert.deepEqual([notes.at(-1), nameIn.value, avatarIn.value], ["profile not saved: INVALID: avatar_url: not an http(s) URL", "Carla Diaz", "javascript:alert(1)"], "left as typed, to fix");

  // Both emptied: cleared, shown by the user id.
  nameIn.value = avatarIn.value = "";
  await save.onclick();
  assert.deepEqual([asked.at(-1), notes.at(-1)], [{ name: "", avatarUrl: "" }, "you show as your user id"]);
  // Changed on another device: the form shows it.
  kept = { user: "c5", name: "Carla D.", avatarUrl: "", updatedMs: 3 };
  handlers.get("profile")!();
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual([nameIn.value, avatarIn.value], ["Carla D.", ""], "a change elsewhere shown");
});

// A node standing in for client.setDraft and client.drafts: the drafts it
// keeps, each request, and the client's listeners ("state", "drafts").
// hold() keeps the next answers of a kind waiting until release().
function draftNode(kept: Record<string, string> = {}) {
  const calls: unknown[][] = [];
  const listeners: Record<string, (...args: unknown[]) => void> = {};
  const held: Record<string, (() => void)[]> = { setDraft: [], drafts: [] };
  const holding = new Set<string>();
  let refuse = "";
  const answer = <T>(kind: string, fn: () => T): Promise<T> =>
    holding.has(kind) ? new Promise((resolve, reject) => held[kind].push(() => { try { resolve(fn()); } catch (e) { reject(e); } })) : Promise.resolve().then(fn);
  return {
    kept,
    calls,
    emit: (ev: string, ...args: unknown[]) => listeners[ev]?.(...args),
    refuse: (why: string) => (refuse = why),
    hold: (kind: string) => holding.add(kind),
    release(kind: string) {
      holding.delete(kind);
      for (const go of held[kind].splice(0)) go();
    },
    client: {
      on: (ev: string, fn: (...args: unknown[]) => void) => (listeners[ev] = fn),
      setDraft: (conv: string, text: string) => {
        calls.push(["setDraft", conv, text]);
        if (refuse) return Promise.reject(new Error(refuse));
        return answer("setDraft", () => {
          if (text) kept[conv] = text;
          else delete kept[conv];
          return Object.keys(kept).length;
        });
      },
      drafts: () => {
        calls.push(["drafts"]);
        const list = Object.entries(kept).map(([conv, text]) => ({ conv, text, updatedMs: 1 })); // as the node has them when asked
        return answer("drafts", () => list);
      },
    },
  };
}
// Promises settle, timers (mocked) do not move.
const settled = () => new Promise((r) => setImmediate(r));

test("the pages keep the compose box as the open conversation's draft: saved after typing stops and on leaving, restored into an empty box, cleared once sent", async (t) => {
  const page = await loadPage();
  mock.timers.enable({ apis: ["setTimeout"] });
  t.after(() => mock.timers.reset());
  const c1 = "s:cars:c1:1", team = "g:team";
  const node = draftNode({ [c1]: "Dear Carla," });
  const box = { value: "" };
  let current: string | undefined;
  let redraws = 0, editing = false;
  const notes: string[] = [];
  const drafts = page.draftKeeper(node.client, box, () => current, () => redraws++, (n: string) => notes.push(n), () => !editing);
  const type = (text: string) => {
    box.value = text;
    drafts.typed();
  };
  const open = (conv: string) => {
    if (conv !== current) drafts.leave(current);
    current = conv;
    drafts.open(conv);
  };

  // Read at connect: the list's label knows it; no conversation open, no box filled.
  node.emit("state", "connected");
  await settled();
  assert.deepEqual(node.calls, [["drafts"]]);
  assert.deepEqual([drafts.has(c1), drafts.text(c1), drafts.has(team), redraws, box.value], [true, "Dear Carla,", false, 1, ""]);

  // Opened with an empty box: its draft is restored.
  open(c1);
  assert.equal(box.value, "Dear Carla,");

  // Saved DRAFT_SAVE_MS after the last keystroke, once.
  node.calls.length = 0;
  type("Dear Carla, the car");
  mock.timers.tick(page.DRAFT_SAVE_MS - 1);
  type("Dear Carla, the car is");
  mock.timers.tick(page.DRAFT_SAVE_MS - 1);
  assert.deepEqual(node.calls, [], "still typing: nothing saved");
  mock.timers.tick(1);
  await settled();
  assert.deepEqual(node.calls, [["setDraft", c1, "Dear Carla, the car is"]]);
  assert.deepEqual([drafts.text(c1), redraws], ["Dear Carla, the car is", 2]);
  // The same text again (a key that changed nothing): not asked again.
  drafts.typed();
  mock.timers.tick(page.DRAFT_SAVE_MS);
  await settled();
  assert.equal(node.calls.length, 1);

  // Its own push: read again; the box holds text, so it is left as typed.
  node.calls.length = 0;
  type("Dear Carla, the car is red");
  node.emit("drafts");
  await settled();
  assert.deepEqual([node.calls, box.value], [[["drafts"]], "Dear Carla, the car is red"]);

  // Leaving: saved at once (the pending save with it), the box emptied for
  // the next conversation, which has no draft.
  node.calls.length = 0;
  open(team);
  await settled();
  assert.deepEqual([node.calls, box.value], [[["setDraft", c1, "Dear Carla, the car is red"]], ""]);
  mock.timers.tick(page.DRAFT_SAVE_MS * 2);
  await settled();
  assert.equal(node.calls.length, 1, "the pending save went with the leave");
  // Leaving an empty box where there was no draft: nothing to clear.
  open(c1);
  assert.deepEqual([node.calls.length, box.value], [1, "Dear Carla, the car is red"], "restored on coming back");

  // Another device changes the draft while this one types: what is typed stays.
  node.calls.length = 0;
  type("Dear Carla, the car is red!");
  node.kept[c1] = "From the phone";
  node.emit("drafts");
  await settled();
  assert.deepEqual([box.value, drafts.text(c1)], ["Dear Carla, the car is red!", "From the phone"]);
  // Nor is a box the user just emptied filled again: its save (the clear) is on its way.
  type("");
  node.emit("drafts");
  await settled();
  assert.equal(box.value, "");
  mock.timers.tick(page.DRAFT_SAVE_MS);
  await settled();
  assert.deepEqual(node.calls, [["drafts"], ["drafts"], ["setDraft", c1, ""]]);
  assert.deepEqual([drafts.has(c1), node.kept], [false, {}]);
  // Whitespace alone is no draft.
  type("   ");
  mock.timers.tick(page.DRAFT_SAVE_MS);
  await settled();
  assert.equal(node.calls.length, 3);

  // A draft begun on another device fills the open conversation's empty box.
  node.kept[c1] = "Hi Carla, from the phone";
  box.value = "";
  node.emit("drafts");
  await settled();
  assert.equal(box.value, "Hi Carla, from the phone");

  // Sent: the draft is cleared; a save still waiting is dropped.
  node.calls.length = 0;
  type("Hi Carla, see you Friday");
  box.value = ""; // the page sent it
  drafts.sent(c1);
  mock.timers.tick(page.DRAFT_SAVE_MS);
  await settled();
  assert.deepEqual([node.calls, node.kept, drafts.has(c1)], [[["setDraft", c1, ""]], {}, false]);
  // Sent quicker than the save: nothing kept, nothing to clear.
  node.calls.length = 0;
  type("Thanks!");
  box.value = "";
  drafts.sent(c1);
  mock.timers.tick(page.DRAFT_SAVE_MS);
  await settled();
  assert.deepEqual(node.calls, []);

  // A save on its way when the message is sent: the clear waits for it,
  // and nothing is kept.
  type("on my way");
  node.hold("setDraft");
  mock.timers.tick(page.DRAFT_SAVE_MS);
  box.value = "";
  drafts.sent(c1);
  await settled();
  assert.deepEqual(node.calls, [["setDraft", c1, "on my way"]], "the clear is not asked before the save is answered");
  node.release("setDraft");
  await settled();
  assert.deepEqual([node.calls, node.kept, drafts.has(c1)], [[["setDraft", c1, "on my way"], ["setDraft", c1, ""]], {}, false]);

  // A read asked before the clear and answered after it does not bring
  // the sent draft back, into the list or the box.
  node.calls.length = 0;
  node.kept[c1] = "almost sent";
  node.emit("drafts");
  await settled();
  assert.equal(box.value, "almost sent");
  box.value = "";
  node.hold("drafts");
  node.emit("drafts"); // the push of a save: read, still holding it
  drafts.sent(c1);
  await settled();
  node.release("drafts");
  await settled();
  assert.deepEqual([box.value, drafts.has(c1), node.kept], ["", false, {}]);

  // An edit in the box is no draft: not saved, and not filled over.
  node.calls.length = 0;
  editing = true;
  type("the edited text");
  mock.timers.tick(page.DRAFT_SAVE_MS);
  open(team);
  await settled();
  assert.deepEqual([node.calls, box.value], [[], ""]);
  editing = false;

  // A refusal is noted; the list keeps what the node keeps.
  node.refuse("TOO_LARGE: a draft of 5000 bytes, limit 4096");
  type("x".repeat(5000));
  mock.timers.tick(page.DRAFT_SAVE_MS);
  await settled();
  assert.deepEqual([notes.at(-1), drafts.has(team)], ["draft not kept: TOO_LARGE: a draft of 5000 bytes, limit 4096", false]);
});

// A node standing in for the invite requests: the requests waiting in
// each group, who manages it, and each request.
function inviteNode(me: string, managers: Record<string, string[]>) {
  const calls: unknown[][] = [];
  const waiting: Record<string, { user: string; name: string; atMs: number; invite: string; expiresMs: number; note: string }[]> = {};
  const listeners: Record<string, ((conv: string) => void)[]> = {};
  const forbidden = (conv: string) => {
    if (!managers[conv]?.includes(me)) throw Object.assign(new Error("FORBIDDEN: owners and admins only"), { code: Code.FORBIDDEN });
  };
  return {
    calls,
    waiting,
    emit: (ev: string, arg: string) => listeners[ev]?.forEach((fn) => fn(arg)),
    client: {
      on: (ev: string, fn: (arg: string) => void) => (listeners[ev] ??= []).push(fn),
      joinRequests: async (conv: string) => (calls.push(["joinRequests", conv]), forbidden(conv), [...(waiting[conv] ?? [])]),
      createInvite: async (conv: string, opts: unknown) => (calls.push(["createInvite", conv, opts]), forbidden(conv), { code: "sb-CODE", id: "i1" }),
      approveJoin: async (conv: string, ...users: string[]) => {
        calls.push(["approveJoin", conv, ...users]);
        if (!waiting[conv]?.some((r) => users.includes(r.user))) throw Object.assign(new Error("NOT_FOUND: no request"), { code: Code.NOT_FOUND });
        waiting[conv] = waiting[conv].filter((r) => !users.includes(r.user));
        return 9;
      },
      declineJoin: async (conv: string, ...users: string[]) => {
        calls.push(["declineJoin", conv, ...users]);
        waiting[conv] = (waiting[conv] ?? []).filter((r) => !users.includes(r.user));
      },
      joinGroup: async (code: string, note?: string) => {
        calls.push(["joinGroup", code, note]);
        if (code === "sb-ASK") return { conv: "g:class", already: false, pending: true };
        if (code === "sb-OPEN") return { conv: "g:club", already: false, pending: false };
        if (code === "sb-AGAIN") return { conv: "g:club", already: true, pending: false };
        throw Object.assign(new Error("NOT_FOUND: no such invite"), { code: Code.NOT_FOUND });
      },
    },
  };
}

test("pages join a group with a code and an optional note (an approval invite's join waits), and show a group's managers its invite code and the requests to join with their notes, approved or declined", async () => {
  const page = await loadPage();

  // Join with a code: joined (opened), a member already, asked (waiting)
  // with a note for the managers, refused.
  const node = inviteNode("teacher", { "g:class": ["teacher"] });
  const form: { onsubmit?: (ev?: { preventDefault(): void }) => Promise<void> } = {};
  const input = { value: "" };
  const ask = { value: "" };
  const notes: string[] = [];
  const opened: string[] = [];
  page.joinForm(node.client, form, input, (t: string) => notes.push(t), (conv: string) => opened.push(conv), ask);
  for (const [code, words] of [["", "hi"], [" sb-OPEN ", ""], ["sb-AGAIN", ""], ["sb-ASK", " I'm Sam's father "], ["sb-GONE", "too late?"]]) {
    input.value = code;
    ask.value = words;
    await form.onsubmit!({ preventDefault: () => {} });
    if (code === "sb-ASK") assert.equal(ask.value, "", "the note cleared once asked");
  }
  assert.deepEqual(notes, ["type or paste the invite code first", "joined g:club", "already a member of g:club", "Asked to join — waiting for the group's admins", "not joined: NOT_FOUND: no such invite"]);
  assert.equal(page.JOIN_WAITING, "Asked to join — waiting for the group's admins");
  assert.deepEqual(opened, ["g:club", "g:club"], "a group joined opens; one asked for does not");
  assert.deepEqual(node.calls.map((c) => c.slice(1)), [["sb-OPEN", ""], ["sb-AGAIN", ""], ["sb-ASK", "I'm Sam's father"], ["sb-GONE", "too late?"]], "trimmed; nothing asked without a code");
  assert.deepEqual([input.value, ask.value], ["sb-GONE", "too late?"], "a refused code stays to correct, with its note");
  // A page without a note field sends none.
  const plain: typeof form = {};
  page.joinForm(node.client, plain, { value: "sb-OPEN" }, () => {});
  await plain.onsubmit!();
  assert.deepEqual(node.calls.at(-1), ["joinGroup", "sb-OPEN", ""]);
  // The group asked for arrives once approved: noted, once.
  const arrive = (id: string) => node.emit("conversation", Object.assign(new Conversation(id), { title: "Class 4b" }) as any);
  arrive("g:club");
  arrive("g:class");
  arrive("g:class");
  assert.deepEqual(notes.slice(5), ["approved: you joined Class 4b"]);

  // The panel: hidden until the node lists the requests; for the teacher,
  // who manages g:class, each request by name (else the id), with its
  // note when it has one (as text, after the name).
  node.calls.length = notes.length = 0;
  node.waiting["g:class"] = [
    { user: "pupil", name: "Pia", atMs: 1000, invite: "i1", expiresMs: 9000, note: "I'm Sam's father <b>" },
    { user: "quiet", name: "", atMs: 2000, invite: "i1", expiresMs: 9000, note: "" },
  ];
  const els = { panel: { hidden: true }, create: { disabled: false, onclick: undefined as undefined | (() => Promise<void>) }, approval: { checked: false }, code: { value: "", hidden: true, dataset: {} as Record<string, string> }, list: new FakeElement() };
  const panel = page.invitePanel(node.client, els, (t: string) => notes.push(t));
  await panel.open("g:class");
  assert.equal(els.panel.hidden, false);
  const rows = () => els.list.children.map((li) => [li.dataset.user, li.find("person")[0]?.textContent, li.find("person")[0]?.title]);
  assert.deepEqual(rows(), [["pupil", "Pia", "pupil"], ["quiet", "quiet", "quiet"]]);
  assert.deepEqual(els.list.children.map((li) => li.find("request-note").map((n) => n.textContent)), [["I'm Sam's father <b>"], []], "a note shown as written; none: nothing");
  assert.deepEqual(els.list.children[0].children.map((c) => c.className), ["person", "request-note", "approve", "decline"], "the note beside the name, before the buttons");
  assert.deepEqual(els.list.children.map((li) => [li.find("approve").length, li.find("decline").length]), [[1, 1], [1, 1]]);

  // A code that needs approval: created and shown to copy.
  els.approval.checked = true;
  await els.create.onclick!();
  assert.deepEqual(node.calls.at(-1), ["createInvite", "g:class", { approval: true }]);
  assert.deepEqual([els.code.value, els.code.hidden, els.code.dataset.approval], ["sb-CODE", false, "true"]);

  // Approve one, decline the other: each answered, the list read again.
  node.calls.length = 0;
  await els.list.children[0].find("approve")[0].onclick!();
  assert.deepEqual(notes.at(-1), "Pia joined");
  assert.deepEqual(rows(), [["quiet", "quiet", "quiet"]]);
  await els.list.children[0].find("decline")[0].onclick!();
  assert.deepEqual(notes.at(-1), "quiet declined");
  assert.deepEqual(node.calls, [["approveJoin", "g:class", "pupil"], ["joinRequests", "g:class"], ["declineJoin", "g:class", "quiet"], ["joinRequests", "g:class"]]);
  assert.equal(els.list.textContent, "nobody waiting");

  // Someone asks: "joinRequests" for the open group reads the list again;
  // for another group, nothing.
  node.calls.length = 0;
  node.waiting["g:class"] = [{ user: "late", name: "Lou", atMs: 3000, invite: "i1", expiresMs: 9000, note: "" }];
  node.emit("joinRequests", "g:other");
  node.emit("joinRequests", "g:class");
  await settle();
  assert.deepEqual([node.calls, rows()], [[["joinRequests", "g:class"]], [["late", "Lou", "late"]]]);

  // Answered elsewhere meanwhile: the node's NOT_FOUND is noted, the list read again.
  node.waiting["g:class"] = [];
  await els.list.children[0].find("approve")[0].onclick!();
  assert.deepEqual([notes.at(-1), els.list.textContent], ["approve failed: NOT_FOUND: no request", "nobody waiting"]);

  // A group the user only belongs to (FORBIDDEN) or a conversation that is
  // no group: hidden, nothing noted; the code shown before is gone.
  const before = notes.length;
  await panel.open("g:club");
  assert.deepEqual([els.panel.hidden, els.code.hidden, els.code.value, els.approval.checked], [true, true, "", false]);
  await panel.open("s:cars:c1:1");
  assert.equal(els.panel.hidden, true);
  assert.equal(notes.length, before);
  assert.deepEqual(node.calls.at(-1), ["joinRequests", "g:club"], "no request for a conversation that is no group");
});

test("the workbench's mute menu mutes the open conversation for a while, until unmuted, or unmutes, and shows until when", async () => {
  const page = await loadPage();
  (globalThis as any).Option = class {
    constructor(readonly text: string, readonly value: string) {}
  };
  const convs = new Map<string, Conversation>();
  const listeners: ((c: Conversation) => void)[] = [];
  const calls: unknown[][] = [];
  let refuse = false;
  const conversation = (id: string) => convs.get(id) ?? (convs.set(id, new Conversation(id)), convs.get(id)!);
  const client = {
    on: (_: string, fn: (c: Conversation) => void) => listeners.push(fn),
    conversation,
    async mute(id: string, on: boolean, opts: { forMs?: number } = {}) {
      calls.push([id, on, opts]);
      if (refuse) throw new Error("NOT_MEMBER: not a member");
      const c = conversation(id);
      c.muted = on;
      c.mutedUntilMs = on && opts.forMs ? Date.now() + opts.forMs : 0;
      for (const fn of listeners) fn(c);
      return 0;
    },
  };
  const select = { disabled: false, value: "", dataset: {} as Record<string, string>, options: [] as { text: string; value: string }[], onchange: undefined as undefined | (() => Promise<void>),
    replaceChildren(...o: { text: string; value: string }[]) {
      this.options = o;
    } };
  const state = { textContent: "", title: "" };
  const notes: string[] = [];
  const menu = page.muteControl(client, select, state, (t: string) => notes.push(t));
  const labels = () => select.options.map((o) => o.text);
  const choose = (v: string) => {
    select.value = v;
    return select.onchange!();
  };

  menu.open("");
  assert.equal(select.disabled, true, "no conversation open");
  menu.open("g:team");
  assert.equal(select.disabled, false);
  assert.deepEqual(labels(), ["Mute…", "Mute for 1 hour", "Mute for 8 hours", "Mute for 1 week", "Until I unmute"]);
  assert.equal(state.textContent, "");

  await choose(String(8 * 3_600_000));
  assert.deepEqual(calls.at(-1), ["g:team", true, { forMs: 28_800_000 }]);
  const c = conversation("g:team");
  assert.match(state.textContent, /^muted until \S/);
  assert.equal(select.value, "", "the menu goes back to its title");
  assert.equal(select.dataset.muted, "true");
  assert.deepEqual(labels(), ["Muted…", "Mute for 1 hour", "Mute for 8 hours", "Mute for 1 week", "Until I unmute", "Unmute"]);
  assert.equal(notes.at(-1), `${state.textContent}: nothing notifies you, its unread leave your total`);
  const mark = page.mutedMark(c);
  assert.deepEqual([mark.textContent, mark.title, mark.className], ["🔕", state.textContent, "muted-mark"]);
  assert.equal(page.mutedText(c), state.textContent);

  await choose("off");
  assert.deepEqual(calls.at(-1), ["g:team", false, {}]);
  assert.deepEqual([state.textContent, notes.at(-1), select.dataset.muted], ["", "unmuted", "false"]);
  assert.equal(page.mutedMark(c), undefined);
  await choose("0");
  assert.deepEqual(calls.at(-1), ["g:team", true, { forMs: 0 }]);
  assert.equal(state.textContent, "muted");

  // A mute for a while that ends: the client clears it and emits
  // "conversation"; the menu follows. Another conversation's event draws nothing.
  c.mutedUntilMs = Date.now() + 60_000;
  for (const fn of listeners) fn(conversation("g:other"));
  assert.equal(state.textContent, "muted", "not drawn for another conversation");
  for (const fn of listeners) fn(c);
  assert.match(state.textContent, /^muted until /);
  c.mutedUntilMs = Date.now() - 1; // ended, not yet cleared: mutedAt says no
  for (const fn of listeners) fn(c);
  assert.deepEqual([state.textContent, labels().at(-1)], ["", "Until I unmute"]);

  // Refused: noted, nothing shown changes.
  refuse = true;
  await choose(String(3_600_000));
  assert.deepEqual([notes.at(-1), state.textContent], ["mute failed: NOT_MEMBER: not a member", ""]);
  await choose("");
  assert.equal(calls.length, 4, "the menu's title chooses nothing");
});

test("the workbench's snooze menu snoozes the open conversation for 1 hour, until tomorrow 9:00 or a week, or unsnoozes; the lists label it until its end, then mark it unread", async () => {
  const page = await loadPage();
  (globalThis as any).Option = class {
    constructor(readonly text: string, readonly value: string) {}
  };
  // The choices' ends: tomorrow 9:00 is the next day's, local time, even
  // across a month's end.
  const [hour, tomorrow, week] = page.SNOOZE_CHOICES.map(([, until]: [string, (now: number) => number]) => until);
  const at = new Date(2024, 0, 31, 22, 15).getTime();
  assert.deepEqual(page.SNOOZE_CHOICES.map(([label]: [string]) => label), ["Snooze for 1 hour", "Until tomorrow 9:00", "Snooze for 1 week"]);
  assert.equal(hour(at), at + 3_600_000);
  assert.equal(tomorrow(at), new Date(2024, 1, 1, 9, 0).getTime());
  assert.equal(tomorrow(new Date(2024, 1, 1, 7, 0).getTime()), new Date(2024, 1, 2, 9, 0).getTime(), "early in the day: still the next day's");
  assert.equal(week(at), at + 7 * 86_400_000);

  const convs = new Map<string, Conversation>();
  const listeners: ((c: Conversation) => void)[] = [];
  const calls: unknown[][] = [];
  let refuse = false;
  const conversation = (id: string) => convs.get(id) ?? (convs.set(id, new Conversation(id)), convs.get(id)!);
  const told = (c: Conversation) => {
    for (const fn of listeners) fn(c);
  };
  const client = {
    on: (_: string, fn: (c: Conversation) => void) => listeners.push(fn),
    conversation,
    async snooze(id: string, untilMs: number) {
      calls.push(["snooze", id, untilMs]);
      if (refuse) throw new Error("INVALID: a snooze until then: at most 8760h0m0s ahead");
      const c = conversation(id);
      [c.archived, c.archivedUntilMs] = [true, untilMs];
      told(c);
    },
    async archive(id: string, on: boolean) {
      calls.push(["archive", id, on]);
      const c = conversation(id);
      [c.archived, c.archivedUntilMs] = [on, 0];
      told(c);
    },
  };
  const select = { disabled: false, value: "", dataset: {} as Record<string, string>, options: [] as { text: string; value: string }[], onchange: undefined as undefined | (() => Promise<void>),
    replaceChildren(...o: { text: string; value: string }[]) {
      this.options = o;
    } };
  const state = { textContent: "", title: "" };
  const notes: string[] = [];
  const menu = page.snoozeControl(client, select, state, (t: string) => notes.push(t));
  const labels = () => select.options.map((o) => o.text);
  const choose = (label: string) => {
    select.value = select.options.find((o) => o.text === label)?.value ?? "";
    return select.onchange!();
  };

  menu.open("");
  assert.equal(select.disabled, true, "no conversation open");
  menu.open("s:cars:c1:1");
  assert.equal(select.disabled, false);
  assert.deepEqual(labels(), ["Snooze…", "Snooze for 1 hour", "Until tomorrow 9:00", "Snooze for 1 week"]);
  assert.equal(state.textContent, "");

  const before = Date.now();
  await choose("Snooze for 1 hour");
  const [op, id, until] = calls.at(-1) as [string, string, number];
  assert.deepEqual([op, id], ["snooze", "s:cars:c1:1"]);
  assert.ok(until >= before + 3_600_000 && until <= Date.now() + 3_600_000, `until ${until}`);
  const c = conversation("s:cars:c1:1");
  assert.match(state.textContent, /^snoozed until \S/);
  assert.equal(select.value, "", "the menu goes back to its title");
  assert.equal(select.dataset.snoozed, "true");
  assert.deepEqual(labels(), ["Snoozed…", "Snooze for 1 hour", "Until tomorrow 9:00", "Snooze for 1 week", "Unsnooze"]);
  assert.equal(notes.at(-1), `${state.textContent}: back in your list then, marked unread (a new message brings it back sooner)`);
  // The lists' label: the same words, the end in full as its tooltip.
  const mark = page.snoozedMark(c);
  assert.deepEqual([mark.textContent, mark.className], [state.textContent, "snoozed-mark"]);
  assert.match(mark.title, /: back in your list then, marked unread$/);
  assert.equal(page.snoozedText(c), state.textContent);
  assert.equal(page.markedUnreadMark(c), undefined, "not marked unread");

  // A week ahead is not today: the day shows.
  await choose("Snooze for 1 week");
  assert.ok(state.textContent.includes(new Date(c.archivedUntilMs).toLocaleString([], { weekday: "short" })), state.textContent);

  await choose("Unsnooze");
  assert.deepEqual(calls.at(-1), ["archive", "s:cars:c1:1", false]);
  assert.deepEqual([state.textContent, notes.at(-1), select.dataset.snoozed, labels().at(-1)], ["", "unsnoozed", "false", "Snooze for 1 week"]);
  assert.equal(page.snoozedMark(c), undefined);
  // A plain archive (until news) is no snooze.
  c.archived = true;
  assert.equal(page.snoozedText(c), "");
  c.archived = false;

  // The end: the client un-archives it, marks it unread and emits
  // "conversation"; the menu follows, and the lists mark it unread.
  // Another conversation's event draws nothing.
  await choose("Until tomorrow 9:00");
  assert.equal(c.archivedUntilMs, tomorrow(Date.now()));
  told(conversation("g:other"));
  c.archivedUntilMs = Date.now() - 1; // ended, not yet cleared: archivedAt says no
  assert.match(state.textContent, /^snoozed until /, "not drawn for another conversation");
  told(c);
  assert.deepEqual([state.textContent, select.dataset.snoozed, labels().at(-1)], ["", "false", "Snooze for 1 week"]);
  assert.equal(page.snoozedMark(c), undefined);
  [c.archived, c.archivedUntilMs, c.markedUnread] = [false, 0, true];
  const dot = page.markedUnreadMark(c);
  assert.deepEqual([dot.textContent, dot.className, dot.title], ["●", "unread marked", "marked unread"]);

  // Refused: noted, nothing shown changes.
  refuse = true;
  await choose("Snooze for 1 week");
  assert.deepEqual([notes.at(-1), state.textContent], ["snooze failed: INVALID: a snooze until then: at most 8760h0m0s ahead", ""]);
  const n = calls.length;
  select.value = "";
  await select.onchange!();
  assert.equal(calls.length, n, "the menu's title chooses nothing");
});

test("pages label an automatic reply; the workbench's \"Away message\" reads, sets for the while chosen, clears, and follows another device", async () => {
  const page = await loadPage();
  (globalThis as any).Option = class {
    constructor(readonly text: string, readonly value: string) {}
  };

  // The away user's answer, as the node posted it: labelled, its text as
  // text (never markup).
  const c = new Conversation("d:buyer:seller");
  const base = { conv: c.id, recalled: false, serverTsMs: Date.now() };
  c.insert({ ...base, seq: 1, clientMsgId: "a", sender: "buyer", body: "is it still for sale?", kind: "normal" });
  c.insert({ ...base, seq: 2, clientMsgId: "switchboard:away:1", sender: "seller", body: "<b>On holiday</b>", kind: "normal", autoReply: true });
  const el = new FakeElement();
  page.renderMessages(el, c, "buyer", {});
  const msgs = el.find("msg");
  assert.deepEqual(msgs.map((d) => d.find("auto-reply").map((f) => f.textContent)), [[], ["Automatic reply"]], "only the automatic reply is labelled");
  assert.equal(msgs[1].find("body")[0].textContent, "seller: <b>On holiday</b>");

  // The setting: a node standing in for away, setAway and clearAway.
  let kept = { text: "", sinceMs: 0, untilMs: 0 };
  const calls: unknown[][] = [];
  const handlers = new Map<string, () => void>();
  let refuse = "";
  const client = {
    on: (ev: string, f: () => void) => handlers.set(ev, f),
    away: async () => kept,
    setAway: async (text: string, opts: { untilMs?: number }) => {
      calls.push(["setAway", text, opts]);
      if (refuse) throw new Error(refuse);
      return (kept = { text: text.trim(), sinceMs: 5, untilMs: opts.untilMs ?? 0 });
    },
    clearAway: async () => {
      calls.push(["clearAway"]);
      kept = { text: "", sinceMs: 0, untilMs: 0 };
    },
  };
  const els = {
    text: { value: "", disabled: true },
    until: { value: "", disabled: true, options: [] as { text: string; value: string }[], replaceChildren(...o: { text: string; value: string }[]) {
      this.options = o;
      this.value = o[0].value;
    } },
    save: { disabled: true, onclick: undefined as any },
    clear: { disabled: true, onclick: undefined as any },
    state: { textContent: "", title: "", dataset: {} as Record<string, string> },
  };
  const notes: string[] = [];
  const form = page.awayForm(client, els, (t: string) => notes.push(t));
  assert.deepEqual(els.until.options.map((o) => o.text), ["until I clear it", "1 day", "1 week"]);
  assert.equal(els.save.disabled, true, "disabled until read");
  await form.load();
  assert.deepEqual([els.text.value, els.state.textContent, els.text.disabled, els.until.disabled, els.save.disabled, els.clear.disabled], ["", "", false, false, false, false]);

  // Until cleared: "Away".
  els.text.value = "  On holiday until Monday ";
  await els.save.onclick({ preventDefault() {} });
  assert.deepEqual(calls.at(-1), ["setAway", "On holiday until Monday", { untilMs: 0 }]);
  assert.deepEqual([els.text.value, els.state.textContent, els.state.title, els.state.dataset.away], ["On holiday until Monday", "Away", "On holiday until Monday", "true"]);
  assert.equal(notes.at(-1), "Away: whoever writes to you directly is answered with it, once");

  // For a week: it ends then, and says so.
  els.until.value = String(7 * 86_400_000);
  const before = Date.now();
  await els.save.onclick();
  const until = (calls.at(-1) as any)[2].untilMs;
  assert.ok(until >= before + 7 * 86_400_000 && until <= Date.now() + 7 * 86_400_000, `until ${until}`);
  assert.match(els.state.textContent, /^Away until \S/);
  assert.equal(page.awayText(kept), els.state.textContent);
  assert.equal(page.awayText({ ...kept, untilMs: Date.now() - 1 }), "", "ended: not away");
  assert.equal(page.awayText({ text: "", sinceMs: 0, untilMs: 0 }), "");

  // An empty box is not sent; a refusal is noted and changes nothing shown.
  calls.length = 0;
  els.text.value = "  ";
  await els.save.onclick();
  assert.deepEqual([calls.length, notes.at(-1)], [0, "type an away message (Clear ends it)"]);
  refuse = "TOO_LARGE: an away message of 501 bytes, limit 500";
  els.text.value = "x".repeat(501);
  await els.save.onclick();
  assert.deepEqual([notes.at(-1), els.state.textContent.startsWith("Away until "), els.save.disabled], ["away message not saved: TOO_LARGE: an away message of 501 bytes, limit 500", true, false]);
  refuse = "";

  // Clear: nothing shown.
  await els.clear.onclick();
  assert.deepEqual(calls.at(-1), ["clearAway"]);
  assert.deepEqual([els.text.value, els.state.textContent, els.state.dataset.away, notes.at(-1)], ["", "", "false", "no longer away"]);

  // Set on another device: the "away" event reads it again.
  kept = { text: "Back on Monday", sinceMs: 9, untilMs: 0 };
  handlers.get("away")!();
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual([els.text.value, els.state.textContent], ["Back on Monday", "Away"]);
});

test("pages offer \"delete for me\" on each stored message; hider hides it, shows \"Deleted for you · Undo\" for a while, and Undo unhides it", async () => {
  const page = await loadPage();

  const c = new Conversation("g:bikes");
  const base = { conv: "g:bikes", sender: "bob", recalled: false, serverTsMs: Date.now() };
  c.insert({ ...base, seq: 1, clientMsgId: "a", body: "the red bike", kind: "normal" }, "alice");
  c.insert({ ...base, seq: 2, clientMsgId: "b", sender: "alice", body: '{"title":"Bike"}', kind: "card", card: { title: "Bike" } }, "alice");
  c.insert({ ...base, seq: 3, clientMsgId: "", sender: "", body: '{"op":"join"}', kind: "system" }, "alice");
  c.insert({ ...base, seq: 4, clientMsgId: "d", body: "👍", kind: "reaction", refSeq: 1 }, "alice");
  c.pending.push({ ...base, seq: 0, clientMsgId: "e", sender: "alice", body: "sending", kind: "normal", state: "sending" });
  const el = new FakeElement();
  const clicked: number[] = [];
  page.renderMessages(el, c, "alice", { onHide: (m: ChatMessage) => clicked.push(m.seq) });
  const msgs = el.find("msg");
  assert.deepEqual(msgs.map((d) => [d.dataset.seq, d.find("delete-for-me").map((b) => b.textContent)]), [
    ["1", ["delete for me"]], ["2", ["delete for me"]], ["3", ["delete for me"]], ["0", []],
  ], "on a text, a card and a system note; not on a message still sending (a reaction is not shown)");
  for (const d of msgs) for (const b of d.find("delete-for-me")) b.onclick!();
  assert.deepEqual(clicked, [1, 2, 3]);
  page.renderMessages(el, c, "alice", {});
  assert.equal(el.find("delete-for-me").length, 0, "none without onHide");

  // hider: client.hide, then the notice; Undo is client.unhide and takes
  // the notice away; a notice not used goes by itself; refusals are noted.
  const calls: unknown[][] = [];
  let refuse = "";
  const client = {
    hide: async (...args: unknown[]) => {
      if (refuse) throw new Error(refuse);
      calls.push(["hide", ...args]);
      return [1];
    },
    unhide: async (...args: unknown[]) => {
      if (refuse) throw new Error(refuse);
      calls.push(["unhide", ...args]);
      return [];
    },
  };
  const notice = Object.assign(new FakeElement(), { hidden: true });
  const notes: string[] = [];
  const tick = () => new Promise((r) => setTimeout(r, 0));
  const onHide = page.hider(client, notice, (t: string) => notes.push(t), 50);
  onHide(c.messages[0]);
  await tick();
  assert.deepEqual(calls, [["hide", "g:bikes", [1]]]);
  assert.deepEqual([notice.hidden, notice.textContent, notice.dataset.seq], [false, "Deleted for you · Undo", "1"]);
  notice.find("undo")[0].onclick!();
  await tick();
  assert.deepEqual(calls.at(-1), ["unhide", "g:bikes", [1]]);
  assert.deepEqual([notice.hidden, notice.textContent], [true, ""]);

  onHide(c.messages[1]);
  await tick();
  assert.deepEqual([notice.hidden, notice.dataset.seq], [false, "2"]);
  await new Promise((r) => setTimeout(r, 80));
  assert.deepEqual([notice.hidden, notice.textContent], [true, ""], "gone by itself");

  refuse = "NOT_FOUND: message 9 of g:bikes: not one you see";
  onHide(c.messages[0]);
  await tick();
  assert.deepEqual([notice.hidden, notes.at(-1)], [true, "delete failed: NOT_FOUND: message 9 of g:bikes: not one you see"]);
});

test("pages show \"N replies\" on an answered message; the thread panel lists its replies oldest first, follows new ones and closes; the Files list pages and saves", async () => {
  const page = await loadPage();

  const c = new Conversation("g:physics");
  const base = { conv: "g:physics", sender: "ann", recalled: false, serverTsMs: Date.now(), kind: "normal" as const };
  c.insert({ ...base, seq: 1, clientMsgId: "a", sender: "teacher", body: "Why is the sky blue?" }, "teacher");
  c.insert({ ...base, seq: 2, clientMsgId: "b", body: "Rayleigh scattering", replyTo: 1 }, "teacher");
  c.insert({ ...base, seq: 3, clientMsgId: "c", sender: "bob", body: "Blue scatters more", replyTo: 1 }, "teacher");
  c.insert({ ...base, seq: 4, clientMsgId: "d", sender: "teacher", body: "Right", replyTo: 2 }, "teacher");
  c.insert({ ...base, seq: 5, clientMsgId: "e", body: "oops", replyTo: 2, recalled: true }, "teacher");
  c.pending.push({ ...base, seq: 0, clientMsgId: "f", sender: "teacher", body: "sending", replyTo: 4, state: "sending" });

  // Counted from the held messages: stored, not recalled.
  assert.deepEqual([...page.replyCounts(c)], [[1, 2], [2, 1]]);
  const el = new FakeElement();
  const opened: number[] = [];
  page.renderMessages(el, c, "teacher", { onThread: (m: ChatMessage) => opened.push(m.seq) });
  const msgs = el.find("msg");
  assert.deepEqual(msgs.map((d) => [d.dataset.seq, d.find("replies").map((b) => b.textContent)]), [
    ["1", ["2 replies"]], ["2", ["1 reply"]], ["3", []], ["4", []], ["5", []], ["0", []],
  ], "a recalled or pending reply is not counted");
  for (const d of msgs) for (const b of d.find("replies")) b.onclick!();
  assert.deepEqual(opened, [1, 2]);
  page.renderMessages(el, c, "teacher", {});
  assert.equal(el.find("replies").length, 0, "none without onThread");

  // threadPanel: the node's pages (newest first) read to the end, listed
  // oldest first; × closes it.
  const asked: unknown[][] = [];
  let pages: Record<number, { messages: Partial<ChatMessage>[]; next: number }> = {
    0: { messages: [{ conv: "g:physics", seq: 3, sender: "bob", body: "Blue scatters more", kind: "normal" }], next: 3 },
    3: { messages: [{ conv: "g:physics", seq: 2, sender: "ann", body: "", kind: "normal", media: { id: "m", name: "sky.png", mime: "image/png", size: 5, chunks: 1 } }], next: 0 },
  };
  let refuse = "";
  const client = {
    thread: async (...args: any[]) => {
      if (refuse) throw new Error(refuse);
      asked.push(["thread", ...args]);
      return pages[args[2]];
    },
    files: async (...args: any[]) => (asked.push(["files", ...args]), pages[args[1]]),
  };
  const notes: string[] = [];
  const panel = Object.assign(new FakeElement(), { hidden: true });
  const thread = page.threadPanel(client, panel, (t: string) => notes.push(t));
  await thread.open(c, c.messages[0]);
  assert.deepEqual(asked, [["thread", "g:physics", 1, 0], ["thread", "g:physics", 1, 3]]);
  assert.deepEqual([panel.hidden, panel.dataset.seq, panel.find("thread-head")[0].textContent], [false, "1", "Replies to #1: Why is the sky blue? ×"]);
  const listed = () => panel.children[1].children.map((li) => li.textContent);
  assert.deepEqual(listed(), ["ann: 📎 sky.png", "bob: Blue scatters more"]);
  // The same count held: nothing read again; one more reply held: read again.
  asked.length = 0;
  thread.follow(c);
  assert.equal(asked.length, 0);
  c.insert({ ...base, seq: 6, clientMsgId: "g", body: "And sunsets?", replyTo: 1 }, "teacher");
  pages = { 0: { messages: [{ conv: "g:physics", seq: 6, sender: "ann", body: "And sunsets?", kind: "normal" }, ...pages[0].messages], next: 3 }, 3: pages[3] };
  thread.follow(c);
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual([asked.length, listed()], [2, ["ann: 📎 sky.png", "bob: Blue scatters more", "ann: And sunsets?"]]);
  panel.find("close-thread")[0].onclick!();
  assert.deepEqual([panel.hidden, panel.textContent], [true, ""]);
  thread.follow(c);
  assert.equal(asked.length, 2, "a closed panel follows nothing");
  // A message with no replies (left by the node), and a refusal.
  pages = { 0: { messages: [], next: 0 } };
  await thread.open(c, c.messages[3]);
  assert.deepEqual([panel.hidden, listed()], [false, []]);
  assert.equal(panel.children[1].textContent, "no replies");
  refuse = "NOT_MEMBER: not in g:physics";
  await thread.open(c, c.messages[0]);
  assert.equal(notes.at(-1), "thread: NOT_MEMBER: not in g:physics");

  // filesPanel: 20 a page, a "more…" entry for the next; each file with
  // its sender and a link that saves it through download.
  const file = (seq: number, name: string): Partial<ChatMessage> => ({ conv: "g:physics", seq, sender: "teacher", body: "", kind: "normal", media: { id: `f${seq}`, name, mime: "application/pdf", size: 2048, chunks: 1 } });
  pages = { 0: { messages: [file(9, "sky.pdf")], next: 8 }, 8: { messages: [file(4, "light.pdf")], next: 0 } };
  asked.length = 0;
  const saved: number[] = [];
  const ul = new FakeElement();
  const files = page.filesPanel(client, ul, async (m: ChatMessage) => (saved.push(m.seq), new Uint8Array(1)), (t: string) => notes.push(t));
  await files.show("g:physics");
  assert.deepEqual(ul.children.map((li) => li.textContent), ["g:physics #9 teacher: 📎 sky.pdf (2 KiB)", "more…"]);
  await ul.children[1].onclick!();
  assert.deepEqual(asked, [["files", "g:physics", 0, 20], ["files", "g:physics", 8, 20]]);
  assert.deepEqual(ul.children.map((li) => li.textContent), ["g:physics #9 teacher: 📎 sky.pdf (2 KiB)", "g:physics #4 teacher: 📎 light.pdf (2 KiB)"]);
  ul.children[1].find("media")[0].onclick!();
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(saved, [4]);
  pages = { 0: { messages: [], next: 0 } };
  await files.show("g:physics");
  assert.equal(ul.textContent, "no files shared");
});

test("the workbench's labels: chips in the lists, the open conversation's added and removed (refusals noted), another device's change followed; the filter by label", async () => {
  const page = await loadPage();
  (globalThis as any).Option = class {
    constructor(readonly text: string, readonly value: string) {}
  };
  const tick = () => new Promise((r) => setTimeout(r, 0));

  // labelChips: none is nothing; each label a chip, as text, in the order
  // given; with onRemove an × on each, which does not reach the list row.
  assert.equal(page.labelChips([]), undefined);
  assert.equal(page.labelChips(undefined), undefined);
  const plain = page.labelChips(["new customer", "<b>paid</b>"]);
  assert.equal(plain.className, "label-chips");
  assert.deepEqual(plain.find("label-chip").map((c: FakeElement) => [c.dataset.label, c.textContent]), [["new customer", "new customer"], ["<b>paid</b>", "<b>paid</b>"]]);
  assert.equal(plain.find("remove-label").length, 0, "no × without onRemove");
  const removed: string[] = [];
  let stopped = 0;
  const withX = page.labelChips(["paid", "vip"], (l: string) => removed.push(l));
  assert.deepEqual(withX.find("remove-label").map((b: FakeElement) => [b.textContent, b.title]), [["×", "remove the label paid"], ["×", "remove the label vip"]]);
  for (const b of withX.find("remove-label")) b.onclick!({ stopPropagation: () => void stopped++ });
  assert.deepEqual([removed, stopped], [["paid", "vip"], 2]);

  // labelControl, with a client that labels as the node does (remove,
  // then add, ascending) and tells "conversation".
  const convs = new Map<string, Conversation>();
  const listeners: ((c: Conversation) => void)[] = [];
  const calls: unknown[][] = [];
  let refuse = "";
  const conversation = (id: string) => convs.get(id) ?? (convs.set(id, new Conversation(id)), convs.get(id)!);
  const emit = (c: Conversation) => listeners.forEach((fn) => fn(c));
  const client = {
    on: (_: string, fn: (c: Conversation) => void) => listeners.push(fn),
    conversation,
    async label(id: string, opts: { add?: string[]; remove?: string[] }) {
      calls.push([id, opts]);
      if (refuse) throw new Error(refuse);
      const c = conversation(id);
      c.labels = [...new Set([...c.labels.filter((l) => !opts.remove?.includes(l)), ...(opts.add ?? [])])].sort();
      emit(c);
      return c.labels;
    },
  };
  const chips = new FakeElement();
  const form = { onsubmit: undefined as undefined | ((ev?: { preventDefault(): void }) => Promise<void>) };
  const input = { value: "", disabled: false };
  const add = { disabled: false };
  const notes: string[] = [];
  const control = page.labelControl(client, { chips, form, input, add }, (t: string) => notes.push(t));
  const submit = (text: string) => ((input.value = text), form.onsubmit!({ preventDefault() {} }));
  const shown = () => chips.find("label-chip").map((c) => c.dataset.label);
  const conv = "s:cars:c5:1";

  control.open("");
  assert.deepEqual([input.disabled, add.disabled, shown()], [true, true, []], "no conversation open");
  control.open(conv);
  assert.deepEqual([input.disabled, add.disabled], [false, false]);
  await submit("   ");
  assert.deepEqual([calls, notes.at(-1)], [[], "type a label first"]);
  await submit(" to ship ");
  await submit("paid");
  assert.deepEqual(calls, [[conv, { add: ["to ship"] }], [conv, { add: ["paid"] }]], "one label per add, trimmed");
  assert.deepEqual([shown(), input.value], [["paid", "to ship"], ""], "drawn from the answer's event; the box emptied");
  chips.find("label-chip")[0].find("remove-label")[0].onclick!();
  await tick();
  assert.deepEqual(calls.at(-1), [conv, { remove: ["paid"] }]);
  assert.deepEqual(shown(), ["to ship"]);

  // Refused: noted; a label typed stays to correct.
  refuse = "INVALID: a label of 1–32 bytes";
  await submit("x".repeat(33));
  assert.deepEqual([notes.at(-1), input.value, shown()], ["label failed: INVALID: a label of 1–32 bytes", "x".repeat(33), ["to ship"]]);
  refuse = "NOT_MEMBER: not a member";
  chips.find("remove-label")[0].onclick!();
  await tick();
  assert.deepEqual([notes.at(-1), shown()], ["unlabel failed: NOT_MEMBER: not a member", ["to ship"]]);
  refuse = "";

  // Another device's change (a flags push: the client's event) is drawn
  // for the open conversation alone; opening another empties the box.
  conversation(conv).labels = ["to ship", "vip"];
  emit(conversation(conv));
  assert.deepEqual(shown(), ["to ship", "vip"]);
  conversation("g:team").labels = ["rota"];
  emit(conversation("g:team"));
  assert.deepEqual(shown(), ["to ship", "vip"], "not drawn for another conversation");
  input.value = "half typed";
  control.open("g:team");
  assert.deepEqual([shown(), input.value], [["rota"], ""]);

  // labelFilter: the choices are the labels the conversations carry; a
  // rebuilt menu (which a browser resets to its first option) keeps the
  // choice, and is rebuilt only when the choices change.
  let rebuilt = 0, redrawn = 0;
  const select = { disabled: false, value: "", options: [] as { text: string; value: string }[], onchange: undefined as undefined | (() => void),
    replaceChildren(...o: { text: string; value: string }[]) {
      this.options = o;
      this.value = o[0]?.value ?? "";
      rebuilt++;
    } };
  const filter = page.labelFilter(select, () => redrawn++);
  const labelled = (id: string, labels: string[]) => Object.assign(new Conversation(id), { labels });
  const a = labelled("s:cars:c1:1", ["paid", "to ship"]), b = labelled("s:cars:c2:1", ["new customer", "paid"]), none = labelled("g:team", []);
  const choices = () => select.options.map((o) => [o.text, o.value]);
  const passing = () => [a, b, none].filter((c) => filter.shows(c)).map((c) => c.id);
  filter.draw([a, b, none]);
  assert.deepEqual(choices(), [["All labels", ""], ["new customer", "new customer"], ["paid", "paid"], ["to ship", "to ship"]]);
  assert.deepEqual([select.disabled, passing()], [false, [a.id, b.id, none.id]], "all at first");
  select.value = "to ship";
  select.onchange!();
  assert.deepEqual([redrawn, passing()], [1, [a.id]], "only the conversations carrying it");
  filter.draw([a, b, none]);
  assert.deepEqual([rebuilt, select.value], [1, "to ship"], "the same choices: not rebuilt");
  a.labels = ["paid"]; // unlabelled, on this device or another
  filter.draw([a, b, none]);
  assert.deepEqual([choices().map((c) => c[1]), select.value, passing()], [["", "new customer", "paid", "to ship"], "to ship", []], "the choice kept while chosen, even carried by none");
  select.value = "";
  filter.draw([a, b, none]);
  assert.deepEqual([choices().map((c) => c[1]), passing()], [["", "new customer", "paid"], [a.id, b.id, none.id]]);
  filter.draw([none]);
  assert.deepEqual([choices(), select.disabled], [[["All labels", ""]], true], "no labels: nothing to choose");
});

test("the workbench says how many members the open group has, and reads it again after a membership change", async () => {
  const page = await loadPage();
  assert.deepEqual([page.membersText(1), page.membersText(24), page.membersText(2143)], ["1 member", "24 members", "2,143 members"]);

  let count = 3;
  const asked: string[] = [];
  const client = { groupSettings: async (id: string) => (asked.push(id), { memberCount: count, managers: [{ user: "teacher", role: "owner" }] }) };
  const el = new FakeElement();
  const members = page.memberCount(client, el);
  const settle = () => new Promise((r) => setTimeout(r, 0));
  const c = new Conversation("g:class");
  const base = { conv: "g:class", sender: "teacher", recalled: false, serverTsMs: Date.now() };
  c.insert({ ...base, seq: 1, clientMsgId: "a", kind: "system", body: '{"op":"create","actor":"teacher"}' });
  c.insert({ ...base, seq: 2, clientMsgId: "b", kind: "normal", body: "welcome" });

  members.open("g:class");
  await settle();
  members.seen(c);
  assert.deepEqual([el.textContent, el.title, asked], ["3 members", "run by teacher (owner)", ["g:class"]]);
  c.insert({ ...base, seq: 3, clientMsgId: "c", kind: "normal", body: "page 12" });
  members.seen(c);
  await settle();
  assert.deepEqual(asked, ["g:class"], "a message changes no count");
  count = 4;
  c.insert({ ...base, seq: 4, clientMsgId: "d", kind: "system", body: '{"op":"add","actor":"teacher","users":["ann"]}' });
  members.seen(c);
  await settle();
  assert.deepEqual([el.textContent, asked.length], ["4 members", 2], "an add: read again");
  members.seen(c);
  await settle();
  assert.equal(asked.length, 2, "the same change is read once");

  members.open("d:ann:teacher");
  await settle();
  assert.deepEqual([el.textContent, el.title, asked.length], ["", "", 2], "no count outside a group");
});

test("the workbench says whether the open chat's customer is online, or when last seen, and reads it again while open", async () => {
  const page = await loadPage();
  const now = Date.UTC(2026, 11, 6, 12, 0);
  assert.deepEqual(
    [page.presenceText({ online: true }), page.presenceText({ online: false }), page.presenceText({ online: false, lastSeen: new Date(now - 5 * 60_000) }, now),
      page.presenceText({ online: false, lastSeen: new Date(now - 3 * 3_600_000) }, now)],
    ["online", "", "last seen 5 min ago", "last seen 3 h ago"],
  );
  assert.match(page.presenceText({ online: false, lastSeen: new Date(now - 3 * 86_400_000) }, now), /^last seen on /);

  let online = true;
  const asked: string[][] = [];
  const client = {
    presence: async (user: string, conv: string) => {
      asked.push([user, conv]);
      if (user === "eve") throw new Error("FORBIDDEN");
      return { online, devices: online ? 1 : 0 };
    },
  };
  const el = new FakeElement();
  const line = page.presenceLine(client, el, 20);
  const settle = (ms = 0) => new Promise((r) => setTimeout(r, ms));
  line.open({ user: "c1", conv: "s:cars:c1:1" });
  await settle();
  assert.deepEqual([el.textContent, asked], ["online", [["c1", "s:cars:c1:1"]]]);
  online = false;
  await settle(50);
  assert.equal(el.textContent, "", "read again while open: gone, and no last seen shared");
  line.open({ user: "eve", conv: "" });
  await settle();
  assert.equal(el.textContent, "", "refused: nothing said");
  line.open(undefined);
  const n = asked.length;
  await settle(50);
  assert.deepEqual([el.textContent, asked.length], ["", n], "a group: nothing read");
});

test("pages show a text's link preview under it, the page asked once per link; nothing for a page without one", async () => {
  const page = await loadPage();
  assert.equal(page.firstLink("see https://shop.example/bike?x=1, then call"), "https://shop.example/bike?x=1");
  assert.equal(page.firstLink("no link here"), "");
  const asked: string[] = [];
  const redrawn: string[] = [];
  const client = {
    linkPreview: async (url: string) => {
      asked.push(url);
      return url.endsWith("/bike")
        ? { url, title: "Red bike", description: "Pick up in Berlin", imageUrl: "", siteName: "Marketplace" }
        : { url, title: "", description: "", imageUrl: "", siteName: "" };
    },
  };
  const preview = page.linkTracker(client, (conv: string) => redrawn.push(conv));
  const msg = (seq: number, body: string, kind = "normal") => ({ conv: "d:a:b", seq, body, kind, sender: "a", clientMsgId: `m${seq}` }) as unknown as ChatMessage;
  const bike = msg(1, "this one? https://shop.example/bike");
  assert.equal(preview(bike), undefined, "not read yet");
  assert.equal(preview(msg(2, "again: https://shop.example/bike.")), undefined, "asked once");
  assert.equal(preview(msg(3, "https://shop.example/empty")), undefined);
  assert.equal(preview(msg(4, "no link")), undefined);
  assert.equal(preview(msg(5, '{"title":"https://x.example/card"}', "card")), undefined, "only texts");
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(asked, ["https://shop.example/bike", "https://shop.example/empty"]);
  assert.deepEqual(redrawn, ["d:a:b", "d:a:b"]);
  assert.equal(preview(bike)?.title, "Red bike");
  assert.equal(preview(msg(3, "https://shop.example/empty")), undefined, "a page that says nothing: no preview");

  const el = new FakeElement();
  page.renderMessages(el, { messages: [bike], visible: () => [bike] } as unknown as Conversation, "b", { preview });
  const box = el.find("link-preview")[0];
  assert.ok(box, "the preview drawn");
  assert.equal(box.textContent, "Red bikeMarketplace · Pick up in Berlin");
});
