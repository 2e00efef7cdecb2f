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

/** The producer's bounded buffer is full: Redis is slower than the game, or unreachable. */
export class BackpressureError extends GamePersistError {
  constructor(buffered: number, limit: number) {
    super('backpressure', `producer buffer is full (${buffered}/${limit} events not yet in Redis); retry later or raise maxBufferedEvents`);
  }
}

/**
 * Events could not be written to Redis. `events` holds them in wire form, ids and any sequence numbers
 * already assigned included: emitting them again (`producer.emit(e)`) is safe, since workers
 * deduplicate by id even if a send that looked failed did reach Redis.
 */
export class EnqueueError extends GamePersistError {
  readonly eventIds: string[];
  readonly events: Record<string, unknown>[];
  constructor(events: Record<string, unknown>[], cause: unknown) {
    super('enqueue_failed', `could not enqueue ${events.length} event(s): ${errorMessage(cause)}`, { cause });
    this.events = events;
    this.eventIds = events.map((e) => String(e.id));
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

/** An analytics request that cannot be answered as asked (unknown metric, bad period). */
export class AnalyticsError extends GamePersistError {
  constructor(message: string) {
    super('bad_request', message);
  }
}

/** Turns any thrown value into an Error, keeping the original as `cause`. */
export function coerceError(e: unknown): Error {
  if (e instanceof Error) return e;
  return new Error(typeof e === 'string' ? e : JSON.stringify(e), { cause: e });
}

export function errorMessage(e: unknown): string {
  return coerceError(e).message;
}
