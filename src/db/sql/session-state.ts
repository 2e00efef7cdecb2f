/**
 * The live-state fold (see src/workers/fold-state.ts): read the turn results and states to fold,
 * write the new states and watermarks. All run inside the batch's transaction, after the sessions
 * upsert has locked the session rows, so one session is folded by one transaction at a time.
 */

/** $1: JSON array of {session_id, after, upto}. Result: the turn results with after < seq <= upto, in order. */
export const SELECT_TURNS_SQL = `
SELECT t.session_id, t.seq, t.turn, t.state, t.patch, t.state_hash
FROM json_to_recordset($1::json) AS x(session_id text, after bigint, upto bigint)
JOIN turn_results t ON t.session_id = x.session_id AND t.seq > x.after AND t.seq <= x.upto
ORDER BY t.session_id, t.seq`;

/** $1: session ids (text[]). Result: session_id, state of those that have one. */
export const SELECT_STATES_SQL = `
SELECT session_id, state FROM session_states WHERE session_id = ANY($1::text[])`;

/**
 * $1: session id, $2: seq after which to look. Result: every stored seq of the session above $2, in
 * order, across all event tables (each has a (session_id, seq) index): how far the history is
 * contiguous while a gap is open.
 */
export const SELECT_SEQS_AFTER_SQL = `
SELECT seq FROM (
  SELECT seq FROM session_events WHERE session_id = $1 AND seq > $2
  UNION ALL SELECT seq FROM participant_events WHERE session_id = $1 AND seq > $2
  UNION ALL SELECT seq FROM moves WHERE session_id = $1 AND seq > $2
  UNION ALL SELECT seq FROM votes WHERE session_id = $1 AND seq > $2
  UNION ALL SELECT seq FROM chat_messages WHERE session_id = $1 AND seq > $2
  UNION ALL SELECT seq FROM task_logs WHERE session_id = $1 AND seq > $2
  UNION ALL SELECT seq FROM turn_results WHERE session_id = $1 AND seq > $2
  UNION ALL SELECT seq FROM agent_logs WHERE session_id = $1 AND seq > $2
  UNION ALL SELECT seq FROM queue_events WHERE session_id = $1 AND seq > $2
) s ORDER BY seq`;

/** $1: JSON array of {session_id, state, turn, seq}. Result: none. */
export const UPSERT_STATES_SQL = `
INSERT INTO session_states AS st (session_id, state, turn, seq, updated_at)
SELECT session_id, state, turn, seq, now()
FROM json_to_recordset($1::json) AS x(session_id text, state jsonb, turn int, seq bigint)
ORDER BY session_id
ON CONFLICT (session_id) DO UPDATE SET state = excluded.state, turn = excluded.turn, seq = excluded.seq, updated_at = now()`;

/**
 * $1: JSON array of {id, applied_seq, state_seq, snapshot_turn, turns_waiting, lost}. Result: none. Closes the gap when the
 * prefix reaches last_seq; records the turn of a snapshot scheduled in this transaction.
 */
export const UPDATE_WATERMARKS_SQL = `
UPDATE sessions s SET
  applied_seq = greatest(s.applied_seq, x.applied_seq),
  state_seq = greatest(s.state_seq, x.state_seq),
  gap_since = CASE WHEN greatest(s.applied_seq, x.applied_seq) >= s.last_seq THEN NULL ELSE s.gap_since END,
  snapshot_turn = coalesce(x.snapshot_turn, s.snapshot_turn),
  snapshot_at = CASE WHEN x.snapshot_turn IS NULL THEN s.snapshot_at ELSE now() END,
  turns_waiting = x.turns_waiting,
  lost_seqs = s.lost_seqs + x.lost
FROM json_to_recordset($1::json) AS x(id text, applied_seq bigint, state_seq bigint, snapshot_turn int, turns_waiting boolean, lost bigint)
WHERE s.id = x.id`;

/**
 * Sessions whose gap has been open longer than $1 seconds and that have turn results waiting, locked
 * for the fold (SKIP LOCKED: one a batch is writing is left to that batch). Result: watermarks as the
 * sessions upsert returns them.
 */
export const STALE_GAPS_SQL = `
SELECT id, applied_seq, last_seq, state_seq, last_turn_seq, snapshot_turn, turns_waiting,
  extract(epoch FROM now() - gap_since)::float8 AS gap_age_s
FROM sessions WHERE gap_since < now() - make_interval(secs => $1) AND last_turn_seq > state_seq
ORDER BY id LIMIT 1000 FOR UPDATE SKIP LOCKED`;
