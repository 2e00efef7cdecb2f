/**
 * The HTTP API's short-lived records in PostgreSQL (GP_QUEUE_BACKEND=postgres): what the Redis backend
 * keeps as keys with an EXPIRE (SET NX EX, GET, SET EX, DEL), in the `api_records` table. A row past
 * its `expires_at` counts as absent: it is taken over by a claim, invisible to reads, and deleted by
 * the cleanup job.
 */

/**
 * $1 key, $2 value, $3 TTL seconds. Claims the key if it is absent or expired (Redis SET NX EX).
 * Result: one row when claimed, none when a live record holds the key.
 */
export const CLAIM_RECORD_SQL = `
INSERT INTO api_records (key, value, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3::int))
ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at WHERE api_records.expires_at <= now()
RETURNING 1 AS claimed`;

/** $1 key, $2 value, $3 TTL seconds. Sets the record whatever it held (Redis SET EX). */
export const PUT_RECORD_SQL = `
INSERT INTO api_records (key, value, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3::int))
ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`;

/** $1 keys (text[]). Result: key, value of the live records among them (Redis MGET). */
export const GET_RECORDS_SQL = `SELECT key, value FROM api_records WHERE key = ANY($1::text[]) AND expires_at > now()`;

/** $1 key. Removes the record (Redis DEL). */
export const DELETE_RECORD_SQL = `DELETE FROM api_records WHERE key = $1`;

/** Removes expired records (the cleanup job). Result: the number removed, as `n`. */
export const DELETE_EXPIRED_RECORDS_SQL = `WITH gone AS (DELETE FROM api_records WHERE expires_at < now() RETURNING 1) SELECT count(*)::int AS n FROM gone`;

/** $1 LIKE pattern (`{prefix}:%`). Removes a deployment's records (tests tearing down their queue). */
export const DELETE_PREFIX_RECORDS_SQL = `DELETE FROM api_records WHERE key LIKE $1`;
