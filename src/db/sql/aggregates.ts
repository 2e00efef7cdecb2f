/**
 * SQL of the exact aggregates (player_stats by scope, leaderboard buckets, periods). Deltas come only
 * from rows a transaction really inserted or changed, so a duplicate or a redelivery never counts.
 */
import { FAMILY_TABLES, PLAYER_STAT_FAMILIES } from '../families.ts';
import { statTenantSql, tenantScopeSql } from '../../derive/scopes.ts';

/**
 * Ingest and rating transactions hold this advisory lock shared; `rebuild` takes it exclusively for one
 * chunk at a time, so a chunk is recomputed while no aggregate is being changed.
 */
export const AGGREGATES_LOCK_KEY = 0x67705f61; // 'gp_a'
export const AGGREGATES_SHARED_LOCK_SQL = `SELECT pg_advisory_xact_lock_shared(${AGGREGATES_LOCK_KEY})`;
export const AGGREGATES_EXCLUSIVE_LOCK_SQL = `SELECT pg_advisory_xact_lock(${AGGREGATES_LOCK_KEY})`;
/**
 * Folds run one at a time across replicas, taking the oldest deltas: a fold that moves a player's
 * contribution out of a scope recomputes its last_played_at from the sessions as they are, and an older
 * delta of the same session folded concurrently by another replica (committing after it) would set the
 * moved-out time again. Taken after AGGREGATES_SHARED_LOCK_SQL (rebuild's exclusive lock comes first).
 */
export const FOLD_LOCK_SQL = `SELECT pg_advisory_xact_lock(${AGGREGATES_LOCK_KEY}, 1)`;

/** Leaderboard metrics and their ids in leaderboard_buckets and gp_bucket/gp_rank (the migrations). */
export const METRICS = { xp: 1, wins: 2, win_rate: 3, rating: 4, best_score: 5 } as const;
export type Metric = keyof typeof METRICS;
export const METRIC_NAMES = Object.keys(METRICS) as Metric[];

/** One player's delta to a set of scopes (all, game, periods); every counter is added, last_at is a maximum. */
export interface StatDelta {
  player_id: string;
  scopes: string[];
  games: number;
  wins: number;
  losses: number;
  draws: number;
  xp: number;
  tasks: number;
  fake_tasks: number;
  votes: number;
  last_at: string | null;
  /** Recompute last_played_at of these (game) scopes from the participants instead of taking a maximum. */
  reset_last?: boolean;
  /** Recompute best_score of these scopes from the participants (RECOMPUTE_BEST_SQL). */
  recompute_best?: boolean;
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

/** Appends a transaction's deltas ($1: JSON array of StatDelta) to stat_deltas. */
export const INSERT_STAT_DELTAS_SQL = `
INSERT INTO stat_deltas (player_id, scopes, games, wins, losses, draws, xp, tasks, fake_tasks, votes, last_at, reset_last, recompute_best)
SELECT player_id, scopes, games, wins, losses, draws, xp, tasks, fake_tasks, votes, last_at, coalesce(reset_last, false), coalesce(recompute_best, false)
FROM json_to_recordset($1::json) AS x(player_id text, scopes text[], games int, wins int, losses int, draws int,
  xp bigint, tasks int, fake_tasks int, votes int, last_at timestamptz, reset_last boolean, recompute_best boolean)`;

/**
 * Folds up to $1 pending deltas into player_stats and moves the leaderboard buckets, in one statement:
 * takes them (SKIP LOCKED: concurrent folds take disjoint sets), sums them per (player, scope), adds the
 * sums to the rows (old values = new minus the sum: the update is additive on the locked row, so this
 * holds under any concurrency), then moves each changed row's buckets. Rows and buckets are written in
 * key order, so replicas lock in one order. $2: GP_WIN_RATE_MIN_GAMES. Returns the deltas taken, the
 * (player, scope) rows whose last_played_at (`reset`) and best_score (`best`) are to be recomputed.
 *
 * `id = ANY (ARRAY(SELECT … FOR UPDATE SKIP LOCKED))`, not `id IN (SELECT …)`: the ARRAY is an InitPlan,
 * run once. With IN, a planner that believes the table nearly empty (a queue table vacuumed while
 * empty has reltuples 0, and a crash loses the counters that would have it re-analyzed) picks a
 * nested-loop semi join that reruns the locking subquery for every row: quadratic, 15-24 s for ~5,000
 * deltas after the chaos pg-restart, and workers missed their drain deadline. ABANDON_IDLE_SQL and
 * DUE_INTERVAL_SQL do the same; test/integration/storage/lock-once.test.ts holds all three.
 */
export const FOLD_STAT_DELTAS_SQL = `
WITH taken AS (
  DELETE FROM stat_deltas WHERE id = ANY (ARRAY(SELECT id FROM stat_deltas ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED))
  RETURNING *),
d AS (
  SELECT player_id, s.scope, sum(games)::int AS games, sum(wins)::int AS wins, sum(losses)::int AS losses, sum(draws)::int AS draws,
    sum(xp)::bigint AS xp, sum(tasks)::int AS tasks, sum(fake_tasks)::int AS fake_tasks, sum(votes)::int AS votes, max(last_at) AS last_at,
    bool_or(reset_last) AS reset_last, bool_or(recompute_best) AS recompute_best
  FROM taken CROSS JOIN LATERAL unnest(taken.scopes) AS s(scope) GROUP BY player_id, s.scope),
u AS (
  INSERT INTO player_stats AS s (player_id, scope, games, wins, losses, draws, xp, tasks, fake_tasks, votes, last_played_at, win_rate)
  SELECT player_id, scope, games, wins, losses, draws, xp, tasks, fake_tasks, votes, last_at,
    CASE WHEN games >= $2 AND games > 0 THEN wins::float8 / games END
  FROM d ORDER BY player_id, scope
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
  GROUP BY u.scope, m.metric, m.bucket HAVING sum(m.n) <> 0),
b AS (
  INSERT INTO leaderboard_buckets AS b (scope, metric, bucket, n)
  SELECT scope, metric, bucket, n FROM moves ORDER BY scope, metric, bucket
  ON CONFLICT (scope, metric, bucket) DO UPDATE SET n = b.n + excluded.n)
SELECT (SELECT count(*)::int FROM taken) AS taken,
  (SELECT json_agg(json_build_object('player_id', player_id, 'scope', scope)) FROM d WHERE reset_last) AS reset,
  (SELECT json_agg(json_build_object('player_id', player_id, 'scope', scope) ORDER BY player_id, scope) FROM d WHERE recompute_best) AS best`;

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

/** The period scopes an event at `at` (column expression) counts in, as SQL expressions; must match periodScopes(). `tz` is the zone. */
export const periodScopeExprs = (at: string, tz: string) => [
  `'day:' || to_char(${at} AT TIME ZONE ${tz}, 'YYYY-MM-DD')`,
  `'week:' || to_char(date_trunc('week', ${at} AT TIME ZONE ${tz}), 'YYYY-MM-DD')`,
  `'month:' || to_char(${at} AT TIME ZONE ${tz}, 'YYYY-MM')`,
];

/** The same as the rows of a VALUES list. */
export const periodScopesSql = (at: string, tz: string) => periodScopeExprs(at, tz).map((e) => `\n  (${e})`).join(',');

/**
 * Every scope a contribution at `at` counts in, as SQL expressions (null for the game scope without a
 * game type): `all`, `game:<type>` and the periods, each the tenant's own when `tenant` (the tenant of a
 * confined session, or null) is not null (src/derive/scopes.ts). All four arguments are SQL expressions.
 */
export const keyScopeExprs = (tenant: string, gameType: string, at: string, tz: string) =>
  [`'all'`, `'game:' || ${gameType}`, ...periodScopeExprs(at, tz)].map((e) => tenantScopeSql(tenant, e));

/** The scopes of a contribution at `at` in the session of row alias `s`, as the rows of a VALUES list. */
export const sessionScopesSql = (s: string, at: string, tz: string) =>
  keyScopeExprs(statTenantSql(s), `${s}.game_type`, at, tz).map((e) => `\n  (${e})`).join(',');

/**
 * best_score of the (player, scope) rows $1 (JSON [{player_id, scope}]) recomputed from the participants
 * (the highest score of a player.outcome that is a participant's latest, in the period of its time), and
 * their best-score buckets moved from the old value to the new. $2: GP_STATS_TZ. Result: rows changed.
 *
 * Why recompute instead of folding a maximum: a maximum cannot be decremented, and an outcome replaced
 * by a later one in seq order (or a session moving to another game type) can lower it. A delta carrying
 * a score would not do either: two folds run concurrently over disjoint deltas, so the fold of an older
 * delta (score 100) can commit after the fold of the delta that replaced that score (by 50). So deltas
 * only flag the rows (stat_deltas.recompute_best), and this statement reads the participants as
 * committed. It runs in the fold's transaction after FOLD_STAT_DELTAS_SQL, which holds those
 * player_stats rows locked: a concurrent fold of the same rows waits for this one to commit, and its own
 * recomputation then starts from a snapshot taken after it, so the last fold to commit saw every
 * participant change whose delta any fold took. Rows, then buckets, are written in key order.
 */
export const RECOMPUTE_BEST_SQL = `
WITH f AS (SELECT DISTINCT player_id, scope FROM json_to_recordset($1::json) AS x(player_id text, scope text)),
scored AS (
  SELECT p.player_id, sc.scope, max(p.score) AS best
  FROM session_participants p JOIN sessions s ON s.id = p.session_id
  CROSS JOIN LATERAL (VALUES ${sessionScopesSql('s', 'p.outcome_at', '$2::text')}) AS sc(scope)
  WHERE p.player_id IN (SELECT player_id FROM f) AND p.outcome IS NOT NULL AND p.score IS NOT NULL
  GROUP BY p.player_id, sc.scope),
o AS (
  SELECT f.player_id, f.scope, s.best_score AS old, b.best AS new
  FROM f JOIN player_stats s ON s.player_id = f.player_id AND s.scope = f.scope
  LEFT JOIN scored b ON b.player_id = f.player_id AND b.scope = f.scope
  WHERE s.best_score IS DISTINCT FROM b.best),
u AS (
  UPDATE player_stats s SET best_score = o.new FROM o WHERE s.player_id = o.player_id AND s.scope = o.scope),
moves AS (
  SELECT scope, gp_bucket(${METRICS.best_score}, new) AS bucket, 1 AS n FROM o WHERE new IS NOT NULL
  UNION ALL SELECT scope, gp_bucket(${METRICS.best_score}, old), -1 FROM o WHERE old IS NOT NULL),
b AS (
  INSERT INTO leaderboard_buckets AS b (scope, metric, bucket, n)
  SELECT scope, ${METRICS.best_score}, bucket, sum(n) FROM moves GROUP BY scope, bucket HAVING sum(n) <> 0 ORDER BY scope, bucket
  ON CONFLICT (scope, metric, bucket) DO UPDATE SET n = b.n + excluded.n)
SELECT count(*)::int AS changed FROM o`;

/** Stat columns compared by verify and written by rebuild, in order. */
export const STAT_COLUMNS = ['games', 'wins', 'losses', 'draws', 'xp', 'tasks', 'fake_tasks', 'votes', 'last_played_at', 'win_rate', 'best_score'] as const;

/** The player filter of the recomputations: $3 is a text[] of player ids, or null for everyone. */
const PLAYERS = `($3::text[] IS NULL OR player_id = ANY($3::text[]))`;

/**
 * player_stats as the rows say they should be: each participant's effective outcome (verify checks those
 * against the events separately); every task and vote; the latest participant, task or vote event as
 * last played; the highest score of the participants' own outcomes, in the period of the outcome's time.
 * $1 time zone, $2 GP_WIN_RATE_MIN_GAMES, $3 players (null: all).
 */
export const EXPECTED_STATS_SQL = `
WITH outcome AS (
  SELECT session_id, player_id, eff_outcome AS outcome, coalesce(eff_xp, 0)::bigint AS xp, eff_at AS at
  FROM session_participants WHERE eff_outcome IS NOT NULL AND ${PLAYERS}),
c AS (
  SELECT player_id, session_id, at, 1 AS games, (outcome = 'win')::int AS wins, (outcome = 'loss')::int AS losses,
    (outcome = 'draw')::int AS draws, xp, 0 AS tasks, 0 AS fake_tasks, 0 AS votes, NULL::timestamptz AS last_at, NULL::float8 AS best FROM outcome
  UNION ALL SELECT player_id, session_id, at, 0, 0, 0, 0, xp::bigint, (NOT fake)::int, fake::int, 0, at, NULL
    FROM task_logs WHERE player_id IS NOT NULL AND ${PLAYERS}
  UNION ALL SELECT player_id, session_id, at, 0, 0, 0, 0, 0, 0, 0, 1, at, NULL FROM votes WHERE player_id IS NOT NULL AND ${PLAYERS}
  UNION ALL SELECT player_id, session_id, at, 0, 0, 0, 0, 0, 0, 0, 0, at, NULL
    FROM participant_events WHERE player_id IS NOT NULL AND ${PLAYERS}
  UNION ALL SELECT player_id, session_id, outcome_at, 0, 0, 0, 0, 0, 0, 0, 0, NULL, score
    FROM session_participants WHERE outcome IS NOT NULL AND score IS NOT NULL AND ${PLAYERS}),
scoped AS (
  SELECT sc.scope, c.* FROM c JOIN sessions s ON s.id = c.session_id
  CROSS JOIN LATERAL (VALUES ${sessionScopesSql('s', 'c.at', '$1::text')}) AS sc(scope)
  WHERE sc.scope IS NOT NULL)
SELECT player_id, scope, sum(games)::int AS games, sum(wins)::int AS wins, sum(losses)::int AS losses, sum(draws)::int AS draws,
  sum(xp)::bigint AS xp, sum(tasks)::int AS tasks, sum(fake_tasks)::int AS fake_tasks, sum(votes)::int AS votes,
  max(last_at) AS last_played_at,
  CASE WHEN sum(games) >= $2 AND sum(games) > 0 THEN sum(wins)::float8 / sum(games) END AS win_rate, max(best) AS best_score
FROM scoped GROUP BY player_id, scope`;

/**
 * Rows where player_stats plus the pending deltas and the recomputation disagree (either side may be
 * missing); the win rate is checked against the summed games and wins. best_score is not checked on a
 * row with a pending recompute_best delta: the fold will recompute it from the participants (what the
 * expected side reads), so the stored one may be behind until then. Same parameters.
 */
export const STATS_DRIFT_SQL = `
WITH e AS (${EXPECTED_STATS_SQL}),
a AS (
  SELECT player_id, scope, sum(games)::int AS games, sum(wins)::int AS wins, sum(losses)::int AS losses, sum(draws)::int AS draws,
    sum(xp)::bigint AS xp, sum(tasks)::int AS tasks, sum(fake_tasks)::int AS fake_tasks, sum(votes)::int AS votes,
    max(last_played_at) AS last_played_at,
    CASE WHEN sum(games) >= $2 AND sum(games) > 0 THEN sum(wins)::float8 / sum(games) END AS win_rate,
    max(best_score) AS best_score, bool_or(recompute_best) AS best_pending
  FROM (
    SELECT player_id, scope, games, wins, losses, draws, xp, tasks, fake_tasks, votes, last_played_at, best_score, false AS recompute_best
      FROM player_stats WHERE ${PLAYERS}
    UNION ALL SELECT player_id, s.scope, games, wins, losses, draws, xp, tasks, fake_tasks, votes, last_at, NULL, recompute_best
      FROM stat_deltas CROSS JOIN LATERAL unnest(scopes) AS s(scope) WHERE ${PLAYERS}) x
  GROUP BY player_id, scope)
SELECT coalesce(e.player_id, a.player_id) AS player_id, coalesce(e.scope, a.scope) AS scope,
  CASE WHEN a.player_id IS NULL THEN NULL ELSE json_build_object(${STAT_COLUMNS.map((c) => `'${c}', a.${c}`).join(', ')}) END AS actual,
  CASE WHEN e.player_id IS NULL THEN NULL ELSE json_build_object(${STAT_COLUMNS.map((c) => `'${c}', e.${c}`).join(', ')}) END AS expected
FROM e FULL JOIN a ON a.player_id = e.player_id AND a.scope = e.scope
WHERE (${STAT_COLUMNS.filter((c) => c !== 'best_score').map((c) => `e.${c} IS DISTINCT FROM a.${c}`).join(' OR ')}
    OR (e.best_score IS DISTINCT FROM a.best_score AND NOT coalesce(a.best_pending, false)))
  -- A row that counts nothing is no row (a session that moved to another game type leaves one behind).
  AND NOT (e.player_id IS NULL AND a.games = 0 AND a.xp = 0 AND a.tasks = 0 AND a.fake_tasks = 0 AND a.votes = 0 AND a.last_played_at IS NULL
    AND (a.best_score IS NULL OR a.best_pending))
ORDER BY 1, 2 LIMIT 1000`;

/** Stored win rates that disagree with their own row's games and wins. $1 GP_WIN_RATE_MIN_GAMES. */
export const WIN_RATE_DRIFT_SQL = `
SELECT player_id, scope, win_rate AS actual, CASE WHEN games >= $1 AND games > 0 THEN wins::float8 / games END AS expected
FROM player_stats WHERE win_rate IS DISTINCT FROM CASE WHEN games >= $1 AND games > 0 THEN wins::float8 / games END
ORDER BY 1, 2 LIMIT 1000`;

/** The bucket counts player_stats implies. */
const WANTED_BUCKETS = `
  SELECT scope, m.metric, m.bucket, count(*) AS n FROM player_stats
  CROSS JOIN LATERAL (VALUES (1, gp_bucket(1, xp)), (2, gp_bucket(2, wins)),
    (3, CASE WHEN win_rate IS NOT NULL THEN gp_bucket(3, win_rate) END),
    (4, CASE WHEN rating IS NOT NULL THEN gp_bucket(4, rating) END),
    (5, CASE WHEN best_score IS NOT NULL THEN gp_bucket(5, best_score) END)) AS m(metric, bucket)
  WHERE m.bucket IS NOT NULL GROUP BY 1, 2, 3`;

export const BUCKET_DRIFT_SQL = `
WITH w AS (${WANTED_BUCKETS}), b AS (SELECT * FROM leaderboard_buckets WHERE n <> 0)
SELECT coalesce(w.scope, b.scope) AS scope, coalesce(w.metric, b.metric) AS metric, coalesce(w.bucket, b.bucket) AS bucket,
  coalesce(b.n, 0)::bigint AS actual, coalesce(w.n, 0)::bigint AS expected
FROM w FULL JOIN b ON b.scope = w.scope AND b.metric = w.metric AND b.bucket = w.bucket
WHERE w.n IS DISTINCT FROM b.n ORDER BY 1, 2, 3 LIMIT 1000`;

/** Replaces all leaderboard buckets by the counts player_stats implies (rebuild, under the exclusive lock). */
export const REBUILD_BUCKETS_SQL = [`DELETE FROM leaderboard_buckets`, `INSERT INTO leaderboard_buckets (scope, metric, bucket, n) ${WANTED_BUCKETS}`];

/** Participant counters recomputed from task and vote rows ($3 players or null). */
const EXPECTED_PARTICIPANTS = `
  SELECT session_id, player_id, sum(tasks)::int AS tasks, sum(fake_tasks)::int AS fake_tasks, sum(task_xp)::bigint AS task_xp,
    sum(votes)::int AS votes
  FROM (SELECT session_id, player_id, (NOT fake)::int AS tasks, fake::int AS fake_tasks, xp AS task_xp, 0 AS votes
      FROM task_logs WHERE player_id IS NOT NULL AND ${PLAYERS}
    UNION ALL SELECT session_id, player_id, 0, 0, 0, 1 FROM votes WHERE player_id IS NOT NULL AND ${PLAYERS}) x
  GROUP BY session_id, player_id`;

/** $1 players (null: all). */
export const PARTICIPANT_DRIFT_SQL = `
WITH e AS (${EXPECTED_PARTICIPANTS}),
a AS (SELECT session_id, player_id, tasks, fake_tasks, task_xp, votes FROM session_participants
  WHERE (tasks <> 0 OR fake_tasks <> 0 OR task_xp <> 0 OR votes <> 0) AND ${PLAYERS})
SELECT coalesce(e.session_id, a.session_id) AS session_id, coalesce(e.player_id, a.player_id) AS player_id,
  row_to_json(a) AS actual, row_to_json(e) AS expected
FROM e FULL JOIN a ON a.session_id = e.session_id AND a.player_id = e.player_id
WHERE e.tasks IS DISTINCT FROM a.tasks OR e.fake_tasks IS DISTINCT FROM a.fake_tasks OR e.task_xp IS DISTINCT FROM a.task_xp
  OR e.votes IS DISTINCT FROM a.votes
ORDER BY 1, 2 LIMIT 1000`.replaceAll('$3', '$1');

/** Rebuild: every player with any contribution (participant, task or vote events) or with statistics, in id order. */
export const ALL_PLAYERS_SQL = `
${[...PLAYER_STAT_FAMILIES].map((f) => `SELECT player_id FROM ${FAMILY_TABLES[f].table} WHERE player_id IS NOT NULL`).join('\nUNION ')}
UNION SELECT player_id FROM player_stats
ORDER BY 1`;

/** Rebuild: participant counters from task and vote rows, for players $1 (null: all). */
export const REBUILD_PARTICIPANTS_SQL = `
WITH e AS (${EXPECTED_PARTICIPANTS.replaceAll('$3', '$1')}),
z AS (
  SELECT p.session_id, p.player_id, coalesce(e.tasks, 0) AS tasks, coalesce(e.fake_tasks, 0) AS fake_tasks,
    coalesce(e.task_xp, 0) AS task_xp, coalesce(e.votes, 0) AS votes
  FROM session_participants p LEFT JOIN e ON e.session_id = p.session_id AND e.player_id = p.player_id
  WHERE ($1::text[] IS NULL OR p.player_id = ANY($1::text[]))
    AND (p.tasks, p.fake_tasks, p.task_xp, p.votes) IS DISTINCT FROM
      (coalesce(e.tasks, 0), coalesce(e.fake_tasks, 0), coalesce(e.task_xp, 0)::bigint, coalesce(e.votes, 0)))
UPDATE session_participants p SET tasks = z.tasks, fake_tasks = z.fake_tasks, task_xp = z.task_xp, votes = z.votes
FROM z WHERE p.session_id = z.session_id AND p.player_id = z.player_id`;

/** Rebuild of the stats of players $1: drop their rows (keeping rated rows, zeroed), then FILL with $1 tz, $2 min games, $3 players. */
export const REBUILD_STATS_CLEAR_SQL = [
  `DELETE FROM stat_deltas WHERE player_id = ANY($1::text[])`,
  `DELETE FROM player_stats WHERE player_id = ANY($1::text[]) AND rating IS NULL`,
  `UPDATE player_stats SET games = 0, wins = 0, losses = 0, draws = 0, xp = 0, tasks = 0, fake_tasks = 0, votes = 0,
    last_played_at = NULL, win_rate = NULL, best_score = NULL WHERE player_id = ANY($1::text[])`,
];
export const REBUILD_STATS_FILL_SQL = `
WITH e AS (${EXPECTED_STATS_SQL})
INSERT INTO player_stats AS s (player_id, scope, ${STAT_COLUMNS.join(', ')})
SELECT player_id, scope, ${STAT_COLUMNS.join(', ')} FROM e ORDER BY player_id, scope
ON CONFLICT (player_id, scope) DO UPDATE SET ${STAT_COLUMNS.map((c) => `${c} = excluded.${c}`).join(', ')}`;
