// A conversation's sends are pipelined: up to a window of them are written
// before the first is answered, in queue order, each naming the send ahead
// of it (after_client_msg_id). The server runs them in the order written
// and refuses BUSY a send written behind one it refused transiently, so a
// refusal never lets a later message be sequenced first (PROTOCOL.md,
// "Pipelined sends"). On a transient refusal or a lost connection the
// pipeline stops writing, waits until every send of it in flight is
// answered, backs off (at least the server's retry-after) and writes again
// from the oldest unacknowledged send.
//
// The window is a congestion window, as TCP's: a BUSY shrinks it to one
// send and each acknowledged send widens it by one, up to the pipeline
// size, so a shedding node is not handed a whole pipeline to refuse behind
// each refusal every time the client comes back.
//
// This mirrors the Go SDK (transport/client/pipeline.go and busy.go).

import { Code, type Response } from "./gen/wire_pb.js";
import { backoffDelay } from "./backoff.js";

/** ProtocolError is a request refused by the server. */
export class ProtocolError extends Error {
  constructor(
    readonly code: Code,
    message: string,
    /** With BUSY, STORAGE_UNAVAILABLE and RATE_LIMITED: how long the server asked to wait (ms); with SLOW_MODE: until the member may post again. */
    readonly retryAfterMs = 0,
  ) {
    super(`${Code[code] ?? code}: ${message}`);
  }
}

/**
 * slowModeWait: the ms until the member may post again when err is a send
 * refused by a group's slow mode (show a countdown; the client does not
 * resend it), else undefined.
 */
export function slowModeWait(err: unknown): number | undefined {
  return err instanceof ProtocolError && err.code === Code.SLOW_MODE ? err.retryAfterMs : undefined;
}

// Codes after which the same request (same client_msg_id) is retried.
const transientCodes = new Set<Code>([Code.RETRY, Code.INTERNAL, Code.RATE_LIMITED, Code.TIMEOUT, Code.UNAVAILABLE, Code.GOING_AWAY, Code.BUSY, Code.STORAGE_UNAVAILABLE]);

/**
 * A refusal that asks to wait longer than this (a new direct conversation
 * past the user's hourly bound) fails the send instead of holding it:
 * the app tells its user.
 */
export const maxRetryAfterMs = 60_000;

/** isTransient: the request may go again (a refusal that may pass, or a lost connection). */
export function isTransient(e: unknown): boolean {
  return !(e instanceof ProtocolError) || transientCodes.has(e.code);
}

/**
 * BusyHold is the client-wide back-off a BUSY answer starts: honouring a
 * retry-after only for the refused send is not enough, since every other
 * send would keep reaching the node, and each refusal costs the node about
 * what an accepted send costs. So after a BUSY with a retry-after no send
 * of the client is written until it has passed. Only sends are held: sync,
 * history, acks and pings are few and keep the client's state current.
 */
export class BusyHold {
  private until = 0;
  /** Sends that waited for a hold. */
  held = 0;

  /** maxMs bounds one hold; ≤ 0: no hold. */
  constructor(
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * note starts or extends the hold when e is a BUSY with a retry-after:
   * the retry-after plus up to a quarter more (which spreads the sends that
   * all waited for the same hold), never more than maxMs.
   */
  note(e: unknown): void {
    if (this.maxMs <= 0 || !(e instanceof ProtocolError) || e.code !== Code.BUSY || e.retryAfterMs <= 0) return;
    const d = Math.min(e.retryAfterMs + Math.floor(this.random() * (e.retryAfterMs / 4 + 1)), this.maxMs);
    this.until = Math.max(this.until, this.now() + d);
  }

  /** left is how long the current hold still runs (ms; 0: none). */
  left(): number {
    return Math.max(0, this.until - this.now());
  }
}

/** What a pipeline needs of its client. */
export interface PipelineHost<M> {
  /** The current connection's number, undefined while there is none (nothing is written then). */
  conn(): number | undefined;
  /** write sends m on the current connection, naming after (the unanswered send ahead of it, or ""). */
  write(m: M, after: string): Promise<Response>;
  /** m is stored (r is the send's answer). */
  done(m: M, r: Response): void;
  /** m is refused for good. */
  failed(m: M, e: Error): void;
}

export interface PipelineOptions {
  /** At most this many sends in flight (at least 1). */
  window: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  hold: BusyHold;
  random?: () => number;
}

/** SendPipeline delivers one conversation's sends in order. */
export class SendPipeline<M extends { clientMsgId: string }> {
  /** The unanswered sends in queue order; the first `inflight` are written and unanswered. */
  private list: M[] = [];
  private inflight = 0;
  private connOf = -1; // the connection of the sends in flight
  private cwnd: number;
  // paused: a send was refused or lost; nothing is written until every
  // send in flight is answered, then (with backoff) after a delay.
  private paused = false;
  private backoff = false;
  private retryAfter = 0;
  private attempt = 0;
  private timer?: ReturnType<typeof setTimeout>;
  private stopped = false;
  /** BUSY answers this pipeline got. */
  busy = 0;

  constructor(
    private readonly host: PipelineHost<M>,
    private readonly opts: PipelineOptions,
  ) {
    this.cwnd = Math.max(1, opts.window);
  }

  /** size is how many sends are not answered yet. */
  get size(): number {
    return this.list.length;
  }

  /** window is how many sends may be in flight now. */
  get window(): number {
    return Math.max(1, Math.min(this.cwnd, this.opts.window));
  }

  /** add queues m behind the conversation's other sends. */
  add(m: M): void {
    this.list.push(m);
    this.pump();
  }

  /** stop ends the pipeline for good (the client closed). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** pump writes what may be written now; the client calls it once connected. */
  pump(): void {
    if (this.stopped || this.timer) return;
    if (this.paused) {
      if (this.inflight > 0) return; // the answers of the sends in flight come first
      if (this.backoff) {
        const wait = Math.max(backoffDelay(this.attempt++, this.opts.minBackoffMs, this.opts.maxBackoffMs, this.opts.random), this.retryAfter);
        this.backoff = false;
        this.retryAfter = 0;
        this.wake(wait, () => (this.paused = false));
        return;
      }
      this.paused = false;
    }
    this.fill();
  }

  private wake(ms: number, then?: () => void): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      then?.();
      this.pump();
    }, ms);
  }

  // fill writes sends until the window is full or none is left.
  private fill(): void {
    while (!this.paused && this.inflight < this.list.length) {
      const cn = this.host.conn();
      if (cn === undefined) return; // written once connected
      if (this.inflight > 0 && (this.inflight >= this.window || cn !== this.connOf)) {
        // Full, or the connection changed: what follows must not be
        // written on another connection while sends ahead of it are
        // unanswered on this one, whose server knows their refusals.
        return;
      }
      const left = this.opts.hold.left();
      if (left > 0) {
        this.opts.hold.held++;
        this.wake(left);
        return;
      }
      this.connOf = cn;
      const m = this.list[this.inflight];
      const after = this.inflight > 0 ? this.list[this.inflight - 1].clientMsgId : "";
      this.inflight++;
      let w: Promise<Response>;
      try {
        w = this.host.write(m, after);
      } catch (e) {
        w = Promise.reject(e);
      }
      w.then(
        (r) => this.outcome(m, r, undefined),
        (e) => this.outcome(m, undefined, e instanceof Error ? e : new Error(String(e))),
      );
    }
  }

  // outcome settles m's answer: stored, failed for good, or to be sent
  // again (the pipeline pauses).
  private outcome(m: M, r: Response | undefined, e: Error | undefined): void {
    this.inflight--;
    if (this.stopped) return;
    if (!e) {
      this.remove(m);
      this.attempt = 0;
      this.cwnd = Math.min(this.cwnd + 1, this.opts.window);
      this.host.done(m, r!);
    } else {
      this.opts.hold.note(e);
      if (e instanceof ProtocolError && e.code === Code.BUSY) {
        this.busy++;
        this.cwnd = 1;
      }
      if (!isTransient(e) || (e instanceof ProtocolError && e.retryAfterMs > maxRetryAfterMs)) {
        this.remove(m);
        this.host.failed(m, e);
      } else {
        this.paused = true;
        this.backoff = true;
        // The server said when (BUSY, STORAGE_UNAVAILABLE): not before;
        // the backoff's jitter still spreads the retries.
        if (e instanceof ProtocolError && e.retryAfterMs > 0) this.retryAfter = Math.max(this.retryAfter, e.retryAfterMs);
      }
    }
    this.pump();
  }

  private remove(m: M): void {
    const i = this.list.indexOf(m);
    if (i >= 0) this.list.splice(i, 1);
  }
}
