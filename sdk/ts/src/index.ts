export { Client, MEDIA_CHUNK_BYTES, ProtocolError, directConv, type ClientOptions, type ClientEvents, type ConnState } from "./client.js";
export { Conversation, parseCard, type Card, type ChatMessage, type MediaInfo, type MessageState, type Reaction } from "./store.js";
export { Desk, ServiceDesk, type DeskAgentView, type DeskQueueView, type DeskRatingView, type DeskSavedReplyView, type DeskSessionView, type EnterResult, type LineHoursView, type MetricsRow } from "./desk.js";
export type { MyMetricsRow, MyMetricsView } from "./mymetrics.js";
export { FrameReader, FrameError, encodeFrame, DEFAULT_MAX_FRAME } from "./frames.js";
export { backoffDelay } from "./backoff.js";
export { OUTBOX_PREFIX, type OutboxStorage, type SavedMessage } from "./outbox.js";
export type { TransportKind } from "./links.js";
export { Code } from "./gen/wire_pb.js";
