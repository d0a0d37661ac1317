import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import {
  CallRequest_Op,
  Code,
  ConvKind,
  HelloSchema,
  ListsUpdate_List,
  MembershipRequest_Op,
  MessageKind,
  PresenceSharing,
  DirectFrom,
  GroupAddFrom,
  RequestSchema,
  Role,
  ServerFrameSchema,
  Signal_Kind,
  SignalSchema,
  type Message,
  type Profile,
  type Response,
  type ScheduledSend,
  type ServerFrame,
  type ConvSummary,
  type SyncResult,
  type Welcome,
} from "./gen/wire_pb.js";
import { backoffDelay } from "./backoff.js";
import { CALL_ALIVE_EVERY_MS, CALL_ID, CALL_RECHECK_MS, callEventView, callView, newCallId, type CallView } from "./calls.js";
import { DEFAULT_MAX_FRAME, encodeFrame, FrameReader, MAX_MAX_FRAME } from "./frames.js";
import { openWebSocket, openWebTransport, type Link, type TransportKind, type WebConfig } from "./links.js";
import { Conversation, isNews, parseCard, pollStateOf, type Card, type ChatMessage, type Frozen, type LocationInfo, type MediaInfo, type Poll, type PollResults, type Preview } from "./store.js";
import { BusyHold, ProtocolError, SendPipeline } from "./pipeline.js";
import { forgetMessage, loadMessages, queuedAt, saveMessage } from "./outbox.js";
import { chatMessage, directConv, directPeer, directTopic, locationInfo, mediaInfo } from "./messages.js";
import type { ClientEvents, ClientOptions, ConnState } from "./options.js";

export { directConv, directPeer, directTopic, type ClientEvents, type ClientOptions, type ConnState };

/**
 * Where a message goes: a conversation's id, or { to: user } for the
 * direct conversation with them, or { to, topic } for the pair's
 * conversation about a topic (a listing, an order: 1-64 letters, digits
 * and ._@-), started by the first message to it like the plain one.
 */
export type Target = string | { to: string; topic?: string };

export { ProtocolError };

/** A conversation's settings as groupSettings answers them. */
export interface GroupSettingsView {
  prejoinHistory: number;
  adminsOnly: boolean;
  pinnedSeqs: number[];
  slowModeMs: number;
  title: string;
  description: string;
  /** A group's picture with its preview; unset: none (groupPicture reads the file). */
  picture?: MediaInfo;
  /** The conversation's active members now ("2,143 members"); 0 from a server older than the count. */
  memberCount: number;
  /** A group's owners, then its admins, each by user id, at most 100: who runs it, without paging through members. */
  managers: { user: string; role: string }[];
}

/**
 * Quiet hours: the hours of the week a user's offline notifications pause,
 * in their time zone. week maps "sun".."sat" to "HH:MM-HH:MM" intervals,
 * ascending and comma-separated ("24:00" ends a day); a day not listed
 * has none.
 */
export interface QuietHoursView {
  /** An IANA time zone: "Europe/Berlin", "UTC". */
  zone: string;
  week: Record<string, string>;
}

/** A user's presence as presence and presences answer it: online on how many devices, or when last seen (undefined: never, or not shared). */
export interface PresenceView {
  online: boolean;
  devices: number;
  lastSeen?: Date;
}

/** The days QuietHoursView.week names, Sunday first. */
export const WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/**
 * everyDay is quiet hours from from to to ("HH:MM") on each of days
 * (default: every day) in zone: "22:00" to "07:00" makes the nights quiet,
 * as the mornings before 07:00 and the evenings from 22:00 of those days;
 * from equal to to is the whole day. The node checks the times.
 */
export function everyDay(zone: string, from: string, to: string, days: string[] = WEEKDAYS): QuietHoursView {
  const spans = from === to ? "00:00-24:00" : from < to ? `${from}-${to}` : to === "00:00" ? `${from}-24:00` : `00:00-${to},${from}-24:00`;
  return { zone, week: Object.fromEntries(days.map((d) => [d.toLowerCase(), spans])) };
}

/** An active member of a group, as members and membersPage answer them. */
export interface GroupMember {
  user: string;
  /** "owner", "admin" or "member". */
  role: string;
  /** The system message of their join: they read from it on. */
  joinedSeq: number;
  /** Muted by the group's managers now (or, in a direct conversation, blocked). */
  muted: boolean;
  /** When a timed mute ends (Unix ms; 0: until unmuted, or not muted). */
  mutedUntilMs: number;
}

/**
 * A message this user starred (Client.starred), as they read it now (a
 * text with its newest edit's text), and when they starred it (Unix ms).
 * It is not one of the conversation's held messages: the list is read
 * apart, and starring changes no message.
 */
export interface StarredMessage {
  message: ChatMessage;
  starredAtMs: number;
  /** A reminder due then (Unix ms; 0: none, or it came). */
  remindAtMs: number;
}

/**
 * What a search (Client.search, searchEverywhere) keeps of the messages
 * it reads, each filter applied when set: only those sender sent, only
 * those with a file (files: a conversation's shared media), only the
 * replies to the message at seq replyTo (a thread: one conversation's),
 * only those that mention this user (mentions: by name, as the author a
 * group reply answers, or everyone; searchEverywhere("", {mentions:
 * true}) is "my mentions"). With a filter set the words may be empty:
 * every message that passes.
 */
export interface SearchFilters {
  sender?: string;
  files?: boolean;
  replyTo?: number;
  mentions?: boolean;
}

/**
 * A message this user scheduled (Client.schedule) and the node has not
 * sent yet. conv is where it goes: for one scheduled to { to: user }, the
 * id of their direct conversation (to names the user; else to is "").
 * When it goes out it arrives like any message, carrying clientMsgId.
 */
export interface ScheduledMessage {
  /** Names it to unschedule. */
  id: string;
  conv: string;
  to: string;
  clientMsgId: string;
  kind: "normal" | "card" | "poll";
  /** The text, or a card's or a poll's JSON (as sendCard and sendPoll send them). */
  body: string;
  replyTo?: number;
  mentions?: string[];
  /** It mentions every member of the group but its sender ("@all"). */
  mentionAll?: boolean;
  /** When it goes out (Unix ms); for a failed one, when it was due. */
  atMs: number;
  createdMs: number;
  /** Refused for good when it was due (the code and why): not sent, listed until unschedule lets it go. */
  failed?: string;
}

type Pending = { resolve: (r: Response) => void; reject: (e: Error) => void; timer: ReturnType<typeof setTimeout> };

/** A group's live invite, as its owners and admins see it (never its code). */
export interface GroupInviteView {
  id: string;
  by: string;
  createdMs: number;
  expiresMs: number;
  /** 0: any number */
  maxUses: number;
  /** How many joined with it (an approval invite: how many were approved). */
  uses: number;
  /** Joins with its code wait for the group's owners and admins (joinRequests). */
  approval: boolean;
}

/**
 * A user who asked to join a group with an approval invite and waits for
 * its owners and admins (approveJoin, declineJoin).
 */
export interface JoinRequestView {
  user: string;
  /** Their display name ("": none set; show the user id). */
  name: string;
  /** When they asked (Unix ms). */
  atMs: number;
  /** The invite's id (GroupInviteView.id). */
  invite: string;
  /** When the request is dropped unanswered (Unix ms). */
  expiresMs: number;
  /** Their words to the managers ("I'm Sam's father"; "": none; joinGroup's note). */
  note: string;
}

/**
 * A user's profile, as profile and profiles answer it: how they show in
 * other users' apps. Unset fields are empty: show the user id where name
 * is "".
 */
export interface UserProfile {
  user: string;
  /** The display name ("": none set). */
  name: string;
  /** An http(s) URL of the user's picture ("": none). */
  avatarUrl: string;
  /** When the user last changed it (Unix ms); 0: never. */
  updatedMs: number;
  /** The operator's own data about the user ("verified": "true"), which the user cannot set; undefined: none. */
  meta?: Record<string, string>;
}

/**
 * A draft: what this user started writing in conv and has not sent yet
 * (Client.drafts), kept by the node for their other devices, and when it
 * last changed (Unix ms).
 */
export interface Draft {
  conv: string;
  text: string;
  updatedMs: number;
}

/**
 * This user's away message (Client.away): while it holds, the first
 * message from the other member of each of their direct conversations is
 * answered with text, once per setting, as a message of theirs labelled
 * an automatic reply (ChatMessage.autoReply). text "": none set.
 */
export interface AwayView {
  text: string;
  /** When it was set (Unix ms); 0: none set. */
  sinceMs: number;
  /** When it ends (Unix ms); 0: until cleared. */
  untilMs: number;
}

/** PROFILES_PER_REQUEST is how many users one profiles request names at most (a node's default --max-profile-users). */
export const PROFILES_PER_REQUEST = 100;
/** PRESENCES_PER_REQUEST is how many users one presences request names at most (a node's default --max-presence-users). */
export const PRESENCES_PER_REQUEST = 100;

/** What a user shows others of their presence (Client.presenceSharing). */
export type PresenceSharingName = "everyone" | "online_only" | "nobody";

/** What a web page says of itself (Client.linkPreview); any field may be "". */
export interface LinkPreviewView {
  url: string;
  title: string;
  description: string;
  /** absolute http(s), or "" */
  imageUrl: string;
  siteName: string;
}

/** Who may start a direct conversation with a user (Client.directFrom); "default": the node's. */
export type DirectFromName = "default" | "everyone" | "groups" | "nobody";

const directFromValues: Record<DirectFromName, DirectFrom> = {
  default: DirectFrom.DEFAULT,
  everyone: DirectFrom.EVERYONE,
  groups: DirectFrom.GROUPS,
  nobody: DirectFrom.NOBODY,
};

/** Who may add a user to a group (Client.groupAddFrom); "default": the node's. */
export type GroupAddFromName = "default" | "everyone" | "groups" | "nobody";

const groupAddFromValues: Record<GroupAddFromName, GroupAddFrom> = {
  default: GroupAddFrom.DEFAULT,
  everyone: GroupAddFrom.EVERYONE,
  groups: GroupAddFrom.GROUPS,
  nobody: GroupAddFrom.NOBODY,
};

const sharingValues: Record<PresenceSharingName, PresenceSharing> = {
  everyone: PresenceSharing.PRESENCE_EVERYONE,
  online_only: PresenceSharing.PRESENCE_ONLINE_ONLY,
  nobody: PresenceSharing.PRESENCE_NOBODY,
};

/**
 * Client is one device's connection to a node: it connects over
 * WebTransport or WebSocket, reconnects with jittered backoff, resumes
 * from the device cursor, keeps ordered and deduplicated conversations,
 * and sends through an outbox that survives reconnects.
 */
export class Client {
  readonly conversations = new Map<string, Conversation>();
  user = "";
  device = "";
  state: ConnState = "disconnected";
  transport?: TransportKind;

  private opts: Required<Omit<ClientOptions, "WebSocket" | "fetch" | "token" | "outbox" | "device">> & ClientOptions;
  private link?: Link;
  private nextId = 1;
  private pending = new Map<bigint, Pending>();
  private acks: bigint[] = [];
  private syncCursor = 0n;
  private ackTimer?: ReturnType<typeof setTimeout>; // armed only while acks wait (armAcks)
  private disappearTimer?: ReturnType<typeof setTimeout>; // armed for disappearAt, the next disappearing message's end
  private disappearAt = 0;
  private closed = false;
  private listeners: { [K in keyof ClientEvents]?: ClientEvents[K][] } = {};
  private connectedOnce?: { resolve: () => void; reject: (e: Error) => void };
  /**
   * endedForGood: the node refused or ended the connection with a code
   * that reconnecting cannot help (SUSPENDED, REPLACED); the client stops.
   */
  private endedForGood?: ProtocolError;
  private linkDone?: () => void;
  private linkGen = 0;
  /** maxFrame: the node's frame size, from its Welcome; no request is larger. */
  private maxFrame = DEFAULT_MAX_FRAME;
  private pipelines = new Map<string, SendPipeline<ChatMessage>>();
  private hold: BusyHold;
  /** Per conversation muted for a while, the timer that ends its mute here (setMuted). */
  private muteTimers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Per conversation snoozed, the timer that ends its snooze here (setArchived). */
  private snoozeTimers = new Map<string, ReturnType<typeof setTimeout>>();
  /** The calls this device is in, each kept alive (keepCallAlive). */
  private callAlive = new Map<string, ReturnType<typeof setInterval>>();
  private callRecheck?: ReturnType<typeof setTimeout>;

  constructor(opts: ClientOptions) {
    this.opts = { transports: ["webtransport", "websocket"], minBackoffMs: 200, maxBackoffMs: 15000, requestTimeoutMs: 10000, ackIntervalMs: 200, sendPipeline: 16, maxBusyHoldMs: 5000, ...opts };
    if (!Number.isInteger(this.opts.sendPipeline) || this.opts.sendPipeline < 1) throw new RangeError(`sendPipeline: ${this.opts.sendPipeline}, want an integer ≥ 1`);
    if (typeof this.opts.maxBusyHoldMs !== "number" || Number.isNaN(this.opts.maxBusyHoldMs)) throw new RangeError(`maxBusyHoldMs: ${this.opts.maxBusyHoldMs}, want a number of ms`);
    this.hold = new BusyHold(this.opts.maxBusyHoldMs);
  }

  /** busyRefusals is how many sends the server refused BUSY (each resent later). */
  get busyRefusals(): number {
    let n = 0;
    for (const p of this.pipelines.values()) n += p.busy;
    return n;
  }

  /** pipeline is conv's send pipeline. */
  private pipeline(conv: string): SendPipeline<ChatMessage> {
    let p = this.pipelines.get(conv);
    if (!p) {
      p = new SendPipeline<ChatMessage>(
        {
          conn: () => (this.link && this.state === "connected" ? this.linkGen : undefined),
          write: (m, after) => this.transmit(m, after),
          done: (m, r) => this.sent(m, r),
          failed: (m, e) => this.failed(m, e),
        },
        { window: this.opts.sendPipeline, minBackoffMs: this.opts.minBackoffMs, maxBackoffMs: this.opts.maxBackoffMs, hold: this.hold },
      );
      this.pipelines.set(conv, p);
    }
    return p;
  }

  on<K extends keyof ClientEvents>(ev: K, fn: ClientEvents[K]): void {
    ((this.listeners[ev] ??= []) as any[]).push(fn);
  }

  private emit<K extends keyof ClientEvents>(ev: K, ...args: Parameters<ClientEvents[K]>): void {
    if (ev === "conversation") this.armDisappear(args[0] as Conversation);
    for (const fn of this.listeners[ev] ?? []) (fn as any)(...args);
  }

  /**
   * armDisappear sets the one timer that drops disappearing messages'
   * content at their end (ChatMessage.expiresAtMs) to c's next end, when
   * that comes before the one it is set for.
   */
  private armDisappear(c: Conversation): void {
    const { next } = c.disappear(Date.now());
    if (!next || this.closed || (this.disappearAt && this.disappearAt <= next)) return;
    clearTimeout(this.disappearTimer);
    this.disappearAt = next;
    this.disappearTimer = setTimeout(() => {
      this.disappearAt = 0;
      for (const conv of this.conversations.values()) {
        if (conv.disappear(Date.now()).changed) this.emit("conversation", conv);
        else this.armDisappear(conv);
      }
    }, Math.max(0, next - Date.now()) + 5);
  }

  private setState(s: ConnState): void {
    this.state = s;
    this.emit("state", s, this.transport);
  }

  /** connect starts the connection loop; it resolves once connected. */
  connect(): Promise<void> {
    const p = new Promise<void>((resolve, reject) => (this.connectedOnce = { resolve, reject }));
    void this.loop();
    return p;
  }

  /** close ends the connection for good. */
  close(): void {
    this.closed = true;
    clearTimeout(this.ackTimer);
    clearTimeout(this.disappearTimer);
    for (const timers of [this.muteTimers, this.snoozeTimers]) {
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
    }
    for (const p of this.pipelines.values()) p.stop();
    for (const t of this.callAlive.values()) clearInterval(t);
    this.callAlive.clear();
    clearTimeout(this.callRecheck);
    this.link?.close();
    this.setState("closed");
  }

  /** drop cuts the current connection (as a network failure would); the client reconnects. */
  drop(): void {
    this.link?.close();
  }

  conversation(id: string): Conversation {
    let c = this.conversations.get(id);
    if (!c) {
      c = new Conversation(id);
      this.conversations.set(id, c);
    }
    return c;
  }

  private async loop(): Promise<void> {
    let attempt = 0;
    while (!this.closed) {
      this.setState("connecting");
      try {
        await this.connectOnce();
        attempt = 0;
        await new Promise<void>((r) => (this.linkDone = r));
      } catch (e) {
        if (this.closed) return;
        if (e instanceof ProtocolError && endsForGood(e.code)) this.endedForGood = e;
      }
      this.failPending(new Error("connection lost"));
      if (this.closed) return;
      if (this.endedForGood) {
        // The operator suspended this user (reconnecting cannot help until
        // they lift it), or this device id connected again elsewhere
        // (reconnecting would take it back, and the other would do the
        // same): the app makes a new client when the user asks.
        this.closed = true;
        clearTimeout(this.ackTimer);
        this.connectedOnce?.reject(this.endedForGood);
        this.connectedOnce = undefined;
        this.setState("closed");
        return;
      }
      this.setState("disconnected");
      await new Promise((r) => setTimeout(r, backoffDelay(attempt++, this.opts.minBackoffMs, this.opts.maxBackoffMs)));
    }
  }

  private async webConfig(): Promise<WebConfig> {
    const f = this.opts.fetch ?? fetch;
    const r = await f(new URL("/web.json", this.opts.url).toString(), { cache: "no-store" });
    if (!r.ok) throw new Error(`web.json: HTTP ${r.status}`);
    return (await r.json()) as WebConfig;
  }

  private async connectOnce(): Promise<void> {
    const token = typeof this.opts.token === "string" ? this.opts.token : await this.opts.token();
    const cfg = await this.webConfig();
    // Frames are bounded by the server's frame, which its Welcome tells
    // (an operator may raise it); until then by the largest there is.
    const reader = new FrameReader(MAX_MAX_FRAME);
    let welcome!: (w: Welcome) => void;
    let refused!: (e: Error) => void;
    const welcomed = new Promise<Welcome>((res, rej) => ((welcome = res), (refused = rej)));
    let gotWelcome = false;
    // The code of the server's error frame: the last frame before it ends
    // the connection, so the close that follows (ours) reports it.
    let errorCode: number | undefined;
    let errorMessage = "";
    const handlers = {
      onData: (chunk: Uint8Array) => {
        let frames: Uint8Array[];
        try {
          frames = reader.push(chunk);
        } catch {
          this.link?.close();
          return;
        }
        for (const b of frames) {
          const f = fromBinary(ServerFrameSchema, b);
          if (f.msg.case === "error") {
            errorCode = f.msg.value.code;
            errorMessage = f.msg.value.message;
          }
          if (f.msg.case === "welcome" && !gotWelcome) {
            gotWelcome = true;
            reader.maxFrame = this.maxFrame = Math.min(f.msg.value.maxFrame || DEFAULT_MAX_FRAME, MAX_MAX_FRAME);
            welcome(f.msg.value);
          } else {
            this.onFrame(f);
          }
        }
      },
      onDatagram: (b: Uint8Array) => this.onSignal(fromBinary(SignalSchema, b)),
      onClose: (closeCode: number | undefined, reason: string) => {
        const code = closeCode ?? errorCode;
        if (!gotWelcome) refused(new ProtocolError(code ?? Code.UNAVAILABLE, errorMessage || reason || "closed before welcome"));
        this.link = undefined;
        this.linkDone?.();
      },
    };
    let link: Link | undefined;
    let lastErr: unknown;
    for (const kind of this.opts.transports) {
      try {
        if (kind === "webtransport") {
          if (!cfg.webtransport || !(globalThis as any).WebTransport) continue;
          link = await openWebTransport(cfg, handlers);
        } else {
          const u = new URL(cfg.websocket, this.opts.url);
          u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
          link = await openWebSocket(u.toString(), handlers, this.opts.WebSocket);
        }
        break;
      } catch (e) {
        lastErr = e;
      }
    }
    if (!link) throw lastErr ?? new Error("no transport available");
    this.link = link;
    this.linkGen++;
    this.transport = link.kind;
    link.send(encodeFrame(toBinary(HelloSchema, create(HelloSchema, { token, client: "switchboard-ts/2", device: this.opts.device ?? "" }))));
    const w = await welcomed;
    this.user = w.user;
    this.device = w.device;
    this.setState("connected");
    this.recheckCalls();
    this.connectedOnce?.resolve();
    this.connectedOnce = undefined;
    // Resume: take in what an earlier page left unsent, apply the sync from
    // the stored cursor, pull what is missing of the conversations held,
    // then resend the outbox.
    this.loadOutbox();
    await this.applySync(w.sync);
    this.flushOutbox();
  }

  private async applySync(s: SyncResult | undefined): Promise<void> {
    while (s) {
      for (const cs of s.conversations) {
        const c = this.conversation(cs.conv);
        const last = Number(cs.lastSeq);
        const held = c.highestSeq();
        this.takeSummary(c, cs);
        if (held > 0 && last > held) {
          await this.pullRange(c.id, held + 1, last, false);
        } else if (cs.lastMessage && cs.lastMessage.seq > 0n) {
          c.insert(chatMessage(cs.lastMessage, this.user), this.user);
        }
        c.refreshStates(this.user);
        this.emit("conversation", c);
      }
      this.syncCursor = s.cursor > this.syncCursor ? s.cursor : this.syncCursor;
      this.armAcks();
      if (!s.more) break;
      const r = await this.request({ case: "sync", value: { cursor: s.cursor, limit: 0 } });
      s = r.result.case === "sync" ? r.result.value : undefined;
    }
  }

  /** takeSummary applies a server's summary of c: its counts, cursors and this user's flags. */
  private takeSummary(c: Conversation, cs: ConvSummary): void {
    c.applySummary(Number(cs.lastSeq), Number(cs.readSeq), Number(cs.unread), Number(cs.unreadMentions), this.user);
    c.peerReadSeq = Math.max(c.peerReadSeq, Number(cs.peerReadSeq));
    c.pinned = cs.pinned;
    this.setMuted(c, cs.muted, Number(cs.mutedUntilMs));
    c.markedUnread = cs.markedUnread;
    this.setArchived(c, cs.archived, Number(cs.archivedUntilMs)); // after the mark: a snooze ended by this clock marks it
    c.labels = [...cs.labels];
    c.setInfo(Number(cs.lastSeq), { title: cs.title, pictureId: cs.pictureId, frozen: frozenOf(cs.frozen), meta: cs.meta });
    c.member = cs.member;
    c.cleared(Number(cs.clearedSeq));
    this.takeHidden(c, cs.hiddenSeqs);
  }

  /**
   * takeHidden applies this user's whole hidden set of c, as a summary or
   * a membership push tells it: the messages hidden go, and those no
   * longer listed (unhidden on another device) are fetched back, with a
   * "conversation" event once they are.
   */
  private takeHidden(c: Conversation, seqs: bigint[]): void {
    const shown = c.hidden(seqs.map(Number));
    if (shown.length) this.fetchShown(c, shown).catch(() => {});
  }

  /**
   * fetchShown fetches the messages at seqs of c again, one history
   * request each (shown again after a hide); the edits, reactions and
   * votes held for them apply as they come.
   */
  private async fetchShown(c: Conversation, seqs: number[]): Promise<void> {
    for (const seq of seqs) await this.pullRange(c.id, seq, seq, false);
    c.refreshStates(this.user);
    this.emit("conversation", c);
  }

  /**
   * listConversations asks the server for a page of this user's main list
   * (pinned first, then by last activity), or with archived the archived
   * list, and applies what it says to the conversations held: flags set on
   * another device show here. after: the last id of the previous page;
   * label: only the conversations this user labelled so (label); topic:
   * only the direct conversations about it (a seller's chats with every
   * buyer of one listing: send({ to, topic })).
   */
  async listConversations(opts: { archived?: boolean; after?: string; limit?: number; label?: string; topic?: string } = {}): Promise<Conversation[]> {
    const r = await this.request({
      case: "listConversations",
      value: { afterConv: opts.after ?? "", limit: opts.limit ?? 0, archived: opts.archived ?? false, label: opts.label ?? "", topic: opts.topic ?? "" },
    });
    if (r.result.case !== "listConversations") throw new Error("listConversations: unexpected answer");
    return r.result.value.conversations.map((cs) => {
      const c = this.conversation(cs.conv);
      this.takeSummary(c, cs);
      if (cs.lastMessage && cs.lastMessage.seq > 0n) c.insert(chatMessage(cs.lastMessage, this.user), this.user);
      this.emit("conversation", c);
      return c;
    });
  }

  /**
   * archive moves conv into this user's archived list (on false: back to
   * the main one). Only the list changes: its unread still count unless
   * it is muted, its messages still arrive; the next message from someone
   * else brings it back unless it is muted. Either way a snooze's end
   * goes: archived until news, or back now.
   */
  async archive(conv: string, on = true): Promise<void> {
    await this.request({ case: "archive", value: { conv, archived: on } });
    const c = this.conversation(conv);
    this.setArchived(c, on, 0);
    this.emit("conversation", c);
  }

  /**
   * snooze archives conv for this user until untilMs (Unix ms: "remind me
   * tomorrow"): then it is back in the main list by itself, on every
   * device, marked unread until this user reads it
   * (Conversation.archivedUntilMs, archivedAt; the node sends nothing at
   * the end: the client emits "conversation" then). News from someone else
   * ends it earlier; archive(conv, false) at once. untilMs must be in the
   * future, at most the node's --max-snooze-for (a year) ahead, else
   * INVALID.
   */
  async snooze(conv: string, untilMs: number): Promise<void> {
    if (!conv) throw new Error("snooze: the conversation");
    if (!Number.isSafeInteger(untilMs) || untilMs <= Date.now()) throw new Error("snooze: untilMs is a time to come, in whole Unix ms");
    await this.request({ case: "archive", value: { conv, archived: true, untilMs: BigInt(untilMs) } });
    const c = this.conversation(conv);
    this.setArchived(c, true, untilMs);
    this.emit("conversation", c);
  }

  /**
   * setArchived takes c's archive as told (untilMs: a snooze's end, 0:
   * none) and arms the timer that ends a snooze here: c is back in the
   * main list, marked unread, as the node's summaries say from then on.
   */
  private setArchived(c: Conversation, archived: boolean, untilMs: number): void {
    c.archived = archived;
    c.archivedUntilMs = archived ? untilMs : 0;
    this.endAt(this.snoozeTimers, c, c.archivedUntilMs, () => {
      // News (countNew) or a read may have ended it meanwhile: nothing to end then.
      if (!c.archived || c.archivedUntilMs !== untilMs) return false;
      c.archived = false;
      c.archivedUntilMs = 0;
      c.markedUnread = true;
      return true;
    });
  }

  /**
   * markUnread marks conv unread for this user (on false: takes the mark
   * away), to come back to it: Conversation.markedUnread. The unread count
   * and the read cursor stay as they are; this user's next read of conv
   * (markRead on any device, or a message of its own) clears the mark.
   */
  async markUnread(conv: string, on = true): Promise<void> {
    await this.request({ case: "markUnread", value: { conv, marked: on } });
    const c = this.conversation(conv);
    c.markedUnread = on;
    this.emit("conversation", c);
  }

  /**
   * label changes this user's own labels of conv ("new customer", "paid",
   * "to ship": how a seller sorts their chats; nobody else sees them):
   * remove first, then add. The node trims each label and takes 1 to its
   * --max-label-bytes (32) of text without control characters (else
   * INVALID), at most --max-conv-labels (10) on conv (else TOO_MANY,
   * nothing changed); removing a label conv does not carry does nothing. It
   * resolves to conv's labels after, ascending (Conversation.labels);
   * every device of this user gets them (a flags push), and
   * listConversations({label}) lists the conversations carrying one.
   */
  async label(conv: string, opts: { add?: string[]; remove?: string[] }): Promise<string[]> {
    const add = opts?.add ?? [], remove = opts?.remove ?? [];
    if (!conv) throw new Error("label: the conversation");
    if (add.length === 0 && remove.length === 0) throw new Error("label: labels to add or remove");
    const r = await this.request({ case: "label", value: { conv, add, remove } });
    if (r.result.case !== "label") throw new Error("label: unexpected answer");
    const c = this.conversation(conv);
    c.labels = [...r.result.value.labels];
    this.emit("conversation", c);
    return [...c.labels];
  }

  /**
   * mute mutes conv for this user alone (on false: unmutes); answers the
   * new total unread. forMs: the mute ends by itself after that long, on
   * every device ("mute for 8 hours": Conversation.mutedUntilMs; at most
   * the node's --max-mute-for, a year by default, else INVALID); 0 or
   * unset: until unmuted.
   */
  async mute(conv: string, on = true, opts: { forMs?: number } = {}): Promise<number> {
    const forMs = opts.forMs ?? 0;
    if (!Number.isSafeInteger(forMs) || forMs < 0) throw new Error("mute: forMs is a whole number of ms, 0 for until unmuted");
    if (forMs > 0 && !on) throw new Error("mute: an unmute has no forMs");
    const r = await this.request({ case: "mute", value: { conv, muted: on, forMs: BigInt(forMs) } });
    if (r.result.case !== "mute") throw new Error("mute: unexpected answer");
    const c = this.conversation(conv);
    this.setMuted(c, on, forMs > 0 ? Date.now() + forMs : 0);
    this.emit("conversation", c);
    return Number(r.result.value.totalUnread);
  }

  /**
   * setMuted takes c's mute as told (untilMs: its end, 0: none), and arms
   * the timer that ends a mute for a while here when its end passes (the
   * node sends nothing then): c's mute is cleared and "conversation"
   * emitted.
   */
  private setMuted(c: Conversation, muted: boolean, untilMs: number): void {
    c.muted = muted;
    c.mutedUntilMs = muted ? untilMs : 0;
    this.endAt(this.muteTimers, c, c.mutedUntilMs, () => {
      c.muted = false;
      c.mutedUntilMs = 0;
      return true;
    });
  }

  /**
   * endAt replaces c's timer in timers with one that calls end at until
   * (0: none), for a flag that ends by itself with no word from the node
   * (a timed mute, a snooze); "conversation" is emitted then if end says
   * it ended something. An end passed already (by this clock) ends now,
   * with no event: the caller's shows it.
   */
  private endAt(timers: Map<string, ReturnType<typeof setTimeout>>, c: Conversation, until: number, end: () => boolean): void {
    clearTimeout(timers.get(c.id));
    timers.delete(c.id);
    if (until === 0) return;
    if (until <= Date.now()) {
      end();
      return;
    }
    if (this.closed) return;
    const arm = () => {
      // A timer waits at most 2^31-1 ms (about 24 days): a later end is
      // looked at again then.
      const t = setTimeout(() => {
        if (until > Date.now()) return arm();
        timers.delete(c.id);
        if (end()) this.emit("conversation", c);
      }, Math.min(until - Date.now(), 0x7fffffff));
      timers.set(c.id, t);
    };
    arm();
  }

  /**
   * groupSettings reads a conversation's settings (any member); pinnedSeqs:
   * its pinned messages, in the order they were pinned; slowModeMs: a plain
   * member's interval between new messages (0: off); title and
   * description: a group's name and what it is for.
   */
  async groupSettings(conv: string): Promise<GroupSettingsView> {
    const { seq: _, ...view } = await this.changeGroupSettings(conv, {});
    return view;
  }

  /**
   * changeGroupSettings changes the settings named (owners and admins):
   * adminsOnly lets only owners and admins post new messages (members
   * still react and edit their own; a member's send then fails
   * FORBIDDEN); slowModeMs lets a plain member post a new message at most
   * once per that many ms (0: off; else 1000 to the server's
   * --max-slow-mode; a send sooner fails SLOW_MODE, not resent, with the
   * wait in retryAfterMs: slowModeWait); title renames the group (every
   * member's Conversation.title follows) and description says what it is
   * for; picture makes an upload of this user's into the group (an image:
   * upload, or setGroupPicture) its picture ("" takes it away; every
   * member's Conversation.pictureId follows); prejoinHistory is how many messages before its join a member
   * added later sees; pin / unpin (alone) pins the text or card at that
   * seq for every member to see, or takes it off (also in a direct
   * conversation, by either member, and a service one, by its agent; the
   * other settings are a group's). seq: the system message recording a
   * change of adminsOnly or slowModeMs, of the name or description, a pin
   * or an unpin (0: none).
   */
  async changeGroupSettings(
    conv: string,
    change: { prejoinHistory?: number; adminsOnly?: boolean; slowModeMs?: number; title?: string; description?: string; picture?: string; pin?: number; unpin?: number },
  ): Promise<GroupSettingsView & { seq: number }> {
    const r = await this.request({
      case: "groupSettings",
      value: {
        conv,
        prejoinHistory: change.prejoinHistory,
        adminsOnly: change.adminsOnly,
        slowModeMs: change.slowModeMs,
        title: change.title,
        description: change.description,
        picture: change.picture,
        pinSeq: BigInt(change.pin ?? 0),
        unpinSeq: BigInt(change.unpin ?? 0),
      },
    });
    if (r.result.case !== "groupSettings") throw new Error("groupSettings: unexpected answer");
    const s = r.result.value;
    return {
      prejoinHistory: s.prejoinHistory,
      adminsOnly: s.adminsOnly,
      pinnedSeqs: s.pinnedSeqs.map(Number),
      slowModeMs: s.slowModeMs,
      title: s.title,
      description: s.description,
      memberCount: s.memberCount,
      managers: s.managers.map((m) => ({ user: m.user, role: Role[m.role].toLowerCase() })),
      ...(s.picture?.id ? { picture: mediaInfo(s.picture) } : {}),
      seq: Number(s.seq),
    };
  }

  /**
   * createGroup creates a group with this user as its owner and members
   * (at most the server's --max-request-users), named title; conv: its id
   * (g:…; empty: the server picks one). admins are members made admins.
   * Returns the group's id; its name shows in every member's list.
   */
  async createGroup(title: string, members: string[], opts: { conv?: string; admins?: string[] } = {}): Promise<string> {
    const r = await this.request({
      case: "createGroup",
      value: { conv: opts.conv ?? "", title, members, kind: ConvKind.GROUP, roles: (opts.admins ?? []).map((user) => ({ user, role: Role.ADMIN })) },
    });
    if (r.result.case !== "createGroup") throw new Error("create_group: unexpected answer");
    return r.result.value.conv;
  }

  /** addMembers adds users to the group (owners and admins); the seq of the change's system message. */
  addMembers(conv: string, ...users: string[]): Promise<number> {
    return this.membership(conv, MembershipRequest_Op.ADD, users);
  }

  /** removeMembers removes users from the group (owners and admins; an admin not an owner). */
  removeMembers(conv: string, ...users: string[]): Promise<number> {
    return this.membership(conv, MembershipRequest_Op.REMOVE, users);
  }

  /** leave leaves the group (its last owner hands ownership over first: setRole). */
  leave(conv: string): Promise<number> {
    return this.membership(conv, MembershipRequest_Op.LEAVE, []);
  }

  /** setRole makes users "member", "admin" or "owner" (owners only). */
  setRole(conv: string, role: "member" | "admin" | "owner", ...users: string[]): Promise<number> {
    return this.membership(conv, MembershipRequest_Op.SET_ROLE, users, { member: Role.MEMBER, admin: Role.ADMIN, owner: Role.OWNER }[role]);
  }

  /** muteMembers keeps users from posting in the group (owners and admins; on false: lets them again). */
  muteMembers(conv: string, on: boolean, ...users: string[]): Promise<number> {
    return this.membership(conv, on ? MembershipRequest_Op.MUTE : MembershipRequest_Op.UNMUTE, users);
  }

  /**
   * muteMembersFor mutes users in the group for forMs ("for a day"): they
   * read but cannot post until the mute ends by itself (GroupMember.mutedUntilMs)
   * or muteMembers(conv, false) lets them; muting a muted member again
   * sets its end anew. At most the node's --max-member-mute-for (a year),
   * else INVALID.
   */
  muteMembersFor(conv: string, forMs: number, ...users: string[]): Promise<number> {
    if (!Number.isSafeInteger(forMs) || forMs <= 0) throw new Error("muteMembersFor: forMs is a positive whole number of ms");
    return this.membership(conv, MembershipRequest_Op.MUTE, users, Role.MEMBER, forMs);
  }

  /**
   * disband ends the group for every member (its owners): all leave at
   * one system message, whose seq it answers, and keep its history up to
   * there; nobody writes or joins again.
   */
  disband(conv: string): Promise<number> {
    return this.membership(conv, MembershipRequest_Op.DISBAND, []);
  }

  private async membership(conv: string, op: MembershipRequest_Op, users: string[], role = Role.MEMBER, forMs = 0): Promise<number> {
    const r = await this.request({ case: "membership", value: { conv, op, users, role, forMs: BigInt(forMs) } });
    if (r.result.case !== "membership") throw new Error("membership: unexpected answer");
    return Number(r.result.value.seq);
  }

  /** members lists every active member of the group, by user id, page after page (membersPage). */
  async members(conv: string): Promise<GroupMember[]> {
    const all: GroupMember[] = [];
    for (let after = ""; ; ) {
      const page = await this.membersPage(conv, after);
      all.push(...page.members);
      if (!page.next) return all;
      after = page.next;
    }
  }

  /**
   * membersPage reads one page of the group's active members after the user
   * after: the server reads at most limit member rows (0: its page, 1,000)
   * and leaves out those who left, so a short page may not be the last;
   * ask again from next until it is empty.
   */
  async membersPage(conv: string, after = "", limit = 0): Promise<{ members: GroupMember[]; next: string }> {
    const r = await this.request({ case: "members", value: { conv, after, limit } });
    if (r.result.case !== "members") throw new Error("members: unexpected answer");
    const v = r.result.value;
    return { members: v.members.map((m) => ({ user: m.user, role: Role[m.role].toLowerCase(), joinedSeq: Number(m.joinedSeq), muted: m.muted, mutedUntilMs: Number(m.mutedUntilMs) })), next: v.next };
  }

  /**
   * createInvite creates an invite code to the group conv (its owners and
   * admins): valid for ttlMs (0: the node's default, 7 days), for at most
   * maxUses joins (0: any number). The code is answered once (the node
   * keeps only a hash): share it; others join with joinGroup. With
   * approval, a join with it only asks (a class code the teacher checks):
   * the owners and admins get a "joinRequests" event and approve or
   * decline; maxUses then bounds the approvals.
   */
  async createInvite(conv: string, opts: { ttlMs?: number; maxUses?: number; approval?: boolean } = {}): Promise<{ code: string; id: string }> {
    const v = await this.groupInvite({ conv, create: true, ttlMs: BigInt(opts.ttlMs ?? 0), maxUses: opts.maxUses ?? 0, approval: opts.approval ?? false });
    return { code: v.code, id: v.id };
  }

  /** invites lists the group's live invites, oldest first (owners and admins). */
  async invites(conv: string): Promise<GroupInviteView[]> {
    const v = await this.groupInvite({ conv });
    return v.invites.map((i) => ({ id: i.id, by: i.by, createdMs: Number(i.createdMs), expiresMs: Number(i.expiresMs), maxUses: i.maxUses, uses: i.uses, approval: i.approval }));
  }

  /**
   * joinRequests lists the requests to join the group conv that wait for
   * its owners and admins, oldest first (theirs alone: FORBIDDEN for
   * anyone else). Read it again on a "joinRequests" event for conv.
   */
  async joinRequests(conv: string): Promise<JoinRequestView[]> {
    const v = await this.groupInvite({ conv });
    return v.requests.map((q) => ({ user: q.user, name: q.name, atMs: Number(q.atMs), invite: q.invite, expiresMs: Number(q.expiresMs), note: q.note }));
  }

  /**
   * approveJoin admits users, who asked to join conv, as members (owners
   * and admins): the seq of the system message recording it (0: they
   * were members already). A user without a waiting request: NOT_FOUND.
   */
  approveJoin(conv: string, ...users: string[]): Promise<number> {
    return this.membership(conv, MembershipRequest_Op.APPROVE, users);
  }

  /** declineJoin drops the requests of users to join conv; they are not told. */
  async declineJoin(conv: string, ...users: string[]): Promise<void> {
    await this.membership(conv, MembershipRequest_Op.DECLINE, users);
  }

  /** revokeInvite ends an invite: its code no longer lets anyone join. */
  async revokeInvite(conv: string, id: string): Promise<void> {
    await this.groupInvite({ conv, revoke: id });
  }

  private async groupInvite(value: { conv: string; create?: boolean; ttlMs?: bigint; maxUses?: number; revoke?: string; approval?: boolean }) {
    const r = await this.request({ case: "groupInvite", value });
    if (r.result.case !== "groupInvite") throw new Error("group_invite: unexpected answer");
    return r.result.value;
  }

  /**
   * joinGroup joins the group an invite code names, as a member; already:
   * the user was a member. pending: the invite needs approval, and the
   * request waits for the group's owners and admins; once approved the
   * group arrives as after any add (a "conversation" event). NOT_FOUND:
   * the code is unknown, revoked, expired or used up; FORBIDDEN: the
   * group's managers removed the user; TOO_MANY: too many requests wait.
   * note goes with a request for approval to the managers ("I'm Sam's
   * father", JoinRequestView.note; at most the node's 200 bytes of text
   * by default, else TOO_LARGE; a control character but a line break or a
   * tab: INVALID); asking again replaces it, a join with no approval
   * ignores it.
   */
  async joinGroup(code: string, note = ""): Promise<{ conv: string; already: boolean; pending: boolean }> {
    const r = await this.request({ case: "joinGroup", value: { code, note } });
    if (r.result.case !== "joinGroup") throw new Error("join_group: unexpected answer");
    return { conv: r.result.value.conv, already: r.result.value.already, pending: r.result.value.pending };
  }

  /** pin pins conv for this user (on false: unpins). */
  async pin(conv: string, on = true): Promise<void> {
    await this.request({ case: "pin", value: { conv, pinned: on } });
    const c = this.conversation(conv);
    c.pinned = on;
    this.emit("conversation", c);
  }

  /** pullRange fetches messages from..to (inclusive) of conv; live: a gap under a push, which no summary covered. */
  private async pullRange(conv: string, from: number, to: number, live: boolean): Promise<void> {
    let next = from;
    while (next <= to) {
      const r = await this.request({ case: "history", value: { conv, fromSeq: BigInt(next), toSeq: BigInt(to), oldestFirst: true, limit: 200 } });
      if (r.result.case !== "history" || r.result.value.messages.length === 0) return;
      const c = this.conversation(conv);
      for (const m of r.result.value.messages) {
        this.insertMessage(c, m, live);
        next = Math.max(next, Number(m.seq) + 1);
      }
    }
  }

  /** store inserts a stored message; one of the outbox leaves the persisted outbox. */
  private store(c: Conversation, cm: ChatMessage): boolean {
    const pending = c.pending.length;
    const fresh = c.insert(cm, this.user);
    if (c.pending.length !== pending && this.opts.outbox) forgetMessage(this.opts.outbox, this.user, cm.clientMsgId);
    return fresh;
  }

  /** loadOutbox queues the messages a persisted outbox holds for this user and this client lacks. */
  private loadOutbox(): void {
    const s = this.opts.outbox;
    if (!s) return;
    const known = new Set<string>();
    for (const c of this.conversations.values()) {
      for (const m of c.pending) known.add(m.clientMsgId);
      for (const m of c.messages) if (m.sender === this.user) known.add(m.clientMsgId);
    }
    for (const e of loadMessages(s, this.user)) {
      if (known.has(e.clientMsgId)) continue;
      const m: ChatMessage = { conv: e.conv, seq: 0, clientMsgId: e.clientMsgId, sender: this.user, body: e.body, kind: e.kind, recalled: false, serverTsMs: 0, state: "sending" };
      if (e.kind === "card") m.card = parseCard(e.body);
      if (e.kind === "poll") m.poll = pollStateOf(e.body);
      if (e.replyTo) m.replyTo = e.replyTo;
      if (e.mentions?.length) m.mentions = [...e.mentions];
      if (e.mentionAll) m.mentionAll = true;
      if (e.media) m.media = { ...e.media };
      if (e.location) m.location = { ...e.location };
      if (e.meta) m.meta = { ...e.meta };
      if (e.forward) {
        m.forwarded = true;
        (m as any).forward = { ...e.forward };
      }
      (m as any).to = e.to;
      const c = this.conversation(e.conv);
      c.pending.push(m);
      this.emit("conversation", c);
      this.pipeline(e.conv).add(m);
    }
  }

  private insertMessage(c: Conversation, m: Message, live = false): void {
    const cm = chatMessage(m, this.user);
    const fresh = this.store(c, cm);
    if (fresh) c.countNew(cm, live, this.user);
    if (fresh && cm.card) {
      const target = cm.refSeq ? c.messages.find((x) => x.seq === cm.refSeq) : cm;
      if (target && target.card && (!cm.refSeq || target.cardUpdateSeq === cm.seq)) this.emit("card", c.id, target.seq, target.card, !!cm.refSeq);
    }
    if (m.kind === MessageKind.RECALL) {
      const target = c.messages.find((x) => x.seq === Number(m.refSeq));
      if (target) {
        target.recalled = true;
        delete target.location; // the place and the app's data go with the text
        delete target.meta;
      }
    }
  }

  private onFrame(f: ServerFrame): void {
    switch (f.msg.case) {
      case "response": {
        const p = this.pending.get(f.msg.value.id);
        if (p) {
          this.pending.delete(f.msg.value.id);
          clearTimeout(p.timer);
          p.resolve(f.msg.value);
        }
        return;
      }
      case "push": {
        const p = f.msg.value;
        if (p.inboxSeq > 0n) {
          this.acks.push(p.inboxSeq);
          this.armAcks();
        }
        const ev = p.event;
        if (ev.case === "message") {
          const c = this.conversation(ev.value.conv);
          const held = c.highestSeq();
          this.insertMessage(c, ev.value, true);
          // A gap (pushes dropped on a resync, or a message of before the
          // connect): pull it.
          if (held > 0 && Number(ev.value.seq) > held + 1) void this.pullRange(c.id, held + 1, Number(ev.value.seq) - 1, true).then(() => this.emit("conversation", c), () => {});
          c.refreshStates(this.user);
          this.emit("conversation", c);
        } else if (ev.case === "read") {
          const c = this.conversation(ev.value.conv);
          c.readSeq = Number(ev.value.readSeq);
          c.unread = Number(ev.value.unread);
          c.unreadMentions = Number(ev.value.unreadMentions);
          this.emit("conversation", c);
        } else if (ev.case === "flags") {
          // This user's own flags, changed on this device or another.
          const c = this.conversation(ev.value.conv);
          c.pinned = ev.value.pinned;
          this.setMuted(c, ev.value.muted, Number(ev.value.mutedUntilMs));
          c.markedUnread = ev.value.markedUnread;
          this.setArchived(c, ev.value.archived, Number(ev.value.archivedUntilMs));
          c.labels = [...ev.value.labels];
          this.emit("conversation", c);
        } else if (ev.case === "lists") {
          // One of this user's own lists changed, on this device or another,
          // or the requests to join a group they manage: who shows it reads
          // it again. A list not known here is ignored.
          if (ev.value.list === ListsUpdate_List.STARRED) this.emit("starred");
          else if (ev.value.list === ListsUpdate_List.SCHEDULED) this.emit("scheduled");
          else if (ev.value.list === ListsUpdate_List.DRAFTS) this.emit("drafts");
          else if (ev.value.list === ListsUpdate_List.PROFILE) this.emit("profile");
          else if (ev.value.list === ListsUpdate_List.AWAY) this.emit("away");
          else if (ev.value.list === ListsUpdate_List.QUIET_HOURS) this.emit("quietHours");
          else if (ev.value.list === ListsUpdate_List.JOIN_REQUESTS) this.emit("joinRequests", ev.value.conv);
          else if (ev.value.list === ListsUpdate_List.REMINDER) this.emit("reminder", ev.value.conv, Number(ev.value.seq));
        } else if (ev.case === "membership") {
          // Joined, left, the group renamed, or the conversation frozen.
          const c = this.conversation(ev.value.conv);
          c.setInfo(Number(ev.value.lastSeq), { title: ev.value.title, pictureId: ev.value.pictureId, frozen: frozenOf(ev.value.frozen), meta: ev.value.meta });
          c.member = (ev.value.member?.leftSeq ?? 0n) === 0n;
          c.cleared(Number(ev.value.clearedSeq));
          this.takeHidden(c, ev.value.hiddenSeqs); // a hide or unhide on any device of this user
          this.emit("conversation", c);
        } else if (ev.case === "receipt") {
          const c = this.conversation(ev.value.conv);
          c.peerReadSeq = Math.max(c.peerReadSeq, Number(ev.value.seq));
          c.refreshStates(this.user);
          this.emit("conversation", c);
        }
        return;
      }
      case "signal":
        this.onSignal(f.msg.value);
        return;
      case "resync":
        void this.request({ case: "sync", value: { cursor: f.msg.value.cursor, limit: 0 } }).then(
          (r) => (r.result.case === "sync" ? this.applySync(r.result.value) : undefined),
          () => {},
        );
        return;
      case "goAway":
        // Reconnect after a random part of the window the server gave.
        setTimeout(() => this.link?.close(), Math.random() * (f.msg.value.reconnectWithinMs || 1000));
        return;
      case "error":
        this.emit("error", f.msg.value.code, f.msg.value.message);
        if (endsForGood(f.msg.value.code)) this.endedForGood = new ProtocolError(f.msg.value.code, f.msg.value.message);
        // The server ends the connection after this frame and waits for
        // us to close first (docs/PROTOCOL.md §9): close now, so neither
        // side waits out its linger before the reconnect.
        this.link?.close(f.msg.value.code);
        return;
    }
  }

  private onSignal(s: { kind: Signal_Kind; conv: string; user: string; seq: bigint; waitMs: bigint; call?: Parameters<typeof callEventView>[0] }): void {
    if (s.kind === Signal_Kind.CALL) {
      const e = callEventView(s.call);
      if (!e) return;
      if (e.step === "ended") this.stopCallAlive(e.call.conv, e.call.id);
      this.emit("call", e);
    } else if (s.kind === Signal_Kind.QUEUE_POSITION) {
      this.emit("queuePosition", s.conv, Number(s.seq), Number(s.waitMs));
    } else if (s.kind === Signal_Kind.DESK_NOTE) {
      this.emit("deskNote", s.conv, s.user, Number(s.seq));
    } else if (s.kind === Signal_Kind.DESK_AGENT) {
      this.emit("deskAgent", s.user);
    } else if (s.kind === Signal_Kind.DELIVERED) {
      const c = this.conversation(s.conv);
      c.peerDeliveredSeq = Math.max(c.peerDeliveredSeq, Number(s.seq));
      c.refreshStates(this.user);
      this.emit("conversation", c);
    } else {
      this.emit("typing", s.conv, s.user, s.kind === Signal_Kind.TYPING);
    }
  }

  /**
   * armAcks sends the pending acks ackIntervalMs from now, unless a
   * request takes them along first (ridingAcks): no timer runs while none
   * wait, so an idle client does not wake.
   */
  private armAcks(): void {
    if (this.ackTimer !== undefined || this.closed) return;
    this.ackTimer = setTimeout(() => {
      this.ackTimer = undefined;
      this.flushAcks();
    }, this.opts.ackIntervalMs);
  }

  /** flushAcks sends the pending acks; while disconnected they wait for the sync after the reconnect, which arms the timer again. */
  private flushAcks(): void {
    if (!this.link || this.state !== "connected") return;
    if (this.acks.length === 0 && this.syncCursor === 0n) return;
    const seqs = this.acks;
    const cursor = this.syncCursor;
    this.acks = [];
    this.syncCursor = 0n;
    this.request({ case: "ack", value: { inboxSeqs: seqs, syncCursor: cursor } }).catch(() => {
      this.acks.push(...seqs);
      if (cursor > this.syncCursor) this.syncCursor = cursor;
      this.armAcks();
    });
  }

  private failPending(e: Error): void {
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(e);
    }
    this.pending.clear();
  }

  /** request sends one operation and resolves with the server's answer (rejecting on an error answer). */
  request(op: MessageInitShape<typeof RequestSchema>["op"]): Promise<Response> {
    const link = this.link;
    if (!link) return Promise.reject(new Error("not connected"));
    const id = BigInt(this.nextId++);
    const req = create(RequestSchema, { id, op } as any);
    const payload = toBinary(RequestSchema, req);
    // The node would end the connection over a larger frame, and a send
    // resent after the reconnect would end it again: refuse it here.
    if (payload.length > this.maxFrame) {
      return Promise.reject(new ProtocolError(Code.TOO_LARGE, `request of ${payload.length} bytes, over the node's frame of ${this.maxFrame}`));
    }
    return new Promise<Response>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ProtocolError(Code.TIMEOUT, "no answer in time"));
      }, this.opts.requestTimeoutMs);
      this.pending.set(id, {
        resolve: (r) => (r.error && r.error.code !== Code.OK ? reject(new ProtocolError(r.error.code, r.error.message, r.error.retryAfterMs)) : resolve(r)),
        reject,
        timer,
      });
      // Pending acks ride along: one write (one packet) for both.
      const frame = encodeFrame(payload);
      const acks = op?.case === "ack" ? undefined : this.ridingAcks();
      link.send(acks ? concat(acks, frame) : frame);
    });
  }

  /**
   * ridingAcks turns the pending acknowledgements into an ack request to
   * write with another request, or undefined when none wait (a large
   * backlog goes with the timer). Nobody waits on its answer: a failed
   * ack is queued again.
   */
  private ridingAcks(): Uint8Array | undefined {
    if ((this.acks.length === 0 && this.syncCursor === 0n) || this.acks.length > MAX_RIDING_ACKS) return undefined;
    const seqs = this.acks;
    const cursor = this.syncCursor;
    this.acks = [];
    this.syncCursor = 0n;
    const id = BigInt(this.nextId++);
    const requeue = () => {
      this.acks.push(...seqs);
      if (cursor > this.syncCursor) this.syncCursor = cursor;
      this.armAcks();
    };
    const timer = setTimeout(() => {
      this.pending.delete(id);
      requeue();
    }, this.opts.requestTimeoutMs);
    this.pending.set(id, { resolve: (r) => (r.error && r.error.code !== Code.OK ? requeue() : undefined), reject: requeue, timer });
    return encodeFrame(toBinary(RequestSchema, create(RequestSchema, { id, op: { case: "ack", value: { inboxSeqs: seqs, syncCursor: cursor } } } as any)));
  }

  /**
   * send queues a text message (to a conversation, or {to: user} for the
   * direct conversation) and returns it in state "sending"; it becomes
   * "sent" once durable. A conversation's sends go in order through its
   * pipeline (pipeline.ts): a transient refusal or a lost connection is
   * resent with the same client message id, after a backoff and the
   * node's retry-after, before anything queued behind it.
   */
  send(target: Target, text: string, opts: { meta?: Record<string, string> } = {}): ChatMessage {
    return this.queue(target, text, "normal", 0, [], undefined, undefined, undefined, opts.meta);
  }

  /**
   * sendLocation queues a message sharing a place (a meeting point, a
   * shop: WGS 84 degrees and an optional name) with caption as its text,
   * which may be empty, like send. The node refuses a latitude past ±90,
   * a longitude past ±180 or a name over its --max-location-name-bytes
   * (INVALID: the message fails). opts.meta is the app's own data about
   * it, as send's.
   */
  sendLocation(target: Target, place: LocationInfo, caption = "", opts: { meta?: Record<string, string> } = {}): ChatMessage {
    if (!Number.isFinite(place.lat) || !Number.isFinite(place.lng)) throw new Error("sendLocation: lat and lng are numbers (degrees)");
    const at: LocationInfo = { lat: place.lat, lng: place.lng };
    if (place.name) at.name = place.name;
    if (place.liveUntilMs) at.liveUntilMs = place.liveUntilMs; // a live share (moveLocation)
    return this.queue(target, caption, "normal", 0, [], undefined, undefined, at, opts.meta);
  }

  /**
   * moveLocation moves this user's live location at seq of conv (one sent
   * with liveUntilMs) to lat, lng, until its share ends (EDIT_EXPIRED
   * after); with stop, it ends the share there now. The conversation shows
   * the newest place (its location, moveSeq); a move counts as no unread
   * and notifies nobody. It needs the connection: it is not kept in the
   * outbox (the next move replaces it).
   */
  async moveLocation(conv: string, seq: number, lat: number, lng: number, stop = false): Promise<void> {
    if (!Number.isSafeInteger(seq) || seq <= 0) throw new Error("moveLocation: the seq of the live location");
    if (!Number.isFinite(lat) || !Number.isFinite(lng)) throw new Error("moveLocation: lat and lng are numbers (degrees)");
    const name = this.conversations.get(conv)?.messages.find((m) => m.seq === seq)?.location?.name ?? "";
    await this.request({
      case: "send",
      value: {
        conv,
        clientMsgId: (globalThis.crypto as Crypto).randomUUID(),
        clientTsMs: BigInt(Date.now()),
        refSeq: BigInt(seq),
        location: { lat, lng, name, liveUntilMs: stop ? 1n : 0n },
      },
    });
  }

  /**
   * reply queues a text message that answers the message at seq of conv
   * (one the user can see; NOT_FOUND otherwise), like send; its replyTo
   * names the seq, for a client to show that message quoted above it.
   */
  reply(conv: string, seq: number, text: string): ChatMessage {
    if (!Number.isSafeInteger(seq) || seq <= 0) throw new Error("reply: the seq of the message it answers");
    return this.queue(conv, text, "normal", seq);
  }

  /**
   * mention queues a text message to conv that mentions members of it
   * (@user), like send: each a current member other than the user, each
   * once, at most the node's --max-mentions (INVALID otherwise). A
   * mentioned member is notified even where they muted the conversation.
   */
  mention(conv: string, users: string[], text: string): ChatMessage {
    if (users.length === 0) throw new Error("mention: name the members");
    return this.queue(conv, text, "normal", 0, users);
  }

  /**
   * mentionAll queues a text message to group conv that mentions every
   * member but this user ("@all": no class tomorrow), like send: each
   * counts it in their unreadMentions and is notified even where they
   * muted the group. Only the group's owners and admins may (the message
   * fails FORBIDDEN otherwise); a direct or service conversation: INVALID.
   */
  mentionAll(conv: string, text: string): ChatMessage {
    return this.queue(conv, text, "normal", 0, "all");
  }

  /**
   * sendCard queues a business card (docs/PROTOCOL.md, "Cards") like send;
   * the server checks it (a malformed card fails with INVALID). opts.meta
   * is the app's own data about it (an offer's id), as send's.
   */
  sendCard(target: Target, card: Card, opts: { meta?: Record<string, string> } = {}): ChatMessage {
    const m = this.queue(target, JSON.stringify(card), "card", 0, [], undefined, undefined, undefined, opts.meta);
    m.card = card;
    return m;
  }

  /**
   * sendPoll queues a poll (docs/PROTOCOL.md, "Polls") like send; the
   * server checks it (fewer than two options, or more than its
   * --max-poll-options: INVALID). Members' votes show in the message's
   * poll as they arrive. opts.meta is the app's own data about it (the
   * event it schedules), as send's.
   */
  sendPoll(target: Target, poll: Poll, opts: { meta?: Record<string, string> } = {}): ChatMessage {
    const body = pollBody(poll);
    const m = this.queue(target, body, "poll", 0, [], undefined, undefined, undefined, opts.meta);
    m.poll = pollStateOf(body);
    return m;
  }

  /**
   * vote chooses options (their indexes) of the poll at seq of conv,
   * replacing this user's vote before; no options takes it back. A closed
   * poll fails with POLL_CLOSED. The vote arrives like a message (kind
   * "vote") and shows in the poll's state.
   */
  async vote(conv: string, seq: number, options: number[]): Promise<void> {
    const r = await this.sendAbout(conv, seq, MessageKind.VOTE, options.length ? JSON.stringify(options) : "");
    // An anonymous poll: the vote is pushed under this user's alias in it.
    const alias = r.result.case === "send" ? r.result.value.voterAlias : "";
    if (alias && this.conversation(conv).myAlias(seq, alias)) this.emit("conversation", this.conversation(conv));
  }

  /** closePoll closes the poll at seq of conv (its author, or a group's owners and admins). */
  async closePoll(conv: string, seq: number): Promise<void> {
    await this.sendAbout(conv, seq, MessageKind.POLL, "");
  }

  /**
   * pollResults asks the node for its tally of the poll at seq of conv,
   * with up to votersLimit voters listed per option (0: counts only).
   */
  async pollResults(conv: string, seq: number, votersLimit = 0): Promise<PollResults> {
    const r = await this.request({ case: "pollResults", value: { conv, seq: BigInt(seq), votersLimit } });
    if (r.result.case !== "pollResults") throw new Error("poll_results: unexpected answer");
    const v = r.result.value;
    return {
      question: v.question,
      multiple: v.multiple,
      closed: v.closed,
      voters: v.voters,
      mine: [...v.mine],
      throughSeq: Number(v.throughSeq),
      closesAtMs: Number(v.closesAtMs),
      options: v.options.map((o) => ({ text: o.text, votes: o.votes, voters: [...o.voters] })),
      quiz: v.quiz,
      anonymous: v.anonymous,
      ...(v.correct !== undefined ? { correct: v.correct, explanation: v.explanation } : {}),
    };
  }

  // queue queues a send. mentions: the members it names, or "all" for
  // every member (mentionAll). With forward (Client.forward) it is a copy
  // of that message: text and media are then only what it shows while
  // pending, as the node sends its own copy.
  private queue(
    target: Target,
    text: string,
    kind: "normal" | "card" | "poll",
    replyTo = 0,
    mentions: string[] | "all" = [],
    media?: MediaInfo,
    forward?: { conv: string; seq: number },
    location?: LocationInfo,
    meta?: Record<string, string>,
  ): ChatMessage {
    const to = typeof target === "string" ? "" : target.to;
    const convId = typeof target === "string" ? target : directConv(this.user, to, target.topic);
    const m: ChatMessage = {
      conv: convId,
      seq: 0,
      clientMsgId: (globalThis.crypto as Crypto).randomUUID(),
      sender: this.user,
      body: text,
      kind,
      recalled: false,
      serverTsMs: 0,
      state: "sending",
    };
    if (replyTo) m.replyTo = replyTo;
    if (mentions === "all") m.mentionAll = true;
    else if (mentions.length) m.mentions = [...mentions];
    if (media) m.media = { ...media };
    if (location) m.location = { ...location };
    if (meta && Object.keys(meta).length > 0) m.meta = { ...meta };
    if (forward) {
      m.forwarded = true;
      (m as any).forward = forward;
    }
    (m as any).to = to;
    const c = this.conversation(convId);
    c.pending.push(m);
    if (this.opts.outbox && this.user) saveMessage(this.opts.outbox, this.user, { conv: convId, to, clientMsgId: m.clientMsgId, body: text, kind, at: queuedAt(), replyTo: m.replyTo, mentions: m.mentions, mentionAll: m.mentionAll, media: m.media, location: m.location, meta: m.meta, forward });
    this.emit("conversation", c);
    this.pipeline(convId).add(m);
    return m;
  }

  // transmit writes m's send (the pipeline decides when), naming after.
  private transmit(m: ChatMessage, after: string): Promise<Response> {
    const to = (m as any).to as string;
    const forward = (m as any).forward as { conv: string; seq: number } | undefined;
    if (forward) {
      // The node copies the message itself: the body and media shown
      // while pending are not sent (a forward carrying either is INVALID).
      return this.request({
        case: "send",
        value: { conv: to ? "" : m.conv, to, topic: to ? directTopic(m.conv) : "", clientMsgId: m.clientMsgId, clientTsMs: BigInt(Date.now()), afterClientMsgId: after, forwardConv: forward.conv, forwardSeq: BigInt(forward.seq) },
      });
    }
    return this.request({
      case: "send",
      value: {
        conv: to ? "" : m.conv,
        to,
        // The conversation's id was made with the topic (queue).
        topic: to ? directTopic(m.conv) : "",
        clientMsgId: m.clientMsgId,
        body: new TextEncoder().encode(m.body),
        clientTsMs: BigInt(Date.now()),
        kind: m.kind === "card" ? MessageKind.CARD : m.kind === "poll" ? MessageKind.POLL : MessageKind.NORMAL,
        afterClientMsgId: after,
        replyTo: BigInt(m.replyTo ?? 0),
        mentions: m.mentions ?? [],
        mentionAll: m.mentionAll ?? false,
        mediaId: m.media?.id ?? "",
        location: m.location ? { lat: m.location.lat, lng: m.location.lng, name: m.location.name ?? "", liveUntilMs: BigInt(m.location.liveUntilMs ?? 0) } : undefined,
        meta: m.meta ?? {},
      },
    });
  }

  // sent stores m once the node answered its send.
  private sent(m: ChatMessage, r: Response): void {
    if (r.result.case !== "send") return;
    const c = this.conversation(r.result.value.conv);
    if (c.id !== m.conv) {
      const old = this.conversation(m.conv);
      const i = old.pending.indexOf(m);
      if (i >= 0) old.pending.splice(i, 1);
      c.pending.push(m);
    }
    const stored: ChatMessage = { ...m, conv: c.id, seq: Number(r.result.value.seq), serverTsMs: Number(r.result.value.serverTsMs), state: "sent" };
    // The node masked contact details, or copied a forward's text: show
    // what the others see.
    if (r.result.value.storedBody.length > 0) stored.body = new TextDecoder().decode(r.result.value.storedBody);
    // A forward's file, as the node copied it into this conversation.
    if (r.result.value.media?.id) stored.media = mediaInfo(r.result.value.media);
    if (r.result.value.location) stored.location = locationInfo(r.result.value.location);
    // A disappearing message: the sender's copy goes at its end too.
    if (r.result.value.expiresAtMs > 0n) stored.expiresAtMs = Number(r.result.value.expiresAtMs);
    this.store(c, stored);
    if (isNews(stored)) c.markedUnread = false; // sending news reads, as on the server
    c.refreshStates(this.user);
    this.emit("conversation", c);
  }

  // failed marks m refused for good: it is not sent again.
  private failed(m: ChatMessage, e: Error): void {
    m.state = "failed";
    m.error = e.message;
    if (e instanceof ProtocolError) {
      m.errorCode = e.code;
      if (e.retryAfterMs > 0) m.retryAfterMs = e.retryAfterMs;
    }
    if (this.opts.outbox) forgetMessage(this.opts.outbox, this.user, m.clientMsgId);
    this.emit("conversation", this.conversation(m.conv));
  }

  // flushOutbox writes what waited for the connection.
  private flushOutbox(): void {
    for (const p of this.pipelines.values()) p.pump();
  }

  async history(conv: string, fromSeq = 0, limit = 50): Promise<void> {
    const r = await this.request({ case: "history", value: { conv, fromSeq: BigInt(fromSeq), toSeq: 0n, oldestFirst: fromSeq > 0, limit } });
    if (r.result.case !== "history") return;
    const c = this.conversation(conv);
    for (const m of r.result.value.messages) this.insertMessage(c, m);
    c.refreshStates(this.user);
    this.emit("conversation", c);
  }

  /**
   * search finds, newest first, the messages of conv this user can read
   * whose text (or file name) holds query, ignoring case, reading back
   * from before (0: the latest). It resolves to the matches (an edit as
   * itself: refSeq names the message it changed) and next, the seq to pass
   * as before to go on (0: the start was reached). A page may hold fewer
   * matches than limit, even none, with next set: the node reads a bounded
   * number of messages per request. Filters (SearchFilters) narrow it;
   * with one, query may be empty: every message that passes, never an
   * edit, each with its newest edit's text.
   */
  async search(conv: string, query: string, opts: { before?: number; limit?: number } & SearchFilters = {}): Promise<{ messages: ChatMessage[]; next: number }> {
    const v = await this.find("search", conv, query, opts, opts.before ?? 0, opts.limit ?? 0);
    return { messages: v.messages.map((m) => chatMessage(m, this.user)), next: Number(v.nextBeforeSeq) };
  }

  /**
   * searchEverywhere is search across all this user's conversations, in
   * the order of their list (pinned, then by last activity, then the
   * archived ones), newest first within each; each match names its conv.
   * next is where to go on (pass it as from), null once the last
   * conversation was read. A thread (replyTo) is one conversation's: use
   * thread or search.
   */
  async searchEverywhere(
    query: string,
    opts: { from?: { conv: string; before: number }; limit?: number } & Omit<SearchFilters, "replyTo"> = {},
  ): Promise<{ messages: ChatMessage[]; next: { conv: string; before: number } | null }> {
    const from = opts.from ?? { conv: "", before: 0 };
    const v = await this.find("searchEverywhere", "", query, opts, from.before, opts.limit ?? 0, from.conv);
    return {
      messages: v.messages.map((m) => chatMessage(m, this.user)),
      next: v.nextConv === "" ? null : { conv: v.nextConv, before: Number(v.nextBeforeSeq) },
    };
  }

  /**
   * thread lists the replies to the message at seq of conv (those whose
   * replyTo is seq), newest first from before (0: the latest), as search
   * does: pass next as before to go on, 0 once the message was reached.
   */
  async thread(conv: string, seq: number, before = 0, limit = 0): Promise<{ messages: ChatMessage[]; next: number }> {
    if (!conv || !Number.isSafeInteger(seq) || seq <= 0) throw new Error("thread: the conversation and the seq of the message");
    return this.search(conv, "", { replyTo: seq, before, limit });
  }

  /**
   * files lists conv's shared media: its messages with a file, newest
   * first from before (0: the latest), as search does (next: pass it as
   * before to go on, 0 at the start).
   */
  async files(conv: string, before = 0, limit = 0): Promise<{ messages: ChatMessage[]; next: number }> {
    if (!conv) throw new Error("files: the conversation");
    return this.search(conv, "", { files: true, before, limit });
  }

  // find asks the node's search, refusing here what it would answer
  // INVALID: a replyTo that is no seq, a thread without its conversation
  // (conv "" searches them all), no words and no filter.
  private async find(what: string, conv: string, query: string, f: SearchFilters, before: number, limit: number, fromConv = "") {
    if (f.replyTo !== undefined && (!Number.isSafeInteger(f.replyTo) || f.replyTo <= 0)) throw new Error(`${what}: replyTo is the seq of the message whose replies to list`);
    if (f.replyTo && !conv) throw new Error(`${what}: replyTo (a thread) needs its conversation`);
    if (!query && !f.sender && !f.files && !f.replyTo && !f.mentions) throw new Error(`${what}: words to look for, or a filter (sender, files, replyTo, mentions)`);
    const r = await this.request({
      case: "search",
      value: {
        conv,
        query,
        fromConv,
        beforeSeq: BigInt(before),
        limit,
        sender: f.sender ?? "",
        files: f.files ?? false,
        replyTo: BigInt(f.replyTo ?? 0),
        mentions: f.mentions ?? false,
      },
    });
    if (r.result.case !== "search") throw new Error("search: unexpected answer");
    return r.result.value;
  }

  async markRead(conv: string, seq: number): Promise<void> {
    const r = await this.request({ case: "markRead", value: { conv, seq: BigInt(seq) } });
    if (r.result.case !== "markRead") return;
    const c = this.conversation(conv);
    c.markedRead(Number(r.result.value.readSeq), this.user);
    this.emit("conversation", c);
  }

  /**
   * markAllRead reads every conversation of this user up to its last
   * message ("mark all as read"), muted and archived ones too, and clears
   * every unread mark; the conversations held here show it at once.
   * Answers how many had something to read and the total unread after
   * (0 unless news came meanwhile).
   */
  async markAllRead(): Promise<{ conversations: number; totalUnread: number }> {
    const r = await this.request({ case: "markAllRead", value: {} });
    if (r.result.case !== "markAllRead") throw new Error("mark_all_read: unexpected answer");
    for (const c of this.conversations.values()) {
      c.markedRead(c.lastSeq, this.user);
      this.emit("conversation", c);
    }
    return { conversations: r.result.value.conversations, totalUnread: Number(r.result.value.totalUnread) };
  }

  async recall(conv: string, seq: number): Promise<void> {
    await this.request({ case: "recall", value: { conv, seq: BigInt(seq) } });
  }

  /**
   * edit replaces the text of this user's message at seq of conv, within
   * the node's edit window (EDIT_EXPIRED past it). The edit arrives like a
   * message (kind "normal", refSeq = seq) and the conversation shows the
   * message with its new text and editSeq set; visible() leaves the edit
   * itself out. It needs the connection: it is not kept in the outbox.
   */
  async edit(conv: string, seq: number, text: string): Promise<void> {
    await this.sendAbout(conv, seq, MessageKind.NORMAL, text);
  }

  // sendAbout sends a message of kind that names the message at seq (an
  // edit, a reaction) straight away, outside the outbox.
  private async sendAbout(conv: string, seq: number, kind: MessageKind, body: string): Promise<Response> {
    return this.request({
      case: "send",
      value: {
        conv,
        clientMsgId: (globalThis.crypto as Crypto).randomUUID(),
        body: new TextEncoder().encode(body),
        clientTsMs: BigInt(Date.now()),
        kind,
        refSeq: BigInt(seq),
      },
    });
  }

  /**
   * react sets this user's reaction to the text or card at seq of conv (an
   * emoji; one per user and message, a new one replacing the one before),
   * or takes it back (emoji ""). It arrives like a message (kind
   * "reaction", refSeq = seq): the conversation shows it in that message's
   * reactions, and visible() leaves it out. It needs the connection: it is
   * not kept in the outbox.
   */
  async react(conv: string, seq: number, emoji: string): Promise<void> {
    await this.sendAbout(conv, seq, MessageKind.REACTION, emoji);
  }

  /**
   * clickCard clicks action of the card at seq of conv: the node asks the
   * business's card webhook and posts its answer into conv (a card update
   * or a new message, arriving like any message) before it resolves.
   */
  async clickCard(conv: string, seq: number, action: string): Promise<{ mode: string; seq: number; duplicate: boolean }> {
    const r = await this.request({ case: "cardClick", value: { conv, seq: BigInt(seq), action } });
    if (r.result.case !== "cardClick") throw new Error("card_click: unexpected answer");
    return { mode: r.result.value.mode, seq: Number(r.result.value.seq), duplicate: r.result.value.duplicate };
  }

  /**
   * registerPush stores this device's push token ("apns", "fcm" or
   * "webhook"): while none of the user's devices is connected, the node
   * notifies it of messages through its push gateway. voipToken (with
   * "apns"): the iOS app's PushKit token, by which a call rings the
   * device as a VoIP push for CallKit.
   */
  async registerPush(platform: "apns" | "fcm" | "webhook", token: string, opts: { voipToken?: string } = {}): Promise<void> {
    await this.request({ case: "registerPush", value: { platform, token, voipToken: opts.voipToken ?? "" } });
  }

  /**
   * block stops user writing to this user in their direct conversation
   * until unblock; meanwhile this user cannot write there either, neither
   * sees the other's presence through it, and user cannot put this user
   * into a group. Groups they already share are untouched. A refused send
   * fails with code MUTED (blocked) or FORBIDDEN (the blocker's own).
   */
  async block(user: string): Promise<void> {
    await this.request({ case: "block", value: { user, block: true } });
  }

  /**
   * presence tells whether user is online, or when they were last seen
   * (their last connect, acknowledgement or disconnect; undefined: never),
   * through conv, a conversation both are active members of (default:
   * their direct conversation). FORBIDDEN for a user this one shares no
   * conversation with, or when either blocked the other.
   */
  async presence(user: string, conv = ""): Promise<PresenceView> {
    const r = await this.request({ case: "presence", value: { user, conv } });
    if (r.result.case !== "presence") throw new Error("presence: unexpected answer");
    const p = r.result.value;
    const lastSeenMs = Number(p.lastSeenMs);
    return { online: p.online, devices: p.devices, lastSeen: lastSeenMs > 0 ? new Date(lastSeenMs) : undefined };
  }

  /**
   * linkPreview asks the node what the web page at url says of itself,
   * for a link's preview: a browser page cannot read another site, and
   * the node keeps what it read a while. NOT_FOUND: the page could not be
   * read or says nothing; INVALID: no http(s) link, or a node that makes
   * no previews; FORBIDDEN: an address the node does not fetch from.
   */
  async linkPreview(url: string): Promise<LinkPreviewView> {
    const r = await this.request({ case: "linkPreview", value: { url } });
    if (r.result.case !== "linkPreview") throw new Error("link_preview: unexpected answer");
    const v = r.result.value;
    return { url: v.url, title: v.title, description: v.description, imageUrl: v.imageUrl, siteName: v.siteName };
  }

  /**
   * presences tells, for each of users, what presence would (a chat
   * list's online dots), in the order asked, each user once; users this
   * one may not see (no conversation shared, a block) are left out, not
   * refused. Any number of users: they are asked PRESENCES_PER_REQUEST at
   * a time.
   */
  async presences(users: string[], conv = ""): Promise<(PresenceView & { user: string })[]> {
    const asked = [...new Set(users.filter((u) => u !== ""))];
    const out: (PresenceView & { user: string })[] = [];
    for (let i = 0; i < asked.length; i += PRESENCES_PER_REQUEST) {
      const r = await this.request({ case: "presences", value: { conv, users: asked.slice(i, i + PRESENCES_PER_REQUEST) } });
      if (r.result.case !== "presences") throw new Error("presences: unexpected answer");
      for (const p of r.result.value.users) {
        const lastSeenMs = Number(p.lastSeenMs);
        out.push({ user: p.user, online: p.online, devices: p.devices, lastSeen: lastSeenMs > 0 ? new Date(lastSeenMs) : undefined });
      }
    }
    return out;
  }

  /**
   * presenceSharing reads what this user shows others of their presence;
   * with a value it sets it first: "everyone" (the default), "online_only"
   * (whether online, never when last seen) or "nobody" (always offline to
   * others). This user's own presence keeps all of it.
   */
  async presenceSharing(set?: PresenceSharingName): Promise<PresenceSharingName> {
    const presence = set === undefined ? undefined : sharingValues[set];
    if (set !== undefined && presence === undefined) throw new Error(`presenceSharing: not one of ${Object.keys(sharingValues).join(", ")}`);
    const r = await this.request({ case: "privacy", value: { presence } });
    if (r.result.case !== "privacy") throw new Error("privacy: unexpected answer");
    const got = r.result.value.presence;
    return (Object.keys(sharingValues) as PresenceSharingName[]).find((k) => sharingValues[k] === got) ?? "everyone";
  }

  /**
   * readReceipts reads whether this user sends read receipts in direct
   * conversations (the default); with a value it sets it first. Without,
   * the other member never sees this user's messages read and, in return,
   * this user sees none of theirs; groups and service conversations are
   * not affected.
   */
  async readReceipts(send?: boolean): Promise<boolean> {
    const r = await this.request({ case: "privacy", value: send === undefined ? {} : { hideReadReceipts: !send } });
    if (r.result.case !== "privacy") throw new Error("privacy: unexpected answer");
    return !r.result.value.hideReadReceipts;
  }

  /**
   * previews reads whether this user's offline notifications (and unread
   * reminders) show what a message says (the default); with a value it
   * sets it first. Without, they say "N new messages", from whom and
   * where: for what a lock screen should not show.
   */
  async previews(show?: boolean): Promise<boolean> {
    const r = await this.request({ case: "privacy", value: show === undefined ? {} : { hidePreviews: !show } });
    if (r.result.case !== "privacy") throw new Error("privacy: unexpected answer");
    return !r.result.value.hidePreviews;
  }

  /**
   * directFrom reads who may start a direct conversation with this user
   * (write to them first); with a value it sets it first: "everyone",
   * "groups" (users who share a group with them: a pupil's classmates and
   * teachers), "nobody" (only this user starts one), or "default" (the
   * node's, everyone unless its operator chose). Conversations that exist
   * are never affected; a first message refused by it fails FORBIDDEN.
   */
  async directFrom(set?: DirectFromName): Promise<DirectFromName> {
    const directFrom = set === undefined ? undefined : directFromValues[set];
    if (set !== undefined && directFrom === undefined) throw new Error(`directFrom: not one of ${Object.keys(directFromValues).join(", ")}`);
    const r = await this.request({ case: "privacy", value: { directFrom } });
    if (r.result.case !== "privacy") throw new Error("privacy: unexpected answer");
    const got = r.result.value.directFrom;
    return (Object.keys(directFromValues) as DirectFromName[]).find((k) => directFromValues[k] === got) ?? "default";
  }

  /**
   * seqAt finds the first message of conv this user sees sent at or after
   * atMs (Unix ms; "jump to a date"): its seq and server time, or seq 0
   * when every message is older. history from that seq reads on.
   */
  async seqAt(conv: string, atMs: number): Promise<{ seq: number; serverTsMs: number }> {
    const r = await this.request({ case: "seqAt", value: { conv, atMs: BigInt(Math.max(0, Math.floor(atMs))) } });
    if (r.result.case !== "seqAt") throw new Error("seq_at: unexpected answer");
    return { seq: Number(r.result.value.seq), serverTsMs: Number(r.result.value.serverTsMs) };
  }

  /**
   * disappearing reads conv's timer for disappearing messages (ms; 0: off)
   * or, with afterMs, sets it first: every message sent after it
   * disappears afterMs after it was sent, for every member (expiresAtMs;
   * the client drops its copy's content then), and leaves the node's store.
   * Either member of a direct conversation, a group's owners and admins.
   * A timer out of the node's bounds is INVALID.
   */
  async disappearing(conv: string, afterMs?: number): Promise<number> {
    const r = await this.request({ case: "disappearing", value: { conv, afterMs: afterMs === undefined ? undefined : BigInt(Math.floor(afterMs)) } });
    if (r.result.case !== "disappearing") throw new Error("disappearing: unexpected answer");
    return Number(r.result.value.afterMs);
  }

  /** frozen reads whether conv is closed to new messages (undefined: open). */
  async frozen(conv: string): Promise<Frozen | undefined> {
    const r = await this.request({ case: "freeze", value: { conv } });
    if (r.result.case !== "freeze") throw new Error("freeze: unexpected answer");
    return frozenOf(r.result.value.frozen);
  }

  /**
   * freeze closes conv to new messages (a group's owners and admins: a
   * class after the term): nobody posts, every member still reads, and
   * every member's Conversation.frozen shows reason. unfreeze opens it
   * again. Each answers the seq of the system message recording the
   * change (0: it was so already). A send into a frozen conversation is
   * FROZEN; a reason past the node's bound TOO_LARGE. With untilMs it is
   * a cool-down: it opens by itself then (at most the node's
   * --max-freeze-for ahead).
   */
  async freeze(conv: string, reason = "", untilMs = 0): Promise<number> {
    if (!Number.isSafeInteger(untilMs) || untilMs < 0) throw new Error("freeze: untilMs is a time in Unix ms, or 0");
    return this.setFrozen(conv, true, reason, untilMs);
  }

  /** unfreeze opens conv to new messages again (freeze). */
  async unfreeze(conv: string): Promise<number> {
    return this.setFrozen(conv, false, "", 0);
  }

  /**
   * startCall rings the other member of the direct conversation conv (or,
   * as a service conversation's agent, its customer) with the WebRTC
   * offer: their devices get the `call` event "ringing", a callee with
   * no device online a push of kind "call". id is the caller's own (a
   * fresh one unless given; a startCall retried with it is the same
   * call). Another call in conv: IN_CALL. The SDK says every
   * CALL_ALIVE_EVERY_MS that this device is in the call, until it ends.
   */
  async startCall(conv: string, offer: Uint8Array | string, opts: { video?: boolean; id?: string } = {}): Promise<CallView> {
    const callId = opts.id ?? newCallId();
    if (!CALL_ID.test(callId)) throw new Error("startCall: an id is 1-64 of A-Z, a-z, 0-9, _ and -");
    const call = await this.callStep(conv, CallRequest_Op.START, callId, { video: opts.video ?? false, payload: bytesOf(offer) });
    this.keepCallAlive(conv, callId);
    return call!;
  }

  /** acceptCall answers the ringing call id on this device with the WebRTC answer. Answered on another device already: IN_CALL. */
  async acceptCall(conv: string, id: string, answer: Uint8Array | string): Promise<CallView> {
    const call = await this.callStep(conv, CallRequest_Op.ACCEPT, id, { payload: bytesOf(answer) });
    this.keepCallAlive(conv, id);
    return call!;
  }

  /** declineCall refuses the ringing call id, saying why ("busy"; may be empty). */
  async declineCall(conv: string, id: string, reason = ""): Promise<void> {
    await this.callStep(conv, CallRequest_Op.DECLINE, id, { reason });
  }

  /** endCall hangs up call id (or cancels it while it rings). One that ended already: NOT_FOUND. */
  async endCall(conv: string, id: string, reason = ""): Promise<void> {
    this.stopCallAlive(conv, id);
    await this.callStep(conv, CallRequest_Op.END, id, { reason });
  }

  /** sendCallSignal relays payload (an ICE candidate, a renegotiation) to the other side's device, in order. */
  async sendCallSignal(conv: string, id: string, payload: Uint8Array | string): Promise<void> {
    await this.callStep(conv, CallRequest_Op.SIGNAL, id, { payload: bytesOf(payload) });
  }

  /**
   * callState reads conv's call (undefined: none), as an app woken by a
   * call's push does once connected: to the callee while it rings, with
   * the caller's offer (CallView.offer) to answer it here.
   */
  async callState(conv: string): Promise<CallView | undefined> {
    const r = await this.request({ case: "call", value: { conv, op: CallRequest_Op.STATE } });
    if (r.result.case !== "call") throw new Error("call: unexpected answer");
    const view = callView(r.result.value.call);
    if (view && r.result.value.offer.length > 0) view.offer = r.result.value.offer;
    return view;
  }

  /**
   * iceServers reads the STUN and TURN servers to make or answer a call in
   * conv with, in RTCIceServer's shape (new RTCPeerConnection({iceServers})):
   * the node's --ice-servers, TURN with credentials it signed for this
   * user. Empty: none configured (host candidates only). Ask before each
   * call: TURN credentials expire.
   */
  async iceServers(conv: string): Promise<{ urls: string[]; username?: string; credential?: string }[]> {
    const r = await this.request({ case: "call", value: { conv, op: CallRequest_Op.STATE } });
    if (r.result.case !== "call") throw new Error("call: unexpected answer");
    return r.result.value.iceServers.map((s) => (s.username ? { urls: s.urls, username: s.username, credential: s.credential } : { urls: s.urls }));
  }

  private async callStep(conv: string, op: CallRequest_Op, callId: string, v: { video?: boolean; payload?: Uint8Array; reason?: string }): Promise<CallView | undefined> {
    const r = await this.request({ case: "call", value: { conv, op, callId, ...v } });
    if (r.result.case !== "call") throw new Error("call: unexpected answer");
    return callView(r.result.value.call);
  }

  /**
   * keepCallAlive says every CALL_ALIVE_EVERY_MS, and right after each
   * reconnect, that this device is in call id, until it ends. A call the
   * node no longer knows ended while this device was away, and its "ended"
   * event with it: the SDK emits one itself, without an outcome (the
   * conversation's record has it).
   */
  private keepCallAlive(conv: string, id: string): void {
    const key = conv + "\u0000" + id;
    if (this.callAlive.has(key)) return;
    this.callAlive.set(key, setInterval(() => this.sayAlive(conv, id), CALL_ALIVE_EVERY_MS));
  }

  /**
   * recheckCalls says, right after a reconnect and again a moment later,
   * that this device is in its calls: a call that ended while it was away
   * is found now, and one that ended while the node was still registering
   * the new connection (its step reached no device) a moment later.
   */
  private recheckCalls(): void {
    const check = () => {
      for (const [key] of this.callAlive) this.sayAlive(...(key.split("\u0000") as [string, string]));
    };
    check();
    clearTimeout(this.callRecheck);
    if (this.callAlive.size > 0) this.callRecheck = setTimeout(check, CALL_RECHECK_MS);
  }

  private sayAlive(conv: string, id: string): void {
    this.callStep(conv, CallRequest_Op.ALIVE, id, {}).catch((err: unknown) => {
      if (!(err instanceof ProtocolError) || (err.code !== Code.NOT_FOUND && err.code !== Code.FORBIDDEN)) return;
      const kept = this.callAlive.has(conv + "\u0000" + id);
      this.stopCallAlive(conv, id);
      if (kept && err.code === Code.NOT_FOUND) {
        const call = { id, conv, caller: "", callerDevice: "", callee: "", video: false, startedMs: 0, answeredMs: 0, answeredDevice: "" };
        this.emit("call", { step: "ended", call, payload: new Uint8Array(), reason: "", durationMs: 0, seq: 0 });
      }
    });
  }

  private stopCallAlive(conv: string, id: string): void {
    const key = conv + "\u0000" + id;
    clearInterval(this.callAlive.get(key));
    this.callAlive.delete(key);
  }

  private async setFrozen(conv: string, frozen: boolean, reason: string, untilMs: number): Promise<number> {
    const r = await this.request({ case: "freeze", value: { conv, frozen, reason, untilMs: BigInt(untilMs) } });
    if (r.result.case !== "freeze") throw new Error("freeze: unexpected answer");
    return Number(r.result.value.seq);
  }

  /**
   * groupAddFrom reads who may add this user to a group (create a group
   * with them, add them to one); with a value it sets it first:
   * "everyone", "groups" (users who share a group with them), "nobody"
   * (they join only with an invite code), or "default" (the node's,
   * everyone unless its operator chose). Groups the user is in are never
   * affected; an add refused by it fails FORBIDDEN, naming who.
   */
  async groupAddFrom(set?: GroupAddFromName): Promise<GroupAddFromName> {
    const groupAddFrom = set === undefined ? undefined : groupAddFromValues[set];
    if (set !== undefined && groupAddFrom === undefined) throw new Error(`groupAddFrom: not one of ${Object.keys(groupAddFromValues).join(", ")}`);
    const r = await this.request({ case: "privacy", value: { groupAddFrom } });
    if (r.result.case !== "privacy") throw new Error("privacy: unexpected answer");
    const got = r.result.value.groupAddFrom;
    return (Object.keys(groupAddFromValues) as GroupAddFromName[]).find((k) => groupAddFromValues[k] === got) ?? "default";
  }

  /** profile reads this user's own profile (updatedMs 0: never set). */
  async profile(): Promise<UserProfile> {
    return this.profileRequest({});
  }

  /**
   * setProfile changes this user's profile, how they show in other users'
   * apps, and resolves to it as the node keeps it: name, a display name
   * (the node trims the spaces around it; at most its
   * --max-profile-name-bytes, 128 by default, and no control characters),
   * and avatarUrl, an http(s) URL of their picture (at most 1024 bytes);
   * either one left out stays as it is, "" clears it. A value the node
   * does not take fails INVALID. Nothing is pushed to others: their apps
   * read it (profiles) when they show this user.
   */
  async setProfile(change: { name?: string; avatarUrl?: string }): Promise<UserProfile> {
    const value: { name?: string; avatarUrl?: string } = {};
    for (const k of ["name", "avatarUrl"] as const) {
      const v = change[k];
      if (v === undefined) continue;
      if (typeof v !== "string") throw new Error(`setProfile: ${k} is a string ("" clears it)`);
      value[k] = v;
    }
    if (!Object.keys(value).length) throw new Error('setProfile: a name or an avatarUrl to set ("" clears it)');
    return this.profileRequest(value);
  }

  private async profileRequest(value: { name?: string; avatarUrl?: string }): Promise<UserProfile> {
    const r = await this.request({ case: "profile", value });
    if (r.result.case !== "profile") throw new Error("profile: unexpected answer");
    return userProfile(r.result.value);
  }

  /**
   * profiles reads the profiles of users who share a conversation with
   * this user: with conv, users who are or were members of conv (this
   * user too must be or have been one); without, the other members of
   * this user's direct conversations (and this user). It answers them in
   * the order asked, each user once; a user with no profile comes with
   * name "" and updatedMs 0, and users this one may not see are left out.
   * Any number of users: they are asked PROFILES_PER_REQUEST at a time.
   * Profiles are not pushed when they change: read them when showing
   * their users.
   */
  async profiles(users: string[], conv = ""): Promise<UserProfile[]> {
    const asked = [...new Set(users.filter((u) => u !== ""))];
    const out: UserProfile[] = [];
    for (let i = 0; i < asked.length; i += PROFILES_PER_REQUEST) {
      const r = await this.request({ case: "profiles", value: { conv, users: asked.slice(i, i + PROFILES_PER_REQUEST) } });
      if (r.result.case !== "profiles") throw new Error("profiles: unexpected answer");
      out.push(...r.result.value.profiles.map(userProfile));
    }
    return out;
  }

  /**
   * setDraft keeps text as this user's draft of conv, what they started
   * writing there and have not sent, for their other devices (each is told
   * by a "drafts" event, this one too); "" clears it. Clear it once its
   * message is sent: the node never does. It resolves to how many drafts
   * this user keeps. A conversation this user does not read fails
   * NOT_MEMBER; a text over the node's bound (4096 bytes by default)
   * TOO_LARGE, one with a control character other than a newline, a tab
   * or a carriage return INVALID; past the node's bound of drafts (100 by
   * default) TOO_MANY: clear one first. The same text again changes
   * nothing.
   */
  async setDraft(conv: string, text: string): Promise<number> {
    if (!conv) throw new Error("setDraft: the conversation");
    if (typeof text !== "string") throw new Error('setDraft: text is a string ("" clears the draft)');
    const r = await this.request({ case: "draft", value: { conv, text } });
    if (r.result.case !== "draft") throw new Error("draft: unexpected answer");
    return r.result.value.count;
  }

  /** drafts reads this user's drafts, the latest changed first (the same on every device of theirs). */
  async drafts(): Promise<Draft[]> {
    const r = await this.request({ case: "drafts", value: {} });
    if (r.result.case !== "drafts") throw new Error("drafts: unexpected answer");
    return r.result.value.drafts.map((d) => ({ conv: d.conv, text: d.text, updatedMs: Number(d.updatedMs) }));
  }

  /** away reads this user's away message (text "": none set). */
  async away(): Promise<AwayView> {
    return this.awayRequest({});
  }

  /**
   * setAway sets this user's away message (a seller on holiday, a tutor
   * off for the week): until opts.untilMs (Unix ms; unset or 0: until
   * clearAway), the first message from the other member of each of their
   * direct conversations is answered with text, once per setting, as an
   * automatic reply of theirs; groups and service conversations never
   * are. It resolves to the setting as the node keeps it (it trims the
   * text). Every device of this user gets an "away" event, this one too.
   * A text over the node's bound (500 bytes by default) fails TOO_LARGE,
   * one with control characters other than a newline or a tab INVALID,
   * an end in the past or too far ahead (a year by default) INVALID. An
   * empty text is refused here: clearAway clears it. A new setting
   * answers every conversation once more.
   */
  async setAway(text: string, opts: { untilMs?: number } = {}): Promise<AwayView> {
    if (typeof text !== "string" || text.trim() === "") throw new Error("setAway: an empty away message (clearAway clears it)");
    const until = opts.untilMs ?? 0;
    if (!Number.isSafeInteger(until) || until < 0) throw new Error("setAway: untilMs is a time in Unix ms (0: until cleared)");
    return this.awayRequest({ text, untilMs: BigInt(until) });
  }

  /** clearAway clears this user's away message: nobody is answered for them any more. */
  async clearAway(): Promise<void> {
    await this.awayRequest({ text: "" });
  }

  private async awayRequest(value: { text?: string; untilMs?: bigint }): Promise<AwayView> {
    const r = await this.request({ case: "away", value });
    if (r.result.case !== "away") throw new Error("away: unexpected answer");
    const a = r.result.value;
    return { text: a.text, sinceMs: Number(a.sinceMs), untilMs: Number(a.untilMs) };
  }

  /** quietHours reads this user's quiet hours (undefined: none). */
  async quietHours(): Promise<QuietHoursView | undefined> {
    return this.quietRequest({});
  }

  /**
   * setQuietHours sets the hours of the week this user's offline
   * notifications (APNs, FCM, the push webhook) pause, in their own time
   * zone: a teacher's nights and weekends (everyDay builds the usual
   * ones). Messages still arrive and count; only the notification of a
   * phone with no device online is not sent, then or later. It resolves
   * to them as the node keeps them; every device of this user gets a
   * "quietHours" event, this one too. Hours the node cannot read (an
   * unknown zone or day, intervals out of order, more than its
   * --max-quiet-intervals, 4, a day) fail INVALID, saying what is wrong.
   */
  async setQuietHours(hours: QuietHoursView): Promise<QuietHoursView> {
    if (!hours.zone || Object.keys(hours.week).length === 0) throw new Error("setQuietHours: a zone and at least one day's intervals (clearQuietHours takes them away)");
    const q = await this.quietRequest({ set: { zone: hours.zone, week: { ...hours.week } } });
    if (!q) throw new Error("quiet_hours: unexpected answer");
    return q;
  }

  /** clearQuietHours takes this user's quiet hours away: notifications go out at any hour again. */
  async clearQuietHours(): Promise<void> {
    await this.quietRequest({ off: true });
  }

  private async quietRequest(value: { set?: { zone: string; week: Record<string, string> }; off?: boolean }): Promise<QuietHoursView | undefined> {
    const r = await this.request({ case: "quietHours", value });
    if (r.result.case !== "quietHours") throw new Error("quiet_hours: unexpected answer");
    const q = r.result.value.quiet;
    return q ? { zone: q.zone, week: { ...q.week } } : undefined;
  }

  /**
   * clearHistory clears conv for this user up to seq (default: all of it),
   * "delete chat": this user no longer sees those messages, on any device
   * (the conversation lets go of them), and reads up to there; the other
   * members keep theirs. A clear never moves back.
   */
  async clearHistory(conv: string, seq = 0): Promise<{ clearedSeq: number; totalUnread: number }> {
    const r = await this.request({ case: "clearHistory", value: { conv, seq: BigInt(seq) } });
    if (r.result.case !== "clearHistory") throw new Error("clear_history: unexpected answer");
    const cleared = Number(r.result.value.clearedSeq);
    const c = this.conversation(conv);
    c.cleared(cleared);
    c.markedRead(cleared, this.user);
    this.emit("conversation", c);
    return { clearedSeq: cleared, totalUnread: Number(r.result.value.totalUnread) };
  }

  /**
   * hide deletes the messages at seqs of conv for this user alone ("delete
   * for me"): 1 to 100 texts, files, cards, polls or system notes (an
   * edit, a reaction, a vote or a recall fails INVALID: hide the message
   * it refers to). Every device of theirs lets go of them, with their
   * edits and reactions (Conversation.hiddenSeqs), and history no longer
   * brings them; the other members keep theirs. It resolves to this
   * user's hidden seqs of conv, ascending.
   */
  hide(conv: string, seqs: number[]): Promise<number[]> {
    return this.hideRequest("hide", conv, seqs, false);
  }

  /**
   * unhide shows messages hidden with hide again (an undo; a seq not
   * hidden is left alone): it resolves, to the hidden seqs left, once
   * they are back in the conversation.
   */
  unhide(conv: string, seqs: number[]): Promise<number[]> {
    return this.hideRequest("unhide", conv, seqs, true);
  }

  private async hideRequest(what: string, conv: string, seqs: number[], unhide: boolean): Promise<number[]> {
    if (!conv) throw new Error(`${what}: the conversation`);
    if (!Array.isArray(seqs) || seqs.length < 1 || seqs.length > MAX_HIDE_SEQS || !seqs.every((s) => Number.isSafeInteger(s) && s > 0)) {
      throw new Error(`${what}: 1 to ${MAX_HIDE_SEQS} seqs of messages`);
    }
    const c = this.conversation(conv);
    const before = c.hiddenSeqs;
    const r = await this.request({ case: "hide", value: { conv, seqs: seqs.map(BigInt), unhide } });
    if (r.result.case !== "hide") throw new Error("hide: unexpected answer");
    const hidden = r.result.value.hiddenSeqs.map(Number);
    const shown = c.hidden(hidden);
    this.emit("conversation", c);
    // The membership push of this very change may have come first (its
    // fetch under way): an unhide still waits for what it showed again.
    for (const s of seqs) if (unhide && before.includes(s) && !hidden.includes(s) && !shown.includes(s)) shown.push(s);
    if (shown.length) await this.fetchShown(c, shown);
    return hidden;
  }

  /** unblock lifts block. */
  async unblock(user: string): Promise<void> {
    await this.request({ case: "block", value: { user, block: false } });
  }

  /** blocked lists the users this user blocks, sorted (asking the server page by page). */
  async blocked(): Promise<string[]> {
    const users: string[] = [];
    for (let after = ""; ; ) {
      const r = await this.request({ case: "blocked", value: { afterConv: after, limit: 0 } });
      if (r.result.case !== "blocked") throw new Error("blocked: unexpected answer");
      users.push(...r.result.value.users);
      after = r.result.value.next;
      if (!after) return users.sort();
    }
  }

  /**
   * upload uploads a file into a conversation the user may write to (a
   * conversation id, or { to: user } for the direct one, which need not be
   * started yet: a first message may be a file) and returns it complete,
   * to attach with sendMedia; sendFile does both (docs/PROTOCOL.md, "Media").
   */
  async upload(target: Target, data: Uint8Array | Blob, name: string, mime: string, preview?: Preview): Promise<MediaInfo> {
    const conv = typeof target === "string" ? target : directConv(this.user, target.to, target.topic);
    const bytes = data instanceof Uint8Array ? data : new Uint8Array(await data.arrayBuffer());
    if (bytes.length === 0) throw new Error("upload: empty file");
    const c = await this.paced({ case: "mediaCreate", value: { conv, name, mime, size: BigInt(bytes.length), width: preview?.width ?? 0, height: preview?.height ?? 0, thumb: preview?.thumb ?? new Uint8Array(), durationMs: preview?.durationMs ?? 0 } });
    if (c.result.case !== "mediaCreate") throw new Error("media_create: unexpected answer");
    const ref = mediaInfo(c.result.value);
    const chunks = Math.ceil(bytes.length / MEDIA_CHUNK_BYTES);
    if (ref.chunks !== chunks) throw new Error(`media_create: ${ref.chunks} chunks, want ${chunks}`);
    // A few chunks in flight at once; the node takes them in any order.
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < chunks; i = next++) {
        const part = bytes.subarray(i * MEDIA_CHUNK_BYTES, Math.min((i + 1) * MEDIA_CHUNK_BYTES, bytes.length));
        await this.paced({ case: "mediaChunk", value: { conv, id: ref.id, index: i, data: part } });
      }
    };
    await Promise.all(Array.from({ length: Math.min(4, chunks) }, worker));
    const done = await this.paced({ case: "mediaComplete", value: { conv, id: ref.id } });
    if (done.result.case !== "mediaComplete") throw new Error("media_complete: unexpected answer");
    return mediaInfo(done.result.value);
  }

  /**
   * paced is request for the many requests of one file: one the node
   * refuses RATE_LIMITED or BUSY for the connection's request rate (a file
   * of 16 MiB is 128 chunks, more than a connection's burst) is sent again
   * after a growing pause or the node's retry-after, so a file goes at the
   * rate the node allows. A wait over 2 s (an hourly budget spent) fails.
   */
  private async paced(op: MessageInitShape<typeof RequestSchema>["op"]): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.request(op);
      } catch (e) {
        const limited = e instanceof ProtocolError && (e.code === Code.RATE_LIMITED || e.code === Code.BUSY);
        if (!limited || e.retryAfterMs > 2000 || this.closed) throw e;
        const wait = e.retryAfterMs || backoffDelay(attempt, 50, 2000);
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  /**
   * sendMedia queues a message carrying media (an upload of the user's into
   * that conversation) with caption, like send. A direct conversation's id
   * is sent as { to }, which starts it if it is not yet. opts.meta is the
   * app's own data about it (the order a receipt's photo belongs to), as
   * send's.
   */
  sendMedia(target: Target, media: MediaInfo, caption = "", opts: { meta?: Record<string, string> } = {}): ChatMessage {
    return this.queue(this.toConvOrPeer(target), caption, "normal", 0, [], media, undefined, undefined, opts.meta);
  }

  /** sendFile uploads data (upload, with opts.preview if given) and queues a message carrying it (sendMedia), with caption (may be empty) and meta. */
  async sendFile(target: Target, data: Uint8Array | Blob, opts: { name: string; mime: string; caption?: string; preview?: Preview; meta?: Record<string, string> }): Promise<ChatMessage> {
    const media = await this.upload(target, data, opts.name, opts.mime, opts.preview);
    return this.sendMedia(target, media, opts.caption ?? "", { meta: opts.meta });
  }

  /**
   * forward queues a copy of the message at seq of conv (a text, or a file
   * with its caption, that this user can read) to target, like send: it is
   * sent as this user's own message, labelled forwarded, with the text its
   * sender last edited it to. The node copies the file itself: nothing is
   * downloaded or uploaded again. The pending message shows the copy as this
   * client holds it (empty when it does not); once stored, as the node
   * stored it. A card, a poll or anything else fails INVALID, a
   * conversation this user is not in NOT_MEMBER, a message not there (or
   * recalled) NOT_FOUND. A direct conversation's id is sent as { to }, as
   * sendMedia does.
   */
  forward(target: Target, conv: string, seq: number): ChatMessage {
    if (!conv || !Number.isSafeInteger(seq) || seq <= 0) throw new Error("forward: the conversation and the seq of the message it copies");
    // Only a text or a file is shown: anything else is refused, and shown
    // as text meanwhile it would read as its JSON.
    const held = this.conversations.get(conv)?.messages.find((x) => x.seq === seq && x.kind === "normal" && !x.refSeq && !x.recalled);
    return this.queue(this.toConvOrPeer(target), held?.body ?? "", "normal", 0, [], held?.media, { conv, seq }, held?.location);
  }

  // toConvOrPeer sends to a direct conversation's id as { to, topic },
  // which starts it if it is not yet.
  private toConvOrPeer(target: Target): Target {
    const peer = typeof target === "string" ? directPeer(target, this.user) : "";
    return peer ? { to: peer, topic: directTopic(target as string) } : target;
  }

  /** download reads the file attached to the message at seq of conv (one the user can see; NOT_FOUND once recalled). */
  async download(conv: string, seq: number): Promise<{ media: MediaInfo; data: Uint8Array }> {
    return this.readFile(conv, seq, false);
  }

  /** groupPicture reads a group's picture (any member, whenever they joined); NOT_FOUND when it has none. */
  async groupPicture(conv: string): Promise<{ media: MediaInfo; data: Uint8Array }> {
    return this.readFile(conv, 0, true);
  }

  /**
   * setGroupPicture uploads an image into the group and makes it the
   * group's picture (owners and admins).
   */
  async setGroupPicture(conv: string, data: Uint8Array | Blob, name: string, mime: string, preview?: Preview): Promise<GroupSettingsView & { seq: number }> {
    const f = await this.upload(conv, data, name, mime, preview);
    return this.changeGroupSettings(conv, { picture: f.id });
  }

  // readFile reads a message's file (seq), or the group's picture, chunk by chunk.
  private async readFile(conv: string, seq: number, picture: boolean): Promise<{ media: MediaInfo; data: Uint8Array }> {
    let media: MediaInfo | undefined;
    const parts: Uint8Array[] = [];
    for (let i = 0; media === undefined || i < media.chunks; i++) {
      const r = await this.paced({ case: "mediaRead", value: { conv, seq: BigInt(seq), index: i, picture } });
      if (r.result.case !== "mediaRead" || !r.result.value.media) throw new Error("media_read: unexpected answer");
      media ??= mediaInfo(r.result.value.media);
      parts.push(r.result.value.data);
    }
    const data = new Uint8Array(media.size);
    let at = 0;
    for (const p of parts) {
      data.set(p, at);
      at += p.length;
    }
    if (at !== media.size) throw new Error(`download: ${at} bytes of a file of ${media.size}`);
    return { media, data };
  }

  /**
   * readBy tells the sender of the message at seq of conv which members
   * read it and which did not yet (asking the server page by page); the
   * members who joined after it are left out. FORBIDDEN for anyone but its
   * sender.
   */
  async readBy(conv: string, seq: number): Promise<{ read: string[]; unread: string[] }> {
    const out = { read: [] as string[], unread: [] as string[] };
    for (let after = ""; ; ) {
      const r = await this.request({ case: "readBy", value: { conv, seq: BigInt(seq), after, limit: 0 } });
      if (r.result.case !== "readBy") throw new Error("read_by: unexpected answer");
      for (const m of r.result.value.members) (m.read ? out.read : out.unread).push(m.user);
      after = r.result.value.next;
      if (!after) return out;
    }
  }

  /**
   * report reports another user's message at seq of conv (one this user can
   * read) to the operator's moderators, with a reason; nobody in the
   * conversation is told. It resolves to the report's id; duplicate when
   * this user had reported the message already.
   */
  async report(conv: string, seq: number, reason = ""): Promise<{ reportId: string; duplicate: boolean }> {
    const r = await this.request({ case: "report", value: { conv, seq: BigInt(seq), reason } });
    if (r.result.case !== "report") throw new Error("report: unexpected answer");
    return { reportId: r.result.value.reportId, duplicate: r.result.value.duplicate };
  }

  /**
   * star stars the message at seq of conv for this user alone (on false:
   * unstars it), to find it again with starred: a text, a card, a poll or
   * a file this user can read. It resolves to how many messages this user
   * keeps starred. An edit, a reaction, a vote or a system message fails
   * INVALID, a conversation this user is not in NOT_MEMBER, a message not
   * there (or recalled) NOT_FOUND, one past the node's bound (500 by
   * default) TOO_MANY: unstar one first. Starring a starred message again
   * (or unstarring one that is not) changes nothing.
   */
  async star(conv: string, seq: number, starred = true): Promise<number> {
    if (!conv || !Number.isSafeInteger(seq) || seq <= 0) throw new Error("star: the conversation and the seq of the message");
    const r = await this.request({ case: "star", value: { conv, seq: BigInt(seq), starred } });
    if (r.result.case !== "star") throw new Error("star: unexpected answer");
    return r.result.value.count;
  }

  /**
   * remind stars the message at seq of conv (as star) with a reminder at
   * atMs ("remind me tomorrow at 9"): then this user's connected clients
   * get a "reminder" event, or with none connected their phone a
   * notification. A starred message's reminder moves to atMs; star(conv,
   * seq) takes it away and keeps the star. atMs must be ahead, by at most
   * the node's --max-schedule-ahead, else INVALID.
   */
  async remind(conv: string, seq: number, atMs: number): Promise<number> {
    if (!conv || !Number.isSafeInteger(seq) || seq <= 0) throw new Error("remind: the conversation and the seq of the message");
    if (!Number.isSafeInteger(atMs) || atMs <= 0) throw new Error("remind: atMs is a time in Unix ms");
    const r = await this.request({ case: "star", value: { conv, seq: BigInt(seq), starred: true, remindAtMs: BigInt(atMs) } });
    if (r.result.case !== "star") throw new Error("remind: unexpected answer");
    return r.result.value.count;
  }

  /**
   * starredPage reads one page of this user's starred messages, the most
   * recently starred first: those starred before beforeMs (0: from the
   * newest), at most limit (0 or over 50: 50). Each message is as this
   * user reads it now (a text with its newest edit's text); one no longer
   * readable (recalled, expired, cleared) is left out, so a page may hold
   * fewer than limit. nextBeforeMs is the beforeMs of the next page (0:
   * this was the last). The list lives on the node: every device of the
   * user reads the same, and nothing is pushed when it changes.
   */
  async starredPage(beforeMs = 0, limit = 0): Promise<{ messages: StarredMessage[]; nextBeforeMs: number }> {
    if (!Number.isSafeInteger(beforeMs) || beforeMs < 0) throw new Error("starredPage: beforeMs is a time in Unix ms, or 0");
    if (!Number.isSafeInteger(limit) || limit < 0) throw new Error("starredPage: limit is a count, or 0");
    const r = await this.request({ case: "starred", value: { beforeMs: BigInt(beforeMs), limit } });
    if (r.result.case !== "starred") throw new Error("starred: unexpected answer");
    const messages: StarredMessage[] = [];
    for (const s of r.result.value.messages) {
      if (s.message) messages.push({ message: chatMessage(s.message, this.user), starredAtMs: Number(s.starredAtMs), remindAtMs: Number(s.remindAtMs) });
    }
    return { messages, nextBeforeMs: Number(r.result.value.nextBeforeMs) };
  }

  /** starred reads all of this user's starred messages, the most recently starred first (asking the server page by page). */
  async starred(): Promise<StarredMessage[]> {
    const all: StarredMessage[] = [];
    for (let before = 0; ; ) {
      const page = await this.starredPage(before);
      all.push(...page.messages);
      before = page.nextBeforeMs;
      if (!before) return all;
    }
  }

  /**
   * schedule asks the node to send text to target (a conversation id, or
   * { to: user } for the direct conversation) at atMs (Unix ms), as this
   * user's message, whether or not any of their devices is online then
   * (docs/PROTOCOL.md, "Scheduled messages"); opts.replyTo and
   * opts.mentions as reply and mention take them, opts.mentionAll as
   * mentionAll (a group's owners and admins). It resolves once the
   * node keeps it. A time not ahead of now, or further ahead than the
   * node allows (365 days by default), fails INVALID; past the node's
   * bound of messages waiting (100 by default) TOO_MANY; a conversation
   * this user may not write to now, its code. It goes out under the rules
   * of that time, arriving like any message (on this user's devices too)
   * with the scheduled message's clientMsgId. opts.clientMsgId: that of a
   * message scheduled before, to replace it (a new time or text; its id
   * stays) or to ask again when an answer was lost; unset, a new one.
   * It needs the connection: it is not kept in the outbox.
   */
  schedule(target: Target, text: string, atMs: number, opts: { replyTo?: number; mentions?: string[]; mentionAll?: boolean; clientMsgId?: string } = {}): Promise<ScheduledMessage> {
    return this.scheduleSend(target, MessageKind.NORMAL, text, atMs, opts);
  }

  /** scheduleCard schedules a business card (sendCard) like schedule. */
  scheduleCard(target: Target, card: Card, atMs: number, opts: { clientMsgId?: string } = {}): Promise<ScheduledMessage> {
    return this.scheduleSend(target, MessageKind.CARD, JSON.stringify(card), atMs, opts);
  }

  /** schedulePoll schedules a poll (sendPoll) like schedule. */
  schedulePoll(target: Target, poll: Poll, atMs: number, opts: { clientMsgId?: string } = {}): Promise<ScheduledMessage> {
    return this.scheduleSend(target, MessageKind.POLL, pollBody(poll), atMs, opts);
  }

  private async scheduleSend(
    target: Target,
    kind: MessageKind,
    body: string,
    atMs: number,
    opts: { replyTo?: number; mentions?: string[]; mentionAll?: boolean; clientMsgId?: string },
  ): Promise<ScheduledMessage> {
    const to = typeof target === "string" ? "" : target.to;
    const topic = typeof target === "string" ? "" : (target.topic ?? "");
    const conv = typeof target === "string" ? target : "";
    if (!to && !conv) throw new Error("schedule: a conversation, or { to: user }");
    if (!body) throw new Error("schedule: an empty message");
    // Whether the time is ahead, and not too far, is the node's check (its clock).
    if (!Number.isSafeInteger(atMs)) throw new Error("schedule: atMs is a time in Unix ms");
    const replyTo = opts.replyTo ?? 0;
    if (!Number.isSafeInteger(replyTo) || replyTo < 0) throw new Error("schedule: replyTo is the seq of the message it answers");
    const send = {
      conv,
      to,
      topic,
      clientMsgId: opts.clientMsgId || (globalThis.crypto as Crypto).randomUUID(),
      body: new TextEncoder().encode(body),
      kind,
      replyTo: BigInt(replyTo),
      mentions: opts.mentions ?? [],
      mentionAll: opts.mentionAll ?? false,
    };
    const r = await this.request({ case: "schedule", value: { send, atMs: BigInt(atMs) } });
    if (r.result.case !== "schedule" || !r.result.value.scheduled) throw new Error("schedule: unexpected answer");
    return this.scheduledMessage(r.result.value.scheduled);
  }

  /** scheduled lists this user's messages scheduled and not yet sent, soonest first (the same on every device of theirs). */
  async scheduled(): Promise<ScheduledMessage[]> {
    const r = await this.request({ case: "scheduled", value: {} });
    if (r.result.case !== "scheduled") throw new Error("scheduled: unexpected answer");
    return r.result.value.messages.map((s) => this.scheduledMessage(s));
  }

  /** unschedule cancels the scheduled message id; one sent already (or unknown) fails NOT_FOUND. */
  async unschedule(id: string): Promise<void> {
    if (!id) throw new Error("unschedule: the id of a scheduled message");
    const r = await this.request({ case: "unschedule", value: { id } });
    if (r.result.case !== "unschedule") throw new Error("unschedule: unexpected answer");
  }

  // scheduledMessage is a node's scheduled send as the SDK shows it.
  private scheduledMessage(s: ScheduledSend): ScheduledMessage {
    const m = s.send;
    const to = m?.to ?? "";
    const out: ScheduledMessage = {
      id: s.id,
      conv: to ? directConv(this.user, to, m?.topic) : (m?.conv ?? ""),
      to,
      clientMsgId: m?.clientMsgId ?? "",
      kind: m?.kind === MessageKind.CARD ? "card" : m?.kind === MessageKind.POLL ? "poll" : "normal",
      body: new TextDecoder().decode(m?.body),
      atMs: Number(s.atMs),
      createdMs: Number(s.createdMs),
    };
    if (m && m.replyTo > 0n) out.replyTo = Number(m.replyTo);
    if (m?.mentions.length) out.mentions = [...m.mentions];
    if (m?.mentionAll) out.mentionAll = true;
    if (s.failed) out.failed = s.failed;
    return out;
  }

  /** unregisterPush removes this device's push token. */
  async unregisterPush(): Promise<void> {
    await this.request({ case: "unregisterPush", value: {} });
  }

  /**
   * deskHandover hands the service session of conv from the robot to the
   * next step of its route (a human queue or the owner agent); the robot or
   * the customer asks (docs/DESK.md, "Robots").
   */
  async deskHandover(conv: string): Promise<{ session: string; state: string; queuePosition: number; agent: string }> {
    const r = await this.request({ case: "deskHandover", value: { conv } });
    if (r.result.case !== "deskHandover") throw new Error("desk_handover: unexpected answer");
    const v = r.result.value;
    return { session: v.session, state: v.state, queuePosition: v.queuePosition, agent: v.agent };
  }

  /** typing tells the other members (best effort). */
  typing(conv: string, typing = true): void {
    this.request({ case: "signal", value: { kind: typing ? Signal_Kind.TYPING : Signal_Kind.STOP_TYPING, conv } }).catch(() => {});
  }
}

/** userProfile is a node's profile as the SDK shows it. */
function frozenOf(f: { reason: string; by: string; atMs: bigint; untilMs: bigint } | undefined): Frozen | undefined {
  if (!f) return undefined;
  const out: Frozen = { reason: f.reason, by: f.by, atMs: Number(f.atMs) };
  if (f.untilMs > 0n) out.untilMs = Number(f.untilMs);
  return out;
}

function userProfile(p: Profile): UserProfile {
  const out: UserProfile = { user: p.user, name: p.name, avatarUrl: p.avatarUrl, updatedMs: Number(p.updatedMs) };
  if (Object.keys(p.meta).length > 0) out.meta = { ...p.meta };
  return out;
}

/** pollBody is a poll's JSON as sendPoll sends it (docs/PROTOCOL.md, "Polls"). */
function pollBody(poll: Poll): string {
  return JSON.stringify({
    question: poll.question,
    options: poll.options,
    ...(poll.multiple ? { multiple: true } : {}),
    ...(poll.closesAtMs ? { closes_at_ms: poll.closesAtMs } : {}),
    ...(poll.quiz ? { quiz: true, correct: poll.correct } : {}),
    ...(poll.quiz && poll.explanation ? { explanation: poll.explanation } : {}),
    ...(poll.anonymous ? { anonymous: true } : {}),
  });
}

/** MEDIA_CHUNK_BYTES is the size of an upload's chunks (the last is the rest), fixed by the protocol. */
export const MEDIA_CHUNK_BYTES = 128 * 1024;

/**
 * endsForGood says whether a connection ended with code must not be
 * reconnected by the client itself: SUSPENDED (every connect is refused
 * until the operator lifts it) and REPLACED (this device id connected
 * again elsewhere; reconnecting would take it back, and the other would
 * do the same).
 */
function endsForGood(code: Code): boolean {
  return code === Code.SUSPENDED || code === Code.REPLACED;
}

/** MAX_HIDE_SEQS is the most seqs one hide or unhide names (the node's bound). */
const MAX_HIDE_SEQS = 100;

/** MAX_RIDING_ACKS bounds the acks one riding request carries (a small frame). */
const MAX_RIDING_ACKS = 1024;

/** bytesOf is a call's payload as bytes: an SDP or a candidate's JSON as UTF-8. */
function bytesOf(p: Uint8Array | string): Uint8Array {
  return typeof p === "string" ? new TextEncoder().encode(p) : p;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
