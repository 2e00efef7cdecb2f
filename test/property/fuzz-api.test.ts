/**
 * Fuzzing the HTTP API (issue 12 ★) over loopback against a real server, PostgreSQL, Redis and a
 * worker: fuzzed methods, paths (ids with NUL, invalid UTF-8, lone surrogates, `..`), query strings,
 * content types, keys and bodies (arrays of mutated events, arbitrary JSON, NDJSON, garbage bytes).
 * Every answer is 2xx or 4xx — never 5xx — and every error body has the documented shape
 * `{"error":{"code","message"}}`; every event the API accepted is stored exactly once.
 * Longer: FUZZ_RUNS=20 npm test -- test/property/fuzz-api.
 */
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApi } from '../../src/api/server.ts';
import { createApiKey } from '../../src/api/keys.ts';
import { EVENT_TABLES } from '../../src/db/families.ts';
import { REDIS_URL, rows, testConfig, waitFor } from '../helpers/services.ts';
import { workerFixture } from '../helpers/worker.ts';
import { fuzzParams, mutatedEvent, poisonJson, poisonString, validEvent } from './fuzz-arbitraries.ts';

const ctx = workerFixture();
let app: FastifyInstance;
let base = '';
let redis: Redis;
let key = '';

beforeAll(async () => {
  const cfg = testConfig(ctx.fx.db.url, ctx.prefix, { GP_API_RATE_LIMIT: '0', GP_API_AUTH_FAILURE_LIMIT: '0', GP_API_BODY_LIMIT: String(256 * 1024) });
  redis = new Redis(REDIS_URL);
  app = await buildApi({ cfg, orm: ctx.fx.orm, redis });
  base = await app.listen({ port: 0, host: '127.0.0.1' });
  key = (await createApiKey(ctx.fx.orm, { name: 'fuzz', scopes: ['admin'] })).key;
});
afterAll(async () => {
  await app?.close();
  await redis?.quit();
});

/** A path segment as a client could send it: encoded text, or raw escapes (NUL, invalid UTF-8). */
const segment = fc.oneof(
  poisonString.map((s) => (s.isWellFormed() ? encodeURIComponent(s.slice(0, 300)) : '%ED%A0%80')),
  fc.constantFrom('%00', '%ED%A0%80', '%FF', '%zz', '..', '%2e%2e', 'fuzz-s1', '9007199254740993', 'x'.repeat(200)),
);
/** Routes with `:x` placeholders (not the long polls: wait, queue notify). */
const ROUTES: [string, string][] = [
  ['POST', '/v1/events'], ['GET', '/v1/sessions/:x/recover'], ['GET', '/v1/players/:x/stats'], ['GET', '/v1/leaderboard'],
  ['GET', '/v1/sessions'], ['GET', '/v1/sessions/recent'], ['GET', '/v1/sessions/:x/replay'], ['GET', '/v1/sessions/:x/leaderboard'],
  ['GET', '/v1/sessions/:x/snapshots'], ['GET', '/v1/tenants/:x/stats'], ['GET', '/v1/tenants/:x/chat'], ['GET', '/v1/sessions/:x/agents'],
  ['GET', '/v1/players/:x/agents'], ['GET', '/v1/stats/daily'], ['GET', '/v1/sessions/:x/documents/:x'], ['GET', '/v1/sessions/:x/documents/:x/:x'],
  ['GET', '/v1/sessions/:x/document-rejections'], ['GET', '/v1/players/:x/documents'], ['GET', '/v1/contract/types'], ['PUT', '/v1/contract/types/:x'],
  ['DELETE', '/v1/contract/types/:x'], ['GET', '/v1/tenants/:x/queue'], ['GET', '/v1/players/:x/export'], ['GET', '/v1/erasures/:x'], ['GET', '/healthz'], ['GET', '/nope/:x'], ['PATCH', '/v1/events'],
];
const QUERY_KEYS = ['limit', 'after', 'before', 'metric', 'period', 'from', 'to', 'game', 'tenant', 'since', 'seq', 'around', 'status'];
const query = fc.array(fc.tuple(fc.constantFrom(...QUERY_KEYS), segment), { maxLength: 3 }).map((q) => (q.length ? `?${q.map(([k, v]) => `${k}=${v}`).join('&')}` : ''));

/** JSON text of a value that may not be JSON (a BigInt, too deep): what a client could send of it. */
function jsonBytes(v: unknown): Buffer {
  try {
    return Buffer.from(JSON.stringify(v) ?? 'null');
  } catch {
    return Buffer.from('[null]');
  }
}

const CONTENT_TYPES = ['application/json', 'application/x-ndjson', 'text/plain', 'application/json; charset=utf-16', 'application/octet-stream', 'multipart/form-data', ''];
const body = fc.oneof(
  { weight: 4, arbitrary: fc.array(fc.oneof(validEvent('fuzz-api-s1'), mutatedEvent('fuzz-api-s2'), poisonJson), { maxLength: 8 }).map(jsonBytes) },
  { weight: 1, arbitrary: fc.array(fc.oneof(validEvent('fuzz-api-s3'), mutatedEvent('fuzz-api-s3')), { maxLength: 5 }).map((evs) => Buffer.from(evs.map((e) => jsonBytes(e).toString()).join('\n'))) },
  { weight: 1, arbitrary: poisonJson.map(jsonBytes) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.constantFrom(Buffer.from('['.repeat(20_000)), Buffer.from(`[${'{"a":'.repeat(20_000)}{}${'}'.repeat(20_000)}]`), Buffer.from('{"__proto__":{"polluted":1}}'), Buffer.alloc(0)) },
);

const anyRequest = fc.record({
  route: fc.constantFrom(...ROUTES),
  segs: fc.array(segment, { minLength: 3, maxLength: 3 }),
  query,
  contentType: fc.constantFrom(...CONTENT_TYPES),
  body,
  auth: fc.constantFrom('key', 'none', 'junk'),
});
/** Mostly authorised ingest with a JSON or NDJSON body: the requests that reach the contract. */
const ingestRequest = fc.record({
  route: fc.constant<[string, string]>(['POST', '/v1/events']),
  segs: fc.constant(['', '', '']),
  query,
  contentType: fc.oneof({ weight: 4, arbitrary: fc.constantFrom('application/json', 'application/x-ndjson') }, { weight: 1, arbitrary: fc.constantFrom(...CONTENT_TYPES) }),
  body,
  auth: fc.oneof({ weight: 5, arbitrary: fc.constant('key') }, { weight: 1, arbitrary: fc.constantFrom('none', 'junk') }),
});
const request = fc.oneof({ weight: 1, arbitrary: ingestRequest }, { weight: 1, arbitrary: anyRequest });

const accepted: string[] = [];
const statuses = new Map<number, number>();

it('answers every fuzzed request 2xx or 4xx with the documented error body', async () => {
  await fc.assert(
    fc.asyncProperty(request, async (r) => {
      const [method, template] = r.route;
      let i = 0;
      const path = template.replace(/:x/g, () => r.segs[i++ % 3]!) + r.query;
      const headers: Record<string, string> = {};
      if (r.auth === 'key') headers.authorization = `Bearer ${key}`;
      if (r.auth === 'junk') headers.authorization = 'Bearer gpk_\u00ff';
      const withBody = method !== 'GET' && method !== 'DELETE';
      if (withBody && r.contentType) headers['content-type'] = r.contentType;
      const res = await fetch(base + path, { method, headers, ...(withBody ? { body: r.body } : {}) });
      const text = await res.text();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      expect(res.status, `${method} ${path} → ${res.status} ${text.slice(0, 300)}`).toBeGreaterThanOrEqual(200);
      expect(res.status, `${method} ${path} → ${res.status} ${text.slice(0, 300)}`).toBeLessThan(500);
      if (res.status >= 400) {
        const b = JSON.parse(text);
        expect(typeof b.error?.code, text).toBe('string');
        expect(typeof b.error?.message, text).toBe('string');
      } else if (method === 'POST' && template === '/v1/events') {
        const b = JSON.parse(text) as { results: { status: string; id?: string }[] };
        for (const v of b.results) if (v.status === 'accepted') accepted.push(v.id!);
      }
    }),
    fuzzParams(250),
  );
  // The fuzzer reached both sides: accepted events and refusals.
  expect(accepted.length).toBeGreaterThan(0);
  expect([...statuses.keys()].some((s) => s >= 400)).toBe(true);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
}, 120_000);

it('takes a 128-character id in a path (the contract\'s limit) and refuses a \\u0000, a bad escape or a 2,000-character one with our error body', async () => {
  const get = async (path: string) => {
    const res = await fetch(base + path, { headers: { authorization: `Bearer ${key}` } });
    return { status: res.status, body: JSON.parse(await res.text()) };
  };
  // Unknown but valid: 404 from the route, not 414 from the router.
  expect(await get(`/v1/sessions/${'s'.repeat(128)}/recover`)).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
  expect(await get('/v1/sessions/a%00b/document-rejections')).toMatchObject({ status: 400, body: { error: { code: 'bad_request' } } });
  expect(await get('/v1/players/a%00b/documents')).toMatchObject({ status: 400, body: { error: { code: 'bad_request' } } });
  expect(await get(`/v1/sessions/${'s'.repeat(2000)}/recover`)).toMatchObject({ status: 414, body: { error: { code: 'bad_request' } } });
  expect(await get('/v1/sessions/%zz/recover')).toMatchObject({ status: 400, body: { error: { code: 'bad_request' } } });
});

it('gives a poison session id its own verdict under a tenant-restricted key, the good events beside it accepted', async () => {
  const tenantKey = (await createApiKey(ctx.fx.orm, { name: 'fuzz-tenant', scopes: ['ingest'], tenant: 'guild-fz' })).key;
  const sid = `fz-tenant-${Date.now()}`;
  const at = new Date().toISOString();
  const batch = [
    { type: 'session.created', sessionId: sid, at, data: { gameType: 'fuzz', tenant: 'guild-fz' } },
    { type: 'chat.message', sessionId: `${sid}\u0000`, player: 'p1', at, data: { text: 'poison' } },
    { type: 'chat.message', sessionId: sid, player: 'p1', at, data: { text: 'good' } },
  ];
  const res = await fetch(`${base}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${tenantKey}`, 'content-type': 'application/json' }, body: JSON.stringify(batch) });
  const body = (await res.json()) as { results: { status: string; field?: string; id?: string }[] };
  expect(res.status, JSON.stringify(body)).toBe(200);
  expect(body.results.map((r: { status: string; field?: string }) => [r.status, r.field ?? null])).toEqual([['accepted', null], ['rejected', 'sessionId'], ['accepted', null]]);
  for (const r of body.results) if (r.status === 'accepted') accepted.push(r.id!);
});

it('stores every event it accepted exactly once', async () => {
  const unique = [...new Set(accepted)];
  const stored = async () => {
    const n = new Map<string, number>();
    for (const t of EVENT_TABLES) for (const row of await rows<{ id: string }>(ctx.fx.orm, `select id::text as id from ${t} where id = any($1::uuid[])`, [unique])) n.set(row.id, (n.get(row.id) ?? 0) + 1);
    return n;
  };
  await waitFor('the accepted events to be stored', async () => (await stored()).size === unique.length, 60_000);
  const n = await stored();
  expect(unique.filter((id) => n.get(id) !== 1)).toEqual([]);
}, 90_000);
