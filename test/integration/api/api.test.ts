/**
 * The HTTP API (`game-persist serve`) against real PostgreSQL, Redis, BullMQ and a worker: keys and
 * scopes, tenants, limits, stable error bodies, ingest with per-event verdicts, safe retries, and the
 * reads (recover, wait, player stats, leaderboard) returning what was sent.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../../../src/api/server.ts';
import { createApiKey, revokeApiKey } from '../../../src/api/keys.ts';
import { uuidv7 } from '../../../src/contract/ids.ts';
import { TypeRegistry } from '../../../src/db/event-types.ts';
import { createReader } from '../../../src/db/reader.ts';
import { REDIS_URL, count, rows, testConfig, testEnv, waitFor } from '../../helpers/services.ts';
import { runCli } from '../../helpers/cli.ts';
import { spawnCli, workerFixture } from '../../helpers/worker.ts';

const ctx = workerFixture();
let app: FastifyInstance;
let base = '';
let redis: Redis;
const keys: Record<string, string> = {};

beforeAll(async () => {
  const cfg = testConfig(ctx.fx.db.url, ctx.prefix, { GP_API_BODY_LIMIT: String(64 * 1024), GP_API_RATE_LIMIT: '1000' });
  redis = new Redis(REDIS_URL);
  app = await buildApi({ cfg, orm: ctx.fx.orm, redis });
  base = await app.listen({ port: 0, host: '127.0.0.1' });
  const make = async (name: string, scopes: string[], extra: { tenant?: string; rateLimit?: number } = {}) => (keys[name] = (await createApiKey(ctx.fx.orm, { name, scopes, ...extra })).key);
  await make('ingest', ['ingest']);
  await make('read', ['read']);
  await make('admin', ['admin']);
  await make('tenantA', ['read'], { tenant: 'guild-a' });
  await make('tenantAIngest', ['ingest', 'read'], { tenant: 'guild-a' });
  await make('limited', ['read'], { rateLimit: 3 });
  await make('revoked', ['read']);
  await revokeApiKey(ctx.fx.orm, keys.revoked!);
});
afterAll(async () => {
  await app?.close();
  await redis?.quit();
});

async function call(method: string, path: string, key?: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(base + path, {
    method,
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

const session = (id: string, tenant: string, extra: Record<string, unknown>[] = []) => [
  { id: uuidv7(), type: 'session.created', sessionId: id, data: { gameType: 'impostor', tenant } },
  { id: uuidv7(), type: 'player.joined', sessionId: id, player: 'alice', data: { role: 'crewmate' } },
  { id: uuidv7(), type: 'player.joined', sessionId: id, player: 'bob', data: { role: 'impostor' } },
  ...extra,
];

describe('HTTP API', () => {
  it('refuses requests without a valid key or scope with stable JSON errors', async () => {
    expect(await call('GET', '/v1/leaderboard')).toMatchObject({ status: 401, body: { error: { code: 'unauthorized' } } });
    expect(await call('GET', '/v1/leaderboard', 'gpk_nothing')).toMatchObject({ status: 401, body: { error: { code: 'unauthorized' } } });
    expect(await call('GET', '/v1/leaderboard', keys.revoked)).toMatchObject({ status: 401, body: { error: { code: 'unauthorized' } } });
    // A well-formed key with a wrong secret is as unknown as no key.
    const forged = keys.read!.slice(0, -4) + (keys.read!.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    expect(await call('GET', '/v1/leaderboard', forged)).toMatchObject({ status: 401 });
    expect(await call('POST', '/v1/events', keys.read, [])).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    expect(await call('GET', '/v1/leaderboard', keys.ingest)).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    // admin implies every scope; x-api-key works as well as a bearer token.
    expect((await call('GET', '/v1/leaderboard', undefined, undefined, { 'x-api-key': keys.admin! })).status).toBe(200);
    expect(await call('GET', '/v1/nothing', keys.read)).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    expect(await call('GET', '/healthz')).toMatchObject({ status: 200, body: { ok: true } });
  });

  it('accepts valid events, rejects bad ones by field, and persists exactly what was sent; a retry stores nothing twice', async () => {
    const id = `api-${uuidv7()}`;
    const events = session(id, 'guild-a', [
      { id: uuidv7(), type: 'turn.result', sessionId: id, data: { turn: 1, state: { board: [1, 2], owner: 'alice', note: null } } },
      { id: uuidv7(), type: 'vote', sessionId: id, player: 'alice', data: {} },
      { id: uuidv7(), type: 'turn.result', sessionId: id, data: { turn: 2, patch: { owner: null, __proto__: { x: 1 } } } },
    ]);
    // JSON.stringify drops a literal __proto__ key set via an object literal; build the wire text by hand.
    const text = JSON.stringify(events).replace('"patch":{"owner":null}', '"patch":{"owner":null,"__proto__":{"x":1}}');
    const r = await call('POST', '/v1/events', keys.ingest, text);
    expect(r.status).toBe(200);
    expect(r.body.accepted).toBe(5);
    expect(r.body.rejected).toBe(1);
    expect(r.body.results[4]).toMatchObject({ index: 4, status: 'rejected', code: 'invalid_event', field: 'data.target' });
    const seqs = r.body.results.filter((x: any) => x.status === 'accepted').map((x: any) => x.seq);
    expect(seqs).toEqual([1, 2, 3, 4, 5]);
    expect(r.body.results[0].id).toBe(events[0]!.id);

    const w = await call('GET', `/v1/sessions/${id}/wait?seq=5&timeoutMs=20000`, keys.read);
    expect(w).toMatchObject({ status: 200, body: { appliedSeq: 5 } });
    const rec = await call('GET', `/v1/sessions/${id}/recover`, keys.read);
    expect(rec.status).toBe(200);
    expect(rec.body.session).toMatchObject({ id, tenant: 'guild-a', gameType: 'impostor' });
    const state = rec.body.state ?? rec.body.liveState;
    expect(JSON.stringify(state)).toContain('"__proto__":{"x":1}');
    expect(JSON.stringify(state)).not.toContain('"owner"');

    // The same request again (a client retry) without an Idempotency-Key: nothing is stored twice (ids).
    const before = await count(ctx.fx.orm, 'session_events', 'session_id = $1', [id]);
    const dups = async () => (await ctx.worker.metrics.registry.getSingleMetric('gp_events_duplicate_total')!.get()).values.reduce((a, v) => a + v.value, 0);
    const dupsBefore = await dups();
    const again = await call('POST', '/v1/events', keys.ingest, text);
    expect(again.body.accepted).toBe(5);
    await waitFor('the retry drained', async () => (await dups()) >= dupsBefore + 5);
    expect(await count(ctx.fx.orm, 'session_events', 'session_id = $1', [id])).toBe(before);
    expect(await count(ctx.fx.orm, 'participant_events', 'session_id = $1', [id])).toBe(2);
  });

  it('takes NDJSON as well as a JSON array', async () => {
    const id = `api-ndjson-${uuidv7()}`;
    const lines = [
      { type: 'session.created', sessionId: id, data: { gameType: 'hokm' } },
      { type: 'move', sessionId: id, player: 'p1', data: { action: 'play' } },
      { type: 'move', sessionId: id, data: {} },
    ].map((e) => JSON.stringify(e)).join('\n');
    const res = await call('POST', '/v1/events', keys.ingest, `${lines}\n`, { 'content-type': 'application/x-ndjson' });
    expect(res.body.results.map((r: { status: string; field?: string }) => r.field ?? r.status)).toEqual(['accepted', 'accepted', 'data.action']);
    expect(await call('POST', '/v1/events', keys.ingest, '{"type":"move"}\n{oops', { 'content-type': 'application/x-ndjson' })).toMatchObject({
      status: 400, body: { error: { code: 'bad_request', message: expect.stringMatching(/line 2 is not JSON/) } },
    });
  });

  it('answers a retried request with an Idempotency-Key with the same ids and seqs, leaving no gap', async () => {
    const id = `api-i-${uuidv7()}`;
    // No ids: the server assigns them, and the retry must get the same ones.
    const events = session(id, 'guild-a').map(({ id: _drop, ...e }) => e);
    const headers = { 'idempotency-key': `batch-${uuidv7()}` };
    const first = await call('POST', '/v1/events', keys.ingest, events, headers);
    const retry = await call('POST', '/v1/events', keys.ingest, events, headers);
    expect(first.body.results.map((r: any) => r.seq)).toEqual([1, 2, 3]);
    expect(retry.body).toEqual(first.body);
    const next = await call('POST', '/v1/events', keys.ingest, [{ type: 'session.started', sessionId: id, data: {} }]);
    expect(next.body.results[0].seq).toBe(4);
    expect(await call('GET', `/v1/sessions/${id}/wait?seq=4&timeoutMs=20000`, keys.read)).toMatchObject({ status: 200, body: { appliedSeq: 4, lostSeqs: 0 } });
    expect(await count(ctx.fx.orm, 'participant_events', 'session_id = $1', [id])).toBe(2);
    expect(await call('POST', '/v1/events', keys.ingest, events.slice(0, 2), headers)).toMatchObject({ status: 422, body: { error: { code: 'idempotency_mismatch' } } });
    expect(await call('POST', '/v1/events', keys.ingest, events, { 'idempotency-key': 'short' })).toMatchObject({ status: 400 });
  });

  it('keeps a tenant-restricted key to its tenant', async () => {
    const mine = `api-a-${uuidv7()}`;
    const theirs = `api-b-${uuidv7()}`;
    await call('POST', '/v1/events', keys.ingest, [...session(mine, 'guild-a'), ...session(theirs, 'guild-b')]);
    await call('GET', `/v1/sessions/${theirs}/wait?seq=3`, keys.read);
    await call('GET', `/v1/sessions/${mine}/wait?seq=3`, keys.read);
    expect((await call('GET', `/v1/sessions/${mine}/recover`, keys.tenantA)).status).toBe(200);
    // Another tenant's session is no session at all to it (docs/http.md, "Tenants").
    expect(await call('GET', `/v1/sessions/${theirs}/recover`, keys.tenantA)).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    // Its board is its tenant's.
    expect((await call('GET', '/v1/leaderboard', keys.tenantA)).body).toMatchObject({ scope: 'tenant:guild-a' });
    expect((await call('POST', '/v1/events', keys.tenantA, [])).status).toBe(403);

    // An ingest key of guild-a publishes the sessions it created and guild-a's queue only, event by event:
    // not `mine`, which the deployment's own key created for guild-a.
    const fresh = `api-a2-${uuidv7()}`;
    const verdicts = async (events: Record<string, unknown>[]) =>
      (await call('POST', '/v1/events', keys.tenantAIngest, events)).body.results.map((r: { status: string; field?: string }) => r.field ?? r.status);
    expect(await verdicts([
      { type: 'session.created', sessionId: fresh, data: { gameType: 'hokm', tenant: 'guild-a' } },
      { type: 'move', sessionId: fresh, data: { action: 'deal' } },
      { type: 'move', sessionId: theirs, data: { action: 'steal' } },
      { type: 'move', sessionId: mine, data: { action: 'play' } },
      { type: 'session.created', sessionId: `api-x-${uuidv7()}`, data: { gameType: 'hokm', tenant: 'guild-b' } },
      { type: 'session.created', sessionId: theirs, data: { gameType: 'hokm', tenant: 'guild-a' } },
      { type: 'move', sessionId: `api-unknown-${uuidv7()}`, data: { action: 'x' } },
      { type: 'queue.entered', player: 'p9', data: { tenant: 'guild-b' } },
      { type: 'queue.entered', player: 'p9', data: { tenant: 'guild-a' } },
    ])).toEqual(['accepted', 'accepted', 'sessionId', 'sessionId', 'data.tenant', 'sessionId', 'sessionId', 'data.tenant', 'accepted']);
    // The session it just created is its own at once, before the worker has stored it.
    expect(await verdicts([{ type: 'move', sessionId: fresh, data: { action: 'again' } }])).toEqual(['accepted']);
    await waitFor('the tenant\'s session', async () => (await call('GET', `/v1/sessions/${fresh}/wait?seq=3`, keys.tenantAIngest)).status === 200);
    expect(await count(ctx.fx.orm, 'moves', 'session_id = $1', [theirs])).toBe(0);
  });

  it('limits bodies, batch sizes and request rates, and validates parameters', async () => {
    const big = [{ type: 'chat.message', sessionId: 's', player: 'p', data: { text: 'x'.repeat(70 * 1024) } }];
    expect(await call('POST', '/v1/events', keys.ingest, big)).toMatchObject({ status: 413, body: { error: { code: 'body_too_large' } } });
    const many = Array.from({ length: 1001 }, () => ({}));
    expect(await call('POST', '/v1/events', keys.ingest, many)).toMatchObject({ status: 400, body: { error: { code: 'bad_request' } } });
    expect(await call('POST', '/v1/events', keys.ingest, '{"not":"an array"}')).toMatchObject({ status: 400, body: { error: { code: 'bad_request' } } });
    expect(await call('POST', '/v1/events', keys.ingest, '[{')).toMatchObject({ status: 400 });
    expect(await call('GET', '/v1/leaderboard?by=nonsense', keys.read)).toMatchObject({ status: 400, body: { error: { code: 'bad_request' } } });
    expect(await call('GET', '/v1/sessions/none/recover', keys.read)).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    expect(await call('GET', `/v1/sessions/none/wait?seq=1&timeoutMs=50`, keys.read)).toMatchObject({ status: 408, body: { error: { code: 'timeout' } } });
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push((await call('GET', '/v1/leaderboard', keys.limited)).status);
    expect(codes).toEqual([200, 200, 200, 429]);
    const limited = await call('GET', '/v1/leaderboard', keys.limited);
    expect(limited.body.error.code).toBe('rate_limited');
  });

  it('reads player stats and leaderboards of finished sessions', async () => {
    const id = `api-f-${uuidv7()}`;
    const r = await call(
      'POST',
      '/v1/events',
      keys.ingest,
      session(id, 'guild-c', [
        { id: uuidv7(), type: 'player.outcome', sessionId: id, player: 'alice', data: { outcome: 'win', xp: 30 } },
        { id: uuidv7(), type: 'player.outcome', sessionId: id, player: 'bob', data: { outcome: 'loss', xp: 5 } },
        { id: uuidv7(), type: 'session.finished', sessionId: id, data: { winners: ['alice'] } },
      ]),
    );
    expect(r.body.rejected).toBe(0);
    await waitFor('alice on the board', async () => (await call('GET', '/v1/players/alice/stats', keys.read)).body?.all?.games === 1);
    const s = await call('GET', '/v1/players/alice/stats', keys.read);
    expect(s.body).toMatchObject({ playerId: 'alice', all: { games: 1, wins: 1, xp: 30 }, games: { impostor: { wins: 1 } } });
    const top = await call('GET', '/v1/leaderboard?by=xp&limit=10', keys.read);
    expect(top.status).toBe(200);
    expect(JSON.stringify(top.body)).toContain('alice');
    expect((await call('GET', '/v1/players/nobody/stats', keys.read)).status).toBe(404);
  });

  it('pages active sessions, lists recent ones, streams a replay and serves session boards, snapshots and stats', async () => {
    const tenant = `t-${uuidv7()}`;
    const ids = [0, 1, 2].map((n) => `api-r${n}-${uuidv7()}`);
    const done = ids[2]!;
    await call('POST', '/v1/events', keys.ingest, [
      ...session(ids[0]!, tenant),
      ...session(ids[1]!, tenant),
      ...session(done, tenant, [
        { id: uuidv7(), type: 'turn.result', sessionId: done, data: { turn: 1, state: { hp: 3, note: null } } },
        { id: uuidv7(), type: 'player.outcome', sessionId: done, player: 'alice', data: { outcome: 'win', xp: 7 } },
        { id: uuidv7(), type: 'session.finished', sessionId: done, data: { winners: ['alice'] } },
      ]),
    ]);
    for (const id of ids) await call('GET', `/v1/sessions/${id}/wait?seq=3&timeoutMs=20000`, keys.read);
    await call('GET', `/v1/sessions/${done}/wait?seq=6&timeoutMs=20000`, keys.read);

    const page1 = await call('GET', `/v1/sessions?tenant=${tenant}&limit=1`, keys.read);
    expect(page1.status).toBe(200);
    expect(page1.body.sessions).toHaveLength(1);
    const page2 = await call('GET', `/v1/sessions?tenant=${tenant}&limit=1&cursor=${encodeURIComponent(page1.body.nextCursor)}`, keys.read);
    expect([page1.body.sessions[0].session.id, page2.body.sessions[0].session.id].sort()).toEqual([ids[0], ids[1]].sort());
    const recent = await call('GET', `/v1/sessions/recent?tenant=${tenant}`, keys.read);
    expect(recent.body.map((x: any) => x.id).sort()).toEqual([...ids].sort());

    const res = await fetch(`${base}/v1/sessions/${done}/replay?from=2`, { headers: { authorization: `Bearer ${keys.read}` } });
    expect(res.headers.get('content-type')).toContain('application/x-ndjson');
    const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((e) => e.seq)).toEqual([2, 3, 4, 5, 6]);
    expect(lines[2].data).toEqual({ turn: 1, state: { hp: 3, note: null } });
    // `from` and `to` are both inclusive (docs/http.md).
    const window = await fetch(`${base}/v1/sessions/${done}/replay?from=2&to=4`, { headers: { authorization: `Bearer ${keys.read}` } });
    expect((await window.text()).trim().split('\n').map((l) => JSON.parse(l).seq)).toEqual([2, 3, 4]);

    const board = await call('GET', `/v1/sessions/${done}/leaderboard`, keys.read);
    expect(JSON.stringify(board.body)).toContain('alice');
    await waitFor('the final snapshot', async () => (await call('GET', `/v1/sessions/${done}/snapshots?withState=true`, keys.read)).body.some((x: any) => x.final));
    const snaps = (await call('GET', `/v1/sessions/${done}/snapshots?withState=true`, keys.read)).body;
    expect(snaps.find((x: any) => x.final)).toMatchObject({ seq: 6, value: { hp: 3, note: null } });

    expect((await call('GET', `/v1/tenants/${tenant}/stats?days=3660`, keys.read)).body).toMatchObject({ tenant, total: 3, completed: 1, active: 2 });
    expect((await call('GET', `/v1/tenants/${tenant}/stats`, keys.tenantA)).status).toBe(403);
    expect((await call('GET', '/v1/stats/daily?days=2', keys.read)).status).toBe(200);
    expect((await call('GET', `/v1/sessions?tenant=${tenant}`, keys.tenantA)).status).toBe(403);
  });

  it("serves the best-score board, daily stats of one game type, a tenant's chat, agent usage and a finish's result, as sent", async () => {
    const u = uuidv7().slice(-12);
    const [tenant, g1, g2, s1, s2] = [`chat-${u}`, `g1-${u}`, `g2-${u}`, `api-ag1-${u}`, `api-ag2-${u}`];
    const [p1, p2, p3] = ['p1', 'p2', 'p3'].map((p) => `${p}-${u}`) as [string, string, string];
    const ev = (type: string, sessionId: string, player: string | undefined, data: Record<string, unknown>) => ({ id: uuidv7(), type, sessionId, ...(player ? { player } : {}), data });
    const chat = (sessionId: string, player: string | undefined, channel?: string) => ev('chat.message', sessionId, player, { text: 'hi', ...(channel ? { channel } : {}) });
    const agent = (sessionId: string, player: string, model: string, provider: string | undefined, d: Record<string, number>) =>
      ev('agent.log', sessionId, player, { model, ...(provider ? { provider } : {}), ...d });
    const calls = [
      agent(s1, p1, 'gpt-x', 'openai', { promptTokens: 100, completionTokens: 10, thinkingTokens: 5, latencyMs: 100 }),
      agent(s1, p1, 'gpt-x', 'openai', { promptTokens: 200, completionTokens: 20, latencyMs: 400 }),
      agent(s1, p1, 'gpt-x', 'openai', { promptTokens: 300, completionTokens: 30, thinkingTokens: 7, latencyMs: 200 }),
      agent(s1, p1, 'claude', 'anthropic', { promptTokens: 50, completionTokens: 5 }),
      agent(s1, p2, 'gpt-x', undefined, { promptTokens: 1, completionTokens: 2, thinkingTokens: 3, latencyMs: 9.5 }),
      agent(s2, p1, 'gpt-x', 'openai', { promptTokens: 1000, completionTokens: 100, latencyMs: 1000 }),
    ];
    const finish = { winners: [p1], scores: { [p1]: 12.5, [p2]: 30 }, result: 'p1 took the last trick' };
    const res = await call('POST', '/v1/events', keys.ingest, [
      ev('session.created', s1, undefined, { gameType: g1, tenant }),
      ev('player.joined', s1, p1, { name: 'Ann' }),
      ev('player.joined', s1, p2, {}),
      chat(s1, p1, 'discussion'), chat(s1, p1, 'discussion'), chat(s1, p2, 'discussion'), chat(s1, p1, 'lobby'), chat(s1, p2), chat(s1, undefined, 'lobby'),
      ...calls.slice(0, 5),
      ev('player.outcome', s1, p1, { outcome: 'win', score: 12.5 }),
      ev('player.outcome', s1, p2, { outcome: 'loss', score: 30 }),
      ev('session.finished', s1, undefined, finish),
      ev('session.created', s2, undefined, { gameType: g2, tenant }),
      chat(s2, p3, 'discussion'),
      calls[5],
      ev('player.outcome', s2, p1, { outcome: 'win', score: 99 }),
      ev('session.finished', s2, undefined, { winners: [2] }),
    ]);
    expect(res.body.rejected).toBe(0);
    expect((await call('GET', `/v1/sessions/${s1}/wait?seq=17&timeoutMs=20000`, keys.read)).status).toBe(200);
    expect((await call('GET', `/v1/sessions/${s2}/wait?seq=5&timeoutMs=20000`, keys.read)).status).toBe(200);

    // The best-score board of a game type: each player's highest outcome score in it.
    await waitFor('the best-score board', async () => (await call('GET', `/v1/leaderboard?by=best_score&game=${g1}`, keys.read)).body.rows.length === 2);
    const best = await call('GET', `/v1/leaderboard?by=best_score&game=${g1}`, keys.read);
    expect(best.body.rows.map((r: any) => [r.playerId, r.value, r.rank])).toEqual([[p2, 30, 1], [p1, 12.5, 2]]);
    expect((await call('GET', `/v1/players/${p1}/stats`, keys.read)).body).toMatchObject({ all: { bestScore: 99 }, games: { [g1]: { bestScore: 12.5 }, [g2]: { bestScore: 99 } } });

    // Daily statistics of one game type count only its sessions.
    const day = async (q: string) => (await call('GET', `/v1/stats/daily?days=1${q}`, keys.read)).body[0];
    expect(await day(`&game=${g1}`)).toMatchObject({ created: 1, finished: 1, abandoned: 0, players: 2 });
    expect(await day(`&game=${g2}`)).toMatchObject({ created: 1, finished: 1, players: 1 });
    expect((await day('')).created).toBeGreaterThanOrEqual(2);
    expect((await call('GET', '/v1/stats/daily?game=', keys.read)).status).toBe(400);

    // The tenant's chat: per player (and channel), per channel.
    const chatStats = await call('GET', `/v1/tenants/${tenant}/chat?days=1`, keys.read);
    expect(chatStats.body).toEqual({
      tenant, days: 1, messages: 7,
      players: [
        { playerId: p1, name: 'Ann', messages: 3, channels: [{ channel: 'discussion', messages: 2 }, { channel: 'lobby', messages: 1 }] },
        { playerId: p2, name: null, messages: 2, channels: [{ channel: 'discussion', messages: 1 }, { channel: null, messages: 1 }] },
        { playerId: p3, name: null, messages: 1, channels: [{ channel: 'discussion', messages: 1 }] },
      ],
      channels: [{ channel: 'discussion', messages: 4, players: 3 }, { channel: 'lobby', messages: 2, players: 1 }, { channel: null, messages: 1, players: 1 }],
    });
    expect((await call('GET', `/v1/tenants/${tenant}/chat?days=0`, keys.read)).status).toBe(400);
    expect((await call('GET', `/v1/tenants/${tenant}/chat`, keys.tenantA)).status).toBe(403);

    // Agent usage per (player, model, provider): sums, mean, max and the interpolated p95 of the latencies.
    const usage = (list: typeof calls) => {
      const lat = list.map((c) => c.data.latencyMs as number | undefined).filter((x): x is number => x !== undefined).sort((a, b) => a - b);
      const p95 = lat.length ? lat[Math.floor(0.95 * (lat.length - 1))]! + (0.95 * (lat.length - 1) - Math.floor(0.95 * (lat.length - 1))) * ((lat[Math.ceil(0.95 * (lat.length - 1))] ?? 0) - lat[Math.floor(0.95 * (lat.length - 1))]!) : null;
      const sum = (k: string) => list.reduce((a, c) => a + ((c.data[k] as number | undefined) ?? 0), 0);
      return {
        calls: list.length, sessions: new Set(list.map((c) => c.sessionId)).size, promptTokens: sum('promptTokens'), completionTokens: sum('completionTokens'), thinkingTokens: sum('thinkingTokens'),
        latencyMs: { mean: lat.length ? lat.reduce((a, b) => a + b, 0) / lat.length : null, max: lat.length ? lat.at(-1) : null, p95 },
      };
    };
    const of = (list: typeof calls, player: string, model: string) => list.filter((c) => c.player === player && c.data.model === model);
    const sa = await call('GET', `/v1/sessions/${s1}/agents`, keys.read);
    expect(sa.body).toEqual({
      sessionId: s1,
      agents: [
        { playerId: p1, model: 'claude', provider: 'anthropic', ...usage(of(calls.slice(0, 5), p1, 'claude')) },
        { playerId: p1, model: 'gpt-x', provider: 'openai', ...usage(of(calls.slice(0, 5), p1, 'gpt-x')) },
        { playerId: p2, model: 'gpt-x', provider: null, ...usage(of(calls.slice(0, 5), p2, 'gpt-x')) },
      ],
    });
    expect(sa.body.agents[1].latencyMs).toEqual({ mean: 700 / 3, max: 400, p95: 380 });
    const pa = await call('GET', `/v1/players/${p1}/agents`, keys.read);
    expect(pa.body.agents.find((a: any) => a.model === 'gpt-x')).toEqual({ playerId: p1, model: 'gpt-x', provider: 'openai', ...usage(of(calls, p1, 'gpt-x')) });
    expect(await call('GET', '/v1/sessions/none/agents', keys.read)).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    expect((await call('GET', `/v1/sessions/${s1}/agents`, keys.tenantA)).status).toBe(404);
    expect((await call('GET', `/v1/players/nobody-${u}/agents`, keys.read)).status).toBe(404);
    expect((await call('GET', `/v1/players/${p1}/agents`, keys.tenantA)).status).toBe(403);

    // A finished session's result, winners and scores, in recovery and in the recent list.
    expect((await call('GET', `/v1/sessions/${s1}/recover`, keys.read)).body.session).toMatchObject({ status: 'finished', ...finish });
    const recent = (await call('GET', `/v1/sessions/recent?tenant=${tenant}`, keys.read)).body;
    expect(recent.find((r: any) => r.id === s1)).toMatchObject(finish);
    // Winners are ids, and ids are text (README, docs/http.md): an integer comes back as a string.
    expect(recent.find((r: any) => r.id === s2)).toMatchObject({ status: 'finished', result: null, winners: ['2'], scores: null });
    expect((await call('GET', `/v1/sessions/${s2}/recover`, keys.read)).body.session.winners).toEqual(['2']);
  });

  it("hands out a tenant's waiting players once each (the join queue's notify)", async () => {
    const tenant = `q-${uuidv7()}`;
    const q = (type: string, player: string) => ({ id: uuidv7(), type, player, data: { tenant } });
    await call('POST', '/v1/events', keys.ingest, [q('queue.entered', 'p1')]);
    await new Promise((r) => setTimeout(r, 20));
    await call('POST', '/v1/events', keys.ingest, [q('queue.entered', 'p2'), q('queue.entered', 'p3')]);
    await new Promise((r) => setTimeout(r, 20));
    await call('POST', '/v1/events', keys.ingest, [q('queue.left', 'p3')]);
    await waitFor('the queue', async () => (await call('GET', `/v1/tenants/${tenant}/queue`, keys.read)).body.waiting.length === 2);
    expect((await call('GET', `/v1/tenants/${tenant}/queue`, keys.read)).body.waiting.map((w: any) => w.playerId)).toEqual(['p1', 'p2']);
    const first = await call('POST', `/v1/tenants/${tenant}/queue/notify`, keys.ingest, { count: 1 });
    expect(first.body.notified.map((w: any) => w.playerId)).toEqual(['p1']);
    const [a, b] = await Promise.all([
      call('POST', `/v1/tenants/${tenant}/queue/notify`, keys.ingest, { count: 5 }),
      call('POST', `/v1/tenants/${tenant}/queue/notify`, keys.ingest, { count: 5 }),
    ]);
    expect([...a.body.notified, ...b.body.notified].map((w: any) => w.playerId)).toEqual(['p2']);
    expect((await call('POST', `/v1/tenants/${tenant}/queue/notify`, keys.read, { count: 1 })).status).toBe(403);
    expect((await call('POST', `/v1/tenants/${tenant}/queue/notify`, keys.ingest, { count: 0 })).status).toBe(400);
    // Entering again makes a player waiting and not notified again.
    await call('POST', '/v1/events', keys.ingest, [q('queue.entered', 'p1')]);
    await waitFor('p1 back', async () => (await call('GET', `/v1/tenants/${tenant}/queue`, keys.read)).body.waiting.some((w: any) => w.playerId === 'p1' && w.notifiedAt === null));
    expect((await call('POST', `/v1/tenants/${tenant}/queue/notify`, keys.ingest, { count: 5 })).body.notified.map((w: any) => w.playerId)).toEqual(['p1']);
  });

  it('registers game types (admin only) and checks events of them at ingest, naming the failing path', async () => {
    const type = `x.api${uuidv7().slice(-8)}.choice`;
    const schema = { type: 'object', properties: { option: { type: 'integer', minimum: 0 } }, required: ['option'] };
    expect(await call('PUT', `/v1/contract/types/${type}`, keys.read, { schema })).toMatchObject({ status: 403 });
    expect(await call('PUT', `/v1/contract/types/${type}`, keys.admin, { schema: { type: 'object', propertis: {} } })).toMatchObject({
      status: 400, body: { error: { code: 'invalid_event', message: expect.stringMatching(/unknown keyword/) } },
    });
    expect(await call('PUT', '/v1/contract/types/Not.A.Type', keys.admin, { schema })).toMatchObject({ status: 400 });
    expect(await call('PUT', `/v1/contract/types/${type}`, keys.admin, { schema, description: 'a choice' })).toMatchObject({ status: 200, body: { type, version: 1 } });
    const listed = await call('GET', '/v1/contract/types', keys.read);
    expect(listed.body.mode).toBe('open');
    expect(listed.body.types.find((t: { type: string }) => t.type === type)).toMatchObject({ version: 1, description: 'a choice', schema });

    const id = `api-types-${uuidv7()}`;
    const res = await call('POST', '/v1/events', keys.ingest, [
      { type: 'session.created', sessionId: id, data: { gameType: 'adventure' } },
      { type, sessionId: id, player: 'ann', data: { option: 2 } },
      { type, sessionId: id, player: 'ann', data: { option: -2 } },
      { type: 'x.other.free', sessionId: id, data: { anything: [1, { b: null }] } },
    ]);
    expect(res.body.results.map((r: { status: string; field?: string }) => r.field ?? r.status)).toEqual(['accepted', 'accepted', 'data.option', 'accepted']);
    await waitFor('the game events', async () => (await count(ctx.fx.orm, 'custom_events', 'session_id = $1', [id])) === 2);

    expect(await call('DELETE', `/v1/contract/types/${type}`, keys.read)).toMatchObject({ status: 403 });
    expect(await call('DELETE', `/v1/contract/types/${type}`, keys.admin)).toMatchObject({ status: 200, body: { removed: type } });
    expect(await call('DELETE', `/v1/contract/types/${type}`, keys.admin)).toMatchObject({ status: 404 });
    // Unregistered again: free-form.
    expect((await call('POST', '/v1/events', keys.ingest, [{ type, sessionId: id, data: { option: -2 } }])).body.accepted).toBe(1);
  });

  it('answers 503 when the game types cannot be read, and a retry with the same Idempotency-Key then goes through', async () => {
    // A replica whose registry reads from a PostgreSQL that does not answer (a real client, a closed port).
    const down = createReader('postgres://postgres@127.0.0.1:1/none', { max: 1 });
    const other = await buildApi({ cfg: testConfig(ctx.fx.db.url, ctx.prefix), orm: ctx.fx.orm, redis, types: new TypeRegistry(down, 'open', 60_000) });
    try {
      const url = await other.listen({ port: 0, host: '127.0.0.1' });
      const id = `api-down-${uuidv7()}`;
      const body = JSON.stringify([{ type: 'x.down.event', sessionId: id, data: { n: 1 } }]);
      const headers = { authorization: `Bearer ${keys.ingest}`, 'content-type': 'application/json', 'idempotency-key': `down-${uuidv7()}` };
      const res = await fetch(`${url}/v1/events`, { method: 'POST', headers, body });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: unknown }).error).toMatchObject({ code: 'unavailable', message: expect.stringMatching(/registered game types could not be read/) });
      const retry = await fetch(`${base}/v1/events`, { method: 'POST', headers, body });
      expect(retry.status).toBe(200);
      expect(((await retry.json()) as { accepted: number }).accepted).toBe(1);
    } finally {
      await other.close();
      await down.close();
    }
  });

  it('serves documents by key, collection and player, their rejected writes, and recovery with documents; tenants stay apart', async () => {
    const id = `api-docs-${uuidv7()}`;
    const put = (key: string, value: unknown, extra: Record<string, unknown> = {}) => ({ type: 'doc.put', sessionId: id, data: { collection: 'chunks', key, value, ...extra } });
    const res = await call('POST', '/v1/events', keys.ingest, [
      { type: 'session.created', sessionId: id, data: { gameType: 'adventure', tenant: 'guild-b' } },
      put('0:0', { biome: 'forest' }),
      put('0:1', { biome: 'lake' }),
      put('1:0', { biome: 'hill' }),
      put('0:0', { biome: 'ash' }, { expectedVersion: 5 }),
      { type: 'doc.put', sessionId: id, player: 'ann', data: { collection: 'characters', key: 'ann', value: { hp: 3 }, owner: 'player' } },
      { type: 'doc.put', sessionId: id, data: { collection: 'chunks', key: 'bad', value: null } },
    ]);
    expect(res.body.results.map((r: { status: string; field?: string }) => r.field ?? r.status)).toEqual([...Array(6).fill('accepted'), 'data.value']);
    await waitFor('the documents', async () => (await call('GET', `/v1/sessions/${id}/wait?seq=6`, keys.read)).status === 200);

    expect(await call('GET', `/v1/sessions/${id}/documents/chunks/0:0`, keys.read)).toMatchObject({ status: 200, body: { key: '0:0', value: { biome: 'forest' }, version: 1, player: null } });
    expect(await call('GET', `/v1/sessions/${id}/documents/chunks/9:9`, keys.read)).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    const page = await call('GET', `/v1/sessions/${id}/documents/chunks?prefix=0:&limit=1`, keys.read);
    expect(page.body).toMatchObject({ documents: [{ key: '0:0' }], next: '0:0' });
    expect((await call('GET', `/v1/sessions/${id}/documents/chunks?prefix=0:&after=0:0`, keys.read)).body).toMatchObject({ documents: [{ key: '0:1' }], next: null });
    expect((await call('GET', `/v1/sessions/${id}/documents/characters/ann?player=ann`, keys.read)).body).toMatchObject({ value: { hp: 3 }, player: 'ann' });
    expect((await call('GET', '/v1/players/ann/documents', keys.read)).body.documents.filter((d: { sessionId: string }) => d.sessionId === id)).toHaveLength(1);
    expect((await call('GET', `/v1/sessions/${id}/document-rejections`, keys.read)).body.rejections).toMatchObject([{ seq: 5, key: '0:0', outcome: 'conflict', expectedVersion: 5, version: 1 }]);
    const rec = await call('GET', `/v1/sessions/${id}/recover?documents=chunks`, keys.read);
    expect(rec.body.documents).toMatchObject({ throughSeq: 6, truncated: false });
    expect(rec.body.documents.items.map((d: { key: string }) => d.key)).toEqual(['0:0', '0:1', '1:0']);
    expect((await call('GET', `/v1/sessions/${id}/recover`, keys.read)).body.documents).toBeUndefined();

    // guild-a's key sees none of guild-b's documents, and no player's across tenants.
    expect(await call('GET', `/v1/sessions/${id}/documents/chunks`, keys.tenantA)).toMatchObject({ status: 404 });
    expect(await call('GET', `/v1/sessions/${id}/documents/chunks/0:0`, keys.tenantA)).toMatchObject({ status: 404 });
    expect(await call('GET', '/v1/players/ann/documents', keys.tenantA)).toMatchObject({ status: 403 });
  });

  it('exports request and event metrics by route template, never ids', async () => {
    await call('GET', '/v1/sessions/some-secret-id/recover', keys.read);
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/gp_http_requests_total\{route="\/v1\/sessions\/:id\/recover",method="GET",status="404"\} [1-9]/);
    expect(text).toMatch(/gp_http_request_duration_seconds_bucket\{le="0.01",route="\/v1\/events",method="POST"\}/);
    expect(text).toMatch(/gp_http_events_total\{verdict="accepted"\} [1-9]/);
    expect(text).toMatch(/gp_http_events_total\{verdict="rejected"\} [1-9]/);
    expect(text).not.toContain('some-secret-id');
  });

  it('publishes its OpenAPI document, the very one committed as docs/openapi.json', async () => {
    const doc = await call('GET', '/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
    expect(doc.body).toEqual(JSON.parse(readFileSync(new URL('../../../docs/openapi.json', import.meta.url), 'utf8')));
  });
});

describe('game-persist serve and keys', () => {
  it('creates, lists and revokes keys, and serves until SIGTERM', async () => {
    const env = testEnv(ctx.fx.db.url, ctx.prefix, { GP_API_PORT: '0' });
    const created = await runCli(['keys', 'create', 'cli-bot', '--scope', 'read', '--scope', 'ingest', '--tenant', 'guild-z', '--json'], env);
    expect(created.code, created.stderr).toBe(0);
    const k = JSON.parse(created.stdout);
    expect(k).toMatchObject({ name: 'cli-bot', scopes: ['read', 'ingest'], tenant: 'guild-z', revokedAt: null });
    expect(k.key).toMatch(/^gpk_[0-9a-f]{16}_/);
    const [stored] = await rows(ctx.fx.orm, 'select secret_hash from api_keys where id = $1', [k.id]);
    expect(stored!.secret_hash).not.toContain(k.key.slice(k.key.indexOf('_', 4) + 1));
    expect(JSON.parse((await runCli(['keys', 'list', '--json'], env)).stdout).map((x: any) => x.id)).toContain(k.id);
    expect((await runCli(['keys', 'create', 'bad', '--scope', 'root'], env)).code).toBe(1);

    const server = spawnCli(['serve'], env);
    const up = await server.waitForLog('api listening');
    const url = up.address as string;
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/v1/sessions/x/recover`, { headers: { authorization: `Bearer ${k.key}` } })).status).toBe(404);
    expect((await runCli(['keys', 'revoke', k.id], env)).code).toBe(0);
    expect(JSON.parse((await runCli(['keys', 'list', '--json'], env)).stdout).map((x: any) => x.id)).not.toContain(k.id);
    // A revocation reaches a running server within KEY_CACHE_MS.
    await waitFor('the revocation', async () => (await fetch(`${url}/v1/sessions/x/recover`, { headers: { authorization: `Bearer ${k.key}` } })).status === 401, 10_000);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  }, 60_000);
});
