/**
 * The ledger checker's reads of one run (src/loadgen/ledger.ts). $1 is the run's LIKE pattern: every
 * session id (and every join-queue tenant) of the run starts with `${run}-`.
 */
import { FAMILIES } from '../../contract/events.ts';
import { FAMILY_TABLES } from '../families.ts';

/** Per event table, the run's stored events: its sessions', and for join-queue events also its tenants'. */
export const RUN_STORED_SQL: readonly string[] = FAMILIES.map((f) => {
  const t = FAMILY_TABLES[f];
  return `SELECT id::text AS id, session_id, seq FROM ${t.table} WHERE session_id LIKE $1${t.key === 'tenant' ? ' OR tenant LIKE $1' : ''}`;
});

export const RUN_DEAD_LETTERS_SQL = `SELECT count(*)::int AS n FROM dead_letters WHERE session_id LIKE $1`;

/** The run's sessions: status, the live state and the seq of the session.finished that ended it, if any. */
export const RUN_SESSION_STATES_SQL = `
  SELECT s.id, s.status, st.state, st.seq AS state_seq,
         (SELECT min(e.seq) FROM session_events e WHERE e.session_id = s.id AND e.type IN ('session.finished', 'session.abandoned')) AS end_seq
    FROM sessions s LEFT JOIN session_states st ON st.session_id = s.id
   WHERE s.id LIKE $1`;

/** The run's turn results in seq order, per session: what folding them from nothing gives. */
export const RUN_TURN_RESULTS_SQL = `
  SELECT session_id, seq, state, patch FROM turn_results WHERE session_id LIKE $1 ORDER BY session_id, seq`;

/** Sessions of the run not yet applied through their last seq (a gap still open, or events in flight). */
export const RUN_UNAPPLIED_SQL = `SELECT count(*)::int AS n FROM sessions WHERE id LIKE $1 AND applied_seq < greatest(last_seq, issued_seq)`;

/** Seqs of the run's sessions given up as lost (their `lost_seqs` summed). Result: n (bigint as text). */
export const RUN_LOST_SEQS_SQL = `SELECT coalesce(sum(lost_seqs), 0) AS n FROM sessions WHERE id LIKE $1`;

/** The run's finished, final sessions with a game type that are not rated (what the ratings run owes). */
export const RUN_UNRATED_SQL = `
SELECT id FROM sessions WHERE id LIKE $1 AND status = 'finished' AND final_at IS NOT NULL AND game_type IS NOT NULL AND rated_at IS NULL ORDER BY id`;

/** The run's sessions' watermarks: applied through `applied_seq`, of which `lost_seqs` seqs were given up. */
export const RUN_WATERMARKS_SQL = `SELECT id, applied_seq, lost_seqs FROM sessions WHERE id LIKE $1`;
