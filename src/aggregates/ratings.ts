/**
 * Skill ratings (OpenSkill, Plackett-Luce; team-aware) from finished sessions, once per session, when
 * the session is final and quiet (docs/contract.md, "Statistics and ratings"): the
 * rated_sessions row (primary key) is written in the same transaction as the new ratings, with the
 * exact input, so a redelivered job or a second worker finds the session rated and does nothing, and
 * ratings can be replayed for verify and rebuild. Each player is rated in the `all` scope and in the
 * session's game scope, or, for a confined session, in its tenant's all-time and game scopes
 * (src/derive/scopes.ts): a tenant's ratings are its own.
 *
 * A rating cannot be taken back (every later rating of its players builds on it), so a session whose
 * gap was given up is held back while the events queue may still bring the given-up events: a job held
 * by a crashed worker comes back only when its lock expires, a failed one after its backoff, and the
 * gap timeout can pass meanwhile (seen in the chaos suite's commit-crash-pg). With a queue horizon
 * (src/queue/horizon.ts), such a session is rated once every job that existed when the ratings run first
 * saw it has left the queue; if its events came meanwhile, with them.
 */
import { rate, rating as newRating, ordinal } from 'openskill';
import type { MikroORM } from '@mikro-orm/postgresql';
import { transaction, type TxQuery } from '../db/query.ts';
import { tenantScope } from '../derive/scopes.ts';
import type { QueueHorizon } from '../queue/horizon.ts';
import { AGGREGATES_SHARED_LOCK_SQL } from '../db/sql/aggregates.ts';
import {
  INSERT_RATED_SQL, LOCK_RATED_PLAYERS_SQL, LOCK_RATED_SESSION_SQL, LOCK_RATINGS_SQL, RATING_PARTICIPANTS_SQL, SET_RATING_HORIZON_SQL, UNRATED_SESSIONS_SQL,
  UPSERT_RATINGS_SQL,
} from '../db/sql/ratings.ts';

const RANK_OF = { win: 1, draw: 2, loss: 3 } as const;

export interface RatingInput {
  teams: string[][];
  ranks: number[];
}

interface Participant {
  player_id: string | null;
  team: string | null;
  /** The effective outcome (docs/contract.md, "Participants"): explicit, or derived from the finish. */
  outcome: 'win' | 'loss' | 'draw' | null;
}

/**
 * Teams and ranks of a finished session: the players with an effective outcome grouped by team (a player
 * without one is a team of one), ranked by outcome (win < draw < loss). Returns a reason instead when
 * there is nothing to rate.
 */
export function ratingInput(parts: Participant[]): RatingInput | string {
  const ranked = parts.filter((p) => p.player_id !== null && p.outcome !== null);
  if (!ranked.length) return 'no outcomes';
  const teams = new Map<string, { players: string[]; rank: number }>();
  for (const p of ranked) {
    const key = p.team === null ? `player:${p.player_id}` : `team:${p.team}`;
    const rank = RANK_OF[p.outcome as keyof typeof RANK_OF];
    const t = teams.get(key);
    if (t) {
      t.players.push(p.player_id as string);
      t.rank = Math.min(t.rank, rank);
    } else teams.set(key, { players: [p.player_id as string], rank });
  }
  if (teams.size < 2) return 'fewer than two teams';
  return inputOrder([...teams.values()].map((t) => t.players), [...teams.values()].map((t) => t.rank));
}

/**
 * A rating input in its canonical order: players sorted within a team, teams by rank, then by their first
 * player. Ratings do not depend on the order of teams of equal rank; the recorded input is compared with
 * a recomputed one as is, so both are kept in this order (erase-player re-sorts after renaming a player).
 */
export function inputOrder(teams: readonly (readonly string[])[], ranks: readonly number[]): RatingInput {
  const list = teams.map((t, i) => ({ players: [...t].sort(), rank: ranks[i] as number }));
  list.sort((a, b) => a.rank - b.rank || ((a.players[0] as string) < (b.players[0] as string) ? -1 : 1));
  return { teams: list.map((t) => t.players), ranks: list.map((t) => t.rank) };
}

export interface PlayerRating {
  mu: number;
  sigma: number;
}

/** New ratings of the players of one session, given their current ratings (missing: the default prior). */
export function rateTeams(input: RatingInput, current: (player: string) => PlayerRating | undefined): Map<string, PlayerRating> {
  const teams = input.teams.map((t) => t.map((p) => current(p) ?? newRating()));
  const rated = rate(teams, { rank: input.ranks });
  const out = new Map<string, PlayerRating>();
  input.teams.forEach((t, i) => t.forEach((p, j) => out.set(p, rated[i]?.[j] as PlayerRating)));
  return out;
}

/** The scopes a session is rated in: all and its game, or a confined session's tenant's own of those. */
export const ratingScopes = (gameType: string | null, tenant: string | null = null) =>
  (gameType === null ? ['all'] : ['all', `game:${gameType}`]).map((s) => tenantScope(tenant, s));

/** Rates one finished session unless it was rated already or is not final yet. Returns whether this call rated it. */
export async function rateSession(orm: MikroORM, sessionId: string | number): Promise<boolean> {
  return transaction(orm, (q) => rateSessionTx(q, String(sessionId), null));
}

/**
 * `horizonPassed`: with a queue horizon, whether a session with seqs given up may be rated, given its
 * recorded horizon (checked again under the session's lock: a gap given up meanwhile clears it).
 */
async function rateSessionTx(q: TxQuery, sessionId: string, horizonPassed: ((horizon: number | null) => boolean) | null): Promise<boolean> {
  await q(AGGREGATES_SHARED_LOCK_SQL);
  const [head] = await q<{ game_type: string | null; stat_tenant: string | null; status: string; final: boolean; rated_at: Date | null; lost_seqs: string; rating_horizon: string | null }>(
    LOCK_RATED_SESSION_SQL,
    [sessionId],
  );
  if (!head || head.status !== 'finished' || !head.final || head.game_type === null || head.rated_at !== null) return false;
  if (horizonPassed && Number(head.lost_seqs) > 0 && !horizonPassed(head.rating_horizon === null ? null : Number(head.rating_horizon))) return false;
  const input = ratingInput(await q<Participant>(RATING_PARTICIPANTS_SQL, [sessionId]));
  const skipped = typeof input === 'string' ? input : null;
  const scopes = ratingScopes(head.game_type, head.stat_tenant);
  const players = skipped ? [] : (input as RatingInput).teams.flat().sort();
  if (players.length) await q(LOCK_RATED_PLAYERS_SQL, [players.flatMap((p) => scopes.map((s) => `${p}\u0001${s}`))]);
  const marked = await q(INSERT_RATED_SQL, [
    sessionId, head.game_type, head.stat_tenant, skipped ? null : JSON.stringify((input as RatingInput).teams), skipped ? null : JSON.stringify((input as RatingInput).ranks), skipped,
  ]);
  if (!marked.length || skipped) return marked.length > 0;
  const inp = input as RatingInput;
  const locked = await q<{ player_id: string; scope: string; mu: number | null; sigma: number | null; rating: number | null }>(LOCK_RATINGS_SQL, [scopes, players]);
  const cur = new Map(locked.map((r) => [`${r.player_id}\u0001${r.scope}`, r]));
  const out: { player_id: string; scope: string; mu: number; sigma: number; rating: number; old_rating: number | null }[] = [];
  for (const scope of scopes) {
    const next = rateTeams(inp, (p) => {
      const r = cur.get(`${p}\u0001${scope}`);
      return r && r.mu !== null && r.sigma !== null ? { mu: r.mu, sigma: r.sigma } : undefined;
    });
    for (const [p, r] of next) out.push({ player_id: p, scope, mu: r.mu, sigma: r.sigma, rating: ordinal(r), old_rating: cur.get(`${p}\u0001${scope}`)?.rating ?? null });
  }
  out.sort((a, b) => (a.player_id !== b.player_id ? (a.player_id < b.player_id ? -1 : 1) : a.scope < b.scope ? -1 : 1));
  await q(UPSERT_RATINGS_SQL, [JSON.stringify(out)]);
  return true;
}

export interface RatingRun {
  rated: number;
  /** Seconds until the next final session has been quiet for the delay, or a held one is worth checking again (null: none waits). */
  nextDueInS: number | null;
  /** Sessions with seqs given up that wait for the queue horizon (see the module comment). */
  held: number;
}

/** How soon a ratings run comes back for sessions held behind the queue horizon. */
export const HELD_RECHECK_S = 5;

export interface RatingRunOptions {
  /** At most this many sessions read at a time. @defaultValue 500 */
  limit?: number;
  /**
   * The events queue's horizon: sessions with seqs given up wait until no job that could bring them is
   * left. Without it (tools, tests, `rebuild`) they are rated as soon as they are quiet.
   */
  horizon?: QueueHorizon;
}

/**
 * Rates every final, finished session with a known game type none of whose events was written for
 * `delayS` seconds (in batches), holding back those the queue horizon says may still get events. Says
 * when the next waiting one will be ready, so the caller can come back then.
 */
export async function rateFinishedSessions(orm: MikroORM, delayS: number, options: RatingRunOptions | number = {}): Promise<RatingRun> {
  // A number is the limit, as the third argument was before the options.
  const opts: RatingRunOptions = typeof options === 'number' ? { limit: options } : options;
  const limit = opts.limit ?? 500;
  let rated = 0;
  /** Sessions this run looked at and did not rate: not read again in it (so it always ends). */
  const tried: string[] = [];
  let held = 0;
  const waiting: number[] = [];
  // Read at most once a run, and only when a session needs it.
  let reading: { newest: number; oldestPending: number | null } | null = null;
  for (;;) {
    const rows = await transaction(orm, (q) =>
      q<{ id: string; lost_seqs: string; rating_horizon: string | null; due_in_s: number }>(UNRATED_SESSIONS_SQL, [delayS, limit, tried]),
    );
    const due = rows.filter((r) => r.due_in_s <= 0);
    waiting.push(...rows.filter((r) => r.due_in_s > 0).map((r) => r.due_in_s));
    let ready = due.map((r) => r.id);
    const lost = due.filter((r) => Number(r.lost_seqs) > 0);
    let passed: ((h: number | null) => boolean) | null = null;
    if (opts.horizon && lost.length) {
      const now = (reading ??= await opts.horizon.read());
      passed = (h) => h !== null && (now.oldestPending === null || now.oldestPending > h);
      const horizons = new Map(
        (await transaction(orm, (q) => q<{ id: string; rating_horizon: string }>(SET_RATING_HORIZON_SQL, [lost.map((r) => r.id), now.newest]))).map((r) => [r.id, Number(r.rating_horizon)]),
      );
      const check = passed;
      const hold = new Set(lost.filter((r) => !check(horizons.get(r.id) ?? null)).map((r) => r.id));
      held += hold.size;
      tried.push(...hold);
      ready = ready.filter((id) => !hold.has(id));
    }
    // With a horizon, a session whose gap was given up after it was read is held too (a later run rates it).
    const guard = passed ?? (opts.horizon ? () => false : null);
    for (const id of ready) {
      if (await transaction(orm, (q) => rateSessionTx(q, id, guard))) rated++;
      else tried.push(id);
    }
    if (rows.length < limit || !due.length) {
      const next = [...waiting, ...(held ? [HELD_RECHECK_S] : [])];
      return { rated, nextDueInS: next.length ? Math.min(...next) : null, held };
    }
  }
}

/** Replays rating inputs in order: the ratings every (player, scope) should have. */
export function replayRatings(history: { game_type: string | null; tenant?: string | null; teams: string[][]; ranks: number[] }[]): Map<string, PlayerRating & { games: number }> {
  const state = new Map<string, PlayerRating & { games: number }>();
  for (const h of history)
    for (const scope of ratingScopes(h.game_type, h.tenant ?? null)) {
      const next = rateTeams(h, (p) => state.get(`${p}\u0001${scope}`));
      for (const [p, r] of next) {
        const key = `${p}\u0001${scope}`;
        state.set(key, { mu: r.mu, sigma: r.sigma, games: (state.get(key)?.games ?? 0) + 1 });
      }
    }
  return state;
}
