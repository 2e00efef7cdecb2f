/**
 * The insert itself, five ways, on batches like the worker's (5000 moves each, into a table like
 * `moves` with its two indexes), each in its own transaction on one connection, alternating methods
 * round by round: rows/s per method. What the write path's shape was chosen from (README, Performance).
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { uuidv7 } from '../src/contract/ids.ts';
import { round } from './lib.ts';

const { values: args } = parseArgs({ options: { batches: { type: 'string', default: '20' }, rows: { type: 'string', default: '5000' }, rounds: { type: 'string', default: '3' } } });
const ADMIN = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = `gp_bench_shapes_${process.pid}`;
const dbUrl = Object.assign(new URL(ADMIN), { pathname: `/${dbName}` }).toString();
const ROWS = Number(args.rows);
const BATCHES = Number(args.batches);

interface Row { s: string; id: string; seq: number; at: string; p: string; action: string; round: number; turn: number; data: string }
function batch(b: number): Row[] {
  const at = new Date().toISOString();
  return Array.from({ length: ROWS }, (_, k) => {
    const i = b * ROWS + k;
    const seq = Math.floor(i / 1000) + 1;
    return { s: `s-${i % 1000}`, id: uuidv7(), seq, at, p: `player-${i % 4000}`, action: 'play_card', round: seq >> 4, turn: seq & 15, data: JSON.stringify({ card: { suit: 'hearts', rank: 'K' } }) };
  });
}
const COLS = 'session_id, id, seq, type, at, player_id, action, round, turn, data';
const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
const copyText = (rows: Row[]) => rows.map((r) => `${r.s}\t${r.id}\t${r.seq}\tmove\t${r.at}\t${r.p}\t${r.action}\t${r.round}\t${r.turn}\t${esc(r.data)}\n`).join('');
async function copy(c: pg.Client, table: string, text: string) {
  await new Promise<void>((resolve, reject) => {
    const s = c.query(copyFrom(`COPY ${table} (${COLS}) FROM STDIN`));
    s.on('finish', () => resolve());
    s.on('error', reject);
    s.end(text);
  });
}

const methods: Record<string, (c: pg.Client, t: string, rows: Row[]) => Promise<unknown>> = {
  json_to_recordset: (c, t, rows) =>
    c.query(
      `INSERT INTO ${t} (${COLS}) SELECT session_id, id, seq, 'move', at, player_id, action, round, turn, data FROM json_to_recordset($1::json) AS x(session_id text, id uuid, seq bigint, at timestamptz, player_id text, action text, round int, turn int, data jsonb) ON CONFLICT (session_id, id) DO NOTHING RETURNING id`,
      [JSON.stringify(rows.map((r) => ({ session_id: r.s, id: r.id, seq: r.seq, at: r.at, player_id: r.p, action: r.action, round: r.round, turn: r.turn, data: JSON.parse(r.data) })))],
    ),
  unnest: (c, t, rows) =>
    c.query(
      `INSERT INTO ${t} (${COLS}) SELECT s, i, q, 'move', a, p, ac, r, tu, d FROM unnest($1::text[], $2::uuid[], $3::bigint[], $4::timestamptz[], $5::text[], $6::text[], $7::int[], $8::int[], $9::jsonb[]) AS x(s, i, q, a, p, ac, r, tu, d) ON CONFLICT (session_id, id) DO NOTHING RETURNING id`,
      [rows.map((r) => r.s), rows.map((r) => r.id), rows.map((r) => r.seq), rows.map((r) => r.at), rows.map((r) => r.p), rows.map((r) => r.action), rows.map((r) => r.round), rows.map((r) => r.turn), rows.map((r) => r.data)],
    ),
  copy_staging: async (c, t, rows) => {
    await c.query(`CREATE TEMP TABLE IF NOT EXISTS stage_moves (LIKE moves INCLUDING DEFAULTS) ON COMMIT DELETE ROWS`);
    await copy(c, 'stage_moves', copyText(rows));
    return c.query(`INSERT INTO ${t} (${COLS}) SELECT ${COLS} FROM stage_moves ON CONFLICT (session_id, id) DO NOTHING RETURNING id`);
  },
  copy_savepoint: async (c, t, rows) => {
    await c.query('SAVEPOINT copy_rows');
    await copy(c, t, copyText(rows));
    await c.query('RELEASE SAVEPOINT copy_rows');
  },
  copy_plain: (c, t, rows) => copy(c, t, copyText(rows)),
};

async function main() {
  const admin = new pg.Client({ connectionString: ADMIN });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  await c.query(`CREATE TABLE moves (session_id text NOT NULL, id uuid NOT NULL, seq bigint NOT NULL, type text NOT NULL, at timestamptz NOT NULL, player_id text, recorded_at timestamptz NOT NULL DEFAULT now(), action text NOT NULL, round int, turn int, data jsonb, PRIMARY KEY (session_id, id))`);
  await c.query('CREATE INDEX ON moves (session_id, seq)');
  const rates: Record<string, number[]> = {};
  try {
    for (let r = 0; r < Number(args.rounds); r++)
      for (const [name, fn] of Object.entries(methods)) {
        const t = `m_${name}`;
        await c.query(`DROP TABLE IF EXISTS ${t}`);
        await c.query(`CREATE TABLE ${t} (LIKE moves INCLUDING ALL)`);
        const data = Array.from({ length: BATCHES }, (_, b) => batch(b));
        const t0 = performance.now();
        for (const rows of data) {
          await c.query('BEGIN');
          await fn(c, t, rows);
          await c.query('COMMIT');
        }
        (rates[name] ??= []).push((ROWS * BATCHES) / ((performance.now() - t0) / 1000));
        await c.query(`DROP TABLE ${t}`);
      }
  } finally {
    await c.end();
    await admin.query(`DROP DATABASE ${dbName} WITH (FORCE)`);
    await admin.end();
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const base = med(rates.copy_plain as number[]);
  for (const [k, v] of Object.entries(rates)) console.log(`${k.padEnd(20)} ${String(Math.round(med(v))).padStart(8)} rows/s  ${round(med(v) / base, 3)} of plain COPY  (${v.map((x) => Math.round(x)).join(', ')})`);
  console.log(JSON.stringify(Object.fromEntries(Object.entries(rates).map(([k, v]) => [k, Math.round(med(v))]))));
}
await main();
