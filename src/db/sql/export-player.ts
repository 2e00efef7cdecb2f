/**
 * `export-player` (src/ops/export-player.ts): every row about a player, one statement per kind, each
 * read through a cursor. Parameters: $1 the id; for the parts found by mention (dead letters' payload
 * text), $1 the id as a JSON string (quoted) and $2 an ARE matching it as a JSON number or null
 * (src/ops/erase-json.ts numberPattern). Table names come from src/db/families.ts, never from input.
 */
import { EVENT_TABLES } from '../families.ts';

export interface ExportPart {
  table: string;
  /** How the row names the player: the column (or `payload` text, `participation` for a rated session). */
  match: string;
  sql: string;
  /** Found by mention: parameters ($1 quoted id, $2 number pattern) instead of ($1 id). */
  byMention?: true;
}

/** The parts in the order they are written. */
export const EXPORT_PARTS: readonly ExportPart[] = [
  { table: 'players', match: 'id', sql: `SELECT * FROM players WHERE id = $1` },
  { table: 'player_stats', match: 'player_id', sql: `SELECT * FROM player_stats WHERE player_id = $1 ORDER BY scope` },
  { table: 'stat_deltas', match: 'player_id', sql: `SELECT * FROM stat_deltas WHERE player_id = $1 ORDER BY id` },
  { table: 'session_participants', match: 'player_id', sql: `SELECT * FROM session_participants WHERE player_id = $1 ORDER BY session_id` },
  { table: 'sessions', match: 'created_by', sql: `SELECT * FROM sessions WHERE created_by = $1 ORDER BY id` },
  ...EVENT_TABLES.map((t) => ({ table: t, match: 'player_id', sql: `SELECT * FROM ${t} WHERE player_id = $1 ORDER BY at, id` })),
  { table: 'votes', match: 'target_id', sql: `SELECT * FROM votes WHERE target_id = $1 ORDER BY at, id` },
  { table: 'documents', match: 'owner', sql: `SELECT * FROM documents WHERE owner = $1 ORDER BY session_id, collection, key` },
  { table: 'join_queue_entries', match: 'player_id', sql: `SELECT * FROM join_queue_entries WHERE player_id = $1 ORDER BY tenant` },
  {
    table: 'rated_sessions',
    match: 'participation',
    sql: `SELECT r.* FROM rated_sessions r JOIN session_participants p ON p.session_id = r.session_id WHERE p.player_id = $1 ORDER BY r.ord`,
  },
  { table: 'leaderboard_archive', match: 'player_id', sql: `SELECT * FROM leaderboard_archive WHERE player_id = $1 ORDER BY scope, metric, position` },
  {
    table: 'dead_letters',
    match: 'payload',
    byMention: true,
    sql: `SELECT * FROM dead_letters WHERE strpos(payload, $1) > 0 OR ($2::text IS NOT NULL AND payload ~ $2) ORDER BY id`,
  },
];

/** The cursor each part is read through, and rows per fetch (an agent log's prompt may be large). */
export const EXPORT_CURSOR = 'gp_export';
export const EXPORT_PAGE = 100;
export const openExportSql = (part: ExportPart) => `DECLARE ${EXPORT_CURSOR} NO SCROLL CURSOR FOR ${part.sql}`;
export const FETCH_EXPORT_SQL = `FETCH ${EXPORT_PAGE} FROM ${EXPORT_CURSOR}`;
export const CLOSE_EXPORT_SQL = `CLOSE ${EXPORT_CURSOR}`;
/** One snapshot for the whole export, read-only. */
export const BEGIN_EXPORT_SQL = `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`;
