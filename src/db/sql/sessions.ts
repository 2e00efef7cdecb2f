/**
 * The sessions a batch touches: made to exist, locked in id order, then written with the values the
 * worker merged in TypeScript (src/derive/session.ts, src/sessions/advance.ts). Holding the row locks
 * from the first statement to the commit serialises every transaction that derives anything from one
 * session (batches on replicas, the gap sweep, ratings, the idle clean-up), so each sees the other's
 * committed result and merges onto it.
 */

/**
 * Creates the rows that do not exist yet (in id order: concurrent batches insert new sessions in one
 * order, so they cannot deadlock). $1: JSON array of {id, at}. Result: none.
 */
export const ENSURE_SESSIONS_SQL = `
INSERT INTO sessions (id, first_event_at, last_event_at)
SELECT id, at, at FROM json_to_recordset($1::json) AS x(id text, at timestamptz) ORDER BY id
ON CONFLICT (id) DO NOTHING`;

/** The columns a merge reads (everything but the large jsonb values it only ever replaces). */
const LOCKED_COLUMNS = `id, game_type, tenant, confined, status, created_seq, created_id, started_seq, started_id, settings_seq, settings_id,
  end_seq, end_id, end_type, last_seq, issued_seq, event_count, applied_seq, lost_seqs, state_seq, last_turn_seq, last_doc_seq, turns_waiting,
  snapshot_turn, gap_since IS NOT NULL AS gap_open, extract(epoch FROM now() - gap_since)::float8 AS gap_age_s,
  final_at IS NOT NULL AS final, rated_at IS NOT NULL AS rated, idle_at IS NOT NULL AS idle, seq_conflicts, ahead_seqs`;

export interface LockedSession {
  id: string;
  game_type: string | null;
  tenant: string | null;
  confined: boolean;
  status: string;
  created_seq: string | null;
  created_id: string | null;
  started_seq: string | null;
  started_id: string | null;
  settings_seq: string | null;
  settings_id: string | null;
  end_seq: string | null;
  end_id: string | null;
  end_type: 'finished' | 'abandoned' | null;
  last_seq: string;
  /** Highest seq a producer reported issuing (src/contract/issued.ts); 0: none. */
  issued_seq: string;
  event_count: string;
  applied_seq: string;
  lost_seqs: string;
  state_seq: string;
  last_turn_seq: string;
  last_doc_seq: string;
  turns_waiting: boolean;
  snapshot_turn: number | null;
  gap_open: boolean;
  /** Seconds the current gap has been open (null: none). */
  gap_age_s: number | null;
  final: boolean;
  rated: boolean;
  idle: boolean;
  seq_conflicts: number;
  /** bigint[] (pg returns the items as text); null: not known. */
  ahead_seqs: string[] | null;
}

/**
 * A producer's issued-seq report: raises each session's `issued_seq` (never lowers it), creating the
 * row of a session none of whose events was stored (every one lost), in id order like
 * ENSURE_SESSIONS_SQL. Every named row stays locked until commit (ON CONFLICT locks the rows it does
 * not update too). $1: JSON array of {id, seq}. Result: none.
 */
export const RAISE_ISSUED_SQL = `
INSERT INTO sessions (id, first_event_at, last_event_at, issued_seq)
SELECT id, now(), now(), seq FROM json_to_recordset($1::json) AS x(id text, seq bigint) ORDER BY id
ON CONFLICT (id) DO UPDATE SET issued_seq = excluded.issued_seq WHERE excluded.issued_seq > sessions.issued_seq`;

/** $1: session ids. Result: LockedSession rows, locked until commit, in id order. */
export const LOCK_SESSIONS_SQL = `SELECT ${LOCKED_COLUMNS} FROM sessions WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`;

/**
 * Sessions whose gap has been open longer than $1 seconds, locked for the gap sweep (SKIP LOCKED: one a
 * batch is writing is left to that batch, which gives the gap up itself).
 */
export const LOCK_STALE_GAPS_SQL = `
SELECT ${LOCKED_COLUMNS} FROM sessions
WHERE gap_since < now() - make_interval(secs => $1) ORDER BY id LIMIT 1000 FOR UPDATE SKIP LOCKED`;

/** One session's new values; the `set_*` flags say which groups of fields this write replaces. */
export interface SessionWrite {
  id: string;
  /** Events were written for it in this transaction (last activity, and an idle session comes back). */
  touched: boolean;
  set_created: boolean;
  tenant: string | null;
  confined: boolean;
  game_type: string | null;
  name: string | null;
  created_by: string | null;
  created_at: string | null;
  created_seq: number | null;
  created_id: string | null;
  set_started: boolean;
  started_at: string | null;
  started_seq: number | null;
  started_id: string | null;
  set_settings: boolean;
  settings: unknown;
  settings_seq: number | null;
  settings_id: string | null;
  idle_timeout_s: number | null;
  /** The end group: a new end, or (with nulls) the idle marks cleared from a session that came back. */
  set_end: boolean;
  end_seq: number | null;
  end_id: string | null;
  end_type: string | null;
  ended_at: string | null;
  winners: unknown;
  final_scores: unknown;
  result: string | null;
  end_reason: string | null;
  status: string;
  first_at: string | null;
  last_at: string | null;
  last_seq: number;
  n: number;
  last_turn_seq: number;
  last_doc_seq: number;
  applied_seq: number;
  gap_open: boolean;
  lost_seqs: number;
  seq_conflicts: number;
  ahead_seqs: number[] | null;
  state_seq: number;
  turns_waiting: boolean;
  snapshot_turn: number | null;
  snapshot_scheduled: boolean;
  final: boolean;
  rating_stale: boolean;
  /** Seqs were given up as lost in this write: a rating horizon recorded before is void (src/aggregates/ratings.ts). */
  gave_up: boolean;
}

const g = (flag: string, cols: string[]) => cols.map((c) => `${c} = CASE WHEN x.${flag} THEN x.${c} ELSE s.${c} END`).join(',\n  ');

/** $1: JSON array of SessionWrite. Result: none. */
export const UPDATE_SESSIONS_SQL = `
UPDATE sessions s SET
  ${g('set_created', ['tenant', 'confined', 'game_type', 'name', 'created_by', 'created_at', 'created_seq', 'created_id'])},
  ${g('set_started', ['started_at', 'started_seq', 'started_id'])},
  ${g('set_settings', ['settings', 'settings_seq', 'settings_id', 'idle_timeout_s'])},
  ${g('set_end', ['end_seq', 'end_id', 'end_type', 'ended_at', 'winners', 'final_scores', 'result', 'end_reason'])},
  idle_at = CASE WHEN x.touched THEN NULL ELSE s.idle_at END,
  status = x.status,
  first_event_at = least(s.first_event_at, x.first_at),
  last_event_at = greatest(s.last_event_at, x.last_at),
  last_seq = greatest(s.last_seq, x.last_seq),
  event_count = s.event_count + x.n,
  last_turn_seq = greatest(s.last_turn_seq, x.last_turn_seq),
  last_doc_seq = greatest(s.last_doc_seq, x.last_doc_seq),
  applied_seq = x.applied_seq,
  gap_since = CASE WHEN x.gap_open THEN coalesce(s.gap_since, now()) END,
  lost_seqs = x.lost_seqs,
  seq_conflicts = x.seq_conflicts,
  ahead_seqs = x.ahead_seqs,
  state_seq = x.state_seq,
  turns_waiting = x.turns_waiting,
  snapshot_turn = x.snapshot_turn,
  snapshot_at = CASE WHEN x.snapshot_scheduled THEN now() ELSE s.snapshot_at END,
  final_at = CASE WHEN x.final THEN coalesce(s.final_at, now()) END,
  rating_stale = s.rating_stale OR x.rating_stale,
  rating_horizon = CASE WHEN x.gave_up THEN NULL ELSE s.rating_horizon END,
  updated_at = CASE WHEN x.touched THEN now() ELSE s.updated_at END
FROM json_to_recordset($1::json) AS x(id text, touched boolean, set_created boolean, tenant text, confined boolean, game_type text, name text,
  created_by text, created_at timestamptz, created_seq bigint, created_id uuid, set_started boolean, started_at timestamptz,
  started_seq bigint, started_id uuid, set_settings boolean, settings jsonb, settings_seq bigint, settings_id uuid,
  idle_timeout_s int, set_end boolean, end_seq bigint, end_id uuid, end_type text, ended_at timestamptz, winners jsonb,
  final_scores jsonb, result text, end_reason text, status text, first_at timestamptz, last_at timestamptz, last_seq bigint,
  n bigint, last_turn_seq bigint, last_doc_seq bigint, applied_seq bigint, gap_open boolean, lost_seqs bigint, seq_conflicts int, ahead_seqs bigint[], state_seq bigint,
  turns_waiting boolean, snapshot_turn int, snapshot_scheduled boolean, final boolean, rating_stale boolean, gave_up boolean)
WHERE s.id = x.id`;

/**
 * The common write, as arrays: a session that only took events — no group (created, started, settings,
 * end) replaced, its fold, conflicts, losses, ahead list and finality as they were. Every column
 * UPDATE_SESSIONS_SQL would set and this one leaves alone keeps its value there too (the caller checks
 * that against the locked row: src/sessions/advance.ts, leanSessionWrite). Eleven arrays instead of
 * a 48-key JSON object per session.
 * $1..$11: id, status, first_at, last_at, last_seq, n, last_turn_seq, last_doc_seq, applied_seq,
 * gap_open, state_seq. Result: none.
 */
export const UPDATE_SESSIONS_LEAN_SQL = `
UPDATE sessions s SET
  idle_at = NULL,
  status = x.status,
  first_event_at = least(s.first_event_at, x.first_at),
  last_event_at = greatest(s.last_event_at, x.last_at),
  last_seq = greatest(s.last_seq, x.last_seq),
  event_count = s.event_count + x.n,
  last_turn_seq = greatest(s.last_turn_seq, x.last_turn_seq),
  last_doc_seq = greatest(s.last_doc_seq, x.last_doc_seq),
  applied_seq = x.applied_seq,
  gap_since = CASE WHEN x.gap_open THEN coalesce(s.gap_since, now()) END,
  state_seq = x.state_seq,
  updated_at = now()
FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::boolean[], $11::bigint[])
  AS x(id, status, first_at, last_at, last_seq, n, last_turn_seq, last_doc_seq, applied_seq, gap_open, state_seq)
WHERE s.id = x.id`;

/** Records events that share their seq with another. $1: JSON [{session_id, event_id, seq, type}]. Result: the rows new here. */
export const INSERT_SEQ_CONFLICTS_SQL = `
INSERT INTO seq_conflicts (session_id, event_id, seq, type)
SELECT session_id, event_id, seq, type FROM json_to_recordset($1::json) AS x(session_id text, event_id uuid, seq bigint, type text)
ORDER BY session_id, event_id
ON CONFLICT (session_id, event_id) DO NOTHING RETURNING session_id`;


/** $1 session id. Result: its tenant (the API's tenant-restricted keys check it). */
export const SESSION_TENANT_SQL = `SELECT tenant FROM sessions WHERE id = $1`;

/**
 * $1 session ids. Result: id, tenant, confined, created (whether a session.created is stored) of those
 * that exist (a tenant-restricted key's ingest checks them).
 */
export const SESSION_TENANTS_SQL = `SELECT id, tenant, confined, created_seq IS NOT NULL AS created FROM sessions WHERE id = ANY($1::text[])`;
