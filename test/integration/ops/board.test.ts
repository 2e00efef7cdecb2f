/**
 * `game-persist board`: Bull Board over the events queue, refusing to start without a password,
 * answering 401 without credentials, showing the queue's jobs with them, refusing changes unless
 * started with --write, and with --write allowing retrying and removing jobs, nothing else.
 */
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { dropPrefix, openFixture, prepareQueue, testEnv, uniqueName, waitFor, type Fixture } from '../../helpers/services.ts';
import { runCli } from '../../helpers/cli.ts';
import { plainQueue, spawnCli, type ChildWorker } from '../../helpers/worker.ts';
import { moveEvent } from '../../helpers/examples.ts';
import { REDIS_URL } from '../../helpers/env.ts';

const prefix = uniqueName('q');
let fx: Fixture | null = null;
const children: ChildWorker[] = [];
afterAll(async () => {
  for (const c of children) c.child.kill('SIGTERM');
  await fx?.close();
  await dropPrefix(prefix);
});

async function startBoard(extra: Record<string, string>, args: string[] = [], queuePrefix = prefix): Promise<string> {
  fx ??= await openFixture();
  const board = spawnCli(['board', ...args], testEnv(fx.db.url, queuePrefix, { GP_BOARD_PORT: '0', GP_BOARD_PASSWORD: 'correct horse battery', ...extra }));
  children.push(board);
  let url = '';
  board.child.stdout!.removeAllListeners('data');
  board.child.stdout!.setEncoding('utf8');
  board.child.stdout!.on('data', (d: string) => {
    const m = /listening on (http:\/\/\S+)/.exec(d);
    if (m) url = m[1] as string;
  });
  await waitFor('board listening', () => url !== '');
  return url;
}

const auth = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

describe('board', () => {
  it('refuses to start without a password', async () => {
    fx ??= await openFixture();
    const r = await runCli(['board'], testEnv(fx.db.url, prefix));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('GP_BOARD_PASSWORD');
  });

  it('shows the queue behind basic auth, read-only by default', async () => {
    const q = plainQueue(prefix);
    await q.add('events', { v: 1, events: [moveEvent('board-1', 1)] });
    await q.close();
    const url = await startBoard({});
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: auth('admin', 'wrong password!!') })).status).toBe(401);
    const page = await fetch(url, { headers: auth('admin', 'correct horse battery') });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('game-persist');
    // The UI's own script, served by the Fastify adapter's static route, behind the same auth.
    const script = /src="(static\/js\/main\.[^"]+\.js)"/.exec(html)![1]!;
    expect((await fetch(`${url}${script}`)).status).toBe(401);
    const js = await fetch(`${url}${script}`, { headers: auth('admin', 'correct horse battery') });
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    const api = await fetch(`${url}api/queues?activeQueue=events&status=waiting`, { headers: auth('admin', 'correct horse battery') });
    expect(api.status).toBe(200);
    const body = (await api.json()) as { queues: { name: string; readOnlyMode: boolean; counts: { waiting: number } }[] };
    expect(body.queues[0]).toMatchObject({ name: 'events', readOnlyMode: true });
    expect(body.queues[0]!.counts.waiting).toBe(1);
    const clean = await fetch(`${url}api/queues/events/clean/waiting`, { method: 'PUT', headers: auth('admin', 'correct horse battery') });
    expect(clean.status).toBe(403);
  });

  it('shows a queue of the PostgreSQL backend (GP_QUEUE_BACKEND=postgres), with PostgreSQL as its datastore', async () => {
    fx ??= await openFixture();
    const pgPrefix = uniqueName('q');
    await prepareQueue('postgres', fx.db.url, pgPrefix);
    const q = plainQueue(pgPrefix, fx.db.url);
    await q.add('events', { v: 1, events: [moveEvent('board-pg', 1)] });
    await q.add('events', { v: 1, events: [moveEvent('board-pg', 2)] });
    await q.close();
    const url = await startBoard({ GP_QUEUE_BACKEND: 'postgres', REDIS_URL: 'redis://127.0.0.1:1' }, [], pgPrefix);
    const api = await fetch(`${url}api/queues?activeQueue=events&status=waiting`, { headers: auth('admin', 'correct horse battery') });
    expect(api.status).toBe(200);
    const body = (await api.json()) as { queues: { name: string; counts: { waiting: number } }[] };
    expect(body.queues[0]!.counts.waiting).toBe(2);
    const stats = await fetch(`${url}api/redis/stats`, { headers: auth('admin', 'correct horse battery') });
    expect(stats.status).toBe(200);
    expect(await stats.json()).toMatchObject({ backend: 'postgres' });
  });

  it('with --write retries and removes jobs, and refuses every other change (edit data, clean, obliterate, ...) with 403', async () => {
    const writePrefix = uniqueName('q');
    const q = plainQueue(writePrefix);
    const jobs = await Promise.all([1, 2, 3].map((n) => q.add('events', { v: 1, events: [moveEvent('board-w', n)] }, { attempts: 1 })));
    // Fail all three (no game-persist worker runs on this prefix).
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const failing = new Worker('events', async () => Promise.reject(new Error('failing on purpose')), { connection, prefix: writePrefix, autorun: true });
    await waitFor('three failed jobs', async () => (await q.getJobCounts('failed')).failed === 3);
    await failing.close();
    connection.disconnect();
    try {
      const url = await startBoard({}, ['--write'], writePrefix);
      const h = auth('admin', 'correct horse battery');
      const [retried, removed, kept] = jobs.map((j) => j.id!);
      const call = (method: string, path: string, body?: unknown) =>
        fetch(`${url}${path}`, { method, headers: { ...h, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) }).then((r) => r.status);

      expect(await call('PUT', `api/queues/events/${retried}/retry`)).toBe(204);
      expect(await (await q.getJob(retried!))!.getState()).toBe('waiting');
      expect(await call('PUT', `api/queues/events/${removed}/clean`)).toBe(204);
      expect(await q.getJob(removed!)).toBeUndefined();

      const refused = [
        ['PATCH', `api/queues/events/${kept}/update-data`, { jobData: { v: 1, events: [] } }],
        ['PUT', `api/queues/events/${kept}/promote`],
        ['PATCH', `api/queues/events/${kept}/delay`, { delay: 1000 }],
        ['PUT', 'api/queues/events/clean/failed'],
        ['PUT', 'api/queues/events/empty'],
        ['PUT', 'api/queues/events/obliterate'],
        ['PUT', 'API/Queues/events/obliterate/'],
        ['PUT', 'api/queues/events/pause'],
        ['PUT', 'api/queues/pause'],
        ['POST', 'api/queues/events/add', { name: 'events', data: { v: 1, events: [] } }],
        ['PUT', 'api/queues/events/concurrency', { concurrency: 1 }],
        ['DELETE', `api/queues/events/${kept}`],
      ] as const;
      for (const [method, path, body] of refused) expect(await call(method, path, body), `${method} ${path}`).toBe(403);
      expect(await (await q.getJob(kept!))!.getState()).toBe('failed');
      expect((await q.getJob(kept!))!.data.events).toHaveLength(1);
      expect(await q.isPaused()).toBe(false);
    } finally {
      await q.close();
      await dropPrefix(writePrefix);
    }
  });
});
