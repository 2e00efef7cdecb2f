/**
 * Recovery of one session in one statement: the statements recoverSessions runs for many sessions at
 * once (sessions, participants, state, join queue, newest snapshot, tail), each as a JSON array of its
 * rows, in one round trip and one snapshot of the database. Why: a recover over HTTP ran six
 * statements, and on a 2-core machine the API server spent 30% of its CPU in the socket writes of
 * those queries (`writev`, profiled with --cpu-prof while bench:http read); their wake-ups of six
 * backends also made the tail latency.
 * $1 session id, $2 tail limit. Result: one row of json columns `sessions`, `participants`, `states`,
 * `queues`, `newest`, `tail` (each an array, possibly empty), each in its statement's order.
 */
import { PARTICIPANTS_SQL, RECOVERY_TAIL_SQL, SESSION_QUEUE_SQL, SESSIONS_BY_ID_SQL, STATE_SQL } from './history.ts';
import { NEWEST_SNAPSHOTS_SQL } from './snapshots.ts';

/** The statements take the session as a one-element array ($1 text[]); here it is one text. */
const one = (sql: string) => sql.replaceAll('$1::text[]', 'ARRAY[$1::text]');
/** The rows as a JSON array, in the order given (aggregate order, not the subquery's). */
const rows = (sql: string, order: string) => `(SELECT coalesce(json_agg(x ORDER BY ${order}), '[]'::json) FROM (${one(sql)}) x)`;

export const RECOVER_ONE_SQL = `
SELECT ${rows(SESSIONS_BY_ID_SQL, 'x.id')} AS sessions,
  ${rows(PARTICIPANTS_SQL, 'x.position NULLS LAST, x.joined_at, x.player_id')} AS participants,
  ${rows(STATE_SQL, 'x.session_id')} AS states,
  ${rows(SESSION_QUEUE_SQL, 'x.waiting DESC, x.entered_at')} AS queues,
  ${rows(NEWEST_SNAPSHOTS_SQL, 'x.session_id')} AS newest,
  ${rows(RECOVERY_TAIL_SQL, 'x.seq, x.id')} AS tail`;
