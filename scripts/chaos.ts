/**
 * npm run chaos — fault scenarios held to a ledger (issue 12). Each scenario plays a ledgered load
 * (src/loadgen/load.ts) through the SDK into a fresh database while several worker processes consume
 * it and a fault is injected; once the pipeline drained, the checker reports events lost, duplicated
 * or unexpected, aggregates that differ from recomputation (`verify`), sessions whose live state or
 * status differ from re-folding their history in seq order, finished sessions not rated, and snapshots
 * whose hash fails. A scenario passes only with all of these at zero.
 *
 * Scenarios (★: also in the short CI run, `--short`): ★`baseline` (no fault), ★`sigkill` (a random
 * worker SIGKILLed every 2 s and replaced), ★`commit-crash` (workers kill themselves after a commit and
 * before the acknowledgement, half the batches; a kill scenario whose kill never fired fails),
 * `rolling-sigterm` (each worker in turn, each must exit 0 within 30 s), `scale` (1 → 8 → 1 workers),
 * `redis-restart` (a private Redis with AOF fsync always, stopped and started again: producers and
 * workers resume by themselves; emits refused meanwhile are owed nothing), `redis-aof-everysec` and
 * `redis-kill-always` (a host crash of a private Redis: its AOF cut back 1 s, or not at all; every loss
 * must be reported by sequence-gap detection, and `always` loses nothing), `redis-maxmemory`,
 * `pg-restart` and `pg-hang` (a private PostgreSQL crash-restarted; the event tables locked past the
 * statement timeouts), `partition` (a worker behind a TCP proxy frozen past its lock), `clock-skew`
 * (libfaketime ±10 min), `soak` (10× the events: memory plateau, event-loop lag), `migrate-x10` (ten
 * concurrent migrate runs on a new database), and `<name>-pg` for the scenarios that apply to the
 * PostgreSQL queue backend. docs/reliability.md (reliabilityPage below) says what each does. Prints a
 * table, then one JSON line: {"scenarios":N,"passed":N,"lost":0,"duplicated":0,"drift":0,...,
 * "lost_reported":N}; `lost` counts only losses no gap detection reported. Exit 1 unless every scenario
 * passed. Options: --events N per scenario (default 100000), --workers N (default 4), --only a,b,
 * --backend redis|postgres (that backend's scenarios only; default both), --short (the starred
 * scenarios at 6,000 events), --write docs/reliability.md (the page of published figures, regenerated
 * from this run), --keep-failed (a failed scenario's database stays on the shared server for a
 * post-mortem; its URL is printed).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { verifyAggregates } from '../src/aggregates/verify.ts';
import { loadConfig } from '../src/config.ts';
import { ensureDatabase, migrateUp } from '../src/db/migrate.ts';
import { migrateJobs } from '../src/jobs/install.ts';
import { JOBS_SCHEMA } from '../src/jobs/boss.ts';
import { MIGRATIONS_TABLE, openOrm } from '../src/db/orm.ts';
import { createReader } from '../src/db/reader.ts';
import { FAMILY_TABLES } from '../src/db/families.ts';
import { EnqueueError } from '../src/errors.ts';
import { checkLedger, checkStates, classifyLosses, lostSeqsOfRun, unappliedSessions, unratedSessions } from '../src/loadgen/ledger.ts';
import { runLoad } from '../src/loadgen/load.ts';
import { runPoison } from '../src/loadgen/poison.ts';
import { dropDatabase } from '../bench/lib.ts';
import { verifySnapshots } from '../src/ops/verify-snapshots.ts';
import { createProducer } from '../src/producers/index.ts';
import { pgSequenceSeed } from '../src/recovery/sequence-seed.ts';
import { migrateQueueSchema, openQueue, type EventsQueue } from '../src/queue/backend.ts';
import { deletePrefix } from '../src/redis.ts';
import { freePort, startPostgres, startProxy, startRedis, type PgServer, type Proxy, type RedisServer, type RedisServerOptions } from './chaos-faults.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '100000' },
    workers: { type: 'string', default: '4' },
    only: { type: 'string' },
    short: { type: 'boolean', default: false },
    backend: { type: 'string' },
    write: { type: 'string' },
    'soak-rate': { type: 'string', default: '2000' },
    'keep-failed': { type: 'boolean', default: false },
  },
});
const EVENTS = args.short ? 6000 : Number(args.events);
const WORKERS = Number(args.workers);
if (!Number.isSafeInteger(EVENTS) || EVENTS < 1) throw new Error(`--events must be a positive integer, got ${args.events}`);
if (!Number.isSafeInteger(WORKERS) || WORKERS < 1) throw new Error(`--workers must be a positive integer, got ${args.workers}`);
/**
 * The soak's pace, events per second, and its workers (one per core): a sustained load below
 * saturation. At saturation, or with more worker processes than cores beside PostgreSQL, a worker's
 * loop waits for CPU and its event-loop lag measures the batch work queued (160-400 ms p99 here, all
 * CPU: batches of up to 5,000 rows, pg result parsing, GC), not a leak or a stall; the baseline
 * measures saturation.
 */
const SOAK_WORKERS = 2;
const SOAK_RATE = Number(args['soak-rate']);
if (!Number.isSafeInteger(SOAK_RATE) || SOAK_RATE < 1) throw new Error(`--soak-rate must be a positive integer, got ${args['soak-rate']}`);
if (args.backend !== undefined && args.backend !== 'redis' && args.backend !== 'postgres') throw new Error(`--backend must be redis or postgres, got ${args.backend}`);
const ADMIN = process.env.CHAOS_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.CHAOS_REDIS_URL ?? 'redis://127.0.0.1:6379';
const WORKER = fileURLToPath(new URL('./chaos-worker.ts', import.meta.url));
const CLI = fileURLToPath(new URL('../bin/game-persist.js', import.meta.url));
/** libfaketime (Debian's `faketime` package), for the clock-skew scenario. */
const LIBFAKETIME = process.env.CHAOS_LIBFAKETIME ?? '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
/** Turns per session: 7 events a turn, 11 around them. */
const TURNS = 20;

/** What a worker reports on stdout each second (scripts/chaos-worker.ts). */
interface WorkerSample {
  rss: number;
  lagP99Ms: number;
  jobs: number;
  duplicates: number;
  /** Seqs the worker gave up as lost, net of late arrivals (logged, and counted in gp_sequence_given_up_total). */
  lostSeqs: number;
  metricsPort: number | null;
  /** The worker's wall clock (Date.now()) when it reported: a libfaketime worker's is skewed. */
  now: number;
}

/** What a fault sees: the supervised workers, and the scenario's own services when it has them. */
interface Cluster {
  workers(): ChildProcess[];
  /** Starts one more worker (a supervisor's replacement, or a scale-up), with more environment if given. */
  startOne(more?: Record<string, string>): ChildProcess;
  /** How many workers the supervisor keeps running (a dead one is replaced while below it). */
  target: number;
  redis: RedisServer | null;
  /** The scenario's private PostgreSQL cluster (ownPostgres), which a fault may restart. */
  pg: PgServer | null;
  /** The proxy the first worker reaches Redis through (`proxy`). */
  proxy: Proxy | null;
  /** The worker behind the proxy while it runs. */
  proxied(): ChildProcess | null;
  /** The scenario's database. */
  databaseUrl: string;
  /** The queue's Redis (or the private one). */
  redisUrl: string;
  queuePrefix: string;
  /** The load is still being emitted (its emits are not all accepted yet). */
  loading(): boolean;
  /** Events workers received again after they were stored, so far (their reports; dead workers included). */
  redelivered(): number;
  /** A worker's last report (null before its first). */
  sample(w: ChildProcess): WorkerSample | null;
  /** A failure the fault saw (a worker slow to exit): the scenario fails with it. */
  note(line: string): void;
  /** Something the fault measured, printed under the table's row. */
  info(line: string): void;
  /** Counts the fault firing: a fault scenario whose fault never fired fails. */
  fired(): void;
}

interface Scenario {
  name: string;
  what: string;
  /** In the short (CI) run. */
  starred?: boolean;
  /** Probability a worker kills itself after a commit, before the acknowledgement. */
  killAfterCommit?: number;
  /** Runs a private Redis (AOF; fsync always unless given) the fault may restart or crash. */
  ownRedis?: boolean | RedisServerOptions;
  /** Runs the scenario's database on a private PostgreSQL cluster the fault may restart. */
  ownPostgres?: boolean;
  /** The first worker reaches Redis through a TCP proxy on loopback the fault can cut. */
  proxy?: boolean;
  /** GP_QUEUE_BACKEND for the producer and the workers. @defaultValue redis */
  backend?: 'redis' | 'postgres';
  /** More environment for every worker. */
  env?: Record<string, string>;
  /** More environment for the n-th worker started (0-based, replacements included). */
  workerEnv?: (n: number) => Record<string, string>;
  /** Every worker serves /readyz on a port of its own (GP_METRICS_PORT). */
  readiness?: boolean;
  /** Events per scenario times this (the soak). @defaultValue 1 */
  eventsFactor?: number;
  /** The load's pace in events per second (the soak); unset: as fast as it goes. */
  ratePerS?: number;
  /** Worker processes, instead of --workers (the soak: one per core). */
  workers?: number;
  /** Samples Redis used_memory and every worker's RSS and event-loop lag; passes only if memory plateaus. */
  soak?: boolean;
  /**
   * Lost events are allowed if every one is reported by sequence-gap detection (the AOF everysec
   * window): the row's `lost` counts only the unreported ones, `lostReported` the others.
   */
  lossReported?: boolean;
  /** Worker log lines (warn and above) matching this are counted as the row's `faultLogs`. */
  logs?: RegExp;
  /** Runs once the workers were started, before the load (e.g. starts the HTTP API). */
  setup?: (c: Cluster) => Promise<void>;
  /** Started with the load; stopped (its returned function) once the load was emitted. */
  fault?: (c: Cluster) => () => void;
  /** After the drain, before the workers stop: what failed (empty: passed). */
  check?: (c: Cluster, row: Row) => Promise<string[]>;
  /** Emits refused while the fault lasts are allowed (they are owed nothing). */
  refusalsAllowed?: boolean;
  /** A scenario that is not a load (concurrent migrations). */
  standalone?: (db: { url: string }) => Promise<{ ok: boolean; detail: string }>;
}

/** Calls `fn` after 300 ms (so even a short run sees the fault), then every `ms`; returns the stop. */
const every = (ms: number, fn: () => void, firstMs = 300) => {
  let t: NodeJS.Timeout | null = null;
  const first = setTimeout(() => {
    fn();
    t = setInterval(fn, ms);
  }, firstMs);
  return () => {
    clearTimeout(first);
    if (t) clearInterval(t);
  };
};
const pick = <T>(xs: T[]): T | undefined => xs[Math.floor(Math.random() * xs.length)];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A host crash of the private Redis (SIGKILL, the AOF cut back `windowMs`, 500 ms down) every 3 s
 * while the load is emitted, at most three times. Only while emitting: a session whose last events are
 * lost after its end has no later seq to show the gap (see docs/reliability.md).
 */
const hostCrash = (windowMs: number) => (c: Cluster) => {
  let busy = false;
  let n = 0;
  return every(
    3000,
    () => {
      if (busy || !c.redis || !c.loading() || n >= 3) return;
      busy = true;
      n++;
      void c.redis
        .crash(windowMs, 500)
        .then((cut) => {
          // With a window, a crash that cut nothing (no write in the last second) tested nothing.
          if (windowMs === 0 || cut > 0) c.fired();
          c.info(`crash ${n}: AOF cut by ${cut} bytes`);
        })
        .catch((e) => c.note(`crash failed: ${String(e)}`))
        .finally(() => (busy = false));
    },
    1500,
  );
};

/** GET a worker's /readyz: its status and body. */
async function readyzBody(port: number): Promise<{ status: number; text: string }> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(3000) });
    return { status: res.status, text: (await res.text()).slice(0, 300) };
  } catch (e) {
    return { status: 0, text: String(e) };
  }
}

/** GET a worker's /readyz: its status code (0: no answer). */
async function readyz(port: number): Promise<number> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(3000) })).status;
  } catch {
    return 0;
  }
}

/** What the maxmemory scenario's fault saw (read by its check). */
const maxmemory = { late: null as ChildProcess | null, problems: [] as string[], api: null as { url: string; key: string; stop(): void } | null };

/**
 * Makes the private Redis full at once: its maxmemory lowered below the memory it uses (the refusals a
 * filled Redis gives, without waiting seconds for filler keys while the load may end), checked by a
 * refused SET. While it is full: an emit from a fresh producer must fail with EnqueueError
 * `redis_out_of_memory` whose message names maxmemory and no script hash, POST /v1/events must answer
 * 503 saying so, a worker's /readyz must turn 503, and one more worker is started. Once that worker
 * runs (4 s at least), maxmemory goes back (memory freed) and everything must drain by itself.
 */
async function fillRedis(c: Cluster, api: { url: string; key: string; stop(): void } | null): Promise<void> {
  c.fired();
  const r = new Redis(c.redisUrl, { maxRetriesPerRequest: 1 });
  r.on('error', () => {});
  let limit: string | null = null;
  try {
    limit = ((await r.config('GET', 'maxmemory')) as string[])[1];
    await r.config('SET', 'maxmemory', '1mb');
    const refused = await r.set('hchaos-filler', 'x'.repeat(1 << 16)).then(
      () => false,
      (e: Error) => /^OOM/.test(e.message),
    );
    if (!refused) throw new Error('Redis accepted a write over its maxmemory');
    const fullAt = performance.now();
    c.info('Redis full (maxmemory 1mb)');
    maxmemory.late = c.startOne();
    const probe = createProducer({ connection: c.redisUrl, prefix: c.queuePrefix });
    try {
      await probe.emit({ type: 'session.created', sessionId: `hchaos-probe-${process.pid}`, data: { gameType: 'chaos' } } as never);
      maxmemory.problems.push('an emit was accepted while Redis was full');
    } catch (e) {
      const m = e instanceof Error ? e.message : String(e);
      if (!(e instanceof EnqueueError) || e.reason !== 'redis_out_of_memory' || !/maxmemory/.test(m) || /[0-9a-f]{40}/.test(m)) maxmemory.problems.push(`the emit's error at a full Redis: ${e instanceof EnqueueError ? e.reason : (e as Error)?.name}: ${m}`);
      else c.info(`emit refused: ${e.reason}: ${m}`);
    } finally {
      await probe.close().catch(() => {});
    }
    // The HTTP API: 503 with the same plain reason.
    if (api) {
      const res = await fetch(`${api.url}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${api.key}`, 'content-type': 'application/json' },
        body: JSON.stringify([{ type: 'session.created', sessionId: `hchaos-probe-api-${process.pid}`, data: { gameType: 'chaos' } }]),
        signal: AbortSignal.timeout(30_000),
      }).catch((e: unknown) => ({ status: 0, text: async () => String(e) }));
      const text = await res.text();
      if (res.status !== 503 || !/maxmemory/.test(text) || /[0-9a-f]{40}/.test(text)) maxmemory.problems.push(`POST /v1/events at a full Redis answered ${res.status}: ${text.slice(0, 300)}`);
      else c.info(`POST /v1/events refused: ${res.status} ${text.slice(0, 200)}`);
    }
    // Readiness: a worker that met the refused writes says so within a few seconds.
    let seen = 0;
    for (const until = performance.now() + 4000; performance.now() < until && !seen; await sleep(200)) {
      for (const w of c.workers()) {
        const port = c.sample(w)?.metricsPort;
        if (port && (await readyz(port)) === 503) seen = port;
      }
    }
    if (!seen) maxmemory.problems.push('no worker /readyz answered 503 while Redis was full');
    // Full until the new worker has started (its first report; up to 30 s on a busy machine), 4 s at least.
    for (const until = performance.now() + 30_000; !c.sample(maxmemory.late) && performance.now() < until; ) await sleep(200);
    if (!c.sample(maxmemory.late)) maxmemory.problems.push('the worker started while Redis was full did not start within 30 s');
    await sleep(Math.max(1000, 4000 - (performance.now() - fullAt)));
  } catch (e) {
    maxmemory.problems.push(`filling Redis failed: ${String(e)}`);
  } finally {
    api?.stop();
    if (limit !== null) await r.config('SET', 'maxmemory', limit).catch((e: unknown) => maxmemory.problems.push(`could not free Redis: ${String(e)}`));
    r.disconnect();
  }
}

/** `game-persist serve` on the scenario's database and Redis (a free port), with an ingest key. */
async function startApi(c: Cluster): Promise<{ url: string; key: string; stop(): void }> {
  const env = { ...process.env, DATABASE_URL: c.databaseUrl, REDIS_URL: c.redisUrl, GP_QUEUE_PREFIX: c.queuePrefix, GP_API_PORT: '0', GP_API_HOST: '127.0.0.1', GP_METRICS_PORT: '0', GP_LOG_LEVEL: 'error' };
  const key = await new Promise<string>((resolve, reject) => {
    const p = spawn(process.execPath, [CLI, 'keys', 'create', `hchaos-${process.pid}`, '--scope', 'ingest', '--json'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout!.on('data', (d) => (out += d));
    p.once('exit', (code) => (code === 0 ? resolve((JSON.parse(out) as { key: string }).key) : reject(new Error(`keys create exited ${code}`))));
  });
  const p = spawn(process.execPath, [CLI, 'serve'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no "api listening" within 60 s')), 60_000);
    createInterface({ input: p.stdout! }).on('line', (line) => {
      const m = /api listening on (\S+)/.exec(line);
      if (m) {
        clearTimeout(t);
        resolve(m[1]);
      }
    });
    p.once('exit', (code) => (clearTimeout(t), reject(new Error(`serve exited ${code}`))));
  });
  return { url, key, stop: () => void p.kill('SIGTERM') };
}

/** Holds an ACCESS EXCLUSIVE lock on the sessions and every event table for `ms` (PostgreSQL hanging, for the workers). */
async function lockTables(url: string, ms: number): Promise<void> {
  const tables = [...new Set(['sessions', ...Object.values(FAMILY_TABLES).map((t) => t.table)])];
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('BEGIN');
    await c.query(`LOCK TABLE ${tables.join(', ')} IN ACCESS EXCLUSIVE MODE`);
    await sleep(ms);
    await c.query('ROLLBACK');
  } finally {
    await c.end();
  }
}

/**
 * How long workers wait for a sequence gap before giving it up (GP_GAP_TIMEOUT_S). Only scenarios
 * whose fault can lose a drawn seq (the producer refused an event after drawing its number, or Redis
 * lost acknowledged jobs) use 5 s, so they drain quickly. Every other scenario keeps the default 60 s:
 * its jobs are redelivered or delayed, never lost, and may wait behind the queue's backlog for longer
 * than 5 s (on the PostgreSQL backend especially). At 5 s the gap of such a job was given up while it
 * waited, the session ended, and it was rated without the players that job brought (its rating then
 * stale, as verify reports: measured in commit-crash-pg, and in baseline-pg after the soak).
 */
function gapTimeoutS(s: Scenario): string {
  return s.refusalsAllowed || s.lossReported ? '5' : '60';
}

/**
 * Workers' GP_LOCK_MS: 3 s, so a killed worker's jobs come back quickly. On the PostgreSQL queue
 * backend 10 s: its lock renewals are transactions that queue for the worker's pool like every other
 * queue call, and the lock also sets the batch's lock_timeout (a sixth of it). At 3 s, after the soak
 * had left the server busy, renewals came late, jobs stalled and ran again (44,662 events received
 * twice in baseline-pg), and batches failed on their 500 ms lock_timeout: each retry added load.
 */
function lockMs(s: Scenario): string {
  return s.backend === 'postgres' ? '10000' : '3000';
}

/**
 * Before each scenario the shared database server settles from the one before: a CHECKPOINT writes
 * its dirty pages, and the run waits (at most 60 s) until no autovacuum worker runs, so a scenario is
 * not measured in the wake of the last one's writes (after the soak's million events baseline-pg ran at
 * 979 events/s, against 2,709 alone).
 */
async function settle(): Promise<void> {
  const c = new pg.Client({ connectionString: ADMIN });
  await c.connect();
  try {
    await c.query('CHECKPOINT');
    for (const until = performance.now() + 60_000; performance.now() < until; await sleep(1000)) {
      const { rows } = await c.query<{ n: number }>("select count(*)::int as n from pg_stat_activity where backend_type = 'autovacuum worker'");
      if (rows[0].n === 0) break;
    }
  } finally {
    await c.end();
  }
}

/** The soak's load runs at this niceness (see there). */
const SOAK_LOAD_NICE = 10;

/**
 * Sets this process's niceness; false where the system refuses (going back down needs CAP_SYS_NICE).
 * Where the kernel groups tasks by session for scheduling (autogroup, /proc/sys/kernel/sched_autogroup_enabled),
 * a task's nice value counts only inside its session's group and the group's own nice value decides
 * its share against other sessions, so that is set too.
 */
function renice(n: number): boolean {
  try {
    setPriority(process.pid, n);
    if (existsSync('/proc/self/autogroup')) writeFileSync('/proc/self/autogroup', String(n));
    return true;
  } catch (e) {
    console.error(`chaos: could not set this process's priority to ${n} (${(e as Error).message}); the rest of the run keeps the current one`);
    return false;
  }
}

const SCENARIOS: Scenario[] = [
  { name: 'baseline', what: `${WORKERS} workers, no fault`, starred: true },
  {
    name: 'sigkill',
    what: 'a random worker SIGKILLed every 2 s and replaced',
    starred: true,
    fault: (c) =>
      every(2000, () => {
        pick(c.workers())?.kill('SIGKILL');
        c.fired();
      }),
  },
  // A worker commits few, large batches (concurrency 128, a 10 ms window): half of them is what makes
  // several crashes fall inside even the short run.
  {
    name: 'commit-crash',
    what: 'workers die after a commit, before the acknowledgement (half the batches)',
    starred: true,
    killAfterCommit: 0.5,
    // Batches of at most 500 rows: the short run's 6,000 events make 12 or more of them, so no crash at
    // all (the scenario's fault not firing) has odds of 1 in 4,096. At the default 5,000 rows a worker
    // that started first took most of the queue in two or three batches, and CI once saw none crash.
    env: { GP_BATCH_ROWS: '500' },
  },
  {
    name: 'rolling-sigterm',
    what: 'every worker in turn gets SIGTERM (a rolling deploy) and must exit within 30 s',
    fault: (c) => {
      let i = 0;
      return every(1500, () => {
        const w = c.workers()[i++ % Math.max(1, c.workers().length)];
        if (!w) return;
        const t0 = performance.now();
        w.once('exit', (code) => {
          const s = (performance.now() - t0) / 1000;
          // Exit 0 after draining; a worker still loading its modules dies of the signal itself
          // (code null), holding no job. Anything else, or longer than 30 s, fails the scenario.
          if (s > 30 || (code !== 0 && code !== null)) c.note(`a worker took ${s.toFixed(1)} s to exit on SIGTERM (code ${code})`);
        });
        w.kill('SIGTERM');
        c.fired();
      });
    },
  },
  {
    name: 'scale',
    what: 'workers scaled 1 → 8 → 1 during the load',
    fault: (c) => {
      const steps = [8, 1];
      let n = 0;
      return every(3000, () => {
        const want = steps[n++ % steps.length];
        c.target = want;
        while (c.workers().length < want) c.startOne();
        for (const w of c.workers().slice(want)) w.kill('SIGTERM');
        c.fired();
      });
    },
  },
  {
    name: 'redis-restart',
    what: 'Redis (AOF, fsync always) stopped and started again during the load; nothing restarts the others',
    ownRedis: true,
    refusalsAllowed: true,
    fault: (c) => {
      let busy = false;
      const restart = () => {
        if (busy || !c.redis) return;
        busy = true;
        c.fired();
        void c.redis.restart(1000).finally(() => (busy = false));
      };
      return every(3000, restart);
    },
  },
  {
    name: 'redis-aof-everysec',
    what: 'host crash of Redis (AOF, fsync everysec): SIGKILL, the AOF cut back 1 s, restarted; each lost event must be reported by sequence-gap detection',
    ownRedis: { appendfsync: 'everysec' },
    refusalsAllowed: true,
    lossReported: true,
    fault: hostCrash(1000),
  },
  {
    name: 'redis-kill-always',
    what: 'host crash of Redis (AOF, fsync always): SIGKILL, the AOF as it was, restarted; nothing may be lost',
    ownRedis: { appendfsync: 'always' },
    refusalsAllowed: true,
    fault: hostCrash(0),
  },
  {
    name: 'redis-maxmemory',
    what: 'Redis full (maxmemory, noeviction) for 4 s or more: producers get a typed out-of-memory error, POST /v1/events a 503 saying so, /readyz turns 503, a worker started meanwhile fetches once memory is freed',
    ownRedis: { appendfsync: 'always', args: ['--maxmemory', '128mb', '--maxmemory-policy', 'noeviction'] },
    readiness: true,
    refusalsAllowed: true,
    // The HTTP API starts before the load (it takes seconds); Redis is made full 0.3 s into the load.
    setup: async (c) => {
      maxmemory.api = await startApi(c).catch((e: unknown) => (maxmemory.problems.push(`the HTTP API did not start: ${String(e)}`), null));
    },
    fault: (c) => {
      let done = false;
      return every(
        60_000,
        () => {
          if (done) return;
          done = true;
          void fillRedis(c, maxmemory.api);
        },
        300,
      );
    },
    check: async (c) => {
      const late = maxmemory.late;
      const problems = [...maxmemory.problems];
      if (!late) problems.push('no worker was started while Redis was full');
      else if (!(c.sample(late)?.jobs ?? 0)) problems.push(`the worker started while Redis was full ran no job (its last report ${JSON.stringify(c.sample(late))}, exit ${late.exitCode ?? late.signalCode})`);
      const r = new Redis(c.redisUrl, { maxRetriesPerRequest: 1 });
      const mem = await r.info('memory').then((t) => /used_memory:(\d+)/.exec(t)?.[1] + ' of ' + /maxmemory:(\d+)/.exec(t)?.[1], String);
      r.disconnect();
      // Ready again: a worker counts Redis as full for 5 s after its last refused write.
      for (const w of c.workers()) {
        const port = c.sample(w)?.metricsPort;
        let body = port ? await readyzBody(port) : null;
        for (const until = performance.now() + 15_000; body && body.status !== 200 && performance.now() < until; await sleep(500)) body = await readyzBody(port!);
        if (body && body.status !== 200) body.text += ` (Redis used_memory ${mem})`;
        if (body && body.status !== 200) problems.push(`a worker's /readyz still answers ${body.status} after memory was freed: ${body.text}`);
      }
      return problems;
    },
  },
  {
    name: 'pg-restart',
    what: 'PostgreSQL (a private cluster) crash-restarted (stop -m immediate, 1 s down) every 8 s, three times',
    ownPostgres: true,
    refusalsAllowed: true,
    fault: (c) => {
      let busy = false;
      let n = 0;
      return every(8000, () => {
        if (busy || !c.pg || n >= 3) return;
        busy = true;
        n++;
        c.fired();
        void c.pg
          .restart(1000)
          .catch((e) => c.note(`restart failed: ${String(e)}`))
          .finally(() => (busy = false));
      }, 1000);
    },
  },
  {
    name: 'pg-hang',
    what: 'the event tables locked (ACCESS EXCLUSIVE) for 3 s every 5 s: worker statements time out (lock 500 ms, statement 1 s) and are retried',
    env: { GP_DB_LOCK_TIMEOUT_MS: '500', GP_DB_STATEMENT_TIMEOUT_MS: '1000', GP_DB_IDLE_IN_TX_TIMEOUT_MS: '1000', GP_LOG_LEVEL: 'warn' },
    logs: /55P03|57014|25P03/,
    // The LOCK takes the tables one by one, so it can deadlock with a worker's transaction that holds one
    // and waits for another; PostgreSQL then aborts one side. When that is the LOCK, the attempt is not
    // counted and the next tick tries again (a worker aborted instead retries its batch: 40P01 is transient).
    fault: (c) => {
      let busy = false;
      let deadlocked = 0;
      const stop = every(5000, () => {
        if (busy) return;
        busy = true;
        void lockTables(c.databaseUrl, 3000)
          .then(() => c.fired())
          .catch((e) => ((e as { code?: string }).code === '40P01' ? deadlocked++ : c.note(`lock failed: ${String(e)}`)))
          .finally(() => (busy = false));
      }, 1000);
      return () => {
        stop();
        if (deadlocked) c.info(`${deadlocked} lock attempt(s) aborted by PostgreSQL's deadlock detection, tried again`);
      };
    },
    check: async (_c, row) => (row.faultLogs > 0 ? [] : ['no worker statement timed out while the tables were locked']),
  },
  {
    name: 'partition',
    what: 'one worker cut off from Redis (a TCP proxy frozen) for 8 s, over its 3 s lock, twice: its jobs run again elsewhere, the rows appear once',
    proxy: true,
    // The worker behind the proxy collects its batches for 1 s (GP_BATCH_MS), so whenever it is cut it
    // holds jobs, committed or not, whose acknowledgements cannot reach Redis.
    workerEnv: (n): Record<string, string> => (n === 0 ? { GP_BATCH_MS: '1000' } : {}),
    // The load starts once that worker runs (a short load could otherwise be over before it fetches).
    setup: async (c) => {
      for (const until = performance.now() + 60_000; !(c.proxied() && c.sample(c.proxied()!)) && performance.now() < until; ) await sleep(100);
    },
    fault: (c) => {
      let n = 0;
      let busy = false;
      let jobs = 0;
      // Cut while the worker behind the proxy is busy (its job count rose since the last look), so it
      // holds jobs: they must run again on another worker once its locks expire.
      const t = setInterval(() => {
        const w = c.proxied();
        const now = w ? (c.sample(w)?.jobs ?? 0) : 0;
        const busyWorker = now > jobs;
        jobs = now;
        if (busy || !c.proxy || n >= 2 || !busyWorker) return;
        busy = true;
        c.fired();
        // The first cut resumes the connections (the delayed replies arrive late), the second drops them.
        void c.proxy.cut(8000, n++ === 1).finally(() => (busy = false));
      }, 500);
      return () => clearInterval(t);
    },
    // The rows may all be stored before the cut ends (the cut worker commits, only its acknowledgements
    // wait): the redelivery comes after its locks expired, so wait for it (up to 30 s).
    check: async (c) => {
      for (const until = performance.now() + 30_000; c.redelivered() === 0 && performance.now() < until; ) await sleep(250);
      return c.redelivered() > 0 ? [] : ['no job ran twice: the cut worker held none, or its jobs were not taken over'];
    },
  },
  {
    name: 'clock-skew',
    what: 'one worker runs 10 minutes ahead, one 10 minutes behind (libfaketime); the results must equal the baseline',
    workerEnv: (n): Record<string, string> => (n % 4 < 2 ? { LD_PRELOAD: LIBFAKETIME, FAKETIME: n % 4 === 0 ? '+10m' : '-10m', FAKETIME_DONT_FAKE_MONOTONIC: '1' } : {}),
    // The skew counts as applied only when a worker reports a clock 5 minutes off: without libfaketime
    // the loader ignores LD_PRELOAD, the workers run on true time, and the scenario must not pass.
    fault: (c) => {
      if (!existsSync(LIBFAKETIME)) c.note(`libfaketime not found at ${LIBFAKETIME}: install Debian's faketime (apt-get install faketime) or set CHAOS_LIBFAKETIME`);
      const skewed = new Set<ChildProcess>();
      return every(500, () => {
        for (const w of c.workers()) {
          const x = c.sample(w);
          if (x && !skewed.has(w) && Math.abs(x.now - Date.now()) > 5 * 60_000) {
            skewed.add(w);
            c.fired();
          }
        }
      });
    },
  },
  {
    name: 'soak',
    what: `10× the events at ${SOAK_RATE.toLocaleString('en')} events/s with ${SOAK_WORKERS} workers (one per core), no fault: Redis and worker memory must plateau, event-loop lag p99 under 100 ms`,
    eventsFactor: 10,
    ratePerS: SOAK_RATE,
    workers: SOAK_WORKERS,
    soak: true,
    ownRedis: { appendfsync: 'everysec' },
  },
  {
    name: 'migrate-x10',
    what: 'ten `game-persist migrate` at once on a new database: each migration applied once, all exit 0',
    standalone: async (db) => {
      const codes = await Promise.all(
        Array.from({ length: 10 }, () => new Promise<number>((r) => spawn(process.execPath, [CLI, 'migrate'], { env: { ...process.env, DATABASE_URL: db.url }, stdio: 'ignore' }).once('exit', (code) => r(code ?? 1)))),
      );
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        const { rows } = await c.query<{ name: string; n: string }>(`SELECT name, count(*) AS n FROM ${MIGRATIONS_TABLE} GROUP BY name HAVING count(*) > 1`);
        const ok = codes.every((x) => x === 0) && rows.length === 0;
        return { ok, detail: `exit codes ${codes.join(',')}; migrations applied twice: ${rows.length}` };
      } finally {
        await c.end();
      }
    },
  },
  {
    name: 'poison',
    what: 'poison payloads (`\\u0000`, lone surrogates, 2 MB events, depth 10,000, `__proto__` keys, numbers beyond 2^53, a 50 MB job) inside good jobs, SDK calls and HTTP batches',
    starred: true,
    standalone: (db) => runPoison({ databaseUrl: db.url, redisUrl: REDIS_URL, prefix: `gp-chaos-${process.pid}-poison`, migrate: true }),
  },
];

/** The scenarios that apply to the PostgreSQL queue backend, run there too as `<name>-pg`. */
const PG_BACKEND = ['baseline', 'sigkill', 'commit-crash', 'pg-restart', 'scale'];
SCENARIOS.splice(
  SCENARIOS.findIndex((x) => x.name === 'migrate-x10'),
  0,
  ...SCENARIOS.filter((x) => PG_BACKEND.includes(x.name)).map((x): Scenario => ({ ...x, name: `${x.name}-pg`, what: `${x.what} (PostgreSQL queue backend)`, starred: false, backend: 'postgres' })),
);

interface Row {
  scenario: string;
  events: number;
  eventsPerS: number;
  /** Ledger events not stored; in a `lossReported` scenario only those no gap detection reported. */
  lost: number;
  /** Ledger events not stored whose seq the gap detection gave up and counted (sessions.lost_seqs). */
  lostReported: number;
  duplicated: number;
  unexpected: number;
  drift: number;
  snapshotsFailed: number;
  kills: number;
  /** Times the scenario's injected fault fired (kills after commit are counted in `kills`). */
  faults: number;
  /** Events workers received again that were already stored (a job that ran twice), from their reports. */
  redelivered: number;
  /** Worker log lines matching the scenario's `logs` (e.g. statement timeouts). */
  faultLogs: number;
  /** Highest RSS of one worker, MB. */
  peakRssMb: number;
  /** Highest Redis used_memory sampled (own Redis only), MB; 0 when not sampled. */
  redisMb: number;
  /** Highest event-loop delay p99 of one worker over its life, ms. */
  lagP99Ms: number;
  passed: boolean;
}

const mb = (bytes: number) => Math.round(bytes / 1048576);

/**
 * A memory series plateaus when, after a warm-up (its first third), the highest value of its last
 * third is at most 1.2 × (or 8 MB above) the highest of its middle third. Too short a series (< 6 samples) fails.
 */
function plateaus(series: number[]): boolean {
  if (series.length < 6) return false;
  const third = Math.floor(series.length / 3);
  const middle = Math.max(...series.slice(third, 2 * third));
  const last = Math.max(...series.slice(2 * third));
  // 20%, or 8 MB: a Redis holding 3 MB of jobs in flight peaked at 6 MB once in a 1M-event soak.
  return last <= Math.max(1.2 * middle, middle + PLATEAU_SLACK_BYTES);
}
const PLATEAU_SLACK_BYTES = 8 * 1024 * 1024;

async function run(s: Scenario): Promise<Row> {
  const empty: Row = {
    scenario: s.name, events: 0, eventsPerS: 0, lost: 0, lostReported: 0, duplicated: 0, unexpected: 0, drift: 0, snapshotsFailed: 0, kills: 0, faults: 0,
    redelivered: 0, faultLogs: 0, peakRssMb: 0, redisMb: 0, lagP99Ms: 0, passed: false,
  };
  const ownPg = s.ownPostgres ? await startPostgres() : null;
  const admin = ownPg?.adminUrl ?? ADMIN;
  const name = `gp_chaos_${process.pid}_${s.name.replace(/-/g, '_')}`;
  const url = Object.assign(new URL(admin), { pathname: `/${name}` }).toString();
  const prefix = `gp-chaos-${process.pid}-${s.name}`;
  const run = `chaos-${s.name}`;
  let redis: RedisServer | null = null;
  let proxy: Proxy | null = null;
  let failed = false;
  try {
    await ensureDatabase(url);
    if (s.standalone) {
      try {
        const r = await s.standalone({ url });
        if (!r.ok) console.error(`${s.name}: ${r.detail}`);
        return { ...empty, passed: r.ok };
      } finally {
        await dropDatabase(admin, name);
      }
    }
    const orm = await openOrm({ databaseUrl: url, poolMax: 2 });
    await migrateUp(orm, url);
    await migrateJobs(url, JOBS_SCHEMA);
    if (s.backend === 'postgres') await migrateQueueSchema(url, prefix);
    redis = s.ownRedis ? await startRedis(s.ownRedis === true ? {} : s.ownRedis) : null;
    const redisUrl = redis?.url ?? REDIS_URL;
    proxy = s.proxy ? await startProxy(Number(new URL(redisUrl).port || 6379)) : null;
    const env: Record<string, string | undefined> = {
      ...process.env,
      DATABASE_URL: url,
      REDIS_URL: redisUrl,
      GP_QUEUE_PREFIX: prefix,
      GP_QUEUE_BACKEND: s.backend ?? 'redis',
      GP_LOCK_MS: lockMs(s),
      GP_GAP_TIMEOUT_S: gapTimeoutS(s),
      // Sessions are rated 2 s after they are final and quiet (10 s by default): the load sends every
      // outcome before its finish, the drain waits for the ratings, and an early rating is the harder test.
      GP_RATING_DELAY_S: '2',
      GP_METRICS_PORT: '0',
      GP_METRICS_HOST: '127.0.0.1',
      GP_LOG_LEVEL: 'error',
      ...s.env,
    };
    // Only the workers a scenario names run under libfaketime, never this process's other children.
    for (const k of Object.keys(env)) if (k === 'LD_PRELOAD' || k.startsWith('FAKETIME')) delete env[k];
    // Ports for /readyz, taken at once (so they differ), handed out in turn.
    const ports = s.readiness ? await Promise.all(Array.from({ length: 16 }, () => freePort())) : [];
    const workers = new Set<ChildProcess>();
    const samples = new Map<ChildProcess, WorkerSample>();
    const notes: string[] = [];
    const infos: string[] = [];
    let kills = 0;
    let faults = 0;
    let redelivered = 0;
    let faultLogs = 0;
    let peakRss = 0;
    let peakLag = 0;
    let spawned = 0;
    let proxiedWorker: ChildProcess | null = null;
    let stopping = false;
    let loading = true;
    // Workers started once the faults are over (a minute in) no longer crash after commits.
    let crashing = true;
    const cluster: Cluster = {
      workers: () => [...workers],
      target: s.workers ?? WORKERS,
      redis,
      pg: ownPg,
      proxy,
      proxied: () => proxiedWorker,
      databaseUrl: url,
      redisUrl,
      queuePrefix: prefix,
      loading: () => loading,
      sample: (w) => samples.get(w) ?? null,
      redelivered: () => redelivered + [...workers].reduce((n, w) => n + (samples.get(w)?.duplicates ?? 0), 0),
      note: (line) => notes.push(line),
      info: (line) => infos.push(line),
      fired: () => void faults++,
      startOne(more) {
        const n = spawned++;
        const own: Record<string, string> = { ...s.workerEnv?.(n), ...more };
        if (proxy && n === 0) own.REDIS_URL = `redis://127.0.0.1:${proxy.port}`;
        if (ports.length) own.GP_METRICS_PORT = String(ports[n % ports.length]);
        // Each worker in a session of its own (detached), as in a container of its own: with autogroup
        // scheduling (on here) the kernel shares the CPU by session, and PostgreSQL puts every backend in
        // a session of its own, so workers sharing the runner's session got one share between them all
        // and the runner's load. Its stdin is a pipe: the worker exits when this process is gone.
        const c = spawn(process.execPath, [WORKER, String(crashing ? (s.killAfterCommit ?? 0) : 0)], { env: { ...env, ...own }, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
        workers.add(c);
        if (proxy && n === 0) proxiedWorker = c;
        createInterface({ input: c.stdout! }).on('line', (line) => {
          try {
            const x = JSON.parse(line) as WorkerSample;
            samples.set(c, x);
            peakRss = Math.max(peakRss, x.rss);
            peakLag = Math.max(peakLag, x.lagP99Ms);
          } catch {
            // not a report
          }
        });
        createInterface({ input: c.stderr! }).on('line', (line) => {
          if (s.logs?.test(line)) faultLogs++;
          if (/"level":(50|60)/.test(line) || !line.startsWith('{')) process.stderr.write(`${line}\n`);
        });
        c.once('exit', (_code, signal) => {
          workers.delete(c);
          if (c === proxiedWorker) proxiedWorker = null;
          // Its last report: the events it received again, up to its last second.
          redelivered += samples.get(c)?.duplicates ?? 0;
          if (stopping) return;
          if (signal === 'SIGKILL') kills++;
          // A supervisor (Kubernetes, compose) keeps `target` workers running.
          if (workers.size < cluster.target) cluster.startOne();
        });
        return c;
      },
    };
    const row = await runLoaded(s, { orm, url, redisUrl, prefix, run, cluster, workers, samples, notes, infos, empty, counters: () => ({ kills, faults, redelivered, faultLogs, peakRss, peakLag }), setLoading: (v) => (loading = v), endCrashes: () => (crashing = false), stop: () => (stopping = true) });
    failed = !row.passed;
    return row;
  } finally {
    await proxy?.stop();
    if (redis) await redis.stop();
    else if (!s.standalone) await deletePrefix(REDIS_URL, prefix).catch(() => {});
    // --keep-failed: a failed scenario's database stays for a post-mortem (on the shared server only; a private cluster goes with the scenario).
    if (failed && args['keep-failed'] && !ownPg) console.error(`${s.name}: database kept for inspection: ${url}`);
    else if (!s.standalone) await dropDatabase(admin, name).catch((e) => console.error(`${s.name}: could not drop ${name}: ${String(e)}`));
    await ownPg?.stop();
  }
}

interface Loaded {
  orm: Awaited<ReturnType<typeof openOrm>>;
  url: string;
  redisUrl: string;
  prefix: string;
  run: string;
  cluster: Cluster;
  workers: Set<ChildProcess>;
  samples: Map<ChildProcess, WorkerSample>;
  notes: string[];
  infos: string[];
  empty: Row;
  counters(): { kills: number; faults: number; redelivered: number; faultLogs: number; peakRss: number; peakLag: number };
  setLoading(v: boolean): void;
  /** Workers started from now on do not kill themselves after commits (the faults are over). */
  endCrashes(): void;
  stop(): void;
}

/** Asks `fn` again (every 500 ms, for up to a minute) while the database does not answer (a restart in progress). */
async function retrying<T>(fn: () => Promise<T>): Promise<T> {
  for (const until = performance.now() + 60_000; ; ) {
    try {
      return await fn();
    } catch (e) {
      if (performance.now() > until) throw e;
      await sleep(500);
    }
  }
}

async function runLoaded(s: Scenario, x: Loaded): Promise<Row> {
  const { orm, url, redisUrl, prefix, run, cluster, workers, notes, infos } = x;
  for (let i = 0; i < cluster.target; i++) cluster.startOne();
  const reader = createReader(url, { max: 4 });
  const producer = createProducer({ connection: s.backend === 'postgres' ? url : redisUrl, prefix, sequenceSeed: pgSequenceSeed(reader) });
  // The events queue as the workers see it (how many jobs it still holds).
  const queueRedis = s.backend === 'postgres' ? null : new Redis(redisUrl, { maxRetriesPerRequest: null });
  queueRedis?.on('error', () => {});
  const queue = openQueue({ connection: queueRedis ?? url, prefix, queueName: 'events' }, {}, { max: 1 });
  queue.on('error', () => {});
  await s.setup?.(cluster);
  const stopFault = s.fault?.(cluster) ?? (() => {});
  // The soak's memory series: Redis used_memory and the workers' summed RSS every 2 s.
  const redisMem: number[] = [];
  const workerMem: number[] = [];
  const info = s.soak ? new Redis(redisUrl, { maxRetriesPerRequest: 1 }) : null;
  info?.on('error', () => {});
  const sampler = s.soak
    ? setInterval(() => {
        // Once every worker reports (a worker still starting has no RSS to add yet).
        if ([...workers].every((w) => x.samples.has(w))) workerMem.push([...workers].reduce((n, w) => n + x.samples.get(w)!.rss, 0));
        void info!.info('memory').then((t) => redisMem.push(Number(/^used_memory:(\d+)/m.exec(t)?.[1] ?? 0)), () => {});
      }, 2000)
    : null;
  const t0 = performance.now();
  try {
    const sessions = Math.max(1, Math.round((EVENTS * (s.eventsFactor ?? 1)) / (11 + 7 * TURNS)));
    // The soak measures the workers' event loops. Its load stands in for game servers on other
    // machines: on these shared cores it yields to the pipeline (nice 10) while it plays, instead of
    // competing as one more busy process (at 1,500 events/s without it the cores were 85% busy, the
    // run queue 3-7 deep, and the workers' lag p99 105 ms over 200k events; 85 ms at 2,000/s with it).
    const niced = s.soak && renice(SOAK_LOAD_NICE);
    const load = await runLoad(producer, { run, sessions, turns: TURNS, seed: 7, ratePerS: s.ratePerS }).finally(() => niced && renice(0));
    x.setLoading(false);
    await producer.close().catch(() => {});
    const ps = producer.stats;
    if (ps.issuedReports || ps.issuedReportFailures || ps.reseeded)
      infos.push(`the producer raised ${ps.reseeded} rolled-back counter(s) and sent ${ps.issuedReports} issued-seq report(s) after Redis restarts (${ps.issuedReportFailures} failed)`);
    // Drained: every ledger event stored (the checker's own question, asked until it holds or 3 minutes
    // passed: then it reports what is missing). Not the sessions' watermarks: a gap given up moves them.
    // In a lossReported scenario, until every event still missing was reported by the gap detection
    // and the queue holds no job any more: a gap given up after 5 s does not make an event lost while
    // its job is still queued or in a worker's hands (it counts back when it lands), so the ledger is
    // not classified before then. The fault goes on while the workers drain: emitting can end long
    // before they do.
    const missing = async () => {
      const lost = (await checkLedger(reader, load.ledger, run)).lost;
      if (!s.lossReported) return lost.length;
      const silent = (await classifyLosses(reader, load.ledger, lost, run)).unreported.length;
      return silent || (await queuedJobs(queue));
    };
    for (let until = performance.now() + 180_000, faultOver = false; ; ) {
      if ((await retrying(missing)) === 0 || performance.now() > until) break;
      // After a minute of faults the rest of the drain runs without them, with the target number of
      // workers, so a scenario always ends.
      if (!faultOver && performance.now() - t0 > 60_000) {
        faultOver = true;
        stopFault();
        // Crashes after commits end too: a worker still crashing dies and is replaced by one that does
        // not (at half the batches, each replacement's start-up dominated and the drain outlasted 3 min).
        x.endCrashes();
        cluster.target = Math.max(s.workers ?? WORKERS, cluster.target);
        while (workers.size < cluster.target) cluster.startOne();
      }
      await sleep(250);
    }
    stopFault();
    // Then applied: every session's watermark through its last seq, so its state is folded. A gap (a
    // seq drawn whose reply was lost in a Redis restart) is given up after GP_GAP_TIMEOUT_S by the
    // clean-up sweep, which runs each minute.
    for (const until = performance.now() + 150_000; (await retrying(() => unappliedSessions(reader, run))) > 0 && performance.now() < until; ) await sleep(500);
    const ms = performance.now() - t0;
    if (sampler) clearInterval(sampler);
    // Then rated: every finished session once it is final and quiet (GP_RATING_DELAY_S), held while
    // jobs that may still bring seqs it gave up wait in the queue; up to three minutes. After crashes
    // this can take a minute (68 s once in commit-crash-pg: redelivered jobs still queued after the
    // drain, ratings runs on workers that kept dying, the minute schedule).
    let unrated: string[] = [];
    const ratingFrom = performance.now();
    for (const until = performance.now() + 180_000; (unrated = await retrying(() => unratedSessions(reader, run))).length > 0 && performance.now() < until; ) await sleep(500);
    if (unrated.length) notes.push(`${unrated.length} finished session(s) not rated 3 minutes after the drain (first: ${unrated.slice(0, 3).join(', ')})`);
    else infos.push(`every finished session rated ${((performance.now() - ratingFrom) / 1000).toFixed(1)} s after the drain`);
    const ledger = await retrying(() => checkLedger(reader, load.ledger, run));
    const losses = await retrying(() => classifyLosses(reader, load.ledger, ledger.lost, run));
    const states = await retrying(() => checkStates(reader, load.ledger, run));
    const aggregates = await retrying(() => verifyAggregates(orm, { timeZone: 'UTC', winRateMinGames: loadConfig({}).winRateMinGames }));
    const snaps = await retrying(() => verifySnapshots(orm));
    const drift = aggregates.drift.length + states.stateDrift.length + states.notFinished.length + unrated.length;
    const row: Row = {
      ...x.empty,
      events: ledger.emitted,
      eventsPerS: Math.round(ledger.emitted / (ms / 1000)),
      lost: s.lossReported ? losses.unreported.length : ledger.lost.length,
      lostReported: losses.reported.length,
      duplicated: ledger.duplicated.length + ledger.duplicatedSeqs.length,
      unexpected: ledger.unexpected,
      drift,
      snapshotsFailed: snaps.mismatches.length,
    };
    // The check may look at the workers (their reports, /readyz): before they stop.
    const problems = s.check ? await s.check(cluster, { ...row, ...countersOf(x) }) : [];
    x.stop();
    await Promise.all(
      [...workers].map(
        (c) =>
          new Promise<void>((r) => {
            // A worker that does not exit within 35 s of SIGTERM fails the scenario (and is killed).
            // One that hits its drain deadline (GP_SHUTDOWN_TIMEOUT_MS, 25 s) exits 1 and logs the step it
            // hung in; what it held is redelivered, so the ledger still decides the scenario.
            const t = setTimeout(() => (notes.push('a worker did not exit within 35 s of SIGTERM at the end'), c.kill('SIGKILL')), 35_000);
            // 'close', not 'exit': after its output too, so its last report (written as it exits) is read.
            c.once('close', (code) => {
              clearTimeout(t);
              if (code === 1) infos.push('a worker hit its drain deadline at the end (its log line names the step)');
              r();
            });
            c.kill('SIGTERM');
          }),
      ),
    );
    Object.assign(row, countersOf(x));
    // A loss is reported only where an operator sees it: every seq the sessions count as given up was
    // logged and counted in gp_sequence_given_up_total by the worker that gave it up (their last reports).
    if (s.lossReported) {
      const inDb = await retrying(() => lostSeqsOfRun(reader, run));
      const counted = [...x.samples.values()].reduce((n, w) => n + (w.lostSeqs ?? 0), 0);
      if (inDb !== counted) notes.push(`sessions.lost_seqs sums to ${inDb}, but the workers logged and counted ${counted} seqs given up`);
      else if (inDb) infos.push(`${inDb} seqs given up as lost, each logged and counted by a worker (gp_sequence_given_up_total)`);
    }
    if (s.soak) {
      row.redisMb = mb(Math.max(0, ...redisMem));
      if (!plateaus(workerMem)) problems.push(`worker memory did not plateau: ${workerMem.map(mb).join(' ')} MB`);
      if (!plateaus(redisMem)) problems.push(`Redis memory did not plateau: ${redisMem.map(mb).join(' ')} MB`);
      if (row.lagP99Ms >= 100) problems.push(`event-loop lag p99 ${row.lagP99Ms} ms (limit 100)`);
    }
    notes.push(...problems);
    // A fault scenario whose fault never fired proves nothing.
    const faulted = s.killAfterCommit ? row.kills > 0 : !s.fault || row.faults > 0;
    // Refusals a fault allows stay few: a load mostly refused proves nothing.
    const refusedOk = load.refused === 0 || (!!s.refusalsAllowed && load.refused <= 0.1 * (load.refused + load.ledger.length));
    row.passed = faulted && refusedOk && notes.length === 0 && row.lost === 0 && row.duplicated === 0 && row.unexpected === 0 && row.drift === 0 && row.snapshotsFailed === 0 && ledger.deadLettered === 0;
    if (!s.lossReported && row.lostReported) row.passed = false;
    for (const line of infos) console.log(`  ${s.name}: ${line}`);
    if (!row.passed)
      console.error(`${s.name}: ${JSON.stringify({ faulted, notes, lost: ledger.lost.slice(0, 5), unreported: losses.unreported.slice(0, 5), dup: ledger.duplicatedSeqs.slice(0, 3), states, aggregateDrift: aggregates.drift.slice(0, 3), refused: load.refused, firstRefusal: load.firstRefusal, refusals: load.refusals, deadLettered: ledger.deadLettered })}`);
    else if (load.refused) console.log(`  ${s.name}: ${load.refused} emits refused while the fault lasted (the producer said so; owed nothing; by reason ${JSON.stringify(load.refusals)}; the first: ${load.firstRefusal})`);
    if (row.lostReported) console.log(`  ${s.name}: ${row.lostReported} accepted events lost in the fsync window, each reported by sequence-gap detection (sessions.lost_seqs)`);
    return row;
  } finally {
    stopFault();
    if (sampler) clearInterval(sampler);
    info?.disconnect();
    x.stop();
    for (const c of workers) c.kill('SIGKILL');
    await producer.close().catch(() => {});
    await queue.close().catch(() => {});
    queueRedis?.disconnect();
    await reader.close();
    await orm.close();
  }
}

/** Jobs the events queue still holds (waiting, active, delayed, prioritized); 1 when it does not answer (a restart under way). */
async function queuedJobs(queue: EventsQueue): Promise<number> {
  try {
    const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    return Object.values(c).reduce((n, x) => n + x, 0);
  } catch {
    return 1;
  }
}

function countersOf(x: Loaded): Pick<Row, 'kills' | 'faults' | 'redelivered' | 'faultLogs' | 'peakRssMb' | 'lagP99Ms'> {
  const c = x.counters();
  // Workers still running: their last report's duplicates are not yet in `redelivered`.
  const live = [...x.workers].reduce((n, w) => n + (x.samples.get(w)?.duplicates ?? 0), 0);
  return { kills: c.kills, faults: c.faults, redelivered: c.redelivered + live, faultLogs: c.faultLogs, peakRssMb: mb(c.peakRss), lagP99Ms: Math.round(c.peakLag) };
}

const only = args.only ? new Set(String(args.only).split(',')) : null;
const chosen = SCENARIOS.filter((x) => {
  if (only) return only.has(x.name);
  if (args.backend && (x.backend ?? 'redis') !== args.backend) return false;
  return args.short ? x.starred : true;
});
const rows: Row[] = [];
for (const s of chosen) {
  await settle().catch((e) => console.error(`chaos: could not settle the database server (${String(e)}); going on`));
  console.log(`${s.name}: ${s.what} …`);
  rows.push(await run(s));
}
const COLUMNS: [string, keyof Row, number][] = [
  ['events', 'events', 8], ['events/s', 'eventsPerS', 9], ['lost', 'lost', 5], ['lost_rep', 'lostReported', 8], ['dup', 'duplicated', 4], ['unexp', 'unexpected', 6],
  ['drift', 'drift', 6], ['snapfail', 'snapshotsFailed', 9], ['kills', 'kills', 6], ['faults', 'faults', 7], ['redeliv', 'redelivered', 8], ['rss_MB', 'peakRssMb', 7],
  ['redis_MB', 'redisMb', 9], ['lag_p99', 'lagP99Ms', 8],
];
console.log(`\n${'scenario'.padEnd(20)} ${COLUMNS.map(([h, , w]) => h.padStart(w)).join(' ')}  result`);
for (const r of rows) console.log(`${r.scenario.padEnd(20)} ${COLUMNS.map(([, k, w]) => String(r[k]).padStart(w)).join(' ')}  ${r.passed ? 'pass' : 'FAIL'}`);
const sum = (k: keyof Row) => rows.reduce((n, r) => n + Number(r[k]), 0);
console.log(
  JSON.stringify({
    scenarios: rows.length,
    passed: rows.filter((r) => r.passed).length,
    lost: sum('lost'),
    duplicated: sum('duplicated'),
    drift: sum('drift'),
    unexpected: sum('unexpected'),
    snapshots_failed: sum('snapshotsFailed'),
    lost_reported: sum('lostReported'),
    events: sum('events'),
    rows,
  }),
);
if (args.write) writeFileSync(args.write, reliabilityPage(rows));
process.exitCode = rows.every((r) => r.passed) ? 0 : 1;
/** docs/reliability.md: what each scenario does and what this run measured. */
function reliabilityPage(rows: Row[]): string {
  const what = new Map(SCENARIOS.map((x) => [x.name, x.what]));
  const lines = [
    '# Reliability: the chaos scenarios and what they measured',
    '',
    '<!-- Generated by `npm run chaos -- --write docs/reliability.md`; do not edit by hand. -->',
    '',
    'Each scenario plays a ledgered load through the SDK (interleaved sessions of a small turn-based',
    'game: joins, moves, votes, chat, turn results with full states and merge patches, outcomes) into a',
    `fresh database while ${WORKERS} worker processes consume it and a fault is injected. The load generator is`,
    'never the process a fault hits, so its ledger of accepted events is exact. After the pipeline drained,',
    'the checker (`src/loadgen/ledger.ts`) reports events lost, duplicated (two rows, or two events sharing a',
    "session's seq) or unexpected, aggregates that differ from recomputation (`verify`), sessions whose",
    'live state differs from re-folding their stored turn results in seq order or that are not finished,',
    'finished sessions not rated (once final and quiet: within three minutes of the drain), and snapshots',
    'whose hash fails. A scenario passes only with all of these at zero, and a fault scenario only if its',
    'fault fired.',
    '',
    `Last run: ${new Date().toISOString().slice(0, 10)}, ${EVENTS.toLocaleString('en')} events per scenario (the soak ten times as many), 2 cores shared by the load, the workers, Redis and PostgreSQL.`,
    '',
    '| scenario | what it does | events | events/s | lost | lost, reported | duplicated | unexpected | drift | snapshots failed | kills | faults | ran twice | worker RSS MB | Redis MB | lag p99 ms | result |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.scenario} | ${what.get(r.scenario)} | ${r.events} | ${r.eventsPerS} | ${r.lost} | ${r.lostReported} | ${r.duplicated} | ${r.unexpected} | ${r.drift} | ${r.snapshotsFailed} | ${r.kills} | ${r.faults} | ${r.redelivered} | ${r.peakRssMb} | ${r.redisMb || ''} | ${r.lagP99Ms} | ${r.passed ? 'pass' : 'FAIL'} |`,
    ),
    '',
    'events/s is the ledger divided by the time from the first emit until every event was stored, faults',
    'included. `migrate-x10` plays no load: it passes when ten concurrent `migrate` runs all exit 0 and no',
    'migration was applied twice.',
    '',
    'The columns beyond the checker: **lost, reported** counts accepted events that never arrived but whose',
    'seq the sequence-gap detection gave up and counted in `sessions.lost_seqs` (the session\'s watermark',
    'passed them and its `lost_seqs` covers them; the runner also holds the sum of `lost_seqs` to what the',
    'workers logged and counted in `gp_sequence_given_up_total`, so a loss counts as reported only where an',
    'operator sees it); **lost** counts only the silent ones, and must be zero everywhere; a reported loss',
    'fails every scenario except `redis-aof-everysec`. **ran twice** is how many',
    'events workers received again after they were stored (a job redelivered; deduplicated by event id).',
    '**worker RSS MB** is the highest RSS of one worker, **lag p99 ms** the highest event-loop delay p99 of',
    'one worker over its life (perf_hooks), **Redis MB** the highest `used_memory` sampled (the soak only).',
    '',
    '## What the fault scenarios do',
    '',
    '- Workers run with a 3 s lock (`GP_LOCK_MS`; 10 s on the PostgreSQL queue backend, whose lock renewals',
    '  queue for the worker\'s pool like every other queue call), so a killed worker\'s jobs come back quickly.',
    '  Scenarios whose fault can lose a drawn sequence number (the producer refused an event, or Redis lost',
    '  acknowledged jobs) give up a sequence gap after 5 s (`GP_GAP_TIMEOUT_S`) so they drain quickly; the',
    '  others keep the default 60 s. A redelivered or delayed job can still wait longer than the timeout: a',
    '  worker killed right after a commit also dies holding jobs it fetched and had not written, which come',
    '  back only when their lock expires, and may be fetched by a worker that dies too (on the PostgreSQL',
    '  backend, with its 10 s lock, and batches failing on lock timeouts under load and waiting out their backoff, such jobs waited for minutes). Their session\'s gap is',
    '  then given up and the session becomes final; it is still rated only once the events queue holds no',
    '  job that existed when the ratings run first found it (docs/contract.md, "Gaps that never fill"), so',
    '  the late events land before the rating. Before that hold, commit-crash-pg ended with finished',
    '  sessions rated without their outcomes (`ratings_input` drift: a database kept by `--keep-failed`',
    '  showed their outcome jobs still in the queue, started four or five times and stalled up to three, while the',
    '  session had been rated). In production, still set `GP_GAP_TIMEOUT_S` above the longest backlog the',
    '  queue may hold: the live state and statistics wait for the gap meanwhile.',
    '- Workers rate a finished session 2 s after it is final and quiet (`GP_RATING_DELAY_S`; 10 s by default).',
    '- Before each scenario the database server settles from the one before: a `CHECKPOINT`, then up to',
    '  60 s until no autovacuum worker runs.',
    '- `redis-aof-everysec` and `redis-kill-always` run a private Redis with an append-only file. A plain',
    '  SIGKILL of Redis loses nothing (its AOF write reaches the operating system before the reply), so the',
    '  fault is a host crash: SIGKILL, then the AOF\'s incr file (`appendonlydir/*.incr.aof`) cut back to',
    '  the size it had one second earlier (sampled every 100 ms), which is what a machine losing its page',
    '  cache leaves under `appendfsync everysec`; with `appendfsync always` nothing is cut. Redis is then',
    '  started again (`aof-load-truncated yes` drops a torn last command). Under everysec, events',
    '  acknowledged in that second may be lost, and so may the per-session seq counters: producers raise a',
    '  counter found below the highest seq they issued back to it, so no seq is issued twice, and every lost',
    '  event leaves a gap that the workers give up after `GP_GAP_TIMEOUT_S` (5 s here) and count in',
    '  `sessions.lost_seqs`. A session whose last events were lost has no later seq to show the gap: the',
    '  load\'s producer, which survives the crash, reconnects to a Redis with another `run_id` and sends an',
    '  issued-seq report (the highest seq it issued per session it drew for, docs/contract.md), which makes',
    '  those seqs expected too. The scenario passes only if every lost event was reported that way, and the',
    '  workers logged and counted every seq given up. What no report covers is a producer that dies with',
    '  the Redis host; in production `game-persist sessions wait <id> --seq N` (or the SDK\'s',
    '  `waitPersisted`) with the last seq the game server was given reveals such a loss by timing out.',
    '- `redis-maxmemory`: a private Redis (`maxmemory-policy noeviction`) made full 0.3 s into the load by',
    '  lowering its `maxmemory` below the memory it uses (the refusals of a filled Redis, at once): an emit',
    '  fails with `EnqueueError` reason `redis_out_of_memory`,',
    '  `POST /v1/events` answers 503 naming maxmemory (never a script hash), a',
    '  worker\'s `/readyz` answers 503 (check `redis`), and a worker started meanwhile must run jobs once',
    '  `maxmemory` is raised again; every `/readyz` must be 200 again after the drain (a worker counts Redis as',
    '  full for 5 s after its last refused write). Emits refused while full are retried by the load.',
    '- `pg-restart`: the scenario\'s database on a private PostgreSQL 15 cluster (initdb in a temporary',
    '  folder, a free loopback port), crash-restarted three times (`pg_ctl stop -m immediate`, 1 s down):',
    '  batches fail, are retried, and land; a worker started while PostgreSQL is down exits and is replaced.',
    '- `pg-hang`: every 5 s the sessions and event tables are locked `ACCESS EXCLUSIVE` for 3 s, longer than',
    '  the workers\' `GP_DB_LOCK_TIMEOUT_MS=500` and `GP_DB_STATEMENT_TIMEOUT_MS=1000`: their statements time',
    '  out (55P03, 57014) and are retried; the scenario fails unless some did.',
    '- `partition`: the first worker reaches Redis through a TCP proxy on loopback, which freezes every',
    '  connection for 8 s (longer than the 3 s job lock) while that worker holds jobs (it batches for 1 s,',
    '  `GP_BATCH_MS=1000`, and the load starts once it runs); its jobs run again on another worker once their',
    '  locks expired ("ran twice" above zero, or the scenario fails), and their rows appear once. The first',
    '  cut resumes the frozen connections (the late acknowledgements are refused), a second drops them.',
    '- `clock-skew`: one worker runs under libfaketime 10 minutes ahead, one 10 minutes behind (Redis and',
    '  PostgreSQL keep the real clock); every count must be zero, as in the baseline.',
    `- \`soak\`: ten times the events with no fault, paced at ${SOAK_RATE.toLocaleString('en')} events/s (\`--soak-rate\`) with ${SOAK_WORKERS} workers, one per core: a`,
    '  sustained load below saturation. The load stands in for game servers on other machines, so while it',
    `  plays it runs at nice ${SOAK_LOAD_NICE} and yields these shared cores to the workers, PostgreSQL and Redis. Without`,
    '  that, at 1,500 events/s the cores were 85% busy with a run queue 3-7 deep, and lag p99 was 105 ms over',
    '  200k events. At saturation, or with 4 workers on 2 cores beside PostgreSQL, a worker\'s loop waits for',
    '  CPU and its lag p99 measured 160-400 ms here. A profile of the stretches over 50 ms shows GC (37%),',
    '  socket writes of batch queries (34%) and batch work, not a stall. Redis `used_memory` and the workers\' summed RSS are',
    '  sampled every 2 s. Memory plateaus when, after a warm-up (the first third of the samples), the',
    '  highest sample of the last third is at most 1.2 × (or 8 MB above) the highest of the middle third; the scenario',
    '  fails unless both plateau and every worker\'s event-loop lag p99 is under 100 ms.',
    '- `<name>-pg`: the same scenario on the PostgreSQL queue backend (`GP_QUEUE_BACKEND=postgres`).',
    '',
  ];
  return lines.join('\n');
}
