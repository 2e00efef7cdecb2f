/**
 * SQL of `erase-player` (src/ops/erase-player.ts). Every statement takes the player's id as $1 and
 * returns one row per row it changed or deleted (`RETURNING 1`), so the caller counts them; a second
 * run finds nothing to change. Table and column names come from the migrated schema (ERASABLE_COLUMNS_SQL),
 * never from input.
 */

/** The player's previous pseudonym, if an earlier run erased the same id. $1: the id's SHA-256. */
export const PREVIOUS_PSEUDONYM_SQL = `SELECT pseudonym FROM erasures WHERE id_hash = $1 ORDER BY id LIMIT 1`;

/**
 * Columns that may hold a player id: the id-valued text columns by name, and every jsonb column.
 * Result: table_name, column_name, data_type, session_keyed (the table has a session_id column the
 * player's rows are found by).
 */
export const ERASABLE_COLUMNS_SQL = `
SELECT c.table_name, c.column_name, c.data_type,
  EXISTS (SELECT 1 FROM information_schema.columns k WHERE k.table_schema = c.table_schema AND k.table_name = c.table_name
    AND k.column_name = CASE WHEN c.table_name = 'sessions' THEN 'id' ELSE 'session_id' END)
    AND c.table_name NOT IN ('queue_events', 'dead_letters', 'seq_conflicts') AS session_keyed
FROM information_schema.columns c JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' AND c.table_name NOT IN ('erasures', 'gp_migrations', 'event_types')
  AND ((c.data_type = 'text' AND c.column_name IN ('player_id', 'target_id', 'created_by', 'owner')) OR c.data_type = 'jsonb'
    OR (c.table_name = 'players' AND c.column_name = 'id'))
ORDER BY c.table_name, c.column_name`;

/**
 * The sessions the player is in (participant, any event, target of a vote, creator, owner of a
 * document): the session-keyed tables are searched for the id in these only. $1: id.
 */
export const PLAYER_SESSIONS_SQL = (eventTables: readonly string[]) => `
SELECT session_id FROM session_participants WHERE player_id = $1
${eventTables.map((t) => `UNION SELECT session_id FROM ${t} WHERE player_id = $1 AND session_id IS NOT NULL`).join('\n')}
UNION SELECT session_id FROM votes WHERE target_id = $1
UNION SELECT id FROM sessions WHERE created_by = $1
UNION SELECT session_id FROM documents WHERE owner = $1`;

/**
 * Personal text, blanked or removed before the id is replaced (each keyed by the original id $1), by
 * `table.column` label. Chat text stays a string ('': the column is NOT NULL); sizes and token counts of
 * agent calls stay (usage statistics), their texts go.
 */
export const BLANK_SQL: readonly (readonly [label: string, sql: string])[] = [
  ['players.name', `UPDATE players SET name = NULL, name_at = NULL WHERE id = $1 AND (name IS NOT NULL OR name_at IS NOT NULL) RETURNING 1`],
  ['session_participants.name', `UPDATE session_participants SET name = NULL WHERE player_id = $1 AND name IS NOT NULL RETURNING 1`],
  [
    'participant_events.data',
    `UPDATE participant_events SET data = nullif(data - 'name' - 'meta', '{}'::jsonb) WHERE player_id = $1 AND (data ? 'name' OR data ? 'meta') RETURNING 1`,
  ],
  ['chat_messages.text', `UPDATE chat_messages SET text = '', data = NULL WHERE player_id = $1 AND (text <> '' OR data IS NOT NULL) RETURNING 1`],
  [
    'agent_logs.prompt',
    `UPDATE agent_logs SET prompt = NULL, response = NULL, thinking = NULL, data = NULL WHERE player_id = $1 AND (prompt IS NOT NULL OR response IS NOT NULL OR thinking IS NOT NULL OR data IS NOT NULL) RETURNING 1`,
  ],
  ['task_logs.description', `UPDATE task_logs SET description = NULL, data = NULL WHERE player_id = $1 AND (description IS NOT NULL OR data IS NOT NULL) RETURNING 1`],
  ['votes.data', `UPDATE votes SET data = NULL WHERE player_id = $1 AND data IS NOT NULL RETURNING 1`],
  ['queue_events.data', `UPDATE queue_events SET data = NULL WHERE player_id = $1 AND data IS NOT NULL RETURNING 1`],
  ['join_queue_entries.data', `UPDATE join_queue_entries SET data = NULL WHERE player_id = $1 AND data IS NOT NULL RETURNING 1`],
  // The player's own documents: kept as deleted (value null), so their versions never repeat.
  ['documents.value', `UPDATE documents SET value = NULL, bytes = 0 WHERE owner = $1 AND value IS NOT NULL RETURNING 1`],
  ['document_events.value', `UPDATE document_events SET value = NULL WHERE player_id = $1 AND owner = 'player' AND value IS NOT NULL RETURNING 1`],
  // Refused events and cached API answers that mention the id (as a JSON string): deleted, not rewritten.
  ['dead_letters', `DELETE FROM dead_letters WHERE strpos(payload, to_json($1::text)::text) > 0 RETURNING 1`],
  ['api_records', `DELETE FROM api_records WHERE strpos(value, to_json($1::text)::text) > 0 RETURNING 1`],
];

/** Replaces the id ($1) by the pseudonym ($2) in a text column; $3 the player's sessions when session-keyed. */
export const rekeyTextSql = (table: string, column: string, sessionKeyed: boolean) =>
  `UPDATE "${table}" SET "${column}" = $2 WHERE "${column}" = $1${sessionKeyed ? ` AND ${sessionColumn(table)} = ANY($3::text[])` : ''} RETURNING 1`;

/**
 * Replaces every JSON string equal to the id (values and object keys: `"p1"`, never `"p10"` or a longer
 * text containing it) by the pseudonym, in a jsonb column. $1, $2: the id and pseudonym as JSON strings.
 */
export const rekeyJsonSql = (table: string, column: string, sessionKeyed: boolean) =>
  `UPDATE "${table}" SET "${column}" = replace("${column}"::text, $1, $2)::jsonb WHERE strpos("${column}"::text, $1) > 0` +
  `${sessionKeyed ? ` AND ${sessionColumn(table)} = ANY($3::text[])` : ''} RETURNING 1`;

const sessionColumn = (table: string) => (table === 'sessions' ? 'id' : 'session_id');

/** Snapshots whose state names the id (rewritten and re-hashed by the caller). $1 id as JSON string, $2 sessions. */
export const SNAPSHOTS_NAMING_SQL = `
SELECT session_id, seq, state FROM session_snapshots WHERE session_id = ANY($2::text[]) AND strpos(state::text, $1) > 0 FOR UPDATE`;
export const REWRITE_SNAPSHOT_SQL = `UPDATE session_snapshots SET state = $3::jsonb, hash = $4 WHERE session_id = $1 AND seq = $2`;

export const INSERT_ERASURE_SQL = `
INSERT INTO erasures (id_hash, pseudonym, requested_by, counts, queue, changed) VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6)
RETURNING id, requested_at`;
