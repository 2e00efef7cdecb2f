/**
 * The family registry (src/db/families.ts) against everything that must agree with it: the contract's
 * event types, the migrated database, the MikroORM entities, and a round trip of every event type
 * through the INSERT and back through each history read. A new family or column that is declared in
 * one place and not the other fails here; so does a statement of src/db/sql that names a table or a
 * column the schema does not have (the state, snapshot and aggregate reads name family columns).
 */
import { readdirSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_TYPES, EVENT_TYPE_NAMES, FAMILIES, type EventType, type Family, type ValidEvent } from '../../../src/contract/events.ts';
import type { Field } from '../../../src/contract/fields.ts';
import { uuidv7 } from '../../../src/contract/ids.ts';
import { validateEvent } from '../../../src/contract/validate.ts';
import { ContractError } from '../../../src/errors.ts';
import { EVENT_TABLES, FAMILY_TABLES, defaultSql, insertedColumns, type FamilyTable } from '../../../src/db/families.ts';
import { query, transaction } from '../../../src/db/query.ts';
import { ormReader } from '../../../src/db/reader.ts';
import { RECOVERY_TAIL_SQL, TAILS_SQL } from '../../../src/db/sql/history.ts';
import { INSERT_SQL, familyRowsJson } from '../../../src/db/sql/insert-events.ts';
import { COPY_SQL, familyCopyText } from '../../../src/db/copy.ts';
import { DERIVATION_EVENTS_SQL } from '../../../src/db/sql/recompute.ts';
import { schemaDrifts } from '../../../src/db/migrate.ts';
import { replay, type HistoryEvent } from '../../../src/recovery/recover.ts';
import { openFixture, rows, type Fixture } from '../../helpers/services.ts';

let fx: Fixture;
beforeAll(async () => {
  fx = await openFixture();
});
afterAll(async () => {
  await fx?.close();
});

const tables = FAMILIES.map((f) => FAMILY_TABLES[f]);
const typesOf = (f: Family) => EVENT_TYPE_NAMES.filter((t) => EVENT_TYPES[t].family === f);
const shapeOf = (t: EventType) => EVENT_TYPES[t].data as Record<string, Field>;

/** PostgreSQL's own spelling of type names (int → integer, float8 → double precision, …). */
async function canonicalTypes(names: string[]): Promise<Map<string, string>> {
  const r = await rows<{ t: string; c: string }>(fx.orm, `SELECT t, t::regtype::text AS c FROM unnest($1::text[]) AS t`, [[...new Set(names)]]);
  return new Map(r.map((x) => [x.t, x.c]));
}

interface ColumnFacts {
  name: string;
  type: string;
  nullable: boolean;
  default: string | null;
}
const byName = (a: ColumnFacts, b: ColumnFacts) => a.name.localeCompare(b.name);

async function registryColumns(t: FamilyTable): Promise<ColumnFacts[]> {
  const types = await canonicalTypes(t.columns.map((c) => c.type));
  return t.columns.map((c) => ({ name: c.name, type: types.get(c.type)!, nullable: c.nullable, default: defaultSql(c) })).sort(byName);
}

describe('the family registry', () => {
  it('stores every data field of every event type of its family, and reads no field none of them has', () => {
    for (const t of tables) {
      const keys = new Set<string>();
      let whole = false;
      for (const c of t.columns) {
        const w = c.wire;
        if (!w) continue;
        if ('whole' in w) whole = true;
        else if ('spread' in w) for (const k of w.spread) keys.add(k);
        else keys.add(w.key);
      }
      const fields = new Set(typesOf(t.family).flatMap((type) => Object.keys(shapeOf(type))));
      if (!whole) expect([...fields].filter((k) => !keys.has(k)), `${t.table}: data fields with no column`).toEqual([]);
      expect([...keys].filter((k) => !fields.has(k)), `${t.table}: columns for fields no ${t.family} type has`).toEqual([]);
    }
  });

  it('leaves out of the INSERT only columns the database fills, and reads none of them back', () => {
    for (const t of tables) {
      const inserted = new Set(insertedColumns(t).map((c) => c.name));
      for (const c of t.columns.filter((x) => !inserted.has(x.name))) {
        expect(c.nullable || c.default !== undefined, `${t.table}.${c.name}: NOT NULL, no default, never inserted`).toBe(true);
        expect(c.wire, `${t.table}.${c.name}: read back but never written`).toBeUndefined();
      }
      expect(t.columns.map((c) => c.name)).toEqual(expect.arrayContaining([t.key, 'id', 'session_id', 'seq', 'type', 'at', 'player_id']));
      expect(new Set(t.columns.map((c) => c.name)).size, `${t.table}: a column declared twice`).toBe(t.columns.length);
    }
    expect(new Set(EVENT_TABLES).size).toBe(FAMILIES.length);
  });
});

describe('the migrated database', () => {
  it('has every table the registry names, and no event table it does not name', async () => {
    // An event table: a uuid id, a type and an occurrence time (what the INSERT and history need).
    const shaped = await rows<{ t: string }>(
      fx.orm,
      `SELECT table_name AS t FROM information_schema.columns WHERE table_schema = 'public'
       GROUP BY table_name
       HAVING bool_or(column_name = 'id' AND data_type = 'uuid') AND bool_or(column_name = 'type') AND bool_or(column_name = 'at')
       ORDER BY 1`,
    );
    expect(shaped.map((r) => r.t)).toEqual([...EVENT_TABLES].sort());
  });

  it.each(FAMILIES)('has the registry\'s columns, types, nullability, defaults, key and indexes for %s events', async (family) => {
    const t = FAMILY_TABLES[family];
    const db = await rows<ColumnFacts>(
      fx.orm,
      `SELECT column_name AS name, data_type AS type, is_nullable = 'YES' AS nullable, column_default AS default
       FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1`,
      [t.table],
    );
    expect(db.sort(byName)).toEqual(await registryColumns(t));
    const [pk] = await rows<{ cols: string[] }>(
      fx.orm,
      `SELECT array_agg(a.attname::text ORDER BY k.n) AS cols FROM pg_index i
       CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
       WHERE i.indrelid = $1::regclass AND i.indisprimary`,
      [t.table],
    );
    // ON CONFLICT (<key>, id) in the INSERT needs exactly this key.
    expect(pk!.cols).toEqual([t.key, 'id']);
    const indexes = (await rows<{ def: string }>(fx.orm, `SELECT indexdef AS def FROM pg_indexes WHERE schemaname = 'public' AND tablename = $1`, [t.table])).map((r) => r.def);
    // The history and sequence reads are range scans of (session_id, seq); the aggregates read by player.
    expect(indexes.filter((d) => d.endsWith('(session_id, seq)'))).toHaveLength(1);
    expect(indexes.filter((d) => d.endsWith('(player_id)'))).toHaveLength(t.playerIndex ? 1 : 0);
  });
});

describe('the MikroORM entities', () => {
  it.each(FAMILIES)('map %s events to the registry\'s table and columns', async (family) => {
    const t = FAMILY_TABLES[family];
    const meta = [...fx.orm.getMetadata().getAll().values()].find((m) => m.className === t.entity);
    expect(meta?.tableName).toBe(t.table);
    const props = Object.values(meta!.properties);
    const types = await canonicalTypes(props.map((p) => p.columnTypes[0]!));
    const entity = props
      .map((p) => ({ name: p.fieldNames[0]!, type: types.get(p.columnTypes[0]!)!, nullable: p.nullable ?? false, default: p.defaultRaw ?? null }))
      .sort(byName);
    expect(entity).toEqual(await registryColumns(t));
    expect(meta!.primaryKeys.map((k) => meta!.properties[k]!.fieldNames[0])).toEqual([t.key, 'id']);
  });

  it('are the only entities on event tables, and agree with the migrations', async () => {
    const onEventTables = [...fx.orm.getMetadata().getAll().values()].filter((m) => EVENT_TABLES.includes(m.tableName));
    expect(onEventTables.map((m) => m.className).sort()).toEqual(tables.map((t) => t.entity).sort());
    expect(await schemaDrifts(fx.orm)).toBe(false);
  });
});

// --- Round trip ----------------------------------------------------------------------------------

/** A field's JSON Schema without its `or null`. */
const unwrap = (s: Record<string, any>): Record<string, any> => (s.anyOf?.[1]?.type === 'null' ? s.anyOf[0] : s);
/** An id field: a string or an integer (the only `anyOf` besides `or null`). */
const isId = (f: Field) => Boolean(unwrap(f.schema()).anyOf);

/** A valid value for a field, from its JSON Schema: every kind the contract has. */
function sampleValue(key: string, s: Record<string, any>): unknown {
  const schema = unwrap(s);
  if (schema.anyOf) return `${key}-1`; // an id
  // The last accepted word: an alias where there is one (lose → loss), to check the stored form.
  if (schema.enum) return schema.enum[schema.enum.length - 1];
  switch (schema.type) {
    case 'string':
      return schema.format === 'date-time' ? '2030-01-02T03:04:05.678Z' : `${key} ✓`.slice(0, schema.maxLength);
    case 'integer':
      return Math.min(schema.maximum, Math.max(schema.minimum, 7));
    case 'number':
      return 2.5;
    case 'boolean':
      return true;
    case 'array':
      return ['p-1', 'p-2'];
    case 'object':
      return schema.additionalProperties ? { 'p-1': 3, 'p-2': 1.5 } : { nested: { a: [1, null, 'x'] }, n: null, s: 'é' };
    default:
      return [1, { b: null }, 'y'];
  }
}

/**
 * A type's sample data: every field, only the required ones, nullable fields null, and ids sent as
 * integers. A cross-field rule (turn.result: state or patch) is met by dropping one of the pair.
 */
function samples(type: EventType): Record<string, unknown>[] {
  const shape = shapeOf(type);
  const full: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(shape)) full[k] = sampleValue(k, f.schema());
  const without = (d: Record<string, unknown>, k: string) => Object.fromEntries(Object.entries(d).filter(([x]) => x !== k));
  const out = type === 'turn.result' ? [without(full, 'patch'), without(full, 'state')] : [full];
  const req = Object.fromEntries(Object.entries(full).filter(([k]) => !shape[k]!.optional));
  out.push(type === 'turn.result' ? { ...req, patch: { hp: null } } : req);
  const nullable = Object.keys(shape).filter((k) => shape[k]!.nullable);
  if (nullable.length) out.push({ ...full, ...Object.fromEntries(nullable.map((k) => [k, null])) });
  const ids = Object.keys(shape).filter((k) => isId(shape[k]!));
  if (ids.length) out.push({ ...full, ...Object.fromEntries(ids.map((k, i) => [k, 40 + i])) });
  return out;
}

/** Every event type in every sample form, in one session, consecutive seqs (join-queue events naming it too). */
function sampleEvents(sessionId: string): ValidEvent[] {
  const out: ValidEvent[] = [];
  for (const type of EVENT_TYPE_NAMES)
    for (const data of samples(type)) {
      const raw = { id: uuidv7(), type, sessionId, seq: out.length + 1, at: '2026-03-04T05:06:07.123456Z', data };
      let e: ValidEvent;
      try {
        e = validateEvent(raw);
      } catch (err) {
        // Some types need an acting player; the others are also sampled without one.
        if (!(err instanceof ContractError) || err.field !== 'player') throw err;
        e = validateEvent({ ...raw, player: 'p-1' });
      }
      const { bytes: _bytes, ...valid } = e as ValidEvent & { bytes?: number };
      out.push(valid);
    }
  // A game's own type: its free-form data, with and without a player.
  for (const player of [undefined, 'p-1']) {
    const raw = { id: uuidv7(), type: 'x.sample-game.choice', sessionId, seq: out.length + 1, at: '2026-03-04T05:06:07.123456Z', player, data: { nested: { a: [1, null, 'x'] }, n: null, s: 'é' } };
    const { bytes: _bytes, ...valid } = validateEvent(raw) as ValidEvent & { bytes?: number };
    out.push(valid);
  }
  return out;
}

/**
 * What a history read gives back for an event: what was sent (as validated), with the stored form of
 * its typed columns: a field the INSERT fills when absent (a default) appears, and a number sent in a
 * text column (an id) comes back as text. Timestamps inside `data` are compared as instants (below).
 */
function expectedHistory(e: ValidEvent): HistoryEvent {
  const data: Record<string, unknown> = { ...e.data };
  for (const c of insertedColumns(FAMILY_TABLES[e.family])) {
    const w = c.wire;
    if (!w || !('key' in w)) continue;
    const sent = e.data[w.key];
    if (sent === undefined) {
      const v = c.get(e, e.data);
      if (v !== null) data[w.key] = v;
    } else if (c.type === 'text' && typeof sent === 'number') data[w.key] = String(sent);
  }
  return { id: e.id, type: e.type, seq: e.seq!, at: e.at, player: e.player, data };
}

/** Timestamp-typed data fields (read back in PostgreSQL's rendering) as epoch milliseconds. */
function instants(h: HistoryEvent, family: Family): HistoryEvent {
  const data = { ...h.data };
  for (const c of FAMILY_TABLES[family].columns)
    if (c.type === 'timestamptz' && c.wire && 'key' in c.wire && typeof data[c.wire.key] === 'string') data[c.wire.key] = Date.parse(data[c.wire.key] as string);
  return { ...h, data };
}

describe('an event of every type, inserted and read back', () => {
  // The write path's two shapes: COPY text (the fast one) and the INSERT it falls back to.
  it.each(['copy', 'insert'] as const)('through %s, comes back from replay, the recovery tail and the multi-session tails as it was sent', async (via) => {
    const sid = `families-${via}-${uuidv7()}`;
    const events = sampleEvents(sid);
    expect(new Set(events.map((e) => e.family))).toEqual(new Set(FAMILIES));
    await transaction(fx.orm, async (q, copy) => {
      for (const f of FAMILIES) {
        const list = events.filter((e) => e.family === f);
        if (via === 'copy') expect(await copy(COPY_SQL[f], familyCopyText(f, list))).toBe(list.length);
        else {
          const inserted = await q<{ id: string }>(INSERT_SQL[f], [familyRowsJson(f, list)]);
          expect(inserted.map((r) => r.id).sort()).toEqual(list.map((e) => e.id).sort());
        }
      }
    });
    const family = new Map(events.map((e) => [e.id, e.family]));
    const norm = (h: HistoryEvent) => instants({ id: h.id, type: h.type, seq: Number(h.seq), at: h.at, player: h.player, data: h.data }, family.get(h.id)!);
    const want = events.map((e) => norm(expectedHistory(e)));

    const replayed: HistoryEvent[] = [];
    for await (const h of replay(fx.orm, sid, { pageSize: 7 })) replayed.push(h);
    expect(replayed.map(norm)).toEqual(want);

    const reader = ormReader(fx.orm);
    expect((await reader.read<HistoryEvent>(RECOVERY_TAIL_SQL, [sid, 10_000])).map(norm)).toEqual(want);
    const tails = await reader.read<HistoryEvent & { session_id: string }>(TAILS_SQL, [JSON.stringify([{ session_id: sid, after: 0 }]), 10_000]);
    expect(tails.map(({ session_id: _s, ...h }) => norm(h))).toEqual(want);

    // Verify and rebuild derive sessions and participants from the same wire form.
    const derived = await query<HistoryEvent & { session_id: string; family: Family }>(fx.orm.em.fork(), DERIVATION_EVENTS_SQL, [[sid]]);
    expect(derived.map(({ session_id: _s, family: f, ...h }) => ({ f, h: norm(h) })).sort((a, b) => a.h.seq - b.h.seq)).toEqual(
      events.filter((e) => e.family === 'session' || e.family === 'participant').map((e) => ({ f: e.family, h: norm(expectedHistory(e)) })),
    );
  });
});

describe('the SQL statements', () => {
  it('of src/db/sql all prepare against the migrated schema: every table and column they name exists', async () => {
    const dir = new URL('../../../src/db/sql/', import.meta.url);
    const statements: [string, string][] = [];
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts')).sort()) {
      const mod: Record<string, unknown> = await import(new URL(file, dir).href);
      for (const [name, v] of Object.entries(mod)) {
        // Statements are exported as strings, lists of strings (run in order) or records (one per family).
        const list = typeof v === 'string' ? [[name, v]] : v && typeof v === 'object' ? Object.entries(v).map(([k, x]) => [`${name}.${k}`, x]) : [];
        for (const [n, sql] of list) if (typeof sql === 'string' && /^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b/i.test(sql)) statements.push([`${file} ${n}`, sql]);
      }
    }
    expect(statements.map(([n]) => n)).toEqual(expect.arrayContaining(FAMILIES.map((f) => `insert-events.ts INSERT_SQL.${f}`)));
    const c = new pg.Client({ connectionString: fx.db.url });
    await c.connect();
    const failed: string[] = [];
    try {
      // PREPARE parses and plans without running: an unknown table or column is an error here.
      for (const [name, sql] of statements) {
        try {
          await c.query(`PREPARE gp_check AS ${sql}`);
          await c.query('DEALLOCATE gp_check');
        } catch (e) {
          failed.push(`${name}: ${(e as Error).message}`);
        }
      }
    } finally {
      await c.end();
    }
    expect(failed).toEqual([]);
  });
});
