/**
 * Dead letters: insert (in the same transaction as the batch they came from, so a job is only
 * acknowledged once its bad events are recorded), list and mark replayed.
 */
export interface DeadLetterRow {
  event_id: string | null;
  session_id: string | null;
  type: string | null;
  reason_code: string;
  reason: string;
  field: string | null;
  payload: string;
  truncated: boolean;
  queue: string | null;
  job_id: string | null;
}

/** $1: JSON array of DeadLetterRow. Result: none. */
export const INSERT_DEAD_LETTERS_SQL = `
INSERT INTO dead_letters (event_id, session_id, type, reason_code, reason, field, payload, truncated, queue, job_id)
SELECT event_id, session_id, type, reason_code, reason, field, payload, truncated, queue, job_id
FROM json_to_recordset($1::json) AS x(event_id text, session_id text, type text, reason_code text, reason text,
  field text, payload text, truncated boolean, queue text, job_id text)`;

/** $1: reason code or null, $2: include replayed, $3: after id, $4: limit. Result: rows, oldest first. */
export const LIST_DEAD_LETTERS_SQL = `
SELECT id, event_id, session_id, type, reason_code, reason, field, truncated, queue, job_id, created_at, replayed_at, replay_count,
  left(payload, 200) AS payload_head
FROM dead_letters
WHERE ($1::text IS NULL OR reason_code = $1) AND ($2::boolean OR replayed_at IS NULL) AND id > $3
ORDER BY id LIMIT $4`;

/** $1: ids (bigint[]). Result: id, payload, truncated; locks the rows for the replay. */
export const SELECT_FOR_REPLAY_SQL = `
SELECT id, payload, truncated FROM dead_letters WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE`;

/** $1: ids (bigint[]). Result: none. */
export const MARK_REPLAYED_SQL = `
UPDATE dead_letters SET replayed_at = now(), replay_count = replay_count + 1 WHERE id = ANY($1::bigint[])`;

/** Largest payload kept verbatim; longer ones are cut and flagged (they exceed every limit anyway). */
export const MAX_DEAD_LETTER_PAYLOAD = 1024 * 1024;

/**
 * $1: JSON array of StateRefusal (src/sessions/fold-state.ts) with `payload` (the turn result's JSON),
 * $2: longest payload kept. Result: none. One `state_too_large` dead letter per refused turn result:
 * a refold that refuses it again records nothing new.
 */
export const INSERT_STATE_REFUSALS_SQL = `
INSERT INTO dead_letters (event_id, session_id, type, reason_code, reason, field, payload, truncated)
SELECT x.event_id, x.session_id, 'turn.result', 'state_too_large',
  format('folding turn result %s (session %s, seq %s, turn %s) would make the live state %s bytes, over GP_MAX_STATE_BYTES (%s): not folded, the state stays as it was; the event itself is stored',
    x.event_id, x.session_id, x.seq, x.turn, x.bytes, x."limit"),
  NULL, left(x.payload, $2), length(x.payload) > $2
FROM json_to_recordset($1::json) AS x(session_id text, event_id text, seq bigint, turn integer, bytes bigint, "limit" bigint, payload text)
WHERE NOT EXISTS (SELECT 1 FROM dead_letters d WHERE d.event_id = x.event_id AND d.reason_code = 'state_too_large')`;
