// my_metrics: a user's own service metrics from the metrics engine
// (docs/PROTOCOL.md, "My metrics"; columns in docs/METRICS.md).

import type { MyMetricsResult } from "./gen/wire_pb.js";

/** One window of the user's own metrics; averages in milliseconds (0: nothing to average). */
export interface MyMetricsRow {
  windowStartMs: number;
  windowEndMs: number;
  questions: number;
  timely: number;
  /** the reply rate: timely / questions */
  timelyRate: number;
  avgResponseMs: number;
  msgQuestions: number;
  msgTimely: number;
  msgTimelyRate: number;
  avgMsgResponseMs: number;
  sessions: number;
  avgSessionMs: number;
  avgSessionMessages: number;
  avgFirstResponseMs: number;
  queueWaits: number;
  avgQueueWaitMs: number;
  abandoned: number;
  /** customers' ratings placed in the window */
  ratings: number;
  /** their average score, 1 to 5 */
  avgRating: number;
  /** ratings of 4 or 5 */
  satisfied: number;
  /** CSAT: satisfied / ratings */
  csatRate: number;
  /** desk sessions whose first agent message is in the window */
  deskFirstResponses: number;
  /** of them, within the line's target (else the reply threshold) */
  deskFirstTimely: number;
  deskFirstTimelyRate: number;
  /** from the customer's asking to the first agent message, across any gap */
  avgDeskFirstResponseMs: number;
  /** desk sessions' ownership spans that ended in the window (a close, transfer or requeue) */
  deskHandled: number;
  /** of them, ended by the close */
  deskResolved: number;
  /** from the assignment or transfer to the end */
  avgHandleMs: number;
  /** desk sessions taken back from the agent unanswered (the answer timeout) */
  deskMissed: number;
  /** no later event changes the row */
  final: boolean;
}

export interface MyMetricsView {
  user: string;
  /** whose rows: the user's id, or the key a supervisor asked for */
  key: string;
  window: string;
  /** newest first */
  rows: MyMetricsRow[];
}

export const myMetricsView = (v: MyMetricsResult): MyMetricsView => ({
  user: v.user,
  key: v.key || v.user,
  window: v.window,
  rows: v.rows.map((r) => ({
    windowStartMs: Number(r.windowStartMs),
    windowEndMs: Number(r.windowEndMs),
    questions: Number(r.questions),
    timely: Number(r.timely),
    timelyRate: r.timelyRate,
    avgResponseMs: r.avgResponseMs,
    msgQuestions: Number(r.msgQuestions),
    msgTimely: Number(r.msgTimely),
    msgTimelyRate: r.msgTimelyRate,
    avgMsgResponseMs: r.avgMsgResponseMs,
    sessions: Number(r.sessions),
    avgSessionMs: r.avgSessionMs,
    avgSessionMessages: r.avgSessionMessages,
    avgFirstResponseMs: r.avgFirstResponseMs,
    queueWaits: Number(r.queueWaits),
    avgQueueWaitMs: r.avgQueueWaitMs,
    abandoned: Number(r.abandoned),
    ratings: Number(r.ratings),
    avgRating: r.avgRating,
    satisfied: Number(r.satisfied),
    csatRate: r.csatRate,
    deskFirstResponses: Number(r.deskFirstResponses),
    deskFirstTimely: Number(r.deskFirstTimely),
    deskFirstTimelyRate: r.deskFirstTimelyRate,
    avgDeskFirstResponseMs: r.avgDeskFirstResponseMs,
    deskHandled: Number(r.deskHandled),
    deskResolved: Number(r.deskResolved),
    avgHandleMs: r.avgHandleMs,
    deskMissed: Number(r.deskMissed),
    final: r.final,
  })),
});
