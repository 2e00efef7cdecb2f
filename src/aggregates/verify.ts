/**
 * `game-persist verify`: recomputes the aggregates from the raw event rows, in one REPEATABLE READ
 * snapshot (the aggregates change in the same transactions as the rows, so any difference is drift),
 * and reports every difference: sessions and participants recomputed from their events by position,
 * player stats per scope (stored plus the deltas not folded yet), participant counters, leaderboard
 * buckets, ratings (replayed from their recorded inputs) and rating inputs that changed after rating.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import { transaction } from '../db/query.ts';
import { BUCKET_DRIFT_SQL, PARTICIPANT_DRIFT_SQL, STATS_DRIFT_SQL, WIN_RATE_DRIFT_SQL } from '../db/sql/aggregates.ts';
import { RATED_HISTORY_SQL, STORED_RATINGS_SQL } from '../db/sql/ratings.ts';
import { INSERT_VERIFY_RUN_SQL } from '../db/sql/metrics.ts';
import { ordinal } from 'openskill';
import { replayRatings } from './ratings.ts';
import type { Drift } from './drift.ts';
import { ratingInputDrift, sessionDrift } from './verify-sessions.ts';

export interface VerifyOptions {
  timeZone: string;
  winRateMinGames: number;
  /**
   * Check only this many random players (their stats and participant counters) and this many random
   * sessions (recomputed from their events); buckets and ratings are always checked whole.
   */
  sample?: number;
  /** Called as each part starts (`sessions`, `stats` …): for a progress display. */
  onStep?: (step: string) => void;
}

export interface VerifyReport {
  playersChecked: number | 'all';
  sessionsChecked: number;
  drift: Drift[];
}

export async function verifyAggregates(orm: MikroORM, opts: VerifyOptions): Promise<VerifyReport> {
  return transaction(orm, async (q) => {
    await q('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
    let players: string[] | null = null;
    if (opts.sample !== undefined)
      players = (await q<{ player_id: string }>(`SELECT player_id FROM player_stats WHERE scope = 'all' ORDER BY random() LIMIT $1`, [opts.sample])).map((r) => r.player_id);
    const drift: Drift[] = [];
    const sessions =
      opts.sample !== undefined ? (await q<{ id: string }>(`SELECT id FROM sessions ORDER BY random() LIMIT $1`, [opts.sample])).map((r) => r.id) : null;
    opts.onStep?.('sessions recomputed from their events');
    const sessionsChecked = await sessionDrift(q, sessions, drift);
    opts.onStep?.('player statistics');
    for (const r of await q<any>(STATS_DRIFT_SQL, [opts.timeZone, opts.winRateMinGames, players]))
      drift.push({ kind: 'stats', key: `${r.player_id} ${r.scope}`, actual: r.actual, expected: r.expected });
    for (const r of await q<any>(WIN_RATE_DRIFT_SQL, [opts.winRateMinGames]))
      drift.push({ kind: 'stats', key: `${r.player_id} ${r.scope} win_rate`, actual: r.actual, expected: r.expected });
    opts.onStep?.('participants');
    for (const r of await q<any>(PARTICIPANT_DRIFT_SQL, [players]))
      drift.push({ kind: 'participants', key: `${r.session_id} ${r.player_id}`, actual: r.actual, expected: r.expected });
    opts.onStep?.('leaderboard buckets and ratings');
    for (const r of await q<any>(BUCKET_DRIFT_SQL))
      drift.push({ kind: 'buckets', key: `${r.scope} metric ${r.metric} bucket ${r.bucket}`, actual: Number(r.actual), expected: Number(r.expected) });
    const want = replayRatings(await q<any>(RATED_HISTORY_SQL));
    const seen = new Set<string>();
    for (const r of await q<any>(STORED_RATINGS_SQL)) {
      const key = `${r.player_id}\u0001${r.scope}`;
      seen.add(key);
      const w = want.get(key);
      const exp = w ? { mu: w.mu, sigma: w.sigma, rating: ordinal(w), rated_games: w.games } : null;
      const act = { mu: r.mu, sigma: r.sigma, rating: r.rating, rated_games: r.rated_games };
      if (!exp || exp.mu !== act.mu || exp.sigma !== act.sigma || exp.rating !== act.rating || exp.rated_games !== act.rated_games)
        drift.push({ kind: 'ratings', key: `${r.player_id} ${r.scope}`, actual: act, expected: exp });
    }
    for (const [key, w] of want)
      if (!seen.has(key)) drift.push({ kind: 'ratings', key: key.replace('\u0001', ' '), actual: null, expected: { mu: w.mu, sigma: w.sigma, rated_games: w.games } });
    await ratingInputDrift(q, drift);
    return { playersChecked: players ? players.length : 'all', sessionsChecked, drift };
  });
}

/** Records a run's result; workers export the last one as gp_aggregate_drift. */
export async function recordVerifyRun(orm: MikroORM, report: VerifyReport): Promise<void> {
  await transaction(orm, (q) => q(INSERT_VERIFY_RUN_SQL, [report.drift.length, report.playersChecked === 'all' ? null : report.playersChecked]));
}
