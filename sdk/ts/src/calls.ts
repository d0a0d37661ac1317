// Calls: the node rings, relays the two devices' WebRTC signalling (the
// SDP offer and answer, ICE candidates: opaque bytes to the node and this
// SDK) and records how each call ended; the media flow between the
// devices, through RTCPeerConnection. docs/PROTOCOL.md, "Calls".

import { CallEvent_Kind, type Call as WireCall, type CallEvent as WireCallEvent } from "./gen/wire_pb.js";

/** A call in a direct or a service conversation, ringing (answeredMs 0) or answered. */
export interface CallView {
  id: string;
  conv: string;
  caller: string;
  callerDevice: string;
  callee: string;
  video: boolean;
  startedMs: number;
  answeredMs: number;
  /** The callee's device that answered ("" while it rings). */
  answeredDevice: string;
  /** callState's, to the callee while the call rings: the caller's offer, to answer on a device that connected after the ring. */
  offer?: Uint8Array;
}

export type CallStep = "ringing" | "accepted" | "signal" | "ended";

/** How a call ended. */
export type CallOutcome = "missed" | "declined" | "cancelled" | "ended" | "dropped";

/** One step of a call, the `call` event's. */
export interface CallEventView {
  step: CallStep;
  call: CallView;
  /** ringing: the caller's offer; accepted (to the caller): the answer; signal: the other side's. */
  payload: Uint8Array;
  /** ended: how. */
  outcome?: CallOutcome;
  /** ended: a decline's or a hang-up's reason ("busy"). */
  reason: string;
  /** ended after an answer: from the answer to the end. */
  durationMs: number;
  /** ended: the system message recording it (0: none was written). */
  seq: number;
}

/** How often the SDK tells the node that this device is still in a call it started or answered. */
export const CALL_ALIVE_EVERY_MS = 15_000;

/**
 * How long after a reconnect the SDK says once more that this device is
 * in its calls (it says so at once too): a call step sent while the node
 * was still registering the new connection reached no device.
 */
export const CALL_RECHECK_MS = 2_000;

/** The pattern of a call's id, the caller's own. */
export const CALL_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** A fresh call id (a UUID, as the SDK's client message ids). */
export function newCallId(): string {
  return (globalThis.crypto as Crypto).randomUUID();
}

export function callView(c: WireCall | undefined): CallView | undefined {
  if (!c) return undefined;
  return {
    id: c.id,
    conv: c.conv,
    caller: c.caller,
    callerDevice: c.callerDevice,
    callee: c.callee,
    video: c.video,
    startedMs: Number(c.startedMs),
    answeredMs: Number(c.answeredMs),
    answeredDevice: c.answeredDevice,
  };
}

const steps: Record<CallEvent_Kind, CallStep> = {
  [CallEvent_Kind.RINGING]: "ringing",
  [CallEvent_Kind.ACCEPTED]: "accepted",
  [CallEvent_Kind.SIGNAL]: "signal",
  [CallEvent_Kind.ENDED]: "ended",
};

const outcomes = new Set<string>(["missed", "declined", "cancelled", "ended", "dropped"]);

/** The view of a CALL signal's event; undefined for one this SDK does not know. */
export function callEventView(e: WireCallEvent | undefined): CallEventView | undefined {
  const call = callView(e?.call);
  const step = e ? steps[e.kind] : undefined;
  if (!e || !call || !step) return undefined;
  return {
    step,
    call,
    payload: e.payload,
    outcome: outcomes.has(e.outcome) ? (e.outcome as CallOutcome) : undefined,
    reason: e.reason,
    durationMs: Number(e.durationMs),
    seq: Number(e.seq),
  };
}
