// The send pipeline against a small in-memory server that keeps the
// protocol's ordering rule (PROTOCOL.md, "Pipelined sends"): sends run in
// the order written, and a send written behind one refused transiently is
// refused BUSY too. The real node is exercised by integration.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { Code, ResponseSchema, type Response } from "../src/gen/wire_pb.js";
import { BusyHold, ProtocolError, SendPipeline } from "../src/pipeline.js";
import { Client } from "../src/client.js";

type Msg = { clientMsgId: string };
type Write = { id: string; after: string; at: number; outstanding: number };

/** FakeNode answers sends one at a time, in the order written, after delayMs. */
class FakeNode {
  seq = 0;
  stored = new Map<string, number>();
  refused = new Map<string, number>(); // client_msg_id -> its refusal's retry-after
  writes: Write[] = [];
  refusals: { id: string; at: number }[] = [];
  outstanding = 0;
  connected = true;
  /** refuse is asked for each write reaching its turn; an Error refuses it. */
  refuse: (id: string, attempt: number) => ProtocolError | undefined = () => undefined;
  private attempts = new Map<string, number>();
  private queue: Promise<void> = Promise.resolve();
  private start = Date.now();

  constructor(readonly delayMs = 2) {}

  write(m: Msg, after: string): Promise<Response> {
    if (!this.connected) return Promise.reject(new Error("not connected"));
    this.outstanding++;
    this.writes.push({ id: m.clientMsgId, after, at: Date.now() - this.start, outstanding: this.outstanding });
    const turn = this.queue.then(() => new Promise<void>((r) => setTimeout(r, this.delayMs)));
    this.queue = turn;
    return turn.then(() => {
      this.outstanding--;
      const n = (this.attempts.get(m.clientMsgId) ?? 0) + 1;
      this.attempts.set(m.clientMsgId, n);
      let e = this.refuse(m.clientMsgId, n);
      if (!e && this.refused.has(after)) e = new ProtocolError(Code.BUSY, "behind a refused send", this.refused.get(after) || 50);
      if (e) {
        this.refusals.push({ id: m.clientMsgId, at: Date.now() - this.start });
        if (e.code === Code.BUSY || e.code === Code.RATE_LIMITED) this.refused.set(m.clientMsgId, e.retryAfterMs);
        throw e;
      }
      this.refused.delete(m.clientMsgId);
      let s = this.stored.get(m.clientMsgId);
      if (s === undefined) this.stored.set(m.clientMsgId, (s = ++this.seq));
      return create(ResponseSchema, { result: { case: "send", value: { conv: "c", seq: BigInt(s) } } });
    });
  }
}

function pipeline(node: FakeNode, hold: BusyHold, window = 16) {
  const done: [string, number][] = [];
  const failed: [string, string][] = [];
  let settle!: () => void;
  const all = new Promise<void>((r) => (settle = r));
  let expected = 0;
  const check = () => done.length + failed.length === expected && settle();
  const p = new SendPipeline<Msg>(
    {
      conn: () => (node.connected ? 1 : undefined),
      write: (m, after) => node.write(m, after),
      done: (m, r) => (done.push([m.clientMsgId, r.result.case === "send" ? Number(r.result.value.seq) : -1]), check()),
      failed: (m, e) => (failed.push([m.clientMsgId, e.message]), check()),
    },
    { window, minBackoffMs: 10, maxBackoffMs: 100, hold, random: () => 0 },
  );
  const send = (...ids: string[]) => {
    expected += ids.length;
    for (const id of ids) p.add({ clientMsgId: id });
  };
  return { p, done, failed, all, send };
}

// Node's timers run off a loop clock cached at the start of each turn, so
// one may fire up to a millisecond early by Date.now.
const timerSlackMs = 1;

const ids = (n: number, tag = "m") => Array.from({ length: n }, (_, i) => `${tag}${i + 1}`);

test("pipeline: a BUSY on message 2 of 5 resends 2..5 after its retry-after, in order, seqs 1..5", async () => {
  const node = new FakeNode();
  node.refuse = (id, n) => (id === "m2" && n === 1 ? new ProtocolError(Code.BUSY, "node busy", 300) : undefined);
  const hold = new BusyHold(0); // the pipeline's own wait only
  const { done, failed, all, send } = pipeline(node, hold);
  send(...ids(5));
  await all;
  assert.deepEqual(failed, []);
  assert.deepEqual(done, ids(5).map((id, i) => [id, i + 1]), "stored in send order");
  // All five written at once, each naming the one ahead.
  assert.deepEqual(node.writes.slice(0, 5).map((w) => [w.id, w.after]), [["m1", ""], ["m2", "m1"], ["m3", "m2"], ["m4", "m3"], ["m5", "m4"]]);
  const again = node.writes.slice(5);
  assert.deepEqual(again.map((w) => w.id), ["m2", "m3", "m4", "m5"], "resent from the oldest unacknowledged, in order");
  assert.equal(again[0].after, "", "the oldest resend names nothing: what was ahead is stored");
  assert.equal(node.refusals[0].id, "m2");
  const refusedAt = node.refusals[0].at;
  for (const w of again) assert.ok(w.at - refusedAt >= 300 - timerSlackMs, `${w.id} resent ${w.at - refusedAt} ms after m2's refusal, want ≥ 300`);
});

test("pipeline: after a BUSY the window is one send and grows by one per ack", async () => {
  const node = new FakeNode();
  node.refuse = (id, n) => (id === "m1" && n === 1 ? new ProtocolError(Code.BUSY, "node busy", 20) : undefined);
  const { p, done, all, send } = pipeline(node, new BusyHold(0));
  send(...ids(12));
  assert.equal(node.writes.length, 12, "the whole queue fits the window at first");
  await all;
  assert.deepEqual(done.map(([, s]) => s), ids(12).map((_, i) => i + 1));
  const resent = node.writes.slice(12);
  // Answers come one at a time: the window is 1 after the BUSY, then 2, 3,
  // … (each ack frees a slot and widens the window by one).
  assert.deepEqual(
    resent.map((w) => w.outstanding),
    [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6],
    "sends in flight at each write after the BUSY",
  );
  assert.deepEqual(resent.map((w) => w.id), ids(12));
  assert.equal(p.window, 13, "1 after the BUSY + 12 acks");
});

test("pipeline: no send is written during a BUSY's retry-after, in any conversation", async () => {
  const node = new FakeNode();
  node.refuse = (id, n) => (id === "a1" && n === 1 ? new ProtocolError(Code.BUSY, "node busy", 300) : undefined);
  const hold = new BusyHold(5000, () => 0);
  const a = pipeline(node, hold);
  const b = pipeline(node, hold);
  a.send("a1");
  await new Promise((r) => setTimeout(r, 50)); // a1 is refused
  assert.ok(hold.left() > 200, `hold ${hold.left()} ms`);
  const before = node.writes.length;
  b.send("b1", "b2");
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(node.writes.length, before, "held: nothing written");
  await Promise.all([a.all, b.all]);
  const refusedAt = node.refusals[0].at;
  for (const w of node.writes.slice(1)) assert.ok(w.at - refusedAt >= 300 - timerSlackMs, `${w.id} written ${w.at - refusedAt} ms after the refusal`);
  assert.deepEqual(b.done.map(([id]) => id), ["b1", "b2"]);
  assert.ok(hold.held > 0);
});

test("pipeline: the hold is capped by maxBusyHoldMs", () => {
  const hold = new BusyHold(100, () => 0);
  hold.note(new ProtocolError(Code.BUSY, "x", 60_000));
  assert.ok(hold.left() <= 100 && hold.left() > 0);
  const none = new BusyHold(0);
  none.note(new ProtocolError(Code.BUSY, "x", 1000));
  assert.equal(none.left(), 0);
  const notBusy = new BusyHold(5000);
  notBusy.note(new ProtocolError(Code.STORAGE_UNAVAILABLE, "x", 1000));
  notBusy.note(new ProtocolError(Code.BUSY, "x", 0));
  assert.equal(notBusy.left(), 0, "only a BUSY with a retry-after holds");
});

test("pipeline: a non-transient refusal fails only that message", async () => {
  const node = new FakeNode();
  node.refuse = (id) => (id === "m2" ? new ProtocolError(Code.INVALID, "bad body") : undefined);
  const { done, failed, all, send } = pipeline(node, new BusyHold(5000));
  send(...ids(4));
  await all;
  assert.deepEqual(failed.map(([id]) => id), ["m2"]);
  assert.match(failed[0][1], /INVALID/);
  assert.deepEqual(done, [["m1", 1], ["m3", 2], ["m4", 3]]);
  assert.equal(node.writes.length, 4, "nothing resent");
});

test("pipeline: a refusal asking to wait past maxRetryAfterMs fails the send and those behind it at once", async () => {
  const node = new FakeNode();
  const wait = 20 * 60_000; // a new direct conversation past the hourly bound
  node.refuse = (id) => (id === "m2" ? new ProtocolError(Code.RATE_LIMITED, "too many new direct conversations", wait) : undefined);
  const { done, failed, all, send } = pipeline(node, new BusyHold(5000));
  send(...ids(4));
  await all;
  assert.deepEqual(failed.map(([id]) => id), ["m2", "m3", "m4"]);
  assert.match(failed[0][1], /RATE_LIMITED/);
  assert.deepEqual(done, [["m1", 1]]);
});

test("pipeline: a lost connection resends from the oldest unacknowledged once connected", async () => {
  const node = new FakeNode();
  node.connected = false;
  const { p, done, all, send } = pipeline(node, new BusyHold(5000));
  send(...ids(3));
  assert.equal(node.writes.length, 0, "nothing written without a connection");
  node.connected = true;
  p.pump();
  // Cut while in flight: the writes fail as the client's requests do.
  node.refuse = (id, n) => (n === 1 && id !== "m1" ? new ProtocolError(Code.UNAVAILABLE, "going down") : undefined);
  await all;
  assert.deepEqual(done, [["m1", 1], ["m2", 2], ["m3", 3]]);
  assert.deepEqual(node.writes.map((w) => w.id), ["m1", "m2", "m3", "m2", "m3"]);
});

test("client options: a pipeline of at least one send; the hold a number", () => {
  const opts = { url: "http://127.0.0.1:1", token: "t" };
  for (const bad of [0, -1, 1.5, NaN]) assert.throws(() => new Client({ ...opts, sendPipeline: bad }), /sendPipeline/, String(bad));
  assert.throws(() => new Client({ ...opts, maxBusyHoldMs: NaN }), /maxBusyHoldMs/);
  new Client({ ...opts, sendPipeline: 1, maxBusyHoldMs: 0 }); // the edges: one send at a time, no hold
});

test("pipeline: a window of one writes one send at a time, each naming nothing", async () => {
  const node = new FakeNode();
  const { done, all, send } = pipeline(node, new BusyHold(5000), 1);
  send(...ids(4));
  await all;
  assert.deepEqual(done.map(([, s]) => s), [1, 2, 3, 4]);
  assert.deepEqual(node.writes.map((w) => [w.outstanding, w.after]), [[1, ""], [1, ""], [1, ""], [1, ""]]);
});
