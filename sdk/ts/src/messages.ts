// Wire messages as the client's conversations hold them.

import { MessageKind, Role, type Message } from "./gen/wire_pb.js";
import { parseCard, type ChatMessage, type LocationInfo, type MediaInfo } from "./store.js";

/**
 * directConv is the id of the direct conversation between a and b, or with
 * topic (a listing, an order) the pair's conversation about it:
 * d:<a>:<b>:<topic>, one per topic beside the plain one.
 */
export function directConv(a: string, b: string, topic = ""): string {
  const pair = a < b ? `d:${a}:${b}` : `d:${b}:${a}`;
  return topic ? `${pair}:${topic}` : pair;
}

// parseDirect splits a direct conversation's id into its users and topic;
// undefined for an id directConv does not make (user ids hold no ':').
function parseDirect(conv: string): { a: string; b: string; topic: string } | undefined {
  if (!conv.startsWith("d:")) return undefined;
  const [a, b, topic, ...more] = conv.slice(2).split(":");
  if (!a || !b || a >= b || more.length || topic === "") return undefined;
  return { a, b, topic: topic ?? "" };
}

/** directPeer is the other user of direct conversation conv (about any topic) when me is one of its two, else "". */
export function directPeer(conv: string, me: string): string {
  const d = parseDirect(conv);
  return d?.a === me ? d.b : d?.b === me ? d.a : "";
}

/** directTopic is the topic of direct conversation conv, "" for a pair's plain one or any other id. */
export function directTopic(conv: string): string {
  return parseDirect(conv)?.topic ?? "";
}

const kinds: Partial<Record<MessageKind, ChatMessage["kind"]>> = {
  [MessageKind.RECALL]: "recall",
  [MessageKind.SYSTEM]: "system",
  [MessageKind.CARD]: "card",
  [MessageKind.REACTION]: "reaction",
  [MessageKind.POLL]: "poll",
  [MessageKind.VOTE]: "vote",
};

export function chatMessage(m: Message, me: string): ChatMessage {
  // NORMAL is 0, the default; a kind this SDK does not know is "other"
  // (shown as nothing), never taken for text: with ref_seq it would read
  // as an edit.
  const kind = m.kind === MessageKind.NORMAL ? "normal" : (kinds[m.kind] ?? "other");
  const body = new TextDecoder().decode(m.body);
  const out: ChatMessage = {
    conv: m.conv,
    seq: Number(m.seq),
    clientMsgId: m.clientMsgId,
    sender: m.sender,
    body,
    kind,
    recalled: m.recalled,
    serverTsMs: Number(m.serverTsMs),
    msgId: m.msgId > 0n ? m.msgId.toString() : undefined,
    state: m.sender === me && (kind === "normal" || kind === "card" || kind === "poll") && m.refSeq === 0n ? "sent" : undefined,
  };
  if (m.refSeq > 0n && (kind === "card" || kind === "normal" || kind === "reaction" || kind === "poll" || kind === "vote")) out.refSeq = Number(m.refSeq);
  if (m.senderRole === Role.CUSTOMER) out.role = "customer";
  else if (m.senderRole === Role.AGENT) out.role = "agent";
  if (m.replyTo > 0n) out.replyTo = Number(m.replyTo);
  if (m.expired) out.expired = true;
  if (m.mentions.length) out.mentions = [...m.mentions];
  if (m.mentionAll) out.mentionAll = true;
  if (m.media?.id) out.media = mediaInfo(m.media);
  if (m.location) out.location = locationInfo(m.location);
  if (Object.keys(m.meta).length > 0) out.meta = { ...m.meta };
  if (m.forwarded) out.forwarded = true;
  if (m.forwardHops > 0) out.forwardHops = m.forwardHops;
  if (m.autoReply) out.autoReply = true;
  if (m.expiresAtMs > 0n) out.expiresAtMs = Number(m.expiresAtMs);
  if (kind === "card") out.card = parseCard(body);
  return out;
}

/** locationInfo is a wire Location as the SDK shows it. */
export function locationInfo(l: { lat: number; lng: number; name: string; liveUntilMs: bigint }): LocationInfo {
  const out: LocationInfo = { lat: l.lat, lng: l.lng };
  if (l.name) out.name = l.name;
  if (l.liveUntilMs > 0n) out.liveUntilMs = Number(l.liveUntilMs);
  return out;
}

/** mediaInfo is a wire MediaRef as the SDK shows it. */
export function mediaInfo(r: { id: string; name: string; mime: string; size: bigint; chunks: number; width?: number; height?: number; thumb?: Uint8Array; durationMs?: number }): MediaInfo {
  const out: MediaInfo = { id: r.id, name: r.name, mime: r.mime, size: Number(r.size), chunks: r.chunks };
  if (r.width || r.height) {
    out.width = r.width;
    out.height = r.height;
  }
  if (r.thumb?.length) out.thumb = r.thumb;
  if (r.durationMs) out.durationMs = r.durationMs;
  return out;
}
