/**
 * A tenant's join queue, read and handed out (seed 000's `notify_queue`: when a game can start, take
 * the next players waiting and tell them). A player waits while its latest entry is later than its
 * latest leave and has not expired (`$2`: now).
 */
import { utc } from './time.ts';

const WAITING = `tenant = $1 AND entered_at IS NOT NULL AND entered_at > coalesce(left_at, '-infinity') AND (expires_at IS NULL OR expires_at > $2::timestamptz)`;
/** The entry's columns, of table alias `t` (empty: unqualified). */
const columns = (t = '') =>
  `${t}player_id AS player_id, ${t}session_id AS session_id, ${utc(`${t}entered_at`)} AS entered_at, ${utc(`${t}expires_at`)} AS expires_at, ${utc(`${t}notified_at`)} AS notified_at, ${t}data AS data`;

/** $1 tenant, $2 now, $3 limit. Result: the waiting players, longest-waiting first. */
export const WAITING_SQL = `SELECT ${columns()} FROM join_queue_entries WHERE ${WAITING} ORDER BY entered_at, player_id LIMIT $3`;

/**
 * $1 tenant, $2 now, $3 count. Marks the next $3 waiting players not yet notified as notified and
 * returns them, longest-waiting first. SKIP LOCKED: two servers taking at once never hand out a player twice.
 */
export const TAKE_WAITING_SQL = `
UPDATE join_queue_entries j SET notified_at = $2::timestamptz, updated_at = now()
FROM (SELECT tenant, player_id FROM join_queue_entries WHERE ${WAITING} AND notified_at IS NULL
      ORDER BY entered_at, player_id LIMIT $3 FOR UPDATE SKIP LOCKED) x
WHERE j.tenant = x.tenant AND j.player_id = x.player_id
RETURNING ${columns('j.')}`;
