// The client's view of its conversations: messages ordered by seq and
// deduplicated, with the outbox's unsent messages after them, and each
// own message's state.

/** Message states (docs/PROTOCOL.md §7). */
export type MessageState = "sending" | "sent" | "delivered" | "read" | "failed";

export interface ChatMessage {
  conv: string;
  /** 0 while sending. */
  seq: number;
  clientMsgId: string;
  sender: string;
  body: string;
  kind: "normal" | "recall" | "system";
  recalled: boolean;
  serverTsMs: number;
  /** Own messages only. */
  state?: MessageState;
  error?: string;
}

export class Conversation {
  /** Stored messages, ascending seq, each seq once. */
  readonly messages: ChatMessage[] = [];
  /** Own messages not yet acknowledged by the server, in send order. */
  readonly pending: ChatMessage[] = [];
  lastSeq = 0;
  readSeq = 0;
  unread = 0;
  /** The other side's read cursor (receipts). */
  peerReadSeq = 0;
  /** The other side's delivered cursor (DELIVERED signals). */
  peerDeliveredSeq = 0;

  constructor(readonly id: string) {}

  /** insert adds a stored message; false when it was already there. */
  insert(m: ChatMessage): boolean {
    if (m.seq <= 0) throw new Error("insert: a stored message has a seq");
    const p = this.pending.findIndex((x) => x.clientMsgId !== "" && x.clientMsgId === m.clientMsgId && x.sender === m.sender);
    if (p >= 0) {
      m.state = m.state ?? "sent";
      this.pending.splice(p, 1);
    }
    const ms = this.messages;
    let lo = 0;
    let hi = ms.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ms[mid].seq < m.seq) lo = mid + 1;
      else hi = mid;
    }
    if (lo < ms.length && ms[lo].seq === m.seq) {
      // Keep the richer state of the copy already held.
      ms[lo] = { ...m, state: ms[lo].state ?? m.state, recalled: ms[lo].recalled || m.recalled };
      return false;
    }
    ms.splice(lo, 0, m);
    this.lastSeq = Math.max(this.lastSeq, m.seq);
    if (m.kind === "recall") {
      // A recall event names the message it withdraws by refSeq; the
      // caller marks it (see Client).
    }
    return true;
  }

  /** The seqs missing between the first held message and lastSeq. */
  gaps(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let i = 1; i < this.messages.length; i++) {
      const a = this.messages[i - 1].seq;
      const b = this.messages[i].seq;
      if (b > a + 1) out.push([a + 1, b - 1]);
    }
    return out;
  }

  /** Everything to show: stored, then pending. */
  all(): ChatMessage[] {
    return [...this.messages, ...this.pending];
  }

  highestSeq(): number {
    return this.messages.length ? this.messages[this.messages.length - 1].seq : 0;
  }

  /** stateOf is an own stored message's state given the peer cursors. */
  refreshStates(me: string): void {
    for (const m of this.messages) {
      if (m.sender !== me || m.kind !== "normal") continue;
      if (m.seq <= this.peerReadSeq) m.state = "read";
      else if (m.seq <= this.peerDeliveredSeq) m.state = "delivered";
      else m.state = "sent";
    }
  }
}
