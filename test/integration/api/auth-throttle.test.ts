/**
 * Issue 19, item 5: failed authentication is throttled per client address before the key lookup. N
 * bad keys from one address, then 429 `rate_limited` with `Retry-After` and no further reads of
 * `api_keys` (gp_http_key_lookups_total, counted by the KeyVerifier at each read); a good key from
 * another address still works; a burst of concurrent random keys gets at most the limit's worth of
 * reads. The client address is the peer (127.0.0.1 vs 127.0.0.2 on loopback) unless GP_API_TRUST_PROXY
 * names the proxy, and then X-Forwarded-For; an untrusted X-Forwarded-For changes nothing. The
 * per-key limit and the throttle answer with the RateLimit-Policy / RateLimit fields of
 * draft-ietf-httpapi-ratelimit-headers. On main every bad key was a lookup and no 429 came.
 */
import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../../src/api/server.ts';
import { createApiKey } from '../../../src/api/keys.ts';
import type { QueueBackend } from '../../../src/queue/backend-names.ts';
import { REDIS_URL, backendEnv, testConfig } from '../../helpers/services.ts';
import { dbFixture } from '../../helpers/worker.ts';

const LIMIT = 5;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

/** A GET from a chosen local address (loopback has all of 127/8), with optional headers. */
function get(base: string, path: string, opts: { from?: string; key?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method: 'GET', localAddress: opts.from ?? '127.0.0.1', headers: { ...(opts.key ? { authorization: `Bearer ${opts.key}` } : {}), ...opts.headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text ? JSON.parse(text) : null }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** A well-formed key nobody created: each one is a lookup unless throttled. */
const randomKey = () => `gpk_${randomBytes(8).toString('hex')}_${randomBytes(32).toString('base64url')}`;

async function lookups(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Number(/^gp_http_key_lookups_total (\d+)/m.exec(text)?.[1] ?? NaN);
}

describe.each(['redis', 'postgres'] as QueueBackend[])('failed authentication on the %s backend', (backend) => {
  const ctx = dbFixture(backend);
  let app: FastifyInstance;
  let base = '';
  let redis: Redis | undefined;
  let good = '';

  beforeAll(async () => {
    redis = backend === 'redis' ? new Redis(REDIS_URL) : undefined;
    const cfg = testConfig(ctx.fx.db.url, ctx.prefix, { ...backendEnv(backend), GP_API_AUTH_FAILURE_LIMIT: String(LIMIT), GP_API_AUTH_FAILURE_WINDOW_S: '600', GP_API_RATE_LIMIT: '1000' });
    app = await buildApi({ cfg, orm: ctx.fx.orm, ...(redis ? { redis } : {}) });
    base = await app.listen({ port: 0, host: '0.0.0.0' });
    base = base.replace(/\/\/[^:/]+:/, '//127.0.0.1:');
    good = (await createApiKey(ctx.fx.orm, { name: 'good', scopes: ['read'] })).key;
  });
  afterAll(async () => {
    await app?.close();
    await redis?.quit();
  });

  it('answers 429 with Retry-After after N bad keys from one address, looks up no further key, and serves a good key from another address', async () => {
    const before = await lookups(base);
    for (let i = 0; i < LIMIT; i++) {
      const r = await get(base, '/v1/leaderboard', { key: randomKey(), from: '127.0.0.3' });
      expect(r.status).toBe(401);
      expect(r.headers['ratelimit-policy']).toBe(`"auth-failures";q=${LIMIT};w=600`);
      expect(r.headers.ratelimit).toMatch(new RegExp(`^"auth-failures";r=${LIMIT - 1 - i};t=\\d+$`));
    }
    expect(await lookups(base)).toBe(before + LIMIT);
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await get(base, '/v1/leaderboard', { key: randomKey(), from: '127.0.0.3' });
      statuses.push(r.status);
      expect(r.body.error.code).toBe('rate_limited');
      expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(r.headers['retry-after'])).toBeLessThanOrEqual(600);
      expect(r.headers.ratelimit).toMatch(/^"auth-failures";r=0;t=\d+$/);
    }
    expect(new Set(statuses)).toEqual(new Set([429]));
    // Not one more read of api_keys, whatever the key (a good one too: the address is blocked).
    expect((await get(base, '/v1/leaderboard', { key: good, from: '127.0.0.3' })).status).toBe(429);
    expect((await get(base, '/v1/leaderboard', { from: '127.0.0.3' })).status).toBe(429);
    expect(await lookups(base)).toBe(before + LIMIT);
    // Another address is unaffected, and its key's limit is in the draft's fields.
    const ok = await get(base, '/v1/leaderboard', { key: good, from: '127.0.0.4' });
    expect(ok.status).toBe(200);
    expect(ok.headers['ratelimit-policy']).toBe('"key";q=1000;w=60');
    expect(ok.headers.ratelimit).toMatch(/^"key";r=999;t=\d+$/);
    expect(ok.headers['x-ratelimit-limit']).toBeUndefined();
    // A client that names another address in X-Forwarded-For, with no proxy trusted, is still itself.
    expect((await get(base, '/v1/leaderboard', { key: randomKey(), from: '127.0.0.3', headers: { 'x-forwarded-for': '203.0.113.9' } })).status).toBe(429);
    // Routes without a key (health, metrics) are not throttled.
    expect((await get(base, '/healthz', { from: '127.0.0.3' })).status).toBe(200);
  });

  it('lets a burst of concurrent random keys from one address make at most the limit of lookups', async () => {
    const before = await lookups(base);
    const answers = await Promise.all(Array.from({ length: 200 }, () => get(base, '/v1/leaderboard', { key: randomKey(), from: '127.0.0.5' })));
    const counts = answers.reduce<Record<number, number>>((m, a) => ((m[a.status] = (m[a.status] ?? 0) + 1), m), {});
    expect(Object.keys(counts).sort()).toEqual(['401', '429']);
    expect(counts[401]).toBeLessThanOrEqual(LIMIT);
    expect((await lookups(base)) - before).toBeLessThanOrEqual(LIMIT);
    for (const a of answers.filter((x) => x.status === 429)) expect(Number(a.headers['retry-after'])).toBeGreaterThan(0);
  });

  it("answers the key's own limit with 429, Retry-After and the draft's fields", async () => {
    const limited = (await createApiKey(ctx.fx.orm, { name: 'limited', scopes: ['read'], rateLimit: 2 })).key;
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await get(base, '/v1/leaderboard', { key: limited, from: '127.0.0.6' }));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 429]);
    expect(answers.map((a) => a.headers.ratelimit)).toEqual([expect.stringMatching(/^"key";r=1;t=\d+$/), expect.stringMatching(/^"key";r=0;t=\d+$/), expect.stringMatching(/^"key";r=0;t=\d+$/)]);
    expect(answers[2]!.headers['ratelimit-policy']).toBe('"key";q=2;w=60');
    expect(answers[2]!.body.error.code).toBe('rate_limited');
    const retry = Number(answers[2]!.headers['retry-after']);
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(60);
  });
});

/**
 * Issue 20, item 5: a request whose key the server checked a moment ago takes both limits in one
 * round trip (src/api/admit-script.ts), and still answers a throttled address 429 before counting the
 * key. Before, every request made two: the address's read, then the key's count.
 */
describe('a key the server already checked (Redis backend)', () => {
  const ctx = dbFixture('redis');
  let app: FastifyInstance;
  let base = '';
  let redis: Redis;
  let good = '';

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    const cfg = testConfig(ctx.fx.db.url, ctx.prefix, { GP_API_AUTH_FAILURE_LIMIT: '2', GP_API_AUTH_FAILURE_WINDOW_S: '600', GP_API_RATE_LIMIT: '1000' });
    app = await buildApi({ cfg, orm: ctx.fx.orm, redis });
    base = await app.listen({ port: 0, host: '0.0.0.0' });
    base = base.replace(/\/\/[^:/]+:/, '//127.0.0.1:');
    good = (await createApiKey(ctx.fx.orm, { name: 'good', scopes: ['read'] })).key;
  });
  afterAll(async () => {
    await app?.close();
    await redis?.quit();
  });

  it('counts both limits in one Redis command per request', async () => {
    expect((await get(base, '/v1/leaderboard', { key: good, from: '127.0.0.7' })).status).toBe(200); // the key is now cached
    const monitor = await new Redis(REDIS_URL).monitor();
    const sent: string[][] = [];
    // Commands the API sent itself (not the ones a script ran) that touch this file's rate-limit keys.
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (!source.includes('lua') && args.some((a) => a.startsWith(`${ctx.prefix}:api-rate:`))) sent.push(args);
    });
    await new Promise((r) => setTimeout(r, 100));
    const r = await get(base, '/v1/leaderboard', { key: good, from: '127.0.0.7' });
    await new Promise((r) => setTimeout(r, 100));
    monitor.disconnect();
    expect(r.status).toBe(200);
    expect(r.headers.ratelimit).toMatch(/^"key";r=998;t=\d+$/);
    expect(sent).toHaveLength(1);
  });

  it("refuses a cached good key from a throttled address with 429, without counting it against the key's limit", async () => {
    expect((await get(base, '/v1/leaderboard', { key: randomKey(), from: '127.0.0.8' })).status).toBe(401);
    expect((await get(base, '/v1/leaderboard', { key: randomKey(), from: '127.0.0.8' })).status).toBe(401);
    const before = (await get(base, '/v1/leaderboard', { key: good, from: '127.0.0.9' })).headers.ratelimit as string;
    const refused = await get(base, '/v1/leaderboard', { key: good, from: '127.0.0.8' });
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('rate_limited');
    expect(refused.headers.ratelimit).toMatch(/^"auth-failures";r=0;t=\d+$/);
    const after = (await get(base, '/v1/leaderboard', { key: good, from: '127.0.0.9' })).headers.ratelimit as string;
    const remaining = (h: string) => Number(/r=(\d+)/.exec(h)![1]);
    expect(remaining(before) - remaining(after)).toBe(1);
  });
});

describe('behind a trusted proxy (GP_API_TRUST_PROXY)', () => {
  const ctx = dbFixture('redis');
  let app: FastifyInstance;
  let base = '';
  let redis: Redis;
  let good = '';

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    const cfg = testConfig(ctx.fx.db.url, ctx.prefix, { GP_API_AUTH_FAILURE_LIMIT: '2', GP_API_TRUST_PROXY: '127.0.0.1' });
    app = await buildApi({ cfg, orm: ctx.fx.orm, redis });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    good = (await createApiKey(ctx.fx.orm, { name: 'good', scopes: ['read'] })).key;
  });
  afterAll(async () => {
    await app?.close();
    await redis?.quit();
  });

  it('counts failures by the address the proxy names', async () => {
    const via = (client: string, key?: string) => get(base, '/v1/leaderboard', { ...(key ? { key } : {}), headers: { 'x-forwarded-for': client } });
    expect((await via('198.51.100.7', randomKey())).status).toBe(401);
    expect((await via('198.51.100.7', randomKey())).status).toBe(401);
    expect((await via('198.51.100.7', randomKey())).status).toBe(429);
    expect((await via('198.51.100.8', good)).status).toBe(200);
    // IPv6 clients count per /56.
    expect((await via('2001:db8:0:1::1', randomKey())).status).toBe(401);
    expect((await via('2001:db8:0:2::2', randomKey())).status).toBe(401);
    expect((await via('2001:db8:0:3::3', randomKey())).status).toBe(429);
  });
});
