/**
 * The producer's sequence seed: each session's highest stored seq (`sessions.last_seq`, which counts
 * every event of the session but `queue.*` ones), or the highest a producer reported issuing if that is
 * higher (`issued_seq`: numbers lost with Redis are not handed out again). One primary-key probe per session.
 *
 * $1: session ids (text[]). Result: id, last_seq (bigint, as text) for the sessions that exist.
 */
import type { Reader } from '../reader.ts';

export const SESSION_LAST_SEQS_SQL = `SELECT id, greatest(last_seq, issued_seq) AS last_seq FROM sessions WHERE id = ANY($1::text[])`;

export interface SessionLastSeqRow {
  id: string;
  /** bigint: pg returns it as text. */
  last_seq: string;
}

export function sessionLastSeqs(reader: Reader, sessionIds: string[]): Promise<SessionLastSeqRow[]> {
  return reader.read<SessionLastSeqRow>(SESSION_LAST_SEQS_SQL, [sessionIds]);
}
