// What a Client is configured with, and the events it emits.

import type { CallEventView } from "./calls.js";
import type { Code } from "./gen/wire_pb.js";
import type { TransportKind } from "./links.js";
import type { OutboxStorage } from "./outbox.js";
import type { Card, Conversation } from "./store.js";

export interface ClientOptions {
  /** The node's web address (serve --web), e.g. "http://127.0.0.1:8081". */
  url: string;
  /** The JWT, or a function fetching a fresh one before each connect. */
  token: string | (() => Promise<string>);
  /**
   * This install's device id, for a token that names none: an identity
   * provider's ID token (docs/PROTOCOL.md §8). Keep it for the install's
   * life (in localStorage); a token's dev claim wins over it.
   */
  device?: string;
  /** Tried in order; default WebTransport, then WebSocket. */
  transports?: TransportKind[];
  minBackoffMs?: number; // default 200
  maxBackoffMs?: number; // default 15000
  requestTimeoutMs?: number; // default 10000
  /**
   * How long acknowledgements wait for a request to ride along with
   * before they are sent on their own, batched (default 200 ms). The
   * timer runs only while some wait: an idle client does not wake.
   */
  ackIntervalMs?: number;
  /**
   * Where unsent messages are kept across page loads (window.localStorage):
   * a page closed or killed before the node answered leaves them there, and
   * the next client of the same user sends them once connected, with their
   * client message ids (stored once). Without it the outbox lives as long
   * as the client.
   */
  outbox?: OutboxStorage;
  /**
   * How many sends of one conversation may be written before the first is
   * answered (default 16). They go in queue order, each naming the one
   * ahead, so a refused send is never overtaken; after a BUSY the window is
   * one send, growing by one per acknowledged send back to this.
   */
  sendPipeline?: number;
  /**
   * A BUSY with a retry-after holds every send of the client (not sync,
   * history, acks or pings) until it has passed: at most this long
   * (default 5000 ms; 0 or less: no hold, only the refused conversation
   * waits).
   */
  maxBusyHoldMs?: number;
  /** A WebSocket constructor where there is no global one. */
  WebSocket?: any;
  fetch?: typeof fetch;
}

export type ConnState = "connecting" | "connected" | "disconnected" | "closed";

export interface ClientEvents {
  state: (s: ConnState, transport?: TransportKind) => void;
  /** A conversation's messages or states changed. */
  conversation: (c: Conversation) => void;
  typing: (conv: string, user: string, typing: boolean) => void;
  /** A card message arrived, or an update replaced the card at seq. */
  card: (conv: string, seq: number, card: Card, updated: boolean) => void;
  /**
   * Desk customers: conv's session is at position (1 = next) of its queue; 0: it left the queue.
   * waitMs: the queue's estimate of the wait from now (0: none yet).
   */
  queuePosition: (conv: string, position: number, waitMs: number) => void;
  /** Desk agents: by added an internal note to conv's session, which now holds count (ServiceDesk.session reads them). */
  deskNote: (conv: string, by: string, count: number) => void;
  /** Desk agents: by (a supervisor, "admin", or "desk" for the desk itself) changed this agent's state (ServiceDesk.status() reads it). */
  deskAgent: (by: string) => void;
  /** This user's starred list changed (a star or unstar on any of their devices): starred() reads it again. */
  starred: () => void;
  /** This user's scheduled list changed (scheduled or cancelled on any of their devices, or one went out or failed when due): scheduled() reads it again. */
  scheduled: () => void;
  /** This user's drafts changed (kept or cleared on any of their devices, this one too): drafts() reads them again. */
  drafts: () => void;
  /** This user's own profile changed (on any of their devices, this one too, or by the operator): profile() reads it again. */
  profile: () => void;
  /** This user's away message changed (set or cleared on any of their devices, this one too, or by an erasure): away() reads it again. */
  away: () => void;
  /** This user's quiet hours changed (set or taken away on any of their devices, this one too): quietHours() reads them again. */
  quietHours: () => void;
  /** Someone asked to join conv, a group this user owns or administers, or another of its managers answered: joinRequests(conv) reads them again. */
  joinRequests: (conv: string) => void;
  /**
   * A reminder this user set on a starred message (Client.remind) is due
   * now: the message is conv's at seq (history reads it). starred no
   * longer lists the reminder. Only connected clients hear it; with none,
   * the phone is notified.
   */
  reminder: (conv: string, seq: number) => void;
  /**
   * A step of a call in e.call.conv: it rings on this device (e.payload:
   * the caller's offer), was answered (to the caller: the answer; to the
   * callee's other devices: answered on e.call.answeredDevice, stop
   * ringing), a signal from the other side, or it ended (e.outcome).
   * The conversation also records each call's end as a system message.
   * A call that ended while this device was away is reported by the SDK
   * itself once it finds the call gone: step "ended", no outcome, only
   * the call's id and conv. The node's own end may still follow such a
   * report: treat a second end of a call as the first.
   */
  call: (e: CallEventView) => void;
  error: (code: Code, message: string) => void;
}
