/**
 * Retention (`game-persist retention`, and the `gp-retention` pg-boss schedule): deletes what is older
 * than its class's days (GP_RETAIN_*_DAYS; classes in src/db/retention.ts), never what recovery of an
 * unfinished session needs.
 *
 * - Event classes (chat, moves, agent_logs, events): rows written more than N days before `clock` in
 *   sessions final for more than N days (ended by their end event with every seq up to it stored).
 *   Unfinished sessions and sessions abandoned for idleness (no end event: their next event brings them
 *   back) keep every row, as do snapshots, live states, documents and the sessions' own rows.
 * - idle: sessions that are not final (never finished nor ended by `session.abandoned`; abandoned for
 *   idleness or not) and had no event written for more than N days lose what the event classes delete
 *   in a finished session (chat, moves, agent logs, turn results, document and game events) written
 *   before then. They are not marked ended: an end is an event of the session's own sequence (docs/
 *   contract.md, "The ordering rule"), and one made up here could collide with the game's next seq; so
 *   such a session stays unfinished, keeps its row, participants, lifecycle, participant, task and vote
 *   events, live state, snapshots and documents (verify stays exact, recovery has its state), and its
 *   next event brings it back. A persistent world (idleTimeoutS 0) is no exception: nothing for N days.
 * - dead_letters: dead letters created more than N days ago, replayed or not, but for those of an
 *   unfinished session waiting behind a sequence gap (one may hold the event the gap waits for).
 *
 * The aggregates stay exact: sessions, participants and statistics are recomputed (verify, rebuild)
 * from session, participant, task and vote events, which are no class; nothing deleted here counts in
 * them. What does change: a finished session's history (`sessions replay`, the history API) lacks the
 * deleted rows, and usage reads of agent_logs (`players agents`) count only what is left. Not guarded:
 * an event reaching a finished session below its watermark after its turn results or document events
 * went (a dead letter replayed late, a lost seq arriving after all) re-folds the live state or those
 * documents from what is left (src/sessions/documents.ts, fold-state): guarding it would need a marker
 * read on every batch of the hot path; the README tells operators to replay dead letters before
 * GP_RETAIN_EVENTS_DAYS runs out instead. Rows stored behind a sequence gap (above applied_seq) are kept.
 *
 * Bounded work: sessions are taken a page at a time in id order and each table's rows deleted a chunk
 * per statement (each statement its own transaction), so the first run over years of rows holds no long
 * locks and a crash loses nothing but the chunk in flight. Idempotent: a second run finds nothing.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import { systemClock, type Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import { query } from '../db/query.ts';
import { IDLE_TABLES, RETENTION_CLASSES, RETENTION_TABLES, type EventRetentionClass, type RetentionClass } from '../db/retention.ts';
import {
  COUNT_IDLE_EVENTS_SQL, COUNT_OLD_DEAD_LETTERS_SQL, COUNT_RETAINED_EVENTS_SQL, DELETE_IDLE_EVENTS_SQL, DELETE_OLD_DEAD_LETTERS_SQL, DELETE_RETAINED_EVENTS_SQL,
  FINAL_SESSIONS_PAGE_SQL, IDLE_SESSIONS_PAGE_SQL,
} from '../db/sql/retention.ts';

const DAY_MS = 86_400_000;

export interface RetentionOptions {
  /** Count what would be deleted; delete nothing. */
  dryRun?: boolean;
  /** Rows per DELETE statement. @defaultValue 5000 */
  chunk?: number;
  /** Sessions per page of the event classes' deletes. @defaultValue 1000 */
  sessionPage?: number;
}

export interface RetentionReport {
  dryRun: boolean;
  /** The clock's time the cutoffs are counted back from. */
  at: string;
  /** Per class: its days (0: kept forever), the cutoff (null when kept) and the rows deleted (or, dry, that would be). */
  classes: Record<RetentionClass, { days: number; cutoff: string | null; deleted: number }>;
  /** Rows deleted per table (only tables with some). */
  tables: Record<string, number>;
}

/** Deletes (or counts, dry) what each class's days no longer keep. */
export async function runRetention(orm: MikroORM, cfg: Pick<Readonly<Config>, 'retentionDays'>, clock: Clock = systemClock, opts: RetentionOptions = {}): Promise<RetentionReport> {
  const chunk = opts.chunk ?? 5000;
  const page = opts.sessionPage ?? 1000;
  for (const [name, v] of [['chunk', chunk], ['sessionPage', page]] as const)
    if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`runRetention: ${name} must be a positive integer, got ${v}`);
  const now = clock.now();
  const dryRun = opts.dryRun ?? false;
  const report: RetentionReport = { dryRun, at: now.toISOString(), classes: {} as RetentionReport['classes'], tables: {} };
  const em = orm.em.fork();
  const q = async (sql: string, params: unknown[]) => Number((await query<{ n: number }>(em, sql, params))[0]?.n ?? 0);

  for (const c of RETENTION_CLASSES) {
    const days = cfg.retentionDays[c] ?? 0;
    const cutoff = days > 0 ? new Date(now.getTime() - days * DAY_MS) : null;
    const entry = (report.classes[c] = { days, cutoff: cutoff?.toISOString() ?? null, deleted: 0 });
    if (!cutoff) continue;
    if (c === 'dead_letters') {
      entry.deleted = dryRun ? await q(COUNT_OLD_DEAD_LETTERS_SQL, [cutoff]) : await drain((n) => q(DELETE_OLD_DEAD_LETTERS_SQL, [cutoff, n]), chunk);
      if (entry.deleted) report.tables.dead_letters = entry.deleted;
      continue;
    }
    const idle = c === 'idle';
    for (let after = ''; ; ) {
      const ids = (await query<{ id: string }>(em, idle ? IDLE_SESSIONS_PAGE_SQL : FINAL_SESSIONS_PAGE_SQL, [cutoff, after, page])).map((r) => r.id);
      if (!ids.length) break;
      for (const table of idle ? IDLE_TABLES : RETENTION_TABLES[c as EventRetentionClass]) {
        const [count, del] = idle ? [COUNT_IDLE_EVENTS_SQL, DELETE_IDLE_EVENTS_SQL] : [COUNT_RETAINED_EVENTS_SQL, DELETE_RETAINED_EVENTS_SQL];
        const n = dryRun ? await q(count[table]!, [ids, cutoff]) : await drain((limit) => q(del[table]!, [ids, cutoff, limit]), chunk);
        entry.deleted += n;
        if (n) report.tables[table] = (report.tables[table] ?? 0) + n;
      }
      after = ids[ids.length - 1]!;
    }
  }
  return report;
}

/** Repeats a chunked delete until a chunk comes back short; the total. */
async function drain(deleteChunk: (limit: number) => Promise<number>, chunk: number): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await deleteChunk(chunk);
    total += n;
    if (n < chunk) return total;
  }
}

/** Rows deleted per class, only the non-zero ones (for logs). */
export function deletedCounts(r: RetentionReport): Partial<Record<RetentionClass, number>> {
  return Object.fromEntries(Object.entries(r.classes).filter(([, v]) => v.deleted > 0).map(([k, v]) => [k, v.deleted]));
}
