/**
 * Worker processes as operators run them: killed with SIGKILL mid-batch, stopped with SIGTERM, and
 * two of them sharing one queue. After every scenario each event is stored exactly once and the
 * per-session counters agree with the rows (a redelivered job never counts twice). On both queue
 * backends: a SIGKILLed worker's jobs come back through BullMQ's stalled-job check on Redis and on
 * PostgreSQL alike.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProducer } from '../../../src/producers/index.ts';
import { BACKENDS, backendEnv, count, dropQueue, openFixture, prepareQueue, queueUrl, rows, testEnv, uniqueName, waitFor, type Fixture } from '../../helpers/services.ts';
import { plainQueue, spawnCli } from '../../helpers/worker.ts';

describe.each(BACKENDS)('worker processes on %s', (backend) => {
let fx: Fixture;
const prefixes: string[] = [];
beforeAll(async () => {
  fx = await openFixture();
});
afterAll(async () => {
  await Promise.all(prefixes.map((prefix) => dropQueue(backend, fx.db.url, prefix)));
  await fx?.close();
});

/** A new queue prefix of this file's, its PostgreSQL schema made when on that backend. */
async function newPrefix(): Promise<string> {
  const prefix = uniqueName('q');
  prefixes.push(prefix);
  await prepareQueue(backend, fx.db.url, prefix);
  return prefix;
}

/** Enqueues n move events over `sessions` sessions named `${tag}-k`; returns the queue prefix. */
async function load(tag: string, n: number, sessions = 50, existing?: string): Promise<string> {
  const prefix = existing ?? (await newPrefix());
  const p = createProducer({ connection: queueUrl(backend, fx.db.url), prefix });
  for (let i = 0; i < n; i += 5000) {
    await Promise.all(Array.from({ length: Math.min(5000, n - i) }, (_, j) => p.move({ sessionId: `${tag}-${(i + j) % sessions}`, player: 'u', action: 'a', turn: i + j })));
  }
  await p.close();
  return prefix;
}

async function assertExactlyOnce(tag: string, n: number) {
  expect(await count(fx.orm, 'moves', 'session_id like $1', [`${tag}-%`])).toBe(n);
  const [s] = await rows(fx.orm, 'select coalesce(sum(event_count), 0) as c, count(*) as k from sessions where id like $1', [`${tag}-%`]);
  expect(Number(s.c)).toBe(n);
  expect(await count(fx.orm, 'dead_letters')).toBe(0);
}

async function queueCounts(prefix: string) {
  const q = plainQueue(prefix, backend === 'postgres' ? fx.db.url : undefined);
  try {
    return await q.getJobCounts('waiting', 'active', 'failed', 'delayed');
  } finally {
    await q.close();
  }
}

const workerEnv = (prefix: string) => testEnv(fx.db.url, prefix, { ...backendEnv(backend), GP_LOCK_MS: '2000', GP_BATCH_ROWS: '1000', GP_LOG_LEVEL: 'info' });

/**
 * A fresh worker takes over what a dead or hung one held (its jobs come back after their lock): every
 * event of `${tag}-*` stored exactly once and the queue drained; then it stops cleanly on SIGTERM.
 */
async function takeOver(prefix: string, tag: string, n: number): Promise<void> {
  const b = spawnCli(['worker'], workerEnv(prefix));
  await waitFor('every event stored', async () => (await count(fx.orm, 'moves', 'session_id like $1', [`${tag}-%`])) === n, 60_000);
  await waitFor('queue drained', async () => {
    const q = await queueCounts(prefix);
    return q.waiting + q.active + q.delayed === 0;
  });
  b.child.kill('SIGTERM');
  expect(await b.exited).toBe(0);
  await assertExactlyOnce(tag, n);
}

describe('worker processes', () => {
  it('loses and duplicates nothing when a worker is killed with SIGKILL mid-batch', async () => {
    const n = 40_000;
    const prefix = await load('kill', n);
    const a = spawnCli(['worker'], workerEnv(prefix));
    await a.waitForLog('worker started');
    await waitFor('some rows committed', async () => (await count(fx.orm, 'moves', 'session_id like $1', ['kill-%'])) > 3000);
    a.child.kill('SIGKILL');
    expect(await a.exited).toBe(null);
    const atKill = await count(fx.orm, 'moves', 'session_id like $1', ['kill-%']);
    expect(atKill).toBeLessThan(n);
    // The dead worker's jobs are still locked; a new worker takes them over once the lock expires.
    const c = await queueCounts(prefix);
    expect(c.active).toBeGreaterThan(0);
    await takeOver(prefix, 'kill', n);
    expect((await queueCounts(prefix)).failed).toBe(0);
  });

  it('finishes the batch in hand and acknowledges it on SIGTERM, leaving the rest queued', async () => {
    const n = 30_000;
    const prefix = await load('term', n);
    const a = spawnCli(['worker'], workerEnv(prefix));
    await waitFor('some rows committed', async () => (await count(fx.orm, 'moves', 'session_id like $1', ['term-%'])) > 3000);
    a.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    await a.waitForLog('worker stopped');
    const stored = await count(fx.orm, 'moves', 'session_id like $1', ['term-%']);
    const c = await queueCounts(prefix);
    // Nothing was left half-done: no job is still active, and stored + still queued is everything.
    expect(c.active).toBe(0);
    expect(c.failed).toBe(0);
    expect(stored + c.waiting * 100).toBe(n);
    expect(stored).toBeLessThan(n);
    const b = spawnCli(['worker'], workerEnv(prefix));
    await waitFor('every event stored', async () => (await count(fx.orm, 'moves', 'session_id like $1', ['term-%'])) === n, 60_000);
    b.child.kill('SIGINT');
    expect(await b.exited).toBe(0);
    await assertExactlyOnce('term', n);
  });

  it('exits 1 at GP_SHUTDOWN_TIMEOUT_MS when its drain hangs, naming the step, and its jobs land once elsewhere', async () => {
    const n = 500;
    const prefix = await newPrefix();
    const a = spawnCli(['worker'], { ...workerEnv(prefix), GP_SHUTDOWN_TIMEOUT_MS: '1500' });
    await a.waitForLog('worker started');
    // The moves table locked: the worker's batch cannot commit (lock timeouts, retried) until released.
    const lock = new pg.Client({ connectionString: fx.db.url });
    await lock.connect();
    try {
      await lock.query('BEGIN');
      await lock.query('LOCK TABLE moves IN ACCESS EXCLUSIVE MODE');
      await load('hang', n, 5, prefix);
      await waitFor('the worker holds jobs', async () => (await queueCounts(prefix)).active > 0);
      const t0 = performance.now();
      a.child.kill('SIGTERM');
      expect(await a.exited).toBe(1);
      expect(performance.now() - t0).toBeLessThan(10_000);
      const late = a.logs.find((l) => String(l.msg).startsWith('drain did not finish'));
      expect(late).toMatchObject({ timeoutMs: 1500, step: expect.any(String) });
    } finally {
      await lock.query('ROLLBACK').catch(() => {});
      await lock.end();
    }
    // What it held comes back after its lock and is stored once.
    await takeOver(prefix, 'hang', n);
  });

  it('lets two worker processes share one queue', async () => {
    const n = 30_000;
    const prefix = await newPrefix();
    const workers = [spawnCli(['worker'], workerEnv(prefix)), spawnCli(['worker'], workerEnv(prefix))];
    // Both consume before the load starts, so neither can finish it alone before the other is up.
    await Promise.all(workers.map((w) => w.waitForLog('worker started')));
    await load('pair', n, 50, prefix);
    await waitFor('every event stored', async () => (await count(fx.orm, 'moves', 'session_id like $1', ['pair-%'])) === n, 60_000);
    for (const w of workers) w.child.kill('SIGTERM');
    const stops = await Promise.all(workers.map((w) => w.waitForLog('worker stopped')));
    expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 0]);
    const jobs = stops.map((s) => s.jobs as number);
    expect(jobs[0]).toBeGreaterThan(0);
    expect(jobs[1]).toBeGreaterThan(0);
    // Every job ran at least once; on a loaded machine a job whose lock lapsed runs again on the other
    // worker (at-least-once), which deduplication makes harmless: the rows below are what must be exact.
    expect(jobs[0] + jobs[1]).toBeGreaterThanOrEqual(n / 100);
    await assertExactlyOnce('pair', n);
  });
});
});
