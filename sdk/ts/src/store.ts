// The client's view of its conversations: messages ordered by seq and
// deduplicated, with the outbox's unsent messages after them, and each
// own message's state.

/** Message states (docs/PROTOCOL.md §7). */
export type MessageState = "sending" | "sent" | "delivered" | "read" | "failed";

/** A business card (docs/PROTOCOL.md, "Cards"). */
export interface Card {
  title: string;
  fields?: Array<{ label: string; value: string }>;
  image_url?: string;
  actions?: Array<{ id: string; label: string; payload?: unknown }>;
}

/**
 * isNews: whether m is news to everyone but its sender, as the server rules:
 * a text, a new card or a new poll (not an edit, a card's update or a poll's
 * close), not recalled, or the record of a call nobody answered (missedCall;
 * its sender is the caller). Such a message from someone else counts as
 * unread and brings an archived conversation back.
 */
export function isNews(m: ChatMessage): boolean {
  return ((m.kind === "normal" || m.kind === "card" || m.kind === "poll") && !m.refSeq && !m.recalled) || missedCall(m) !== undefined;
}

/** A system message's record of a call that ended (docs/PROTOCOL.md, "Calls"). */
export interface CallRecord {
  call: string;
  /** The caller. */
  actor: string;
  callee: string;
  video?: boolean;
  /** missed, declined, cancelled, ended or dropped. */
  outcome: string;
  duration_ms?: number;
  by?: string;
  reason?: string;
}

/** callRecord: m's record of a call, undefined if m is none. */
export function callRecord(m: ChatMessage): CallRecord | undefined {
  if (m.kind !== "system" || !m.body.includes('"op":"call"')) return undefined;
  try {
    const rec = JSON.parse(m.body) as CallRecord & { op?: string };
    return rec.op === "call" ? rec : undefined;
  } catch {
    return undefined;
  }
}

/** missedCall: m's record of a call nobody answered (missed, or cancelled while it rang), news to the callee. */
export function missedCall(m: ChatMessage): CallRecord | undefined {
  const rec = callRecord(m);
  return rec && (rec.outcome === "missed" || rec.outcome === "cancelled") ? rec : undefined;
}

/** A poll as sendPoll sends it (docs/PROTOCOL.md, "Polls"). */
export interface Poll {
  question: string;
  options: string[];
  /** Members may choose several options. */
  multiple?: boolean;
  /** When it closes by itself (Unix ms, after now and at most the node's --max-poll-duration ahead); unset: when its author closes it. */
  closesAtMs?: number;
  /**
   * A quiz: one option is right (correct, its index, with an optional
   * explanation, sent only: the node keeps them out of the message). A
   * member answers once and cannot take it back; pollResults tells the
   * answer once they did, to its author, and to all once it closed.
   */
  quiz?: boolean;
  correct?: number;
  explanation?: string;
  /**
   * Anonymous (groups only): the node keeps each vote under an alias of
   * its voter in this poll ("~" and 16 hex digits) and names nobody, not
   * even in pollResults; the voter's client learns its own alias.
   */
  anonymous?: boolean;
}

/** Frozen: why, by whom and since when a conversation is closed to new messages (Client.freeze). */
export interface Frozen {
  reason: string;
  /** A group's owner or admin, or "system": the operator. */
  by: string;
  atMs: number;
  /** A cool-down: open again by itself then (Unix ms), with nothing pushed; Conversation.frozenAt says whether it holds. */
  untilMs?: number;
}

/**
 * A place: WGS 84 degrees (latitude -90 to 90, longitude -180 to 180) and
 * an optional name ("Café am Markt"). liveUntilMs: a live share (the
 * courier on the way), which its sender moves until then
 * (Client.moveLocation); at or before now it ended. Unset: a fixed place.
 */
export interface LocationInfo {
  lat: number;
  lng: number;
  name?: string;
  liveUntilMs?: number;
}

/** A poll as the conversation holds it: the votes folded from its log. */
export interface PollState {
  question: string;
  multiple: boolean;
  /** Its close was seen, or closesAtMs passed when the state was made. */
  closed: boolean;
  /** When it closes by itself; unset: none. */
  closesAtMs?: number;
  /** In the poll's order, each with the members who chose it (sorted). */
  options: Array<{ text: string; voters: string[] }>;
  /** This user's choice (option indexes); empty: none. */
  mine: number[];
  /** A quiz: pollResults tells the right option once this user answered. */
  quiz?: boolean;
  /** Anonymous: options' voters are aliases, not members; mine is known on the device that voted (pollResults tells it elsewhere). */
  anonymous?: boolean;
}

/** The node's tally of a poll (Client.pollResults). */
export interface PollResults {
  question: string;
  multiple: boolean;
  closed: boolean;
  /** In the poll's order: each option's votes and its first voters (as many as asked for). */
  options: Array<{ text: string; votes: number; voters: string[] }>;
  /** Members with a vote counted. */
  voters: number;
  /** The caller's choice; empty: none. */
  mine: number[];
  /** The tally counts the conversation's log up to this seq. */
  throughSeq: number;
  /** When it closes by itself; 0: none. */
  closesAtMs: number;
  /** A quiz: one option is right. */
  quiz: boolean;
  /** Anonymous: counts only, no voters listed. */
  anonymous: boolean;
  /** A quiz's right option and its author's explanation, once the caller answered, asked it, or it closed; unset before. */
  correct?: number;
  explanation?: string;
}

/** pollStateOf is a poll's body as a state without votes; undefined when it is not a poll's JSON. */
export function pollStateOf(body: string): PollState | undefined {
  const p = parsePoll(body);
  if (!p) return undefined;
  const out: PollState = { question: p.question, multiple: !!p.multiple, closed: false, options: p.options.map((text) => ({ text, voters: [] })), mine: [] };
  if (p.quiz) out.quiz = true;
  if (p.anonymous) out.anonymous = true;
  if (p.closesAtMs) {
    out.closesAtMs = p.closesAtMs;
    out.closed = Date.now() >= p.closesAtMs;
  }
  return out;
}

/** parsePoll reads a poll's body; undefined when it is not a poll's JSON. */
export function parsePoll(body: string): Poll | undefined {
  try {
    const p = JSON.parse(body);
    if (!p || typeof p !== "object" || typeof p.question !== "string" || !Array.isArray(p.options)) return undefined;
    const out: Poll = { question: p.question, options: p.options.map(String), multiple: !!p.multiple };
    if (Number.isSafeInteger(p.closes_at_ms) && p.closes_at_ms > 0) out.closesAtMs = p.closes_at_ms;
    if (p.quiz === true) out.quiz = true;
    if (p.anonymous === true) out.anonymous = true;
    return out;
  } catch {
    return undefined;
  }
}

/** parseCard reads a card body; undefined when it is not a card's JSON. */
export function parseCard(body: string): Card | undefined {
  try {
    const c = JSON.parse(body);
    if (!c || typeof c !== "object" || typeof c.title !== "string") return undefined;
    return {
      title: c.title,
      fields: Array.isArray(c.fields) ? c.fields.filter((f: any) => f && typeof f.label === "string").map((f: any) => ({ label: f.label, value: String(f.value ?? "") })) : [],
      image_url: typeof c.image_url === "string" ? c.image_url : undefined,
      actions: Array.isArray(c.actions) ? c.actions.filter((a: any) => a && typeof a.id === "string").map((a: any) => ({ id: a.id, label: String(a.label ?? a.id), payload: a.payload })) : [],
    };
  } catch {
    return undefined;
  }
}

/** The forwards from its original (ChatMessage.forwardHops) from which a copy shows "forwarded many times", as chat apps do. */
export const FORWARDED_MANY_TIMES = 5;

/** One emoji on a message and the members who chose it (sorted). */
export interface Reaction {
  emoji: string;
  users: string[];
}

export interface ChatMessage {
  conv: string;
  /** 0 while sending. */
  seq: number;
  clientMsgId: string;
  sender: string;
  body: string;
  /** "other": a kind this SDK does not know (a newer server's): shown as nothing. */
  kind: "normal" | "recall" | "system" | "card" | "reaction" | "poll" | "vote" | "other";
  recalled: boolean;
  /** The node's retention took its content, or it disappeared (recalled is set too; docs/PROTOCOL.md, "Retention", "Disappearing messages"). */
  expired?: boolean;
  /**
   * A disappearing message's end (Unix ms; unset: it stays). The client
   * drops its text and file then (expired, with a "conversation" event),
   * as the node serves it from then on.
   */
  expiresAtMs?: number;
  /** Cards: the parsed body, replaced by the latest update. */
  card?: Card;
  /**
   * A card update (kind "card"): the seq of the card it replaces. An edit
   * (kind "normal"): the seq of the sender's message whose text it
   * replaces; the conversation applies it to that message (editSeq).
   */
  refSeq?: number;
  /** A reply: the seq of the message of the conversation it answers (show it quoted above). */
  replyTo?: number;
  /** Members the message mentions (@user). */
  mentions?: string[];
  /** It mentions every member of its group but its sender ("@all", Client.mentionAll); mentions is then unset. Set only when true. */
  mentionAll?: boolean;
  /** The attached file (its bytes: Client.download); body is its caption, maybe empty. */
  media?: MediaInfo;
  /** A place the message shares (Client.sendLocation); body is its caption, maybe empty. */
  location?: LocationInfo;
  /** The app's own data about the message (an order's id, how to draw it), as its sender gave it (send's meta); the node shows it nowhere. */
  meta?: Record<string, string>;
  /** A copy of another message its sender forwarded (Client.forward): show it labelled so; where it came from is not told. */
  forwarded?: boolean;
  /** How many forwards a copy is from its original (1: a copy of it); from FORWARDED_MANY_TIMES on, show it "forwarded many times". */
  forwardHops?: number;
  /** Posted by the node for its sender, who is away (Client.setAway): show it labelled an automatic reply. Set only when true. */
  autoReply?: boolean;
  /** An edited message: the seq of the edit whose text body shows. */
  editSeq?: number;
  /** A live location: the seq of the move whose place location shows. */
  moveSeq?: number;
  /** A card: the seq of the update shown (0 or unset: the original). */
  cardUpdateSeq?: number;
  /**
   * A text or card: each member's newest reaction, grouped by emoji (most
   * chosen first). A message of kind "reaction" (refSeq: the message, body:
   * the emoji, empty when taken back) is folded here.
   */
  reactions?: Reaction[];
  /**
   * A poll (kind "poll", no refSeq): its question and options with the
   * votes folded here (messages of kind "vote": refSeq the poll, body the
   * JSON array of option indexes, empty when taken back; each member's
   * newest counts). A "poll" with refSeq closes that poll.
   */
  poll?: PollState;
  serverTsMs: number;
  /** In a service conversation: the sender's role, where it is a customer's or an agent's (the robot's and others' are unset). */
  role?: "customer" | "agent";
  /** The server's id of the message (decimal); unset while sending. */
  msgId?: string;
  /** Own messages only. */
  state?: MessageState;
  error?: string;
  /** A failed send: the server's code (Code.SLOW_MODE: a group's slow mode refused it). */
  errorCode?: number;
  /** A failed send refused SLOW_MODE: how long (ms, from the refusal) until the member may post there again. */
  retryAfterMs?: number;
}

export class Conversation {
  /** Stored messages, ascending seq, each seq once. */
  readonly messages: ChatMessage[] = [];
  /** Per message seq and member, the newest reaction seen (kept before its message arrives). */
  private readonly reactionMarks = new Map<number, Map<string, { emoji: string; seq: number }>>();
  /** Per poll seq and member, the newest vote seen; and the polls seen closed (both kept before their poll arrives). */
  private readonly voteMarks = new Map<number, Map<string, { choice: number[]; seq: number }>>();
  private readonly closedPolls = new Set<number>();
  /** Per anonymous poll seq, this user's alias in it (Client.vote learns it from the node's answer). */
  private readonly myAliases = new Map<number, string>();
  /** Whose view this is (insert's me): a poll's mine is theirs. */
  private me = "";
  /** Own messages not yet acknowledged by the server, in send order. */
  readonly pending: ChatMessage[] = [];
  lastSeq = 0;
  readSeq = 0;
  unread = 0;
  /** Of the unread messages, those that mention this user (an "@" beside the count). */
  unreadMentions = 0;
  /** Pinned by this user (pin). */
  pinned = false;
  /** Muted by this user (mute): its unread leave the total, nothing notifies. */
  muted = false;
  /**
   * When a mute for a while (mute with forMs) ends by itself (Unix ms; 0:
   * until unmuted, or not muted). The node sends nothing then: mutedAt
   * says whether the mute holds; once it ends the Client clears muted and
   * this, as the node's summaries then say, and emits "conversation".
   */
  mutedUntilMs = 0;
  /**
   * In this user's archived list (archive), not the main one. The next
   * message from someone else brings it back unless it is muted; the
   * server and this view both do so.
   */
  archived = false;
  /**
   * When a snooze (Client.snooze: an archive with an end) ends by itself
   * (Unix ms; 0: none). The node sends nothing then: archivedAt says
   * whether the conversation is still in the archived list; once the end
   * passes the Client clears archived and this, marks it unread (as the
   * node's summaries then say, until this user reads it) and emits
   * "conversation". News from someone else ends a snooze earlier.
   */
  archivedUntilMs = 0;
  /**
   * Marked unread by this user (markUnread), to come back to it: show it
   * as unread even with unread 0. Any read of it clears the mark.
   */
  markedUnread = false;
  /**
   * This user's own labels of it (label: "new customer", "paid", "to
   * ship"), ascending; nobody else sees them. Summaries and flags pushes
   * keep them up to date on every device of the user.
   */
  labels: string[] = [];
  /** False once this user left, was removed, or the group was disbanded: its history stays readable up to then. */
  member = true;
  /** A group's name (empty for other kinds: show the other member); a rename reaches it by itself. */
  title = "";
  /** A group's picture: its file's id ("": none), which changes with the picture (cache the image by it; Client.groupPicture reads it). */
  pictureId = "";
  /**
   * Closed to new messages (undefined: open): show frozen.reason instead of a composer; a send is FROZEN. A freeze and
   * an unfreeze reach it by themselves; a cool-down's end is not pushed (frozenAt judges it by the clock).
   */
  frozen?: Frozen;
  /**
   * The app's own data about the conversation (a listing's title and price beside the chat about it), which the
   * operator's backend sets (undefined: none); a change reaches it by itself.
   */
  meta?: Record<string, string>;
  /** The conversation's last seq when title, pictureId, frozen and meta were told: an older summary or update does not undo a rename. */
  titleSeq = 0;
  /** The other side's read cursor (receipts). */
  peerReadSeq = 0;
  /** The other side's delivered cursor (DELIVERED signals). */
  peerDeliveredSeq = 0;
  /**
   * The last seq the unread count covers (the newest sync summary's). A
   * message above it is news to count however it arrives: a push, a gap
   * pulled from history, or a push written before a summary computed
   * without it. Before any summary only live messages count.
   */
  private countedThrough = 0;
  private summarized = false;

  constructor(readonly id: string) {}

  /** This user cleared the conversation up to here (Client.clearHistory, on any device): nothing up to it is held. */
  clearedSeq = 0;

  /** cleared lets go of the messages up to through (this user cleared the conversation). */
  cleared(through: number): void {
    if (through <= this.clearedSeq) return;
    this.clearedSeq = through;
    const keep = this.messages.filter((m) => m.seq > through);
    this.messages.splice(0, this.messages.length, ...keep);
    for (const seq of [...this.reactionMarks.keys()]) if (seq <= through) this.reactionMarks.delete(seq);
    for (const seq of [...this.voteMarks.keys()]) if (seq <= through) this.voteMarks.delete(seq);
    for (const seq of [...this.closedPolls]) if (seq <= through) this.closedPolls.delete(seq);
    for (const seq of [...this.myAliases.keys()]) if (seq <= through) this.myAliases.delete(seq);
  }

  /** myAlias records this user's alias in the anonymous poll at seq; it reports whether the poll, held, changed. */
  myAlias(seq: number, alias: string): boolean {
    if (this.myAliases.get(seq) === alias) return false;
    this.myAliases.set(seq, alias);
    const t = this.messages.find((x) => x.seq === seq && x.kind === "poll" && !x.refSeq);
    if (!t) return false;
    t.poll = this.pollOf(t);
    return true;
  }

  /** The messages this user deleted for themself (Client.hide, on any device), ascending: none of them is held. */
  hiddenSeqs: number[] = [];

  /**
   * hidden takes seqs as this user's whole hidden set (a hide or unhide
   * on any device, a summary): it lets go of the messages held at them and
   * answers the seqs of the set before that are not in it now, shown
   * again, for the caller to fetch (not those a clear took: the node
   * drops cleared seqs from the set). The edits, reactions and votes held
   * for a hidden message stay: they apply again when it comes back.
   */
  hidden(seqs: number[]): number[] {
    const now = new Set(seqs);
    const shown = this.hiddenSeqs.filter((seq) => !now.has(seq) && seq > this.clearedSeq);
    this.hiddenSeqs = [...now].sort((a, b) => a - b);
    const keep = this.messages.filter((m) => !now.has(m.seq));
    if (keep.length !== this.messages.length) this.messages.splice(0, this.messages.length, ...keep);
    return shown;
  }

  /** mutedAt: whether this user's mute holds at now: muted, and its end (if any) not reached. */
  mutedAt(now = Date.now()): boolean {
    return this.muted && (this.mutedUntilMs === 0 || now < this.mutedUntilMs);
  }

  /** archivedAt: whether this conversation is in this user's archived list at now: archived, and its snooze (if any) not ended. */
  archivedAt(now = Date.now()): boolean {
    return this.archived && (this.archivedUntilMs === 0 || now < this.archivedUntilMs);
  }

  /** frozenAt is the conversation's freeze if it holds at now (a cool-down's end passed: undefined). */
  frozenAt(now = Date.now()): Frozen | undefined {
    return this.frozen && (!this.frozen.untilMs || now < this.frozen.untilMs) ? this.frozen : undefined;
  }

  /**
   * setInfo takes what a summary or a membership push says of the conversation itself (a group's name and picture,
   * its freeze, the app's meta) as of its seq asOf, unless newer is held.
   */
  setInfo(asOf: number, info: { title: string; pictureId?: string; frozen?: Frozen; meta?: Record<string, string> }): void {
    if (asOf >= this.titleSeq) {
      this.title = info.title;
      this.pictureId = info.pictureId ?? "";
      this.frozen = info.frozen;
      this.meta = info.meta && Object.keys(info.meta).length > 0 ? { ...info.meta } : undefined;
      this.titleSeq = asOf;
    }
  }

  /** applySummary takes a sync summary's count, plus the news held above it; an older summary than the count held is ignored. */
  applySummary(lastSeq: number, readSeq: number, unread: number, unreadMentions: number, me: string): void {
    this.readSeq = Math.max(this.readSeq, readSeq);
    this.lastSeq = Math.max(this.lastSeq, lastSeq);
    if (this.summarized && lastSeq < this.countedThrough) return;
    const news = this.messages.filter((m) => m.seq > lastSeq && this.countsAsUnread(m, me));
    this.unread = unread + news.length;
    this.unreadMentions = unreadMentions + news.filter((m) => mentionsMe(m, me)).length;
    this.countedThrough = lastSeq;
    this.summarized = true;
  }

  /** countNew counts a message just inserted (live: a push, or a gap under one) unless a summary covered it. */
  countNew(m: ChatMessage, live: boolean, me: string): void {
    const uncounted = this.summarized ? m.seq > this.countedThrough : live;
    if (!uncounted || !this.countsAsUnread(m, me)) return;
    this.unread++;
    if (!this.mutedAt()) {
      this.archived = false;
      this.archivedUntilMs = 0; // a snooze too ends with news
    }
    if (mentionsMe(m, me)) this.unreadMentions++;
  }

  /**
   * markedRead applies this device's own read: the count is recounted from
   * the messages held when they cover everything after the read cursor
   * (with a gap the server's count stays until the next summary).
   */
  markedRead(readSeq: number, me: string): void {
    this.markedUnread = false; // any read clears the mark, as on the server
    if (this.archivedUntilMs && !this.archivedAt()) {
      // A snooze that ended (its timer not yet run) is read: over for good.
      this.archived = false;
      this.archivedUntilMs = 0;
    }
    if (readSeq < this.readSeq) return;
    this.readSeq = readSeq;
    if (readSeq >= this.lastSeq) {
      this.unread = 0;
      this.unreadMentions = 0;
      this.countedThrough = Math.max(this.countedThrough, readSeq);
      this.summarized = true;
      return;
    }
    let n = 0;
    let at = 0;
    let next = readSeq + 1;
    for (const m of this.messages) {
      if (m.seq <= readSeq) continue;
      if (m.seq !== next) return;
      next++;
      if (!this.countsAsUnread(m, me)) continue;
      n++;
      if (mentionsMe(m, me)) at++;
    }
    if (next > this.lastSeq) {
      this.unread = n;
      this.unreadMentions = at;
      this.countedThrough = Math.max(this.countedThrough, this.lastSeq);
      this.summarized = true;
    }
  }

  /** The server's rule: news (isNews) from someone else, above the read cursor. */
  private countsAsUnread(m: ChatMessage, me: string): boolean {
    return isNews(m) && m.sender !== me && m.seq > this.readSeq;
  }

  /**
   * insert adds a stored message; false when it was already there. A
   * message at a held seq with another msgId means the node's store was
   * restored from a backup older than what is held (docs/PROTOCOL.md §6):
   * what is held from that seq on is dropped and the server's taken, and
   * the count and cursors follow (me: whose count it is).
   */
  /**
   * disappear drops the content of the messages whose end (expiresAtMs)
   * is at or before now, as the node serves them from then on. It answers
   * whether any changed, and the next end still to come (0: none).
   */
  disappear(now: number): { changed: boolean; next: number } {
    let changed = false;
    let next = 0;
    for (const m of this.messages) {
      const end = m.expiresAtMs;
      if (!end || m.expired) continue;
      if (end > now) {
        if (!next || end < next) next = end;
        continue;
      }
      m.expired = m.recalled = true;
      m.body = "";
      for (const k of ["media", "location", "meta", "card", "poll", "reactions", "editSeq", "moveSeq", "cardUpdateSeq"] as const) delete m[k];
      changed = true;
    }
    return { changed, next };
  }

  insert(m: ChatMessage, me = ""): boolean {
    if (m.seq <= 0) throw new Error("insert: a stored message has a seq");
    if (m.seq <= this.clearedSeq) return false; // cleared by this user
    if (this.hiddenSeqs.includes(m.seq)) return false; // deleted for this user (a page or push read before the hide)
    if (me) this.me = me;
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
    if (lo < ms.length && ms[lo].seq === m.seq && ms[lo].msgId && m.msgId && ms[lo].msgId !== m.msgId) {
      this.replaceFrom(lo, m, me);
      return true;
    }
    if (lo < ms.length && ms[lo].seq === m.seq) {
      // Keep the richer state of the copy already held, and what was
      // folded into it (a poll's votes, reactions): a copy read again
      // (the push after the send's answer, a page) carries neither.
      const held = ms[lo];
      ms[lo] = { ...m, state: held.state ?? m.state, recalled: held.recalled || m.recalled };
      if (m.kind === "poll" && !m.refSeq) ms[lo].poll = this.pollOf(ms[lo]);
      if (held.reactions && !ms[lo].reactions) ms[lo].reactions = held.reactions;
      if (held.editSeq && m.kind === "normal" && !m.refSeq) {
        // The newest edit held still shows (its copy says the original).
        const e = ms.find((x) => x.seq === held.editSeq);
        if (e) this.applyEdit(e);
      }
      return false;
    }
    ms.splice(lo, 0, m);
    this.lastSeq = Math.max(this.lastSeq, m.seq);
    if (m.kind === "normal") {
      if (m.refSeq) this.applyEdit(m);
      else {
        // An edit or a live location's move can arrive before its
        // message (a newest-first page): apply the latest of each held.
        let edit = false;
        let move = false;
        for (let i = ms.length - 1; i > lo && !(edit && move); i--) {
          const r = ms[i];
          if (r.kind !== "normal" || r.refSeq !== m.seq || r.recalled) continue;
          const isMove = !!r.location && !r.body;
          if (isMove ? move : edit) continue;
          this.applyEdit(r);
          if (isMove) move = true;
          else edit = true;
        }
      }
    }
    if (m.kind === "reaction" && m.refSeq) this.applyReaction(m);
    if ((m.kind === "vote" || m.kind === "poll") && m.refSeq) this.applyVote(m);
    if (m.kind === "poll" && !m.refSeq) m.poll = this.pollOf(m);
    if ((m.kind === "normal" || m.kind === "card") && !m.refSeq && this.reactionMarks.has(m.seq)) m.reactions = this.reactionsOf(m.seq);
    if (m.kind === "card") {
      if (m.refSeq) this.applyCardUpdate(m);
      else {
        // Updates can arrive before the card they replace (a pulled gap):
        // apply the latest one already held.
        for (let i = ms.length - 1; i > lo; i--) {
          if (ms[i].kind === "card" && ms[i].refSeq === m.seq) {
            this.applyCardUpdate(ms[i]);
            break;
          }
        }
      }
    }
    return true;
  }

  /** replaceFrom takes m in place of the held messages from index i on (a restored log); m is counted by the caller. */
  private replaceFrom(i: number, m: ChatMessage, me: string): void {
    this.messages.splice(i, this.messages.length - i, m);
    const below = m.seq - 1;
    this.lastSeq = m.seq;
    this.readSeq = Math.min(this.readSeq, below);
    this.peerReadSeq = Math.min(this.peerReadSeq, below);
    this.peerDeliveredSeq = Math.min(this.peerDeliveredSeq, below);
    this.countedThrough = Math.min(this.countedThrough, below);
    const unread = this.messages.filter((x) => x.seq < m.seq && this.countsAsUnread(x, me));
    this.unread = unread.length;
    this.unreadMentions = unread.filter((x) => mentionsMe(x, me)).length;
  }

  /** The reaction r records its sender's newest reaction to its message, and shows it there when held. */
  private applyReaction(r: ChatMessage): ChatMessage | undefined {
    const target = r.refSeq!;
    let marks = this.reactionMarks.get(target);
    if (!marks) this.reactionMarks.set(target, (marks = new Map()));
    const old = marks.get(r.sender);
    if (old && old.seq >= r.seq) return undefined;
    marks.set(r.sender, { emoji: r.body, seq: r.seq });
    const t = this.messages.find((x) => x.seq === target);
    if (!t) return undefined;
    t.reactions = this.reactionsOf(target);
    return t;
  }

  /** The vote (or close) v records its sender's newest vote on its poll, and shows it there when held. */
  private applyVote(v: ChatMessage): ChatMessage | undefined {
    const target = v.refSeq!;
    if (v.kind === "poll") this.closedPolls.add(target);
    else {
      let marks = this.voteMarks.get(target);
      if (!marks) this.voteMarks.set(target, (marks = new Map()));
      const old = marks.get(v.sender);
      if (old && old.seq >= v.seq) return undefined;
      let choice: number[] = [];
      try {
        if (v.body) choice = (JSON.parse(v.body) as unknown[]).map(Number);
      } catch {
        return undefined;
      }
      marks.set(v.sender, { choice, seq: v.seq });
    }
    const t = this.messages.find((x) => x.seq === target);
    if (!t || t.kind !== "poll") return undefined;
    t.poll = this.pollOf(t);
    return t;
  }

  /** pollOf folds the votes held for poll p. */
  private pollOf(p: ChatMessage): PollState | undefined {
    const out = pollStateOf(p.body);
    if (!out || p.recalled) return undefined;
    out.closed ||= this.closedPolls.has(p.seq);
    for (const [user, v] of this.voteMarks.get(p.seq) ?? []) {
      for (const o of v.choice) out.options[o]?.voters.push(user);
      if (user === this.me || user === this.myAliases.get(p.seq)) out.mine = [...v.choice];
    }
    for (const o of out.options) o.voters.sort();
    return out;
  }

  /** reactionsOf groups the reactions held for seq by emoji, the most chosen first. */
  private reactionsOf(seq: number): Reaction[] {
    const by = new Map<string, string[]>();
    for (const [user, r] of this.reactionMarks.get(seq) ?? []) {
      if (r.emoji === "") continue;
      const users = by.get(r.emoji) ?? [];
      users.push(user);
      by.set(r.emoji, users);
    }
    const out = [...by].map(([emoji, users]) => ({ emoji, users: users.sort() }));
    return out.sort((a, b) => b.users.length - a.users.length || (a.emoji < b.emoji ? -1 : a.emoji > b.emoji ? 1 : 0));
  }

  /** The card update u (refSeq set) replaces its card when newer than what it shows. */
  private applyCardUpdate(u: ChatMessage): ChatMessage | undefined {
    const t = this.messages.find((x) => x.seq === u.refSeq);
    if (!t || !u.card || (t.cardUpdateSeq ?? 0) > u.seq) return undefined;
    t.card = u.card;
    t.cardUpdateSeq = u.seq;
    return t;
  }

  /** The edit e (a normal message with refSeq) gives its message its text when newer than what it shows. */
  private applyEdit(e: ChatMessage): ChatMessage | undefined {
    const t = this.messages.find((x) => x.seq === e.refSeq);
    if (!t || t.recalled || e.recalled) return undefined;
    if (e.location && !e.body) {
      // A live location's move: the newest place, the caption stays.
      if ((t.moveSeq ?? 0) > e.seq) return undefined;
      t.location = { ...e.location };
      t.moveSeq = e.seq;
      return t;
    }
    if ((t.editSeq ?? 0) > e.seq) return undefined;
    t.body = e.body;
    t.editSeq = e.seq;
    return t;
  }

  /** visible is what a page shows: no recall events, reactions or votes, no card updates, polls' closes or edits (their message shows them), no unknown kinds. */
  visible(): ChatMessage[] {
    return this.all().filter((m) => m.kind !== "recall" && m.kind !== "reaction" && m.kind !== "vote" && m.kind !== "other" && !((m.kind === "card" || m.kind === "normal" || m.kind === "poll") && m.refSeq));
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
      if (m.sender !== me || !(m.kind === "normal" || m.kind === "card" || m.kind === "poll") || m.refSeq) continue;
      if (m.seq <= this.peerReadSeq) m.state = "read";
      else if (m.seq <= this.peerDeliveredSeq) m.state = "delivered";
      else m.state = "sent";
    }
  }
}

/** MediaInfo describes a file attached to a message (docs/PROTOCOL.md, "Media"). */
export interface MediaInfo {
  id: string;
  /** The file name the uploader gave. */
  name: string;
  /** Its content type, e.g. image/jpeg. */
  mime: string;
  /** Bytes. */
  size: number;
  /** How many chunks download reads. */
  chunks: number;
  /** A picture's or a video's size in pixels, when its sender gave it. */
  width?: number;
  height?: number;
  /** A tiny preview image (JPEG or PNG) to draw before downloading, when its sender gave one. */
  thumb?: Uint8Array;
  /** How long it plays (a voice note's "0:42"), when its sender gave it. */
  durationMs?: number;
}

/** Preview is what upload sends with a picture: its size and a tiny image (makePreview makes one in a browser). */
export interface Preview {
  /** A picture's or a video's size in pixels. */
  width?: number;
  height?: number;
  /** A JPEG or PNG within the node's --max-media-thumb-bytes (4 KiB by default). */
  thumb?: Uint8Array;
  /** How long it plays (a voice note, an audio, a video), at most a day. */
  durationMs?: number;
}

/**
 * mentionsMe: whether m mentions user me, as the server counts
 * unread_mentions: it names me among its mentions, or it mentions everyone
 * ("@all") and is not my own.
 */
export function mentionsMe(m: ChatMessage, me: string): boolean {
  if (m.mentionAll) return m.sender !== me;
  return m.mentions?.includes(me) ?? false;
}
