/**
 * Upserts of session participants and players from inserted participant events.
 *
 * Participants: one row per (session, player). Each value remembers the sequence number that set it
 * (`info_seq`, `outcome_seq`), so a late event never overwrites a newer one. A player is present
 * while `left_at` is null or earlier than `last_joined_at`. LEAST/GREATEST ignore NULLs.
 *
 * Task and vote events add to the participant's counters (the player's share of the aggregates).
 *
 * $1: JSON array of ParticipantRow / PlayerRow.
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
  outcome_id: string | null;
  outcome_at: string | null;
  tasks: number;
  fake_tasks: number;
  task_xp: number;
  votes: number;
  last_at: string | null;
}

/** A participant whose outcome this statement changed, with the outcome it replaced (null: none). */
export interface OutcomeChange {
  session_id: string;
  player_id: string;
  old_outcome: string | null;
  old_xp: number | null;
  old_at: string | null;
  outcome: string;
  xp: number | null;
  at: string;
}

/** The newer outcome wins: by sequence number, then by event id (bytewise, as uuid ordering). */
const NEWER = `(excluded.outcome_id IS NOT NULL AND (p.outcome_id IS NULL
    OR (excluded.outcome_seq, excluded.outcome_id COLLATE "C") > (p.outcome_seq, p.outcome_id COLLATE "C")))`;

/**
 * Returns the outcome changes (read from the rows as they were before this statement: all CTEs share
 * one snapshot, and the batch holds its sessions' row locks, so no other transaction changes them).
 */
export const UPSERT_PARTICIPANTS_SQL = `
WITH x AS (
  SELECT * FROM json_to_recordset($1::json) AS x(session_id text, player_id text, role text, team text, position int,
    name text, info_seq bigint, joined_at timestamptz, last_joined_at timestamptz, left_at timestamptz, outcome text,
    xp int, score float8, outcome_seq bigint, outcome_id text, outcome_at timestamptz, tasks int, fake_tasks int,
    task_xp bigint, votes int, last_at timestamptz)),
old AS (
  SELECT p.session_id, p.player_id, p.outcome, p.xp, p.outcome_at, p.outcome_id
  FROM session_participants p JOIN x ON p.session_id = x.session_id AND p.player_id = x.player_id
  WHERE x.outcome_id IS NOT NULL),
up AS (
INSERT INTO session_participants AS p (session_id, player_id, role, team, position, name, info_seq, joined_at,
  last_joined_at, left_at, outcome, xp, score, outcome_seq, outcome_id, outcome_at, tasks, fake_tasks, task_xp, votes,
  last_at, updated_at)
SELECT session_id, player_id, role, team, position, name, info_seq, joined_at, last_joined_at, left_at, outcome, xp,
  score, outcome_seq, outcome_id, outcome_at, tasks, fake_tasks, task_xp, votes, last_at, now()
FROM x
ON CONFLICT (session_id, player_id) DO UPDATE SET
  role = CASE WHEN excluded.info_seq > p.info_seq THEN coalesce(excluded.role, p.role) ELSE coalesce(p.role, excluded.role) END,
  team = CASE WHEN excluded.info_seq > p.info_seq THEN coalesce(excluded.team, p.team) ELSE coalesce(p.team, excluded.team) END,
  position = CASE WHEN excluded.info_seq > p.info_seq THEN coalesce(excluded.position, p.position) ELSE coalesce(p.position, excluded.position) END,
  name = CASE WHEN excluded.info_seq > p.info_seq THEN coalesce(excluded.name, p.name) ELSE coalesce(p.name, excluded.name) END,
  info_seq = greatest(p.info_seq, excluded.info_seq),
  joined_at = least(p.joined_at, excluded.joined_at),
  last_joined_at = greatest(p.last_joined_at, excluded.last_joined_at),
  left_at = greatest(p.left_at, excluded.left_at),
  outcome = CASE WHEN ${NEWER} THEN excluded.outcome ELSE p.outcome END,
  xp = CASE WHEN ${NEWER} THEN excluded.xp ELSE p.xp END,
  score = CASE WHEN ${NEWER} THEN excluded.score ELSE p.score END,
  outcome_at = CASE WHEN ${NEWER} THEN excluded.outcome_at ELSE p.outcome_at END,
  outcome_seq = CASE WHEN ${NEWER} THEN excluded.outcome_seq ELSE p.outcome_seq END,
  outcome_id = CASE WHEN ${NEWER} THEN excluded.outcome_id ELSE p.outcome_id END,
  tasks = p.tasks + excluded.tasks,
  fake_tasks = p.fake_tasks + excluded.fake_tasks,
  task_xp = p.task_xp + excluded.task_xp,
  votes = p.votes + excluded.votes,
  last_at = greatest(p.last_at, excluded.last_at),
  updated_at = now()
RETURNING p.session_id, p.player_id, p.outcome, p.xp, p.outcome_at, p.outcome_id)
SELECT up.session_id, up.player_id, o.outcome AS old_outcome, o.xp AS old_xp, o.outcome_at AS old_at, up.outcome, up.xp,
  up.outcome_at AS at
FROM up JOIN x ON x.session_id = up.session_id AND x.player_id = up.player_id
LEFT JOIN old o ON o.session_id = up.session_id AND o.player_id = up.player_id
WHERE up.outcome_id = x.outcome_id AND up.outcome_id IS DISTINCT FROM o.outcome_id`;

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
