/** Snapshot statements (see src/snapshots/take.ts). */

/** $1: session id. Result: the live state, its turn and seq. */
export const LIVE_STATE_SQL = `SELECT state, turn, seq FROM session_states WHERE session_id = $1`;

/**
 * $1: session id, $2: seq. Result: the full state a game server sent in a turn result, and its hash (of
 * two at one seq, the later by id: the one the fold ends that seq with).
 */
export const SERVER_STATE_SQL = `
SELECT t.state, t.turn, t.seq, t.state_hash FROM turn_results t
WHERE t.session_id = $1 AND t.seq = $2 AND t.state IS NOT NULL
  -- A turn result after the session's end is not part of its state (the end may have arrived since).
  AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.id = t.session_id AND s.end_seq IS NOT NULL AND (t.seq, t.id) >= (s.end_seq, s.end_id))
ORDER BY t.id DESC LIMIT 1`;

/**
 * $1 session id, $2 seq, $3 turn, $4 state (jsonb text), $5 hash, $6 server hash, $7 hash matches,
 * $8 reason, $9 final. Taking the same snapshot twice (a retried job) changes nothing; a server
 * snapshot landing on a seq the fold already captured with the same state adds the server's hash. A
 * different state at that seq (two turn results at one seq) is the fold's: the row keeps its own state
 * and its own hash (a hash always belongs to the state stored beside it).
 */
export const INSERT_SNAPSHOT_SQL = `
INSERT INTO session_snapshots AS s (session_id, seq, turn, state, hash, server_hash, hash_matches, reason, final)
VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9)
ON CONFLICT (session_id, seq) DO UPDATE SET
  final = s.final OR excluded.final,
  hash = CASE WHEN s.state = excluded.state THEN coalesce(s.hash, excluded.hash) ELSE s.hash END,
  reason = CASE WHEN excluded.reason = 'server' AND s.state = excluded.state THEN 'server' ELSE s.reason END,
  server_hash = CASE WHEN s.state = excluded.state THEN coalesce(s.server_hash, excluded.server_hash) ELSE s.server_hash END,
  hash_matches = CASE WHEN s.state = excluded.state THEN coalesce(excluded.hash_matches, s.hash_matches) ELSE s.hash_matches END`;

/**
 * States captured by the fold at the turn a snapshot fell due, hash pending (the pg-boss job fills it).
 * $1: JSON array of {session_id, seq, turn, state (JSON text)}. Result: none.
 */
export const INSERT_PENDING_SNAPSHOTS_SQL = `
INSERT INTO session_snapshots (session_id, seq, turn, state, reason)
SELECT session_id, seq, turn, state::jsonb, 'turns' FROM json_to_recordset($1::json) AS x(session_id text, seq bigint, turn int, state text)
ORDER BY session_id, seq
ON CONFLICT (session_id, seq) DO NOTHING`;

/**
 * Final snapshots: the live state of sessions that became final (or whose final state changed), at the
 * seq of their end, hash pending. Any other final snapshot of those sessions (an end that moved) goes.
 * $1: JSON array of {session_id, seq}. Result: session_id, seq of the snapshots stored.
 */
export const DELETE_OTHER_FINALS_SQL = `
DELETE FROM session_snapshots s USING json_to_recordset($1::json) AS x(session_id text, seq bigint)
WHERE s.session_id = x.session_id AND s.final AND s.seq <> x.seq`;
export const UPSERT_FINAL_SNAPSHOTS_SQL = `
INSERT INTO session_snapshots AS s (session_id, seq, turn, state, reason, final)
SELECT st.session_id, x.seq, st.turn, st.state, 'final', true
FROM json_to_recordset($1::json) AS x(session_id text, seq bigint) JOIN session_states st ON st.session_id = x.session_id
ORDER BY st.session_id
ON CONFLICT (session_id, seq) DO UPDATE SET state = excluded.state, turn = excluded.turn, hash = NULL, server_hash = NULL,
  hash_matches = NULL, reason = 'final', final = true, taken_at = now()
RETURNING session_id, seq`;

/** The idle clean-up's snapshot: the live state of sessions $1 at their state's seq, hash pending. Result: session_id, seq. */
export const INSERT_IDLE_SNAPSHOTS_SQL = `
INSERT INTO session_snapshots (session_id, seq, turn, state, reason)
SELECT session_id, seq, turn, state, 'idle' FROM session_states WHERE session_id = ANY($1::text[])
ORDER BY session_id
ON CONFLICT (session_id, seq) DO NOTHING
RETURNING session_id, seq`;

/**
 * Refold from seq $2 of session $1 (its end at seq $3, null: none): the snapshots at or after it no
 * longer hold "the state at their seq" — except a game server's own full state after it and before the
 * end, which still does. Result: none.
 */
export const DELETE_SNAPSHOTS_FROM_SQL = `
DELETE FROM session_snapshots WHERE session_id = $1 AND seq >= $2
  AND NOT (reason = 'server' AND seq > $2 AND ($3::bigint IS NULL OR seq < $3::bigint))`;

/** $1 session id. Result: turn, the turn of its latest every-N-turns snapshot left (the cadence goes on from it). */
export const LAST_TURNS_SNAPSHOT_SQL = `
SELECT max(turn) AS turn FROM session_snapshots WHERE session_id = $1 AND reason = 'turns'`;

/** $1 session id, $2 seq. Result: a snapshot stored by the fold (or final/idle) whose hash is still to compute. */
export const PENDING_SNAPSHOT_SQL = `SELECT state, turn, seq FROM session_snapshots WHERE session_id = $1 AND seq = $2 AND hash IS NULL`;

/** $1 session id, $2 seq, $3 hash. */
export const SET_SNAPSHOT_HASH_SQL = `UPDATE session_snapshots SET hash = $3 WHERE session_id = $1 AND seq = $2 AND hash IS NULL`;

/** $1 session id, $2 how many to keep. Keeps the first, the newest $2 besides the final ones, and the final ones. */
export const PRUNE_SNAPSHOTS_SQL = `
DELETE FROM session_snapshots s WHERE s.session_id = $1 AND NOT s.final
  AND s.seq > (SELECT min(seq) FROM session_snapshots WHERE session_id = $1)
  AND s.seq NOT IN (SELECT seq FROM session_snapshots WHERE session_id = $1 AND NOT final ORDER BY seq DESC LIMIT $2)
  AND s.hash IS NOT NULL`;

/** $1 session id or null. Result: snapshots to verify, oldest first. */
export const SNAPSHOTS_TO_VERIFY_SQL = `
SELECT session_id, seq, turn, state, hash, server_hash FROM session_snapshots
WHERE ($1::text IS NULL OR session_id = $1) AND hash IS NOT NULL ORDER BY session_id, seq`;

/** $1 session ids (text[]). Result: the newest hashed snapshot of each (recovery checks it first). */
export const NEWEST_SNAPSHOTS_SQL = `
SELECT DISTINCT ON (session_id) session_id, seq, turn, state, hash, reason, final, taken_at FROM session_snapshots
WHERE session_id = ANY($1::text[]) AND hash IS NOT NULL ORDER BY session_id, seq DESC`;

/** $1 session id. Result: its hashed snapshots, newest first (the fallback when the newest fails). */
export const SESSION_SNAPSHOTS_SQL = `
SELECT session_id, seq, turn, state, hash, reason, final, taken_at FROM session_snapshots
WHERE session_id = $1 AND hash IS NOT NULL ORDER BY seq DESC`;

/**
 * Interval snapshots: unfinished sessions whose state moved since their last snapshot was scheduled
 * more than $1 seconds ago. Marks them scheduled and returns them (one statement, so replicas running
 * the same sweep cannot both pick a session). Result: id.
 * `= ANY (ARRAY(…))`: the locking subquery runs once whatever the planner believes (FOLD_STAT_DELTAS_SQL).
 */
export const DUE_INTERVAL_SQL = `
UPDATE sessions s SET snapshot_at = now()
WHERE s.id = ANY (ARRAY(
  SELECT id FROM sessions
  WHERE status IN ('created', 'started') AND state_seq > 0
    AND (snapshot_at IS NULL OR snapshot_at < now() - make_interval(secs => $1))
    AND last_event_at > coalesce(snapshot_at, '-infinity')
  ORDER BY id LIMIT 1000 FOR UPDATE SKIP LOCKED))
RETURNING s.id`;
