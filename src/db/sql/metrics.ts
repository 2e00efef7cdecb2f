/**
 * What a metrics scrape reads from PostgreSQL, in one statement (src/metrics/metrics.ts). Every part is
 * an index read or a small table: dead letters by reason (not replayed), open gaps (partial index),
 * active sessions by status (index), players (the planner's estimate: a count would read the table), snapshot hash mismatches (index), pending stat deltas, the last verify.
 */
export const SCRAPE_SQL = `
SELECT
  (SELECT coalesce(json_object_agg(reason_code, n), '{}') FROM
     (SELECT reason_code, count(*) AS n FROM dead_letters WHERE replayed_at IS NULL GROUP BY reason_code) d) AS dead_letters,
  (SELECT count(*) FROM sessions WHERE gap_since IS NOT NULL) AS gaps_open,
  (SELECT coalesce(extract(epoch FROM now() - min(gap_since)), 0)::float8 FROM sessions WHERE gap_since IS NOT NULL) AS gap_oldest_s,
  (SELECT coalesce(json_object_agg(status, n), '{}') FROM
     (SELECT status, count(*) AS n FROM sessions WHERE status IN ('created', 'started') GROUP BY status) s) AS sessions,
  (SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = 'players'::regclass) AS players,
  (SELECT count(*) FROM session_snapshots WHERE hash_matches = false) AS snapshot_mismatches,
  (SELECT count(*) FROM stat_deltas) AS stat_deltas,
  (SELECT count(*) FROM sessions WHERE rating_stale) AS ratings_stale,
  (SELECT drift FROM verify_runs ORDER BY id DESC LIMIT 1) AS drift`;

/** Records a verify run (the worker exports the last one's drift). */
export const INSERT_VERIFY_RUN_SQL = `INSERT INTO verify_runs (drift, players_checked) VALUES ($1, $2)`;
