/**
 * Documents: applied from document_events in seq order (src/sessions/documents.ts), read by key, by
 * collection (a key prefix or range, paged by key) and by owner. A document's owner is '' (its session)
 * or a player id; `key` sorts in byte order (COLLATE "C").
 */
import { utc } from './time.ts';

/** Which document: its session, owner ('' the session, else a player id), collection and key. */
export interface DocKey {
  session_id: string;
  owner: string;
  collection: string;
  key: string;
}

/** The owner a doc event writes to, from its row `e`. */
const OWNER = `CASE WHEN e.owner = 'player' THEN e.player_id ELSE '' END`;
const EVENT_COLUMNS = `e.session_id, e.seq, e.id, e.type, ${OWNER} AS owner, e.collection, e.doc_key AS key, e.expected_version, e.value, ${utc('e.at')} AS at`;

/** A doc event as the apply step reads it. */
export interface DocEventRow extends DocKey {
  seq: string | number;
  id: string;
  type: 'doc.put' | 'doc.delete';
  expected_version: number | null;
  value: unknown;
  at: string;
}

/** $1: JSON [{session_id, after, upto}]. Result: DocEventRow of seq in (after, upto], by session, seq, id. */
export const DOC_EVENTS_RANGE_SQL = `
SELECT ${EVENT_COLUMNS} FROM json_to_recordset($1::json) AS r(session_id text, after bigint, upto bigint)
JOIN document_events e ON e.session_id = r.session_id AND e.seq > r.after AND e.seq <= r.upto
ORDER BY e.session_id, e.seq, e.id`;

/**
 * Every event of the given documents through seq `upto`, for a document folded again from the start.
 * $1: JSON [{session_id, owner, collection, key, upto}]. Result: DocEventRow by document, seq, id.
 */
export const DOC_EVENTS_OF_KEYS_SQL = `
SELECT ${EVENT_COLUMNS} FROM json_to_recordset($1::json) AS r(session_id text, owner text, collection text, key text, upto bigint)
JOIN document_events e ON e.session_id = r.session_id AND e.collection = r.collection AND e.doc_key = r.key AND e.seq <= r.upto
  AND ${OWNER} = r.owner
ORDER BY e.session_id, e.seq, e.id`;

/** The current rows of documents (deleted ones included). $1: JSON [{session_id, owner, collection, key}]. */
export const CURRENT_DOCUMENTS_SQL = `
SELECT d.session_id, d.owner, d.collection, d.key, d.value, d.version, d.bytes
FROM json_to_recordset($1::json) AS r(session_id text, owner text, collection text, key text)
JOIN documents d ON d.session_id = r.session_id AND d.owner = r.owner AND d.collection = r.collection AND d.key = r.key`;

/** Bytes each owner's documents hold. $1: JSON [{session_id, owner}]. Result: session_id, owner, bytes. */
export const OWNER_BYTES_SQL = `
SELECT r.session_id, r.owner, coalesce(sum(d.bytes), 0)::bigint AS bytes
FROM json_to_recordset($1::json) AS r(session_id text, owner text)
LEFT JOIN documents d ON d.session_id = r.session_id AND d.owner = r.owner
GROUP BY r.session_id, r.owner`;

/** $1: JSON [{session_id, owner, collection, key, value (null: deleted), version, bytes, seq, event_id, updated_at}]. */
export const UPSERT_DOCUMENTS_SQL = `
INSERT INTO documents (session_id, owner, collection, key, value, version, bytes, seq, event_id, updated_at)
SELECT session_id, owner, collection, key, value, version, bytes, seq, event_id, updated_at
FROM json_to_recordset($1::json) AS x(session_id text, owner text, collection text, key text, value jsonb, version int, bytes int,
  seq bigint, event_id uuid, updated_at timestamptz)
ORDER BY session_id, owner, collection, key
ON CONFLICT (session_id, owner, collection, key) DO UPDATE SET value = excluded.value, version = excluded.version,
  bytes = excluded.bytes, seq = excluded.seq, event_id = excluded.event_id, updated_at = excluded.updated_at`;

/** Documents that a fold from the start found never written. $1: JSON [{session_id, owner, collection, key}]. */
export const DELETE_DOCUMENTS_SQL = `
DELETE FROM documents d USING json_to_recordset($1::json) AS r(session_id text, owner text, collection text, key text)
WHERE d.session_id = r.session_id AND d.owner = r.owner AND d.collection = r.collection AND d.key = r.key`;

/** What applying each event did. $1: JSON [{session_id, id, outcome, version}]. */
export const SET_DOC_OUTCOMES_SQL = `
UPDATE document_events e SET outcome = x.outcome, version = x.version
FROM json_to_recordset($1::json) AS x(session_id text, id uuid, outcome text, version int)
WHERE e.session_id = x.session_id AND e.id = x.id`;

// --- Reads -----------------------------------------------------------------------------------------

const DOC_COLUMNS = `d.session_id, d.owner, d.collection, d.key, d.value, d.version, d.seq, ${utc('d.updated_at')} AS updated_at`;

/** A document as read. */
export interface DocumentRow extends DocKey {
  value: unknown;
  version: number;
  seq: string;
  updated_at: string;
}

/** One document. $1 session, $2 owner ('' the session), $3 collection, $4 key. */
export const DOCUMENT_SQL = `
SELECT ${DOC_COLUMNS} FROM documents d
WHERE d.session_id = $1 AND d.owner = $2 AND d.collection = $3 AND d.key = $4 AND d.value IS NOT NULL`;

/**
 * A page of one owner's collection in key order: $1 session, $2 owner, $3 collection, $4 prefix (or
 * null), $5 from (inclusive, or null), $6 to (exclusive, or null), $7 after (the last key of the
 * previous page, or null), $8 limit.
 */
export const DOCUMENTS_PAGE_SQL = `
SELECT ${DOC_COLUMNS} FROM documents d
WHERE d.session_id = $1 AND d.owner = $2 AND d.collection = $3 AND d.value IS NOT NULL
  AND ($4::text IS NULL OR (d.key >= $4 AND starts_with(d.key, $4)))
  AND ($5::text IS NULL OR d.key >= $5) AND ($6::text IS NULL OR d.key < $6) AND ($7::text IS NULL OR d.key > $7)
ORDER BY d.key LIMIT $8`;

/**
 * Every document of a session, each owner's in collection and key order (recovery), with the watermark
 * they were applied through, read in one statement so the two agree. $1 session, $2 collections (null:
 * all), $3 limit. Result: applied_seq on every row; one row with only it when there are none; no row
 * for an unknown session.
 */
export const SESSION_DOCUMENTS_SQL = `
SELECT s.applied_seq, d.* FROM sessions s LEFT JOIN LATERAL (
  SELECT ${DOC_COLUMNS} FROM documents d
  WHERE d.session_id = s.id AND d.value IS NOT NULL AND ($2::text[] IS NULL OR d.collection = ANY($2::text[]))
  ORDER BY d.owner, d.collection, d.key LIMIT $3
) d ON true
WHERE s.id = $1
ORDER BY d.owner, d.collection, d.key`;

/**
 * A page of a player's documents across sessions: $1 player, $2 collection (or null), $3 after
 * (JSON [session_id, collection, key] of the previous page's last, or null), $4 limit.
 */
export const PLAYER_DOCUMENTS_SQL = `
SELECT ${DOC_COLUMNS} FROM documents d
WHERE d.owner = $1 AND d.value IS NOT NULL AND ($2::text IS NULL OR d.collection = $2)
  AND ($3::json IS NULL OR (d.session_id, d.collection, d.key) > ($3::json->>0, $3::json->>1, ($3::json->>2) COLLATE "C"))
ORDER BY d.session_id, d.collection, d.key LIMIT $4`;

/** A write that was not applied. */
export interface DocRejectionRow {
  id: string;
  seq: string;
  type: string;
  player: string | null;
  owner: string;
  collection: string;
  key: string;
  expected_version: number | null;
  outcome: 'conflict' | 'over_limit';
  version: number;
  at: string;
}

/** A session's doc writes that were not applied (conflicts, owner limit), in seq order: $1 session, $2 after seq, $3 limit. */
export const DOC_REJECTIONS_SQL = `
SELECT e.id, e.seq, e.type, e.player_id AS player, ${OWNER} AS owner, e.collection, e.doc_key AS key, e.expected_version,
  e.outcome, e.version, ${utc('e.at')} AS at
FROM document_events e
WHERE e.session_id = $1 AND e.outcome IN ('conflict', 'over_limit') AND e.seq > $2
ORDER BY e.seq, e.id LIMIT $3`;
