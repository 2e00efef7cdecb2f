/**
 * Upsert of join-queue entries from inserted queue events, one row per (tenant, player).
 * Order-independent: a player waits while `entered_at` is later than `left_at`; the session,
 * expiry and meta follow the latest entry.
 *
 * $1: JSON array of JoinQueueRow. Result: none.
 */
export interface JoinQueueRow {
  tenant: string;
  player_id: string;
  session_id: string | null;
  entered_at: string | null;
  left_at: string | null;
  expires_at: string | null;
  data: unknown;
}

export const UPSERT_JOIN_QUEUE_SQL = `
INSERT INTO join_queue_entries AS j (tenant, player_id, session_id, entered_at, left_at, expires_at, data, updated_at)
SELECT tenant, player_id, session_id, entered_at, left_at, expires_at, data, now()
FROM json_to_recordset($1::json) AS x(tenant text, player_id text, session_id text, entered_at timestamptz,
  left_at timestamptz, expires_at timestamptz, data jsonb)
ON CONFLICT (tenant, player_id) DO UPDATE SET
  session_id = CASE WHEN excluded.entered_at > coalesce(j.entered_at, '-infinity') THEN excluded.session_id ELSE j.session_id END,
  expires_at = CASE WHEN excluded.entered_at > coalesce(j.entered_at, '-infinity') THEN excluded.expires_at ELSE j.expires_at END,
  data = CASE WHEN excluded.entered_at > coalesce(j.entered_at, '-infinity') THEN excluded.data ELSE j.data END,
  notified_at = CASE WHEN excluded.entered_at > coalesce(j.entered_at, '-infinity') THEN NULL ELSE j.notified_at END,
  entered_at = greatest(j.entered_at, excluded.entered_at),
  left_at = greatest(j.left_at, excluded.left_at),
  updated_at = now()`;
