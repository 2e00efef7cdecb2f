/**
 * A worker's start, as operators meet it, in both run modes of the `worker` command (the ingest loop in
 * a worker thread, and GP_WORKER_HEAP_MB=0 on the main thread):
 * - its metrics port held by another process (two workers on a host with one GP_METRICS_PORT): it exits
 *   1 within seconds with one line naming the port, never says `worker started` and takes no job; what
 *   was queued is stored once by a worker that did start;
 * - SIGTERM while the start waits on a Redis that is not listening, or on a PostgreSQL that accepts
 *   connections and never answers: it exits 0 promptly, having consumed nothing;
 * - SIGTERM once it runs: it still drains (finishes and acknowledges the batch in hand), exit 0.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProducer } from '../../../src/producers/index.ts';
import { REDIS_URL, count, dropPrefix, openFixture, rows, testEnv, uniqueName, waitFor, type Fixture } from '../../helpers/services.ts';
import { freePort } from '../../helpers/redis-server.ts';
import { plainQueue, spawnCli, type ChildWorker } from '../../helpers/worker.ts';

let fx: Fixture;
const prefixes: string[] = [];
beforeAll(async () => {
  fx = await openFixture();
});
afterAll(async () => {
  await Promise.all(prefixes.map((p) => dropPrefix(p)));
  await fx?.close();
});

const MODES: [string, { tag: string; env: Record<string, string> }][] = [
  ['a worker thread', { tag: 't', env: {} }],
  ['the main thread (GP_WORKER_HEAP_MB=0)', { tag: 'm', env: { GP_WORKER_HEAP_MB: '0' } }],
];

function newPrefix(): string {
  const p = uniqueName('q');
  prefixes.push(p);
  return p;
}

/** Enqueues n moves over 20 sessions named `${tag}-k` (100 per job). */
async function load(prefix: string, tag: string, n: number): Promise<void> {
  const p = createProducer({ connection: REDIS_URL, prefix });
  await Promise.all(Array.from({ length: n }, (_, i) => p.move({ sessionId: `${tag}-${i % 20}`, player: 'u', action: 'a', turn: i })));
  await p.close();
}

async function queueCounts(prefix: string) {
  const q = plainQueue(prefix);
  try {
    return await q.getJobCounts('waiting', 'active', 'failed', 'delayed');
  } finally {
    await q.close();
  }
}

async function assertExactlyOnce(tag: string, n: number) {
  expect(await count(fx.orm, 'moves', 'session_id like $1', [`${tag}-%`])).toBe(n);
  const [s] = await rows(fx.orm, 'select coalesce(sum(event_count), 0) as c from sessions where id like $1', [`${tag}-%`]);
  expect(Number(s.c)).toBe(n);
}

/** Exit code, or 'still running' if the process has not exited within `ms` (measured from now). */
async function exitWithin(w: ChildWorker, ms: number): Promise<number | null | 'still running'> {
  return Promise.race([w.exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), ms))]);
}

/** A TCP server that holds a port: accepts connections and never answers (a hung PostgreSQL, a taken port). */
async function silentServer(): Promise<{ server: Server; port: number; accepted: () => number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  let accepted = 0;
  server.on('connection', () => accepted++);
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', () => resolve()));
  return {
    server,
    port: (server.address() as { port: number }).port,
    accepted: () => accepted,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe.each(MODES)('worker in %s', (_mode, mode) => {
  const env = (prefix: string, extra: Record<string, string> = {}) => testEnv(fx.db.url, prefix, { GP_LOCK_MS: '2000', GP_LOG_LEVEL: 'info', GP_JOBS: 'false', ...mode.env, ...extra });

  it('exits 1 within seconds when its metrics port is taken, naming the port, and takes no job', { timeout: 180_000 }, async () => {
    const n = 2000;
    const prefix = newPrefix();
    const tag = `port-${mode.tag}`;
    await load(prefix, tag, n);
    const holder = await silentServer();
    try {
      // Within a minute of its spawn (a process start on a loaded 2-core host takes seconds); on the
      // code before the fix it never exited.
      const b = spawnCli(['worker'], env(prefix, { GP_METRICS_PORT: String(holder.port) }));
      const code = await exitWithin(b, 60_000);
      expect({ code, started: b.logs.some((l) => l.msg === 'worker started') }).toEqual({ code: 1, started: false });
      // One line says why (the command line's error line, printed whatever GP_LOG_LEVEL), nothing else failed.
      expect(b.logs.filter((l) => l.level >= 50)).toEqual([]);
      const said = b.logs.filter((l) => String(l.msg).startsWith('game-persist worker:'));
      expect(said.map((l) => l.msg)).toEqual([expect.stringMatching(new RegExp(`^game-persist worker: did not start: GP_METRICS_PORT ${holder.port} is already in use .*\\[metrics_port_in_use\\]$`))]);
      // It took nothing: every job is still waiting, none locked, nothing stored.
      expect(await queueCounts(prefix)).toMatchObject({ waiting: n / 100, active: 0, failed: 0 });
      expect(await count(fx.orm, 'moves', 'session_id like $1', [`${tag}-%`])).toBe(0);
    } finally {
      await holder.close();
    }
    // A worker that starts stores all of it, once.
    const a = spawnCli(['worker'], env(prefix));
    await waitFor('every event stored', async () => (await count(fx.orm, 'moves', 'session_id like $1', [`${tag}-%`])) === n, 60_000);
    a.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    await assertExactlyOnce(tag, n);
  });

  it('exits 0 promptly on SIGTERM while its start waits on a Redis that is not listening, having consumed nothing', { timeout: 180_000 }, async () => {
    const prefix = newPrefix();
    const w = spawnCli(['worker'], env(prefix, { REDIS_URL: `redis://127.0.0.1:${await freePort()}` }));
    await w.waitForLog('redis connection error', 60_000);
    w.child.kill('SIGTERM');
    const code = await exitWithin(w, 15_000);
    expect({ code, started: w.logs.some((l) => l.msg === 'worker started') }).toEqual({ code: 0, started: false });
    expect(w.logs.map((l) => l.msg)).toContain('worker stopped during its start: nothing was consumed');
  });

  it('exits 0 promptly on SIGTERM while its start waits on a PostgreSQL that never answers', { timeout: 180_000 }, async () => {
    const hung = await silentServer();
    try {
      const w = spawnCli(['worker'], env(newPrefix(), { DATABASE_URL: `postgres://postgres@127.0.0.1:${hung.port}/nothing` }));
      await waitFor('the worker connecting', () => hung.accepted() > 0 || w.child.exitCode !== null, 60_000);
      expect(w.child.exitCode, JSON.stringify(w.logs)).toBe(null);
      w.child.kill('SIGTERM');
      const code = await exitWithin(w, 15_000);
      expect({ code, started: w.logs.some((l) => l.msg === 'worker started') }).toEqual({ code: 0, started: false });
    } finally {
      await hung.close();
    }
  });

  it('still drains on SIGTERM once it runs: the batch in hand is finished and acknowledged', { timeout: 180_000 }, async () => {
    const n = 20_000;
    const prefix = newPrefix();
    const tag = `drain-${mode.tag}`;
    await load(prefix, tag, n);
    const w = spawnCli(['worker'], env(prefix, { GP_BATCH_ROWS: '1000' }));
    await w.waitForLog('worker started', 60_000);
    await waitFor('some rows committed', async () => (await count(fx.orm, 'moves', 'session_id like $1', [`${tag}-%`])) > 1000);
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    await w.waitForLog('worker stopped');
    const stored = await count(fx.orm, 'moves', 'session_id like $1', [`${tag}-%`]);
    const c = await queueCounts(prefix);
    expect(c.active).toBe(0);
    expect(stored + c.waiting * 100).toBe(n);
  });
});

it('a second worker with the same GP_METRICS_PORT as a running one exits 1 and every event is stored once, by the first', { timeout: 180_000 }, async () => {
  const n = 10_000;
  const prefix = newPrefix();
  const port = await freePort();
  const env = testEnv(fx.db.url, prefix, { GP_LOCK_MS: '2000', GP_LOG_LEVEL: 'info', GP_JOBS: 'false', GP_METRICS_PORT: String(port) });
  const a = spawnCli(['worker'], env);
  await a.waitForLog('worker started', 60_000);
  await load(prefix, 'pair', n);
  const b = spawnCli(['worker'], env);
  const code = await exitWithin(b, 60_000);
  expect({ code, started: b.logs.some((l) => l.msg === 'worker started') }).toEqual({ code: 1, started: false });
  await waitFor('every event stored', async () => (await count(fx.orm, 'moves', 'session_id like $1', ['pair-%'])) === n, 60_000);
  await waitFor('queue drained', async () => {
    const q = await queueCounts(prefix);
    return q.waiting + q.active + q.delayed === 0;
  });
  a.child.kill('SIGTERM');
  expect(await a.exited).toBe(0);
  await assertExactlyOnce('pair', n);
  // The first one's endpoints are the ones on the port.
  expect(a.logs.find((l) => l.msg === 'worker started')).toMatchObject({ metricsPort: port });
});
