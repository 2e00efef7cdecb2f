/**
 * Decides what a database error means for a batch, by SQLSTATE class, never by message text:
 * - `data`: PostgreSQL refused a value (class 22 data exception, 23 integrity, 54 limit exceeded);
 *   the batch is split to isolate the row, which is dead-lettered.
 * - `transient`: everything else (serialization 40001, deadlock 40P01, lock 55P03, shutdown 57P0x,
 *   connection class 08, too many connections 53300, network errors, a pool timeout); retried.
 * - `fatal`: class 42 or 0A, a bug or a missing migration; the batch fails at once and its jobs go
 *   back to BullMQ (retried there with backoff) while the error is logged.
 */
export type DbErrorKind = 'data' | 'transient' | 'fatal';

const DATA_CLASSES = new Set(['22', '23', '54']);
/** Our SQL or schema is wrong (syntax, undefined table: migrations missing): retrying in-process won't help. */
const FATAL_CLASSES = new Set(['42', '0A']);

export function sqlState(e: unknown): string | undefined {
  for (let cur: any = e, depth = 0; cur && depth < 4; cur = cur.cause, depth++) {
    const code = cur.sqlState ?? cur.code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

export function classifyDbError(e: unknown): DbErrorKind {
  const state = sqlState(e);
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
  return `${state ? `${state}: ` : ''}${short}`.slice(0, 2000);
}
