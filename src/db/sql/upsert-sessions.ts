/**
 * Upsert of the sessions touched by a batch: one row per session, built from the events really
 * inserted (duplicates never count). Order-independent: timestamps take least/greatest, lifecycle
 * status only moves forward (created < started < finished | abandoned, the first end sticks).
 *
 * It also keeps the sequence watermark: a session whose stored event count (plus the sequence
 * numbers given up as lost) reaches its highest sequence number holds every event 1..last_seq (ids
 * are deduplicated and each event has its own seq), so `applied_seq` moves up to `last_seq` and any
 * gap is closed; otherwise the gap stays open
 * since `gap_since` and the exact contiguous prefix is worked out by the state fold when it matters.
 *
 * The game type is set once (the first stored session.created wins); `newly_typed` marks an existing
 * session that got it in this statement, whose earlier players' stats then move into the game's scope.
 *
 * $1: JSON array of SessionRow. Result: per session, its game type and whether this statement typed it,
 * and the watermarks (id, applied_seq, last_seq, state_seq, last_turn_seq); `needs_fold` when it has
 * turn results not yet folded into its live state.
 */
export interface SessionRow {
  id: string;
  tenant: string | null;
  game_type: string | null;
  name: string | null;
  created_by: string | null;
  status: 'created' | 'started' | 'finished' | 'abandoned';
  settings: unknown;
  winners: unknown;
  final_scores: unknown;
  result: string | null;
  end_reason: string | null;
  created_at: string | null;
  started_at: string | null;
  ended_at: string | null;
  first_at: string;
  last_at: string;
  last_seq: number;
  /** Highest seq of a turn result among the rows. */
  last_turn_seq: number;
  n: number;
}

export interface SessionWatermark {
  id: string;
  applied_seq: string;
  last_seq: string;
  state_seq: string;
  last_turn_seq: string;
  snapshot_turn: number | null;
  /** As before this batch (the upsert leaves it alone). */
  turns_waiting: boolean;
  /** Seconds the current gap has been open (null: none). */
  gap_age_s: number | null;
}

export interface SessionUpserted extends SessionWatermark {
  game_type: string | null;
  newly_typed: boolean;
  needs_fold: boolean;
}

export const UPSERT_SESSIONS_SQL = `
WITH up AS (
INSERT INTO sessions AS s (id, tenant, game_type, name, created_by, status, settings, winners, final_scores, result,
  end_reason, created_at, started_at, ended_at, first_event_at, last_event_at, last_seq, event_count, last_turn_seq,
  applied_seq, gap_since, updated_at)
SELECT id, tenant, game_type, name, created_by, status, settings, winners, final_scores, result,
  end_reason, created_at, started_at, ended_at, first_at, last_at, last_seq, n, last_turn_seq,
  CASE WHEN n = last_seq THEN last_seq ELSE 0 END, CASE WHEN n = last_seq THEN NULL ELSE now() END, now()
FROM json_to_recordset($1::json) AS x(id text, tenant text, game_type text, name text, created_by text, status text,
  settings jsonb, winners jsonb, final_scores jsonb, result text, end_reason text, created_at timestamptz,
  started_at timestamptz, ended_at timestamptz, first_at timestamptz, last_at timestamptz, last_seq bigint,
  last_turn_seq bigint, n bigint)
ON CONFLICT (id) DO UPDATE SET
  tenant = coalesce(excluded.tenant, s.tenant),
  game_type = coalesce(s.game_type, excluded.game_type),
  typed_tx = CASE WHEN s.game_type IS NULL AND excluded.game_type IS NOT NULL THEN pg_current_xact_id()::text ELSE s.typed_tx END,
  name = coalesce(excluded.name, s.name),
  created_by = coalesce(excluded.created_by, s.created_by),
  status = CASE
    WHEN s.status IN ('finished', 'abandoned') THEN s.status
    WHEN excluded.status IN ('finished', 'abandoned', 'started') THEN excluded.status
    ELSE s.status END,
  settings = coalesce(excluded.settings, s.settings),
  winners = coalesce(s.winners, excluded.winners),
  final_scores = coalesce(s.final_scores, excluded.final_scores),
  result = coalesce(s.result, excluded.result),
  end_reason = coalesce(s.end_reason, excluded.end_reason),
  created_at = least(s.created_at, excluded.created_at),
  started_at = least(s.started_at, excluded.started_at),
  ended_at = least(s.ended_at, excluded.ended_at),
  first_event_at = least(s.first_event_at, excluded.first_event_at),
  last_event_at = greatest(s.last_event_at, excluded.last_event_at),
  last_seq = greatest(s.last_seq, excluded.last_seq),
  event_count = s.event_count + excluded.event_count,
  last_turn_seq = greatest(s.last_turn_seq, excluded.last_turn_seq),
  applied_seq = CASE WHEN s.event_count + excluded.event_count + s.lost_seqs >= greatest(s.last_seq, excluded.last_seq)
    THEN greatest(s.last_seq, excluded.last_seq) ELSE s.applied_seq END,
  gap_since = CASE WHEN s.event_count + excluded.event_count + s.lost_seqs >= greatest(s.last_seq, excluded.last_seq)
    THEN NULL ELSE coalesce(s.gap_since, now()) END,
  updated_at = now()
RETURNING id, applied_seq, last_seq, state_seq, last_turn_seq, snapshot_turn, turns_waiting, gap_since, game_type,
  typed_tx = pg_current_xact_id()::text AS newly_typed)
SELECT id, applied_seq, last_seq, state_seq, last_turn_seq, snapshot_turn, turns_waiting,
  extract(epoch FROM now() - gap_since)::float8 AS gap_age_s, game_type, coalesce(newly_typed, false) AS newly_typed,
  last_turn_seq > state_seq AS needs_fold
FROM up`;
