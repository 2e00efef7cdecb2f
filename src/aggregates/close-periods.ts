/**
 * Closes leaderboard periods that have ended: archives the top of each board and marks the period
 * closed. Runs on a pg-boss schedule every minute, so a period that ended while no worker ran is
 * closed as soon as one is back. The period's rows stay in player_stats (exact, still readable).
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import { systemClock, type Clock } from '../clock.ts';
import { transaction } from '../db/query.ts';
import { ARCHIVE_PERIOD_SQL, CLOSE_PERIOD_SQL, DELETE_ARCHIVE_SQL, DUE_PERIODS_SQL } from '../db/sql/analytics.ts';

export const ARCHIVE_TOP = 100;

/** Closes the periods that ended by `clock`'s now; returns the scopes it closed. */
export async function closeEndedPeriods(orm: MikroORM, opts: { clock?: Clock; top?: number } = {}): Promise<string[]> {
  const top = opts.top ?? ARCHIVE_TOP;
  const now = (opts.clock ?? systemClock).now();
  const due = await transaction(orm, (q) => q<{ scope: string }>(DUE_PERIODS_SQL, [now]));
  const closed: string[] = [];
  for (const { scope } of due) {
    const done = await transaction(orm, async (q) => {
      // Only one replica closes a period: the UPDATE takes the row first, a second one finds it closed.
      const mine = await q(CLOSE_PERIOD_SQL, [scope]);
      if (!mine.length) return false;
      await q(DELETE_ARCHIVE_SQL, [scope]);
      await q(ARCHIVE_PERIOD_SQL, [scope, top]);
      return true;
    });
    if (done) closed.push(scope);
  }
  return closed;
}
