/**
 * Which sequence numbers a session has stored, across every event table (each has a (session_id, seq)
 * index): the exact contiguity watermark, sequence conflicts (two events at one seq) and "how many
 * issued seqs are not stored yet" are all answered from these, never from counts.
 */
import { EVENT_TABLES } from '../families.ts';

/**
 * $1: JSON array of {session_id, after, upto}. Result: session_id, seq, id, type of every stored event
 * with after < seq <= upto, in (session_id, seq, id) order.
 */
export const SEQS_IN_RANGES_SQL = `
SELECT session_id, seq, id, type FROM (
  ${EVENT_TABLES.map((t) => `SELECT e.session_id, e.seq, e.id, e.type FROM json_to_recordset($1::json) AS r(session_id text, after bigint, upto bigint), ${t} e WHERE e.session_id = r.session_id AND e.seq > r.after AND e.seq <= r.upto`).join('\n  UNION ALL ')}
) s ORDER BY session_id, seq, id`;

/** $1: JSON array of {session_id, seq}. Result: session_id, seq, id, type of every stored event at those seqs. */
export const SEQS_AT_SQL = `
SELECT session_id, seq, id, type FROM (
  ${EVENT_TABLES.map((t) => `SELECT e.session_id, e.seq, e.id, e.type FROM json_to_recordset($1::json) AS r(session_id text, seq bigint), ${t} e WHERE e.session_id = r.session_id AND e.seq = r.seq`).join('\n  UNION ALL ')}
) s ORDER BY session_id, seq, id`;

/** $1 session id, $2 after, $3 upto. Result: n, the number of distinct seqs stored in (after, upto]. */
export const DISTINCT_SEQS_BETWEEN_SQL = `
SELECT count(DISTINCT seq)::int AS n FROM (
  ${EVENT_TABLES.map((t) => `SELECT seq FROM ${t} WHERE session_id = $1 AND seq > $2 AND seq <= $3`).join('\n  UNION ALL ')}
) s`;
