/**
 * The aggregates step of an ingest transaction (after events, sessions and participants are written), and
 * the fold that applies the pending deltas to player_stats.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import type { ValidEvent } from '../contract/events.ts';
import { transaction, type TxQuery } from '../db/query.ts';
import {
  AGGREGATES_SHARED_LOCK_SQL, FOLD_STAT_DELTAS_SQL, INSERT_PERIODS_SQL, INSERT_STAT_DELTAS_SQL, TYPED_CONTRIBUTIONS_SQL, type StatDelta,
} from '../db/sql/aggregates.ts';
import type { OutcomeChange } from '../db/sql/upsert-participants.ts';
import type { SessionUpserted } from '../db/sql/upsert-sessions.ts';
import { StatDeltas } from './deltas.ts';

export interface AggregateOptions {
  timeZone: string;
  winRateMinGames: number;
  /** Periods this process has seen registered (committed); skips the insert for them. */
  knownPeriods: Set<string>;
}

export function aggregateOptions(cfg: { statsTimeZone: string; winRateMinGames: number }): AggregateOptions {
  return { timeZone: cfg.statsTimeZone, winRateMinGames: cfg.winRateMinGames, knownPeriods: new Set() };
}

/** Applies the transaction's deltas; returns the periods it registered (to remember once committed). */
export async function writeAggregates(
  q: TxQuery,
  opts: AggregateOptions,
  inserted: ValidEvent[],
  sessions: SessionUpserted[],
  changes: OutcomeChange[],
): Promise<string[]> {
  // A session typed in this transaction: its whole contribution (this batch included) is added to the
  // game's scope below, so this batch's events skip that scope.
  const gameTypes = new Map(sessions.map((s) => [s.id, s.newly_typed ? null : s.game_type]));
  const deltas = new StatDeltas(opts.timeZone);
  deltas.addEvents(inserted, gameTypes);
  deltas.addOutcomeChanges(changes, gameTypes);
  const typed = sessions.filter((s) => s.newly_typed).map((s) => s.id);
  if (typed.length) deltas.addRows(await q<StatDelta>(TYPED_CONTRIBUTIONS_SQL, [typed]));
  const rows = deltas.list();
  const periods = [...deltas.periods].filter((p) => !opts.knownPeriods.has(p)).sort();
  if (periods.length) await q(INSERT_PERIODS_SQL, [periods, opts.timeZone]);
  // Appended, not applied: folding them into player_stats (random rows of a large table, their index
  // entries and buckets) is done for many batches at once by foldStatDeltas, off the ingest path.
  if (rows.length) await q(INSERT_STAT_DELTAS_SQL, [JSON.stringify(rows)]);
  return periods;
}

/**
 * Applies pending stat deltas to player_stats and the leaderboard buckets, `limit` at a time, until none
 * is left (or only ones another fold holds). Safe to run on every replica at once. Returns how many it applied.
 */
export async function foldStatDeltas(orm: MikroORM, winRateMinGames: number, limit = 20_000): Promise<number> {
  let total = 0;
  for (;;) {
    const [r] = await transaction(orm, async (q) => {
      await q(AGGREGATES_SHARED_LOCK_SQL);
      return q<{ taken: number }>(FOLD_STAT_DELTAS_SQL, [limit, winRateMinGames]);
    });
    total += r?.taken ?? 0;
    if ((r?.taken ?? 0) < limit) return total;
  }
}
