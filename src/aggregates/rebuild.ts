/**
 * `game-persist rebuild`: recomputes the aggregates from the raw event rows while workers keep running.
 * Each chunk of players is rebuilt in its own transaction holding the aggregates lock exclusively
 * (ingest and rating transactions hold it shared), so a chunk never races a batch; batches wait for
 * one chunk at most. Ratings are replayed from their recorded inputs; buckets are recounted last.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import { ordinal } from 'openskill';
import { transaction } from '../db/query.ts';
import {
  AGGREGATES_EXCLUSIVE_LOCK_SQL, REBUILD_BUCKETS_SQL, REBUILD_PARTICIPANTS_SQL, REBUILD_STATS_CLEAR_SQL, REBUILD_STATS_FILL_SQL,
} from '../db/sql/aggregates.ts';
import { CLEAR_RATINGS_SQL, RATED_HISTORY_SQL, WRITE_RATINGS_SQL } from '../db/sql/ratings.ts';
import { replayRatings } from './ratings.ts';

export interface RebuildOptions {
  timeZone: string;
  winRateMinGames: number;
  /** Players per transaction. @defaultValue 5000 */
  chunk?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Every player with any contribution (participant, task or vote events). */
const ALL_PLAYERS_SQL = `
SELECT player_id FROM participant_events WHERE player_id IS NOT NULL
UNION SELECT player_id FROM task_logs WHERE player_id IS NOT NULL
UNION SELECT player_id FROM votes WHERE player_id IS NOT NULL
UNION SELECT player_id FROM player_stats
ORDER BY 1`;

export async function rebuildAggregates(orm: MikroORM, opts: RebuildOptions): Promise<{ players: number; ratedSessions: number }> {
  const players = (await transaction(orm, (q) => q<{ player_id: string }>(ALL_PLAYERS_SQL))).map((r) => r.player_id);
  const chunk = opts.chunk ?? 5000;
  for (let i = 0; i < players.length; i += chunk) {
    const ids = players.slice(i, i + chunk);
    await transaction(orm, async (q) => {
      await q(AGGREGATES_EXCLUSIVE_LOCK_SQL);
      await q(REBUILD_PARTICIPANTS_SQL, [ids]);
      for (const sql of REBUILD_STATS_CLEAR_SQL) await q(sql, [ids]);
      await q(REBUILD_STATS_FILL_SQL, [opts.timeZone, opts.winRateMinGames, ids]);
    });
    opts.onProgress?.(Math.min(i + chunk, players.length), players.length);
  }
  const ratedSessions = await transaction(orm, async (q) => {
    await q(AGGREGATES_EXCLUSIVE_LOCK_SQL);
    const history = await q<any>(RATED_HISTORY_SQL);
    const state = replayRatings(history);
    await q(CLEAR_RATINGS_SQL);
    const rows = [...state].map(([key, r]) => {
      const [player_id, scope] = key.split('\u0001');
      return { player_id, scope, mu: r.mu, sigma: r.sigma, rating: ordinal(r), rated_games: r.games };
    });
    for (let i = 0; i < rows.length; i += 5000) await q(WRITE_RATINGS_SQL, [JSON.stringify(rows.slice(i, i + 5000))]);
    for (const sql of REBUILD_BUCKETS_SQL) await q(sql);
    return history.length;
  });
  return { players: players.length, ratedSessions };
}
