import { test } from "node:test";
import assert from "node:assert/strict";
import { FrameReader, FrameError, encodeFrame } from "../src/frames.js";
import { backoffDelay } from "../src/backoff.js";
import { Conversation, callRecord, isNews, mentionsMe, missedCall, parseCard, type ChatMessage } from "../src/store.js";
import { Client, MEDIA_CHUNK_BYTES, ProtocolError, WEEKDAYS, directConv, everyDay } from "../src/client.js";
import { Code, ListsUpdate_List, MembershipRequest_Op, MessageKind, MessageSchema, ResponseSchema, ServerFrameSchema } from "../src/gen/wire_pb.js";
import { chatMessage, directPeer, directTopic } from "../src/messages.js";
import { create } from "@bufbuild/protobuf";
import { OUTBOX_PREFIX, forgetMessage, loadMessages, queuedAt, saveMessage } from "../src/outbox.js";
import { Desk } from "../src/desk.js";
import { CALL_ID, callEventView, newCallId } from "../src/calls.js";
import { CallEventSchema, CallEvent_Kind } from "../src/gen/wire_pb.js";

test("frames: split anywhere, several per chunk", () => {
  const a = encodeFrame(new Uint8Array([1, 2, 3]));
  const b = encodeFrame(new Uint8Array(300).fill(7)); // two-byte prefix
  const c = encodeFrame(new Uint8Array(0));
  const all = new Uint8Array([...a, ...b, ...c]);
  for (let cut = 0; cut <= all.length; cut++) {
    const r = new FrameReader();
    const got = [...r.push(all.subarray(0, cut)), ...r.push(all.subarray(cut))];
    assert.equal(got.length, 3, `cut at ${cut}`);
    assert.deepEqual([...got[0]], [1, 2, 3]);
    assert.equal(got[1].length, 300);
    assert.equal(got[2].length, 0);
  }
  assert.deepEqual([...b.subarray(0, 2)], [0xac, 0x02]);
});

test("frames: the maximum is accepted, one byte more refused", () => {
  const r = new FrameReader(10);
  assert.equal(r.push(encodeFrame(new Uint8Array(10))).length, 1);
  assert.throws(() => new FrameReader(10).push(encodeFrame(new Uint8Array(11))), FrameError);
});

test("frames: a raised maximum applies to the next frame", () => {
  const r = new FrameReader(10);
  r.maxFrame = 20;
  assert.equal(r.push(encodeFrame(new Uint8Array(20))).length, 1);
  assert.throws(() => r.push(encodeFrame(new Uint8Array(21))), FrameError);
});

test("frames: bad prefixes", () => {
  assert.throws(() => new FrameReader().push(new Uint8Array([0x85, 0x00])), /non-minimal/);
  assert.throws(() => new FrameReader(2 ** 40).push(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x01])), /longer than 5/);
});

test("backoff: full jitter within the cap", () => {
  assert.equal(backoffDelay(0, 200, 15000, () => 0.999999), 199);
  assert.equal(backoffDelay(3, 200, 15000, () => 0.5), 800);
  assert.equal(backoffDelay(50, 200, 15000, () => 0.999999), 14999);
  assert.equal(backoffDelay(5, 200, 15000, () => 0), 0);
});

const msg = (seq: number, over: Partial<ChatMessage> = {}): ChatMessage => ({
  conv: "d:a:b", seq, clientMsgId: `c${seq}`, sender: "b", body: `m${seq}`, kind: "normal", recalled: false, serverTsMs: seq, ...over,
});

test("conversation: ordered by seq, each seq once, gaps found", () => {
  const c = new Conversation("d:a:b");
  for (const s of [5, 2, 9, 2, 5, 3]) c.insert(msg(s));
  assert.deepEqual(c.messages.map((m) => m.seq), [2, 3, 5, 9]);
  assert.deepEqual(c.gaps(), [[4, 4], [6, 8]]);
  assert.equal(c.lastSeq, 9);
});

test("conversation: a message at a held seq with another msgId replaces the held log from that seq (a restored store)", () => {
  const c = new Conversation("d:a:b");
  for (const s of [1, 2, 3]) {
    const m = msg(s, { msgId: String(10 + s) });
    if (c.insert(m, "a")) c.countNew(m, true, "a");
  }
  c.markedRead(3, "a");
  assert.equal(c.insert(msg(2, { msgId: "12" }), "a"), false, "the same message again");
  assert.equal(c.insert(msg(3, { kind: "system", body: '{"op":"gap"}' }), "a"), false, "a gap (no msgId) at a held seq");
  const again = msg(2, { msgId: "22", body: "two, again" });
  assert.equal(c.insert(again, "a"), true);
  c.countNew(again, true, "a");
  assert.deepEqual(c.messages.map((m) => [m.seq, m.msgId]), [[1, "11"], [2, "22"]]);
  assert.equal(c.lastSeq, 2);
  assert.equal(c.readSeq, 1);
  assert.equal(c.unread, 1);
});

test("conversation: an archived one comes back with news from someone else, not with one's own, nor while muted", () => {
  const c = new Conversation("d:a:b");
  const add = (seq: number, over: Partial<ChatMessage> = {}) => {
    const m = msg(seq, over);
    if (c.insert(m, "a")) c.countNew(m, true, "a");
  };
  c.archived = true;
  add(1, { sender: "a" });
  add(2, { kind: "normal", refSeq: 1, sender: "b" } as Partial<ChatMessage>);
  assert.equal(c.archived, true, "one's own message and an edit are no news");
  c.muted = true;
  add(3);
  assert.equal(c.archived, true, "muted: stays archived");
  c.mutedUntilMs = Date.now() + 60_000;
  add(4);
  assert.equal(c.archived, true, "muted for a while: stays archived");
  c.mutedUntilMs = Date.now() - 1;
  add(5);
  assert.equal(c.archived, false, "a mute for a while that ended: news brings it back");
  c.archived = true;
  c.muted = false;
  c.mutedUntilMs = 0;
  add(6);
  assert.equal(c.archived, false);
});

test("conversation: a call nobody answered is news to the callee, as on the server; other call records and system notes are not", () => {
  const c = new Conversation("d:a:b");
  const rec = (seq: number, outcome: string) =>
    msg(seq, { kind: "system", sender: "b", body: JSON.stringify({ op: "call", call: `c${seq}`, actor: "b", callee: "a", outcome, video: true }) });
  for (const m of [rec(1, "missed"), rec(2, "ended"), rec(3, "cancelled"), rec(4, "declined"), msg(5, { kind: "system", body: '{"op":"add","actor":"b"}' })]) {
    if (c.insert(m, "a")) c.countNew(m, true, "a");
  }
  assert.equal(c.unread, 2, "the missed and the cancelled call");
  assert.deepEqual(missedCall(rec(1, "missed")), { op: "call", call: "c1", actor: "b", callee: "a", outcome: "missed", video: true });
  assert.equal(callRecord(rec(2, "ended"))?.outcome, "ended");
  assert.equal(missedCall(rec(2, "ended")), undefined);
  assert.equal(isNews(msg(6, { kind: "system", body: "not json, \"op\":\"call\"" })), false);
});

test("conversation: a freeze is taken as of its seq; an older summary or update neither undoes nor brings it back", () => {
  const c = new Conversation("g:class");
  const frozen = { reason: "the term is over", by: "teacher", atMs: 1 };
  c.setInfo(10, { title: "7B", frozen });
  assert.deepEqual(c.frozen, frozen);
  c.setInfo(9, { title: "7B" }); // a summary computed before the freeze
  assert.deepEqual(c.frozen, frozen);
  c.setInfo(12, { title: "7B" }); // the unfreeze
  assert.equal(c.frozen, undefined);
  c.setInfo(11, { title: "7B", frozen }); // a late push of the freeze
  assert.equal(c.frozen, undefined);
  // A cool-down holds until its end, by the clock.
  c.setInfo(13, { title: "7B", frozen: { ...frozen, untilMs: 1000 } });
  assert.equal(c.frozenAt(999)?.untilMs, 1000);
  assert.equal(c.frozenAt(1000), undefined);
});

test("conversation: the app's meta is taken as of its seq; an empty one is none", () => {
  const c = new Conversation("d:a:b:listing-7");
  c.setInfo(3, { title: "", meta: { title: "Lamp", price: "40 EUR" } });
  assert.deepEqual(c.meta, { title: "Lamp", price: "40 EUR" });
  c.setInfo(2, { title: "", meta: {} }); // older
  assert.deepEqual(c.meta, { title: "Lamp", price: "40 EUR" });
  c.setInfo(3, { title: "", meta: {} }); // taken away
  assert.equal(c.meta, undefined);
});

test("conversation: mutedAt is muted with no end, or before its end", () => {
  const c = new Conversation("d:a:b");
  assert.equal(c.mutedAt(), false);
  c.muted = true;
  assert.equal(c.mutedAt(), true, "until unmuted");
  c.mutedUntilMs = 1000;
  assert.equal(c.mutedAt(999), true);
  assert.equal(c.mutedAt(1000), false, "ends at its end");
  assert.equal(c.mutedAt(), false, "long ended by now");
  c.muted = false;
  assert.equal(c.mutedAt(999), false, "not muted");
});

test("conversation: any read of this device clears the unread mark, even one that moves no cursor", () => {
  const c = new Conversation("d:a:b");
  c.applySummary(3, 3, 0, 0, "a");
  c.markedUnread = true;
  c.markedRead(2, "a");
  assert.equal(c.markedUnread, false);
  assert.equal(c.readSeq, 3, "the cursor did not move back");
});

test("conversation: unread is the newest summary's count plus the news above it, however it arrives", () => {
  const c = new Conversation("g:x");
  const add = (seq: number, live: boolean, over: Partial<ChatMessage> = {}) => {
    const m = msg(seq, over);
    if (c.insert(m)) c.countNew(m, live, "a");
  };
  add(1, true);
  assert.equal(c.unread, 1, "before any summary, a push counts");
  add(7, false);
  assert.equal(c.unread, 1, "before any summary, history does not");
  c.applySummary(2, 0, 2, 0, "a");
  assert.equal(c.unread, 3, "a summary at seq 2, plus seq 7 held above it");
  add(4, false);
  assert.equal(c.unread, 4, "a gap pulled outside a sync");
  add(4, true);
  add(5, true, { sender: "a" });
  add(6, true, { kind: "card", refSeq: 2 });
  assert.equal(c.unread, 4, "a duplicate, an own message and a card's update do not count");
  c.applySummary(1, 0, 1, 0, "a");
  assert.equal(c.unread, 4, "an older summary is ignored");
  c.applySummary(7, 0, 5, 0, "a");
  add(3, false);
  assert.equal(c.unread, 5, "what the newest summary covered is not counted again");
  c.markedRead(6, "a");
  assert.equal(c.unread, 1, "reading up to 6 leaves seq 7");
  c.markedRead(5, "a");
  assert.equal(c.readSeq, 6, "a read cursor never goes back");
  c.markedRead(7, "a");
  add(8, false);
  assert.equal(c.unread, 1, "after reading all, the next message counts however it arrives");
  add(9, true, { kind: "card" });
  assert.equal(c.unread, 2, "a new card counts, as a text does");
  add(10, true, { kind: "card", recalled: true });
  assert.equal(c.unread, 2, "a recalled card does not");
});

test("conversation: unread mentions are the unread messages that name this user, counted as unread is", () => {
  const c = new Conversation("g:x");
  const add = (seq: number, live: boolean, over: Partial<ChatMessage> = {}) => {
    const m = msg(seq, over);
    if (c.insert(m)) c.countNew(m, live, "a");
  };
  c.applySummary(3, 0, 3, 1, "a");
  assert.equal(c.unreadMentions, 1, "the summary's count");
  add(4, true, { mentions: ["a"] });
  add(5, true, { mentions: ["b"] });
  add(6, true, { sender: "a", mentions: ["b"] });
  assert.deepEqual([c.unread, c.unreadMentions], [5, 2], "a push naming a counts; one naming b, or a's own, does not");
  c.markedRead(4, "a");
  assert.deepEqual([c.unread, c.unreadMentions], [1, 0], "read past the mention: seq 5 is left, naming b");
  add(7, false, { mentions: ["a", "b"] });
  assert.equal(c.unreadMentions, 1, "a gap pulled above the summary counts too");
  c.markedRead(7, "a");
  assert.equal(c.unreadMentions, 0);
});

test("conversation: an @all (mentionAll) mentions every member but its sender, counted as unread is", () => {
  const c = new Conversation("g:x");
  const add = (seq: number, live: boolean, over: Partial<ChatMessage> = {}) => {
    const m = msg(seq, over);
    if (c.insert(m)) c.countNew(m, live, "a");
  };
  assert.equal(mentionsMe(msg(1, { mentionAll: true }), "a"), true, "b's @all mentions a");
  assert.equal(mentionsMe(msg(1, { sender: "a", mentionAll: true }), "a"), false, "a's own @all does not");
  c.applySummary(2, 0, 2, 0, "a");
  add(3, true, { mentionAll: true });
  add(4, true, { sender: "a", mentionAll: true });
  add(5, true, { mentionAll: true, recalled: true });
  assert.deepEqual([c.unread, c.unreadMentions], [3, 1], "b's @all counts; a's own, or a recalled one, does not");
  add(6, false, { mentionAll: true });
  assert.deepEqual([c.unread, c.unreadMentions], [4, 2], "a gap pulled above the summary counts too");
  c.markedRead(3, "a");
  assert.deepEqual([c.unread, c.unreadMentions], [1, 1], "read past the first: seq 6 is left");
  // A summary covering seq 6 and an @all held above it: its count plus that one.
  add(7, false, { mentionAll: true });
  c.applySummary(6, 3, 1, 1, "a");
  assert.deepEqual([c.unread, c.unreadMentions], [2, 2]);
  c.markedRead(7, "a");
  assert.equal(c.unreadMentions, 0);
});

test("messages: mentionAll from the wire is kept, and set only when true", () => {
  const wire = (over: object) => create(MessageSchema, { conv: "g:x", seq: 3n, sender: "b", body: new TextEncoder().encode("@all no class tomorrow"), serverTsMs: 1n, ...over });
  const all = chatMessage(wire({ mentionAll: true }), "a");
  assert.deepEqual([all.mentionAll, all.mentions], [true, undefined]);
  assert.ok(!("mentionAll" in chatMessage(wire({ mentions: ["a"] }), "a")), "a plain mention has no mentionAll");
});

test("messages: autoReply from the wire is kept, and set only when true", () => {
  const wire = (over: object) => create(MessageSchema, { conv: "d:buyer:seller", seq: 2n, sender: "seller", body: new TextEncoder().encode("On holiday until Monday"), serverTsMs: 1n, ...over });
  const auto = chatMessage(wire({ autoReply: true }), "buyer");
  assert.deepEqual([auto.autoReply, auto.sender, auto.body, auto.kind], [true, "seller", "On holiday until Monday", "normal"]);
  assert.equal(chatMessage(wire({ autoReply: true }), "seller").state, "sent", "the away user's own copy is theirs");
  assert.ok(!("autoReply" in chatMessage(wire({}), "buyer")), "a message the seller wrote has no autoReply");
});

test("conversation: a pending message becomes sent once stored; states follow the peer cursors", () => {
  const c = new Conversation("d:a:b");
  c.pending.push(msg(0, { sender: "a", clientMsgId: "x", state: "sending" }));
  assert.equal(c.all().at(-1)!.state, "sending");
  c.insert(msg(1, { sender: "a", clientMsgId: "x" }));
  c.insert(msg(2, { sender: "a", clientMsgId: "y" }));
  assert.equal(c.pending.length, 0);
  c.refreshStates("a");
  assert.deepEqual(c.messages.map((m) => m.state), ["sent", "sent"]);
  c.peerDeliveredSeq = 2;
  c.peerReadSeq = 1;
  c.refreshStates("a");
  assert.deepEqual(c.messages.map((m) => m.state), ["read", "delivered"]);
  // The push of one's own message after the send answer: no duplicate.
  assert.equal(c.insert(msg(2, { sender: "a", clientMsgId: "y" })), false);
  assert.equal(c.messages.length, 2);
});

test("direct conversation ids", () => {
  assert.equal(directConv("bob", "alice"), "d:alice:bob");
  assert.equal(directConv("alice", "bob"), "d:alice:bob");
  assert.equal(directPeer("d:alice:bob", "alice"), "bob");
  assert.equal(directPeer("d:alice:bob", "bob"), "alice");
  assert.equal(directPeer("d:alice:bob", "carol"), "");
  assert.equal(directPeer("d:bob:alice", "alice"), "");
  assert.equal(directPeer("g:alice:bob", "alice"), "");
  assert.equal(directPeer("d:alice:alice", "alice"), "");
  // A pair's conversation about a topic.
  assert.equal(directConv("bob", "alice", "listing-7"), "d:alice:bob:listing-7");
  assert.equal(directConv("bob", "alice", ""), "d:alice:bob");
  assert.equal(directPeer("d:alice:bob:listing-7", "alice"), "bob");
  assert.equal(directPeer("d:alice:bob:listing-7", "bob"), "alice");
  assert.equal(directPeer("d:alice:bob:", "alice"), "");
  assert.equal(directPeer("d:alice:bob:a:b", "alice"), "");
  assert.equal(directTopic("d:alice:bob:listing-7"), "listing-7");
  assert.equal(directTopic("d:alice:bob"), "");
  assert.equal(directTopic("g:team"), "");
});

test("a message's location: as the SDK shows it, its name left out when empty", () => {
  const base = { conv: "d:a:b", seq: 1n, sender: "a", body: new Uint8Array() };
  assert.deepEqual(chatMessage(create(MessageSchema, { ...base, location: { lat: 52.52, lng: 13.4, name: "gate B" } }), "b").location, { lat: 52.52, lng: 13.4, name: "gate B" });
  assert.deepEqual(chatMessage(create(MessageSchema, { ...base, location: { lat: -1, lng: 2, name: "" } }), "b").location, { lat: -1, lng: 2 });
  assert.equal(chatMessage(create(MessageSchema, base), "b").location, undefined);
});

test("cards: the body is parsed; junk is not a card", () => {
  const c = parseCard('{"title":"Pick a time","fields":[{"label":"where","value":"showroom"}],"actions":[{"id":"fri","label":"Friday 10:00","payload":{"slot":"fri-10"}},{"id":"sat"}]}')!;
  assert.equal(c.title, "Pick a time");
  assert.deepEqual(c.fields, [{ label: "where", value: "showroom" }]);
  assert.deepEqual(c.actions!.map((a) => [a.id, a.label]), [["fri", "Friday 10:00"], ["sat", "sat"]]);
  assert.deepEqual(c.actions![0].payload, { slot: "fri-10" });
  for (const bad of ["", "not json", "null", "[]", '{"fields":[]}', '{"title":5}']) assert.equal(parseCard(bad), undefined, bad);
});

test("cards: an update replaces its card, in either arrival order, newest wins; updates are hidden", () => {
  const card = (seq: number, title: string, refSeq?: number) =>
    msg(seq, { kind: "card", body: JSON.stringify({ title }), card: parseCard(JSON.stringify({ title })), refSeq });
  const a = new Conversation("d:a:b");
  a.insert(card(3, "v1"));
  a.insert(card(5, "v2", 3));
  assert.equal(a.messages[0].card!.title, "v2");
  assert.equal(a.messages[0].cardUpdateSeq, 5);
  a.insert(card(4, "older", 3)); // an older update pulled late does not win
  assert.equal(a.messages[0].card!.title, "v2");
  assert.deepEqual(a.visible().map((m) => m.seq), [3]);

  const b = new Conversation("d:a:b");
  b.insert(card(7, "late", 3));
  b.insert(card(6, "early", 3));
  b.insert(card(3, "v1"));
  assert.equal(b.messages[0].card!.title, "late");
});

test("reactions: one per member, the newest wins, an empty one takes it back; folded in either arrival order, hidden", () => {
  const react = (seq: number, sender: string, emoji: string, refSeq = 1) => msg(seq, { kind: "reaction", sender, body: emoji, refSeq });
  const a = new Conversation("g:x");
  a.insert(msg(1, { body: "class at 9" }));
  a.insert(react(2, "ann", "👍"));
  a.insert(react(3, "bob", "👍"));
  a.insert(react(4, "cy", "❤️"));
  assert.deepEqual(a.messages[0].reactions, [{ emoji: "👍", users: ["ann", "bob"] }, { emoji: "❤️", users: ["cy"] }]);
  a.insert(react(5, "bob", "❤️")); // bob changes his
  a.insert(react(6, "ann", "")); // ann takes hers back
  assert.deepEqual(a.messages[0].reactions, [{ emoji: "❤️", users: ["bob", "cy"] }]);
  assert.deepEqual(a.visible().map((m) => m.seq), [1]);
  assert.equal(a.unread, 0);

  // Newest first (a history page): the reactions come before their message, an older one after a newer.
  const b = new Conversation("g:x");
  b.insert(react(5, "bob", "❤️"));
  b.insert(react(3, "bob", "👍"));
  b.insert(msg(1, { body: "class at 9" }));
  assert.deepEqual(b.messages[0].reactions, [{ emoji: "❤️", users: ["bob"] }]);
});

test("cards: own cards have message states, updates do not", () => {
  const c = new Conversation("d:a:b");
  c.insert(msg(1, { sender: "a", kind: "card", card: { title: "t" } }));
  c.insert(msg(2, { sender: "a", kind: "card", card: { title: "u" }, refSeq: 1 }));
  c.peerReadSeq = 2;
  c.refreshStates("a");
  assert.equal(c.messages[0].state, "read");
  assert.equal(c.messages[1].state, undefined);
});

class MemStorage {
  m = new Map<string, string>();
  full = false;
  get length() {
    return this.m.size;
  }
  key(i: number) {
    return [...this.m.keys()][i] ?? null;
  }
  getItem(k: string) {
    return this.m.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    if (this.full) throw new Error("QuotaExceededError");
    this.m.set(k, v);
  }
  removeItem(k: string) {
    this.m.delete(k);
  }
}

test("outbox: kept per user in queue order, forgotten once stored, junk dropped", () => {
  const s = new MemStorage();
  const at = [queuedAt(), queuedAt(), queuedAt()];
  assert.ok(at[0] < at[1] && at[1] < at[2]);
  // Saved out of order: loaded in the order queued.
  assert.ok(saveMessage(s, "a", { conv: "c", to: "", clientMsgId: "x2", body: "two", kind: "normal", at: at[1], replyTo: 7 }));
  assert.ok(saveMessage(s, "a", { conv: "c", to: "", clientMsgId: "x1", body: "one", kind: "normal", at: at[0], mentions: ["bob"] }));
  // Another user, whose name starts like a's prefix, is kept apart.
  assert.ok(saveMessage(s, "a:b", { conv: "d:a:b", to: "a", clientMsgId: "y", body: "{}", kind: "card", at: at[2] }));
  s.setItem(OUTBOX_PREFIX + "a:junk", "{not json");
  s.setItem(OUTBOX_PREFIX + "a:badreply", JSON.stringify({ conv: "c", to: "", clientMsgId: "badreply", body: "b", kind: "normal", at: 2, replyTo: -1 }));
  s.setItem(OUTBOX_PREFIX + "a:badmention", JSON.stringify({ conv: "c", to: "", clientMsgId: "badmention", body: "b", kind: "normal", at: 3, mentions: [7] }));
  s.setItem(OUTBOX_PREFIX + "a:z", JSON.stringify({ conv: "c", to: "", clientMsgId: "other", body: "b", kind: "normal", at: 1 }));
  assert.deepEqual(loadMessages(s, "a").map((m) => [m.body, m.replyTo, m.mentions]), [["one", undefined, ["bob"]], ["two", 7, undefined]], "a reply keeps what it answers, a mention whom");
  assert.equal(s.getItem(OUTBOX_PREFIX + "a:badmention"), null, "an entry whose mentions are not user ids is dropped");
  assert.equal(s.getItem(OUTBOX_PREFIX + "a:junk"), null, "junk is dropped");
  assert.equal(s.getItem(OUTBOX_PREFIX + "a:z"), null, "an entry under another id's key is dropped");
  assert.equal(s.getItem(OUTBOX_PREFIX + "a:badreply"), null, "an entry replying to no seq is dropped");
  assert.deepEqual(loadMessages(s, "a:b").map((m) => [m.clientMsgId, m.to, m.kind]), [["y", "a", "card"]]);
  forgetMessage(s, "a", "x1");
  assert.deepEqual(loadMessages(s, "a").map((m) => m.clientMsgId), ["x2"]);
  s.full = true;
  assert.equal(saveMessage(s, "a", { conv: "c", to: "", clientMsgId: "x3", body: "three", kind: "normal", at: queuedAt() }), false);
  assert.deepEqual(loadMessages(s, "a").map((m) => m.clientMsgId), ["x2"]);
});

test("outbox: a place and the app's meta are kept with their message; a malformed one is dropped", () => {
  const s = new MemStorage();
  assert.ok(saveMessage(s, "a", { conv: "d:a:b", to: "b", clientMsgId: "here", body: "", kind: "normal", at: queuedAt(), location: { lat: 52.5, lng: 13.4, name: "gate B", liveUntilMs: 1796600000000 } }));
  assert.ok(saveMessage(s, "a", { conv: "d:a:b", to: "b", clientMsgId: "offer", body: "40?", kind: "normal", at: queuedAt(), meta: { offer: "40", currency: "EUR" } }));
  s.setItem(OUTBOX_PREFIX + "a:badplace", JSON.stringify({ conv: "c", to: "", clientMsgId: "badplace", body: "", kind: "normal", at: 1, location: { lat: "north" } }));
  s.setItem(OUTBOX_PREFIX + "a:badmeta", JSON.stringify({ conv: "c", to: "", clientMsgId: "badmeta", body: "b", kind: "normal", at: 2, meta: { offer: 40 } }));
  assert.deepEqual(
    loadMessages(s, "a").map((m) => [m.clientMsgId, m.location, m.meta]),
    [
      ["here", { lat: 52.5, lng: 13.4, name: "gate B", liveUntilMs: 1796600000000 }, undefined],
      ["offer", undefined, { offer: "40", currency: "EUR" }],
    ],
  );
  assert.equal(s.getItem(OUTBOX_PREFIX + "a:badplace"), null, "a place that is no place is dropped");
  assert.equal(s.getItem(OUTBOX_PREFIX + "a:badmeta"), null, "meta with a value that is no string is dropped");
});

test("messages: the app's meta from the wire is kept, and set only when there is some", () => {
  const wire = (over: object) => create(MessageSchema, { conv: "d:a:b", seq: 3n, sender: "b", body: new TextEncoder().encode("40?"), serverTsMs: 1n, ...over });
  assert.deepEqual(chatMessage(wire({ meta: { offer: "40" } }), "a").meta, { offer: "40" });
  assert.equal("meta" in chatMessage(wire({}), "a"), false);
});

test("outbox: an @all keeps mentionAll; one that also names members, or says it otherwise, is dropped", () => {
  const s = new MemStorage();
  assert.ok(saveMessage(s, "a", { conv: "g:x", to: "", clientMsgId: "all", body: "@all hi", kind: "normal", at: queuedAt(), mentionAll: true }));
  assert.ok(saveMessage(s, "a", { conv: "g:x", to: "", clientMsgId: "plain", body: "hi", kind: "normal", at: queuedAt(), mentionAll: false }));
  const bad = (id: string, over: object) => s.setItem(OUTBOX_PREFIX + "a:" + id, JSON.stringify({ conv: "g:x", to: "", clientMsgId: id, body: "b", kind: "normal", at: 1, ...over }));
  bad("named", { mentionAll: true, mentions: ["bob"] });
  bad("yes", { mentionAll: "yes" });
  bad("fw", { mentionAll: true, forward: { conv: "g:y", seq: 2 } });
  assert.deepEqual(loadMessages(s, "a").map((m) => [m.clientMsgId, m.mentionAll, m.mentions]), [["all", true, undefined], ["plain", undefined, undefined]]);
  for (const id of ["named", "yes", "fw"]) assert.equal(s.getItem(OUTBOX_PREFIX + "a:" + id), null, `${id} is dropped`);
});

// An @all queued while away is an @all once sent: the pending message,
// the persisted outbox, the next client's send (mentionAll on the wire,
// no mentions) and the stored copy all say so. The node is stood in for
// at the request seam.
test("mentionAll: queued, persisted, resent as mentionAll with no mentions, stored as such", async () => {
  const storage = new MemStorage();
  const first = new Client({ url: "ws://127.0.0.1:1", token: "t", outbox: storage });
  first.user = "teacher";
  const pending = first.mentionAll("g:class", "@all no class tomorrow");
  assert.deepEqual([pending.conv, pending.state, pending.mentionAll, pending.mentions], ["g:class", "sending", true, undefined]);
  assert.deepEqual(loadMessages(storage, "teacher").map((m) => [m.clientMsgId, m.mentionAll]), [[pending.clientMsgId, true]]);

  const next = new Client({ url: "ws://127.0.0.1:1", token: "t", outbox: storage });
  const sends: any[] = [];
  (next as any).request = async (op: { case: string; value: any }) => {
    assert.equal(op.case, "send");
    sends.push(op.value);
    return create(ResponseSchema, { result: { case: "send", value: { conv: "g:class", seq: 1n, msgId: 1n, serverTsMs: 1n } } });
  };
  next.user = "teacher";
  (next as any).link = {}; // connected, as far as the pipeline asks
  next.state = "connected";
  (next as any).loadOutbox();
  const stored = () => next.conversation("g:class").messages;
  for (let i = 0; i < 100 && stored().length < 1; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(sends.length, 1);
  assert.deepEqual([sends[0].clientMsgId, sends[0].mentionAll, sends[0].mentions], [pending.clientMsgId, true, []]);
  assert.deepEqual([stored()[0].seq, stored()[0].mentionAll, stored()[0].state], [1, true, "sent"]);
  assert.equal(next.conversation("g:class").unreadMentions, 0, "one's own @all mentions others");

  // A plain send carries mentionAll false.
  next.send("g:class", "and a plain one");
  for (let i = 0; i < 100 && sends.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(sends[1].mentionAll, false);
});

test("outbox: a forward keeps the message it copies; one that is not a forward's shape is dropped", () => {
  const s = new MemStorage();
  const media = { id: "f1", name: "bike.png", mime: "image/png", size: 5, chunks: 1, thumb: new Uint8Array([1]) };
  assert.ok(saveMessage(s, "a", { conv: "d:a:b", to: "b", clientMsgId: "fw", body: "the bike", kind: "normal", at: queuedAt(), media, forward: { conv: "g:x", seq: 4 } }));
  const bad = (id: string, over: object) => s.setItem(OUTBOX_PREFIX + "a:" + id, JSON.stringify({ conv: "c", to: "", clientMsgId: id, body: "", kind: "normal", at: 1, forward: { conv: "g:x", seq: 4 }, ...over }));
  bad("noseq", { forward: { conv: "g:x", seq: 0 } });
  bad("noconv", { forward: { conv: "", seq: 4 } });
  bad("card", { kind: "card" });
  bad("reply", { replyTo: 2 });
  const got = loadMessages(s, "a");
  assert.deepEqual(got.map((m) => [m.clientMsgId, m.forward, m.body, m.media?.id, m.media?.thumb]), [["fw", { conv: "g:x", seq: 4 }, "the bike", "f1", undefined]]);
  for (const id of ["noseq", "noconv", "card", "reply"]) assert.equal(s.getItem(OUTBOX_PREFIX + "a:" + id), null, `${id} is dropped`);
});

// A forward queued while away shows the held message, is kept in the
// persisted outbox, and the next client sends it as a forward (the source
// named, no body, no file of its own); the answer's text and file are the
// stored copy's. The node is stood in for at the request seam.
test("forward: shown as held, persisted, resent as a forward, stored as answered", async () => {
  const storage = new MemStorage();
  const first = new Client({ url: "ws://127.0.0.1:1", token: "t", outbox: storage });
  first.user = "buyer";
  const photo = { id: "src", name: "bike.png", mime: "image/png", size: 5, chunks: 1 };
  first.conversation("g:bikes").insert(msg(3, { conv: "g:bikes", sender: "seller", body: "the bike", media: photo }), "buyer");
  first.conversation("g:bikes").insert(msg(4, { conv: "g:bikes", sender: "seller", kind: "card", body: '{"title":"Bike"}' }), "buyer");
  // Not connected: the sends wait in the outbox.
  const pending = first.forward("d:buyer:partner", "g:bikes", 3);
  assert.deepEqual([pending.conv, pending.state, pending.forwarded, pending.body, pending.media?.id], ["d:buyer:partner", "sending", true, "the bike", "src"]);
  const card = first.forward({ to: "partner" }, "g:bikes", 4);
  assert.deepEqual([card.body, card.media, card.forwarded], ["", undefined, true], "a card is not shown as a text");
  assert.throws(() => first.forward({ to: "partner" }, "g:bikes", 0), /seq/);
  assert.deepEqual(loadMessages(storage, "buyer").map((m) => [m.to, m.forward]), [["partner", { conv: "g:bikes", seq: 3 }], ["partner", { conv: "g:bikes", seq: 4 }]]);

  const next = new Client({ url: "ws://127.0.0.1:1", token: "t", outbox: storage });
  const sends: any[] = [];
  const copy = { id: "copy", name: "bike.png", mime: "image/png", size: 5n, chunks: 1 };
  (next as any).request = async (op: { case: string; value: any }) => {
    assert.equal(op.case, "send");
    sends.push(op.value);
    const seq = BigInt(sends.length);
    return create(ResponseSchema, { result: { case: "send", value: { conv: "d:buyer:partner", seq, msgId: seq, serverTsMs: 1n, storedBody: new TextEncoder().encode("the bike, as edited"), media: copy } } });
  };
  next.user = "buyer";
  (next as any).link = {}; // connected, as far as the pipeline asks
  next.state = "connected";
  (next as any).loadOutbox();
  const stored = () => next.conversation("d:buyer:partner").messages;
  for (let i = 0; i < 100 && stored().length < 2; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(sends.length, 2);
  for (const [i, seq] of [3, 4].entries()) {
    const w = sends[i];
    assert.deepEqual([w.conv, w.to, w.forwardConv, w.forwardSeq, w.body, w.mediaId], ["", "partner", "g:bikes", BigInt(seq), undefined, undefined], `send ${i}: a forward, without content`);
  }
  assert.equal(sends[0].clientMsgId, pending.clientMsgId, "the same client message id: stored once");
  const got = stored().find((m) => m.clientMsgId === pending.clientMsgId)!;
  assert.deepEqual([got.seq, got.forwarded, got.body, got.media?.id, got.state], [1, true, "the bike, as edited", "copy", "sent"]);
  assert.equal(storage.length, 0, "the outbox lets go of what the node stored");
});

test("desk admin: hours, targets, saved replies, reasons, priorities and reach-outs go to their endpoints", async () => {
  const calls: string[] = [];
  const fake = (async (input: string | URL | Request, init?: RequestInit) => {
    calls.push(`${init?.method} ${String(input)} ${init?.body ?? ""}`);
    return new Response(JSON.stringify({ line: "cars", hours: null, replies: [] }), { status: 200 });
  }) as typeof fetch;
  const d = new Desk("http://admin/", "tok", fake);
  await d.setHours("cars", { tz: "UTC", week: { mon: "09:00-17:00" } });
  await d.hours("cars");
  await d.setHours("cars", null);
  await d.setTargets("cars", { first_response_ms: 120000 });
  await d.targets("cars");
  await d.setTargets("cars", null);
  await d.setSavedReplies("cars", [{ name: "hi", text: "Hello!" }]);
  await d.reasons("cars");
  await d.reasons("cars", "2026-11-01", "2026-11-30");
  await d.priority("cars", "c3", 5);
  await d.reach("a1", "c3", "listing/7");
  assert.deepEqual(calls, [
    'PUT http://admin/api/v1/desk/lines/cars/hours {"tz":"UTC","week":{"mon":"09:00-17:00"}}',
    "GET http://admin/api/v1/desk/lines/cars/hours ",
    "DELETE http://admin/api/v1/desk/lines/cars/hours ",
    'PUT http://admin/api/v1/desk/lines/cars/targets {"first_response_ms":120000}',
    "GET http://admin/api/v1/desk/lines/cars/targets ",
    "DELETE http://admin/api/v1/desk/lines/cars/targets ",
    'PUT http://admin/api/v1/desk/lines/cars/replies {"replies":[{"name":"hi","text":"Hello!"}]}',
    "GET http://admin/api/v1/desk/lines/cars/reasons ",
    "GET http://admin/api/v1/desk/lines/cars/reasons?from=2026-11-01&to=2026-11-30 ",
    'POST http://admin/api/v1/desk/priority {"line":"cars","customer":"c3","priority":5}',
    'POST http://admin/api/v1/desk/reach {"user":"a1","customer":"c3","scene":"listing/7"}',
  ]);
});

// A file's many requests go at the rate the node allows: a chunk refused
// RATE_LIMITED or BUSY for the connection's request rate is sent again
// after the node's retry-after; a wait over 2 s (an hourly budget spent)
// fails the upload. The node is stood in for at the request seam.
test("uploads are paced by the node's refusals", async () => {
  const c = new Client({ url: "ws://127.0.0.1:1", token: "t" });
  const chunks: number[] = [];
  let refusals = 0;
  (c as any).request = async (op: { case: string; value: any }) => {
    switch (op.case) {
      case "mediaCreate":
        return { result: { case: "mediaCreate", value: { id: "m1", name: op.value.name, mime: op.value.mime, size: op.value.size, chunks: 3 } } };
      case "mediaChunk":
        if (op.value.index === 1 && refusals < 2) {
          refusals++;
          throw new ProtocolError(refusals === 1 ? Code.RATE_LIMITED : Code.BUSY, "slow down", 5);
        }
        chunks.push(op.value.index);
        return { result: { case: "mediaChunk", value: {} } };
      case "mediaComplete":
        return { result: { case: "mediaComplete", value: { id: "m1", name: "a.bin", mime: "application/octet-stream", size: BigInt(3 * MEDIA_CHUNK_BYTES), chunks: 3 } } };
    }
    throw new Error(`unexpected ${op.case}`);
  };
  const ref = await c.upload("g:x", new Uint8Array(3 * MEDIA_CHUNK_BYTES), "a.bin", "application/octet-stream");
  assert.equal(ref.id, "m1");
  assert.equal(refusals, 2);
  assert.deepEqual([...chunks].sort(), [0, 1, 2]);

  (c as any).request = async () => {
    throw new ProtocolError(Code.RATE_LIMITED, "hourly upload budget spent", 60_000);
  };
  await assert.rejects(c.upload("g:x", new Uint8Array(1), "b.bin", "application/octet-stream"), (e: unknown) => e instanceof ProtocolError && e.retryAfterMs === 60_000);
});

test("retention: an expired message read again replaces the held copy, text and file gone", () => {
  const c = new Conversation("d:a:b");
  c.insert(msg(1, { body: "the door code is 4711" }));
  const wire = create(MessageSchema, { conv: "d:a:b", seq: 1n, sender: "b", recalled: true, expired: true, serverTsMs: 1n });
  c.insert(chatMessage(wire, "a"));
  const held = c.messages[0];
  assert.equal(held.expired, true);
  assert.equal(held.recalled, true);
  assert.equal(held.body, "");
  assert.equal(held.media, undefined);
});

// Starred messages: star checks its seq before asking; starred reads
// page after page until the node's next_before_ms is 0, each message
// converted as history's are. The node is stood in for at the request seam.
test("starred: star sends the seq, starred follows the pages to the end", async () => {
  const c = new Client({ url: "ws://127.0.0.1:1", token: "t" });
  c.user = "ann";
  const asked: [string, any][] = [];
  const wire = (seq: number, body: string, sender = "teacher") => create(MessageSchema, { conv: "g:maths", seq: BigInt(seq), sender, body: new TextEncoder().encode(body), serverTsMs: 1n });
  // Three pages: the second holds an entry without its message (skipped).
  const pages = [
    { messages: [{ message: wire(3, "test on Monday"), starredAtMs: 300n }], nextBeforeMs: 300n },
    { messages: [{ starredAtMs: 200n }], nextBeforeMs: 200n },
    { messages: [{ message: wire(1, "page 12", "ann"), starredAtMs: 100n }], nextBeforeMs: 0n },
  ];
  (c as any).request = async (op: { case: string; value: any }) => {
    asked.push([op.case, op.value]);
    if (op.case === "star") return create(ResponseSchema, { result: { case: "star", value: { count: 2 } } });
    return create(ResponseSchema, { result: { case: "starred", value: pages[asked.filter((a) => a[0] === "starred").length - 1] } });
  };
  assert.equal(await c.star("g:maths", 3), 2);
  await c.star("g:maths", 3, false);
  assert.deepEqual(asked, [["star", { conv: "g:maths", seq: 3n, starred: true }], ["star", { conv: "g:maths", seq: 3n, starred: false }]]);
  for (const seq of [0, -1, 1.5, Number.MAX_SAFE_INTEGER + 1]) await assert.rejects(c.star("g:maths", seq), /seq/, `seq ${seq}`);
  await assert.rejects(c.star("", 1), /conversation/);
  await assert.rejects(c.starredPage(-5), /beforeMs/);
  assert.equal(asked.length, 2, "nothing invalid is sent");

  asked.length = 0;
  const all = await c.starred();
  assert.deepEqual(asked.map((a) => [a[1].beforeMs, a[1].limit]), [[0n, 0], [300n, 0], [200n, 0]]);
  assert.deepEqual(all.map((s) => [s.message.conv, s.message.seq, s.message.sender, s.message.body, s.message.kind, s.starredAtMs]), [
    ["g:maths", 3, "teacher", "test on Monday", "normal", 300],
    ["g:maths", 1, "ann", "page 12", "normal", 100],
  ]);
  assert.equal(all[1].message.state, "sent", "converted as history's messages are (one's own has a state)");
});

// Scheduled messages: schedule sends a new message's fields and the time,
// a fresh client message id each (or the one given, to replace it);
// scheduled converts the node's list; bad arguments are refused before
// anything is sent. The node is stood in for at the request seam.
test("scheduled: schedule sends the message and its time, scheduled lists, unschedule names the id", async () => {
  const c = new Client({ url: "ws://127.0.0.1:1", token: "t" });
  c.user = "ann";
  const asked: [string, any][] = [];
  // The node answers each schedule with what it kept: the send as sent.
  const kept = (send: any, atMs: bigint) => ({ id: `id-${send.clientMsgId}`, send, atMs, createdMs: 5n });
  (c as any).request = async (op: { case: string; value: any }) => {
    asked.push([op.case, op.value]);
    if (op.case === "schedule") return create(ResponseSchema, { result: { case: "schedule", value: { scheduled: kept(op.value.send, op.value.atMs) } } });
    if (op.case === "unschedule") return create(ResponseSchema, { result: { case: "unschedule", value: {} } });
    const list = asked.filter((a) => a[0] === "schedule").map((a) => kept(a[1].send, a[1].atMs));
    return create(ResponseSchema, { result: { case: "scheduled", value: { messages: list } } });
  };
  const at = Date.UTC(2026, 4, 4, 7);
  const text = await c.schedule({ to: "bob" }, "good morning", at);
  const reply = await c.schedule("g:maths", "see page 12", at + 1, { replyTo: 3, mentions: ["bob"] });
  const poll = await c.schedulePoll("g:maths", { question: "Test day?", options: ["Mon", "Tue"], multiple: true }, at + 2);
  const card = await c.scheduleCard("g:maths", { title: "Homework" }, at + 3, { clientMsgId: "again" });
  const everyone = await c.schedule("g:maths", "@all test tomorrow", at + 4, { mentionAll: true });
  assert.equal(everyone.mentionAll, true, "an @all is answered as one");
  assert.equal(asked.at(-1)?.[1].send.mentionAll, true, "an @all is sent as one");
  assert.equal(asked[0][1].send.mentionAll, false, "a plain one is not");
  asked.pop();

  const sends = asked.map((a) => a[1]);
  assert.deepEqual(sends.map((s) => [s.send.conv, s.send.to, s.send.kind, new TextDecoder().decode(s.send.body), s.send.replyTo, s.send.mentions, s.atMs]), [
    ["", "bob", MessageKind.NORMAL, "good morning", 0n, [], BigInt(at)],
    ["g:maths", "", MessageKind.NORMAL, "see page 12", 3n, ["bob"], BigInt(at + 1)],
    ["g:maths", "", MessageKind.POLL, '{"question":"Test day?","options":["Mon","Tue"],"multiple":true}', 0n, [], BigInt(at + 2)],
    ["g:maths", "", MessageKind.CARD, '{"title":"Homework"}', 0n, [], BigInt(at + 3)],
  ]);
  const ids = sends.map((s) => s.send.clientMsgId);
  assert.equal(new Set(ids.slice(0, 3)).size, 3, "a new client message id for each");
  assert.match(ids[0], /^[0-9a-f-]{36}$/);
  assert.equal(ids[3], "again", "the client message id given: replaces that one");

  // Answered as the SDK shows it: a direct one's conv is its id.
  assert.deepEqual(text, { id: `id-${ids[0]}`, conv: "d:ann:bob", to: "bob", clientMsgId: ids[0], kind: "normal", body: "good morning", atMs: at, createdMs: 5 });
  assert.deepEqual([reply.conv, reply.to, reply.replyTo, reply.mentions], ["g:maths", "", 3, ["bob"]]);
  assert.deepEqual([poll.kind, card.kind, card.body], ["poll", "card", '{"title":"Homework"}']);
  const list = await c.scheduled();
  assert.deepEqual(list, [text, reply, poll, card]);
  await c.unschedule(poll.id);
  assert.deepEqual(asked.at(-1), ["unschedule", { id: poll.id }]);

  // Refused before asking: no target, no text, a time that is not an
  // integer of ms, a replyTo that is not a seq, no id.
  asked.length = 0;
  await assert.rejects(c.schedule("", "hi", at), /conversation/);
  await assert.rejects(c.schedule({ to: "" }, "hi", at), /conversation/);
  await assert.rejects(c.schedule("g:maths", "", at), /empty/);
  for (const bad of [at + 0.5, NaN, Infinity, Number.MAX_SAFE_INTEGER + 1, "1" as unknown as number]) await assert.rejects(c.schedule("g:maths", "hi", bad), /atMs/, `atMs ${bad}`);
  await assert.rejects(c.schedule("g:maths", "hi", at, { replyTo: 1.5 }), /replyTo/);
  await assert.rejects(c.unschedule(""), /id/);
  assert.equal(asked.length, 0, "nothing invalid is sent");
});

test("a lists push: the client emits starred, scheduled, drafts, profile, away or joinRequests (with its group), asks no ack, and ignores a list it does not know", () => {
  const c = new Client({ url: "ws://127.0.0.1:1", token: "t" });
  const got: string[] = [];
  c.on("starred", () => got.push("starred"));
  c.on("scheduled", () => got.push("scheduled"));
  c.on("drafts", () => got.push("drafts"));
  c.on("profile", () => got.push("profile"));
  c.on("away", () => got.push("away"));
  c.on("joinRequests", (conv) => got.push(`joinRequests ${conv}`));
  const push = (list: ListsUpdate_List, conv = "") => (c as any).onFrame(create(ServerFrameSchema, { msg: { case: "push", value: { inboxSeq: 0n, event: { case: "lists", value: { list, conv } } } } }));
  push(ListsUpdate_List.STARRED);
  push(ListsUpdate_List.SCHEDULED);
  push(ListsUpdate_List.DRAFTS);
  push(ListsUpdate_List.PROFILE);
  push(ListsUpdate_List.AWAY);
  push(ListsUpdate_List.JOIN_REQUESTS, "g:class");
  push(ListsUpdate_List.UNKNOWN);
  push(7 as ListsUpdate_List);
  assert.deepEqual(got, ["starred", "scheduled", "drafts", "profile", "away", "joinRequests g:class"]);
  assert.deepEqual((c as any).acks, [], "inbox_seq 0: nothing to ack");
});

// Join requests: createInvite sends approval, invites and joinRequests
// convert the node's listing (times as numbers), approveJoin and
// declineJoin are membership requests naming the requesters (approveJoin
// answers the system message's seq), joinGroup answers pending and sends
// its note for the managers ("" without one), which joinRequests lists.
// The node is stood in for at the request seam.
test("join requests: an approval invite, the waiting requests listed with their notes, approved or declined; a join that waits", async () => {
  const c = new Client({ url: "ws://127.0.0.1:1", token: "t" });
  c.user = "teacher";
  const asked: [string, any][] = [];
  (c as any).request = async (op: { case: string; value: any }) => {
    asked.push([op.case, op.value]);
    if (op.case === "membership") return create(ResponseSchema, { result: { case: "membership", value: { seq: op.value.op === MembershipRequest_Op.APPROVE ? 12n : 0n } } });
    if (op.case === "joinGroup") return create(ResponseSchema, { result: { case: "joinGroup", value: { conv: "g:class", pending: true } } });
    if (op.value.create) return create(ResponseSchema, { result: { case: "groupInvite", value: { code: "CODE", id: "i1" } } });
    return create(ResponseSchema, {
      result: {
        case: "groupInvite",
        value: {
          invites: [{ id: "i1", by: "teacher", createdMs: 1000n, expiresMs: 2000n, maxUses: 30, uses: 1, approval: true }],
          requests: [
            { user: "pupil", name: "Pia", atMs: 1500n, invite: "i1", expiresMs: 9000n, note: "I'm Sam's father" },
            { user: "quiet", atMs: 1600n, invite: "i1", expiresMs: 9100n },
          ],
        },
      },
    });
  };
  assert.deepEqual(await c.createInvite("g:class", { ttlMs: 3_600_000, maxUses: 30, approval: true }), { code: "CODE", id: "i1" });
  await c.createInvite("g:class");
  assert.deepEqual(asked.map((a) => [a[1].ttlMs, a[1].maxUses, a[1].approval]), [[3_600_000n, 30, true], [0n, 0, false]], "approval only when asked");
  assert.deepEqual(await c.invites("g:class"), [{ id: "i1", by: "teacher", createdMs: 1000, expiresMs: 2000, maxUses: 30, uses: 1, approval: true }]);
  assert.deepEqual(await c.joinRequests("g:class"), [
    { user: "pupil", name: "Pia", atMs: 1500, invite: "i1", expiresMs: 9000, note: "I'm Sam's father" },
    { user: "quiet", name: "", atMs: 1600, invite: "i1", expiresMs: 9100, note: "" },
  ]);
  assert.deepEqual(asked.at(-1), ["groupInvite", { conv: "g:class" }], "a listing: neither create nor revoke");
  assert.equal(await c.approveJoin("g:class", "pupil"), 12);
  assert.equal(await c.declineJoin("g:class", "quiet", "other"), undefined);
  assert.deepEqual(asked.slice(-2).map((a) => [a[0], a[1].conv, a[1].op, a[1].users]), [
    ["membership", "g:class", MembershipRequest_Op.APPROVE, ["pupil"]],
    ["membership", "g:class", MembershipRequest_Op.DECLINE, ["quiet", "other"]],
  ]);
  assert.deepEqual(await c.joinGroup("CODE"), { conv: "g:class", already: false, pending: true });
  assert.deepEqual(await c.joinGroup("CODE", "I'm Sam's father"), { conv: "g:class", already: false, pending: true });
  assert.deepEqual(asked.slice(-2), [["joinGroup", { code: "CODE", note: "" }], ["joinGroup", { code: "CODE", note: "I'm Sam's father" }]], "the note goes with the request; none: empty");
});

// Drafts: setDraft sends the conversation and the text ("" clears it) and
// answers the node's count; drafts converts the node's list, latest
// first, its times as numbers; a call without a conversation, or with a
// text that is not a string, is refused before anything is sent. The
// node is stood in for at the request seam.
test("drafts: setDraft sends the conversation and the text, drafts lists them as the node keeps them", async () => {
  const c = new Client({ url: "ws://127.0.0.1:1", token: "t" });
  c.user = "a1";
  const asked: [string, any][] = [];
  let kept: { conv: string; text: string; updatedMs: bigint }[] = [];
  let at = 1_700_000_000_000n;
  (c as any).request = async (op: { case: string; value: any }) => {
    asked.push([op.case, op.value]);
    if (op.case === "draft") {
      const { conv, text } = op.value;
      const was = kept.find((d) => d.conv === conv);
      if (was?.text !== text && (was || text)) {
        kept = kept.filter((d) => d.conv !== conv);
        if (text) kept.unshift({ conv, text, updatedMs: at++ });
      }
      return create(ResponseSchema, { result: { case: "draft", value: { count: kept.length } } });
    }
    return create(ResponseSchema, { result: { case: "drafts", value: { drafts: kept } } });
  };
  assert.deepEqual(await c.drafts(), [], "none yet");
  assert.equal(await c.setDraft("s:cars:c1:1", "Dear Carla,"), 1);
  assert.equal(await c.setDraft("g:team", "lunch at 12?\nor 1"), 2);
  assert.equal(await c.setDraft("s:cars:c1:1", "Dear Carla, the car"), 2, "a new text replaces the draft");
  assert.deepEqual(await c.drafts(), [
    { conv: "s:cars:c1:1", text: "Dear Carla, the car", updatedMs: 1_700_000_000_002 },
    { conv: "g:team", text: "lunch at 12?\nor 1", updatedMs: 1_700_000_000_001 },
  ], "latest changed first, updatedMs a number");
  assert.equal(await c.setDraft("s:cars:c1:1", ""), 1, "cleared");
  assert.deepEqual(asked, [
    ["drafts", {}],
    ["draft", { conv: "s:cars:c1:1", text: "Dear Carla," }],
    ["draft", { conv: "g:team", text: "lunch at 12?\nor 1" }],
    ["draft", { conv: "s:cars:c1:1", text: "Dear Carla, the car" }],
    ["drafts", {}],
    ["draft", { conv: "s:cars:c1:1", text: "" }],
  ]);
  assert.equal(typeof (await c.drafts())[0].updatedMs, "number");

  asked.length = 0;
  await assert.rejects(c.setDraft("", "hi"), /conversation/);
  await assert.rejects(c.setDraft("g:team", undefined as unknown as string), /text is a string/);
  assert.equal(asked.length, 0, "nothing invalid is sent");

  // A refusal is the node's: it comes back as its ProtocolError.
  (c as any).request = async () => {
    throw new ProtocolError(Code.NOT_MEMBER, "not a member of g:other");
  };
  await assert.rejects(c.setDraft("g:other", "hi"), (e: unknown) => e instanceof ProtocolError && e.code === Code.NOT_MEMBER);
});

// Away messages: away reads (no text), setAway sends the text and its end
// (0 when none), clearAway an empty text and no end; the answers' times
// come as numbers. An empty (or blank) text or a bad end is refused
// before anything is sent; the node's refusal comes back as its
// ProtocolError. The node is stood in for at the request seam.
test("away: away reads, setAway sends the text and its end, clearAway an empty text; an empty text refused here", async () => {
  const c = new Client({ url: "ws://127.0.0.1:1", token: "t" });
  c.user = "seller";
  const asked: [string, any][] = [];
  let kept = { text: "", sinceMs: 0n, untilMs: 0n };
  (c as any).request = async (op: { case: string; value: any }) => {
    asked.push([op.case, op.value]);
    const { text, untilMs } = op.value;
    if (text !== undefined) kept = text ? { text: text.trim(), sinceMs: 1_700_000_000_000n, untilMs: untilMs ?? 0n } : { text: "", sinceMs: 0n, untilMs: 0n };
    return create(ResponseSchema, { result: { case: "away", value: kept } });
  };
  assert.deepEqual(await c.away(), { text: "", sinceMs: 0, untilMs: 0 }, "none set");
  const until = 1_700_000_360_000;
  assert.deepEqual(await c.setAway(" On holiday until Monday ", { untilMs: until }), { text: "On holiday until Monday", sinceMs: 1_700_000_000_000, untilMs: until }, "as the node keeps it");
  assert.deepEqual(await c.away(), { text: "On holiday until Monday", sinceMs: 1_700_000_000_000, untilMs: until });
  assert.deepEqual(await c.setAway("Off this week"), { text: "Off this week", sinceMs: 1_700_000_000_000, untilMs: 0 }, "until cleared");
  assert.equal(await c.clearAway(), undefined);
  assert.deepEqual(asked, [
    ["away", {}],
    ["away", { text: " On holiday until Monday ", untilMs: BigInt(until) }],
    ["away", {}],
    ["away", { text: "Off this week", untilMs: 0n }],
    ["away", { text: "" }],
  ]);
  assert.equal(typeof (await c.away()).sinceMs, "number");

  asked.length = 0;
  await assert.rejects(c.setAway(""), /clearAway clears/);
  await assert.rejects(c.setAway(" \n "), /clearAway clears/, "blank: the node would take it for a clear");
  await assert.rejects(c.setAway(undefined as unknown as string), /clearAway clears/);
  await assert.rejects(c.setAway("back soon", { untilMs: -5 }), /untilMs/);
  await assert.rejects(c.setAway("back soon", { untilMs: 1.5 }), /untilMs/);
  assert.equal(asked.length, 0, "nothing invalid is sent");

  (c as any).request = async () => {
    throw new ProtocolError(Code.TOO_LARGE, "an away message of 501 bytes, limit 500");
  };
  await assert.rejects(c.setAway("x".repeat(501)), (e: unknown) => e instanceof ProtocolError && e.code === Code.TOO_LARGE);
});

// Profiles: profile reads one's own (no field), setProfile sends only the
// fields given ("" clears one) and nothing when none is; profiles asks
// PROFILES_PER_REQUEST users at a time, each once, in the order given,
// and converts the answers. The node is stood in for at the request seam.
test("profiles: profile reads, setProfile sends the fields given, profiles asks in batches of 100", async () => {
  const c = new Client({ url: "ws://127.0.0.1:1", token: "t" });
  c.user = "alice";
  const asked: [string, any][] = [];
  const kept = { name: "", avatarUrl: "" };
  (c as any).request = async (op: { case: string; value: any }) => {
    asked.push([op.case, op.value]);
    if (op.case === "profile") {
      Object.assign(kept, Object.fromEntries(Object.entries(op.value).filter(([, v]) => v !== undefined)));
      return create(ResponseSchema, { result: { case: "profile", value: { user: "alice", ...kept, updatedMs: kept.name || kept.avatarUrl ? 1700000000000n : 0n } } });
    }
    // Users named "stranger…" are not visible: left out; "quiet…" have no profile.
    const profiles = op.value.users
      .filter((u: string) => !u.startsWith("stranger"))
      .map((u: string) => (u.startsWith("quiet") ? { user: u } : { user: u, name: `Name of ${u}`, avatarUrl: `https://img.example/${u}.png`, updatedMs: 5n }));
    return create(ResponseSchema, { result: { case: "profiles", value: { profiles } } });
  };
  assert.deepEqual(await c.profile(), { user: "alice", name: "", avatarUrl: "", updatedMs: 0 });
  assert.deepEqual(await c.setProfile({ name: "Alice Liddell" }), { user: "alice", name: "Alice Liddell", avatarUrl: "", updatedMs: 1700000000000 });
  await c.setProfile({ avatarUrl: "https://img.example/a.png" });
  assert.deepEqual(await c.setProfile({ name: "" }), { user: "alice", name: "", avatarUrl: "https://img.example/a.png", updatedMs: 1700000000000 });
  assert.deepEqual(asked, [
    ["profile", {}],
    ["profile", { name: "Alice Liddell" }],
    ["profile", { avatarUrl: "https://img.example/a.png" }],
    ["profile", { name: "" }],
  ]);
  asked.length = 0;
  await assert.rejects(c.setProfile({}), /name or an avatarUrl/);
  await assert.rejects(c.setProfile({ name: 7 as unknown as string }), /name is a string/);
  assert.equal(asked.length, 0, "nothing invalid is sent");

  // Nobody asked: no request. 250 users (one twice, an empty one): three
  // requests, of 100, 100 and 50, with the conversation, in order.
  assert.deepEqual(await c.profiles([]), []);
  assert.equal(asked.length, 0);
  const users = Array.from({ length: 250 }, (_, i) => (i === 7 ? "stranger" : i === 8 ? "quiet" : `u${i}`));
  const got = await c.profiles([...users, "u3", ""], "g:club");
  assert.deepEqual(asked.map((a) => [a[0], a[1].conv, a[1].users.length]), [["profiles", "g:club", 100], ["profiles", "g:club", 100], ["profiles", "g:club", 50]]);
  assert.deepEqual(asked.flatMap((a) => a[1].users), users, "each user once, in order, the empty one left out");
  assert.equal(got.length, 249, "the stranger left out");
  assert.deepEqual(got.slice(6, 9), [
    { user: "u6", name: "Name of u6", avatarUrl: "https://img.example/u6.png", updatedMs: 5 },
    { user: "quiet", name: "", avatarUrl: "", updatedMs: 0 },
    { user: "u9", name: "Name of u9", avatarUrl: "https://img.example/u9.png", updatedMs: 5 },
  ]);
  assert.deepEqual(got.at(-1)?.user, "u249");
  asked.length = 0;
  await c.profiles(["bob"]);
  assert.deepEqual(asked, [["profiles", { conv: "", users: ["bob"] }]], "no conversation: the direct peers");
});

// Timed mutes: mute sends forMs (0 for a plain mute) and sets mutedUntilMs
// here; a summary or a flags push sets it as the node says; once the end
// passes the client clears the mute and emits "conversation" once (a plain
// mute or an unmute meanwhile cancels that; close stops it). The node is
// stood in for at the request seam.
test("mute for a while: forMs sent, mutedUntilMs from the answer, a summary and a flags push; the end emits conversation once", async () => {
  const c = new Client({ url: "ws://127.0.0.1:1", token: "t" });
  c.user = "eve";
  const asked: [string, any][] = [];
  const until = Date.now() + 3_600_000;
  (c as any).request = async (op: { case: string; value: any }) => {
    asked.push([op.case, op.value]);
    if (op.case === "mute") return create(ResponseSchema, { result: { case: "mute", value: { totalUnread: 4n } } });
    return create(ResponseSchema, {
      result: { case: "listConversations", value: { conversations: [{ conv: "g:club", muted: true, mutedUntilMs: BigInt(until) }, { conv: "g:old", muted: true, mutedUntilMs: BigInt(Date.now() - 5) }] } },
    });
  };
  const events: string[] = [];
  c.on("conversation", (x) => void events.push(`${x.id} ${x.muted} ${x.mutedUntilMs > 0}`));
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  try {
    const before = Date.now();
    assert.equal(await c.mute("d:alice:eve", true, { forMs: 8 * 3_600_000 }), 4);
    const d = c.conversation("d:alice:eve");
    assert.ok(d.mutedUntilMs >= before + 8 * 3_600_000 && d.mutedUntilMs <= Date.now() + 8 * 3_600_000, `mutedUntilMs ${d.mutedUntilMs}`);
    assert.equal(d.mutedAt(), true);
    await c.mute("d:alice:eve");
    assert.equal(d.mutedUntilMs, 0, "a plain mute takes the end away");
    await c.mute("d:alice:eve", false);
    assert.deepEqual(asked.map((a) => [a[1].muted, a[1].forMs]), [[true, 28_800_000n], [true, 0n], [false, 0n]]);
    asked.length = 0;
    await assert.rejects(c.mute("d:alice:eve", true, { forMs: -1 }), /forMs/);
    await assert.rejects(c.mute("d:alice:eve", true, { forMs: 1.5 }), /forMs/);
    await assert.rejects(c.mute("d:alice:eve", false, { forMs: 1000 }), /unmute/);
    assert.equal(asked.length, 0, "nothing invalid is sent");

    // Summaries: one that holds, one whose end passed by this clock.
    const [club, old] = await c.listConversations();
    assert.deepEqual([club.muted, club.mutedUntilMs, club.mutedAt()], [true, until, true]);
    assert.deepEqual([old.muted, old.mutedUntilMs, old.mutedAt()], [false, 0, false], "ended already: not muted here either");

    // A flags push (from another device) with an end 60 ms ahead; one with
    // a year's end does not end at once (past a timer's longest wait).
    const flags = (conv: string, muted: boolean, mutedUntilMs: number) =>
      (c as any).onFrame(create(ServerFrameSchema, { msg: { case: "push", value: { inboxSeq: 0n, event: { case: "flags", value: { conv, muted, mutedUntilMs: BigInt(mutedUntilMs) } } } } }));
    events.length = 0;
    flags("d:alice:eve", true, Date.now() + 60);
    flags("g:year", true, Date.now() + 366 * 86_400_000);
    flags("g:club", true, Date.now() + 60);
    flags("g:club", true, 0); // muted until unmuted, meanwhile: no end
    assert.deepEqual([d.muted, d.mutedAt()], [true, true]);
    assert.deepEqual(events, ["d:alice:eve true true", "g:year true true", "g:club true true", "g:club true false"]);
    events.length = 0;
    await sleep(150);
    assert.deepEqual(events, ["d:alice:eve false false"], "the end passed: once, for the timed mute alone");
    assert.deepEqual([d.muted, d.mutedUntilMs, d.mutedAt()], [false, 0, false]);
    assert.equal(c.conversation("g:year").mutedAt(), true);
    assert.equal(c.conversation("g:club").mutedAt(), true);

    // Close stops the timers.
    events.length = 0;
    flags("d:alice:eve", true, Date.now() + 40);
    c.close();
    await sleep(100);
    assert.deepEqual(events, ["d:alice:eve true true"], "nothing after close");
  } finally {
    c.close();
  }
});

test("conversation: archivedAt is archived with no end, or before a snooze's end; news ends a snooze, a read ends one that ended", () => {
  const c = new Conversation("d:a:b");
  assert.equal(c.archivedAt(), false);
  c.archived = true;
  assert.equal(c.archivedAt(), true, "archived until news");
  c.archivedUntilMs = 1000;
  assert.equal(c.archivedAt(999), true);
  assert.equal(c.archivedAt(1000), false, "ends at its end");
  c.archived = false;
  assert.equal(c.archivedAt(999), false, "not archived");

  // News from someone else ends a snooze that holds, end and all.
  c.archived = true;
  c.archivedUntilMs = Date.now() + 60_000;
  const m = msg(1);
  if (c.insert(m, "a")) c.countNew(m, true, "a");
  assert.deepEqual([c.archived, c.archivedUntilMs], [false, 0]);

  // A read during the snooze leaves it; a read once it ended (before the
  // client's timer ran) ends it for good.
  c.archived = true;
  c.archivedUntilMs = Date.now() + 60_000;
  c.markedRead(1, "a");
  assert.equal(c.archivedAt(), true, "a read does not end a snooze that holds");
  c.archivedUntilMs = Date.now() - 1;
  c.markedRead(1, "a");
  assert.deepEqual([c.archived, c.archivedUntilMs, c.markedUnread], [false, 0, false]);
});

// Snoozes: snooze sends archived with untilMs and sets archivedUntilMs
// here (a plain archive or an unarchive sends none and takes it away); a
// summary or a flags push sets it as the node says; once the end passes
// the client un-archives, marks the conversation unread and emits
// "conversation" once (news or an unarchive meanwhile cancels that; close
// stops it). The node is stood in for at the request seam.
test("snooze: untilMs sent, archivedUntilMs here, from a summary and a flags push; the end emits conversation once, marked unread; bad input refused here", async () => {
  const c = new Client({ url: "ws://127.0.0.1:1", token: "t" });
  c.user = "eve";
  const asked: [string, any][] = [];
  const until = Date.now() + 3_600_000;
  (c as any).request = async (op: { case: string; value: any }) => {
    asked.push([op.case, op.value]);
    if (op.case === "archive") return create(ResponseSchema, { result: { case: "archive", value: {} } });
    return create(ResponseSchema, {
      result: {
        case: "listConversations",
        value: { conversations: [{ conv: "g:club", archived: true, archivedUntilMs: BigInt(until) }, { conv: "g:old", archived: true, archivedUntilMs: BigInt(Date.now() - 5) }] },
      },
    });
  };
  const events: string[] = [];
  c.on("conversation", (x) => void events.push(`${x.id} ${x.archived} ${x.archivedUntilMs > 0} ${x.markedUnread}`));
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const conv = "d:alice:eve";
  try {
    const tomorrow = Date.now() + 86_400_000;
    await c.snooze(conv, tomorrow);
    const d = c.conversation(conv);
    assert.deepEqual([d.archived, d.archivedUntilMs, d.archivedAt(), d.markedUnread], [true, tomorrow, true, false]);
    await c.archive(conv);
    assert.equal(d.archivedUntilMs, 0, "a plain archive takes the end away");
    await c.snooze(conv, tomorrow);
    await c.archive(conv, false);
    assert.deepEqual([d.archived, d.archivedUntilMs], [false, 0], "an unarchive ends it at once");
    assert.deepEqual(
      asked.map((a) => [a[0], a[1].conv, a[1].archived, a[1].untilMs ?? 0n]), // unset: 0 on the wire
      [["archive", conv, true, BigInt(tomorrow)], ["archive", conv, true, 0n], ["archive", conv, true, BigInt(tomorrow)], ["archive", conv, false, 0n]],
    );
    assert.deepEqual(events, [`${conv} true true false`, `${conv} true false false`, `${conv} true true false`, `${conv} false false false`]);

    // Refused here: nothing sent, nothing changed.
    asked.length = 0;
    await assert.rejects(c.snooze("", tomorrow), /snooze: the conversation/);
    for (const bad of [Date.now() - 1000, tomorrow + 0.5, NaN, Number.MAX_VALUE]) await assert.rejects(c.snooze(conv, bad), /snooze: untilMs/, String(bad));
    assert.equal(asked.length, 0, "nothing invalid is sent");
    assert.equal(d.archived, false);

    // Summaries: one that holds, one whose end passed by this clock (in the
    // main list, marked unread, as the node says once it passed).
    const [club, old] = await c.listConversations();
    assert.deepEqual([club.archived, club.archivedUntilMs, club.archivedAt(), club.markedUnread], [true, until, true, false]);
    assert.deepEqual([old.archived, old.archivedUntilMs, old.archivedAt(), old.markedUnread], [false, 0, false, true], "ended already: back here too");

    // Flags pushes (from another device): an end 60 ms ahead; one a year
    // ahead does not end at once (past a timer's longest wait); one ended
    // by an unarchive meanwhile; one ended by news meanwhile.
    const flags = (conv: string, archived: boolean, archivedUntilMs: number) =>
      (c as any).onFrame(create(ServerFrameSchema, { msg: { case: "push", value: { inboxSeq: 0n, event: { case: "flags", value: { conv, archived, archivedUntilMs: BigInt(archivedUntilMs) } } } } }));
    events.length = 0;
    flags(conv, true, Date.now() + 60);
    flags("g:year", true, Date.now() + 366 * 86_400_000);
    flags("g:club", true, Date.now() + 60);
    flags("g:club", false, 0); // unarchived meanwhile: no end
    const news = c.conversation("d:bob:eve");
    flags(news.id, true, Date.now() + 60);
    const m = msg(1, { conv: news.id, sender: "bob" });
    if (news.insert(m, "eve")) news.countNew(m, true, "eve");
    assert.deepEqual([news.archived, news.archivedUntilMs], [false, 0], "news ended it");
    assert.deepEqual([d.archivedAt(), d.archivedUntilMs > 0], [true, true]);
    assert.deepEqual(events, [`${conv} true true false`, "g:year true true false", "g:club true true false", "g:club false false false", "d:bob:eve true true false"]);
    events.length = 0;
    await sleep(150);
    assert.deepEqual(events, [`${conv} false false true`], "the end passed: once, for the snooze that held alone, marked unread");
    assert.deepEqual([d.archived, d.archivedUntilMs, d.archivedAt(), d.markedUnread], [false, 0, false, true]);
    assert.equal(c.conversation("g:year").archivedAt(), true);
    assert.equal(news.markedUnread, false, "news ended it: no mark");

    // Close stops the timers.
    events.length = 0;
    flags(conv, true, Date.now() + 40);
    c.close();
    await sleep(100);
    assert.deepEqual(events, [`${conv} true true false`], "nothing after close");
  } finally {
    c.close();
  }
});

test("a message read again (a push after the send's answer, a summary, a page) keeps its edit, reactions and poll votes", () => {
  const c = new Conversation("g:x");
  c.insert(msg(1, { body: "class at 9" }));
  c.insert(msg(2, { body: "class at 10", refSeq: 1 })); // an edit of 1
  c.insert(msg(3, { kind: "reaction", sender: "ann", body: "👍", refSeq: 1 }));
  c.insert(msg(4, { kind: "poll", body: '{"question":"Trip?","options":["yes","no"]}' }));
  c.insert(msg(5, { kind: "vote", sender: "ann", body: "[1]", refSeq: 4 }));
  assert.equal(c.insert(msg(1, { body: "class at 9" })), false);
  assert.equal(c.insert(msg(4, { kind: "poll", body: '{"question":"Trip?","options":["yes","no"]}' })), false);
  const [text, poll] = c.visible();
  assert.deepEqual([text.body, text.editSeq, text.reactions], ["class at 10", 2, [{ emoji: "👍", users: ["ann"] }]]);
  assert.deepEqual(poll.poll?.options.map((o) => o.voters), [[], ["ann"]]);
});

test("hide: a hidden message goes, is never held again, and comes back on unhide with its edit and reactions", () => {
  const c = new Conversation("g:x");
  c.insert(msg(1, { body: "class at 9" }));
  c.insert(msg(2, { body: "bring a pen" }));
  c.insert(msg(3, { body: "class at 10", refSeq: 1 })); // an edit of 1
  c.insert(msg(4, { kind: "reaction", sender: "ann", body: "👍", refSeq: 1 }));
  c.insert(msg(5, { body: "see you" }));
  assert.deepEqual(c.hidden([1, 5]), [], "nothing shown again");
  assert.deepEqual(c.hiddenSeqs, [1, 5]);
  assert.deepEqual(c.visible().map((m) => m.seq), [2], "the last message went too");
  assert.equal(c.insert(msg(5, { body: "see you" })), false, "a page or push read before the hide does not bring it back");
  assert.equal(c.insert(msg(1, { body: "class at 9" })), false);
  assert.deepEqual(c.visible().map((m) => m.seq), [2]);

  // An unhide (the set shrinks): 1 is answered, to fetch, and once fetched
  // shows its edit and reactions held meanwhile.
  assert.deepEqual(c.hidden([5]), [1]);
  assert.equal(c.insert(msg(1, { body: "class at 9" })), true);
  assert.deepEqual(c.visible().map((m) => [m.seq, m.body]), [[1, "class at 10"], [2, "bring a pen"]]);
  assert.deepEqual(c.messages[0].reactions, [{ emoji: "👍", users: ["ann"] }]);

  // A clear drops the seqs it covers from the set: those are no unhide.
  c.cleared(5);
  assert.deepEqual(c.hidden([]), [], "5 was cleared, not shown again");
  assert.deepEqual(c.hiddenSeqs, []);
});

// Hide and unhide over the client, the node stood in for at the request
// seam: refusals before anything is sent, a summary's set dropping what
// is held, a history page not bringing a hidden seq back, and a
// membership push (another device's unhide) fetching the seq shown again.
test("hide: hide and unhide send the seqs; summaries and membership pushes carry the set; an unhide fetches the message back", async () => {
  const c = new Client({ url: "ws://127.0.0.1:1", token: "t" });
  c.user = "eve";
  const conv = "d:alice:eve";
  const wire = (seq: number, body: string) => create(MessageSchema, { conv, seq: BigInt(seq), sender: "alice", body: new TextEncoder().encode(body), serverTsMs: BigInt(seq) });
  const asked: [string, any][] = [];
  let hiddenOnNode: bigint[] = [];
  (c as any).request = async (op: { case: string; value: any }) => {
    asked.push([op.case, op.value]);
    if (op.case === "hide") return create(ResponseSchema, { result: { case: "hide", value: { hiddenSeqs: hiddenOnNode } } });
    if (op.case === "listConversations") return create(ResponseSchema, { result: { case: "listConversations", value: { conversations: [{ conv, lastSeq: 3n, hiddenSeqs: hiddenOnNode }] } } });
    // history: the node never answers a hidden seq; here it answers a
    // page holding one anyway (read before the hide), which must not stick.
    const from = Number(op.value.fromSeq), to = Number(op.value.toSeq) || 3;
    return create(ResponseSchema, { result: { case: "history", value: { messages: [1, 2, 3].filter((s) => s >= from && s <= to).map((s) => wire(s, `m${s}`)) } } });
  };
  const events: number[][] = [];
  c.on("conversation", (x) => void events.push(x.visible().map((m) => m.seq)));
  const d = c.conversation(conv);
  await c.history(conv);
  assert.deepEqual(d.visible().map((m) => m.seq), [1, 2, 3]);

  for (const bad of [[], [0], [-1], [1.5], [Number.MAX_SAFE_INTEGER + 1], Array.from({ length: 101 }, (_, i) => i + 1)]) {
    await assert.rejects(c.hide(conv, bad), /hide: 1 to 100 seqs/, `seqs ${bad.length > 5 ? bad.length : bad}`);
    await assert.rejects(c.unhide(conv, bad), /unhide: 1 to 100 seqs/);
  }
  await assert.rejects(c.hide("", [1]), /hide: the conversation/);
  assert.deepEqual(asked.map((a) => a[0]), ["history"], "nothing invalid is sent");

  // Hide 2 and 3: the request, and both gone here at once.
  asked.length = events.length = 0;
  hiddenOnNode = [2n, 3n];
  assert.deepEqual(await c.hide(conv, [2, 3]), [2, 3]);
  assert.deepEqual(asked, [["hide", { conv, seqs: [2n, 3n], unhide: false }]]);
  assert.deepEqual(d.hiddenSeqs, [2, 3]);
  assert.deepEqual(events, [[1]]);
  await c.history(conv);
  assert.deepEqual(d.visible().map((m) => m.seq), [1], "a history page does not bring them back");

  // Unhide 3: fetched back alone (fromSeq = toSeq) before unhide resolves.
  asked.length = events.length = 0;
  hiddenOnNode = [2n];
  assert.deepEqual(await c.unhide(conv, [3]), [2]);
  assert.deepEqual(asked.map((a) => [a[0], a[1].unhide ?? a[1].fromSeq, a[1].toSeq]), [["hide", true, undefined], ["history", 3n, 3n]]);
  assert.deepEqual(d.visible().map((m) => m.seq), [1, 3]);
  assert.deepEqual(events.at(-1), [1, 3], "a conversation event shows it back");

  // Another device hides 1: the summary of a list says so.
  hiddenOnNode = [1n, 2n];
  await c.listConversations();
  assert.deepEqual([d.hiddenSeqs, d.visible().map((m) => m.seq)], [[1, 2], [3]]);

  // And unhides 1 and 2: its membership push shrinks the set, and the
  // client fetches each seq shown again, then tells.
  asked.length = events.length = 0;
  (c as any).onFrame(create(ServerFrameSchema, { msg: { case: "push", value: { inboxSeq: 0n, event: { case: "membership", value: { conv, lastSeq: 3n, hiddenSeqs: [] } } } } }));
  assert.deepEqual(d.hiddenSeqs, []);
  for (let i = 0; i < 50 && d.visible().length < 3; i++) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(asked.map((a) => [a[0], a[1].fromSeq, a[1].toSeq]), [["history", 1n, 1n], ["history", 2n, 2n]]);
  assert.deepEqual(d.visible().map((m) => m.seq), [1, 2, 3]);
  assert.deepEqual(events.at(-1), [1, 2, 3]);
});

// Search filters: search, searchEverywhere, thread and files send the
// words and filters as asked (replyTo as a seq, none unset), and answer the
// node's page; what the node would refuse INVALID (a replyTo that is no
// seq, a thread without its conversation, no words and no filter) is
// refused before anything is sent.
test("search filters: sender, files and replyTo are sent; thread and files wrap them; bad filters refused here", async () => {
  const c = new Client({ url: "ws://127.0.0.1:1", token: "t" });
  c.user = "ann";
  const asked: any[] = [];
  const wire = (seq: number, body: string, replyTo = 0) => create(MessageSchema, { conv: "g:maths", seq: BigInt(seq), sender: "bob", body: new TextEncoder().encode(body), serverTsMs: 1n, replyTo: BigInt(replyTo) });
  (c as any).request = async (op: { case: string; value: any }) => {
    asked.push(op.value);
    return create(ResponseSchema, { result: { case: "search", value: { messages: [wire(9, "page 12", 4), wire(7, "page 14", 4)], nextBeforeSeq: 7n, nextConv: op.value.conv ? "" : "g:maths" } } });
  };
  const sent = (v: any) => [v.conv, v.query, v.fromConv, v.beforeSeq, v.limit, v.sender, v.files, v.replyTo];

  const replies = await c.thread("g:maths", 4);
  assert.deepEqual(replies.messages.map((m) => [m.seq, m.replyTo, m.body]), [[9, 4, "page 12"], [7, 4, "page 14"]], "newest first, as the node answers");
  assert.equal(replies.next, 7);
  await c.thread("g:maths", 4, 7, 10);
  await c.files("g:maths");
  await c.search("g:maths", "", { sender: "bob", before: 30 });
  await c.search("g:maths", "page", { sender: "bob", files: true, replyTo: 4, limit: 5 });
  await c.search("g:maths", "page"); // as before: words alone
  const all = await c.searchEverywhere("", { sender: "bob", from: { conv: "g:art", before: 3 } });
  assert.deepEqual(all.next, { conv: "g:maths", before: 7 });
  await c.searchEverywhere("", { files: true });
  assert.deepEqual(asked.map(sent), [
    ["g:maths", "", "", 0n, 0, "", false, 4n],
    ["g:maths", "", "", 7n, 10, "", false, 4n],
    ["g:maths", "", "", 0n, 0, "", true, 0n],
    ["g:maths", "", "", 30n, 0, "bob", false, 0n],
    ["g:maths", "page", "", 0n, 5, "bob", true, 4n],
    ["g:maths", "page", "", 0n, 0, "", false, 0n],
    ["", "", "g:art", 3n, 0, "bob", false, 0n],
    ["", "", "", 0n, 0, "", true, 0n],
  ]);

  asked.length = 0;
  for (const bad of [0, -1, 1.5, NaN, Number.MAX_SAFE_INTEGER + 1]) {
    await assert.rejects(c.search("g:maths", "", { replyTo: bad }), /search: replyTo is the seq/, `replyTo ${bad}`);
    await assert.rejects(c.thread("g:maths", bad), /thread: the conversation and the seq/, `thread of ${bad}`);
  }
  await assert.rejects(c.thread("", 4), /thread: the conversation/);
  await assert.rejects(c.search("", "page", { replyTo: 4 }), /search: replyTo \(a thread\) needs its conversation/);
  await assert.rejects(c.searchEverywhere("page", { replyTo: 4 } as any), /searchEverywhere: replyTo \(a thread\) needs its conversation/);
  await assert.rejects(c.search("g:maths", ""), /search: words to look for, or a filter/);
  await assert.rejects(c.search("g:maths", "", { sender: "", files: false }), /search: words to look for, or a filter/, "empty filters are none");
  await assert.rejects(c.searchEverywhere(""), /searchEverywhere: words to look for, or a filter/);
  await assert.rejects(c.files(""), /files: the conversation/);
  assert.equal(asked.length, 0, "nothing invalid is sent");
});

// Labels (a seller's "new customer", "paid", "to ship"), the node stood in
// for at the request seam: label sends both lists as given and takes the
// answer's labels; a summary and a flags push (another device's change)
// set them as the node says, each with a conversation event;
// listConversations sends its label filter (none: ""); an empty
// conversation or nothing to change is refused before anything is sent.
test("labels: label sends add and remove, Conversation.labels from the answer, a summary and a flags push; the list's label filter; bad input refused here", async () => {
  const c = new Client({ url: "ws://127.0.0.1:1", token: "t" });
  c.user = "eve";
  const conv = "d:alice:eve";
  const asked: [string, any][] = [];
  (c as any).request = async (op: { case: string; value: any }) => {
    asked.push([op.case, op.value]);
    if (op.case === "label") return create(ResponseSchema, { result: { case: "label", value: { labels: ["new customer", "paid"] } } });
    return create(ResponseSchema, { result: { case: "listConversations", value: { conversations: [{ conv, labels: ["to ship"] }] } } });
  };
  const events: string[] = [];
  c.on("conversation", (x) => void events.push(`${x.id} ${x.labels.join("|")}`));
  const d = c.conversation(conv);
  assert.deepEqual(d.labels, [], "none at first");

  assert.deepEqual(await c.label(conv, { add: ["paid", " new customer "], remove: ["unpaid"] }), ["new customer", "paid"]);
  assert.deepEqual(asked, [["label", { conv, add: ["paid", " new customer "], remove: ["unpaid"] }]], "sent as given: the node trims");
  assert.deepEqual(d.labels, ["new customer", "paid"]);
  assert.deepEqual(events, [`${conv} new customer|paid`]);
  await c.label(conv, { remove: ["paid"] });
  assert.deepEqual(asked.at(-1), ["label", { conv, add: [], remove: ["paid"] }], "a list not given goes empty");

  // A summary of the list, asked for one label.
  asked.length = events.length = 0;
  const [listed] = await c.listConversations({ label: "to ship" });
  assert.equal(listed, d);
  assert.deepEqual(asked.map((a) => [a[0], a[1].label, a[1].archived]), [["listConversations", "to ship", false]]);
  assert.deepEqual(d.labels, ["to ship"]);
  assert.deepEqual(events, [`${conv} to ship`]);
  await c.listConversations();
  assert.equal(asked.at(-1)![1].label, "", "no filter: the whole list");

  // A flags push from another device: the labels as it says, an empty list too.
  events.length = 0;
  const flags = (labels: string[]) =>
    (c as any).onFrame(create(ServerFrameSchema, { msg: { case: "push", value: { inboxSeq: 0n, event: { case: "flags", value: { conv, pinned: true, labels } } } } }));
  flags(["paid", "vip"]);
  assert.deepEqual([d.labels, d.pinned], [["paid", "vip"], true]);
  flags([]);
  assert.deepEqual(d.labels, []);
  assert.deepEqual(events, [`${conv} paid|vip`, `${conv} `]);

  // Refused here: nothing sent, nothing changed.
  asked.length = 0;
  await assert.rejects(c.label("", { add: ["paid"] }), /label: the conversation/);
  await assert.rejects(c.label(conv, {}), /label: labels to add or remove/);
  await assert.rejects(c.label(conv, { add: [], remove: [] }), /label: labels to add or remove/);
  assert.equal(asked.length, 0, "nothing invalid is sent");
  assert.deepEqual(d.labels, []);
});

test("everyDay builds quiet hours: a night across midnight, a span within a day, a whole day, one ending at midnight", () => {
  assert.deepEqual(everyDay("UTC", "22:00", "07:00", ["mon"]), { zone: "UTC", week: { mon: "00:00-07:00,22:00-24:00" } });
  assert.deepEqual(everyDay("UTC", "12:00", "13:30", ["SAT"]), { zone: "UTC", week: { sat: "12:00-13:30" } });
  assert.deepEqual(everyDay("UTC", "00:00", "00:00", ["sun"]).week, { sun: "00:00-24:00" });
  assert.deepEqual(everyDay("UTC", "21:00", "00:00", ["fri"]).week, { fri: "21:00-24:00" });
  assert.deepEqual(Object.keys(everyDay("Europe/Berlin", "22:00", "07:00").week), WEEKDAYS);
});

test("calls: a CALL signal's event as its view; an unknown step or no call is none; ids", () => {
  const call = { id: "c1", conv: "d:a:b", caller: "a", callerDevice: "phone", callee: "b", video: true, startedMs: 1000n, answeredMs: 2000n, answeredDevice: "tablet" };
  const ended = callEventView(create(CallEventSchema, { kind: CallEvent_Kind.ENDED, call, outcome: "ended", reason: "bye", durationMs: 61000n, seq: 7n }));
  assert.deepEqual(ended, {
    step: "ended",
    call: { id: "c1", conv: "d:a:b", caller: "a", callerDevice: "phone", callee: "b", video: true, startedMs: 1000, answeredMs: 2000, answeredDevice: "tablet" },
    payload: new Uint8Array(),
    outcome: "ended",
    reason: "bye",
    durationMs: 61000,
    seq: 7,
  });
  assert.equal(callEventView(create(CallEventSchema, { kind: CallEvent_Kind.RINGING, call, outcome: "exploded" }))?.outcome, undefined, "an outcome this SDK does not know");
  assert.equal(callEventView(create(CallEventSchema, { kind: 9 as CallEvent_Kind, call })), undefined, "a step this SDK does not know");
  assert.equal(callEventView(create(CallEventSchema, { kind: CallEvent_Kind.SIGNAL })), undefined, "no call");
  assert.match(newCallId(), CALL_ID);
  assert.notEqual(newCallId(), newCallId());
  assert.equal(CALL_ID.test("a".repeat(65)), false);
  assert.equal(CALL_ID.test("a b"), false);
});

test("startCall refuses a malformed id before asking the node", async () => {
  const c = new Client({ url: "http://127.0.0.1:1", token: "t" });
  await assert.rejects(c.startCall("d:a:b", "v=0", { id: "not ok" }), /an id is 1-64/);
  c.close();
});
