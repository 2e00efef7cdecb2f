/**
 * `game-persist board`: Bull Board over the events queue, refusing to start without a password,
 * answering 401 without credentials, showing the queue's jobs with them, and refusing changes unless
 * started with --write.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { dropPrefix, openFixture, prepareQueue, testEnv, uniqueName, waitFor, type Fixture } from '../../helpers/services.ts';
import { runCli } from '../../helpers/cli.ts';
import { plainQueue, spawnCli, type ChildWorker } from '../../helpers/worker.ts';
import { moveEvent } from '../../helpers/examples.ts';

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
    expect(await page.text()).toContain('game-persist');
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
});
