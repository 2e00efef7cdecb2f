/**
 * The aggregates step of an ingest transaction (after events, sessions and participants are written), and
 * the fold that applies the pending deltas to player_stats.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import type { ValidEvent } from '../contract/events.ts';
import { transaction, type TxQuery } from '../db/query.ts';
import {
  AGGREGATES_SHARED_LOCK_SQL, FOLD_LOCK_SQL, FOLD_STAT_DELTAS_SQL, INSERT_PERIODS_SQL, INSERT_STAT_DELTAS_SQL, RECOMPUTE_BEST_SQL,
} from '../db/sql/aggregates.ts';
import { RESET_LAST_PLAYED_SQL } from '../db/sql/stat-moves.ts';
import { isPeriodScope, type StatKey } from '../derive/scopes.ts';
import { StatDeltas, type EffectiveChange, type ScoreChange } from './deltas.ts';
import type { StatDelta } from '../db/sql/aggregates.ts';

export interface AggregateOptions {
  timeZone: string;
  winRateMinGames: number;
  /** Periods this process has seen registered (committed); skips the insert for them. */
  knownPeriods: Set<string>;
}

export function aggregateOptions(cfg: { statsTimeZone: string; winRateMinGames: number }): AggregateOptions {
  return { timeZone: cfg.statsTimeZone, winRateMinGames: cfg.winRateMinGames, knownPeriods: new Set() };
}

export interface AggregateInput {
  inserted: ValidEvent[];
  /**
   * Each touched session's key (src/derive/scopes.ts): its game type null while unknown and for a session
   * whose type changed here; the whole key null for a session whose every scope moves here (movedOut/movedIn).
   */
  keys: Map<string, StatKey | null>;
  /** Effective outcomes this transaction changed. */
  outcomes: EffectiveChange[];
  /** Counted scores (best_score's input) this transaction changed. */
  scores: ScoreChange[];
  /** Sessions whose key changed: their whole contribution before (to take from the old scopes) and after (to give to the new). */
  movedOut: StatDelta[];
  movedIn: StatDelta[];
}

/** Appends the transaction's deltas; returns the periods it registered (to remember once committed). */
export async function writeAggregates(q: TxQuery, opts: AggregateOptions, input: AggregateInput): Promise<string[]> {
  const deltas = new StatDeltas(opts.timeZone);
  deltas.addEvents(input.inserted, input.keys);
  deltas.addOutcomeChanges(input.outcomes, input.keys);
  deltas.addScoreChanges(input.scores, input.keys);
  // Out of the old scopes: counters subtracted, and their last_played_at recomputed (a maximum cannot be subtracted).
  deltas.addRows(input.movedOut, -1, true);
  deltas.addRows(input.movedIn, 1);
  const rows = deltas.list();
  const periods = [...deltas.periods].filter((p) => !opts.knownPeriods.has(p)).sort();
  if (periods.length) await q(INSERT_PERIODS_SQL, [periods, opts.timeZone]);
  // Appended, not applied: folding them into player_stats (random rows of a large table, their index
  // entries and buckets) is done for many batches at once by foldStatDeltas, off the ingest path.
  if (rows.length) await q(INSERT_STAT_DELTAS_SQL, [JSON.stringify(rows)]);
  return periods;
}

export interface FoldOptions {
  /** GP_STATS_TZ: the periods best scores are recomputed in (the deltas' own periods are already in them). */
  timeZone: string;
  /** Deltas per transaction. @defaultValue 20000 */
  limit?: number;
}

/**
 * Applies pending stat deltas to player_stats and the leaderboard buckets, `limit` at a time, until none
 * is left. Safe to run on every replica at once: folds take turns (FOLD_LOCK_SQL). Returns how many it applied.
 */
export async function foldStatDeltas(orm: MikroORM, winRateMinGames: number, opts: FoldOptions): Promise<number> {
  const limit = opts.limit ?? 20_000;
  let total = 0;
  for (;;) {
    const [r] = await transaction(orm, async (q) => {
      await q(AGGREGATES_SHARED_LOCK_SQL);
      await q(FOLD_LOCK_SQL);
      type Key = { player_id: string; scope: string };
      const res = await q<{ taken: number; reset: Key[] | null; best: Key[] | null }>(FOLD_STAT_DELTAS_SQL, [limit, winRateMinGames]);
      if (res[0]?.reset?.length) await q(RESET_LAST_PLAYED_SQL, [JSON.stringify(res[0].reset.map((k) => ({ ...k, period: isPeriodScope(k.scope) }))), opts.timeZone]);
      // A statement of its own, after the fold above locked these rows: it must read the participants
      // in a snapshot taken after any concurrent fold of the same rows committed (RECOMPUTE_BEST_SQL).
      if (res[0]?.best?.length) await q(RECOMPUTE_BEST_SQL, [JSON.stringify(res[0].best), opts.timeZone]);
      return res;
    });
    total += r?.taken ?? 0;
    if ((r?.taken ?? 0) < limit) return total;
  }
}
