/**
 * npm run bench:ingest — the same move rows written three ways in one run:
 *   1. raw COPY into a scratch table shaped like `moves` (the ceiling),
 *   2. the naive way of the seed documents: one INSERT and commit per event over 10 connections,
 *   3. the whole pipeline: SDK -> BullMQ -> worker process(es) -> PostgreSQL, at saturation, then at
 *      half that rate for emit-to-commit latency;
 *   4. the same pipeline at saturation on BullMQ's PostgreSQL backend (GP_QUEUE_BACKEND=postgres: the
 *      queue and sequence counters in the same database, no Redis), right after 3, so the two are
 *      compared on the same machine in the same minute (`pg_backend_ratio_vs_redis`).
 * Prints a table, then one JSON line. Options: --events N (pipeline and COPY rows, default 200000),
 * --pg-events N (the PostgreSQL backend's run, default --events), --naive N (default 20000),
 * --workers N (worker processes, default 1), --half-seconds N (default 10).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { uuidv7 } from '../src/contract/ids.ts';
import { ensureDatabase, migrateUp } from '../src/db/migrate.ts';
import { migrateJobs } from '../src/jobs/install.ts';
import { JOBS_SCHEMA } from '../src/jobs/boss.ts';
import { openOrm } from '../src/db/orm.ts';
import { createProducer, type Producer } from '../src/producers/index.ts';
import { deletePrefix } from '../src/redis.ts';
import type { QueueBackend } from '../src/queue/backend-names.ts';
import { dropPostgresQueue, migrateQueueSchema } from '../src/queue/backend.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    'pg-events': { type: 'string' },
    naive: { type: 'string', default: '20000' },
    workers: { type: 'string', default: '1' },
    'half-seconds': { type: 'string', default: '10' },
  },
});
const N = Number(args.events);
const PG_N = Number(args['pg-events'] ?? args.events);
const NAIVE = Number(args.naive);
const WORKERS = Number(args.workers);
const HALF_SECONDS = Number(args['half-seconds']);

const ADMIN = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const dbName = `gp_bench_${process.pid}`;
const dbUrl = Object.assign(new URL(ADMIN), { pathname: `/${dbName}` }).toString();
const CLI = fileURLToPath(new URL('../bin/game-persist.js', import.meta.url));
const log = (s: string) => process.stderr.write(`${s}\n`);

interface Row {
  sessionId: string;
  id: string;
  seq: number;
  at: string;
  player: string;
  action: string;
  round: number;
  turn: number;
  data: { card: { suit: string; rank: string } };
}

const SUITS = ['hearts', 'spades', 'clubs', 'diamonds'];
const RANKS = ['A', 'K', 'Q', 'J', '10', '9'];

/** Row i of a run: moves of 1000 sessions (seq = i / 1000 + 1), 4000 players, card data. */
function makeRow(i: number, tag: string, at: string): Row {
  const seq = Math.floor(i / 1000) + 1;
  return { sessionId: `${tag}-${i % 1000}`, id: uuidv7(), seq, at, player: `player-${i % 4000}`, action: 'play_card', round: seq >> 4, turn: seq & 15, data: { card: { suit: SUITS[i % 4], rank: RANKS[i % 6] } } };
}

/** The rows every method writes. The pipeline phases make them one by one as they emit instead, so
 * the producer's process does not carry (and garbage-collect) a heap of rows it is not sending. */
function makeRows(n: number, tag: string): Row[] {
  const at = new Date().toISOString();
  return Array.from({ length: n }, (_, i) => makeRow(i, tag, at));
}

async function client(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  return c;
}

const COLS = 'session_id, id, seq, type, at, player_id, action, round, turn, data';

/** COPY is the reference, and it varies run to run by ±20% here: take the median of three runs. */
async function benchCopy(rows: Row[]): Promise<number> {
  const rates: number[] = [];
  for (let i = 0; i < 3; i++) rates.push(await copyOnce(rows, `bench_copy_${i}`));
  return rates.sort((a, b) => a - b)[1];
}

async function copyOnce(rows: Row[], table: string): Promise<number> {
  const c = await client();
  try {
    await c.query(`CREATE TABLE ${table} (LIKE moves INCLUDING ALL)`);
    const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n');
    const text = rows.map((r) => `${r.sessionId}\t${r.id}\t${r.seq}\tmove\t${r.at}\t${r.player}\t${r.action}\t${r.round}\t${r.turn}\t${esc(JSON.stringify(r.data))}\n`).join('');
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const stream = c.query(copyFrom(`COPY ${table} (${COLS}) FROM STDIN`));
      stream.on('finish', () => resolve());
      stream.on('error', reject);
      stream.end(text);
    });
    const rate = rows.length / ((performance.now() - t0) / 1000);
    await c.query(`DROP TABLE ${table}`);
    return rate;
  } finally {
    await c.end();
  }
}

async function benchNaive(rows: Row[]): Promise<number> {
  const setup = await client();
  await setup.query('CREATE TABLE bench_naive (LIKE moves INCLUDING ALL)');
  await setup.end();
  const pool = new pg.Pool({ connectionString: dbUrl, max: 10 });
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      for (let i = next++; i < rows.length; i = next++) {
        const r = rows[i];
        await pool.query(`INSERT INTO bench_naive (${COLS}) VALUES ($1, $2, $3, 'move', $4, $5, $6, $7, $8, $9)`, [r.sessionId, r.id, r.seq, r.at, r.player, r.action, r.round, r.turn, JSON.stringify(r.data)]);
      }
    }),
  );
  const rate = rows.length / ((performance.now() - t0) / 1000);
  await pool.end();
  return rate;
}

interface Worker {
  child: ChildProcess;
  logs: Record<string, any>[];
}

function startWorkers(prefix: string, n: number, backend: QueueBackend = 'redis'): Promise<Worker[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const child = spawn(process.execPath, [CLI, 'worker'], {
        // BENCH_WORKER_NODE_OPTIONS (e.g. --cpu-prof) goes to the workers only.
        env: { ...process.env, DATABASE_URL: dbUrl, REDIS_URL, GP_QUEUE_BACKEND: backend, GP_QUEUE_PREFIX: prefix, GP_LOG_LEVEL: process.env.BENCH_WORKER_LOG_LEVEL ?? 'info', GP_METRICS_PORT: '0', NODE_OPTIONS: process.env.BENCH_WORKER_NODE_OPTIONS ?? '' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      const w: Worker = { child, logs: [] };
      let buf = '';
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (d: string) => {
        buf += d;
        for (let i; (i = buf.indexOf('\n')) >= 0; buf = buf.slice(i + 1)) {
          try {
            w.logs.push(JSON.parse(buf.slice(0, i)));
          } catch {
            log(buf.slice(0, i));
          }
        }
      });
      while (!w.logs.some((l) => l.msg === 'worker started')) {
        if (child.exitCode !== null) throw new Error(`worker exited: ${JSON.stringify(w.logs)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return w;
    }),
  );
}

/** Peak resident set of a process, from /proc (VmHWM), in MB. */
function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function stopWorkers(ws: Worker[]): Promise<{ rssMb: number; stopped: Record<string, any>[] }> {
  const rssMb = Math.max(...ws.map((w) => peakRssMb(w.child.pid!)));
  await Promise.all(
    ws.map(
      (w) =>
        new Promise<void>((resolve) => {
          w.child.on('exit', () => resolve());
          w.child.kill('SIGTERM');
        }),
    ),
  );
  return { rssMb, stopped: ws.map((w) => w.logs.find((l) => l.msg === 'worker stopped') ?? {}) };
}

async function storedCount(c: pg.Client, tag: string): Promise<number> {
  const { rows } = await c.query('SELECT coalesce(sum(event_count), 0)::bigint AS n FROM sessions WHERE id LIKE $1', [`${tag}-%`]);
  return Number(rows[0].n);
}

function emitRow(p: Producer, r: Row) {
  return p.move({ sessionId: r.sessionId, id: r.id, seq: r.seq, at: r.at, player: r.player, action: r.action, round: r.round, turn: r.turn, data: r.data });
}

/** Emits n generated rows as fast as the producer's bounded buffer allows. */
async function emitAll(p: Producer, n: number, tag: string): Promise<void> {
  const at = new Date().toISOString();
  const window: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    window.push(emitRow(p, makeRow(i, tag, at)));
    if (window.length >= 10_000) await Promise.all(window.splice(0));
  }
  await Promise.all(window);
}

async function waitStored(c: pg.Client, tag: string, n: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while ((await storedCount(c, tag)) < n) {
    if (Date.now() > until) throw new Error(`only ${await storedCount(c, tag)} of ${n} events stored after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * SDK and worker(s) at saturation. `postgres`: on BullMQ's PostgreSQL backend, its queue schema made
 * first (what `game-persist migrate` does) and dropped after.
 */
async function benchPipeline(n: number, tag: string, backend: QueueBackend = 'redis'): Promise<{ eventsPerS: number; rssMb: number; batches: number }> {
  const prefix = `gpbench${process.pid}${tag}`;
  if (backend === 'postgres') await migrateQueueSchema(dbUrl, prefix);
  const ws = await startWorkers(prefix, WORKERS, backend);
  const p = createProducer({ connection: backend === 'postgres' ? dbUrl : REDIS_URL, prefix });
  const c = await client();
  try {
    const t0 = performance.now();
    await emitAll(p, n, tag);
    await waitStored(c, tag, n, 300_000);
    const eventsPerS = n / ((performance.now() - t0) / 1000);
    const { rssMb, stopped } = await stopWorkers(ws);
    return { eventsPerS, rssMb, batches: stopped.reduce((n, s) => n + (s.batches ?? 0), 0) };
  } finally {
    await p.close();
    await c.end();
    if (backend === 'postgres') await dropPostgresQueue(dbUrl, prefix);
    else await dropPrefix(prefix);
  }
}

/**
 * The workers' own capacity: the queue is filled first (no worker running), then workers drain it.
 * In production the producer runs on the game servers' CPUs; here it shares the same two cores.
 */
async function benchDrain(n: number, tag: string): Promise<number> {
  const prefix = `gpbench${process.pid}${tag}`;
  const p = createProducer({ connection: REDIS_URL, prefix });
  const c = await client();
  try {
    await emitAll(p, n, tag);
    const t0 = performance.now();
    const ws = await startWorkers(prefix, WORKERS);
    await waitStored(c, tag, n, 300_000);
    const rate = n / ((performance.now() - t0) / 1000);
    await stopWorkers(ws);
    return rate;
  } finally {
    await p.close();
    await c.end();
    await dropPrefix(prefix);
  }
}

async function benchHalfLoad(rate: number, tag: string): Promise<{ p50: number; p99: number; rssMb: number; events: number }> {
  const prefix = `gpbench${process.pid}${tag}`;
  const total = Math.round(rate * HALF_SECONDS);
  const ws = await startWorkers(prefix, WORKERS);
  const p = createProducer({ connection: REDIS_URL, prefix });
  const c = await client();
  try {
    const t0 = performance.now();
    const sent: Promise<unknown>[] = [];
    let i = 0;
    while (i < total) {
      // Emit what the schedule says is due, then yield: a steady rate, not bursts.
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
      for (; i < due; i++) sent.push(emitRow(p, makeRow(i, tag, new Date().toISOString())));
      await new Promise((r) => setTimeout(r, 2));
    }
    await Promise.all(sent);
    await waitStored(c, tag, total, 120_000);
    const { rssMb, stopped } = await stopWorkers(ws);
    // BENCH_WORKER_LOG_LEVEL=debug: each batch's rows and milliseconds, to see what the latency is made of.
    const batches = ws.flatMap((w) => w.logs.filter((l) => l.msg === 'batch committed'));
    if (batches.length) {
      const ms = batches.map((b) => b.ms as number).sort((a, b) => a - b);
      const rows = batches.map((b) => b.rows as number).sort((a, b) => a - b);
      log(`half load: ${batches.length} batches; rows p50 ${rows[rows.length >> 1]} p99 ${rows[Math.floor(rows.length * 0.99)]}; write ms p50 ${ms[ms.length >> 1]} p99 ${ms[Math.floor(ms.length * 0.99)]}`);
    }
    // Emit to commit: each event's `at` (the SDK stamps it at emit, on this machine's clock) to its
    // commit, so the producer's linger and enqueue count too: the worker's `eventAge`, not its `lag`
    // (enqueue to commit). With one worker this is exact; with several, the worst p99 and the mean p50.
    const p99 = Math.max(...stopped.map((s) => s.eventAge?.p99Ms ?? NaN));
    const p50 = stopped.reduce((a, s) => a + (s.eventAge?.p50Ms ?? NaN), 0) / stopped.length;
    return { p50, p99, rssMb, events: total };
  } finally {
    await p.close();
    await c.end();
    await dropPrefix(prefix);
  }
}

/** Redis memory held per queued event: fill a queue with no worker, compare used_memory. */
async function redisBytesPerEvent(n: number): Promise<number> {
  const prefix = `gpbench${process.pid}mem`;
  const redis = new Redis(REDIS_URL);
  const used = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
  const p = createProducer({ connection: REDIS_URL, prefix });
  try {
    await p.move({ sessionId: 'warm', player: 'p', action: 'a' });
    const before = await used();
    await emitAll(p, n, 'mem');
    const after = await used();
    return (after - before) / n;
  } finally {
    await p.close();
    await dropPrefix(prefix);
    redis.disconnect();
  }
}

const dropPrefix = (prefix: string) => deletePrefix(REDIS_URL, prefix);

async function main() {
  await ensureDatabase(dbUrl);
  const orm = await openOrm({ databaseUrl: dbUrl, poolMax: 1 });
  await migrateUp(orm, dbUrl);
  await migrateJobs(dbUrl, JOBS_SCHEMA);
  await orm.close();
  try {
    log(`rows: ${N} (COPY and pipeline), ${NAIVE} (naive); worker processes: ${WORKERS}`);
    const copyRate = await benchCopy(makeRows(N, 'copy'));
    log(`COPY: ${Math.round(copyRate)} rows/s`);
    const naiveRate = await benchNaive(makeRows(NAIVE, 'naive'));
    log(`naive: ${Math.round(naiveRate)} rows/s`);
    const sat = await benchPipeline(N, 'sat');
    log(`pipeline at saturation: ${Math.round(sat.eventsPerS)} events/s (${sat.batches} batches)`);
    const pgSat = await benchPipeline(PG_N, 'pgsat', 'postgres');
    log(`pipeline at saturation on the PostgreSQL queue backend: ${Math.round(pgSat.eventsPerS)} events/s (${pgSat.batches} batches)`);
    const drain = await benchDrain(N, 'drain');
    log(`workers draining a filled queue: ${Math.round(drain)} events/s (worker start-up included)`);
    const half = await benchHalfLoad(sat.eventsPerS / 2, 'half');
    log(`pipeline at half load: p50 ${half.p50} ms, p99 ${half.p99} ms over ${half.events} events`);
    const bytes = await redisBytesPerEvent(Math.min(N, 100_000));

    const result = {
      events_per_s: Math.round(sat.eventsPerS),
      copy_rows_per_s: Math.round(copyRate),
      naive_rows_per_s: Math.round(naiveRate),
      ratio_vs_copy: round(sat.eventsPerS / copyRate, 3),
      ratio_vs_naive: round(sat.eventsPerS / naiveRate, 2),
      p50_ms: half.p50,
      p99_ms: half.p99,
      worker_rss_mb: round(Math.max(sat.rssMb, half.rssMb), 1),
      redis_bytes_per_event: Math.round(bytes),
      drain_events_per_s: Math.round(drain),
      drain_ratio_vs_copy: round(drain / copyRate, 3),
      pg_backend_events_per_s: Math.round(pgSat.eventsPerS),
      pg_backend_ratio_vs_redis: round(pgSat.eventsPerS / sat.eventsPerS, 3),
      workers: WORKERS,
      events: N,
    };
    const table = [
      ['method', 'rows/s', 'vs COPY'],
      ['raw COPY (table like moves, median of 3)', result.copy_rows_per_s, '1.00'],
      ['naive INSERT+COMMIT, 10 connections', result.naive_rows_per_s, round(naiveRate / copyRate, 3)],
      [`pipeline SDK->BullMQ->${WORKERS} worker(s)->PG`, result.events_per_s, result.ratio_vs_copy],
      [`  workers alone, draining a filled queue`, result.drain_events_per_s, result.drain_ratio_vs_copy],
      [`  on the PostgreSQL queue backend (no Redis)`, result.pg_backend_events_per_s, round(pgSat.eventsPerS / copyRate, 3)],
    ];
    console.log(table.map((r) => `${String(r[0]).padEnd(44)} ${String(r[1]).padStart(9)} ${String(r[2]).padStart(8)}`).join('\n'));
    console.log(`PostgreSQL queue backend vs Redis: ${result.pg_backend_ratio_vs_redis}x (${PG_N} events)`);
    console.log(`pipeline vs naive: ${result.ratio_vs_naive}x; emit-to-commit at half load: p50 ${result.p50_ms} ms, p99 ${result.p99_ms} ms; worker peak RSS ${result.worker_rss_mb} MB; Redis ${result.redis_bytes_per_event} bytes/queued event`);
    console.log(JSON.stringify(result));
  } finally {
    const admin = new pg.Client({ connectionString: ADMIN });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  }
}

function round(x: number, d: number): number {
  return Math.round(x * 10 ** d) / 10 ** d;
}

await main();
