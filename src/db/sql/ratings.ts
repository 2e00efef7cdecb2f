/** SQL of the ratings (src/aggregates/ratings.ts). */

/**
 * Finished sessions ready to be rated, and the ones about to be: final (nothing before their end can
 * still arrive), game type known, not rated, not among $3 (ids this run holds back). Ready once none of
 * their events was written for $1 seconds (both times are the database's, so a worker's clock does not
 * matter); `due_in_s` <= 0 means ready. With seqs given up as lost (`lost_seqs`), a session may also wait
 * for its `rating_horizon` (src/queue/horizon.ts). Oldest first, at most $2.
 */
export const UNRATED_SESSIONS_SQL = `
SELECT id, lost_seqs, rating_horizon, extract(epoch FROM updated_at + make_interval(secs => $1) - now())::float8 AS due_in_s FROM sessions
WHERE status = 'finished' AND rated_at IS NULL AND final_at IS NOT NULL AND game_type IS NOT NULL AND NOT (id = ANY($3::text[]))
ORDER BY ended_at LIMIT $2`;

/**
 * Records the events queue's newest job id ($2) as the rating horizon of sessions $1 that have seqs given
 * up as lost and none recorded yet (a gap given up since clears it), locking them in id order as batches
 * do. Result: id, rating_horizon of every one of them that has one now.
 */
export const SET_RATING_HORIZON_SQL = `
UPDATE sessions s SET rating_horizon = coalesce(s.rating_horizon, $2::bigint)
FROM (SELECT id FROM sessions WHERE id = ANY($1::text[]) AND lost_seqs > 0 ORDER BY id FOR UPDATE) x
WHERE s.id = x.id RETURNING s.id, s.rating_horizon`;

/**
 * The session, locked: its participants cannot change while it is rated. $1 session id. A statement of
 * its own: in READ COMMITTED a join in the locking statement would read the participants as they were
 * before the batch it waited for committed.
 */
export const LOCK_RATED_SESSION_SQL = `
SELECT game_type, CASE WHEN confined THEN tenant END AS stat_tenant, status, final_at IS NOT NULL AS final, rated_at, lost_seqs, rating_horizon
FROM sessions WHERE id = $1 FOR UPDATE`;

/** Its participants' effective results (read after the lock). $1 session id. */
export const RATING_PARTICIPANTS_SQL = `
SELECT player_id, team, eff_outcome AS outcome FROM session_participants WHERE session_id = $1 ORDER BY player_id`;

/**
 * Serialises the ratings of sessions that share a player: a transaction-scoped advisory lock per
 * (player, scope), taken in one order before the rating's place in `rated_sessions.ord` is drawn, so
 * the order of `ord` is the order the ratings were applied in (verify and rebuild replay by it), even
 * for a player who has no player_stats row yet to lock. $1: keys (text[]).
 */
export const LOCK_RATED_PLAYERS_SQL = `
SELECT pg_advisory_xact_lock(hashtextextended(k, 7001)) FROM (SELECT unnest($1::text[]) AS k ORDER BY 1) x`;

/**
 * What rated sessions $1 were rated with, and their game type and confined tenant now (a change makes
 * the rating stale: the session now counts in other scopes).
 */
export const RATED_INPUTS_SQL = `
SELECT r.session_id, r.teams, r.ranks, r.game_type, s.game_type AS current_type, r.tenant, CASE WHEN s.confined THEN s.tenant END AS current_tenant
FROM rated_sessions r JOIN sessions s ON s.id = r.session_id WHERE r.session_id = ANY($1::text[])`;

export interface RatedInputRow {
  session_id: string;
  teams: string[][] | null;
  ranks: number[] | null;
  game_type: string | null;
  current_type: string | null;
  tenant: string | null;
  current_tenant: string | null;
}

/** Whether rated sessions' inputs changed since they were rated (rebuild re-rates the stale). $1: JSON [{id, stale}]. */
export const MARK_RATINGS_STALE_SQL = `
UPDATE sessions s SET rating_stale = x.stale FROM json_to_recordset($1::json) AS x(id text, stale boolean)
WHERE s.id = x.id AND s.rating_stale IS DISTINCT FROM x.stale`;

/** Records the rating input once; no row back means the session was rated already. */
export const INSERT_RATED_SQL = `
WITH r AS (
  INSERT INTO rated_sessions (session_id, game_type, tenant, teams, ranks, skipped) VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6)
  ON CONFLICT (session_id) DO NOTHING RETURNING session_id, ord)
UPDATE sessions s SET rated_at = now() FROM r WHERE s.id = r.session_id RETURNING r.ord`;

/** Current ratings of players $2 in scopes $1, locked in key order. */
export const LOCK_RATINGS_SQL = `
SELECT player_id, scope, mu, sigma, rating FROM player_stats
WHERE scope = ANY($1::text[]) AND player_id = ANY($2::text[]) ORDER BY player_id, scope FOR UPDATE`;

/**
 * Writes new ratings and moves the rating buckets; a row created here (a player known only from the
 * session's winners list) also enters the xp and wins buckets at 0.
 * $1: JSON [{player_id, scope, mu, sigma, rating, old_rating}], sorted by (player_id, scope).
 */
export const UPSERT_RATINGS_SQL = `
WITH d AS (
  SELECT * FROM json_to_recordset($1::json) AS x(player_id text, scope text, mu float8, sigma float8, rating float8, old_rating float8)),
u AS (
  INSERT INTO player_stats AS s (player_id, scope, mu, sigma, rating, rated_games)
  SELECT player_id, scope, mu, sigma, rating, 1 FROM d
  ON CONFLICT (player_id, scope) DO UPDATE SET mu = excluded.mu, sigma = excluded.sigma, rating = excluded.rating,
    rated_games = s.rated_games + 1
  RETURNING s.player_id, s.scope, (s.xmax = 0) AS inserted),
moves AS (
  SELECT d.scope, m.metric, m.bucket, sum(m.n) AS n
  FROM d JOIN u ON u.player_id = d.player_id AND u.scope = d.scope
  CROSS JOIN LATERAL (
    SELECT 4 AS metric, gp_bucket(4, d.rating) AS bucket, 1 AS n
    UNION ALL SELECT 4, gp_bucket(4, d.old_rating), -1 WHERE d.old_rating IS NOT NULL
    UNION ALL SELECT 1, gp_bucket(1, 0), 1 WHERE u.inserted
    UNION ALL SELECT 2, gp_bucket(2, 0), 1 WHERE u.inserted) m
  GROUP BY 1, 2, 3 HAVING sum(m.n) <> 0)
INSERT INTO leaderboard_buckets AS b (scope, metric, bucket, n)
SELECT scope, metric, bucket, n FROM moves ORDER BY scope, metric, bucket
ON CONFLICT (scope, metric, bucket) DO UPDATE SET n = b.n + excluded.n`;

/** Every rated session's input in rating order (verify and rebuild replay them). */
export const RATED_HISTORY_SQL = `SELECT session_id, game_type, tenant, teams, ranks FROM rated_sessions WHERE teams IS NOT NULL ORDER BY ord`;

/** Stored ratings (verify compares them with the replay). */
export const STORED_RATINGS_SQL = `SELECT player_id, scope, mu, sigma, rating, rated_games FROM player_stats WHERE rated_games > 0 OR rating IS NOT NULL`;

/** Rebuild: clear every rating (the buckets are recomputed after). */
export const CLEAR_RATINGS_SQL = `UPDATE player_stats SET mu = NULL, sigma = NULL, rating = NULL, rated_games = 0 WHERE rated_games > 0 OR rating IS NOT NULL`;

/** Rebuild: write replayed ratings. $1: JSON [{player_id, scope, mu, sigma, rating, rated_games}]. */
export const WRITE_RATINGS_SQL = `
INSERT INTO player_stats AS s (player_id, scope, mu, sigma, rating, rated_games)
SELECT player_id, scope, mu, sigma, rating, rated_games
FROM json_to_recordset($1::json) AS x(player_id text, scope text, mu float8, sigma float8, rating float8, rated_games int)
ORDER BY player_id, scope
ON CONFLICT (player_id, scope) DO UPDATE SET mu = excluded.mu, sigma = excluded.sigma, rating = excluded.rating, rated_games = excluded.rated_games`;
