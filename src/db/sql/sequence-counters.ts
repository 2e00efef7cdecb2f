/**
 * Per-session sequence counters in PostgreSQL (GP_QUEUE_BACKEND=postgres): the `sequence_counters`
 * table stands in for the Redis keys `{prefix}:seq:{sessionId}` and follows the Redis script's rule
 * (src/producers/redis-counters.ts): a counter missing (or expired) or below its floor is raised to the
 * floor, then increased by the count; one statement draws for every session of a round. Plain SQL over
 * a pg pool, no ORM: the producer SDK runs it.
 */

/** What runs the statements: a pg Pool or Client. */
export interface Queryable {
  query<R>(text: string, values: unknown[]): Promise<{ rows: R[] }>;
}

/**
 * $1 prefix, $2 session ids (text[], distinct), $3 counts (bigint[]), $4 floors (bigint[]), $5 TTL
 * seconds. Result per session: the new value (`last`) and the live value before the draw (`found`,
 * -1 when missing or expired).
 *
 * Rows are inserted in session-id order, so two producers drawing for overlapping sessions lock them
 * in the same order (no deadlock). `found` is read from the statement's snapshot: a concurrent draw may
 * have moved the counter since, but only upwards, and the reseed check (found below this producer's
 * floor) only needs to know the counter was not below the floor; the new value itself is computed on
 * the locked row. `excluded.seq - n` is the floor (the inserted row is floor + n).
 */
export const DRAW_SEQUENCES_SQL = `
WITH input AS (
  SELECT * FROM unnest($2::text[], $3::bigint[], $4::bigint[]) AS i(session_id, n, floor)
), found AS (
  SELECT c.session_id, CASE WHEN c.expires_at > now() THEN c.seq ELSE -1 END AS seq
  FROM sequence_counters c WHERE c.prefix = $1 AND c.session_id = ANY($2::text[])
), drawn AS (
  INSERT INTO sequence_counters AS c (prefix, session_id, seq, expires_at)
  SELECT $1, i.session_id, i.floor + i.n, now() + make_interval(secs => $5::int) FROM input i ORDER BY i.session_id
  ON CONFLICT (prefix, session_id) DO UPDATE SET
    seq = greatest(CASE WHEN c.expires_at > now() THEN c.seq ELSE -1 END,
                   excluded.seq - (SELECT n FROM input WHERE input.session_id = excluded.session_id))
          + (SELECT n FROM input WHERE input.session_id = excluded.session_id),
    expires_at = excluded.expires_at
  RETURNING c.session_id, c.seq
)
SELECT d.session_id, d.seq AS last, coalesce(f.seq, -1) AS found FROM drawn d LEFT JOIN found f USING (session_id)`;

/** $1 prefix, $2 session id. Result: seq of the live counter (no row: none, or expired). */
export const SEQUENCE_COUNTER_SQL = `SELECT seq FROM sequence_counters WHERE prefix = $1 AND session_id = $2 AND expires_at > now()`;

/** Removes expired counters (the cleanup job). Result: the number removed, as `n`. */
export const DELETE_EXPIRED_COUNTERS_SQL = `WITH gone AS (DELETE FROM sequence_counters WHERE expires_at < now() RETURNING 1) SELECT count(*)::int AS n FROM gone`;

/** $1 prefix. Removes a deployment's counters (tests and benchmarks tearing down their queue). */
export const DELETE_PREFIX_COUNTERS_SQL = `DELETE FROM sequence_counters WHERE prefix = $1`;

export interface Drawn {
  sessionId: string;
  last: number;
  /** -1: the counter was missing or expired. */
  found: number;
}

export async function drawSequences(db: Queryable, prefix: string, draws: { sessionId: string; count: number; floor: number }[], ttlS: number): Promise<Map<string, Drawn>> {
  const { rows } = await db.query<{ session_id: string; last: string; found: string }>(DRAW_SEQUENCES_SQL, [
    prefix,
    draws.map((d) => d.sessionId),
    draws.map((d) => d.count),
    draws.map((d) => d.floor),
    ttlS,
  ]);
  return new Map(rows.map((r) => [r.session_id, { sessionId: r.session_id, last: Number(r.last), found: Number(r.found) }]));
}

/** The live counter's value; null when there is none. */
export async function sequenceCounter(db: Queryable, prefix: string, sessionId: string): Promise<number | null> {
  const { rows } = await db.query<{ seq: string }>(SEQUENCE_COUNTER_SQL, [prefix, sessionId]);
  return rows.length ? Number(rows[0]!.seq) : null;
}
