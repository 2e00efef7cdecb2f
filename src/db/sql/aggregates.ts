/**
 * SQL of the exact aggregates (player_stats by scope, leaderboard buckets, periods). Deltas come only
 * from rows a transaction really inserted or changed, so a duplicate or a redelivery never counts.
 */

/**
 * Ingest and rating transactions hold this advisory lock shared; `rebuild` takes it exclusively for one
 * chunk at a time, so a chunk is recomputed while no aggregate is being changed.
 */
export const AGGREGATES_LOCK_KEY = 0x67705f61; // 'gp_a'
export const AGGREGATES_SHARED_LOCK_SQL = `SELECT pg_advisory_xact_lock_shared(${AGGREGATES_LOCK_KEY})`;
export const AGGREGATES_EXCLUSIVE_LOCK_SQL = `SELECT pg_advisory_xact_lock(${AGGREGATES_LOCK_KEY})`;

export const METRICS = { xp: 1, wins: 2, win_rate: 3, rating: 4 } as const;
export type Metric = keyof typeof METRICS;
export const METRIC_NAMES = Object.keys(METRICS) as Metric[];

/** One (player, scope) delta; every counter is added, last_at is a maximum. */
export interface StatDelta {
  player_id: string;
  scope: string;
  games: number;
  wins: number;
  losses: number;
  draws: number;
  xp: number;
  tasks: number;
  fake_tasks: number;
  votes: number;
  last_at: string | null;
}

/** Moves a player's bucket by metric from the old value to the new (for a fresh row: no old value). */
const BUCKET_MOVES = `
  SELECT 1 AS metric, gp_bucket(1, u.xp) AS bucket, 1 AS n
  UNION ALL SELECT 1, gp_bucket(1, u.xp - d.xp), -1 WHERE NOT u.inserted
  UNION ALL SELECT 2, gp_bucket(2, u.wins), 1
  UNION ALL SELECT 2, gp_bucket(2, u.wins - d.wins), -1 WHERE NOT u.inserted
  UNION ALL SELECT 3, gp_bucket(3, u.win_rate), 1 WHERE u.win_rate IS NOT NULL
  UNION ALL SELECT 3, gp_bucket(3, (u.wins - d.wins)::float8 / (u.games - d.games)), -1
    WHERE NOT u.inserted AND u.games - d.games >= $2 AND u.games - d.games > 0`;

/**
 * Adds deltas to player_stats and moves the leaderboard buckets, in one statement. The old values are
 * the new ones minus the delta (the update is additive on the locked row, so this holds under any
 * concurrency). Rows arrive sorted by primary key and buckets are written in key order: replicas lock
 * in one order.
 *
 * $1: JSON array of StatDelta, unique by (player_id, scope). $2: GP_WIN_RATE_MIN_GAMES.
 */
export const UPSERT_PLAYER_STATS_SQL = `
WITH d AS (
  SELECT * FROM json_to_recordset($1::json) AS x(player_id text, scope text, games int, wins int, losses int, draws int,
    xp bigint, tasks int, fake_tasks int, votes int, last_at timestamptz)),
u AS (
  INSERT INTO player_stats AS s (player_id, scope, games, wins, losses, draws, xp, tasks, fake_tasks, votes, last_played_at, win_rate)
  SELECT player_id, scope, games, wins, losses, draws, xp, tasks, fake_tasks, votes, last_at,
    CASE WHEN games >= $2 AND games > 0 THEN wins::float8 / games END
  FROM d
  ON CONFLICT (player_id, scope) DO UPDATE SET
    games = s.games + excluded.games,
    wins = s.wins + excluded.wins,
    losses = s.losses + excluded.losses,
    draws = s.draws + excluded.draws,
    xp = s.xp + excluded.xp,
    tasks = s.tasks + excluded.tasks,
    fake_tasks = s.fake_tasks + excluded.fake_tasks,
    votes = s.votes + excluded.votes,
    last_played_at = greatest(s.last_played_at, excluded.last_played_at),
    win_rate = CASE WHEN s.games + excluded.games >= $2 AND s.games + excluded.games > 0
      THEN (s.wins + excluded.wins)::float8 / (s.games + excluded.games) END
  RETURNING s.player_id, s.scope, s.games, s.wins, s.xp, s.win_rate, (s.xmax = 0) AS inserted),
moves AS (
  SELECT u.scope, m.metric, m.bucket, sum(m.n) AS n
  FROM u JOIN d ON d.player_id = u.player_id AND d.scope = u.scope
  CROSS JOIN LATERAL (${BUCKET_MOVES}) m
  GROUP BY u.scope, m.metric, m.bucket HAVING sum(m.n) <> 0)
INSERT INTO leaderboard_buckets AS b (scope, metric, bucket, n)
SELECT scope, metric, bucket, n FROM moves ORDER BY scope, metric, bucket
ON CONFLICT (scope, metric, bucket) DO UPDATE SET n = b.n + excluded.n`;

/**
 * The whole contribution of each participant of sessions that just got their game type (added to the
 * game's scope then, since it was unknown when those events landed). $1: session ids.
 */
export const TYPED_CONTRIBUTIONS_SQL = `
SELECT p.player_id, 'game:' || s.game_type AS scope,
  (p.outcome IS NOT NULL)::int AS games, (p.outcome = 'win')::int AS wins, (p.outcome = 'loss')::int AS losses,
  (p.outcome = 'draw')::int AS draws, p.task_xp + CASE WHEN p.outcome IS NOT NULL THEN coalesce(p.xp, 0) ELSE 0 END AS xp,
  p.tasks, p.fake_tasks, p.votes, p.last_at
FROM session_participants p JOIN sessions s ON s.id = p.session_id
WHERE p.session_id = ANY($1::text[]) AND s.game_type IS NOT NULL`;

/** Period bounds of a scope in the stats time zone ($2). */
const PERIOD_BOUNDS = `
  SELECT scope, kind, (d::timestamp AT TIME ZONE $2) AS starts_at,
    ((d + CASE kind WHEN 'day' THEN interval '1 day' WHEN 'week' THEN interval '7 days' ELSE interval '1 month' END)::timestamp AT TIME ZONE $2) AS ends_at
  FROM (SELECT scope, split_part(scope, ':', 1) AS kind,
      (CASE WHEN split_part(scope, ':', 1) = 'month' THEN split_part(scope, ':', 2) || '-01' ELSE split_part(scope, ':', 2) END)::date AS d
    FROM unnest($1::text[]) AS scope) x`;

/** Registers periods seen by a batch (closing and archiving happen later, by schedule). $1 scopes, $2 time zone. */
export const INSERT_PERIODS_SQL = `
INSERT INTO stat_periods (scope, kind, starts_at, ends_at)
${PERIOD_BOUNDS}
ORDER BY scope
ON CONFLICT (scope) DO NOTHING`;

/** The scopes an event at `at` (column expression) counts in, as SQL; must match periodScopes(). $tz is the zone. */
export const periodScopesSql = (at: string, tz: string) => `
  ('day:' || to_char(${at} AT TIME ZONE ${tz}, 'YYYY-MM-DD')),
  ('week:' || to_char(date_trunc('week', ${at} AT TIME ZONE ${tz}), 'YYYY-MM-DD')),
  ('month:' || to_char(${at} AT TIME ZONE ${tz}, 'YYYY-MM'))`;
