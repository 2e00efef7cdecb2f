/**
 * The demo's reads of one run (every session id of the run starts with `${run}-`): its progress, and
 * per session what was persisted. $1 is the run's LIKE pattern (`demo-xyz-%`).
 */
import type { Reader } from '../reader.ts';

/** Events stored for the run: its sessions' and its tenants' sessionless join-queue events; sessions live and finished. */
const RUN_PROGRESS_SQL = `
  SELECT coalesce(sum(event_count), 0)::bigint
           + (SELECT count(*) FROM queue_events WHERE tenant LIKE $1 AND session_id IS NULL) AS stored,
         count(*) FILTER (WHERE status IN ('created', 'started'))::int AS live,
         count(*) FILTER (WHERE status = 'finished')::int AS finished
    FROM sessions WHERE id LIKE $1`;

/** Each session: status, events, snapshots, current documents, and how it ended (its session.finished `result`). */
const RUN_SESSIONS_SQL = `
  SELECT s.id, s.status, s.event_count::int AS events,
         (SELECT count(*)::int FROM session_snapshots x WHERE x.session_id = s.id) AS snapshots,
         (SELECT count(*)::int FROM documents d WHERE d.session_id = s.id AND d.value IS NOT NULL) AS documents,
         (SELECT e.data->>'result' FROM session_events e WHERE e.session_id = s.id AND e.type = 'session.finished' ORDER BY e.seq DESC LIMIT 1) AS result
    FROM sessions s WHERE s.id LIKE $1 ORDER BY s.id`;

export interface RunProgressRow {
  stored: string;
  live: number;
  finished: number;
}

export interface RunSessionRow {
  id: string;
  status: string;
  events: number;
  snapshots: number;
  documents: number;
  result: string | null;
}

export async function runProgress(reader: Reader, like: string): Promise<RunProgressRow> {
  return (await reader.read<RunProgressRow>(RUN_PROGRESS_SQL, [like]))[0];
}

export function runSessions(reader: Reader, like: string): Promise<RunSessionRow[]> {
  return reader.read<RunSessionRow>(RUN_SESSIONS_SQL, [like]);
}
