/**
 * npm run bench:http — the HTTP API beside the SDK, on the same load in one run:
 *   1. the SDK path: a producer in this process -> BullMQ -> one worker process -> PostgreSQL;
 *   2. the HTTP path: a few keep-alive clients POSTing batches of 100 to `game-persist serve` (a child
 *      process, as deployed) -> the same queue -> the same worker -> PostgreSQL;
 *   both timed from the first send until every event is stored (sequence numbers drawn from the
 *   counters in both, no explicit seqs), alternating SDK/HTTP pairs; then
 *   3. the p99 of a session recover and of a leaderboard read over HTTP (keep-alive, one at a time).
 * Also per run, from /proc, the CPU each part used per 1,000 events (`sdk_cpu_ms_per_1k`,
 * `http_cpu_ms_per_1k`: this process, `serve`, the worker, Redis, PostgreSQL; medians of the runs), and on
 * stderr when the last event was enqueued or answered: where the HTTP path spends more than the SDK's.
 * Prints a table, then one JSON line (last). Options: --events N per run (default 60000), --pairs N
 * (default 3; `http_ratio` is the median of the pairs' ratios), --clients N (concurrent HTTP clients, default 4), --batch N (default 100), --reads N (default 500),
 * --api-node-options '…' (Node options of the `serve` child alone, e.g. `--cpu-prof --cpu-prof-dir=DIR`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { uuidv7 } from '../src/contract/ids.ts';
import { ensureDatabase, migrateUp } from '../src/db/migrate.ts';
import { migrateJobs } from '../src/jobs/install.ts';
import { JOBS_SCHEMA } from '../src/jobs/boss.ts';
import { openOrm } from '../src/db/orm.ts';
import { createApiKey } from '../src/api/keys.ts';
import { createProducer } from '../src/producers/index.ts';
import { deletePrefix } from '../src/redis.ts';
import { dropDatabase, pct, printFigures, round } from './lib.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '60000' },
    pairs: { type: 'string', default: '3' },
    clients: { type: 'string', default: '4' },
    batch: { type: 'string', default: '100' },
    reads: { type: 'string', default: '500' },
    // Node options of the `serve` child only, e.g. --api-node-options='--cpu-prof --cpu-prof-dir=/tmp/prof'.
    'api-node-options': { type: 'string', default: '' },
  },
});
const N = Number(args.events);
const PAIRS = Number(args.pairs);
const CLIENTS = Number(args.clients);
const BATCH = Number(args.batch);
const READS = Number(args.reads);
const SESSIONS = 1000;

const ADMIN = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const dbName = `gp_bench_http_${process.pid}`;
const dbUrl = Object.assign(new URL(ADMIN), { pathname: `/${dbName}` }).toString();
const prefix = `gpbenchhttp${process.pid}`;
const CLI = fileURLToPath(new URL('../bin/game-persist.js', import.meta.url));
const PORT = 18000 + (process.pid % 1000);
const log = (s: string) => process.stderr.write(`${s}\n`);

/** Event i of a run: a move of one of 1000 sessions, 4000 players, a little card data. */
function event(i: number, tag: string) {
  return {
    id: uuidv7(),
    type: 'move' as const,
    sessionId: `${tag}-${i % SESSIONS}`,
    player: `player-${i % 4000}`,
    data: { action: 'play_card', round: 1, turn: i & 15, data: { card: { suit: 'hearts', rank: String(i % 10) } } },
  };
}

function child(args: string[], env: Record<string, string>, ready: string): Promise<ChildProcess> {
  const c = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, DATABASE_URL: dbUrl, REDIS_URL, GP_QUEUE_PREFIX: prefix, GP_LOG_LEVEL: 'info', GP_METRICS_PORT: '0', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let buf = '';
    c.stderr!.setEncoding('utf8');
    c.stderr!.on('data', (d: string) => {
      buf += d;
      if (buf.includes(ready)) resolve(c);
      if (buf.length > 100_000) buf = buf.slice(-10_000);
    });
    c.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}: ${buf.slice(-2000)}`)));
  });
}

const stop = (c: ChildProcess) => new Promise<void>((resolve) => (c.exitCode !== null ? resolve() : (c.once('exit', () => resolve()), c.kill('SIGTERM'))));

/**
 * CPU seconds (user + system) used so far by each part of the pipeline, from /proc (Linux; empty
 * elsewhere): this process (the SDK's producer or the HTTP clients), `serve`, the worker, Redis and
 * every PostgreSQL process. Whatever else runs on the machine is not counted.
 */
function cpuSeconds(pids: { bench: number; api: number; worker: number }): Record<string, number> {
  const out: Record<string, number> = { bench: 0, api: 0, worker: 0, redis: 0, postgres: 0 };
  let dirs: string[];
  try {
    dirs = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return {};
  }
  for (const d of dirs) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${d}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const secs = (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks (USER_HZ = 100)
    const pid = Number(d);
    const part = pid === pids.bench ? 'bench' : pid === pids.api ? 'api' : pid === pids.worker ? 'worker' : comm === 'redis-server' ? 'redis' : comm === 'postgres' ? 'postgres' : null;
    if (part) out[part]! += secs;
  }
  return out;
}

/** CPU milliseconds per 1,000 events of each part between two cpuSeconds() readings. */
const cpuPer1k = (a: Record<string, number>, b: Record<string, number>, events: number) =>
  Object.fromEntries(Object.keys(a).map((k) => [k, round(((b[k]! - a[k]!) * 1e6) / events, 1)]));

async function stored(c: pg.Client, tag: string): Promise<number> {
  const { rows } = await c.query('SELECT coalesce(sum(event_count), 0)::bigint AS n FROM sessions WHERE id LIKE $1', [`${tag}-%`]);
  return Number(rows[0].n);
}

async function waitStored(c: pg.Client, tag: string, n: number): Promise<void> {
  const until = Date.now() + 600_000;
  while ((await stored(c, tag)) < n) {
    if (Date.now() > until) throw new Error(`only ${await stored(c, tag)} of ${n} stored`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function sdkRun(c: pg.Client, tag: string): Promise<number> {
  const p = createProducer({ connection: REDIS_URL, prefix });
  try {
    const t0 = performance.now();
    const window: Promise<unknown>[] = [];
    for (let i = 0; i < N; i++) {
      window.push(p.emit(event(i, tag)));
      if (window.length >= 10_000) await Promise.all(window.splice(0));
    }
    await Promise.all(window);
    const enqueued = performance.now();
    await waitStored(c, tag, N);
    log(`  sdk: all enqueued after ${Math.round(enqueued - t0)} ms, all stored after ${Math.round(performance.now() - t0)} ms`);
    return N / ((performance.now() - t0) / 1000);
  } finally {
    await p.close();
  }
}

async function post(base: string, key: string, body: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(`${base}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body });
    const text = await res.text();
    if (res.status === 200) {
      const r = JSON.parse(text) as { rejected: number };
      if (r.rejected) throw new Error(`rejected events: ${text.slice(0, 500)}`);
      return;
    }
    if (attempt > 5 || res.status < 500) throw new Error(`POST /v1/events: ${res.status} ${text.slice(0, 300)}`);
  }
}

async function httpRun(c: pg.Client, tag: string, base: string, key: string): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      for (;;) {
        const from = next;
        if (from >= N) return;
        next = Math.min(N, from + BATCH);
        const batch = [];
        for (let i = from; i < next; i++) batch.push(event(i, tag));
        await post(base, key, JSON.stringify(batch));
      }
    }),
  );
  const posted = performance.now();
  await waitStored(c, tag, N);
  log(`  http: last response after ${Math.round(posted - t0)} ms, all stored after ${Math.round(performance.now() - t0)} ms`);
  return N / ((performance.now() - t0) / 1000);
}

/**
 * The reads' timing loop, in a thread of its own: the latencies are a client's, and this process's heap
 * (hundreds of thousands of events generated, posted and emitted by the ingest runs) is not. Timed here,
 * its own collector paused the loop: 48 pauses in one run of 1,000 recovers, 264 ms in all, up to 18 ms
 * each, with the slow reads in the same clusters, while `serve` answered 997 of them within 10 ms by its
 * own request-duration histogram.
 */
const READ_LOOP = `
const { parentPort, workerData: { urls, key, reads, sessions } } = require('node:worker_threads');
(async () => {
  const all = [];
  for (const url of urls) {
    const out = [];
    for (let i = 0; i < reads; i++) {
      const t = performance.now();
      const res = await fetch(url.replace('{i}', String(i % sessions)), { headers: { authorization: 'Bearer ' + key } });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(url + ': ' + res.status);
      out.push(performance.now() - t);
    }
    all.push(out);
  }
  parentPort.postMessage(all);
})().catch((e) => parentPort.postMessage({ error: String(e) }));
`;

/** READS timed GETs of each URL in turn (`{i}`: a session number), one thread, one keep-alive client. */
function timedReads(urls: string[], key: string): Promise<number[][]> {
  return new Promise((resolve, reject) => {
    const w = new Worker(READ_LOOP, { eval: true, workerData: { urls, key, reads: READS, sessions: SESSIONS } });
    w.once('message', (m: number[][] | { error: string }) => {
      void w.terminate();
      if (Array.isArray(m)) resolve(m);
      else reject(new Error(m.error));
    });
    w.once('error', reject);
  });
}

function medianParts(runs: Record<string, number>[]): Record<string, number> {
  if (!runs.length || !Object.keys(runs[0]!).length) return {};
  return Object.fromEntries(Object.keys(runs[0]!).map((k) => [k, pct(runs.map((r) => r[k]!), 0.5)]));
}

async function main() {
  await ensureDatabase(dbUrl);
  const orm = await openOrm({ databaseUrl: dbUrl, poolMax: 2 });
  await migrateUp(orm, dbUrl);
  await migrateJobs(dbUrl, JOBS_SCHEMA);
  const key = (await createApiKey(orm, { name: 'bench', scopes: ['ingest', 'read'] })).key;
  await orm.close();
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  const worker = await child(['worker'], {}, '"worker started"');
  // The rate limit stays on (counted in Redis on every request, as deployed), high enough not to bite.
  const apiEnv: Record<string, string> = { GP_API_PORT: String(PORT), GP_API_RATE_LIMIT: '100000000' };
  if (args['api-node-options']) apiEnv.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} ${args['api-node-options']}`.trim();
  const api = await child(['serve'], apiEnv, '"api listening"');
  const base = `http://127.0.0.1:${PORT}`;
  const sdk: number[] = [];
  const http: number[] = [];
  const pids = { bench: process.pid, api: api.pid!, worker: worker.pid! };
  // CPU per 1,000 events of each part, per run: where the HTTP path spends more than the SDK's.
  const sdkCpu: Record<string, number>[] = [];
  const httpCpu: Record<string, number>[] = [];
  const measured = async (into: Record<string, number>[], run: () => Promise<number>) => {
    const before = cpuSeconds(pids);
    const rate = await run();
    into.push(cpuPer1k(before, cpuSeconds(pids), N));
    return rate;
  };
  try {
    log(`warm-up`);
    await sdkRun(c, 'warm-sdk');
    await httpRun(c, 'warm-http', base, key);
    for (let i = 0; i < PAIRS; i++) {
      sdk.push(await measured(sdkCpu, () => sdkRun(c, `sdk${i}`)));
      log(`pair ${i + 1}: SDK ${Math.round(sdk[i]!)} events/s`);
      http.push(await measured(httpCpu, () => httpRun(c, `http${i}`, base, key)));
      log(`pair ${i + 1}: HTTP ${Math.round(http[i]!)} events/s`);
    }
    // Warm-up first: each pooled connection prepares the statements once.
    const [, , recover, board] = await timedReads(
      [`${base}/v1/sessions/warm-sdk-{i}/recover`, `${base}/v1/leaderboard?by=xp&limit=100`, `${base}/v1/sessions/sdk0-{i}/recover`, `${base}/v1/leaderboard?by=xp&limit=100`],
      key,
    );
    const median = (xs: number[]) => pct(xs, 0.5);
    const result = {
      http_events_per_s: Math.round(median(http)),
      sdk_events_per_s: Math.round(median(sdk)),
      // Each pair's runs are adjacent in time, so their ratio cancels the machine's slower drifts (on a
      // shared 2-core VM the SDK's own rate varied 20-26k/s between runs): the median of the pairs'.
      http_ratio: round(median(http.map((h, i) => h / sdk[i]!)), 3),
      pair_ratios: http.map((h, i) => round(h / sdk[i]!, 3)),
      recover_p50_ms: round(pct(recover, 0.5)),
      recover_p99_ms: round(pct(recover, 0.99)),
      leaderboard_p50_ms: round(pct(board, 0.5)),
      leaderboard_p99_ms: round(pct(board, 0.99)),
      events: N,
      pairs: PAIRS,
      clients: CLIENTS,
      batch: BATCH,
      sdk_runs: sdk.map(Math.round),
      http_runs: http.map(Math.round),
      // Median over the runs of each part's CPU ms per 1,000 events (bench = the SDK's producer, or the HTTP clients).
      sdk_cpu_ms_per_1k: medianParts(sdkCpu),
      http_cpu_ms_per_1k: medianParts(httpCpu),
    };
    printFigures(
      [
        ['HTTP / SDK events per second', String(result.http_ratio), 'target >= 0.85 (issue 20)'],
        ['recover p99', `${result.recover_p99_ms} ms`, 'target <= 10 (issue 20)'],
        ['leaderboard p99', `${result.leaderboard_p99_ms} ms`, 'target <= 20'],
      ],
      result,
    );
  } finally {
    await stop(api);
    await stop(worker);
    await c.end();
    await deletePrefix(REDIS_URL, prefix);
    await dropDatabase(ADMIN, dbName);
  }
}

await main();
