// The service desk (docs/DESK.md). ServiceDesk: what a customer or an
// agent does for themselves, as protocol requests on their own Client
// (the token's user). Desk: admin tasks (registering agents, scenes,
// acting for any user, service metrics) through a node's admin HTTP API
// and an admin token.

import type { Client } from "./client.js";
import { myMetricsView, type MyMetricsView } from "./mymetrics.js";

/** A service session as its customer and agent see it. */
export interface DeskSessionView {
  conv: string;
  session: string;
  /** bot, queued, assigned or closed */
  state: string;
  /** 1 = next; 0 unless queued */
  queuePosition: number;
  /** while queued: the queue's estimate of the wait from now (ms; 0: none yet) */
  queueWaitMs: number;
  /** the agent, once assigned ("" before) */
  agent: string;
  /** the skill group it waits in, while queued */
  queue: string;
  /** the session started while its business line was closed */
  afterHours: boolean;
  /** when the line opens next (Unix ms; 0: no opening ahead, or not after hours) */
  opensAtMs: number;
  /** the agents' internal notes, oldest first: only from session() and note(), for the session's agent and supervisors */
  notes: DeskNoteView[];
  /** the agents' tags (contact reasons, lower case), for the same readers as the notes */
  tags: string[];
  /** the session's first-response target in ms (0: its line has none), for the same readers as the notes */
  firstResponseTargetMs: number;
  /** when an agent's first message is due (Unix ms, in the line's opening hours; 0: no target, or the line never opens that much again) */
  firstResponseDueMs: number;
  /** when the session started (Unix ms), for the same readers as the notes */
  startedMs: number;
  /** while assigned, on a node with an answer timeout: when the session goes back to its queue unless its agent wrote in it since it was given (Unix ms; 0: not watched); stays set once the agent wrote, for the same readers as the notes */
  answerByMs: number;
  /** what the business told the desk about the customer (their plan, e-mail, orders), for the same readers as the notes */
  customerAttributes: Record<string, string>;
}

/** An agent's internal note about a session; its customer never sees it. */
export interface DeskNoteView {
  by: string;
  atMs: number;
  text: string;
}

/** A business line's targets (docs/DESK.md, "First-response targets"). */
export interface LineTargetsView {
  /** from the customer's asking to an agent's first message, in ms (0: none, the line has only its answer timeout) */
  first_response_ms: number;
  /** the line's own answer timeout in ms (absent or 0: the desk's; docs/DESK.md, "Unanswered sessions") */
  answer_timeout_ms?: number;
}

/** A business line's contact reasons over days (the admin API's answer). */
export interface LineReasonsView {
  line: string;
  from: string;
  to: string;
  /** sessions that started in the range and carry a tag, each once */
  tagged_sessions: number;
  /** sessions per tag, most first */
  tags: { tag: string; sessions: number }[];
}

export interface LineHoursView {
  /** an IANA time zone, e.g. "Europe/Berlin" */
  tz: string;
  /** "mon".."sun" to intervals, "09:00-12:00,13:00-18:00"; a day left out is closed */
  week: Record<string, string>;
  /** whole days closed, "YYYY-MM-DD" */
  closed_dates?: string[];
  /** what a customer who comes while the line is closed reads */
  message?: string;
}

/** A text an agent sends often, named for a menu. */
export interface DeskSavedReplyView {
  name: string;
  text: string;
}

/** An agent's own state. */
export interface DeskAgentView {
  user: string;
  /** the agent's display name (their profile's; "": none) */
  name: string;
  status: string;
  capacity: number;
  skills: string[];
  /** the sessions held and the slots in wrap-up */
  load: number;
  /** the session ids the agent holds */
  sessions: string[];
  /** may watch every queue and read the team's metrics (teamMetrics) */
  supervisor: boolean;
  /** slots that sessions the agent closed keep taken (the desk's wrap-up time), soonest to end first */
  wrapUp: { session: string; untilMs: number }[];
  /** who set the status last: the agent, a supervisor, "admin", "desk" (an unanswered session, a drop); "" when not known */
  statusBy: string;
  /** when the status was set (Unix ms; 0: not known) */
  statusSinceMs: number;
}

/** A skill group's queue as one of its agents sees it. */
export interface DeskQueueView {
  skill: string;
  /** the head of the queue, in order (the node bounds the list) */
  waiting: {
    conv: string;
    session: string;
    position: number;
    sinceMs: number;
    /** When its first response falls due (unix ms; 0: no target, or an agent has had it already). */
    firstResponseDueMs: number;
    /** The customer's priority in the line (0: none); the queue serves higher ones first. */
    priority: number;
    /** Who waits, and their display name (their profile's; "": none). */
    customer: string;
    customerName: string;
  }[];
  /** all waiting sessions */
  total: number;
  /** name: the agent's display name ("": none) */
  agents: { user: string; name: string; status: string; load: number; capacity: number }[];
}

/** A customer's rating of a session: the one that stands (the first). */
export interface DeskRatingView {
  session: string;
  /** 1 (bad) to 5 (good) */
  score: number;
  comment: string;
  /** the session had been rated before: this is that rating */
  duplicate: boolean;
}

type SessionMsg = {
  conv: string; session: string; state: string; queuePosition: number; queueWaitMs: bigint; agent: string; queue: string; afterHours: boolean; opensAtMs: bigint;
  notes: { by: string; atMs: bigint; text: string }[];
  tags: string[];
  firstResponseTargetMs: bigint; firstResponseDueMs: bigint; startedMs: bigint; answerByMs: bigint;
  customerAttributes: { [name: string]: string };
};
const sessionView = (v: SessionMsg): DeskSessionView => ({
  conv: v.conv, session: v.session, state: v.state, queuePosition: v.queuePosition, queueWaitMs: Number(v.queueWaitMs), agent: v.agent, queue: v.queue,
  afterHours: v.afterHours, opensAtMs: Number(v.opensAtMs), notes: v.notes.map((n) => ({ by: n.by, atMs: Number(n.atMs), text: n.text })),
  tags: [...v.tags], firstResponseTargetMs: Number(v.firstResponseTargetMs), firstResponseDueMs: Number(v.firstResponseDueMs),
  startedMs: Number(v.startedMs), answerByMs: Number(v.answerByMs), customerAttributes: { ...v.customerAttributes },
});

type AgentMsg = {
  user: string; name: string; status: string; capacity: number; skills: string[]; load: number; sessions: string[]; supervisor: boolean;
  wrapUp: { session: string; untilMs: bigint }[];
  statusBy: string; statusSinceMs: bigint;
};
const agentView = (v: AgentMsg): DeskAgentView => ({
  user: v.user, name: v.name, status: v.status, capacity: v.capacity, skills: [...v.skills], load: v.load, sessions: [...v.sessions], supervisor: v.supervisor,
  wrapUp: v.wrapUp.map((w) => ({ session: w.session, untilMs: Number(w.untilMs) })),
  statusBy: v.statusBy, statusSinceMs: Number(v.statusSinceMs),
});

/**
 * ServiceDesk: the desk requests a connected user makes for themselves
 * (docs/PROTOCOL.md, "Service desk"). Refusals reject with a
 * ProtocolError: FORBIDDEN (not the session's agent or customer, not a
 * registered agent, not an agent of that skill), NOT_FOUND (no such scene
 * or session), INVALID (malformed).
 */
export class ServiceDesk {
  constructor(private client: Client) {}

  /** enter: the user enters as a customer from a scene ("listing/123", or "listing" and data "123"). */
  async enter(scene: string, data = ""): Promise<DeskSessionView> {
    const r = await this.client.request({ case: "deskEnter", value: { scene, data } });
    if (r.result.case !== "deskEnter") throw new Error("desk_enter: unexpected answer");
    return sessionView(r.result.value);
  }
  /**
   * reach starts an outbound session: the user, an agent, writes to
   * customer first, in the business line of scene ("listing" with data, or
   * "listing/123"). BUSY while the agent is offline or full; EXISTS when
   * the customer has an open session in that line with someone else.
   */
  async reach(customer: string, scene: string, data = ""): Promise<DeskSessionView> {
    const r = await this.client.request({ case: "deskReach", value: { customer, scene, data } });
    if (r.result.case !== "deskReach") throw new Error("desk_reach: unexpected answer");
    return sessionView(r.result.value);
  }
  /** status sets the user's agent status (online, away, offline); no argument: reads the agent's state. */
  async status(status: "" | "online" | "away" | "offline" = ""): Promise<DeskAgentView> {
    const r = await this.client.request({ case: "deskStatus", value: { status } });
    if (r.result.case !== "deskStatus") throw new Error("desk_status: unexpected answer");
    return agentView(r.result.value);
  }
  /** endWrapUp: the user, an agent, is done with the sessions it closed; their slots in wrap-up free at once. */
  async endWrapUp(): Promise<DeskAgentView> {
    const r = await this.client.request({ case: "deskStatus", value: { endWrapUp: true } });
    if (r.result.case !== "deskStatus") throw new Error("desk_status: unexpected answer");
    return agentView(r.result.value);
  }
  /** agent: another agent's state, the sessions it holds included (to reassign one with transfer); supervisors only. */
  async agent(user: string): Promise<DeskAgentView> {
    const r = await this.client.request({ case: "deskStatus", value: { user } });
    if (r.result.case !== "deskStatus") throw new Error("desk_status: unexpected answer");
    // A server older than the field ignores it and answers the caller's own state.
    if (r.result.value.user !== user) throw new Error(`desk_status: asked for ${user}, answered ${r.result.value.user}: the server cannot read other agents`);
    return agentView(r.result.value);
  }
  /**
   * manageAgent: a supervisor changes another agent: its status (offline
   * hands its sessions back to their queues) and, with endWrapUp, the end
   * of its wrap-up. FORBIDDEN unless the user is a supervisor; NOT_FOUND
   * for a user who is no registered agent.
   */
  async manageAgent(user: string, change: { status?: "online" | "away" | "offline"; endWrapUp?: boolean }): Promise<DeskAgentView> {
    const r = await this.client.request({ case: "deskStatus", value: { user, status: change.status ?? "", endWrapUp: change.endWrapUp ?? false } });
    if (r.result.case !== "deskStatus") throw new Error("desk_status: unexpected answer");
    // A server older than the field ignores it: the change was the caller's own.
    if (r.result.value.user !== user) throw new Error(`desk_status: asked to change ${user}, answered ${r.result.value.user}: the server changed the caller instead`);
    return agentView(r.result.value);
  }
  /** queue: the waiting sessions of a skill group the user is an agent (or the supervisor) of ("@USER": the user's own queue). */
  async queue(skill: string): Promise<DeskQueueView> {
    const r = await this.client.request({ case: "deskQueue", value: { skill } });
    if (r.result.case !== "deskQueue") throw new Error("desk_queue: unexpected answer");
    const v = r.result.value;
    return {
      skill: v.skill,
      waiting: v.waiting.map((w) => ({
        conv: w.conv,
        session: w.session,
        position: w.position,
        sinceMs: Number(w.sinceMs),
        firstResponseDueMs: Number(w.firstResponseDueMs),
        priority: w.priority,
        customer: w.customer,
        customerName: w.customerName,
      })),
      total: v.totalWaiting,
      agents: v.agents.map((a) => ({ user: a.user, name: a.name, status: a.status, load: a.load, capacity: a.capacity })),
    };
  }
  /** transfer hands the session of conv, which the user holds, to "user:ID" or "queue:SKILL" with an internal note. */
  async transfer(conv: string, to: string, note = ""): Promise<DeskSessionView> {
    const r = await this.client.request({ case: "deskTransfer", value: { conv, to, note } });
    if (r.result.case !== "deskTransfer") throw new Error("desk_transfer: unexpected answer");
    return sessionView(r.result.value);
  }
  /**
   * session reads the session of conv: its customer sees its state, its
   * agent (once closed, the agent who held it last) and supervisors also
   * the internal notes.
   */
  async session(conv: string): Promise<DeskSessionView> {
    const r = await this.client.request({ case: "deskSession", value: { conv } });
    if (r.result.case !== "deskSession") throw new Error("desk_session: unexpected answer");
    return sessionView(r.result.value);
  }
  /**
   * note adds an internal note to the session of conv, as its agent or a
   * supervisor; its customer never sees it. Resolves to the session with
   * every note. TOO_LARGE past the node's note size, TOO_MANY past its
   * notes per session.
   */
  async note(conv: string, text: string): Promise<DeskSessionView> {
    const r = await this.client.request({ case: "deskNote", value: { conv, text } });
    if (r.result.case !== "deskNote") throw new Error("desk_note: unexpected answer");
    return sessionView(r.result.value);
  }
  /**
   * tag adds and removes tags (contact reasons) of the session of conv, as
   * its agent (once closed, its last one) or a supervisor: removals first,
   * then additions; names of 1-32 letters, digits, _ and -, folded to lower
   * case. Its customer never sees them. Resolves to the session with its
   * tags and notes. TOO_MANY past the node's tags per session.
   */
  async tag(conv: string, change: { add?: string[]; remove?: string[] }): Promise<DeskSessionView> {
    const r = await this.client.request({ case: "deskTag", value: { conv, add: change.add ?? [], remove: change.remove ?? [] } });
    if (r.result.case !== "deskTag") throw new Error("desk_tag: unexpected answer");
    return sessionView(r.result.value);
  }
  /** close ends the session of conv; the user is its agent or its customer. */
  async close(conv: string, reason = ""): Promise<DeskSessionView> {
    const r = await this.client.request({ case: "deskClose", value: { conv, reason } });
    if (r.result.case !== "deskClose") throw new Error("desk_close: unexpected answer");
    return sessionView(r.result.value);
  }
  /**
   * rate: the customer rates the session of conv once it is closed, 1
   * (bad) to 5 (good), with an optional comment. Once per session: a
   * second rating resolves with the first (duplicate). INVALID: still
   * open, abandoned in a queue, past the node's rating window, a score
   * out of range or a comment too long.
   */
  async rate(conv: string, score: number, comment = ""): Promise<DeskRatingView> {
    const r = await this.client.request({ case: "deskRate", value: { conv, score, comment } });
    if (r.result.case !== "deskRate") throw new Error("desk_rate: unexpected answer");
    const v = r.result.value;
    return { session: v.session, score: v.score, comment: v.comment, duplicate: v.duplicate };
  }
  /**
   * savedReplies: a business line's saved replies (the LINE of a desk
   * conversation "s:LINE:CUSTOMER:N"), in the admin's order, for an agent
   * to send one as their own message. FORBIDDEN unless the user is a
   * registered agent.
   */
  async savedReplies(line: string): Promise<DeskSavedReplyView[]> {
    const r = await this.client.request({ case: "deskReplies", value: { line } });
    if (r.result.case !== "deskReplies") throw new Error("desk_replies: unexpected answer");
    return r.result.value.replies.map((x) => ({ name: x.name, text: x.text }));
  }
  /**
   * savedRepliesFor: the saved replies of conv's line, for the agent who
   * holds that session (or a supervisor), their placeholders filled for
   * it: "Hi {customer_name|there}, I'm {agent_name}" reads "Hi Sam, I'm
   * Ann" ({customer.KEY}: what the business told the desk about the
   * customer). FORBIDDEN for anyone else.
   */
  async savedRepliesFor(conv: string): Promise<DeskSavedReplyView[]> {
    if (!conv) throw new Error("savedRepliesFor: a desk conversation");
    const r = await this.client.request({ case: "deskReplies", value: { line: "", conv } });
    if (r.result.case !== "deskReplies") throw new Error("desk_replies: unexpected answer");
    return r.result.value.replies.map((x) => ({ name: x.name, text: x.text }));
  }
  /**
   * myMetrics: the user's own service metrics in a window family the node
   * keeps ("1h"; "30s/15s" sliding): the newest `limit` windows with
   * activity, newest first. INVALID: a window the engine does not keep.
   */
  async myMetrics(window = "1h", limit = 1): Promise<MyMetricsView> {
    return this.metrics("", window, limit);
  }
  /**
   * teamMetrics: a supervisor's view of another key's metrics, as
   * myMetrics: an agent's id, "*" for the whole desk, "line:NAME" for a
   * business line. FORBIDDEN unless the desk marks the user a supervisor.
   */
  async teamMetrics(key: string, window = "1h", limit = 1): Promise<MyMetricsView> {
    return this.metrics(key, window, limit);
  }
  private async metrics(key: string, window: string, limit: number): Promise<MyMetricsView> {
    const r = await this.client.request({ case: "myMetrics", value: { window, limit, key } });
    if (r.result.case !== "myMetrics") throw new Error("my_metrics: unexpected answer");
    return myMetricsView(r.result.value);
  }
}

export interface EnterResult {
  conv: string;
  session: string;
  agent: string | null;
  queue_position: number;
}

/** One window of an agent's service metrics (GET /api/v1/metrics, docs/METRICS.md). */
export interface MetricsRow {
  key: string;
  window_start: string;
  window_end: string;
  questions: number;
  timely: number;
  timely_rate: number;
  avg_response_ms: number;
  sessions: number;
  avg_first_response_ms: number;
  /** customers' ratings, their average (1-5), and the share of 4 and 5 (CSAT) */
  ratings: number;
  avg_rating: number;
  csat_rate: number;
  /** desk sessions' first responses: from the customer's asking to the first agent message, across any gap */
  desk_first_responses: number;
  desk_first_timely: number;
  desk_first_timely_rate: number;
  avg_desk_first_response_ms: number;
  /** the agents' handling: spans ended by a close, transfer or requeue; those the close ended; their average length */
  desk_handled: number;
  desk_resolved: number;
  avg_handle_ms: number;
  /** desk sessions taken back from the agent unanswered (the answer timeout) */
  desk_missed: number;
  final: boolean;
}

/** Desk: the admin HTTP API's desk endpoints (an admin token; acts for any user). */
export class Desk {
  constructor(
    private adminUrl: string,
    private adminToken = "",
    private f: typeof fetch = (input, init) => fetch(input, init),
  ) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    if (this.adminToken) headers.Authorization = `Bearer ${this.adminToken}`;
    const r = await this.f(this.adminUrl.replace(/\/$/, "") + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    if (!r.ok) throw new Error(`desk ${method} ${path}: HTTP ${r.status}: ${text}`);
    return (text ? JSON.parse(text) : {}) as T;
  }

  enter(user: string, scene: string): Promise<EnterResult> {
    return this.call("POST", "/api/v1/desk/enter", { user, scene });
  }
  /** priority sets a customer's priority in a business line (0 none to 9): its queues serve higher priorities first. */
  priority(line: string, customer: string, priority: number): Promise<{ line: string; customer: string; priority: number }> {
    return this.call("POST", "/api/v1/desk/priority", { line, customer, priority });
  }
  /** reach: agent writes to customer first (an outbound session), e.g. from a CRM's "contact" button. */
  reach(agent: string, customer: string, scene: string): Promise<EnterResult> {
    return this.call("POST", "/api/v1/desk/reach", { user: agent, customer, scene });
  }
  agent(user: string, change?: { status?: string; capacity?: number; skills?: string[]; end_wrap_up?: boolean }): Promise<unknown> {
    return change ? this.call("POST", `/api/v1/desk/agents/${encodeURIComponent(user)}`, change) : this.call("GET", `/api/v1/desk/agents/${encodeURIComponent(user)}`);
  }
  queue(skill: string): Promise<unknown> {
    return this.call("GET", `/api/v1/desk/queues/${encodeURIComponent(skill)}`);
  }
  session(conv: string, user = ""): Promise<unknown> {
    return this.call("GET", `/api/v1/desk/sessions/${encodeURIComponent(conv)}${user ? `?user=${encodeURIComponent(user)}` : ""}`);
  }
  handover(user: string, conv: string): Promise<unknown> {
    return this.call("POST", "/api/v1/desk/handover", { user, conv });
  }
  transfer(user: string, conv: string, to: string, note = ""): Promise<unknown> {
    return this.call("POST", "/api/v1/desk/transfer", { user, conv, to, note });
  }
  /** rate: the customer rates the closed session of conv (1 bad to 5 good), for an app that rates through its back end. */
  rate(user: string, conv: string, score: number, comment = ""): Promise<unknown> {
    return this.call("POST", "/api/v1/desk/rate", { user, conv, score, comment });
  }
  /**
   * setHours sets a business line's opening hours (tz: an IANA zone; week:
   * "mon".."sun" to "09:00-12:00,13:00-18:00"; a day left out is closed);
   * null makes the line always open again. docs/DESK.md, "Business hours".
   */
  setHours(line: string, hours: LineHoursView | null): Promise<{ line: string; hours: LineHoursView | null }> {
    const path = `/api/v1/desk/lines/${encodeURIComponent(line)}/hours`;
    return hours ? this.call("PUT", path, hours) : this.call("DELETE", path);
  }
  /** hours: a business line's opening hours, null if it is always open. */
  hours(line: string): Promise<{ line: string; hours: LineHoursView | null }> {
    return this.call("GET", `/api/v1/desk/lines/${encodeURIComponent(line)}/hours`);
  }
  /**
   * setTargets sets a business line's first-response target (ms, 1 s to 30
   * days), recorded by the sessions that start after it and counted by the
   * metrics; null removes it. docs/DESK.md, "First-response targets".
   */
  setTargets(line: string, targets: LineTargetsView | null): Promise<{ line: string; targets: LineTargetsView | null }> {
    const path = `/api/v1/desk/lines/${encodeURIComponent(line)}/targets`;
    return targets ? this.call("PUT", path, targets) : this.call("DELETE", path);
  }
  /** targets: a business line's targets, null if it has none. */
  targets(line: string): Promise<{ line: string; targets: LineTargetsView | null }> {
    return this.call("GET", `/api/v1/desk/lines/${encodeURIComponent(line)}/targets`);
  }
  /**
   * reasons: a business line's contact reasons, sessions per tag, over the
   * line's days from..to ("YYYY-MM-DD" in the zone of its opening hours,
   * both included; by default the week to today). docs/DESK.md, "Tags:
   * contact reasons".
   */
  reasons(line: string, from = "", to = ""): Promise<LineReasonsView> {
    const q = new URLSearchParams();
    if (from) q.set("from", from);
    if (to) q.set("to", to);
    const query = q.size > 0 ? `?${q}` : "";
    return this.call("GET", `/api/v1/desk/lines/${encodeURIComponent(line)}/reasons${query}`);
  }
  /** setSavedReplies replaces a business line's saved replies (an empty list removes them). */
  setSavedReplies(line: string, replies: DeskSavedReplyView[]): Promise<{ line: string; replies: DeskSavedReplyView[] }> {
    return this.call("PUT", `/api/v1/desk/lines/${encodeURIComponent(line)}/replies`, { replies });
  }
  /** metrics: agent's service metrics per window (window: one of the engine's window sizes, by default "1m" or "1h"). */
  async metrics(agent: string, window = "1h"): Promise<MetricsRow[]> {
    const r = await this.call<{ rows: MetricsRow[] }>("GET", `/api/v1/metrics?key=${encodeURIComponent(agent)}&window=${encodeURIComponent(window)}`);
    return r.rows ?? [];
  }
  close(user: string, conv: string, reason = ""): Promise<unknown> {
    return this.call("POST", "/api/v1/desk/close", { user, conv, reason });
  }
}
