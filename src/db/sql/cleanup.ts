/** Scheduled clean-up (pg-boss schedule, once per minute across replicas). */

/**
 * Marks idle sessions abandoned (reason `inactive`): unfinished sessions none of whose events was
 * written for their idle timeout — settings.idleTimeoutS, else the game type's entry in $2 (JSON object
 * gameType -> seconds), else $1; 0 means never. Both times are the database's. Not an end: the next
 * event of the session brings it back (docs/contract.md, "Session lifetimes"). SKIP LOCKED: a session a
 * batch is writing right now is simply left for the next run. Result: the ids.
 * `= ANY (ARRAY(…))`: the locking subquery runs once whatever the planner believes (FOLD_STAT_DELTAS_SQL).
 */
export const ABANDON_IDLE_SQL = `
UPDATE sessions s SET status = 'abandoned', idle_at = now(), ended_at = now(), end_reason = 'inactive'
WHERE s.id = ANY (ARRAY(
  SELECT id FROM sessions
  WHERE status IN ('created', 'started')
    AND coalesce(idle_timeout_s, ($2::jsonb ->> game_type)::int, $1::int) > 0
    AND updated_at < now() - make_interval(secs => coalesce(idle_timeout_s, ($2::jsonb ->> game_type)::int, $1::int))
  ORDER BY id LIMIT 5000 FOR UPDATE SKIP LOCKED))
RETURNING s.id`;

/** Result: the (tenant, player) of join-queue entries whose expiry passed by $1 (the caller's clock: expiries are the game's times), now removed. */
export const DELETE_EXPIRED_QUEUE_SQL = `
DELETE FROM join_queue_entries WHERE expires_at < $1::timestamptz RETURNING tenant, player_id`;
