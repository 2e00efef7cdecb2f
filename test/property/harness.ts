/**
 * One property run: sessions drawn from a seed, delivered through raw BullMQ jobs (shuffled, with
 * re-sends, in jobs of random sizes) to two worker processes of which a random one is SIGKILLed at
 * random points and replaced; then, once everything is stored and settled, the stored and derived data
 * is compared with the reference model. Usable from vitest (pass a database cloned from the migrated
 * template) and from scripts/property.ts (it creates and drops its own).
 */
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { migrateJobs } from '../../src/jobs/install.ts';
import { createReader, foldStatDeltas, migrateUp, openOrm, rateFinishedSessions, rebuildAggregates, validateEvent, verifyAggregates } from '../../src/index.ts';
import { JOBS_SCHEMA, PGBOSS_SCHEMA } from '../../src/jobs/boss.ts';
import { deletePrefix } from '../../src/redis.ts';
import { REDIS_URL, adminQuery, databaseUrl } from '../helpers/env.ts';
import { runCase, type WireEvent } from './arbitraries.ts';
import { SESSION_EVENT_TABLES, compareRun, type Difference } from './compare.ts';
import { deliveryPlan, prng } from './delivery.ts';
import { model } from './model.ts';
import { WorkerPool } from './workers.ts';

export type { Difference } from './compare.ts';

export interface Database {
  url: string;
  drop(): Promise<void>;
}

export interface RunOptions {
  sessions: number;
  /** Decides the sessions and the delivery plan (the kill timing varies anyway). @defaultValue random */
  seed?: number;
  /** Worker processes at a time. @defaultValue 2 */
  workers?: number;
  /** SIGKILLs during the run. @defaultValue 3 + 2 per 1000 sessions */
  kills?: number;
  /** A migrated database to run in (e.g. a clone of the test template); by default one is created and dropped. */
  database?: Database;
  /** Keep the database the run created (for a look after a failure). */
  keepDatabase?: boolean;
  /** Progress lines. */
  log?: (line: string) => void;
  winRateMinGames?: number;
  /** Longest wait for everything to be stored and settled. @defaultValue 600 s + 300 ms per session */
  settleTimeoutMs?: number;
  /** More worker environment (overrides). */
  env?: Record<string, string>;
}

export interface RunResult {
  sessions: number;
  events: number;
  differences: Difference[];
  seed: number;
  sends: number;
  duplicates: number;
  refused: number;
  jobs: number;
  kills: number;
  /** Jobs active (held by the workers) just before each kill: the ones redelivered after GP_LOCK_MS. */
  activeAtKills: number[];
  workersStarted: number;
  staleRatings: number;
  /** Whether everything was stored and settled before the comparison (if not, what was still missing shows as differences). */
  settled: boolean;
  settleState: string;
  /** The first error-level log lines of the workers. */
  workerErrors: Record<string, unknown>[];
  seconds: { generate: number; deliver: number; settle: number; compare: number; total: number };
  database?: string;
}

const JOB_OPTS = { removeOnComplete: true, removeOnFail: { age: 7 * 24 * 3600 }, attempts: 20, backoff: { type: 'exponential', delay: 1000 } };


/** A new database, migrated, with pg-boss's schema (as test/setup/global.ts prepares the template). */
export async function createDatabase(): Promise<Database & { name: string }> {
  const name = `gpp_${randomBytes(5).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  const url = databaseUrl(name);
  const drop = () => adminQuery(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  try {
    const orm = await openOrm({ databaseUrl: url, poolMax: 1 });
    try {
      await migrateUp(orm);
    } finally {
      await orm.close();
    }
    await migrateJobs(url, JOBS_SCHEMA);
  } catch (e) {
    await drop();
    throw e;
  }
  return { name, url, drop };
}

function accepted(e: WireEvent): boolean {
  try {
    validateEvent(JSON.parse(JSON.stringify(e)));
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runProperty(opts: RunOptions): Promise<RunResult> {
  const t0 = Date.now();
  const log = opts.log ?? (() => {});
  const seed = opts.seed ?? randomBytes(4).readUInt32BE() % 2 ** 31;
  const nWorkers = opts.workers ?? 2;
  const minGames = opts.winRateMinGames ?? 3;

  // The sessions, the model's expectations, the delivery plan. A generated event the contract refuses
  // is a bug of the generator; a "refused" variant the contract now accepts is not sent.
  const run = runCase(seed, opts.sessions);
  const events = run.sessions.reduce((n, s) => n + s.events.length, 0);
  for (const s of run.sessions)
    for (const e of s.events)
      for (const f of e.forms)
        if (!accepted(f)) {
          try {
            validateEvent(JSON.parse(JSON.stringify(f)));
          } catch (err) {
            throw new Error(`test/property generated an event the contract refuses (a generator bug, seed ${seed}): ${(err as Error).message}`);
          }
        }
  const expected = model(run.sessions);
  const plan = deliveryPlan(run, { kills: opts.kills ?? 3 + Math.floor(opts.sessions / 500), sendRefused: (e) => !accepted(e) });
  const refusedSent = new Set(plan.jobs.flat().filter((e) => !accepted(e)).map((e) => e.id.toLowerCase()));
  const tGen = Date.now();
  log(`seed ${seed}: ${run.sessions.length} sessions, ${events} events, ${plan.sends} sends (${plan.duplicates} re-sends, ${plan.refused} refused) in ${plan.jobs.length} jobs, ${plan.kills.length} kills`);

  const own = opts.database ? null : await createDatabase();
  const db = opts.database ?? own!;
  const prefix = `gpp_q_${randomBytes(4).toString('hex')}`;
  const env = {
    DATABASE_URL: db.url,
    REDIS_URL,
    GP_QUEUE_PREFIX: prefix,
    GP_LOG_LEVEL: 'info',
    GP_BATCH_MS: '5',
    GP_LOCK_MS: '2000',
    GP_METRICS_PORT: '0',
    GP_STATS_TZ: 'UTC',
    GP_RATING_DELAY_S: '0',
    GP_GAP_TIMEOUT_S: '0',
    GP_ABANDON_AFTER_S: '0',
    GP_WIN_RATE_MIN_GAMES: String(minGames),
    ...opts.env,
  };
  const pool = new WorkerPool(env, log);
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue('events', { connection, prefix });
  const client = new pg.Client({ connectionString: db.url });
  const reader = createReader(db.url, { max: 3 });
  let orm: Awaited<ReturnType<typeof openOrm>> | null = null;
  let settled = false;
  const result: RunResult = {
    sessions: run.sessions.length, events, differences: [], seed, sends: plan.sends, duplicates: plan.duplicates, refused: plan.refused,
    jobs: plan.jobs.length, kills: 0, activeAtKills: [], workersStarted: 0, staleRatings: 0, settled: false, settleState: '', workerErrors: [],
    seconds: { generate: (tGen - t0) / 1000, deliver: 0, settle: 0, compare: 0, total: 0 },
    ...(opts.keepDatabase && own ? { database: own.url } : {}),
  };
  try {
    await client.connect();
    const started = Array.from({ length: nWorkers }, () => pool.spawn());
    await Promise.all(started.map((w) => pool.waitStarted(w)));

    // Deliver with a small backlog, so jobs are enqueued about as fast as the workers take them, and
    // SIGKILL a random worker whenever the share of events stored passes one of the plan's points.
    const jitter = prng(seed ^ 0x5bd1e995);
    const counts = () => queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'failed');
    let share = { at: 0, value: 0 };
    const storedShare = async () => {
      if (Date.now() - share.at > 250) share = { at: Date.now(), value: Number((await client.query('select coalesce(sum(event_count), 0) as n from sessions')).rows[0].n) / Math.max(1, events) };
      return share.value;
    };
    let sent = 0;
    let k = 0;
    let lastLog = Date.now();
    while (sent < plan.jobs.length || k < plan.kills.length) {
      const c = await counts();
      const inQueue = c.waiting + c.active + c.delayed + c.prioritized + c['waiting-children'];
      if (sent < plan.jobs.length && c.waiting < 100) {
        const until = Math.min(plan.jobs.length, sent + 50);
        await queue.addBulk(plan.jobs.slice(sent, until).map((batch) => ({ name: 'events', data: { v: 1, events: batch }, opts: JOB_OPTS })));
        sent = until;
      } else if (k < plan.kills.length && ((await storedShare()) >= plan.kills[k]!.afterJob / plan.jobs.length || (sent === plan.jobs.length && inQueue === 0))) {
        await sleep(plan.kills[k]!.delayMs * (0.5 + jitter()));
        result.activeAtKills.push((await counts()).active);
        await pool.killOne(plan.kills[k++]!.worker);
        result.kills++;
      } else await sleep(50);
      if (Date.now() - lastLog > 5000) {
        lastLog = Date.now();
        log(`enqueued ${sent}/${plan.jobs.length} jobs, ${inQueue} in the queue, ${result.kills} kills`);
      }
    }
    const tDeliver = Date.now();
    result.seconds.deliver = (tDeliver - tGen) / 1000;
    log(`delivered ${plan.jobs.length} jobs with ${result.kills} kills in ${result.seconds.deliver}s; settling`);

    // Settle: every event stored, the queue drained, every final session's final snapshot hashed (by
    // the workers' pg-boss jobs, which can take long: they share one queue with the other snapshot
    // jobs), and nothing changing for a second. Give up when nothing moves for a while (snapshot jobs
    // included) with the queue drained: what is missing then stays missing.
    const want = events;
    const finals = [...expected.sessions.values()].filter((x) => x.finalTurns > 0).map((x) => x.id);
    const deadline = Date.now() + (opts.settleTimeoutMs ?? 600_000 + 300 * opts.sessions);
    const snapshotJobs = () =>
      client.query(`select count(*)::int as n from ${PGBOSS_SCHEMA}.job where name = 'gp-snapshot' and state in ('created', 'retry', 'active')`).then((r) => r.rows[0].n as number, () => -1);
    let last = '';
    let lastChange = Date.now();
    let lastSettleLog = 0;
    let jobs = { at: 0, n: 0 };
    for (;;) {
      const q = await counts();
      const [{ n }] = (await client.query(`select (${SESSION_EVENT_TABLES.map((t) => `(select count(*) from ${t})`).join(' + ')})::int as n`)).rows;
      const snaps = (await client.query(`select count(*) filter (where hash is null)::int as unhashed, count(distinct session_id) filter (where final and hash is not null and session_id = any($1))::int as finals from session_snapshots`, [finals])).rows[0];
      const busy = q.waiting + q.active + q.delayed + q.prioritized + q['waiting-children'];
      const state = `stored ${n}/${want}, queue ${busy} (failed ${q.failed}), final snapshots ${snaps.finals}/${finals.length}, unhashed ${snaps.unhashed}`;
      const done = n >= want && busy === 0 && snaps.finals === finals.length && snaps.unhashed === 0;
      if (!done && Date.now() - jobs.at > 2000) jobs = { at: Date.now(), n: await snapshotJobs() };
      const progress = done ? state : `${state}, snapshot jobs ${jobs.n}`;
      if (progress !== last) [last, lastChange] = [progress, Date.now()];
      const quiet = Date.now() - lastChange;
      if (done && quiet > 1000) {
        settled = true;
        log(`settled: ${state}`);
        break;
      }
      // Snapshot jobs a killed worker held run again once they expire (30 s) and pg-boss's supervisor sees it (every 10 s).
      if (Date.now() > deadline || (busy === 0 && quiet > (snaps.unhashed === 0 ? 5_000 : 90_000))) {
        log(`not settled, comparing anyway: ${progress}`);
        break;
      }
      if (Date.now() - lastSettleLog > 10_000) {
        lastSettleLog = Date.now();
        log(progress);
      }
      await sleep(200);
    }
    result.settled = settled;
    const tSettle = Date.now();
    result.seconds.settle = (tSettle - tDeliver) / 1000;

    // Fold the pending stat deltas and rate what is still unrated, then stop the workers.
    orm = await openOrm({ databaseUrl: db.url, poolMax: 2 });
    while ((await foldStatDeltas(orm, minGames, { timeZone: 'UTC' })) > 0);
    // (It returns a count or, lately, { rated, nextDueInS }.)
    const rated = (r: unknown) => (typeof r === 'number' ? r : ((r as { rated?: number }).rated ?? 0));
    while (rated(await rateFinishedSessions(orm, 0)) > 0);
    const codes = await pool.stop();
    while ((await foldStatDeltas(orm, minGames, { timeZone: 'UTC' })) > 0);
    result.workersStarted = pool.all.length;
    log(`workers stopped (exit codes ${codes.join(', ')}); comparing`);

    const { differences, staleRatings } = await compareRun({ db: client, reader, run, expected, refusedSent, winRateMinGames: minGames, log });
    result.differences = differences;
    result.staleRatings = staleRatings;
    // verify must see every stale rating (and nothing else: the incremental rows equal a recomputation).
    log('verify');
    const report = await verifyAggregates(orm, { timeZone: 'UTC', winRateMinGames: minGames });
    const stale = new Set((await client.query('select id from sessions where rating_stale')).rows.map((r) => r.id as string));
    for (const d of report.drift)
      if (d.kind !== 'ratings_input' || !stale.has(d.key)) differences.push({ session: null, what: `verify.${d.kind}`, expected: d.expected, actual: { key: d.key, value: d.actual } });
    const reported = new Set(report.drift.filter((d) => d.kind === 'ratings_input').map((d) => d.key));
    for (const id of stale) if (!reported.has(id)) differences.push({ session: id, what: 'verify.ratings_input.missing', expected: 'reported stale', actual: null });
    // rebuild re-rates the stale ones in order: afterwards every rating is the model's, and nothing else moved.
    log('rebuild, then compare again');
    await rebuildAggregates(orm, { timeZone: 'UTC', winRateMinGames: minGames });
    const again = await compareRun({ db: client, reader, run, expected, refusedSent, winRateMinGames: minGames, log });
    for (const d of again.differences) differences.push({ ...d, what: `after rebuild: ${d.what}` });
    if (again.staleRatings) differences.push({ session: null, what: 'after rebuild: sessions.rating_stale', expected: 0, actual: again.staleRatings });
    const q = await counts();
    if (q.failed) {
      const failed = await queue.getFailed(0, 4);
      differences.push({ session: null, what: 'queue.failed', expected: 0, actual: { jobs: q.failed, reasons: failed.map((j) => j.failedReason) } });
    }
    result.settleState = last;
    // A worker that died by itself is a failure; error log lines are worth a look, not a difference.
    for (const c of pool.crashes) differences.push({ session: null, what: 'worker.crash', expected: 'no exit', actual: c });
    result.workerErrors = pool.all.flatMap((w) => w.errors).slice(0, 10);
    result.seconds.compare = (Date.now() - tSettle) / 1000;
  } finally {
    await pool.stop(5_000).catch(() => {});
    await orm?.close().catch(() => {});
    await reader.close().catch(() => {});
    await client.end().catch(() => {});
    await queue.close().catch(() => {});
    connection.disconnect();
    await deletePrefix(REDIS_URL, prefix).catch(() => {});
    if (own && !opts.keepDatabase) await own.drop().catch(() => {});
  }
  result.seconds.total = (Date.now() - t0) / 1000;
  return result;
}

/** A short readable report of differences: counts per kind, the first few of each (of the commonest kinds). */
export function summarize(differences: Difference[], perKind = 1, kindsWithExamples = 20): string {
  const kinds = new Map<string, Difference[]>();
  for (const d of differences) {
    const list = kinds.get(d.what);
    if (list) list.push(d);
    else kinds.set(d.what, [d]);
  }
  const lines: string[] = [];
  [...kinds].sort((a, b) => b[1].length - a[1].length).forEach(([what, ds], i) => {
    lines.push(`${what}: ${ds.length}`);
    if (i < kindsWithExamples) for (const d of ds.slice(0, perKind)) lines.push(`  ${JSON.stringify(d).slice(0, 600)}`);
  });
  return lines.join('\n');
}

export function countKinds(differences: Difference[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const d of differences) out[d.what] = (out[d.what] ?? 0) + 1;
  return out;
}
