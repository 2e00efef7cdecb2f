/**
 * npm run chaos — fault scenarios held to a ledger (issue 12). Each scenario plays a ledgered load
 * (src/loadgen/load.ts) through the SDK into a fresh database while several worker processes consume
 * it and a fault is injected; once the pipeline drained, the checker reports events lost, duplicated
 * or unexpected, aggregates that differ from recomputation (`verify`), sessions whose live state or
 * status differ from re-folding their history in seq order, and snapshots whose hash fails. A scenario
 * passes only with all of these at zero.
 *
 * Scenarios so far (★: also in the short CI run, `--short`): ★`baseline` (no fault), ★`sigkill` (a
 * random worker SIGKILLed every 2 s and replaced), ★`commit-crash` (workers kill themselves after a
 * commit and before the acknowledgement, half the batches; a kill scenario whose kill never fired
 * fails), `rolling-sigterm` (each worker in turn, each must exit 0 within 30 s), `scale` (1 → 8 → 1
 * workers), `redis-restart` (a private Redis with AOF fsync always, stopped and started again:
 * producers and workers resume by themselves; emits refused meanwhile are owed nothing),
 * `migrate-x10` (ten concurrent migrate runs on a new database). Prints a table, then one JSON line:
 * {"scenarios":N,"passed":N,"lost":0,"duplicated":0,"drift":0,...}. Exit 1 unless every scenario passed.
 * Options: --events N per scenario (default 100000), --workers N (default 4), --only a,b, --short
 * (the starred scenarios at 6,000 events), --write docs/reliability.md (the page of published figures,
 * regenerated from this run).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { verifyAggregates } from '../src/aggregates/verify.ts';
import { loadConfig } from '../src/config.ts';
import { ensureDatabase, migrateUp } from '../src/db/migrate.ts';
import { migrateJobs } from '../src/jobs/install.ts';
import { JOBS_SCHEMA } from '../src/jobs/boss.ts';
import { MIGRATIONS_TABLE, openOrm } from '../src/db/orm.ts';
import { createReader } from '../src/db/reader.ts';
import { checkLedger, checkStates, unappliedSessions } from '../src/loadgen/ledger.ts';
import { runLoad } from '../src/loadgen/load.ts';
import { runPoison } from '../src/loadgen/poison.ts';
import { dropDatabase } from '../bench/lib.ts';
import { verifySnapshots } from '../src/ops/verify-snapshots.ts';
import { createProducer } from '../src/producers/index.ts';
import { pgSequenceSeed } from '../src/recovery/sequence-seed.ts';
import { deletePrefix } from '../src/redis.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '100000' },
    workers: { type: 'string', default: '4' },
    only: { type: 'string' },
    short: { type: 'boolean', default: false },
    write: { type: 'string' },
  },
});
const EVENTS = args.short ? 6000 : Number(args.events);
const WORKERS = Number(args.workers);
const ADMIN = process.env.CHAOS_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.CHAOS_REDIS_URL ?? 'redis://127.0.0.1:6379';
const WORKER = fileURLToPath(new URL('./chaos-worker.ts', import.meta.url));
const CLI = fileURLToPath(new URL('../bin/game-persist.js', import.meta.url));
/** Turns per session: 7 events a turn, 11 around them. */
const TURNS = 20;

/** What a fault sees: the supervised workers, and the scenario's own Redis when it has one. */
interface Cluster {
  workers(): ChildProcess[];
  /** Starts one more worker (a supervisor's replacement, or a scale-up). */
  startOne(): void;
  /** How many workers the supervisor keeps running (a dead one is replaced while below it). */
  target: number;
  redis: RedisServer | null;
  /** A failure the fault saw (a worker slow to exit): the scenario fails with it. */
  note(line: string): void;
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
  /** Runs a private Redis (AOF fsync always) the fault may restart. */
  ownRedis?: boolean;
  /** Started with the load; stopped (its returned function) once the load was emitted. */
  fault?: (c: Cluster) => () => void;
  /** Emits refused while the fault lasts are allowed (they are owed nothing). */
  refusalsAllowed?: boolean;
  /** A scenario that is not a load (concurrent migrations). */
  standalone?: (db: { url: string }) => Promise<{ ok: boolean; detail: string }>;
}

/** Calls `fn` after 300 ms (so even a short run sees the fault), then every `ms`; returns the stop. */
const every = (ms: number, fn: () => void) => {
  let t: NodeJS.Timeout | null = null;
  const first = setTimeout(() => {
    fn();
    t = setInterval(fn, ms);
  }, 300);
  return () => {
    clearTimeout(first);
    if (t) clearInterval(t);
  };
};
const pick = <T>(xs: T[]): T | undefined => xs[Math.floor(Math.random() * xs.length)];

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
  { name: 'commit-crash', what: 'workers die after a commit, before the acknowledgement (half the batches)', starred: true, killAfterCommit: 0.5 },
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

interface Row {
  scenario: string;
  events: number;
  eventsPerS: number;
  lost: number;
  duplicated: number;
  unexpected: number;
  drift: number;
  snapshotsFailed: number;
  kills: number;
  /** Times the scenario's injected fault fired (kills after commit are counted in `kills`). */
  faults: number;
  passed: boolean;
}

/** A private redis-server (AOF, fsync always) on a free loopback port, which a fault may restart. */
interface RedisServer {
  url: string;
  restart(downMs: number): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'gp-chaos-redis-'));
  let proc: ChildProcess;
  const up = async () => {
    proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--loglevel', 'warning'], { stdio: 'ignore' });
    for (let i = 0; i < 200; i++) {
      if (await new Promise<boolean>((r) => connect(port, '127.0.0.1').once('connect', function (this: Socket) { this.destroy(); r(true); }).once('error', () => r(false)))) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`redis-server did not start on ${port}`);
  };
  const down = () => new Promise<void>((r) => (proc.exitCode !== null ? r() : (proc.once('exit', () => r()), proc.kill('SIGTERM'))));
  await up();
  return {
    url: `redis://127.0.0.1:${port}`,
    async restart(downMs) {
      await down();
      await new Promise((r) => setTimeout(r, downMs));
      await up();
    },
    async stop() {
      await down();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function run(s: Scenario): Promise<Row> {
  const name = `gp_chaos_${process.pid}_${s.name.replace(/-/g, '_')}`;
  const url = Object.assign(new URL(ADMIN), { pathname: `/${name}` }).toString();
  const prefix = `gp-chaos-${process.pid}-${s.name}`;
  const run = `chaos-${s.name}`;
  await ensureDatabase(url);
  const empty: Row = { scenario: s.name, events: 0, eventsPerS: 0, lost: 0, duplicated: 0, unexpected: 0, drift: 0, snapshotsFailed: 0, kills: 0, faults: 0, passed: false };
  if (s.standalone) {
    try {
      const r = await s.standalone({ url });
      if (!r.ok) console.error(`${s.name}: ${r.detail}`);
      return { ...empty, passed: r.ok };
    } finally {
      await dropDatabase(ADMIN, name);
    }
  }
  const orm = await openOrm({ databaseUrl: url, poolMax: 2 });
  await migrateUp(orm, url);
  await migrateJobs(url, JOBS_SCHEMA);
  const redis = s.ownRedis ? await startRedis() : null;
  const redisUrl = redis?.url ?? REDIS_URL;
  const env = {
    ...process.env,
    DATABASE_URL: url,
    REDIS_URL: redisUrl,
    GP_QUEUE_PREFIX: prefix,
    // A killed worker's jobs come back after their lock: 3 s keeps a scenario short.
    GP_LOCK_MS: '3000',
    // A seq drawn whose reply was lost (a Redis restart) is a gap no event fills: given up after 5 s.
    GP_GAP_TIMEOUT_S: '5',
    GP_METRICS_PORT: '0',
    GP_LOG_LEVEL: 'error',
  };
  const workers = new Set<ChildProcess>();
  const notes: string[] = [];
  let kills = 0;
  let faults = 0;
  let stopping = false;
  const cluster: Cluster = {
    workers: () => [...workers],
    target: WORKERS,
    redis,
    note: (line) => notes.push(line),
    fired: () => void faults++,
    startOne() {
      const c = spawn(process.execPath, [WORKER, String(s.killAfterCommit ?? 0)], { env, stdio: ['ignore', 'ignore', 'inherit'] });
      workers.add(c);
      c.once('exit', (_code, signal) => {
        workers.delete(c);
        if (stopping) return;
        if (signal === 'SIGKILL') kills++;
        // A supervisor (Kubernetes, compose) keeps `target` workers running.
        if (workers.size < cluster.target) cluster.startOne();
      });
    },
  };
  for (let i = 0; i < WORKERS; i++) cluster.startOne();
  const reader = createReader(url, { max: 4 });
  const producer = createProducer({ connection: redisUrl, prefix, sequenceSeed: pgSequenceSeed(reader) });
  const stopFault = s.fault?.(cluster) ?? (() => {});
  const t0 = performance.now();
  try {
    const sessions = Math.max(1, Math.round(EVENTS / (11 + 7 * TURNS)));
    const load = await runLoad(producer, { run, sessions, turns: TURNS, seed: 7 });
    await producer.close().catch(() => {});
    // Drained: every ledger event stored (the checker's own question, asked until it holds or 3 minutes
    // passed: then it reports what is missing). Not the sessions' watermarks: a gap given up moves them.
    // The fault goes on while the workers drain: emitting can end long before they do.
    for (let until = performance.now() + 180_000, faultOver = false; ; ) {
      if ((await checkLedger(reader, load.ledger, run)).lost.length === 0 || performance.now() > until) break;
      // After a minute of faults the rest of the drain runs without them, with the target number of
      // workers, so a scenario always ends.
      if (!faultOver && performance.now() - t0 > 60_000) {
        faultOver = true;
        stopFault();
        cluster.target = Math.max(WORKERS, cluster.target);
        while (workers.size < cluster.target) cluster.startOne();
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    stopFault();
    // Then applied: every session's watermark through its last seq, so its state is folded. A gap (a
    // seq drawn whose reply was lost in a Redis restart) is given up after GP_GAP_TIMEOUT_S by the
    // clean-up sweep, which runs each minute.
    for (const until = performance.now() + 150_000; (await unappliedSessions(reader, run)) > 0 && performance.now() < until; ) await new Promise((r) => setTimeout(r, 500));
    const ms = performance.now() - t0;
    stopping = true;
    await Promise.all([...workers].map((c) => new Promise((r) => (c.once('exit', r), c.kill('SIGTERM')))));
    const ledger = await checkLedger(reader, load.ledger, run);
    const states = await checkStates(reader, load.ledger, run);
    const aggregates = await verifyAggregates(orm, { timeZone: 'UTC', winRateMinGames: loadConfig({}).winRateMinGames });
    const snaps = await verifySnapshots(orm);
    const drift = aggregates.drift.length + states.stateDrift.length + states.notFinished.length;
    const row: Row = {
      ...empty,
      events: ledger.emitted,
      eventsPerS: Math.round(ledger.emitted / (ms / 1000)),
      lost: ledger.lost.length,
      duplicated: ledger.duplicated.length + ledger.duplicatedSeqs.length,
      unexpected: ledger.unexpected,
      drift,
      snapshotsFailed: snaps.mismatches.length,
      kills,
      faults,
    };
    // A fault scenario whose fault never fired proves nothing.
    const faulted = s.killAfterCommit ? kills > 0 : !s.fault || faults > 0;
    const refusedOk = load.refused === 0 || !!s.refusalsAllowed;
    row.passed = faulted && refusedOk && notes.length === 0 && row.lost === 0 && row.duplicated === 0 && row.unexpected === 0 && row.drift === 0 && row.snapshotsFailed === 0 && ledger.deadLettered === 0;
    if (!row.passed)
      console.error(`${s.name}: ${JSON.stringify({ notes, lost: ledger.lost.slice(0, 5), dup: ledger.duplicatedSeqs.slice(0, 3), states, aggregateDrift: aggregates.drift.slice(0, 3), refused: load.refused, deadLettered: ledger.deadLettered })}`);
    else if (load.refused) console.log(`  ${s.name}: ${load.refused} emits refused while the fault lasted (the producer said so; owed nothing)`);
    return row;
  } finally {
    stopFault();
    stopping = true;
    for (const c of workers) c.kill('SIGKILL');
    await reader.close();
    await orm.close();
    if (redis) await redis.stop();
    else await deletePrefix(REDIS_URL, prefix);
    await dropDatabase(ADMIN, name);
  }
}

const only = args.only ? new Set(String(args.only).split(',')) : null;
const rows: Row[] = [];
for (const s of SCENARIOS.filter((x) => (only ? only.has(x.name) : !args.short || x.starred))) {
  console.log(`${s.name}: ${s.what} …`);
  rows.push(await run(s));
}
console.log(`\n${'scenario'.padEnd(14)} ${'events'.padStart(8)} ${'events/s'.padStart(9)} ${'lost'.padStart(5)} ${'dup'.padStart(4)} ${'unexp'.padStart(6)} ${'drift'.padStart(6)} ${'snapfail'.padStart(9)} ${'kills'.padStart(6)} ${'faults'.padStart(7)}  result`);
for (const r of rows)
  console.log(
    `${r.scenario.padEnd(14)} ${String(r.events).padStart(8)} ${String(r.eventsPerS).padStart(9)} ${String(r.lost).padStart(5)} ${String(r.duplicated).padStart(4)} ${String(r.unexpected).padStart(6)} ${String(r.drift).padStart(6)} ${String(r.snapshotsFailed).padStart(9)} ${String(r.kills).padStart(6)} ${String(r.faults).padStart(7)}  ${r.passed ? 'pass' : 'FAIL'}`,
  );
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
    'and snapshots whose hash fails. A scenario passes only with all of these at zero, and a fault scenario',
    'only if its fault fired.',
    '',
    `Last run: ${new Date().toISOString().slice(0, 10)}, ${EVENTS.toLocaleString('en')} events per scenario, 2 cores shared by the load, the workers, Redis and PostgreSQL.`,
    '',
    '| scenario | what it does | events | events/s | lost | duplicated | unexpected | drift | snapshots failed | kills | faults | result |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.scenario} | ${what.get(r.scenario)} | ${r.events} | ${r.eventsPerS} | ${r.lost} | ${r.duplicated} | ${r.unexpected} | ${r.drift} | ${r.snapshotsFailed} | ${r.kills} | ${r.faults} | ${r.passed ? 'pass' : 'FAIL'} |`),
    '',
    'events/s is the ledger divided by the time from the first emit until every event was stored, faults',
    'included. `migrate-x10` plays no load: it passes when ten concurrent `migrate` runs all exit 0 and no',
    'migration was applied twice.',
    '',
  ];
  return lines.join('\n');
}
