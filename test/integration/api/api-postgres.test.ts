/**
 * GP_QUEUE_BACKEND=postgres with no Redis at all, as the zero-service mode runs: REDIS_URL points at a
 * listener that counts connections and closes them, and after the HTTP API, a worker, a producer and
 * the CLI (serve, worker, migrate, doctor, sessions wait, dlq replay) have done their work it has counted none.
 * Events land, an Idempotency-Key retry gets the first answer, a tenant's claim on a session it just
 * created holds, rate limits count in memory, and `wait?seq=issued` waits for what any producer of the
 * deployment issued.
 */
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../../../src/api/server.ts';
import { createApiKey } from '../../../src/api/keys.ts';
import { createProducer, producerOptions } from '../../../src/producers/index.ts';
import { schemaDrifts } from '../../../src/db/migrate.ts';
import { moveEvent } from '../../helpers/examples.ts';
import { count, rows, testConfig, testEnv, waitFor } from '../../helpers/services.ts';
import { runCli } from '../../helpers/cli.ts';
import { plainQueue, spawnCli, workerFixture } from '../../helpers/worker.ts';

/** Connections made to "Redis": must stay 0. */
let redisConnections = 0;
let trap: Server;
const settings: Record<string, string> = { GP_API_RATE_LIMIT: '1000' };
beforeAll(async () => {
  trap = createServer((socket) => {
    redisConnections++;
    socket.destroy();
  });
  const port = await new Promise<number>((resolve) => trap.listen(0, '127.0.0.1', () => resolve((trap.address() as { port: number }).port)));
  settings.REDIS_URL = `redis://127.0.0.1:${port}`;
});
afterAll(async () => {
  await new Promise((r) => trap.close(r));
});

// Registered after the trap's beforeAll: the worker starts with REDIS_URL pointing at it.
const ctx = workerFixture(settings, 'postgres');
const cfg = () => testConfig(ctx.fx.db.url, ctx.prefix, { ...settings, GP_QUEUE_BACKEND: 'postgres' });
const env = (extra: Record<string, string> = {}) => testEnv(ctx.fx.db.url, ctx.prefix, { ...settings, GP_QUEUE_BACKEND: 'postgres', ...extra });
let app: FastifyInstance;
let base = '';
const keys: Record<string, string> = {};

beforeAll(async () => {
  app = await buildApi({ cfg: cfg(), orm: ctx.fx.orm });
  base = await app.listen({ port: 0, host: '127.0.0.1' });
  const make = async (name: string, scopes: string[], extra: { tenant?: string; rateLimit?: number } = {}) => (keys[name] = (await createApiKey(ctx.fx.orm, { name, scopes, ...extra })).key);
  await make('ingest', ['ingest', 'read']);
  await make('tenant', ['ingest', 'read'], { tenant: 'guild-a' });
  await make('limited', ['read'], { rateLimit: 3 });
});
afterAll(async () => {
  await app?.close();
});

async function call(method: string, path: string, key: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

describe('the PostgreSQL queue backend without Redis', () => {
  it('stores what the API accepts, answers an Idempotency-Key retry with the first answer, and waits for the issued seq', async () => {
    const id = 'pg-room';
    const events = [
      { type: 'session.created', sessionId: id, data: { gameType: 'hokm', tenant: 'guild-p' } },
      { type: 'player.joined', sessionId: id, player: 'ann', data: { team: 'A' } },
      { type: 'move', sessionId: id, player: 'ann', data: { action: 'play' } },
    ];
    const headers = { 'idempotency-key': 'pg-batch-0001' };
    const first = await call('POST', '/v1/events', keys.ingest!, events, headers);
    expect(first.body.results.map((r: { seq: number }) => r.seq)).toEqual([1, 2, 3]);
    expect(await call('POST', '/v1/events', keys.ingest!, events, headers)).toEqual(first);
    expect(await rows(ctx.fx.orm, 'select key from api_records where key like $1', [`${ctx.prefix}:api-idem:%`])).toHaveLength(1);

    // What the API issued, through the session's counter in PostgreSQL.
    expect(await call('GET', `/v1/sessions/${id}/wait?seq=issued&timeoutMs=20000`, keys.ingest!)).toMatchObject({ status: 200, body: { seq: 3, appliedSeq: 3 } });
    // A producer of the deployment (the SDK, on the same counters) emits two more; the API waits for them too.
    const sdk = createProducer(producerOptions(cfg()));
    await sdk.move({ sessionId: id, player: 'ann', action: 'a' });
    await sdk.move({ sessionId: id, player: 'ann', action: 'b' });
    await sdk.close();
    expect(await call('GET', `/v1/sessions/${id}/wait?seq=issued&timeoutMs=20000`, keys.ingest!)).toMatchObject({ status: 200, body: { seq: 5, appliedSeq: 5 } });
    expect(await count(ctx.fx.orm, 'moves', 'session_id = $1', [id])).toBe(3);
    // A session nothing was issued for: seq 0, answered at once.
    expect(await call('GET', '/v1/sessions/none/wait?seq=issued', keys.ingest!)).toMatchObject({ status: 200, body: { seq: 0, appliedSeq: 0 } });
    expect((await call('GET', '/v1/sessions/none/wait?seq=soon', keys.ingest!)).status).toBe(400);
  });

  it("keeps a tenant's claim on the session it just created, and counts rate limits in memory", async () => {
    const id = 'pg-claimed';
    const created = await call('POST', '/v1/events', keys.tenant!, [{ type: 'session.created', sessionId: id, data: { gameType: 'hokm', tenant: 'guild-a' } }]);
    expect(created.body.accepted).toBe(1);
    // Before the worker stores the creation, the claim (in api_records) lets the next events through.
    const next = await call('POST', '/v1/events', keys.tenant!, [{ type: 'move', sessionId: id, data: { action: 'deal' } }]);
    expect(next.body.results[0].status).toBe('accepted');
    expect(await rows(ctx.fx.orm, 'select value from api_records where key = $1', [`${ctx.prefix}:api-tenant:${id}`])).toEqual([{ value: 'guild-a' }]);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await call('GET', '/v1/sessions/recent', keys.limited!)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });

  it('serves, migrates, checks, waits and replays dead letters from the CLI', async () => {
    const server = spawnCli(['serve'], env({ GP_API_PORT: '0' }));
    const up = await server.waitForLog('api listening');
    const res = await fetch(`${up.address}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys.ingest}`, 'content-type': 'application/json' },
      body: JSON.stringify([{ type: 'session.created', sessionId: 'pg-cli', data: { gameType: 'hokm' } }, { type: 'move', sessionId: 'pg-cli', data: { action: 'x' } }]),
    });
    expect(((await res.json()) as { accepted: number }).accepted).toBe(2);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);

    const migrated = await runCli(['migrate', '--json'], env());
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(JSON.parse(migrated.stdout)).toMatchObject({ applied: [], queueSchema: { schema: expect.stringMatching(/^bullmq_/), version: expect.any(Number) } });
    // The queue schema is BullMQ's: MikroORM's comparison must not take it for tables to drop.
    expect(await schemaDrifts(ctx.fx.orm)).toBe(false);
    // Without --seq: the last seq issued, read from the counter in PostgreSQL.
    const waited = await runCli(['sessions', 'wait', 'pg-cli', '--json', '--timeout-ms', '20000'], env());
    expect(waited.code, waited.stderr).toBe(0);
    expect(JSON.parse(waited.stdout)).toMatchObject({ sessionId: 'pg-cli', seq: 2, appliedSeq: 2 });

    // A job a plain BullMQ publisher put on the PostgreSQL queue, dead-lettered by the worker, replayed.
    const q = plainQueue(ctx.prefix, ctx.fx.db.url);
    await q.add('events', { v: 1, events: [{ ...moveEvent('pg-dlq', 1), at: 'soon' }] });
    await q.close();
    await waitFor('the dead letter', async () => (await count(ctx.fx.orm, 'dead_letters')) === 1);
    const replayed = await runCli(['dlq', 'replay', '--all', '--json'], env());
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(JSON.parse(replayed.stdout).replayed).toHaveLength(1);
    // Still invalid: it comes back as a new dead letter, through the queue.
    await waitFor('the replayed job', async () => (await count(ctx.fx.orm, 'dead_letters')) === 2);

    // A `worker` process (its ingest loop in a thread): ready through its `queue` check, no gp_redis_* metrics.
    const free = createServer();
    const metricsPort = await new Promise<number>((resolve) => free.listen(0, '127.0.0.1', () => resolve((free.address() as { port: number }).port)));
    await new Promise((r) => free.close(r));
    const worker = spawnCli(['worker'], env({ GP_METRICS_PORT: String(metricsPort), GP_METRICS_HOST: '127.0.0.1', GP_JOBS: 'false' }));
    // The endpoints answer from early in the start; ready once the worker consumes.
    await worker.waitForLog('metrics and health endpoints listening');
    await worker.waitForLog('worker started');
    const ready = await fetch(`http://127.0.0.1:${metricsPort}/readyz`);
    const readyBody = (await ready.json()) as { checks: { name: string; ok: boolean }[] };
    expect(ready.status, JSON.stringify(readyBody)).toBe(200);
    expect(readyBody.checks.map((c) => c.name)).toEqual(['queue', 'postgres', 'migrations', 'started', 'draining']);
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/^gp_queue_jobs\{state="waiting"\} \d+$/m);
    expect(metrics).not.toContain('gp_redis_up');
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);

    const doctor = await runCli(['doctor', '--json'], env());
    const report = JSON.parse(doctor.stdout);
    expect(report.checks.map((c: { name: string; ok: boolean }) => [c.name, c.ok])).toEqual([['postgres', true], ['migrations', true], ['jobs', true], ['queue', true]]);
    expect(report.queue).toMatchObject({ waiting: expect.any(Number), failed: expect.any(Number) });
    expect(doctor.code).toBe(0);
  }, 90_000);

  it('opened no connection to Redis', () => {
    expect(redisConnections).toBe(0);
  });
});
