import type { Family } from '../../contract/events.ts';
import { FAMILY_TABLES } from '../families.ts';
import { wireData } from './history.ts';
import { utc } from './time.ts';

/**
 * Reads for recomputing sessions and participants from their events (src/derive/recompute.ts), a chunk
 * of sessions at a time, in id order: verify compares, rebuild writes.
 */

/** $1: after this id, $2: at most this many. Result: id, idle, of sessions in id order. */
export const SESSION_CHUNK_SQL = `SELECT id, idle_at IS NOT NULL AS idle FROM sessions WHERE id > $1 ORDER BY id LIMIT $2`;

/** The families a session's and its participants' fields are derived from (src/derive/). */
export const DERIVED_FROM: readonly Family[] = ['session', 'participant'];

/**
 * $1: session ids. Result: their session and participant events in wire form, as replay reads them
 * (the same `data` the worker validated), with their family.
 */
export const DERIVATION_EVENTS_SQL = DERIVED_FROM.map(
  (f) => `SELECT e.session_id, e.id, e.type, e.seq, ${utc('e.at')} AS at, e.player_id AS player, ${wireData(f)} AS data, '${f}' AS family
FROM ${FAMILY_TABLES[f].table} e WHERE e.session_id = ANY($1::text[])`,
).join('\nUNION ALL\n');

/** $1: session ids. Result: the stored rows verify compares with the recomputation. */
export const STORED_SESSIONS_SQL = `
SELECT id, game_type, tenant, confined, status, end_seq, end_id, end_type, ${utc('ended_at')} AS ended_at, winners, final_scores, result, end_reason,
  ${utc('started_at')} AS started_at, ${utc('created_at')} AS created_at
FROM sessions WHERE id = ANY($1::text[])`;
export const STORED_PARTICIPANTS_SQL = `
SELECT session_id, player_id, role, team, position, name, ${utc('joined_at')} AS joined_at, ${utc('last_joined_at')} AS last_joined_at,
  ${utc('left_at')} AS left_at, present, outcome, xp, score, ${utc('outcome_at')} AS outcome_at, eff_outcome, eff_xp, ${utc('eff_at')} AS eff_at
FROM session_participants WHERE session_id = ANY($1::text[]) AND pos IS NOT NULL`;

/** Rebuild: sessions $1 locked (id order) before their derived fields are rewritten. */
export const LOCK_SESSION_IDS_SQL = `SELECT id FROM sessions WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`;

/** Rebuild: a session's fields as its events say. $1: JSON array of rows (see rebuild.ts). */
export const REWRITE_SESSIONS_SQL = `
UPDATE sessions s SET tenant = x.tenant, confined = x.confined, game_type = x.game_type, name = x.name, created_by = x.created_by, created_at = x.created_at,
  created_seq = x.created_seq, created_id = x.created_id, started_at = x.started_at, started_seq = x.started_seq, started_id = x.started_id,
  settings = x.settings, settings_seq = x.settings_seq, settings_id = x.settings_id, idle_timeout_s = x.idle_timeout_s,
  end_seq = x.end_seq, end_id = x.end_id, end_type = x.end_type, status = x.status,
  ended_at = CASE WHEN x.end_seq IS NULL AND s.idle_at IS NOT NULL THEN s.ended_at ELSE x.ended_at END,
  end_reason = CASE WHEN x.end_seq IS NULL AND s.idle_at IS NOT NULL THEN s.end_reason ELSE x.end_reason END,
  winners = x.winners, final_scores = x.final_scores, result = x.result,
  final_at = CASE WHEN x.end_seq IS NOT NULL AND s.applied_seq >= x.end_seq THEN coalesce(s.final_at, now()) END
FROM json_to_recordset($1::json) AS x(id text, tenant text, confined boolean, game_type text, name text, created_by text, created_at timestamptz,
  created_seq bigint, created_id uuid, started_at timestamptz, started_seq bigint, started_id uuid, settings jsonb, settings_seq bigint,
  settings_id uuid, idle_timeout_s int, end_seq bigint, end_id uuid, end_type text, status text, ended_at timestamptz, winners jsonb,
  final_scores jsonb, result text, end_reason text)
WHERE s.id = x.id`;

/** Rebuild: participants' values as their events say (rows without participant events keep theirs). $1: JSON array. */
export const REWRITE_PARTICIPANTS_SQL = `
UPDATE session_participants p SET role = x.role, team = x.team, position = x.position, name = x.name, joined_at = x.joined_at,
  last_joined_at = x.last_joined_at, left_at = x.left_at, present = x.present, outcome = x.outcome, xp = x.xp, score = x.score,
  outcome_at = x.outcome_at, pos = x.pos, eff_outcome = x.eff_outcome, eff_xp = x.eff_xp, eff_at = x.eff_at
FROM json_to_recordset($1::json) AS x(session_id text, player_id text, role text, team text, position int, name text,
  joined_at timestamptz, last_joined_at timestamptz, left_at timestamptz, present boolean, outcome text, xp int, score float8,
  outcome_at timestamptz, pos jsonb, eff_outcome text, eff_xp int, eff_at timestamptz)
WHERE p.session_id = x.session_id AND p.player_id = x.player_id`;
