/**
 * SQL of retention (src/ops/retention.ts). A class's rows are deleted a bounded chunk per statement
 * (each its own transaction), so a first run over a large table never holds many row locks or one long
 * transaction: the caller repeats a statement until it deletes fewer rows than the chunk.
 *
 * Events are deleted only in sessions that are final — ended by their end event, every seq up to it
 * stored (sessions.final_at) — and have been final since before the cutoff, and only rows written
 * (recorded_at) before it. An unfinished session, or one abandoned for idleness (no end event, so never
 * final), keeps everything; so do the aggregates' source families (src/db/retention.ts).
 */
import { IDLE_TABLES, RETENTION_TABLES } from '../retention.ts';

/**
 * Sessions final since before the cutoff, in id order, a page at a time: the event deletes go by session
 * (the event tables' primary key leads with session_id). $1 cutoff, $2 after this id, $3 at most this many. Result: id.
 */
export const FINAL_SESSIONS_PAGE_SQL = `SELECT id FROM sessions WHERE final_at < $1::timestamptz AND id > $2 ORDER BY id LIMIT $3`;

/**
 * The rows of one event table a class run may delete: in sessions $1, written before $2, their session
 * still final before $2, and at or below the session's contiguous watermark: an event stored after the
 * end behind a sequence gap still waits to be applied (and the gap's filling reads it), so it stays.
 */
const doomed = (table: string) => `
  SELECT e.session_id, e.id FROM ${table} e JOIN sessions s ON s.id = e.session_id
  WHERE e.session_id = ANY($1::text[]) AND e.recorded_at < $2::timestamptz AND s.final_at < $2::timestamptz AND e.seq <= s.applied_seq`;

/** Per table: deletes at most $3 of its doomed rows (see doomed). Result: one row, n = rows deleted. */
export const DELETE_RETAINED_EVENTS_SQL: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(
    Object.values(RETENTION_TABLES)
      .flat()
      .map((t) => [t, `
WITH d AS (${doomed(t)} LIMIT $3),
gone AS (DELETE FROM ${t} x USING d WHERE x.session_id = d.session_id AND x.id = d.id RETURNING 1)
SELECT count(*)::int AS n FROM gone`]),
  ),
);

/** Per table: how many rows a run would delete in sessions $1 before $2 (--dry-run). Result: n. */
export const COUNT_RETAINED_EVENTS_SQL: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(Object.values(RETENTION_TABLES).flat().map((t) => [t, `SELECT count(*)::int AS n FROM (${doomed(t)}) d`])),
);

/**
 * The idle class: sessions that are not final (unfinished, or abandoned for idleness: no end event) and
 * had nothing written since before the cutoff (updated_at: every stored event bumps it), in id order, a
 * page at a time. $1 cutoff, $2 after this id, $3 at most this many. Result: id.
 */
export const IDLE_SESSIONS_PAGE_SQL = `SELECT id FROM sessions WHERE final_at IS NULL AND updated_at < $1::timestamptz AND id > $2 ORDER BY id LIMIT $3`;

/**
 * The rows of one table the idle class may delete: in sessions $1 still idle before $2 (checked again:
 * one whose next event arrived meanwhile keeps everything), written before $2, at or below the watermark.
 */
const idleDoomed = (table: string) => `
  SELECT e.session_id, e.id FROM ${table} e JOIN sessions s ON s.id = e.session_id
  WHERE e.session_id = ANY($1::text[]) AND e.recorded_at < $2::timestamptz AND s.final_at IS NULL AND s.updated_at < $2::timestamptz
    AND e.seq <= s.applied_seq`;

/** Per table: deletes at most $3 of an idle session's doomed rows. Result: n. */
export const DELETE_IDLE_EVENTS_SQL: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(IDLE_TABLES.map((t) => [t, `
WITH d AS (${idleDoomed(t)} LIMIT $3),
gone AS (DELETE FROM ${t} x USING d WHERE x.session_id = d.session_id AND x.id = d.id RETURNING 1)
SELECT count(*)::int AS n FROM gone`])),
);

/** Per table: how many rows the idle class would delete in sessions $1 before $2 (--dry-run). Result: n. */
export const COUNT_IDLE_EVENTS_SQL: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(IDLE_TABLES.map((t) => [t, `SELECT count(*)::int AS n FROM (${idleDoomed(t)}) d`])),
);

/**
 * Dead letters created before $1, but for one of an unfinished session that waits behind a sequence gap:
 * it may hold the event the gap waits for (replaying it fills the gap), so it stays while the gap does.
 */
const OLD_DEAD_LETTERS = `
  SELECT d.id FROM dead_letters d WHERE d.created_at < $1::timestamptz
    AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.id = d.session_id AND s.final_at IS NULL AND s.gap_since IS NOT NULL)`;

/** At most $2 old dead letters (OLD_DEAD_LETTERS), oldest first (dead_letters_created_at_index). Result: n deleted. */
export const DELETE_OLD_DEAD_LETTERS_SQL = `
WITH d AS (${OLD_DEAD_LETTERS} ORDER BY d.created_at LIMIT $2),
gone AS (DELETE FROM dead_letters x USING d WHERE x.id = d.id RETURNING 1)
SELECT count(*)::int AS n FROM gone`;
export const COUNT_OLD_DEAD_LETTERS_SQL = `SELECT count(*)::int AS n FROM (${OLD_DEAD_LETTERS}) d`;
