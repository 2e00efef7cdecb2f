/**
 * SQL of `erase-player` (src/ops/erase-player.ts, src/ops/erase-rows.ts). The change statements return
 * one row per row they changed or deleted (`RETURNING 1`), so the caller counts them; a second run finds
 * nothing to change. Table and column names come from the migrated schema (ERASABLE_COLUMNS_SQL), never
 * from input.
 */

/**
 * The pseudonym the latest earlier erasure of the same id gave it. $1: the id's HMAC under
 * GP_ERASURE_KEY. Result: pseudonym.
 */
export const PREVIOUS_PSEUDONYM_SQL = `SELECT pseudonym FROM erasures WHERE id_hmac = $1 ORDER BY id DESC LIMIT 1`;

/** Tables never searched: the audit and the requests (they hold no raw id), migrations, registered types. */
const NOT_SEARCHED = `'erasures', 'erasure_requests', 'gp_migrations', 'event_types', 'api_keys'`;
/** Tables with a session_id whose rows are nevertheless not found through the player's sessions. */
const NOT_SESSION_KEYED = `'queue_events', 'join_queue_entries', 'dead_letters', 'seq_conflicts'`;

/** The document key columns: re-keyed by path segment (src/ops/erase-json.ts), as their events' keys are. */
export const DOCUMENT_KEY_COLUMNS = [['documents', 'key'], ['document_events', 'doc_key']] as const;

/**
 * Columns that may hold a player id, by kind: `id` (text columns holding player ids: player_id,
 * target_id, created_by, documents.owner, players.id: equal to the id), `segments` (document keys), `json`
 * (every jsonb column). Result: table_name, column_name, kind, session_keyed (the player's rows are
 * found in the player's sessions: the table has a session_id, or is `sessions`).
 */
export const ERASABLE_COLUMNS_SQL = `
SELECT c.table_name, c.column_name,
  CASE WHEN c.data_type = 'jsonb' THEN 'json'
    WHEN (c.table_name, c.column_name) IN (${DOCUMENT_KEY_COLUMNS.map(([t, k]) => `('${t}', '${k}')`).join(', ')}) THEN 'segments'
    ELSE 'id' END AS kind,
  EXISTS (SELECT 1 FROM information_schema.columns k WHERE k.table_schema = c.table_schema AND k.table_name = c.table_name
    AND k.column_name = CASE WHEN c.table_name = 'sessions' THEN 'id' ELSE 'session_id' END)
    AND c.table_name NOT IN (${NOT_SESSION_KEYED}) AS session_keyed
FROM information_schema.columns c JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' AND c.table_name NOT IN (${NOT_SEARCHED})
  AND (c.data_type = 'jsonb'
    OR (c.data_type = 'text' AND (c.column_name IN ('player_id', 'target_id', 'created_by')
      OR (c.table_name, c.column_name) IN (('documents', 'owner'), ('players', 'id'), ${DOCUMENT_KEY_COLUMNS.map(([t, k]) => `('${t}', '${k}')`).join(', ')}))))
ORDER BY c.table_name, c.column_name`;

/**
 * The sessions the player is in (participant, any event, target of a vote, creator, owner of a
 * document, a join-queue entry): the session-keyed tables are searched for the id in these only. $1: id.
 */
export const PLAYER_SESSIONS_SQL = (eventTables: readonly string[]) => `
SELECT session_id FROM session_participants WHERE player_id = $1
${eventTables.map((t) => `UNION SELECT session_id FROM ${t} WHERE player_id = $1 AND session_id IS NOT NULL`).join('\n')}
UNION SELECT session_id FROM votes WHERE target_id = $1
UNION SELECT id FROM sessions WHERE created_by = $1
UNION SELECT session_id FROM documents WHERE owner = $1
UNION SELECT session_id FROM join_queue_entries WHERE player_id = $1 AND session_id IS NOT NULL`;

/**
 * An earlier erasure's pseudonym already has a players row and the id has one again (events sent after
 * it): one row, first and last seen spanning both, under the pseudonym. $1 id, $2 pseudonym. Result: 1 per merged row.
 */
export const MERGE_PLAYER_ROW_SQL = `
UPDATE players p SET first_seen_at = least(p.first_seen_at, r.first_seen_at), last_seen_at = greatest(p.last_seen_at, r.last_seen_at)
FROM players r WHERE p.id = $2 AND r.id = $1 RETURNING 1`;
/** ... then the id's row goes (MERGE_PLAYER_ROW_SQL). $1 id, $2 pseudonym. Result: 1 when it did. */
export const DROP_MERGED_PLAYER_ROW_SQL = `DELETE FROM players r WHERE r.id = $1 AND EXISTS (SELECT 1 FROM players p WHERE p.id = $2) RETURNING 1`;

/**
 * Personal text, blanked before the id is replaced (each keyed by the original id $1; $2, in the
 * statements that mention it, the player's sessions, whose index finds the rows), by `table.column` label. Chat text stays a string ('': the
 * column is NOT NULL), a game event's data an object; sizes and token counts of agent calls stay (usage
 * statistics), their texts go; a move keeps its action (the game's verb), its data (what the player
 * wrote or chose) goes.
 */
export const BLANK_SQL: readonly (readonly [label: string, sql: string])[] = [
  ['players.name', `UPDATE players SET name = NULL, name_at = NULL WHERE id = $1 AND (name IS NOT NULL OR name_at IS NOT NULL) RETURNING 1`],
  ['session_participants.name', `UPDATE session_participants SET name = NULL WHERE player_id = $1 AND name IS NOT NULL AND session_id = ANY($2::text[]) RETURNING 1`],
  [
    'participant_events.data',
    `UPDATE participant_events SET data = nullif(data - 'name' - 'meta', '{}'::jsonb)
     WHERE player_id = $1 AND session_id = ANY($2::text[]) AND (data ? 'name' OR data ? 'meta') RETURNING 1`,
  ],
  ['chat_messages.text', `UPDATE chat_messages SET text = '', data = NULL WHERE player_id = $1 AND session_id = ANY($2::text[]) AND (text <> '' OR data IS NOT NULL) RETURNING 1`],
  [
    'agent_logs.prompt',
    `UPDATE agent_logs SET prompt = NULL, response = NULL, thinking = NULL, data = NULL
     WHERE player_id = $1 AND session_id = ANY($2::text[]) AND (prompt IS NOT NULL OR response IS NOT NULL OR thinking IS NOT NULL OR data IS NOT NULL) RETURNING 1`,
  ],
  ['task_logs.description', `UPDATE task_logs SET description = NULL, data = NULL WHERE player_id = $1 AND session_id = ANY($2::text[]) AND (description IS NOT NULL OR data IS NOT NULL) RETURNING 1`],
  ['votes.data', `UPDATE votes SET data = NULL WHERE player_id = $1 AND session_id = ANY($2::text[]) AND data IS NOT NULL RETURNING 1`],
  ['moves.data', `UPDATE moves SET data = NULL WHERE player_id = $1 AND session_id = ANY($2::text[]) AND data IS NOT NULL RETURNING 1`],
  ['custom_events.data', `UPDATE custom_events SET data = '{}'::jsonb WHERE player_id = $1 AND session_id = ANY($2::text[]) AND data <> '{}'::jsonb RETURNING 1`],
  ['queue_events.data', `UPDATE queue_events SET data = NULL WHERE player_id = $1 AND data IS NOT NULL RETURNING 1`],
  ['join_queue_entries.data', `UPDATE join_queue_entries SET data = NULL WHERE player_id = $1 AND data IS NOT NULL RETURNING 1`],
  // The player's own documents: kept as deleted (value null), so their versions never repeat.
  ['documents.value', `UPDATE documents SET value = NULL, bytes = 0 WHERE owner = $1 AND session_id = ANY($2::text[]) AND value IS NOT NULL RETURNING 1`],
  [
    'document_events.value',
    `UPDATE document_events SET value = NULL WHERE player_id = $1 AND session_id = ANY($2::text[]) AND owner = 'player' AND value IS NOT NULL RETURNING 1`,
  ],
];

/**
 * Refused events and cached API answers that mention the id, deleted, not rewritten (a refused event is
 * the player's own payload; rewriting it would make a replay lie): the id as a JSON string ($1, quoted),
 * or as a JSON number when $2 (an ARE, src/ops/erase-json.ts numberPattern: in the contract's player
 * fields, or anywhere for a long one) is not null.
 */
export const DELETE_MENTIONS_SQL: readonly (readonly [label: string, sql: string])[] = [
  ['dead_letters', `DELETE FROM dead_letters WHERE strpos(payload, $1) > 0 OR ($2::text IS NOT NULL AND payload ~ $2) RETURNING 1`],
  ['api_records', `DELETE FROM api_records WHERE strpos(value, $1) > 0 OR ($2::text IS NOT NULL AND value ~ $2) RETURNING 1`],
];

/** Replaces the id ($1) by the pseudonym ($2) in a text column; $3 the player's sessions when session-keyed. */
export const rekeyIdSql = (table: string, column: string, sessionKeyed: boolean) =>
  `UPDATE "${table}" SET "${column}" = $2 WHERE "${column}" = $1${sessionKeyed ? ` AND ${sessionColumn(table)} = ANY($3::text[])` : ''} RETURNING 1`;

const sessionColumn = (table: string) => (table === 'sessions' ? 'id' : 'session_id');

/** The cursor the candidate rows of one column are read through, a page at a time. */
export const CANDIDATES_CURSOR = 'gp_erase_candidates';

/**
 * Opens CANDIDATES_CURSOR over the rows of a column whose text contains $1 (the id as it appears in
 * JSON text or in a key), locked for the rewrite; $2 the player's sessions when session-keyed. Rows:
 * ctid (text), v (the value), and for snapshots hashed (whether a hash was recorded).
 */
export const openCandidatesSql = (table: string, column: string, json: boolean, sessionKeyed: boolean) =>
  `DECLARE ${CANDIDATES_CURSOR} NO SCROLL CURSOR FOR SELECT ctid::text AS ctid, "${column}" AS v${table === 'session_snapshots' ? ', hash IS NOT NULL AS hashed' : ''}
   FROM "${table}" WHERE strpos("${column}"${json ? '::text' : ''}, $1) > 0${sessionKeyed ? ` AND ${sessionColumn(table)} = ANY($2::text[])` : ''} FOR UPDATE`;
/** Candidate rows per page. */
export const CANDIDATES_PAGE = 500;
export const FETCH_CANDIDATES_SQL = `FETCH ${CANDIDATES_PAGE} FROM ${CANDIDATES_CURSOR}`;
export const CLOSE_CANDIDATES_SQL = `CLOSE ${CANDIDATES_CURSOR}`;

/**
 * Hashes the game server computed of a state it sent, cleared where the state is rewritten: they hashed a
 * state naming the player (and would no longer match it).
 */
const SERVER_HASHES: Readonly<Record<string, string>> = { 'turn_results.state': 'state_hash' };

/** Writes rewritten values back by ctid (rows locked by the cursor): $1 ctids, $2 values (jsonb or text). Result: 1 per row. */
export const rewriteSql = (table: string, column: string, json: boolean) => `
UPDATE "${table}" t SET "${column}" = x.gp_v${SERVER_HASHES[`${table}.${column}`] ? `, "${SERVER_HASHES[`${table}.${column}`]}" = NULL` : ''} FROM (SELECT unnest($1::tid[]) AS gp_ctid, unnest($2::${json ? 'jsonb' : 'text'}[]) AS gp_v) x
WHERE t.ctid = x.gp_ctid RETURNING 1`;

/**
 * Snapshots whose state named the id: the state rewritten and, where one was recorded, its hash
 * recomputed (recovery trusts a snapshot only when its state hashes to it); the game server's own hash
 * of the old state cleared (SERVER_HASHES). $1 ctids, $2 states, $3 hashes.
 */
export const REWRITE_SNAPSHOTS_SQL = `
UPDATE session_snapshots t SET state = x.gp_v, hash = CASE WHEN t.hash IS NULL THEN NULL ELSE x.gp_h END, server_hash = NULL
FROM (SELECT unnest($1::tid[]) AS gp_ctid, unnest($2::jsonb[]) AS gp_v, unnest($3::text[]) AS gp_h) x WHERE t.ctid = x.gp_ctid RETURNING 1`;

/** Rated sessions among the player's ($1 sessions), locked: their inputs re-sorted after the renaming. Result: session_id, teams, ranks. */
export const RATED_INPUTS_SQL = `SELECT session_id, teams, ranks FROM rated_sessions WHERE session_id = ANY($1::text[]) AND teams IS NOT NULL FOR UPDATE`;
/** $1 session, $2 teams, $3 ranks. */
export const WRITE_RATED_INPUT_SQL = `UPDATE rated_sessions SET teams = $2::jsonb, ranks = $3::jsonb WHERE session_id = $1 RETURNING 1`;

/** The audit row. $1 HMAC of the id, $2 pseudonym, $3 requested by, $4 counts, $5 queue report, $6 changed. Result: id, requested_at. */
export const INSERT_ERASURE_SQL = `
INSERT INTO erasures (id_hmac, pseudonym, requested_by, counts, queue, changed) VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6)
RETURNING id, requested_at`;
