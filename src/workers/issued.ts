/**
 * Applies a producer's issued-seq report (src/contract/issued.ts) in one transaction: each session's
 * `issued_seq` is raised, and a session now expecting seqs that are not stored gets its gap opened (or,
 * already past GP_GAP_TIMEOUT_S, given up) exactly as a batch or the gap sweep would: the watermark
 * step of ./advance.ts with no events. The missing seqs then count as lost in `sessions.lost_seqs`
 * once the gap times out, unless their events arrive first (a report may overtake events still queued).
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import { highestPerSession, type IssuedMark } from '../contract/issued.ts';
import { transaction } from '../db/query.ts';
import { LOCK_SESSIONS_SQL, RAISE_ISSUED_SQL, type LockedSession } from '../db/sql/sessions.ts';
import { advanceSessions } from '../sessions/advance.ts';
import { scheduleDue } from '../sessions/schedulers.ts';
import { emptyTally, type SessionTally } from '../sessions/tally.ts';
import { classifyDbError } from './db-errors.ts';
import { advanceOptions, type WriterOptions } from './write-batch.ts';

/** What the report's session step did (gaps already past GP_GAP_TIMEOUT_S given up, turns folded past them), and: */
export interface IssuedResult extends SessionTally {
  /** Sessions whose reported seq is above every seq stored for them: their last events are missing. */
  behind: { id: string; stored: number; issued: number }[];
}

/** Raises `issued_seq` for the marks and moves the watermarks. Transient failures are retried like a batch's. */
export async function applyIssued(orm: MikroORM, marks: readonly IssuedMark[], opts: WriterOptions): Promise<IssuedResult> {
  const list = highestPerSession(marks);
  if (!list.length) return { behind: [], ...emptyTally() };
  let delay = opts.backoffMs ?? 100;
  for (let attempt = 1; ; attempt++) {
    try {
      return await transaction(orm, async (q) => {
        await q(RAISE_ISSUED_SQL, [JSON.stringify(list.map((m) => ({ id: m.sessionId, seq: m.seq })))]);
        const locked = await q<LockedSession>(LOCK_SESSIONS_SQL, [list.map((m) => m.sessionId)]);
        const open = locked.filter((s) => Number(s.issued_seq) > Number(s.applied_seq));
        const behind = open
          .filter((s) => Number(s.issued_seq) > Number(s.last_seq))
          .map((s) => ({ id: s.id, stored: Number(s.last_seq), issued: Number(s.issued_seq) }));
        if (!open.length) return { behind, ...emptyTally() };
        const adv = await advanceSessions(q, open, new Map(), new Map(), new Map(), new Map(), advanceOptions(opts));
        await scheduleDue(q, adv, opts);
        return { behind, ...adv.tally };
      });
    } catch (e) {
      if (classifyDbError(e) !== 'transient' || attempt > opts.retries) throw e;
      opts.onRetry?.(e, attempt);
      await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random())));
      delay = Math.min(delay * 2, 5000);
    }
  }
}
