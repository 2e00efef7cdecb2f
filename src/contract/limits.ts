/**
 * Limits on untrusted event input. Producers and workers apply the same values; a worker may be
 * configured stricter than a producer, never looser by accident.
 */
export interface Limits {
  /** Largest event, measured as the UTF-8 size of its JSON text (escapes not counted). @defaultValue 65536 */
  maxEventBytes: number;
  /** Deepest nesting of objects and arrays inside an event, the envelope counting as 1. @defaultValue 16 */
  maxDepth: number;
  /** Longest string inside free-form JSON (`data`, `meta`, `state` ...). @defaultValue 16384 */
  maxStringLength: number;
  /** Longest object key. @defaultValue 256 */
  maxKeyLength: number;
  /**
   * Largest document `value` (doc.put), measured like an event. A doc.put event may exceed
   * maxEventBytes by up to this much. @defaultValue 262144
   */
  maxDocumentBytes: number;
  /**
   * Largest `agent.log` `prompt`, `response` and `thinking`, each: the UTF-8 bytes of the text. These
   * three are not counted in maxEventBytes (a 4X game's prompt carries its whole state) nor held to
   * maxStringLength; the rest of the event is. @defaultValue 1048576
   */
  maxAgentTextBytes: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxEventBytes: 64 * 1024,
  maxDepth: 16,
  maxStringLength: 16 * 1024,
  maxKeyLength: 256,
  maxDocumentBytes: 256 * 1024,
  maxAgentTextBytes: 1024 * 1024,
});

/** The `agent.log` fields held to maxAgentTextBytes each instead of the event's size. */
export const AGENT_TEXT_FIELDS = ['prompt', 'response', 'thinking'] as const;

/**
 * The largest event the limits allow, by its measured bytes: a doc.put with its document, or an
 * agent.log with its three texts. The SDK sends such an event alone in a job.
 */
export function largestEventBytes(l: Limits): number {
  return l.maxEventBytes + Math.max(l.maxDocumentBytes, AGENT_TEXT_FIELDS.length * l.maxAgentTextBytes);
}

/** Largest live session state by default (GP_MAX_STATE_BYTES): the JSON text's UTF-8 bytes. */
export const DEFAULT_MAX_STATE_BYTES = 1024 * 1024;

/** Contract version written into every job and event. */
export const CONTRACT_VERSION = 1;

/** Default BullMQ queue name and key prefix. The prefix may carry a Redis Cluster hash tag, e.g. `{gp}`. */
export const DEFAULT_QUEUE_NAME = 'events';
export const DEFAULT_QUEUE_PREFIX = 'gp';
/** BullMQ job name used for event jobs. */
export const EVENT_JOB_NAME = 'events';
/** Event bytes one job may carry; past this a worker dead-letters its remaining events (replayable alone). */
export const MAX_JOB_EVENT_BYTES = 4 * 1024 * 1024;
/** Most events one job may carry; larger jobs are refused by the SDK and dead-lettered past this by workers. */
export const MAX_EVENTS_PER_JOB = 5000;
/**
 * BullMQ job name of an issued-seq report (`{ v: 1, events: [], issued: [{ sessionId, seq }] }`): the
 * highest seq a producer issued per session, sent after the queue's Redis may have rolled back
 * (docs/contract.md, "Issued-seq reports"). Workers read `issued` from any job; the name is for people.
 */
export const ISSUED_JOB_NAME = 'issued';
/** Most sessions one job's `issued` list may carry; past this a worker dead-letters the rest. */
export const MAX_ISSUED_PER_JOB = 1000;

/** Redis key holding the last sequence number handed out for a session (SDK and other publishers share it). */
export function sequenceKey(prefix: string, sessionId: string): string {
  return `${prefix}:seq:${sessionId}`;
}
