/**
 * Typed errors. Callers branch on the class or on `code`, never on message text.
 */
export class GamePersistError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** An event broke the v1 contract. `field` names the offending path, e.g. `data.target`. */
export class ContractError extends GamePersistError {
  readonly field: string;
  readonly reason: string;
  readonly eventType: string | undefined;
  readonly eventId: string | undefined;
  constructor(field: string, reason: string, ctx: { type?: unknown; id?: unknown } = {}) {
    const type = typeof ctx.type === 'string' ? ctx.type.slice(0, 64) : undefined;
    const id = typeof ctx.id === 'string' ? ctx.id.slice(0, 64) : undefined;
    super('invalid_event', `invalid ${type ?? 'event'}${id ? ` ${id}` : ''}: ${field} ${reason}`);
    this.field = field;
    this.reason = reason;
    this.eventType = type;
    this.eventId = id;
  }
}

/** A configuration variable is missing or malformed. */
export class ConfigError extends GamePersistError {
  readonly variable: string;
  constructor(variable: string, reason: string) {
    super('invalid_config', `${variable} ${reason}`);
    this.variable = variable;
  }
}

/** The producer's bounded buffer is full: the queue's store (Redis or PostgreSQL) is slower than the game, or unreachable. */
export class BackpressureError extends GamePersistError {
  constructor(buffered: number, limit: number) {
    super('backpressure', `producer buffer is full (${buffered}/${limit} events not yet enqueued); retry later or raise maxBufferedEvents`);
  }
}

/**
 * Why events were not enqueued (`EnqueueError.reason`), stable for callers to branch on:
 * - `redis_unavailable`: Redis did not become reachable (or finish loading its data) within
 *   `readyTimeoutMs`, or the connection dropped before it answered.
 * - `redis_out_of_memory`: Redis refused the write (maxmemory reached with `noeviction`); workers must
 *   drain the queue or Redis needs more memory.
 * - `sequence_seed_failed`: the producer's `sequenceSeed` failed, so no sequence number could be drawn
 *   safely for the event's session.
 * - `redis_error`: any other error Redis answered with (its message is kept).
 * - `postgres_unavailable`, `postgres_error`: the same two for a producer on the PostgreSQL queue
 *   backend (GP_QUEUE_BACKEND=postgres): PostgreSQL not reachable within `readyTimeoutMs` or the
 *   connection lost; or an error it answered with (e.g. the queue schema was never migrated).
 */
export type EnqueueReason = 'redis_unavailable' | 'redis_out_of_memory' | 'sequence_seed_failed' | 'redis_error' | 'postgres_unavailable' | 'postgres_error';

/**
 * Events could not be written to the queue (Redis, or PostgreSQL on that backend). `events` holds them in wire form, ids and any sequence numbers
 * already assigned included: emitting them again (`producer.emit(e)`) is safe, since workers
 * deduplicate by id even if a send that looked failed did reach the queue. `reason` says why; the message
 * explains it in plain words and `cause` keeps the underlying error (client internals stay there).
 */
export class EnqueueError extends GamePersistError {
  readonly eventIds: string[];
  readonly events: Record<string, unknown>[];
  readonly reason: EnqueueReason;
  constructor(events: Record<string, unknown>[], cause: unknown, explained?: { reason: EnqueueReason; message: string }) {
    super('enqueue_failed', `could not enqueue ${events.length} event(s): ${explained?.message ?? errorMessage(cause)}`, { cause });
    this.events = events;
    this.eventIds = events.map((e) => String(e.id));
    this.reason = explained?.reason ?? 'redis_error';
  }
}

/**
 * `producer.ready()` gave up: the queue's store (Redis, or PostgreSQL on that backend) did not answer
 * within the time it was given. `reason` is `redis_unavailable` or `postgres_unavailable` when it was
 * unreachable the whole time, another EnqueueReason when it answered with an error (kept as `cause`).
 */
export class NotReadyError extends GamePersistError {
  readonly reason: EnqueueReason;
  constructor(waitedMs: number, cause: unknown, explained: { reason: EnqueueReason; message: string }) {
    super('not_ready', `the queue's store was not ready after ${waitedMs} ms: ${explained.message}`, { cause });
    this.reason = explained.reason;
  }
}

/** The producer was closed; nothing more can be emitted. */
export class ClosedError extends GamePersistError {
  constructor(what: string) {
    super('closed', `${what} is closed`);
  }
}

/** A precondition for running (Redis policy, migrations) does not hold. */
export class PreconditionError extends GamePersistError {
  constructor(code: string, message: string) {
    super(code, message);
  }
}

/**
 * A start (the worker's) was stopped by SIGTERM/SIGINT before it finished. What it had opened is closed
 * again; nothing was consumed. Not a failure: the process exits 0.
 */
export class StartStoppedError extends GamePersistError {
  constructor() {
    super('start_stopped', 'stopped by a signal before the start finished');
  }
}

/** An analytics request that cannot be answered as asked (unknown metric, bad period). */
export class AnalyticsError extends GamePersistError {
  constructor(message: string) {
    super('bad_request', message);
  }
}

/** A wait ran out of time before what it waited for happened (e.g. `waitPersisted`). */
export class TimeoutError extends GamePersistError {
  constructor(message: string) {
    super('timeout', message);
  }
}

/**
 * An HTTP API request refused, with its status and a stable `code` the JSON body carries:
 * unauthorized (401), forbidden (403), not_found (404), bad_request (400), rate_limited (429) …
 */
export class ApiError extends GamePersistError {
  readonly status: number;
  /** The offending field of an event, when the error is one event's verdict (e.g. `sessionId`). */
  readonly field: string | undefined;
  constructor(status: number, code: string, message: string, field?: string) {
    super(code, message);
    this.status = status;
    this.field = field;
  }
}

/** Turns any thrown value into an Error, keeping the original as `cause`. */
export function coerceError(e: unknown): Error {
  if (e instanceof Error) return e;
  return new Error(typeof e === 'string' ? e : JSON.stringify(e), { cause: e });
}

/**
 * An error's message for logs, CLI output and HTTP bodies: without the password of any URL it quotes
 * (a driver or library may put its connection string in a message).
 */
export function errorMessage(e: unknown): string {
  return redactSecrets(coerceError(e).message);
}

/** `scheme://user:password@host` → `scheme://user:***@host`, wherever such a URL appears in the text. */
export function redactSecrets(text: string): string {
  return text.replace(/\b([a-z][a-z\d+.-]*:\/\/[^\s:@/]*:)[^\s@/]+@/gi, '$1***@');
}
