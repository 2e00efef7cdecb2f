/**
 * `serve` before it can ingest: started while its Redis is not up yet, it listens (`/healthz` 200), its
 * `/readyz` answers 503 until Redis answers and 200 after; a `POST /v1/events` sent in that window
 * waits for Redis (GP_API_READY_WAIT_MS) and is accepted once it is up; one that waits past the bound is
 * a 503 `unavailable`. On the PostgreSQL queue backend `/readyz` checks the queue there.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.ts';
import { dbFixture } from '../../helpers/worker.ts';
import { backendEnv, testEnv, waitFor } from '../../helpers/services.ts';
import { freePort, startRedisServer, type RedisServer } from '../../helpers/redis-server.ts';
import { spawnCli } from '../../helpers/worker.ts';

const ctx = dbFixture();
let redis: RedisServer | undefined;
afterAll(async () => {
  await redis?.stop();
});

type Readyz = { status: number; body: { ready: boolean; checks: { name: string; ok: boolean }[] } };
async function readyz(base: string): Promise<Readyz> {
  const res = await fetch(`${base}/readyz`);
  return { status: res.status, body: (await res.json()) as Readyz['body'] };
}

async function ingestKey(env: Record<string, string>): Promise<string> {
  const created = await runCli(['keys', 'create', 'ready-test', '--scope', 'ingest', '--json'], env);
  expect(created.code, created.stderr).toBe(0);
  return JSON.parse(created.stdout).key as string;
}

function post(base: string, key: string, sessionId: string): Promise<Response> {
  return fetch(`${base}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify([{ type: 'session.created', sessionId, data: { gameType: 'hokm' } }]),
  });
}

describe('serve whose Redis comes up after it', () => {
  it('is not ready until Redis answers, and a POST sent meanwhile waits and is accepted', { timeout: 180_000 }, async () => {
    const port = await freePort();
    const env = testEnv(ctx.fx.db.url, ctx.prefix, { REDIS_URL: `redis://127.0.0.1:${port}`, GP_API_PORT: '0', GP_LOG_LEVEL: 'info', GP_API_READY_WAIT_MS: '60000' });
    const key = await ingestKey(env);
    const server = spawnCli(['serve'], env);
    try {
      const base = (await server.waitForLog('api listening', 60_000)).address as string;
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const before = await readyz(base);
      expect(before).toEqual({ status: 503, body: { ready: false, checks: [{ name: 'redis', ok: false }, { name: 'postgres', ok: true }] } });
      // Sent while Redis is down; it must not fail, only wait.
      const pending = post(base, key, 'late-redis-1');
      let settled: number | null = null;
      void pending.then((r) => (settled = r.status));
      // Still waiting a moment later (and nothing logged `api ready`).
      await new Promise((r) => setTimeout(r, 500));
      expect(settled).toBe(null);
      expect(server.logs.some((l) => l.msg === 'api ready')).toBe(false);
      redis = await startRedisServer([], { port });
      const res = await pending;
      const body = (await res.json()) as { accepted: number };
      expect([res.status, body.accepted]).toEqual([200, 1]);
      await waitFor('ready', async () => (await readyz(base)).status === 200, 10_000);
      expect((await readyz(base)).body).toEqual({ ready: true, checks: [{ name: 'redis', ok: true }, { name: 'postgres', ok: true }] });
      expect(server.logs.find((l) => l.msg === 'api ready')).toMatchObject({ address: base });
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });

  it('answers 503 unavailable once the wait passes GP_API_READY_WAIT_MS', { timeout: 180_000 }, async () => {
    const port = await freePort();
    const env = testEnv(ctx.fx.db.url, ctx.prefix, { REDIS_URL: `redis://127.0.0.1:${port}`, GP_API_PORT: '0', GP_LOG_LEVEL: 'info', GP_API_READY_WAIT_MS: '1000' });
    const key = await ingestKey(env);
    const server = spawnCli(['serve'], env);
    try {
      const base = (await server.waitForLog('api listening', 60_000)).address as string;
      const t0 = performance.now();
      const res = await post(base, key, 'never-redis-1');
      const waited = performance.now() - t0;
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unavailable');
      expect(waited).toBeGreaterThanOrEqual(900);
      expect((await readyz(base)).status).toBe(503);
    } finally {
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
    }
  });
});

describe('serve on the PostgreSQL queue backend', () => {
  const pg = dbFixture('postgres');
  it('is ready through its queue and PostgreSQL checks', { timeout: 180_000 }, async () => {
    const env = testEnv(pg.fx.db.url, pg.prefix, { ...backendEnv('postgres'), GP_API_PORT: '0', GP_LOG_LEVEL: 'info' });
    const server = spawnCli(['serve'], env);
    try {
      const base = (await server.waitForLog('api ready', 60_000)).address as string;
      expect(await readyz(base)).toEqual({ status: 200, body: { ready: true, checks: [{ name: 'queue', ok: true }, { name: 'postgres', ok: true }] } });
    } finally {
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
    }
  });
});
