/**
 * npm run chaos — fault scenarios held to a ledger (issue 12). Each scenario plays a ledgered load
 * (src/loadgen/load.ts) through the SDK into a fresh database while several worker processes consume
 * it and a fault is injected; once the pipeline drained, the checker reports events lost, duplicated
 * or unexpected, aggregates that differ from recomputation (`verify`), sessions whose live state or
 * status differ from re-folding their history in seq order, and snapshots whose hash fails. A scenario
 * passes only with all of these at zero.
 *
 * Scenarios so far: `baseline` (no fault), `sigkill` (a random worker SIGKILLed every 2 s and
 * replaced), `commit-crash` (workers kill themselves after a commit and before the acknowledgement,
 * half the batches; a fault scenario whose fault never fired fails). Prints a table, then one JSON line:
 * {"scenarios":N,"passed":N,"lost":0,"duplicated":0,"drift":0,...}. Exit 1 unless every scenario passed.
 * Options: --events N per scenario (default 100000), --workers N (default 4), --only a,b, --short
 * (a CI-sized run: 6,000 events).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { verifyAggregates } from '../src/aggregates/verify.ts';
import { loadConfig } from '../src/config.ts';
import { ensureDatabase, migrateUp } from '../src/db/migrate.ts';
import { openOrm } from '../src/db/orm.ts';
import { createReader } from '../src/db/reader.ts';
import { checkLedger, checkStates, likePrefix } from '../src/loadgen/ledger.ts';
import { runLoad } from '../src/loadgen/load.ts';
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
  },
});
const EVENTS = args.short ? 6000 : Number(args.events);
const WORKERS = Number(args.workers);
const ADMIN = process.env.CHAOS_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.CHAOS_REDIS_URL ?? 'redis://127.0.0.1:6379';
const WORKER = fileURLToPath(new URL('./chaos-worker.ts', import.meta.url));
/** Turns per session: 7 events a turn, 11 around them. */
const TURNS = 20;

interface Scenario {
  name: string;
  what: string;
  /** Probability a worker kills itself after a commit, before the acknowledgement. */
  killAfterCommit?: number;
  /** Kills a random worker this often (ms), starting a replacement. */
  sigkillEveryMs?: number;
}

const SCENARIOS: Scenario[] = [
  { name: 'baseline', what: `${WORKERS} workers, no fault` },
  { name: 'sigkill', what: 'a random worker SIGKILLed every 2 s and replaced', sigkillEveryMs: 2000 },
  // A worker commits few, large batches (concurrency 128, a 10 ms window): half of them is what makes
  // several crashes fall inside even the short run.
  { name: 'commit-crash', what: 'workers die after a commit, before the acknowledgement (half the batches)', killAfterCommit: 0.5 },
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
  passed: boolean;
}

async function adminQuery(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: ADMIN });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

async function run(s: Scenario): Promise<Row> {
  const name = `gp_chaos_${process.pid}_${s.name.replace(/-/g, '_')}`;
  const url = Object.assign(new URL(ADMIN), { pathname: `/${name}` }).toString();
  const prefix = `gp-chaos-${process.pid}-${s.name}`;
  const run = `chaos-${s.name}`;
  await ensureDatabase(url);
  const orm = await openOrm({ databaseUrl: url, poolMax: 2 });
  await migrateUp(orm, url);
  const env = {
    ...process.env,
    DATABASE_URL: url,
    REDIS_URL,
    GP_QUEUE_PREFIX: prefix,
    // A killed worker's jobs come back after their lock: 3 s keeps a scenario short.
    GP_LOCK_MS: '3000',
    GP_METRICS_PORT: '0',
    GP_LOG_LEVEL: 'error',
  };
  const workers = new Set<ChildProcess>();
  let kills = 0;
  let stopping = false;
  const startOne = () => {
    const c = spawn(process.execPath, [WORKER, String(s.killAfterCommit ?? 0)], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    workers.add(c);
    c.once('exit', (_code, signal) => {
      workers.delete(c);
      if (stopping) return;
      if (signal === 'SIGKILL') kills++;
      // A supervisor (Kubernetes, compose) starts a replacement for every worker that dies.
      startOne();
    });
  };
  for (let i = 0; i < WORKERS; i++) startOne();
  const killer = s.sigkillEveryMs
    ? setInterval(() => {
        const live = [...workers];
        live[Math.floor(Math.random() * live.length)]?.kill('SIGKILL');
      }, s.sigkillEveryMs)
    : null;
  const reader = createReader(url, { max: 4 });
  const producer = createProducer({ connection: REDIS_URL, prefix, sequenceSeed: pgSequenceSeed(reader) });
  const t0 = performance.now();
  try {
    const sessions = Math.max(1, Math.round(EVENTS / (11 + 7 * TURNS)));
    const load = await runLoad(producer, { run, sessions, turns: TURNS, seed: 7 });
    await producer.close();
    // Drained: every ledger event stored (the checker's own question, asked until it holds or 3 minutes
    // passed: then it reports what is missing). Not the sessions' watermarks: a gap given up moves them.
    for (const until = performance.now() + 180_000; ; ) {
      if ((await checkLedger(reader, load.ledger, run)).lost.length === 0 || performance.now() > until) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const ms = performance.now() - t0;
    if (killer) clearInterval(killer);
    stopping = true;
    await Promise.all([...workers].map((c) => new Promise((r) => (c.once('exit', r), c.kill('SIGTERM')))));
    const ledger = await checkLedger(reader, load.ledger, run);
    const states = await checkStates(reader, load.ledger, run);
    const aggregates = await verifyAggregates(orm, { timeZone: 'UTC', winRateMinGames: loadConfig({}).winRateMinGames });
    const snaps = await verifySnapshots(orm);
    const drift = aggregates.drift.length + states.stateDrift.length + states.notFinished.length;
    const row: Row = {
      scenario: s.name,
      events: ledger.emitted,
      eventsPerS: Math.round(ledger.emitted / (ms / 1000)),
      lost: ledger.lost.length,
      duplicated: ledger.duplicated.length + ledger.duplicatedSeqs.length,
      unexpected: ledger.unexpected,
      drift,
      snapshotsFailed: snaps.mismatches.length,
      kills,
      passed: false,
    };
    // A fault scenario whose fault never fired proves nothing.
    const faulted = !(s.killAfterCommit || s.sigkillEveryMs) || kills > 0;
    row.passed = faulted && row.lost === 0 && row.duplicated === 0 && row.unexpected === 0 && row.drift === 0 && row.snapshotsFailed === 0 && ledger.deadLettered === 0 && load.refused === 0;
    if (!row.passed) console.error(`${s.name}: ${JSON.stringify({ lost: ledger.lost.slice(0, 5), dup: ledger.duplicatedSeqs.slice(0, 3), states, aggregateDrift: aggregates.drift.slice(0, 3), refused: load.refused, deadLettered: ledger.deadLettered })}`);
    return row;
  } finally {
    if (killer) clearInterval(killer);
    stopping = true;
    for (const c of workers) c.kill('SIGKILL');
    await reader.close();
    await orm.close();
    await deletePrefix(REDIS_URL, prefix);
    await adminQuery(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  }
}

const only = args.only ? new Set(String(args.only).split(',')) : null;
const rows: Row[] = [];
for (const s of SCENARIOS.filter((x) => !only || only.has(x.name))) {
  console.log(`${s.name}: ${s.what} …`);
  rows.push(await run(s));
}
console.log(`\n${'scenario'.padEnd(14)} ${'events'.padStart(8)} ${'events/s'.padStart(9)} ${'lost'.padStart(5)} ${'dup'.padStart(4)} ${'unexp'.padStart(6)} ${'drift'.padStart(6)} ${'snapfail'.padStart(9)} ${'kills'.padStart(6)}  result`);
for (const r of rows)
  console.log(
    `${r.scenario.padEnd(14)} ${String(r.events).padStart(8)} ${String(r.eventsPerS).padStart(9)} ${String(r.lost).padStart(5)} ${String(r.duplicated).padStart(4)} ${String(r.unexpected).padStart(6)} ${String(r.drift).padStart(6)} ${String(r.snapshotsFailed).padStart(9)} ${String(r.kills).padStart(6)}  ${r.passed ? 'pass' : 'FAIL'}`,
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
process.exitCode = rows.every((r) => r.passed) ? 0 : 1;
