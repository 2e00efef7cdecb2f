/**
 * Event rows as COPY text, straight into their family's table: the write path's fast shape.
 *
 * Why COPY into the table itself, not into a staging table: on batches like the worker's (5000 moves,
 * the table's two indexes, one transaction each) COPY FROM STDIN ran at 1.0 of a plain COPY, COPY into a
 * temporary table then INSERT … SELECT … ON CONFLICT DO NOTHING at 0.70, and both the
 * `json_to_recordset` and the `unnest` INSERTs at 0.51 (bench/insert-shapes.ts, README "Performance").
 * COPY has no ON CONFLICT: the writer runs it under a savepoint, and a batch holding an event stored
 * before (a redelivery after a crash: rare) or a value PostgreSQL refuses falls back to the INSERT of
 * ./sql/insert-events.ts, which skips duplicates and reports the ids it inserted.
 *
 * Every value is encoded from the family registry (./families.ts), as the INSERT's JSON rows are. A
 * string COPY text cannot carry as PostgreSQL would read it through JSON — NUL, or a lone surrogate
 * (which UTF-8 encoding would silently replace) — makes the encoder give up, and the INSERT path decides
 * about the row exactly as before (isolated and dead-lettered when PostgreSQL refuses it).
 */
import { FAMILIES, type Family, type ValidEvent } from '../contract/events.ts';
import { FAMILY_TABLES, insertedColumns, type Getter, type SqlType } from './families.ts';

/** COPY … FROM STDIN per family: constant texts (prepared nowhere, fine behind a transaction pooler). */
export const COPY_SQL: Record<Family, string> = Object.fromEntries(
  FAMILIES.map((f) => {
    const t = FAMILY_TABLES[f];
    return [f, `COPY ${t.table} (${insertedColumns(t).map((c) => c.name).join(', ')}) FROM STDIN`];
  }),
) as Record<Family, string>;

/** The savepoint a family's COPY runs under: a duplicate or a refused value undoes only that COPY. */
export const COPY_SAVEPOINT_SQL = 'SAVEPOINT gp_copy';
export const COPY_RELEASE_SQL = 'RELEASE SAVEPOINT gp_copy';
export const COPY_ROLLBACK_SQL = 'ROLLBACK TO SAVEPOINT gp_copy';

/** Thrown by an encoder for a value COPY text cannot carry faithfully; the caller takes the INSERT path. */
export class NotCopyable extends Error {}

const SPECIAL = /[\\\t\n\r]/;
const SPECIAL_ALL = /[\\\t\n\r]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A string as a COPY text field: backslash, tab, newline and carriage return escaped. */
export function copyString(s: string): string {
  if (s.includes('\u0000') || !s.isWellFormed()) throw new NotCopyable();
  return SPECIAL.test(s) ? s.replace(SPECIAL_ALL, (c) => ESCAPES[c] as string) : s;
}

/**
 * JSON text as a COPY field. JSON.stringify escapes every control character and lone surrogate, so
 * only its backslashes need doubling; a \u0000 escape PostgreSQL's jsonb refuses, as it would the
 * INSERT's.
 */
function copyJson(v: unknown): string {
  const s = JSON.stringify(v);
  return s.includes('\\') ? s.replaceAll('\\', '\\\\') : s;
}

function copyValue(type: SqlType, v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  switch (type) {
    case 'jsonb':
      return copyJson(v);
    case 'boolean':
      return v ? 't' : 'f';
    case 'bigint':
    case 'int':
    case 'float8':
      if (typeof v !== 'number') throw new NotCopyable();
      return String(v);
    default:
      // A number sent in a text column (an integer id) is stored as its JSON text, as the INSERT stores it.
      if (typeof v === 'number') return String(v);
      if (typeof v !== 'string') throw new NotCopyable();
      return copyString(v);
  }
}

/** One line builder per family, from its column list (the getters of the INSERT's JSON rows). */
const LINE_BUILDERS = Object.fromEntries(
  FAMILIES.map((f) => {
    const cols = insertedColumns(FAMILY_TABLES[f]);
    const getters: Getter[] = cols.map((c) => c.get as Getter);
    const types = cols.map((c) => c.type);
    return [
      f,
      (e: ValidEvent) => {
        let line = '';
        for (let i = 0; i < getters.length; i++) {
          if (i) line += '\t';
          line += copyValue(types[i] as SqlType, (getters[i] as Getter)(e, e.data));
        }
        return line;
      },
    ];
  }),
) as Record<Family, (e: ValidEvent) => string>;

/**
 * One family's events as COPY text (one line each, in order).
 * @throws NotCopyable when a value cannot be carried by COPY text faithfully.
 */
export function familyCopyText(family: Family, events: readonly ValidEvent[]): string {
  const build = LINE_BUILDERS[family];
  let text = '';
  for (let i = 0; i < events.length; i++) text += `${build(events[i] as ValidEvent)}\n`;
  return text;
}
