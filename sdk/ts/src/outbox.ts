// A persisted outbox: the unsent messages of a client kept in a Storage
// (window.localStorage fits), so that a page that is closed, reloaded or
// killed before the node answered sends them from the next page, with the
// same client message ids (the node stores a resend once).
//
// Each message is its own entry (PREFIX + user + ":" + client message id):
// two tabs of one user then never overwrite each other's outbox, and a
// message both send is still stored once.

import type { LocationInfo, MediaInfo } from "./store.js";

/** The part of the Web Storage API the outbox uses. */
export interface OutboxStorage {
  readonly length: number;
  key(index: number): string | null;
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** A message waiting in a persisted outbox. */
export interface SavedMessage {
  conv: string;
  /** Set for a message to the direct conversation with this user. */
  to: string;
  clientMsgId: string;
  body: string;
  kind: "normal" | "card" | "poll";
  /** A reply: the seq of the message it answers. */
  replyTo?: number;
  /** Members the message mentions. */
  mentions?: string[];
  /** It mentions everyone in its group ("@all", Client.mentionAll); mentions is then unset. */
  mentionAll?: boolean;
  /** An attachment: the complete upload the message carries; a forward's: the file it copies, as held. */
  media?: MediaInfo;
  /** A place the message shares (Client.sendLocation). */
  location?: LocationInfo;
  /** The app's own data about the message (Client.send's meta). */
  meta?: Record<string, string>;
  /**
   * A forward (Client.forward): the message it copies, which the node reads
   * itself. body and media are only what the page shows meanwhile; the send
   * carries neither.
   */
  forward?: { conv: string; seq: number };
  /** When it was queued (ms, increasing within a page): the resend order. */
  at: number;
}

export const OUTBOX_PREFIX = "switchboard.outbox:";

// The user is escaped so that one user's prefix is never another's.
const prefixOf = (user: string) => `${OUTBOX_PREFIX}${encodeURIComponent(user)}:`;
const keyOf = (user: string, clientMsgId: string) => prefixOf(user) + clientMsgId;

let lastAt = 0;
/** queuedAt is a timestamp later than any this page gave before. */
export function queuedAt(): number {
  lastAt = Math.max(Date.now(), lastAt + 1);
  return lastAt;
}

/** saveMessage keeps m; false when the storage refused it (full, or disabled): it is then only in memory. */
export function saveMessage(s: OutboxStorage, user: string, m: SavedMessage): boolean {
  try {
    s.setItem(keyOf(user, m.clientMsgId), JSON.stringify({ conv: m.conv, to: m.to, clientMsgId: m.clientMsgId, body: m.body, kind: m.kind, at: m.at, replyTo: m.replyTo, mentions: m.mentions, mentionAll: m.mentionAll || undefined, media: m.media && { ...m.media, thumb: undefined }, location: m.location, meta: m.meta, forward: m.forward }));
    return true;
  } catch {
    return false;
  }
}

/** forgetMessage drops a message once the node stored it (or refused it for good). */
export function forgetMessage(s: OutboxStorage, user: string, clientMsgId: string): void {
  try {
    s.removeItem(keyOf(user, clientMsgId));
  } catch {
    // Nothing to do: a storage that cannot remove holds a message the node dedupes.
  }
}

/**
 * loadMessages lists user's saved messages in the order they were queued. An entry that is not one (edited
 * by hand, another version) is dropped from the storage rather than sent.
 */
export function loadMessages(s: OutboxStorage, user: string): SavedMessage[] {
  const prefix = prefixOf(user);
  const keys: string[] = [];
  try {
    for (let i = 0; i < s.length; i++) {
      const k = s.key(i);
      if (k && k.startsWith(prefix)) keys.push(k);
    }
  } catch {
    return [];
  }
  const out: SavedMessage[] = [];
  for (const k of keys) {
    let m: any;
    try {
      m = JSON.parse(s.getItem(k) ?? "");
    } catch {
      m = undefined;
    }
    const ok =
      m && typeof m === "object" && typeof m.conv === "string" && typeof m.to === "string" && typeof m.body === "string" && (m.kind === "normal" || m.kind === "card" || m.kind === "poll") && typeof m.at === "number" && m.clientMsgId === k.slice(prefix.length) && m.clientMsgId !== "" && (m.replyTo === undefined || (Number.isSafeInteger(m.replyTo) && m.replyTo > 0)) && (m.mentions === undefined || (Array.isArray(m.mentions) && m.mentions.every((u: unknown) => typeof u === "string"))) && (m.mentionAll === undefined || (m.mentionAll === true && m.mentions === undefined)) && (m.media === undefined || validMedia(m.media)) && (m.location === undefined || validLocation(m.location)) && (m.meta === undefined || validMeta(m.meta)) && (m.forward === undefined || validForward(m));
    if (ok) out.push({ conv: m.conv, to: m.to, clientMsgId: m.clientMsgId, body: m.body, kind: m.kind, at: m.at, replyTo: m.replyTo, mentions: m.mentions, mentionAll: m.mentionAll, media: m.media, location: m.location, meta: m.meta, forward: m.forward });
    else forgetMessage(s, user, k.slice(prefix.length));
  }
  return out.sort((a, b) => a.at - b.at);
}

// validForward: m names the message it forwards, and is what a forward is (a
// normal message, answering nothing, mentioning nobody).
function validForward(m: any): boolean {
  const f = m.forward;
  return f && typeof f === "object" && typeof f.conv === "string" && f.conv !== "" && Number.isSafeInteger(f.seq) && f.seq > 0 && m.kind === "normal" && m.replyTo === undefined && m.mentions === undefined && m.mentionAll === undefined;
}

function validLocation(l: any): boolean {
  return l && typeof l === "object" && Number.isFinite(l.lat) && Number.isFinite(l.lng) && (l.name === undefined || typeof l.name === "string") && (l.liveUntilMs === undefined || Number.isSafeInteger(l.liveUntilMs));
}

function validMeta(m: any): boolean {
  return m && typeof m === "object" && !Array.isArray(m) && Object.values(m).every((v) => typeof v === "string");
}

function validMedia(m: any): boolean {
  return m && typeof m === "object" && typeof m.id === "string" && m.id !== "" && typeof m.name === "string" && typeof m.mime === "string" && Number.isSafeInteger(m.size) && m.size > 0 && Number.isSafeInteger(m.chunks) && m.chunks > 0;
}
