/**
 * INSERT of one family's events: one statement per family per batch.
 *
 *   INSERT INTO <table> (<cols>) SELECT <cols> FROM json_to_recordset($1::json) AS x(<col type>, ...)
 *   ON CONFLICT (<key>, id) DO NOTHING RETURNING id
 *
 * $1: a JSON array of row objects (snake_case keys). Result: the ids really inserted, so callers
 * count (and later aggregate) only new rows; an event id seen before is a duplicate and yields no row.
 * One JSON parameter keeps nested jsonb values un-escaped and the statement text constant (prepared
 * once per connection). The columns and how each is filled come from the family registry (../families.ts).
 */
import { FAMILIES, type Family, type ValidEvent } from '../../contract/events.ts';
import { FAMILY_TABLES, insertedColumns, type FamilyTable, type Getter } from '../families.ts';

function insertSql(t: FamilyTable): string {
  const cols = insertedColumns(t);
  const names = cols.map((c) => c.name).join(', ');
  const defs = cols.map((c) => `${c.name} ${c.type}`).join(', ');
  return `INSERT INTO ${t.table} (${names}) SELECT ${names} FROM json_to_recordset($1::json) AS x(${defs}) ON CONFLICT (${t.key}, id) DO NOTHING RETURNING id`;
}

export const INSERT_SQL: Record<Family, string> = Object.fromEntries(FAMILIES.map((f) => [f, insertSql(FAMILY_TABLES[f])])) as Record<Family, string>;

/**
 * One row builder per family, compiled once from its column list into a single object literal: every
 * row then has the same hidden class, which V8 builds and JSON.stringify-s on its fast path (about
 * twice as fast as assigning the columns one by one).
 */
const ROW_BUILDERS = Object.fromEntries(
  FAMILIES.map((f) => {
    const cols = insertedColumns(FAMILY_TABLES[f]);
    const body = cols.map((c, i) => `${JSON.stringify(c.name)}: g[${i}](e, e.data)`).join(', ');
    const make = new Function('g', `return (e) => ({ ${body} });`) as (g: Getter[]) => (e: ValidEvent) => Record<string, unknown>;
    return [f, make(cols.map((c) => c.get))];
  }),
) as Record<Family, (e: ValidEvent) => Record<string, unknown>>;

/** The JSON parameter for one family's events. */
export function familyRowsJson(family: Family, events: ValidEvent[]): string {
  const build = ROW_BUILDERS[family];
  const rows = new Array(events.length);
  for (let i = 0; i < events.length; i++) rows[i] = build(events[i]);
  return JSON.stringify(rows);
}
