/**
 * The HTTP API at a full Redis (maxmemory reached, noeviction): POST /v1/events must answer 503
 * `unavailable` naming maxmemory, never a 500 "internal error" (the chaos suite's redis-maxmemory
 * scenario found it: the API's own Redis writes, rate limits and idempotency records, were refused
 * before the producer was reached, and the raw OOM reply fell through to the 500 branch). Runs its own
 * redis-server, never the shared one.
 */
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createApiKey } from '../../../src/api/keys.ts';
import { buildApi } from '../../../src/api/server.ts';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server.ts';
import { openFixture, testConfig, uniqueName, type Fixture } from '../../helpers/services.ts';

let srv: RedisServer;
let fx: Fixture;
let app: FastifyInstance;
let base = '';
let key = '';
let redis: Redis;

beforeAll(async () => {
  srv = await startRedisServer(['--maxmemory', '64mb', '--maxmemory-policy', 'noeviction']);
  fx = await openFixture();
  redis = new Redis(srv.url);
  app = await buildApi({ cfg: testConfig(fx.db.url, uniqueName('q'), { REDIS_URL: srv.url }), orm: fx.orm, redis });
  base = await app.listen({ port: 0, host: '127.0.0.1' });
  key = (await createApiKey(fx.orm, { name: 'oom', scopes: ['ingest'] })).key;
});
afterAll(async () => {
  await app?.close();
  redis?.disconnect();
  await fx?.close();
  await srv?.stop();
});

it('answers 503 naming maxmemory when Redis is full, and accepts again once it is not', { timeout: 30_000 }, async () => {
  const post = async () => {
    const res = await fetch(`${base}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify([{ type: 'session.created', sessionId: uniqueName('s'), data: { gameType: 'chaos' } }]),
    });
    return { status: res.status, text: await res.text(), retryAfter: res.headers.get('retry-after') };
  };
  expect((await post()).status).toBe(200);
  // Full: more used than allowed (a 2 MB key over a 1 MB limit).
  await srv.client.set('filler', 'x'.repeat(2 << 20));
  await srv.client.config('SET', 'maxmemory', '1mb');
  const full = await post();
  expect(full.status, full.text).toBe(503);
  const body = JSON.parse(full.text) as { error: { code: string; message: string } };
  expect(body.error.code).toBe('unavailable');
  expect(body.error.message).toMatch(/out of memory.*maxmemory/);
  expect(body.error.message).not.toMatch(/[0-9a-f]{40}/);
  // Retry later, after the workers have drained some memory (issue 19: every 503 says when).
  expect(full.retryAfter).toBe('5');
  // Memory freed: accepted again, nothing to restart.
  await srv.client.config('SET', 'maxmemory', '64mb');
  await srv.client.del('filler');
  expect((await post()).status).toBe(200);
});
