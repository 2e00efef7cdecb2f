/**
 * A session's history across every event table, in position order (seq, then id), each row rebuilt in
 * the contract's wire form: free-form JSON (`data`, `meta`, `state`, `patch`, `results`, `settings` …)
 * exactly as stored, nulls and every key included, and each typed column under its field's name when it
 * holds a value. Which column goes where is declared once, in the family registry (../families.ts, `wire`).
 * Each branch is a range scan of that table's (session_id, seq) index.
 */
import { FAMILIES, type Family } from '../../contract/events.ts';
import { FAMILY_TABLES } from '../families.ts';
import { utc } from './time.ts';

/** The SQL expression of one family's wire-form `data`, from its row `e`. */
export function wireData(family: Family): string {
  const parts: string[] = [];
  let base = "'{}'::jsonb";
  for (const c of FAMILY_TABLES[family].columns) {
    const w = c.wire;
    if (!w) continue;
    if ('whole' in w) base = `e.${c.name}`;
    else if ('spread' in w) parts.push(`coalesce(e.${c.name}, '{}'::jsonb)`);
    else if (w.keepNull) parts.push(`jsonb_build_object('${w.key}', e.${c.name})`);
    else parts.push(`CASE WHEN e.${c.name} IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('${w.key}', e.${c.name}) END`);
  }
  return [base, ...parts].join(' || ');
}

/** One SELECT per event table: `select` columns, `from` (joined tables before the event table `e`), `where` on `e`. */
function branches(select: string, from: string, where: string): string[] {
  return FAMILIES.map((f) => `SELECT ${select}, ${wireData(f)} AS data FROM ${from}${FAMILY_TABLES[f].table} e WHERE ${where}`);
}

/**
 * A page of session $1's history after position ($2 seq, $3 id) through seq $4, at most $5 events.
 * Result: id, type, seq, at, player, data, in position order.
 */
export const HISTORY_PAGE_SQL = `
SELECT id, type, seq, at, player, data FROM (
  ${branches(`e.id, e.type, e.seq, ${utc('e.at')} AS at, e.player_id AS player`, '', 'e.session_id = $1 AND e.seq >= $2 AND (e.seq, e.id) > ($2::bigint, $3::uuid) AND e.seq <= $4').join('\n  UNION ALL ')}
) h ORDER BY seq, id LIMIT $5`;

/**
 * Recovery's tail of one session, read in the same round trip as the rest: the events after the
 * older of its live state and its newest hashed snapshot. $1 session id, $2 limit. Result: `from_seq`
 * (where the tail starts) on every row, and one row with only it when there are no events after it:
 * the state and the snapshot are read by other statements of the round trip, which may see another
 * moment (a snapshot hashed, a refold in between), so the caller checks that the tail starts where
 * what it read needs it to.
 */
export const RECOVERY_TAIL_SQL = `
WITH f AS (
  SELECT least(coalesce((SELECT seq FROM session_states WHERE session_id = $1), 0),
               coalesce((SELECT max(seq) FROM session_snapshots WHERE session_id = $1 AND hash IS NOT NULL), 0)) AS from_seq)
SELECT f.from_seq, h.id, h.type, h.seq, h.at, h.player, h.data FROM f LEFT JOIN LATERAL (
  SELECT id, type, seq, at, player, data FROM (
    ${branches(`e.id, e.type, e.seq, ${utc('e.at')} AS at, e.player_id AS player`, '', 'e.session_id = $1 AND e.seq > f.from_seq').join('\n    UNION ALL ')}
  ) u ORDER BY seq, id LIMIT $2
) h ON true
ORDER BY h.seq, h.id`;

/*
 * Recovery reads many sessions at once (a restarted game server recovers hundreds): every statement
 * below takes $1 = session ids (text[]) and returns rows for all of them.
 */

/** Result: the session rows. */
export const SESSIONS_BY_ID_SQL = `SELECT * FROM sessions WHERE id = ANY($1::text[])`;

/** Result: participants by session, position, then join time. */
export const PARTICIPANTS_SQL = `
SELECT session_id, player_id, role, team, position, name, joined_at, last_joined_at, left_at, outcome, xp, score, present,
  eff_outcome, eff_xp
FROM session_participants WHERE session_id = ANY($1::text[]) ORDER BY session_id, position NULLS LAST, joined_at, player_id`;

/** Result: the live state rows. */
export const STATE_SQL = `SELECT session_id, state, turn, seq, updated_at FROM session_states WHERE session_id = ANY($1::text[])`;

/** Result: join-queue entries naming the sessions, waiting ones first. */
export const SESSION_QUEUE_SQL = `
SELECT session_id, tenant, player_id, entered_at, left_at, expires_at, data,
  coalesce(entered_at > coalesce(left_at, '-infinity'), false) AS waiting
FROM join_queue_entries WHERE session_id = ANY($1::text[]) ORDER BY session_id, waiting DESC, entered_at`;

/**
 * The events of many sessions after a seq each. $1: JSON array of {session_id, after}, $2: limit per
 * session. Result: session_id, id, type, seq, at, player, data in (session, seq, id) order.
 */
export const TAILS_SQL = `
SELECT session_id, id, type, seq, at, player, data FROM (
  SELECT h.*, row_number() OVER (PARTITION BY h.session_id ORDER BY h.seq, h.id) AS n FROM (
    ${branches(`e.session_id, e.id, e.type, e.seq, ${utc('e.at')} AS at, e.player_id AS player`, 'json_to_recordset($1::json) AS r(session_id text, after bigint), ', 'e.session_id = r.session_id AND e.seq > r.after').join('\n    UNION ALL ')}
  ) h
) x WHERE n <= $2 ORDER BY session_id, seq, id`;

/** $1: tenant or null, $2: game type or null, $3: cursor (last id seen, '' to start), $4: limit. Result: unfinished sessions by id. */
export const ACTIVE_SESSIONS_SQL = `
SELECT id FROM sessions
WHERE status IN ('created', 'started') AND ($1::text IS NULL OR tenant = $1) AND ($2::text IS NULL OR game_type = $2) AND id > $3
ORDER BY id LIMIT $4`;

/** $1: only unfinished, $2: tenant or null, $3: limit. Result: newest sessions first. */
export const LIST_SESSIONS_SQL = `
SELECT id, tenant, game_type, status, event_count, last_seq, applied_seq, gap_since, last_event_at FROM sessions
WHERE (NOT $1::boolean OR status IN ('created', 'started')) AND ($2::text IS NULL OR tenant = $2)
ORDER BY last_event_at DESC, id LIMIT $3`;
