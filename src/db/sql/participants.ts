/**
 * Participants and players, written from the events a batch really inserted (duplicates never count).
 * Participant values (role, team, outcome …) are merged in TypeScript by position (src/derive/participant.ts)
 * from the rows read here, under the sessions' row locks the batch holds; task and vote counters are
 * additive and need no read.
 */
import type { Pos } from '../../derive/position.ts';
import { utc } from './time.ts';

/** $1: JSON array of {session_id, player_id}. Result: the stored participant values of those pairs. */
export const SELECT_PARTICIPANTS_SQL = `
SELECT p.session_id, p.player_id, p.role, p.team, p.position, p.name, ${utc('p.joined_at')} AS joined_at,
  ${utc('p.last_joined_at')} AS last_joined_at, ${utc('p.left_at')} AS left_at, p.outcome, p.xp, p.score, ${utc('p.outcome_at')} AS outcome_at, p.pos
FROM json_to_recordset($1::json) AS x(session_id text, player_id text)
JOIN session_participants p ON p.session_id = x.session_id AND p.player_id = x.player_id`;

export interface ParticipantRow {
  session_id: string;
  player_id: string;
  /** Null when this batch has no participant event of the pair: only its counters change. */
  pos: Record<string, Pos> | null;
  role: string | null;
  team: string | null;
  position: number | null;
  name: string | null;
  joined_at: string | null;
  last_joined_at: string | null;
  left_at: string | null;
  present: boolean;
  outcome: string | null;
  xp: number | null;
  score: number | null;
  outcome_at: string | null;
  tasks: number;
  fake_tasks: number;
  task_xp: number;
  votes: number;
  last_at: string | null;
}

const INFO = ['role', 'team', 'position', 'name', 'joined_at', 'last_joined_at', 'left_at', 'present', 'outcome', 'xp', 'score', 'outcome_at', 'pos'];

/** $1: JSON array of ParticipantRow, sorted by (session_id, player_id). Result: none. */
export const UPSERT_PARTICIPANTS_SQL = `
INSERT INTO session_participants AS p (session_id, player_id, ${INFO.join(', ')}, tasks, fake_tasks, task_xp, votes, last_at, updated_at)
SELECT session_id, player_id, ${INFO.join(', ')}, tasks, fake_tasks, task_xp, votes, last_at, now()
FROM json_to_recordset($1::json) AS x(session_id text, player_id text, role text, team text, position int, name text,
  joined_at timestamptz, last_joined_at timestamptz, left_at timestamptz, present boolean, outcome text, xp int, score float8,
  outcome_at timestamptz, pos jsonb, tasks int, fake_tasks int, task_xp bigint, votes int, last_at timestamptz)
ON CONFLICT (session_id, player_id) DO UPDATE SET
  ${INFO.map((c) => `${c} = CASE WHEN excluded.pos IS NULL THEN p.${c} ELSE excluded.${c} END`).join(',\n  ')},
  tasks = p.tasks + excluded.tasks,
  fake_tasks = p.fake_tasks + excluded.fake_tasks,
  task_xp = p.task_xp + excluded.task_xp,
  votes = p.votes + excluded.votes,
  last_at = greatest(p.last_at, excluded.last_at),
  updated_at = now()`;

/**
 * Everything the effective outcome of the participants of sessions $1 depends on: their own outcome,
 * team and join, the session's end, and the outcome counted so far. Result: one row per participant.
 */
export const SELECT_OUTCOME_INPUTS_SQL = `
SELECT p.session_id, p.player_id, p.team, p.outcome, p.xp, ${utc('p.outcome_at')} AS outcome_at, p.pos ? 'join' AS joined,
  p.eff_outcome, p.eff_xp, ${utc('p.eff_at')} AS eff_at, s.end_type, s.winners, s.final_scores, ${utc('s.ended_at')} AS ended_at,
  s.rated_at IS NOT NULL AS rated
FROM session_participants p JOIN sessions s ON s.id = p.session_id
WHERE p.session_id = ANY($1::text[]) ORDER BY p.session_id, p.player_id`;

/** $1: JSON array of {session_id, player_id, eff_outcome, eff_xp, eff_at}, sorted. Result: none. */
export const UPDATE_EFFECTIVE_SQL = `
UPDATE session_participants p SET eff_outcome = x.eff_outcome, eff_xp = x.eff_xp, eff_at = x.eff_at, updated_at = now()
FROM json_to_recordset($1::json) AS x(session_id text, player_id text, eff_outcome text, eff_xp int, eff_at timestamptz)
WHERE p.session_id = x.session_id AND p.player_id = x.player_id`;

export interface PlayerRow {
  id: string;
  name: string | null;
  name_at: string | null;
  first_at: string;
  last_at: string;
}

/** Players across sessions: the name of the latest event (by time; sessions share no seq) that carries one. */
export const UPSERT_PLAYERS_SQL = `
INSERT INTO players AS pl (id, name, name_at, first_seen_at, last_seen_at)
SELECT id, name, name_at, first_at, last_at FROM json_to_recordset($1::json) AS x(id text, name text, name_at timestamptz, first_at timestamptz, last_at timestamptz)
ORDER BY id
ON CONFLICT (id) DO UPDATE SET
  name = CASE WHEN excluded.name_at IS NOT NULL AND (pl.name_at IS NULL OR excluded.name_at > pl.name_at) THEN excluded.name ELSE pl.name END,
  name_at = CASE WHEN excluded.name_at IS NOT NULL AND (pl.name_at IS NULL OR excluded.name_at > pl.name_at) THEN excluded.name_at ELSE pl.name_at END,
  first_seen_at = least(pl.first_seen_at, excluded.first_seen_at),
  last_seen_at = greatest(pl.last_seen_at, excluded.last_seen_at)`;

/** $1: session ids. Result: player_id of every player with a participant event in them (after this transaction's), in id order. */
export const SESSION_PLAYERS_SQL = `
SELECT DISTINCT player_id FROM participant_events WHERE session_id = ANY($1::text[]) AND player_id IS NOT NULL ORDER BY 1`;

/**
 * Locks players $1 (text[]) in id order. A statement of its own before RECOMPUTE_PLAYERS_SQL, so that
 * one reads the events in a snapshot taken after any transaction that held these rows committed.
 */
export const LOCK_PLAYERS_SQL = `SELECT id FROM players WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`;

/**
 * Players $1 (text[]) recomputed from their participant events in sessions that are not confined
 * (a confined session names no global player, docs/http.md "Tenants"): first and last seen, and the name
 * of the latest event (by time, then id) that carries one. A player left with no such event has no row.
 * Run when a session's confinement changed (a late, earlier-positioned session.created). Result: none.
 */
export const RECOMPUTE_PLAYERS_SQL = `
WITH ev AS (
  SELECT e.player_id, e.at, e.id, e.data->>'name' AS name
  FROM participant_events e JOIN sessions s ON s.id = e.session_id
  WHERE e.player_id = ANY($1::text[]) AND NOT s.confined),
span AS (SELECT player_id, min(at) AS first_at, max(at) AS last_at FROM ev GROUP BY player_id),
named AS (SELECT DISTINCT ON (player_id) player_id, name, at FROM ev WHERE name IS NOT NULL ORDER BY player_id, at DESC, id DESC),
gone AS (DELETE FROM players p WHERE p.id = ANY($1::text[]) AND NOT EXISTS (SELECT 1 FROM span WHERE span.player_id = p.id) RETURNING 1)
INSERT INTO players AS pl (id, name, name_at, first_seen_at, last_seen_at)
SELECT span.player_id, named.name, named.at, span.first_at, span.last_at FROM span LEFT JOIN named USING (player_id) ORDER BY 1
ON CONFLICT (id) DO UPDATE SET name = excluded.name, name_at = excluded.name_at, first_seen_at = excluded.first_seen_at,
  last_seen_at = excluded.last_seen_at`;
