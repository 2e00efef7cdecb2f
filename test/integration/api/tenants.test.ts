/**
 * Tenants that hold (docs/http.md, "Tenants"), through the HTTP API against real PostgreSQL, Redis and a
 * worker: admin stays deployment-wide; a tenant key's sessions are confined, so its players' results
 * count on its tenant's board and never on the global one, and never rename a global player; a tenant
 * key writes no session a trusted publisher created, and cannot tell another tenant's session from a
 * missing one on any route; its tenant's board and player stats read back right.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../../../src/api/server.ts';
import { createApiKey } from '../../../src/api/keys.ts';
import { uuidv7 } from '../../../src/contract/ids.ts';
import { INSERT_API_KEY_SQL } from '../../../src/db/sql/api-keys.ts';
import { foldStatDeltas } from '../../../src/aggregates/write.ts';
import { rateSession } from '../../../src/aggregates/ratings.ts';
import { verifyAggregates } from '../../../src/aggregates/verify.ts';
import { REDIS_URL, rows, testConfig, testEnv } from '../../helpers/services.ts';
import { runCli } from '../../helpers/cli.ts';
import { workerFixture } from '../../helpers/worker.ts';

// pg-boss off: the tests fold statistics and rate sessions themselves, when they need them.
const ctx = workerFixture({ GP_JOBS: 'false', GP_STATS_FOLD_MS: '60000', GP_STATS_TZ: 'UTC', GP_WIN_RATE_MIN_GAMES: '1' });
let app: FastifyInstance;
let base = '';
let redis: Redis;
let trusted = '';
let admin = '';

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  app = await buildApi({ cfg: testConfig(ctx.fx.db.url, ctx.prefix, { GP_API_RATE_LIMIT: '100000' }), orm: ctx.fx.orm, redis });
  base = await app.listen({ port: 0, host: '127.0.0.1' });
  trusted = (await createApiKey(ctx.fx.orm, { name: 'trusted', scopes: ['ingest', 'read'] })).key;
  admin = (await createApiKey(ctx.fx.orm, { name: 'admin', scopes: ['admin'] })).key;
});
afterAll(async () => {
  await app?.close();
  await redis?.quit();
});

const tenantKey = async (tenant: string, scopes = ['ingest', 'read']) => (await createApiKey(ctx.fx.orm, { name: `${tenant}-key`, scopes, tenant })).key;

async function call(method: string, path: string, key: string, body?: unknown) {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  // NDJSON (replay) stays text.
  return { status: res.status, body: res.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : text };
}

type Ev = { type: string; player?: string; data?: Record<string, unknown>; at?: string };
const events = (sessionId: string, list: Ev[]) => list.map((e) => ({ id: uuidv7(), sessionId, data: {}, ...e }));

/** Publishes and waits until the worker stored every accepted event; returns the verdicts. */
async function publish(key: string, evs: Record<string, unknown>[]) {
  const r = await call('POST', '/v1/events', key, evs);
  expect(r.status).toBe(200);
  const last = new Map<string, number>();
  r.body.results.forEach((x: { status: string; seq: number }, i: number) => {
    if (x.status === 'accepted' && x.seq !== null) last.set(String(evs[i]!.sessionId), Math.max(last.get(String(evs[i]!.sessionId)) ?? 0, x.seq));
  });
  for (const [sid, seq] of last) expect((await call('GET', `/v1/sessions/${encodeURIComponent(sid)}/wait?seq=${seq}&timeoutMs=30000`, trusted)).status).toBe(200);
  return r.body.results as { status: string; code?: string; field?: string; reason?: string }[];
}

const fold = () => foldStatDeltas(ctx.fx.orm, 1, { timeZone: 'UTC' });

/** A finished game: who joined (with a name), their outcomes and xp. */
function game(sessionId: string, gameType: string, tenant: string | null, players: [id: string, outcome: string, xp: number, name?: string][], at?: string): Record<string, unknown>[] {
  const t = at ? { at } : {};
  return events(sessionId, [
    { type: 'session.created', data: { gameType, ...(tenant !== null ? { tenant } : {}) }, ...t },
    ...players.map(([p, , , name]): Ev => ({ type: 'player.joined', player: p, data: name ? { name } : {}, ...t })),
    ...players.map(([p, outcome, xp]): Ev => ({ type: 'player.outcome', player: p, data: { outcome, xp }, ...t })),
    { type: 'session.finished', data: { winners: players.filter(([, o]) => o === 'win').map(([p]) => p) }, ...t },
  ]);
}

describe('tenants', () => {
  it('keeps admin deployment-wide: no tenant key has the admin scope, and one made before is refused on every route', async () => {
    await expect(createApiKey(ctx.fx.orm, { name: 'x', scopes: ['admin'], tenant: 'guild-adm' })).rejects.toThrow(/cannot have the admin scope/);
    const env = testEnv(ctx.fx.db.url, ctx.prefix);
    const cli = await runCli(['keys', 'create', 'x', '--scope', 'admin', '--scope', 'read', '--tenant', 'guild-adm'], env);
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toContain('cannot have the admin scope');

    // A key made with both before the rule (straight into the table, as an older version did).
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    await rows(ctx.fx.orm, INSERT_API_KEY_SQL, [id, 'old-tenant-admin', createHash('sha256').update(secret).digest('hex'), ['admin'], 'guild-adm', null]);
    const old = `gpk_${id}_${secret}`;
    const schema = { description: 'a choice', schema: { type: 'object', properties: { option: { type: 'integer' } } } };
    expect((await call('PUT', '/v1/contract/types/x.tenants.choice', admin, schema)).status).toBe(200);
    for (const [method, path, body] of [
      ['PUT', '/v1/contract/types/x.tenants.other', schema],
      ['DELETE', '/v1/contract/types/x.tenants.choice', undefined],
      ['POST', '/v1/players/someone/erase', undefined],
      ['GET', '/v1/contract/types', undefined],
    ] as const) {
      const r = await call(method, path, old, body);
      expect(r, `${method} ${path}`).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
      expect(r.body.error.message).toContain('cannot have the admin scope');
    }
    const types = (await call('GET', '/v1/contract/types', admin)).body.types.map((t: { type: string }) => t.type);
    expect(types).toContain('x.tenants.choice');
    expect(types).not.toContain('x.tenants.other');
  });

  it("counts a tenant key's 100,000 XP on its tenant's board only: the global board and the player's global stats stay as they were", async () => {
    const u = uuidv7().slice(-8);
    const [star, rival, mate] = [`star-${u}`, `rival-${u}`, `mate-${u}`];
    // A global player, from the deployment's own (trusted) game in another tenant.
    await publish(trusted, game(`g-${u}`, 'hokm', 'guild-other', [[star, 'win', 10, 'Star'], [rival, 'loss', 50, 'Rival']]));
    await fold();
    const boardBefore = (await call('GET', '/v1/leaderboard?limit=1000', trusted)).body;
    const statsBefore = (await call('GET', `/v1/players/${star}/stats`, trusted)).body;
    expect(statsBefore).toMatchObject({ name: 'Star', all: { xp: 10, games: 1 } });

    const a = await tenantKey(`guild-a-${u}`);
    const results = await publish(a, game(`c-${u}`, 'hokm', `guild-a-${u}`, [[star, 'win', 100_000, 'Evil Star'], [mate, 'loss', 1]]));
    expect(results.every((r) => r.status === 'accepted')).toBe(true);
    await fold();

    // Globally nothing moved: the board, the player's stats and name.
    expect((await call('GET', '/v1/leaderboard?limit=1000', trusted)).body).toEqual(boardBefore);
    expect((await call('GET', `/v1/players/${star}/stats`, trusted)).body).toEqual(statsBefore);
    expect((await call('GET', `/v1/players/${mate}/stats`, trusted)).status).toBe(404);
    // The tenant's board has it, for the tenant's key and for a trusted reader asking for it.
    const tenantBoard = await call('GET', '/v1/leaderboard', a);
    expect(tenantBoard.body).toMatchObject({ scope: `tenant:guild-a-${u}`, players: 2, rows: [{ rank: 1, playerId: star, name: 'Evil Star', value: 100_000 }, { rank: 2, playerId: mate, value: 1 }] });
    expect((await call('GET', `/v1/leaderboard?tenant=guild-a-${u}`, trusted)).body).toEqual(tenantBoard.body);
    expect((await call('GET', `/v1/players/${star}/stats`, a)).body).toMatchObject({ tenant: `guild-a-${u}`, name: 'Evil Star', all: { xp: 100_000, wins: 1 }, games: { hokm: { xp: 100_000 } }, xpRank: 1 });
    // Another tenant sees none of it.
    const b = await tenantKey(`guild-b-${u}`);
    expect((await call('GET', '/v1/leaderboard', b)).body).toMatchObject({ scope: `tenant:guild-b-${u}`, players: 0, rows: [] });
    expect((await call('GET', `/v1/players/${star}/stats`, b)).status).toBe(404);
    // A tenant key reads no global value, whatever it asks for.
    expect((await call('GET', `/v1/leaderboard?tenant=guild-other`, a)).status).toBe(403);
    expect((await call('GET', '/v1/stats/daily', a)).status).toBe(403);
    expect((await call('GET', `/v1/players/${star}/agents`, a)).status).toBe(403);
    expect((await call('GET', `/v1/players/${star}/documents`, a)).status).toBe(403);
    expect((await verifyAggregates(ctx.fx.orm, { timeZone: 'UTC', winRateMinGames: 1 })).drift).toEqual([]);
  });

  it('never lets a confined session name or create a global player', async () => {
    const u = uuidv7().slice(-8);
    const [ann, ghost] = [`ann-${u}`, `ghost-${u}`];
    await publish(trusted, events(`n-${u}`, [
      { type: 'session.created', data: { gameType: 'hokm' } },
      { type: 'player.joined', player: ann, data: { name: 'Ann' }, at: '2030-01-01T00:00:00Z' },
    ]));
    const a = await tenantKey(`guild-n-${u}`);
    // Later in time than Ann's own name: it would win if confined sessions named global players.
    const later = '2030-01-02T00:00:00Z';
    await publish(a, events(`cn-${u}`, [
      { type: 'session.created', data: { gameType: 'hokm', tenant: `guild-n-${u}` } },
      { type: 'player.joined', player: ann, data: { name: 'Hacked' }, at: later },
      { type: 'player.joined', player: ghost, data: { name: 'Ghost' }, at: later },
    ]));
    const [p] = await rows(ctx.fx.orm, 'SELECT name FROM players WHERE id = $1', [ann]);
    expect(p).toEqual({ name: 'Ann' });
    expect(await rows(ctx.fx.orm, 'SELECT id FROM players WHERE id = $1', [ghost])).toEqual([]);
    await fold();
    expect((await call('GET', `/v1/players/${ann}/stats`, trusted)).body.name).toBe('Ann');
    expect((await call('GET', `/v1/players/${ghost}/stats`, trusted)).status).toBe(404);
    expect((await call('GET', `/v1/players/${ghost}/stats`, a)).body).toMatchObject({ name: 'Ghost', tenant: `guild-n-${u}` });
  });

  it("answers another tenant's session exactly as a missing one, on every session route and in ingest verdicts", async () => {
    const u = uuidv7().slice(-8);
    const b = await tenantKey(`guild-ob-${u}`);
    const theirs = `ob-${u}`;
    await publish(b, events(theirs, [
      { type: 'session.created', data: { gameType: 'adventure', tenant: `guild-ob-${u}` } },
      { type: 'player.joined', player: 'p1', data: {} },
      { type: 'doc.put', data: { collection: 'chunks', key: 'k', value: { x: 1 } } },
      { type: 'agent.log', player: 'p1', data: { model: 'm' } },
    ]));
    const missing = `ob-missing-${u}`;
    const a = await tenantKey(`guild-oa-${u}`);
    const routes = [
      (id: string) => `/v1/sessions/${id}/recover`,
      (id: string) => `/v1/sessions/${id}/recover?documents=all`,
      (id: string) => `/v1/sessions/${id}/wait?seq=1&timeoutMs=50`,
      (id: string) => `/v1/sessions/${id}/wait?seq=issued`,
      (id: string) => `/v1/sessions/${id}/replay`,
      (id: string) => `/v1/sessions/${id}/leaderboard`,
      (id: string) => `/v1/sessions/${id}/snapshots`,
      (id: string) => `/v1/sessions/${id}/agents`,
      (id: string) => `/v1/sessions/${id}/documents/chunks`,
      (id: string) => `/v1/sessions/${id}/documents/chunks/k`,
      (id: string) => `/v1/sessions/${id}/document-rejections`,
    ];
    for (const route of routes) {
      const [t, m] = [await call('GET', route(theirs), a), await call('GET', route(missing), a)];
      expect(t, route(theirs)).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
      expect(JSON.stringify(t).replaceAll(theirs, 'ID'), route(theirs)).toBe(JSON.stringify(m).replaceAll(missing, 'ID'));
      // The owner reads it.
      expect((await call('GET', route(theirs), b)).status, route(theirs)).toBe(200);
    }
    const verdicts = (await call('POST', '/v1/events', a, [
      ...events(theirs, [{ type: 'move', player: 'p1', data: { action: 'x' } }, { type: 'player.outcome', player: 'p1', data: { outcome: 'win', xp: 5 } }]),
      ...events(missing, [{ type: 'move', player: 'p1', data: { action: 'x' } }, { type: 'player.outcome', player: 'p1', data: { outcome: 'win', xp: 5 } }]),
    ])).body.results;
    expect(verdicts.map((v: { status: string }) => v.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    const shape = (v: Record<string, unknown>, id: string) => JSON.stringify({ ...v, index: 0 }).replaceAll(id, 'ID');
    expect(shape(verdicts[0], theirs)).toBe(shape(verdicts[2], missing));
    expect(shape(verdicts[1], theirs)).toBe(shape(verdicts[3], missing));
    expect(verdicts[0]).toMatchObject({ code: 'forbidden', field: 'sessionId' });
  });

  it('lets a tenant key write no session a trusted publisher created, for its tenant or any, nor take an id in use', async () => {
    const u = uuidv7().slice(-8);
    const tenant = `guild-t-${u}`;
    const a = await tenantKey(tenant);
    const ours = `t-trusted-${u}`;
    await publish(trusted, events(ours, [{ type: 'session.created', data: { gameType: 'hokm', tenant } }, { type: 'player.joined', player: `p-${u}`, data: {} }]));
    const r = await call('POST', '/v1/events', a, events(ours, [
      { type: 'player.outcome', player: `p-${u}`, data: { outcome: 'win', xp: 5000 } },
      { type: 'session.created', data: { gameType: 'hokm', tenant } },
      { type: 'doc.put', data: { collection: 'c', key: 'k', value: {} } },
    ]));
    expect(r.body.results.map((x: { status: string; field: string }) => `${x.status} ${x.field}`)).toEqual(['rejected sessionId', 'rejected sessionId', 'rejected sessionId']);
    expect(r.body.results[1].reason).toContain('is in use');
    // It still reads its tenant's session.
    expect((await call('GET', `/v1/sessions/${ours}/recover`, a)).status).toBe(200);
    // Its own sessions are confined, and it cannot say otherwise.
    const own = `t-own-${u}`;
    const v = await publish(a, [
      ...events(`t-open-${u}`, [{ type: 'session.created', data: { gameType: 'hokm', tenant, confined: false } }]),
      ...events(own, [{ type: 'session.created', data: { gameType: 'hokm', tenant } }, { type: 'player.joined', player: `p-${u}`, data: {} }]),
    ]);
    expect(v.map((x) => x.field ?? x.status)).toEqual(['data.confined', 'accepted', 'accepted']);
    expect(await rows(ctx.fx.orm, 'SELECT id, tenant, confined FROM sessions WHERE id = ANY($1) ORDER BY id', [[ours, own]])).toEqual([
      { id: own, tenant, confined: true },
      { id: ours, tenant, confined: false },
    ]);
    // It waits for a session it just created, before the worker has stored it (its claim counts).
    const fresh = `t-fresh-${u}`;
    const sent = await call('POST', '/v1/events', a, events(fresh, [{ type: 'session.created', data: { gameType: 'hokm', tenant } }]));
    expect(sent.body.results[0]).toMatchObject({ status: 'accepted', seq: 1 });
    expect(await call('GET', `/v1/sessions/${fresh}/wait?seq=1&timeoutMs=30000`, a)).toMatchObject({ status: 200, body: { appliedSeq: 1 } });
    // Its tenant's join queue only; a queue event naming a session (with a seq it fills that number of
    // the session's sequence) names one of its own.
    const q = await call('POST', '/v1/events', a, [
      { id: uuidv7(), type: 'queue.entered', player: 'w', data: { tenant: 'elsewhere' } },
      { id: uuidv7(), type: 'queue.entered', player: 'w', sessionId: ours, seq: 2, data: { tenant } },
      { id: uuidv7(), type: 'queue.entered', player: 'w', sessionId: own, data: { tenant } },
      { id: uuidv7(), type: 'queue.entered', player: 'w', data: { tenant } },
    ]);
    expect(q.body.results.map((x: { status: string; field: string }) => `${x.status} ${x.field}`)).toEqual(['rejected data.tenant', 'rejected sessionId', 'accepted undefined', 'accepted undefined']);
  });

  it("reads its tenant's boards and player stats back right: per game, per period, around a player, and rated within the tenant", async () => {
    const u = uuidv7().slice(-8);
    const tenant = `guild-r-${u}`;
    const a = await tenantKey(tenant);
    const [p1, p2, p3] = [`r1-${u}`, `r2-${u}`, `r3-${u}`];
    const at = '2030-03-05T12:00:00.000Z';
    await publish(a, [
      ...game(`r-a-${u}`, 'hokm', tenant, [[p1, 'win', 30, 'One'], [p2, 'loss', 10, 'Two'], [p3, 'loss', 5]], at),
      ...game(`r-b-${u}`, 'impostor', tenant, [[p2, 'win', 40], [p3, 'loss', 5, 'Three']], at),
    ]);
    for (const s of [`r-a-${u}`, `r-b-${u}`]) expect(await rateSession(ctx.fx.orm, s)).toBe(true);
    await fold();
    const board = (q: string) => call('GET', `/v1/leaderboard?${q}`, a).then((r) => r.body);
    expect(await board('by=xp')).toMatchObject({
      scope: `tenant:${tenant}`, players: 3,
      rows: [{ rank: 1, playerId: p2, name: 'Two', value: 50 }, { rank: 2, playerId: p1, name: 'One', value: 30 }, { rank: 3, playerId: p3, name: 'Three', value: 10 }],
    });
    expect(await board('by=wins&game=hokm')).toMatchObject({ scope: `tenant:${tenant}/game:hokm`, rows: [{ playerId: p1, value: 1 }, { value: 0 }, { value: 0 }] });
    const day = await board('by=xp&period=day:2030-03-05');
    expect(day).toMatchObject({ scope: `tenant:${tenant}/day:2030-03-05`, players: 3 });
    expect(day.rows[0]).toMatchObject({ playerId: p2, value: 50 });
    expect(await board('by=xp&period=month:2030-03')).toMatchObject({ players: 3 });
    expect((await board(`by=xp&around=${p1}&limit=1`)).rows.map((r: { playerId: string; rank: number }) => [r.playerId, r.rank])).toEqual([[p2, 1], [p1, 2], [p3, 3]]);
    // Rated in the tenant's scopes, not the global ones.
    const rated = await rows(ctx.fx.orm, 'SELECT scope, rating FROM player_stats WHERE player_id = $1 AND rating IS NOT NULL ORDER BY scope', [p1]);
    expect(rated.map((r) => r.scope)).toEqual([`tenant:${tenant}`, `tenant:${tenant}/game:hokm`]);
    expect((await board('by=rating')).rows.find((r: { playerId: string }) => r.playerId === p1).value).toBeCloseTo(rated[0]!.rating, 9);
    expect((await call('GET', `/v1/players/${p2}/stats`, a)).body).toMatchObject({
      playerId: p2, tenant, name: 'Two', xpRank: 1,
      all: { games: 2, wins: 1, losses: 1, xp: 50, ratedGames: 2 },
      games: { hokm: { games: 1, xp: 10 }, impostor: { games: 1, wins: 1, xp: 40 } },
    });
    expect(await rows(ctx.fx.orm, `SELECT scope FROM player_stats WHERE player_id = ANY($1) AND scope NOT LIKE 'tenant:%'`, [[p1, p2, p3]])).toEqual([]);
    expect((await verifyAggregates(ctx.fx.orm, { timeZone: 'UTC', winRateMinGames: 1 })).drift).toEqual([]);
  });
});
