/** Scheduled clean-up (pg-boss schedule, once per minute across replicas). */

/**
 * $1: seconds without events after which an unfinished session is abandoned. Result: the ids.
 * SKIP LOCKED: a session a batch is writing right now is simply left for the next run.
 */
export const ABANDON_INACTIVE_SQL = `
UPDATE sessions s SET status = 'abandoned', ended_at = now(), end_reason = coalesce(s.end_reason, 'inactive'), updated_at = now()
WHERE s.id IN (
  SELECT id FROM sessions WHERE status IN ('created', 'started') AND last_event_at < now() - make_interval(secs => $1)
  ORDER BY id LIMIT 5000 FOR UPDATE SKIP LOCKED)
RETURNING s.id`;

/** Result: the (tenant, player) of join-queue entries whose expiry passed, now removed. */
export const DELETE_EXPIRED_QUEUE_SQL = `
DELETE FROM join_queue_entries WHERE expires_at < now() RETURNING tenant, player_id`;
