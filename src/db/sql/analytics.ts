/**
 * Reads of the analytics API (src/aggregates/read.ts). Column names per metric come from the fixed map
 * below, never from input; every value is a bound parameter.
 */
import { METRICS, type Metric } from './aggregates.ts';

/** Each metric is the player_stats column of its name. */
export const METRIC_COLUMN: Record<Metric, string> = { xp: 'xp', wins: 'wins', win_rate: 'win_rate', rating: 'rating', best_score: 'best_score' };
const METRIC_ID: Record<Metric, number> = METRICS;
/** Columns that are null for a player off the board (too few games, unrated, no score). */
const nullable = (m: Metric) => m === 'win_rate' || m === 'rating' || m === 'best_score';

export const PLAYER_SQL = `SELECT id, name, first_seen_at, last_seen_at FROM players WHERE id = $1`;

/**
 * A player's ($1) rows in an all-time scope ($2: `all`, or a tenant's `tenant:<t>`) and its game scopes
 * (those starting with $3: `game:`, or `tenant:<t>/game:`), with the XP rank on the all-time board.
 */
export const PLAYER_STATS_SQL = `
SELECT scope, games, wins, losses, draws, xp, tasks, fake_tasks, votes, last_played_at, win_rate, best_score, mu, sigma, rating, rated_games,
  CASE WHEN scope = $2 THEN gp_rank(scope, 1, xp) END AS xp_rank
FROM player_stats WHERE player_id = $1 AND (scope = $2 OR left(scope, length($3)) = $3) ORDER BY scope`;

/** Where a player ($1) is known to tenant $2 (its confined sessions): the latest name it gave, its first participant event. */
export const TENANT_PLAYER_SQL = `
SELECT (SELECT p.name FROM session_participants p JOIN sessions s ON s.id = p.session_id
    WHERE p.player_id = $1 AND s.confined AND s.tenant = $2 AND p.name IS NOT NULL ORDER BY p.last_at DESC NULLS LAST, p.session_id DESC LIMIT 1) AS name,
  (SELECT min(e.at) FROM participant_events e JOIN sessions s ON s.id = e.session_id WHERE e.player_id = $1 AND s.confined AND s.tenant = $2) AS first_seen_at`;

/**
 * Names on a board: the global players' (`players`), or on a tenant's board (tenant in parameter $n)
 * the name the player has in the tenant's confined sessions, since a confined session names no global player.
 */
const names = (alias: string, tenantParam: number | null) =>
  tenantParam === null
    ? `LEFT JOIN players pl ON pl.id = ${alias}.player_id`
    : `LEFT JOIN LATERAL (SELECT p.name FROM session_participants p JOIN sessions ss ON ss.id = p.session_id
    WHERE p.player_id = ${alias}.player_id AND ss.confined AND ss.tenant = $${tenantParam} AND p.name IS NOT NULL
    ORDER BY p.last_at DESC NULLS LAST, p.session_id DESC LIMIT 1) pl ON true`;

/** Top $2 of scope $1 by a metric, with competition ranks (ties share a rank); `tenant`: names from tenant $3's sessions. */
export function topSql(m: Metric, tenant = false): string {
  const c = METRIC_COLUMN[m];
  return `
SELECT t.player_id, pl.name, t.value, t.games, t.wins, rank() OVER (ORDER BY t.value DESC)::int AS rank
FROM (SELECT player_id, ${c}::float8 AS value, ${c} AS raw, games, wins FROM player_stats
  WHERE scope = $1${nullable(m) ? ` AND ${c} IS NOT NULL` : ''} ORDER BY ${c} DESC, player_id LIMIT $2) t
${names('t', tenant ? 3 : null)}
ORDER BY t.raw DESC, t.player_id`;
}

/**
 * The $3 players before and after player $2 on the board of scope $1. Each side is two index range scans
 * (same value, then beyond it). gp_rank gives the ranks of three values only: the player's, the highest
 * listed and the first lower one; the others follow from the listed rows (fillAroundRanks), since every
 * player between two listed values is listed. `tenant`: names from tenant $4's sessions.
 */
export function aroundSql(m: Metric, tenant = false): string {
  const c = METRIC_COLUMN[m];
  const nn = nullable(m) ? ` AND s.${c} IS NOT NULL` : '';
  // (SELECT v FROM me) is an InitPlan: a value the index scans can start from (a join would scan the board).
  const v = '(SELECT v FROM me)';
  const p = '(SELECT player_id FROM me)';
  return `
WITH me AS (SELECT player_id, ${c} AS v, games, wins FROM player_stats WHERE scope = $1 AND player_id = $2${nn.replace('s.', '')}),
above AS (
  SELECT * FROM (
    (SELECT s.player_id, s.${c} AS v, s.games, s.wins FROM player_stats s WHERE s.scope = $1 AND s.${c} = ${v} AND s.player_id < ${p}
      ORDER BY s.player_id DESC LIMIT $3)
    UNION ALL
    (SELECT s.player_id, s.${c}, s.games, s.wins FROM player_stats s WHERE s.scope = $1 AND s.${c} > ${v}
      ORDER BY s.${c} ASC, s.player_id DESC LIMIT $3)) a
  ORDER BY v ASC, player_id DESC LIMIT $3),
below AS (
  SELECT * FROM (
    (SELECT s.player_id, s.${c} AS v, s.games, s.wins FROM player_stats s WHERE s.scope = $1 AND s.${c} = ${v} AND s.player_id > ${p}
      ORDER BY s.player_id LIMIT $3)
    UNION ALL
    (SELECT s.player_id, s.${c}, s.games, s.wins FROM player_stats s WHERE s.scope = $1 AND s.${c} < ${v}${nn}
      ORDER BY s.${c} DESC, s.player_id LIMIT $3)) b
  ORDER BY v DESC, player_id LIMIT $3),
rows AS (SELECT * FROM above UNION ALL SELECT * FROM me UNION ALL SELECT * FROM below),
ranks AS (
  SELECT v, gp_rank($1, ${METRIC_ID[m]}, v::float8)::int AS rank
  FROM (SELECT v FROM me UNION SELECT max(v) FROM above UNION SELECT max(v) FROM below WHERE v < ${v}) d WHERE v IS NOT NULL)
SELECT r.player_id, pl.name, r.v::float8 AS value, r.games, r.wins, k.rank, r.player_id = $2 AS me
FROM rows r LEFT JOIN ranks k ON k.v = r.v ${names('r', tenant ? 4 : null)}
ORDER BY r.v DESC, r.player_id`;
}

/** Players of a board (scope $1). */
export function boardSizeSql(m: Metric): string {
  return `SELECT coalesce(sum(n), 0)::bigint AS n FROM leaderboard_buckets WHERE scope = $1 AND metric = ${METRIC_ID[m]}`;
}

/** Participants of session $1 ranked by their XP in it (outcome XP plus task XP), then score. */
export const SESSION_LEADERBOARD_SQL = `
SELECT rank() OVER (ORDER BY x.xp DESC, x.score DESC NULLS LAST)::int AS rank, x.*
FROM (
  SELECT p.player_id, coalesce(p.name, pl.name) AS name, p.role, p.team, p.outcome,
    (coalesce(p.xp, 0) + p.task_xp)::bigint AS xp, p.score, p.tasks, p.fake_tasks, p.votes
  FROM session_participants p LEFT JOIN players pl ON pl.id = p.player_id WHERE p.session_id = $1) x
ORDER BY x.xp DESC, x.score DESC NULLS LAST, x.player_id`;

export const SESSION_HEAD_SQL = `SELECT id, tenant, game_type, name, status, started_at, ended_at, winners FROM sessions WHERE id = $1`;

/** Sessions of tenant $1 whose first event is within the $2 days before $3 (the caller's now), by status. */
export const TENANT_STATS_SQL = `
SELECT count(*)::int AS total,
  count(*) FILTER (WHERE status IN ('created', 'started'))::int AS active,
  count(*) FILTER (WHERE status = 'finished')::int AS completed,
  count(*) FILTER (WHERE status = 'abandoned')::int AS abandoned,
  count(DISTINCT game_type)::int AS game_types
FROM sessions WHERE tenant = $1 AND first_event_at >= $3::timestamptz - make_interval(days => $2)`;

/**
 * Chat messages of tenant $1's sessions sent in the $2 days before $3 (the caller's now), per player
 * (null: a message without one) and channel, with the player's name. A session holding such a message
 * has its last event at or after it, so only the tenant's sessions active in the window are read
 * (sessions_tenant_first_event_at_index), and each one's messages by chat_messages_session_seq_idx.
 */
export const TENANT_CHAT_SQL = `
SELECT c.player_id, pl.name, c.channel, count(*)::int AS messages
FROM sessions s JOIN chat_messages c ON c.session_id = s.id LEFT JOIN players pl ON pl.id = c.player_id
WHERE s.tenant = $1 AND s.last_event_at >= $3::timestamptz - make_interval(days => $2)
  AND c.at >= $3::timestamptz - make_interval(days => $2)
GROUP BY c.player_id, pl.name, c.channel`;

/**
 * Per local day ($2 zone) of the $1 days up to $3 (the caller's now): sessions created, started, finished,
 * abandoned, mean duration, players; of game type $4 only when not null. Each count is a range scan of
 * its time column's index (sessions_first_event_at_index, _started_at_, _ended_at_), the game type
 * filtered on the day's rows.
 */
export const DAILY_STATS_SQL = `
WITH days AS (
  SELECT d::date AS day, (d::date::timestamp AT TIME ZONE $2) AS t0, ((d::date + 1)::timestamp AT TIME ZONE $2) AS t1
  FROM generate_series(($3::timestamptz AT TIME ZONE $2)::date - ($1::int - 1), ($3::timestamptz AT TIME ZONE $2)::date, interval '1 day') AS d),
-- Inlined into each count (not materialized: that would read every session), so each keeps its index.
s AS NOT MATERIALIZED (SELECT * FROM sessions WHERE $4::text IS NULL OR game_type = $4)
SELECT to_char(day, 'YYYY-MM-DD') AS day,
  (SELECT count(*) FROM s WHERE s.first_event_at >= t0 AND s.first_event_at < t1)::int AS created,
  (SELECT count(*) FROM s WHERE s.started_at >= t0 AND s.started_at < t1)::int AS started,
  (SELECT count(*) FROM s WHERE s.ended_at >= t0 AND s.ended_at < t1 AND s.status = 'finished')::int AS finished,
  (SELECT count(*) FROM s WHERE s.ended_at >= t0 AND s.ended_at < t1 AND s.status = 'abandoned')::int AS abandoned,
  (SELECT avg(extract(epoch FROM s.ended_at - coalesce(s.started_at, s.created_at, s.first_event_at)))
     FROM s WHERE s.ended_at >= t0 AND s.ended_at < t1 AND s.status = 'finished')::float8 AS avg_duration_s,
  (SELECT count(DISTINCT p.player_id) FROM s JOIN session_participants p ON p.session_id = s.id
     WHERE s.first_event_at >= t0 AND s.first_event_at < t1)::int AS players
FROM days ORDER BY day DESC`;

/** The $2 latest sessions, of tenant $1 when not null (winners, final scores and result: from a session.finished). */
export const RECENT_SESSIONS_SQL = `
SELECT s.id, s.tenant, s.game_type, s.name, s.status, s.first_event_at, s.started_at, s.ended_at, s.winners, s.final_scores, s.result,
  (SELECT count(*) FROM session_participants p WHERE p.session_id = s.id)::int AS players
FROM sessions s WHERE ($1::text IS NULL OR s.tenant = $1) ORDER BY s.first_event_at DESC LIMIT $2`;

/** Periods that ended by $1 (the caller's clock) and are not closed yet. */
export const DUE_PERIODS_SQL = `SELECT scope FROM stat_periods WHERE closed_at IS NULL AND ends_at <= $1::timestamptz ORDER BY ends_at, scope LIMIT 100`;

/** Metrics of the period boards (ratings have no periods). */
export const PERIOD_METRICS = ['xp', 'wins', 'win_rate', 'best_score'] as const satisfies readonly Metric[];

/** Archives the top $2 of closed period $1 per period metric. Run after DELETE_ARCHIVE_SQL. */
export const ARCHIVE_PERIOD_SQL = `
WITH t AS (
  ${PERIOD_METRICS.map((m) => `SELECT '${m}' AS metric, player_id, value FROM (${topSql(m)}) ${m}`).join('\n  UNION ALL ')})
INSERT INTO leaderboard_archive (scope, metric, position, rank, player_id, value)
SELECT $1, metric, row_number() OVER (PARTITION BY metric ORDER BY value DESC, player_id),
  rank() OVER (PARTITION BY metric ORDER BY value DESC), player_id, value
FROM t`;
export const DELETE_ARCHIVE_SQL = `DELETE FROM leaderboard_archive WHERE scope = $1`;
export const CLOSE_PERIOD_SQL = `UPDATE stat_periods SET closed_at = now() WHERE scope = $1 AND closed_at IS NULL RETURNING scope`;
export const ARCHIVE_SQL = `SELECT metric, position, rank, player_id, value, archived_at FROM leaderboard_archive WHERE scope = $1 AND metric = $2 ORDER BY position LIMIT $3`;
