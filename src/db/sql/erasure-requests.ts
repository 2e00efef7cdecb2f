/**
 * Erasure requests (src/ops/erasure-requests.ts): the API inserts and reads them, a worker claims,
 * runs and completes them. The player id is read only by the worker, and cleared when the request is done.
 */

/** API: a new request. $1 player id, $2 requested by. Result: id. */
export const INSERT_ERASURE_REQUEST_SQL = `INSERT INTO erasure_requests (player_id, requested_by) VALUES ($1, $2) RETURNING id`;

/** API: a request's outcome (never its player id). $1 id. Result: id, requested_at, done_at, report, error. */
export const ERASURE_REQUEST_SQL = `SELECT id, requested_at, done_at, report, error FROM erasure_requests WHERE id = $1`;

/** Worker: the oldest waiting requests. $1 at most this many. Result: id, player_id, requested_by. */
export const PENDING_ERASURE_REQUESTS_SQL = `
SELECT id, player_id, requested_by FROM erasure_requests WHERE done_at IS NULL ORDER BY id LIMIT $1`;

/** Worker: locks a waiting request for this transaction, or nothing when another worker holds it or it is done. $1 id. */
export const CLAIM_ERASURE_REQUEST_SQL = `SELECT 1 FROM erasure_requests WHERE id = $1 AND done_at IS NULL FOR UPDATE SKIP LOCKED`;

/** Worker: done, in the erasure's transaction. $1 id, $2 audit id, $3 report. */
export const COMPLETE_ERASURE_REQUEST_SQL = `
UPDATE erasure_requests SET done_at = now(), player_id = NULL, audit_id = $2, report = $3::jsonb WHERE id = $1`;

/** Worker: could not run (its error code); the id is cleared all the same. $1 id, $2 code. Result: 1 when it was waiting. */
export const FAIL_ERASURE_REQUEST_SQL = `
UPDATE erasure_requests SET done_at = now(), player_id = NULL, error = $2 WHERE id = $1 AND done_at IS NULL RETURNING 1`;
