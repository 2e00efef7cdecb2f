/**
 * The live-state fold (src/sessions/fold-state.ts): read the turn results to fold, the states they
 * start from, and write the new states. All run inside a transaction that holds the sessions' row
 * locks, so one session is folded by one transaction at a time.
 */

/**
 * $1: JSON array of {session_id, after, upto, end_seq, end_id} (end null: the session has not ended).
 * Result: the turn results with after < seq <= upto positioned before the end, in (session, seq, id) order.
 */
export const SELECT_TURNS_SQL = `
SELECT t.session_id, t.seq, t.id, t.turn, t.state, t.patch, t.state_hash
FROM json_to_recordset($1::json) AS x(session_id text, after bigint, upto bigint, end_seq bigint, end_id uuid)
JOIN turn_results t ON t.session_id = x.session_id AND t.seq > x.after AND t.seq <= x.upto
WHERE x.end_seq IS NULL OR (t.seq, t.id) < (x.end_seq, x.end_id)
ORDER BY t.session_id, t.seq, t.id`;

/**
 * Refold: where to start again. $1 session id, $2/$3 the position (seq, id) the refold must include.
 * Result: the latest turn result with a full state positioned before it (none: start from {}).
 */
export const REFOLD_CHECKPOINT_SQL = `
SELECT seq, id FROM turn_results WHERE session_id = $1 AND state IS NOT NULL AND seq <= $2 AND (seq, id) < ($2::bigint, $3::uuid)
ORDER BY seq DESC, id DESC LIMIT 1`;

/**
 * Refold: the turn results from position ($2, $3) inclusive through seq $4, before the end ($5, $6; null:
 * none), in order. $1 session id.
 */
export const SELECT_TURNS_FROM_SQL = `
SELECT session_id, seq, id, turn, state, patch, state_hash FROM turn_results
WHERE session_id = $1 AND seq >= $2 AND (seq, id) >= ($2::bigint, $3::uuid) AND seq <= $4
  AND ($5::bigint IS NULL OR (seq, id) < ($5::bigint, $6::uuid))
ORDER BY seq, id`;

/** $1: session ids (text[]). Result: session_id, state of those that have one. */
export const SELECT_STATES_SQL = `
SELECT session_id, state FROM session_states WHERE session_id = ANY($1::text[])`;

/** $1: JSON array of {session_id, state, turn, seq}. Result: none. */
export const UPSERT_STATES_SQL = `
INSERT INTO session_states AS st (session_id, state, turn, seq, updated_at)
SELECT session_id, state, turn, seq, now()
FROM json_to_recordset($1::json) AS x(session_id text, state jsonb, turn int, seq bigint)
ORDER BY session_id
ON CONFLICT (session_id) DO UPDATE SET state = excluded.state, turn = excluded.turn, seq = excluded.seq, updated_at = now()`;

/** A refold left no turn result to fold (the end moved before the first): the session has no state. $1: session ids. */
export const DELETE_STATES_SQL = `DELETE FROM session_states WHERE session_id = ANY($1::text[])`;
