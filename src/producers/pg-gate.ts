/**
 * The gate of a producer on the PostgreSQL queue backend. Waiting is bounded by the pools themselves
 * (`connectionTimeoutMillis` = readyTimeoutMs: a query waits at most that long for a connection), so
 * `run` only runs; `explain` tells an unreachable PostgreSQL from one that answered with an error, by
 * SQLSTATE and the driver's system error codes, never by message text.
 */
import type { Explained, Gate } from './gate.ts';

/** SQLSTATEs of a server that is there but cannot take the command now (shutting down, starting, full). */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300']);

export class PgGate implements Gate {
  readonly #timeoutMs: number;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  run<T>(op: () => Promise<T>): Promise<T> {
    return op();
  }

  explain(e: unknown): Explained {
    const err = e as (Error & { code?: unknown; schema?: unknown }) | null;
    if (err?.name === 'SchemaMigrationRequiredError')
      return { reason: 'postgres_error', message: `the queue schema ${String(err.schema)} does not exist: run \`game-persist migrate\` with GP_QUEUE_BACKEND=postgres` };
    const code = typeof err?.code === 'string' ? err.code : null;
    // A server error reply carries a five-character SQLSTATE; class 08 is a connection exception.
    if (code && /^[0-9A-Z]{5}$/.test(code)) {
      if (code.startsWith('08') || UNAVAILABLE_STATES.has(code)) return { reason: 'postgres_unavailable', message: `PostgreSQL cannot take commands now (SQLSTATE ${code})` };
      return { reason: 'postgres_error', message: `PostgreSQL refused the command: ${err!.message}` };
    }
    // No SQLSTATE: the driver gave up on the connection (a socket error such as ECONNREFUSED, the
    // pool's wait for a connection running out, a connection ended mid-query).
    return {
      reason: 'postgres_unavailable',
      message: `PostgreSQL not reachable within ${this.#timeoutMs} ms, or the connection was lost before it answered${code ? ` (${code})` : ''}`,
    };
  }
}
