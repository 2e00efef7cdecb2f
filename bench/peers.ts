/**
 * npm run bench:peers — the same move rows (bench/ingest.ts's: 1,000 sessions, card data) stored
 * through what a user would build instead, and through our pipeline, in one run:
 *   - pg-boss: jobs of --per-job events inserted in bulk; a consumer fetching --batch jobs at a time
 *     and writing their events with one INSERT, in the transaction that completes the jobs;
 *   - graphile-worker: batch jobs (a payload that is an array of --per-job events) added with
 *     add_jobs; a runner with a local queue of --batch jobs, one INSERT per job;
 *   - ours: SDK -> BullMQ (Redis) -> 1 worker process (default config: aggregates, live state,
 *     jobs all on) -> PostgreSQL.
 * The peers write into tables made with (LIKE moves INCLUDING ALL), ON CONFLICT (session_id, id) DO
 * NOTHING; bench/peer-queues.ts has each one's configuration and why (their best we found).
 *
 * For each system: events/s at saturation (the producer emits all --events; the clock stops when all
 * are committed), the three back to back in each of --rounds rounds (medians reported; the ratio to
 * ours is the median of the rounds' ratios); then an exactly-once check each: --kill-events events,
 * the consumer (worker) process SIGKILLed once --kill-at of them are stored, restarted, and every
 * emitted id checked stored exactly once. Prints a table, then one JSON line (last).
 * Options: --events N (default 200000), --kill-events N (default 50000; 0 skips the check),
 * --per-job N (events per job, default 100 as our SDK), --batch N (jobs per pg-boss fetch and in
 * graphile-worker's local queue, default 50), --rounds N (default 3), --kill-at F (default 0.4),
 * --only pgboss,graphile,ours.
 *
 * Child mode: `node bench/peers.ts --consumer pgboss|graphile --phase NAME --batch N` (with
 * PEERS_DATABASE_URL) runs a peer's consumer until SIGTERM; it says {ready, lockIds} over IPC.
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { ensureDatabase, migrateUp } from '../src/db/migrate.ts';
import { openOrm } from '../src/db/orm.ts';
import { JOBS_SCHEMA } from '../src/jobs/boss.ts';
import { migrateJobs } from '../src/jobs/install.ts';
import { createProducer } from '../src/producers/index.ts';
import { deletePrefix } from '../src/redis.ts';
import { dropDatabase, round } from './lib.ts';
import { killConsumer, killRunning, listenStored, makeRow, sleep, startConsumer, stopConsumer, verify, waitFor, type Verdict } from './peer-harness.ts';
import { CONSUMERS, PEERS, PRODUCERS, SCHEMAS, phaseNames, type MoveRow, type Peer, type PeerSettings } from './peer-queues.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    'kill-events': { type: 'string', default: '50000' },
    'per-job': { type: 'string', default: '100' },
    batch: { type: 'string', default: '50' },
    'kill-at': { type: 'string', default: '0.4' },
    rounds: { type: 'string', default: '3' },
    only: { type: 'string', default: 'pgboss,graphile,ours' },
    consumer: { type: 'string' },
    phase: { type: 'string' },
  },
});
const SETTINGS: PeerSettings = { batch: Number(args.batch) };
const log = (s: string) => process.stderr.write(`${s}\n`);

/** Child mode: one peer's consumer, until SIGTERM (graceful) or SIGKILL (the point). */
async function consumerMain(peer: Peer, phase: string): Promise<void> {
  if (!PEERS.includes(peer)) throw new Error(`--consumer: one of ${PEERS.join(', ')}`);
  const c = await CONSUMERS[peer](process.env.PEERS_DATABASE_URL!, phase, SETTINGS);
  process.once('SIGTERM', () => {
    c.stop().then(
      () => process.exit(0),
      (e: unknown) => {
        log(`stopping the ${peer} consumer: ${String(e)}`);
        process.exit(1);
      },
    );
  });
  process.send!({ ready: true, lockIds: c.lockIds });
}

// ---------------------------------------------------------------- the bench

const N = Number(args.events);
const KILL_N = Number(args['kill-events']);
const PER_JOB = Number(args['per-job']);
const KILL_AT = Number(args['kill-at']);
const ROUNDS = Number(args.rounds);
const ONLY = new Set(args.only.split(','));
for (const [name, v, min] of [['--events', N, 1], ['--kill-events', KILL_N, 0], ['--per-job', PER_JOB, 1], ['--batch', SETTINGS.batch, 1], ['--rounds', ROUNDS, 1]] as const) {
  if (!Number.isInteger(v) || v < min) throw new Error(`${name}: an integer >= ${min}, not ${v}`);
}
if (!(KILL_AT > 0 && KILL_AT < 1)) throw new Error(`--kill-at: a fraction between 0 and 1, not ${KILL_AT}`);
for (const s of ONLY) if (s !== 'ours' && !(PEERS as readonly string[]).includes(s)) throw new Error(`--only: ${s}? (pgboss, graphile, ours)`);
const ADMIN = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const dbName = `gp_bench_peers_${process.pid}`;
const dbUrl = Object.assign(new URL(ADMIN), { pathname: `/${dbName}` }).toString();
/** Jobs per producer call, and calls in flight: up to 10,000 events unsent, as bench/ingest.ts's emit window. */
const JOBS_PER_SEND = 10;
const SENDS_IN_FLIGHT = Math.max(1, Math.floor(10_000 / (PER_JOB * JOBS_PER_SEND)));

interface Result {
  eventsPerS: number;
  /** The kill phase's check. */
  verdict?: Verdict;
  storedAtKill: number;
  /** Rows a consumer was given again after the kill and the primary key turned away. */
  duplicatesSuppressed: number;
  /** From the restart to the last event stored (bounded below by the system's lock or expiry). */
  recoveryS: number;
  /** How long the producer took to emit all N (saturation run): when it is near the total, the producer is what limits. */
  emitS: number;
}

// ------------------------------------------------ peers

/** Emits n rows as jobs of PER_JOB, JOBS_PER_SEND jobs a call, SENDS_IN_FLIGHT calls at once. */
async function emitJobs(send: (jobs: MoveRow[][]) => Promise<void>, n: number, tag: string, ids: string[]): Promise<void> {
  const at = new Date().toISOString();
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; i < n; ) {
    const jobs: MoveRow[][] = [];
    for (let j = 0; j < JOBS_PER_SEND && i < n; j++) {
      const job: MoveRow[] = [];
      for (let k = 0; k < PER_JOB && i < n; k++, i++) {
        const r = makeRow(i, tag, at);
        ids.push(r.id);
        job.push(r);
      }
      jobs.push(job);
    }
    const p = send(jobs).finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= SENDS_IN_FLIGHT) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
}

async function createPeerTable(table: string): Promise<void> {
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  await c.query(`CREATE TABLE IF NOT EXISTS ${table} (LIKE moves INCLUDING ALL)`);
  await c.end();
}

async function benchPeer(peer: Peer, phase: string, n: number): Promise<Result> {
  const { table, queue, channel } = phaseNames(peer, phase);
  await createPeerTable(table);
  const producer = await PRODUCERS[peer](dbUrl, queue);
  const stored = await listenStored(dbUrl, channel);
  const ids: string[] = [];
  let consumer = await startConsumer({ system: peer, dbUrl, phase, batch: SETTINGS.batch });
  try {
    const t0 = performance.now();
    let emitS = NaN;
    const tag = `${peer}${phase}`;
    const emitting = emitJobs(producer.send, n, tag, ids).then(() => void (emitS = (performance.now() - t0) / 1000));
    let storedAtKill = 0;
    let restartedAt = t0;
    if (phase === 'kill') {
      await waitFor(stored.stored, Math.floor(n * KILL_AT), 300_000);
      await killConsumer(consumer);
      storedAtKill = stored.stored();
      await emitting;
      await producer.recover(consumer.lockIds);
      restartedAt = performance.now();
      consumer = await startConsumer({ system: peer, dbUrl, phase, batch: SETTINGS.batch });
    }
    await emitting;
    const done = await waitFor(stored.stored, n, phase === 'kill' ? 240_000 : 300_000);
    const t1 = performance.now();
    if (!done) log(`${peer} ${phase}: only ${stored.stored()} of ${n} stored before the timeout`);
    if (phase === 'kill') await sleep(1000); // a late redelivery would show in `given`
    await stopConsumer(consumer);
    const verdict = phase === 'kill' ? await verify(dbUrl, table, `session_id LIKE '${tag}-%'`, ids) : undefined;
    return { eventsPerS: n / ((t1 - t0) / 1000), verdict, storedAtKill, duplicatesSuppressed: stored.given() - stored.stored(), recoveryS: (t1 - restartedAt) / 1000, emitS };
  } finally {
    await stopConsumer(consumer);
    await stored.close();
    await producer.close();
  }
}

// ------------------------------------------------ ours

async function benchOurs(phase: string, n: number): Promise<Result> {
  const prefix = `gppeers${process.pid}${phase}`;
  const tag = `ours${phase}`;
  const ids: string[] = [];
  const db = new pg.Client({ connectionString: dbUrl });
  await db.connect();
  // What bench/ingest.ts waits on: the sessions' event counts, committed with the events.
  const stored = async () => Number((await db.query('SELECT coalesce(sum(event_count), 0)::bigint AS n FROM sessions WHERE id LIKE $1', [`${tag}-%`])).rows[0].n);
  let consumer = await startConsumer({ system: 'ours', dbUrl, redisUrl: REDIS_URL, prefix });
  const p = createProducer({ connection: REDIS_URL, prefix, maxBatchEvents: PER_JOB });
  try {
    const t0 = performance.now();
    let emitS = NaN;
    const emitting = (async () => {
      const at = new Date().toISOString();
      const window: Promise<unknown>[] = [];
      for (let i = 0; i < n; i++) {
        const r = makeRow(i, tag, at);
        ids.push(r.id);
        window.push(p.move({ sessionId: r.session_id, id: r.id, seq: r.seq, at: r.at, player: r.player_id, action: r.action, round: r.round, turn: r.turn, data: r.data as Record<string, unknown> }));
        if (window.length >= 10_000) await Promise.all(window.splice(0));
      }
      await Promise.all(window);
      emitS = (performance.now() - t0) / 1000;
    })();
    let storedAtKill = 0;
    let restartedAt = t0;
    if (phase === 'kill') {
      await waitFor(stored, Math.floor(n * KILL_AT), 300_000);
      await killConsumer(consumer);
      storedAtKill = await stored();
      await emitting;
      restartedAt = performance.now();
      consumer = await startConsumer({ system: 'ours', dbUrl, redisUrl: REDIS_URL, prefix });
    }
    await emitting;
    const done = await waitFor(stored, n, phase === 'kill' ? 240_000 : 300_000, phase === 'kill' ? 50 : 10);
    const t1 = performance.now();
    if (!done) log(`ours ${phase}: only ${await stored()} of ${n} stored before the timeout`);
    if (phase === 'kill') await sleep(1000);
    await stopConsumer(consumer);
    const stopped = consumer.logs.find((l) => l.msg === 'worker stopped') ?? {};
    const verdict = phase === 'kill' ? await verify(dbUrl, 'moves', `session_id LIKE '${tag}-%'`, ids) : undefined;
    return { eventsPerS: n / ((t1 - t0) / 1000), verdict, storedAtKill, duplicatesSuppressed: Number(stopped.duplicates ?? NaN), recoveryS: (t1 - restartedAt) / 1000, emitS };
  } finally {
    await stopConsumer(consumer);
    await p.close();
    await db.end();
    await deletePrefix(REDIS_URL, prefix);
  }
}

// ------------------------------------------------ main

type System = Peer | 'ours';
const LABELS: Record<System, string> = { pgboss: 'pg-boss 12 (batch fetch, transactional)', graphile: 'graphile-worker 0.18 (batch jobs)', ours: 'ours: SDK -> BullMQ -> 1 worker -> PG' };
const KEYS: Record<System, string> = { pgboss: 'pgboss', graphile: 'graphile_worker', ours: 'ours' };

const run = (s: System, phase: string, n: number) => (s === 'ours' ? benchOurs(phase, n) : benchPeer(s, phase, n));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

async function main(): Promise<void> {
  const systems = (['pgboss', 'graphile', 'ours'] as const).filter((s) => ONLY.has(s));
  await ensureDatabase(dbUrl);
  const orm = await openOrm({ databaseUrl: dbUrl, poolMax: 1 });
  await migrateUp(orm, dbUrl);
  await migrateJobs(dbUrl, JOBS_SCHEMA);
  await orm.close();
  process.once('exit', killRunning);
  try {
    log(`events: ${N} per saturation run, ${ROUNDS} rounds; ${KILL_N} in the kill run (SIGKILL at ${KILL_AT * 100}% stored); ${PER_JOB} events per job, ${SETTINGS.batch} jobs per peer fetch`);
    // Rounds of the saturation runs, the systems back to back in each, so that each round's ratios
    // compare minutes of the same machine (shared: other work comes and goes); the medians are reported.
    const sat = Object.fromEntries(systems.map((s) => [s, [] as Result[]])) as Record<System, Result[]>;
    for (let r = 1; r <= ROUNDS; r++) {
      for (const s of systems) {
        const res = await run(s, `sat${r}`, N);
        sat[s].push(res);
        log(`round ${r}: ${LABELS[s]}: ${Math.round(res.eventsPerS)} events/s (the producer done after ${round(res.emitS, 2)} s of ${round(N / res.eventsPerS, 2)} s)`);
      }
    }
    const kill = {} as Record<System, Result>;
    for (const s of KILL_N > 0 ? systems : []) {
      kill[s] = await run(s, 'kill', KILL_N);
      const v = kill[s].verdict!;
      if (kill[s].storedAtKill >= KILL_N) log(`${LABELS[s]}: everything was stored before the SIGKILL landed; the check proves nothing (use more --kill-events)`);
      log(`${LABELS[s]} after SIGKILL at ${kill[s].storedAtKill} stored: ${v.rows} rows, ${v.distinct} distinct, ${v.missing} missing, ${v.unexpected} unexpected; ${kill[s].duplicatesSuppressed} redelivered rows turned away; all stored ${round(kill[s].recoveryS, 1)} s after the restart`);
    }

    const result: Record<string, unknown> = { events: N, rounds: ROUNDS, kill_events: KILL_N, per_job: PER_JOB, batch: SETTINGS.batch };
    const table = [['system', 'events/s', 'range', 'vs ours', 'exactly once', 'dups turned away', 'recovery s']];
    for (const s of systems) {
      const rates = sat[s].map((x) => x.eventsPerS);
      // The median of the rounds' ratios (each against ours in the same round), not a ratio of medians.
      const ratio = sat.ours ? round(median(rates.map((x, i) => x / sat.ours[i].eventsPerS)), 3) : null;
      const k = kill[s];
      const v = k?.verdict;
      result[KEYS[s]] = {
        events_per_s: Math.round(median(rates)),
        ratio_to_ours: ratio,
        exactly_once: v?.exactlyOnce ?? null,
        rounds_events_per_s: rates.map(Math.round),
        ...(k && v && { kill_rows: v.rows, kill_distinct: v.distinct, kill_missing: v.missing, kill_unexpected: v.unexpected, stored_at_kill: k.storedAtKill, duplicates_turned_away: k.duplicatesSuppressed, recovery_s: round(k.recoveryS, 1) }),
      };
      table.push([
        LABELS[s],
        String(Math.round(median(rates))),
        `${Math.round(Math.min(...rates))}-${Math.round(Math.max(...rates))}`,
        ratio === null ? '-' : ratio.toFixed(3),
        v ? `${v.exactlyOnce} (${v.rows}/${v.distinct}/${v.missing})` : '-',
        k ? String(k.duplicatesSuppressed) : '-',
        k ? round(k.recoveryS, 1).toFixed(1) : '-',
      ]);
    }
    const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
    console.log(table.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')).join('\n'));
    console.log(`events/s: median of ${ROUNDS} rounds of ${N} events (range: the rounds'); vs ours: the median of the rounds' ratios`);
    if (KILL_N > 0) console.log(`exactly once: ${KILL_N} events, the consumer SIGKILLed at ${KILL_AT * 100}% stored and restarted; rows / distinct ids / missing; recovery: restart to the last event stored`);
    console.log(JSON.stringify(result));
  } finally {
    killRunning();
    const c = new pg.Client({ connectionString: dbUrl });
    await c.connect();
    // The peers' schemas live in the scratch database and go with it; dropped first all the same.
    for (const s of systems) if (s !== 'ours') await c.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(SCHEMAS[s])} CASCADE`);
    await c.end();
    await dropDatabase(ADMIN, dbName);
  }
}

if (args.consumer) await consumerMain(args.consumer as Peer, args.phase ?? 'sat');
else await main();
