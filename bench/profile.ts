/**
 * npm run bench:profile — where an event's time goes, in µs per event, step by step:
 *   - sdk: the producer's CPU per event (validation, batching, BullMQ's job JSON), emitting to Redis;
 *   - redis: Redis's own CPU per event (INFO cpu), adding the jobs;
 *   - parse: the worker's JSON.parse of the job text and parseJob (validation), per event;
 *   - write: writeBatch in this process on batches like the worker's, every SQL statement timed by
 *     name (the exported constant of src/db/sql/ that holds its text) from send to reply, the rest of
 *     the transaction being the worker's own JavaScript (serialising rows, deriving, merging);
 *   - fold: foldStatDeltas after the writes (aggregates on).
 * With --explain, one batch in the middle of the run also runs each statement first under
 * EXPLAIN (ANALYZE, WAL, BUFFERS) inside a savepoint rolled back: execution time, WAL records and
 * bytes, and shared buffers per statement, per event.
 *
 * --mix moves (moves of 1000 sessions, like bench:ingest) or game (rooms of 4 players: created, joins,
 * six rounds of move/chat/task/vote per player and a turn result, outcomes, finished; like
 * bench:analytics's drain). --events N (default 100000), --batch N (rows per batch, default
 * GP_BATCH_ROWS's default), --aggregates false.
 */
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import { uuidv7 } from '../src/contract/ids.ts';
import { validateEvent, type CheckedEvent } from '../src/contract/validate.ts';
import { DEFAULT_LIMITS } from '../src/contract/limits.ts';
import { ensureDatabase, migrateUp } from '../src/db/migrate.ts';
import { openOrm } from '../src/db/orm.ts';
import { aggregateOptions, foldStatDeltas } from '../src/aggregates/write.ts';
import { createProducer } from '../src/producers/index.ts';
import { deletePrefix } from '../src/redis.ts';
import { parseJob } from '../src/workers/parse-job.ts';
import { writeBatch } from '../src/workers/write-batch.ts';
import { Redis } from 'ioredis';
import { dropDatabase, round } from './lib.ts';

const { values: args } = parseArgs({
  options: {
    mix: { type: 'string', default: 'moves' },
    events: { type: 'string', default: '100000' },
    batch: { type: 'string' },
    aggregates: { type: 'string', default: 'true' },
    explain: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const N = Number(args.events);
const cfg0 = loadConfig({});
const BATCH = Number(args.batch ?? cfg0.batchRows);
const AGG = args.aggregates !== 'false';
const ADMIN = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const dbName = `gp_bench_profile_${process.pid}`;
const dbUrl = Object.assign(new URL(ADMIN), { pathname: `/${dbName}` }).toString();
const log = (s: string) => process.stderr.write(`${s}\n`);

type Wire = Record<string, unknown> & { type: string; sessionId: string; seq: number };

/** Moves of 1000 sessions, card data: bench:ingest's rows. */
function movesMix(n: number): Wire[] {
  const at = new Date().toISOString();
  const suits = ['hearts', 'spades', 'clubs', 'diamonds'];
  return Array.from({ length: n }, (_, i) => {
    const seq = Math.floor(i / 1000) + 1;
    return { id: uuidv7(), type: 'move', sessionId: `s-${i % 1000}`, seq, at, player: `player-${i % 4000}`, data: { action: 'play_card', round: seq >> 4, turn: seq & 15, data: { card: { suit: suits[i % 4], rank: 'K' } } } };
  });
}

/** bench:analytics's game mix: rooms of 4 players, 200 interleaved at a time. */
function gameMix(n: number): Wire[] {
  const out: Wire[] = [];
  const at = new Date().toISOString();
  const seqs = new Map<string, number>();
  const ev = (type: string, sessionId: string, player: string | null, data: Record<string, unknown>) => {
    const seq = (seqs.get(sessionId) ?? 0) + 1;
    seqs.set(sessionId, seq);
    out.push({ id: uuidv7(), type, sessionId, seq, at, ...(player ? { player } : {}), data });
  };
  const games = ['impostor', 'hokm', 'liap-tui'];
  for (let first = 0; out.length < n; first += 200) {
    const group = Array.from({ length: 200 }, (_, i) => {
      const r = first + i;
      return { r, sessionId: `g-${r}`, players: [0, 1, 2, 3].map((k) => `p${(r * 4 + k * 7919) % 200000}`) };
    });
    for (const { r, sessionId, players } of group) {
      ev('session.created', sessionId, null, { gameType: games[r % 3], tenant: `chat-${r % 1000}` });
      for (const p of players) ev('player.joined', sessionId, p, {});
    }
    for (let round = 0; round < 6; round++)
      for (const { sessionId, players } of group) {
        for (const p of players) {
          ev('move', sessionId, p, { action: 'step', turn: round });
          ev('chat.message', sessionId, p, { text: 'I saw them vent', channel: 'discussion', round });
          ev('task.completed', sessionId, p, { taskType: 'wires', xp: 5 });
          ev('vote', sessionId, p, { target: players[0], round });
        }
        ev('turn.result', sessionId, null, { turn: round, patch: { round } });
      }
    for (const { sessionId, players } of group) {
      players.forEach((p, i) => ev('player.outcome', sessionId, p, { outcome: i % 2 ? 'loss' : 'win', xp: 20 }));
      ev('session.finished', sessionId, null, {});
    }
  }
  return out.slice(0, n);
}

/** SQL text -> the name of the exported constant (or function result) of src/db/sql/ that holds it. */
async function statementNames(): Promise<Map<string, string>> {
  const { readdirSync } = await import('node:fs');
  const names = new Map<string, string>();
  const dir = new URL('../src/db/sql/', import.meta.url);
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.ts')) continue;
    const m = (await import(new URL(f, dir).href)) as Record<string, unknown>;
    for (const [k, v] of Object.entries(m)) {
      if (typeof v === 'string') names.set(v, k);
      else if (v && typeof v === 'object') for (const [kk, vv] of Object.entries(v)) if (typeof vv === 'string') names.set(vv, `${k}.${kk}`);
    }
  }
  return names;
}

interface Tally {
  calls: number;
  ms: number;
  explain?: { ms: number; walRecords: number; walBytes: number; hit: number; read: number; dirtied: number; rows: number };
}

async function main() {
  const names = await statementNames();
  const label = (sql: string) => names.get(sql) ?? (sql.length < 40 ? sql : `${sql.replace(/\s+/g, ' ').slice(0, 60)}…`);
  const tallies = new Map<string, Tally>();
  let explainNow = false;
  // Every query of this process, timed from send to reply, by statement.
  // MikroORM may resolve its own copy of pg (a nested node_modules): patch the one its pool uses.
  const ormPg = createRequire(createRequire(import.meta.url).resolve('@mikro-orm/postgresql'))('pg') as typeof pg;
  const proto = ormPg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function (this: pg.Client, ...a: unknown[]) {
    const sql = typeof a[0] === 'string' ? a[0] : (a[0] as { text?: string })?.text;
    if (typeof sql !== 'string' || typeof a[a.length - 1] === 'function') return original.apply(this, a);
    const stream = a[0] as { submit?: unknown; on?: (ev: string, f: () => void) => void };
    if (typeof stream.submit === 'function') {
      // A COPY stream: timed from its submission to its end.
      const t = tallies.get(label(sql)) ?? { calls: 0, ms: 0 };
      tallies.set(label(sql), t);
      const t0 = performance.now();
      const timed = !explainNow;
      stream.on?.('finish', () => {
        if (!timed) return;
        t.calls++;
        t.ms += performance.now() - t0;
      });
      return original.apply(this, a);
    }
    const name = label(sql);
    const t = tallies.get(name) ?? { calls: 0, ms: 0 };
    tallies.set(name, t);
    const run = async () => {
      if (explainNow && /^\s*(INSERT|UPDATE|DELETE|SELECT|WITH)/i.test(sql)) {
        const params = (Array.isArray(a[1]) ? a[1] : []) as unknown[];
        await original.call(this, 'SAVEPOINT gp_profile');
        const r = (await original.call(this, `EXPLAIN (ANALYZE, WAL, BUFFERS, FORMAT JSON) ${sql}`, params)) as pg.QueryResult;
        await original.call(this, 'ROLLBACK TO SAVEPOINT gp_profile');
        const plan = (r.rows[0] as Record<string, any>)['QUERY PLAN'][0];
        const top = plan.Plan;
        const e = (t.explain ??= { ms: 0, walRecords: 0, walBytes: 0, hit: 0, read: 0, dirtied: 0, rows: 0 });
        e.ms += plan['Execution Time'] + plan['Planning Time'];
        e.walRecords += top['WAL Records'] ?? 0;
        e.walBytes += top['WAL Bytes'] ?? 0;
        e.hit += top['Shared Hit Blocks'] ?? 0;
        e.read += top['Shared Read Blocks'] ?? 0;
        e.dirtied += top['Shared Dirtied Blocks'] ?? 0;
        e.rows += top['Actual Rows'] ?? 0;
      }
      const t0 = performance.now();
      const timed = !explainNow;
      try {
        return await (original.apply(this, a) as Promise<unknown>);
      } finally {
        // The explained batch's own statements ran after their EXPLAIN warmed the pages: not counted.
        if (timed) {
          t.calls++;
          t.ms += performance.now() - t0;
        }
      }
    };
    return run();
  };

  const events = args.mix === 'game' ? gameMix(N) : movesMix(N);
  log(`mix ${args.mix}: ${events.length} events, batches of ${BATCH} rows, aggregates ${AGG ? 'on' : 'off'}`);
  await ensureDatabase(dbUrl);
  const orm = await openOrm({ databaseUrl: dbUrl, poolMax: 2 });
  await migrateUp(orm, dbUrl);

  // The SDK and Redis: emit every event through a producer to a scratch queue.
  const prefix = `gpprofile${process.pid}`;
  const redis = new Redis(REDIS_URL);
  const redisCpu = async () => {
    const info = await redis.info('cpu');
    return Number(/used_cpu_user:([\d.]+)/.exec(info)![1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)![1]);
  };
  const p = createProducer({ connection: REDIS_URL, prefix });
  await p.emit({ type: 'move', sessionId: 'warm', seq: 1, player: 'p', data: { action: 'a' } });
  const cpu0 = process.cpuUsage();
  const r0 = await redisCpu();
  const w0 = performance.now();
  const window: Promise<unknown>[] = [];
  for (const e of events) {
    window.push(p.emit(e as never));
    if (window.length >= 10_000) await Promise.all(window.splice(0));
  }
  await Promise.all(window);
  const sdkWallUs = ((performance.now() - w0) * 1000) / events.length;
  const cpu = process.cpuUsage(cpu0);
  const sdkUs = (cpu.user + cpu.system) / events.length;
  const redisUs = (((await redisCpu()) - r0) * 1e6) / events.length;
  // The jobs as the worker gets them: their data's JSON text, parsed and checked.
  const keys = await redis.keys(`${prefix}:*`);
  const jobTexts: string[] = [];
  for (const k of keys) {
    if ((await redis.type(k)) !== 'hash') continue;
    const d = await redis.hget(k, 'data');
    if (d && d.includes('"events"')) jobTexts.push(d);
  }
  await p.close();
  await deletePrefix(REDIS_URL, prefix);
  redis.disconnect();
  let parsedEvents = 0;
  const t1 = performance.now();
  for (const text of jobTexts) parsedEvents += parseJob(JSON.parse(text), DEFAULT_LIMITS, 'events', null).events.length;
  const parseUs = ((performance.now() - t1) * 1000) / Math.max(1, parsedEvents);

  // The write path: batches like the worker's, in order.
  const checked: CheckedEvent[] = events.map((e) => validateEvent(e));
  const opts = { retries: 3, queue: 'events', aggregates: AGG ? aggregateOptions(cfg0) : undefined };
  tallies.clear();
  const batches = Math.ceil(checked.length / BATCH);
  let writeMs = 0;
  for (let b = 0; b < batches; b++) {
    explainNow = args.explain && b === Math.floor(batches / 2);
    const t0 = performance.now();
    await writeBatch(orm, checked.slice(b * BATCH, (b + 1) * BATCH), [], opts);
    if (!explainNow) writeMs += performance.now() - t0;
    explainNow = false;
  }
  const writeTallies = new Map(tallies);
  tallies.clear();
  const f0 = performance.now();
  if (AGG) await foldStatDeltas(orm, cfg0.winRateMinGames, { timeZone: cfg0.statsTimeZone });
  const foldMs = performance.now() - f0;
  const foldTallies = new Map(tallies);
  await orm.close();
  await dropDatabase(ADMIN, dbName);
  proto.query = original;

  const perEvent = (ms: number) => round((ms * 1000) / events.length, 1);
  const explainBatch = args.explain ? Math.min(BATCH, events.length - Math.floor(batches / 2) * BATCH) : 1;
  const sqlRows: [string, number, number, Tally['explain']][] = [...writeTallies].map(([k, t]) => [k, t.calls, t.ms, t.explain]);
  const sqlMs = sqlRows.filter(([k]) => !/^(BEGIN|COMMIT|ROLLBACK|SAVEPOINT)/i.test(k)).reduce((s, r) => s + r[2], 0);
  const txMs = sqlRows.filter(([k]) => /^(BEGIN|COMMIT)/i.test(k)).reduce((s, r) => s + r[2], 0);
  const lines: string[] = [];
  const row = (what: string, us: number, extra = '') => lines.push(`${what.padEnd(46)} ${String(round(us, 1)).padStart(8)} µs${extra}`);
  row('sdk: producer CPU per event', sdkUs, `  (wall ${round(sdkWallUs, 1)} µs)`);
  row('redis: server CPU per event (adding jobs)', redisUs);
  row('worker: JSON.parse + parseJob (validate)', parseUs);
  row('worker: write transaction, total', perEvent(writeMs));
  for (const [k, calls, ms, ex] of sqlRows.sort((a, b) => b[2] - a[2])) {
    const e = ex ? `  explain: exec ${round((ex.ms * 1000) / explainBatch, 1)} µs, ${round(ex.walRecords / explainBatch, 2)} WAL rec (${round(ex.walBytes / explainBatch)} B), hit ${round(ex.hit / explainBatch, 1)} dirtied ${round(ex.dirtied / explainBatch, 2)}` : '';
    row(`  sql ${k.slice(0, 40)} ×${calls}`, perEvent(ms), e);
  }
  row('  worker JavaScript in the transaction', perEvent(writeMs - sqlMs - txMs));
  if (AGG) {
    row('fold: foldStatDeltas after the writes', perEvent(foldMs));
    for (const [k, t] of [...foldTallies].sort((a, b) => b[1].ms - a[1].ms).slice(0, 6)) row(`  sql ${k.slice(0, 40)} ×${t.calls}`, perEvent(t.ms));
  }
  console.log(lines.join('\n'));
  console.log(
    JSON.stringify({
      mix: args.mix, events: events.length, batch: BATCH, aggregates: AGG,
      sdk_us: round(sdkUs, 1), redis_us: round(redisUs, 1), parse_us: round(parseUs, 1), write_us: perEvent(writeMs), sql_us: perEvent(sqlMs), commit_us: perEvent(txMs), js_us: perEvent(writeMs - sqlMs - txMs), fold_us: perEvent(foldMs),
      statements: Object.fromEntries(sqlRows.map(([k, _c, ms]) => [k, perEvent(ms)])),
    }),
  );
}

await main();
