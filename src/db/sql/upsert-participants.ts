/**
 * Upserts of session participants and players from inserted participant events.
 *
 * Participants: one row per (session, player). Each value remembers the sequence number that set it
 * (`info_seq`, `outcome_seq`), so a late event never overwrites a newer one. A player is present
 * while `left_at` is null or earlier than `last_joined_at`. LEAST/GREATEST ignore NULLs.
 *
 * $1: JSON array of ParticipantRow / PlayerRow. Result: none.
 */
export interface ParticipantRow {
  session_id: string;
  player_id: string;
  role: string | null;
  team: string | null;
  position: number | null;
  name: string | null;
  info_seq: number;
  joined_at: string | null;
  last_joined_at: string | null;
  left_at: string | null;
  outcome: string | null;
  xp: number | null;
  score: number | null;
  outcome_seq: number;
}

export const UPSERT_PARTICIPANTS_SQL = `
INSERT INTO session_participants AS p (session_id, player_id, role, team, position, name, info_seq, joined_at,
  last_joined_at, left_at, outcome, xp, score, outcome_seq, updated_at)
SELECT session_id, player_id, role, team, position, name, info_seq, joined_at, last_joined_at, left_at, outcome, xp,
  score, outcome_seq, now()
FROM json_to_recordset($1::json) AS x(session_id text, player_id text, role text, team text, position int, name text,
  info_seq bigint, joined_at timestamptz, last_joined_at timestamptz, left_at timestamptz, outcome text, xp int,
  score float8, outcome_seq bigint)
ON CONFLICT (session_id, player_id) DO UPDATE SET
  role = CASE WHEN excluded.info_seq > p.info_seq THEN coalesce(excluded.role, p.role) ELSE coalesce(p.role, excluded.role) END,
  team = CASE WHEN excluded.info_seq > p.info_seq THEN coalesce(excluded.team, p.team) ELSE coalesce(p.team, excluded.team) END,
  position = CASE WHEN excluded.info_seq > p.info_seq THEN coalesce(excluded.position, p.position) ELSE coalesce(p.position, excluded.position) END,
  name = CASE WHEN excluded.info_seq > p.info_seq THEN coalesce(excluded.name, p.name) ELSE coalesce(p.name, excluded.name) END,
  info_seq = greatest(p.info_seq, excluded.info_seq),
  joined_at = least(p.joined_at, excluded.joined_at),
  last_joined_at = greatest(p.last_joined_at, excluded.last_joined_at),
  left_at = greatest(p.left_at, excluded.left_at),
  outcome = CASE WHEN excluded.outcome_seq > p.outcome_seq THEN excluded.outcome ELSE p.outcome END,
  xp = CASE WHEN excluded.outcome_seq > p.outcome_seq THEN excluded.xp ELSE p.xp END,
  score = CASE WHEN excluded.outcome_seq > p.outcome_seq THEN excluded.score ELSE p.score END,
  outcome_seq = greatest(p.outcome_seq, excluded.outcome_seq),
  updated_at = now()`;

export interface PlayerRow {
  id: string;
  name: string | null;
  first_at: string;
  last_at: string;
}

export const UPSERT_PLAYERS_SQL = `
INSERT INTO players AS pl (id, name, first_seen_at, last_seen_at)
SELECT id, name, first_at, last_at FROM json_to_recordset($1::json) AS x(id text, name text, first_at timestamptz, last_at timestamptz)
ON CONFLICT (id) DO UPDATE SET
  name = coalesce(excluded.name, pl.name),
  first_seen_at = least(pl.first_seen_at, excluded.first_seen_at),
  last_seen_at = greatest(pl.last_seen_at, excluded.last_seen_at)`;
