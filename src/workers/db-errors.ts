/**
 * Decides what a database error means for a batch, by SQLSTATE class, never by message text:
 * - `data`: PostgreSQL refused a value (class 22 data exception, 23 integrity, 54 limit exceeded);
 *   the batch is split to isolate the row, which is dead-lettered.
 * - `transient`: everything else (serialization 40001, deadlock 40P01, the worker's session limits
 *   55P03 / 57014 / 25P03, shutdown 57P0x, connection class 08, too many connections 53300, network
 *   errors and closed connections, a pool timeout); retried.
 * - `fatal`: class 42 or 0A, a bug or a missing migration; the batch fails at once and its jobs go
 *   back to BullMQ (retried there with backoff) while the error is logged.
 */
export type DbErrorKind = 'data' | 'transient' | 'fatal';

const DATA_CLASSES = new Set(['22', '23', '54']);
/** Our SQL or schema is wrong (syntax, undefined table: migrations missing): retrying in-process won't help. */
const FATAL_CLASSES = new Set(['42', '0A']);

/**
 * Transient by name, whatever their class: the batch is retried with backoff and never split or
 * dead-lettered, since no row of it is at fault. The middle three are the worker's own session limits
 * (see `SessionLimits` in db/orm.ts). A session ended by PostgreSQL (25P03, 57P01, a failover) also
 * fails the statements after it with pg's own connection errors ("Connection terminated unexpectedly",
 * "... not queryable"), which carry no SQLSTATE and are transient as well.
 */
const TRANSIENT_STATES: Readonly<Record<string, string>> = {
  '40001': 'serialization_failure',
  '40P01': 'deadlock_detected',
  // lock_timeout (GP_DB_LOCK_TIMEOUT_MS): waited too long for another transaction's row locks.
  '55P03': 'lock_not_available',
  // statement_timeout (GP_DB_STATEMENT_TIMEOUT_MS), or cancelled by an operator.
  '57014': 'query_canceled',
  // idle_in_transaction_session_timeout (GP_DB_IDLE_IN_TX_TIMEOUT_MS): this worker stalled inside a
  // transaction and PostgreSQL ended its session; the transaction was rolled back.
  '25P03': 'idle_in_transaction_session_timeout',
  '57P01': 'admin_shutdown',
  '57P02': 'crash_shutdown',
  '57P03': 'cannot_connect_now',
  '53300': 'too_many_connections',
};

export function sqlState(e: unknown): string | undefined {
  for (let cur: any = e, depth = 0; cur && depth < 4; cur = cur.cause, depth++) {
    // Node's system errors (EPIPE, ECONNRESET ...) have a `code` too; some look like a SQLSTATE.
    if (typeof cur.syscall === 'string') continue;
    const code = cur.sqlState ?? cur.code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

export function classifyDbError(e: unknown): DbErrorKind {
  const state = sqlState(e);
  if (state && state in TRANSIENT_STATES) return 'transient';
  const cls = state?.slice(0, 2);
  if (cls && DATA_CLASSES.has(cls)) return 'data';
  if (cls && FATAL_CLASSES.has(cls)) return 'fatal';
  return 'transient';
}

export function describeDbError(e: unknown): string {
  const state = sqlState(e);
  const msg = e instanceof Error ? e.message : String(e);
  // MikroORM prefixes the failed SQL; the batch's SQL is ours and long, keep PostgreSQL's words.
  const short = msg.includes(' - ') ? msg.slice(msg.lastIndexOf(' - ') + 3) : msg;
  const name = state ? TRANSIENT_STATES[state] : undefined;
  return `${state ? `${state}${name ? ` ${name}` : ''}: ` : ''}${short}`.slice(0, 2000);
}
