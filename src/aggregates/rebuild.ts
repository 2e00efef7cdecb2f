/**
 * `game-persist rebuild`: recomputes what is derived from the raw event rows while workers keep running:
 * sessions and participants by position (their effective outcomes included), then the aggregates.
 * Each chunk of players is rebuilt in its own transaction holding the aggregates lock exclusively
 * (ingest and rating transactions hold it shared), so a chunk never races a batch; batches wait for
 * one chunk at most. Ratings are replayed from their recorded inputs, the stale ones refreshed first;
 * buckets are recounted last.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import { ordinal } from 'openskill';
import { transaction } from '../db/query.ts';
import {
  AGGREGATES_EXCLUSIVE_LOCK_SQL, ALL_PLAYERS_SQL, REBUILD_BUCKETS_SQL, REBUILD_PARTICIPANTS_SQL, REBUILD_STATS_CLEAR_SQL, REBUILD_STATS_FILL_SQL,
} from '../db/sql/aggregates.ts';
import { CLEAR_RATINGS_SQL, RATED_HISTORY_SQL, WRITE_RATINGS_SQL } from '../db/sql/ratings.ts';
import { ratingInput, replayRatings } from './ratings.ts';
import type { ValidEvent } from '../contract/events.ts';
import type { TxQuery } from '../db/query.ts';
import { recomputeSession } from '../derive/recompute.ts';
import { DERIVATION_EVENTS_SQL, LOCK_SESSION_IDS_SQL, REWRITE_PARTICIPANTS_SQL, REWRITE_SESSIONS_SQL, SESSION_CHUNK_SQL } from '../db/sql/recompute.ts';

export interface RebuildOptions {
  timeZone: string;
  winRateMinGames: number;
  /** Players per transaction. @defaultValue 5000 */
  chunk?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface RebuildResult {
  /** Sessions whose fields or participants were recomputed from their events. */
  sessions: number;
  players: number;
  ratedSessions: number;
  /** Rated sessions whose input was refreshed before the replay (their ratings were stale). */
  reRated: number;
}

export async function rebuildAggregates(orm: MikroORM, opts: RebuildOptions): Promise<RebuildResult> {
  const chunk = opts.chunk ?? 5000;
  // Sessions and participants first: the statistics are summed from the participants' effective outcomes.
  let sessions = 0;
  for (let after = ''; ; ) {
    const done = await transaction(orm, async (q) => {
      await q(AGGREGATES_EXCLUSIVE_LOCK_SQL);
      const rows = await q<{ id: string; idle: boolean }>(SESSION_CHUNK_SQL, [after, chunk]);
      if (rows.length) await rederiveSessions(q, rows);
      return rows;
    });
    if (!done.length) break;
    sessions += done.length;
    after = done[done.length - 1]!.id;
  }
  const players = (await transaction(orm, (q) => q<{ player_id: string }>(ALL_PLAYERS_SQL))).map((r) => r.player_id);
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
  let reRated = 0;
  const ratedSessions = await transaction(orm, async (q) => {
    await q(AGGREGATES_EXCLUSIVE_LOCK_SQL);
    // Inputs that changed after rating (late outcomes): refreshed in place, so the replay below rates
    // every session, in its original order, with what its participants say now.
    reRated = await refreshRatingInputs(q);
    const history = await q<any>(RATED_HISTORY_SQL);
    const state = replayRatings(history);
    await q(CLEAR_RATINGS_SQL);
    const rows = [...state].map(([key, r]) => {
      const [player_id, scope] = key.split('\u0001');
      return { player_id, scope, mu: r.mu, sigma: r.sigma, rating: ordinal(r), rated_games: r.games };
    });
    for (let i = 0; i < rows.length; i += 5000) await q(WRITE_RATINGS_SQL, [JSON.stringify(rows.slice(i, i + 5000))]);
    for (const sql of REBUILD_BUCKETS_SQL) await q(sql);
    await q(`UPDATE sessions SET rating_stale = false WHERE rating_stale`);
    return history.length;
  });
  return { sessions, players: players.length, ratedSessions, reRated };
}

/** Rewrites the sessions' derived fields and their participants from their events (locked in id order). */
async function rederiveSessions(q: TxQuery, rows: { id: string; idle: boolean }[]): Promise<void> {
  const ids = rows.map((r) => r.id);
  await q(LOCK_SESSION_IDS_SQL, [ids]);
  const events = new Map<string, ValidEvent[]>();
  for (const r of await q<Record<string, any>>(DERIVATION_EVENTS_SQL, [ids])) {
    const e: ValidEvent = { id: r.id, type: r.type, family: r.family, sessionId: r.session_id, seq: Number(r.seq), at: r.at, player: r.player, data: r.data };
    const list = events.get(r.session_id);
    if (list) list.push(e);
    else events.set(r.session_id, [e]);
  }
  const sessionRows: Record<string, unknown>[] = [];
  const participantRows: Record<string, unknown>[] = [];
  for (const { id, idle } of rows) {
    const r = recomputeSession(id, events.get(id) ?? [], idle);
    if (!r) continue;
    const m = r.merge;
    sessionRows.push({
      id, tenant: m.created?.tenant ?? null, confined: m.created?.confined ?? false, game_type: m.groups.gameType, name: m.created?.name ?? null, created_by: m.created?.createdBy ?? null,
      created_at: m.created?.at ?? null, created_seq: m.created?.pos[0] ?? null, created_id: m.created?.pos[1] ?? null,
      started_at: m.started?.at ?? null, started_seq: m.started?.pos[0] ?? null, started_id: m.started?.pos[1] ?? null,
      settings: m.settings?.value ?? null, settings_seq: m.settings?.pos[0] ?? null, settings_id: m.settings?.pos[1] ?? null,
      idle_timeout_s: m.settings?.idleTimeoutS ?? null, end_seq: m.end?.pos[0] ?? null, end_id: m.end?.pos[1] ?? null, end_type: m.end?.type ?? null,
      status: m.status, ended_at: m.end?.at ?? null, winners: m.end?.winners ?? null, final_scores: m.end?.scores ?? null, result: m.end?.result ?? null,
      end_reason: m.end?.reason ?? null,
    });
    for (const [player, p] of r.participants)
      participantRows.push({
        session_id: id, player_id: player, role: p.role, team: p.team, position: p.position, name: p.name, joined_at: p.joinedAt,
        last_joined_at: p.lastJoinedAt, left_at: p.leftAt, present: p.present, outcome: p.outcome, xp: p.xp, score: p.score,
        outcome_at: p.outcomeAt, pos: p.pos, eff_outcome: p.effective?.outcome ?? null, eff_xp: p.effective?.xp ?? null, eff_at: p.effective?.at ?? null,
      });
  }
  if (sessionRows.length) await q(REWRITE_SESSIONS_SQL, [JSON.stringify(sessionRows)]);
  for (let i = 0; i < participantRows.length; i += 5000) await q(REWRITE_PARTICIPANTS_SQL, [JSON.stringify(participantRows.slice(i, i + 5000))]);
}

/** Sets each rated session's recorded input to what its participants, game type and confinement say now; returns how many changed. */
async function refreshRatingInputs(q: TxQuery): Promise<number> {
  const stale = (await q<{ id: string }>(`SELECT id FROM sessions WHERE rating_stale ORDER BY id`)).map((r) => r.id);
  if (!stale.length) return 0;
  const parts = await q<{ session_id: string; player_id: string; team: string | null; outcome: 'win' | 'loss' | 'draw' | null; game_type: string | null; stat_tenant: string | null; status: string }>(
    `SELECT s.id AS session_id, p.player_id, p.team, p.eff_outcome AS outcome, s.game_type, CASE WHEN s.confined THEN s.tenant END AS stat_tenant, s.status
     FROM sessions s LEFT JOIN session_participants p ON p.session_id = s.id WHERE s.id = ANY($1::text[]) ORDER BY s.id, p.player_id`,
    [stale],
  );
  const rows = stale.map((id) => {
    const mine = parts.filter((p) => p.session_id === id);
    const input = mine[0]?.status === 'finished' ? ratingInput(mine.filter((p) => p.player_id !== null)) : 'no longer finished';
    const skipped = typeof input === 'string' ? input : null;
    return {
      session_id: id, game_type: mine[0]?.game_type ?? null, tenant: mine[0]?.stat_tenant ?? null, skipped,
      teams: skipped ? null : (input as { teams: string[][] }).teams, ranks: skipped ? null : (input as { ranks: number[] }).ranks,
    };
  });
  await q(
    `UPDATE rated_sessions r SET teams = x.teams, ranks = x.ranks, game_type = x.game_type, tenant = x.tenant, skipped = x.skipped
     FROM json_to_recordset($1::json) AS x(session_id text, teams jsonb, ranks jsonb, game_type text, tenant text, skipped text) WHERE r.session_id = x.session_id`,
    [JSON.stringify(rows)],
  );
  return rows.length;
}
