// Anonymous visitors: a website's visitors who chat with its service desk
// without signing in. A node that takes them (serve --visitor-scenes)
// mints a visitor's token at POST /visitor (docs/PROTOCOL.md §12,
// "Anonymous visitors"); anonymousVisitor keeps it in the app's storage
// for its life, so the visitor finds their chat again on the next visit.
// Such a visitor is only ever a desk customer: it enters the scenes open
// to visitors, and writes to nobody else. Once the visitor signs in,
// claimVisitor makes their chats the account's.

/** The part of the Web Storage API a visitor is kept in. */
export interface VisitorStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** An anonymous visitor: its user id (visitor-…), its token, and when the token ends. */
export interface Visitor {
  user: string;
  token: string;
  expiresMs: number;
}

/** The storage key a visitor is kept under. */
export const VISITOR_KEY = "switchboard.visitor";

/** The node refused a new visitor: too many from this address (retry after retryAfterMs), or none taken here. */
export class VisitorRefused extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly retryAfterMs: number,
  ) {
    super(message);
    this.name = "VisitorRefused";
  }
}

/**
 * anonymousVisitor answers the visitor kept in storage while its token
 * has more than a minute left, else asks the node at url (its web
 * address, as for Client) for a new one and keeps it. A new visitor is a
 * new user: the kept one's chat stays with it. Give the token to a
 * Client with a device of your own (its token names none).
 */
export async function anonymousVisitor(url: string, storage?: VisitorStorage): Promise<Visitor> {
  try {
    const kept = JSON.parse(storage?.getItem(VISITOR_KEY) ?? "null");
    if (kept?.token && kept.user && kept.expiresMs > Date.now() + 60_000) return kept as Visitor;
  } catch {
    // not a visitor: make one
  }
  const r = await fetch(new URL("/visitor", url), { method: "POST" });
  if (!r.ok) {
    const after = Number(r.headers.get("Retry-After") ?? "0") * 1000;
    const why = r.status === 429 ? "too many new visitors from this address" : r.status === 404 ? "this node takes no anonymous visitors" : `visitor refused (${r.status})`;
    throw new VisitorRefused(why, r.status, after);
  }
  const got = (await r.json()) as { user: string; token: string; expires_ms: number };
  const v: Visitor = { user: got.user, token: got.token, expiresMs: got.expires_ms };
  try {
    storage?.setItem(VISITOR_KEY, JSON.stringify(v));
  } catch {
    // a full or refused storage: the visitor lasts this page
  }
  return v;
}

/**
 * claimVisitor merges the visitor kept in storage, if any, into the
 * account that token (the signed-in user's: ours, or the identity
 * provider's) names: the visitor's desk chats become the account's, and
 * the account's next entry returns the open one (POST /visitor/claim;
 * both tokens prove it). The kept visitor is dropped once merged, or when
 * its token is no good any more; it stays for another try when the node
 * could not answer. Answers the merged ids, or null when there was no
 * visitor to claim.
 */
export async function claimVisitor(url: string, token: string, storage: VisitorStorage): Promise<{ visitor: string; user: string } | null> {
  let kept: Visitor | null = null;
  try {
    kept = JSON.parse(storage.getItem(VISITOR_KEY) ?? "null");
  } catch {
    // not a visitor
  }
  if (!kept?.token) return null;
  const r = await fetch(new URL("/visitor/claim", url), { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ visitor_token: kept.token, token }) });
  if (r.ok) {
    storage.removeItem(VISITOR_KEY);
    return (await r.json()) as { visitor: string; user: string };
  }
  const why = (await r.text()).trim();
  if (r.status === 401 && why.startsWith("visitor_token")) storage.removeItem(VISITOR_KEY);
  throw new VisitorRefused(`claim: ${why}`, r.status, Number(r.headers.get("Retry-After") ?? "0") * 1000);
}
