/**
 * Confined sessions (session.created `confined: true`, docs/http.md "Tenants") against a real worker:
 * their players' results count in their tenant's scopes only, every global scope and the global
 * `players` row untouched, and sequence order decides which session.created says so — a late one
 * positioned earlier moves the whole contribution (periods, last played, best score, ratings, names)
 * between the global scopes and a tenant's, or between tenants. verify recomputes the tenant scopes,
 * and rebuild restores them.
 */
import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../../../src/contract/ids.ts';
import { foldStatDeltas } from '../../../src/aggregates/write.ts';
import { verifyAggregates } from '../../../src/aggregates/verify.ts';
import { rebuildAggregates } from '../../../src/aggregates/rebuild.ts';
import { rateSession } from '../../../src/aggregates/ratings.ts';
import { rows, waitFor } from '../../helpers/services.ts';
import { plainQueue, workerFixture } from '../../helpers/worker.ts';

const opts = { timeZone: 'UTC', winRateMinGames: 1 };
const ctx = workerFixture({ GP_STATS_TZ: 'UTC', GP_WIN_RATE_MIN_GAMES: '1', GP_JOBS: 'false', GP_STATS_FOLD_MS: '60000' });

type Ev = { id?: string; type: string; seq: number; player?: string; at?: string; data?: Record<string, unknown> };
const T0 = '2030-01-10T10:00:00.000Z';
const T1 = '2030-01-20T10:00:00.000Z';
/** A time no other test uses: its periods are registered by this one only. */
const T2 = '2030-02-12T10:00:00.000Z';

function envelopes(sessionId: string, list: Ev[]) {
  return list.map((e) => ({ id: e.id ?? uuidv7(), type: e.type, sessionId, seq: e.seq, at: e.at ?? T1, ...(e.player ? { player: e.player } : {}), data: e.data ?? {} }));
}

async function publish(...jobs: ReturnType<typeof envelopes>[]) {
  const q = plainQueue(ctx.prefix);
  try {
    for (const events of jobs) await q.add('events', { v: 1, events });
  } finally {
    await q.close();
  }
}

/** Waits until the session holds `n` events, then folds the pending statistics. */
async function landed(sessionId: string, n: number) {
  await waitFor(`${n} events of ${sessionId}`, async () => Number((await rows(ctx.fx.orm, 'select event_count from sessions where id = $1', [sessionId]))[0]?.event_count ?? 0) >= n);
  await new Promise((r) => setTimeout(r, 100));
  await foldStatDeltas(ctx.fx.orm, opts.winRateMinGames, opts);
}

/** A player's rows: scope -> the counters that matter here (rows counting nothing left out). */
async function scopes(player: string): Promise<Record<string, Record<string, unknown>>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const r of await rows(ctx.fx.orm, `select scope, games, wins, xp, tasks, votes, last_played_at, best_score, rating from player_stats where player_id = $1 order by scope`, [player])) {
    if (!r.games && !Number(r.xp) && !r.tasks && !r.votes && r.last_played_at === null && r.best_score === null && r.rating === null) continue;
    out[r.scope] = { games: r.games, wins: r.wins, xp: Number(r.xp), tasks: r.tasks, votes: r.votes, last: r.last_played_at === null ? null : new Date(r.last_played_at).toISOString(), best: r.best_score, rated: r.rating !== null };
  }
  return out;
}
const row = (games: number, wins: number, xp: number, tasks: number, votes: number, last: string | null, best: number | null = null, rated = false) => ({ games, wins, xp, tasks, votes, last, best, rated });
/** The five scopes of a contribution at T1 (2030-01-20, a Sunday: week of Monday 2030-01-14), under `prefix` ('' or 'tenant:t/'). */
const at1 = (prefix: string, game: string) => [prefix ? prefix.slice(0, -1) : 'all', `${prefix}game:${game}`, `${prefix}day:2030-01-20`, `${prefix}week:2030-01-14`, `${prefix}month:2030-01`];
/** The same at T2 (2030-02-12, a Tuesday). */
const at2 = (prefix: string, game: string) => [prefix ? prefix.slice(0, -1) : 'all', `${prefix}game:${game}`, `${prefix}day:2030-02-12`, `${prefix}week:2030-02-11`, `${prefix}month:2030-02`];

async function expectNoDrift() {
  expect((await verifyAggregates(ctx.fx.orm, opts)).drift).toEqual([]);
}

describe('confined sessions', () => {
  it("count a confined session's players in its tenant only, even when its session.created lands after them: the global scopes and the global player stay as they were", async () => {
    const u = uuidv7().slice(-8);
    const [x, g, c] = [`x-${u}`, `g-${u}`, `c-${u}`];
    // The player's global life: one win, 10 XP, named X, at T0.
    await publish(envelopes(g, [
      { type: 'session.created', seq: 1, data: { gameType: 'hokm' }, at: T0 },
      { type: 'player.joined', seq: 2, player: x, data: { name: 'X' }, at: T0 },
      { type: 'player.outcome', seq: 3, player: x, data: { outcome: 'win', xp: 10 }, at: T0 },
    ]));
    await landed(g, 3);
    const before = await scopes(x);
    expect(Object.keys(before)).toEqual(['all', 'day:2030-01-10', 'game:hokm', 'month:2030-01', 'week:2030-01-07']);
    // A confined session's players and results arrive first, its creation last (another job, later).
    await publish(envelopes(c, [
      { type: 'player.joined', seq: 2, player: x, data: { name: 'Evil X' } },
      { type: 'task.completed', seq: 3, player: x, data: { taskType: 'wires', xp: 500 } },
      { type: 'vote', seq: 4, player: x, data: { target: null } },
      { type: 'player.outcome', seq: 5, player: x, data: { outcome: 'win', xp: 1000, score: 99 } },
    ]));
    await landed(c, 4);
    // Until its creation is stored the session is one without a session.created, counted globally (documented).
    expect((await scopes(x)).all).toMatchObject({ xp: 1510, games: 2 });
    expect(await rows(ctx.fx.orm, 'select name from players where id = $1', [x])).toEqual([{ name: 'Evil X' }]);
    await publish(envelopes(c, [{ type: 'session.created', seq: 1, data: { gameType: 'liap-tui', tenant: `t-${u}`, confined: true } }]));
    await landed(c, 5);

    const after = await scopes(x);
    for (const scope of Object.keys(before)) expect(after[scope], scope).toEqual(before[scope]);
    const tenant = Object.fromEntries(Object.entries(after).filter(([s]) => s.startsWith('tenant:')));
    expect(tenant).toEqual(Object.fromEntries(at1(`tenant:t-${u}/`, 'liap-tui').map((s) => [s, row(1, 1, 1500, 1, 1, T1, 99)])));
    expect(Object.keys(after).length).toBe(Object.keys(before).length + 5);
    expect(await rows(ctx.fx.orm, `select name, to_json(last_seen_at) #>> '{}' AS last_seen_at from players where id = $1`, [x])).toEqual([{ name: 'X', last_seen_at: '2030-01-10T10:00:00+00:00' }]);
    await expectNoDrift();
  });

  it('move a session between the global scopes and a tenant\'s, and between tenants, as earlier session.created events arrive late; ratings go stale and rebuild re-rates them', async () => {
    const u = uuidv7().slice(-8);
    const [p, q, s] = [`p-${u}`, `q-${u}`, `m-${u}`];
    const [ta, tb] = [`ta-${u}`, `tb-${u}`];
    // Confined to tenant A, finished, final and rated. The later creations share seq 1 but are
    // positioned before it by their ids (position is (seq, id): docs/contract.md, "The ordering rule").
    await publish(envelopes(s, [
      { type: 'session.created', seq: 1, data: { gameType: 'hokm', tenant: ta, confined: true }, at: T2 },
      { type: 'player.joined', seq: 2, player: p, data: { name: 'Pee' }, at: T2 },
      { type: 'player.joined', seq: 3, player: q, data: { name: 'Queue' }, at: T2 },
      { type: 'player.outcome', seq: 4, player: p, data: { outcome: 'win', xp: 30, score: 7 }, at: T2 },
      { type: 'player.outcome', seq: 5, player: q, data: { outcome: 'loss', xp: 3 }, at: T2 },
      { type: 'session.finished', seq: 6, data: { winners: [p] }, at: T2 },
    ]));
    await landed(s, 6);
    expect(await rateSession(ctx.fx.orm, s)).toBe(true);
    expect(await scopes(p)).toEqual(Object.fromEntries(at2(`tenant:${ta}/`, 'hokm').map((sc, i) => [sc, row(1, 1, 30, 0, 0, T2, 7, i < 2)])));
    expect(await rows(ctx.fx.orm, 'select id from players where id = any($1)', [[p, q]])).toEqual([]);
    await expectNoDrift();

    // An earlier creation confined to tenant B: everything moves from A to B; the rating is now stale.
    await publish(envelopes(s, [{ id: '00000000-0000-7000-8000-000000000001', type: 'session.created', seq: 1, data: { gameType: 'impostor', tenant: tb, confined: true }, at: T2 }]));
    await landed(s, 7);
    expect(await scopes(p)).toEqual({
      // The rating stays where it was made until rebuild re-rates.
      [`tenant:${ta}`]: row(0, 0, 0, 0, 0, null, null, true),
      [`tenant:${ta}/game:hokm`]: row(0, 0, 0, 0, 0, null, null, true),
      ...Object.fromEntries(at2(`tenant:${tb}/`, 'impostor').map((sc) => [sc, row(1, 1, 30, 0, 0, T2, 7)])),
    });
    const stale = await verifyAggregates(ctx.fx.orm, opts);
    expect(stale.drift.map((d) => d.kind)).toEqual(['ratings_input']);
    expect(stale.drift[0]).toMatchObject({ key: s, actual: { tenant: ta, game_type: 'hokm' }, expected: { tenant: tb, game_type: 'impostor' } });

    // The earliest creation is the deployment's own, not confined: the session counts globally, its players are global players.
    await publish(envelopes(s, [{ id: '00000000-0000-7000-8000-000000000000', type: 'session.created', seq: 1, data: { gameType: 'impostor', tenant: tb }, at: T2 }]));
    await landed(s, 8);
    const global = await scopes(p);
    for (const sc of at2('', 'impostor')) expect(global[sc], sc).toEqual(row(1, 1, 30, 0, 0, T2, 7));
    // Its global periods are registered now, to be closed and archived when they end.
    expect((await rows(ctx.fx.orm, `select scope from stat_periods where scope = any($1) order by scope`, [at2('', 'impostor').slice(2)])).map((r) => r.scope)).toEqual(['day:2030-02-12', 'month:2030-02', 'week:2030-02-11']);
    expect(Object.keys(global).filter((sc) => sc.startsWith(`tenant:${tb}`))).toEqual([]);
    expect(await rows(ctx.fx.orm, 'select id, name from players where id = any($1) order by id', [[p, q]])).toEqual([{ id: p, name: 'Pee' }, { id: q, name: 'Queue' }]);
    await rebuildAggregates(ctx.fx.orm, opts);
    await expectNoDrift();
    const rebuilt = await scopes(p);
    expect(rebuilt.all).toMatchObject({ rated: true });
    expect(rebuilt['game:impostor']).toMatchObject({ rated: true });
    expect(Object.keys(rebuilt).filter((sc) => sc.startsWith('tenant:'))).toEqual([]);
  });

  it('keep tenants with / and % in their names apart, and verify and rebuild their scopes like any other', async () => {
    const u = uuidv7().slice(-8);
    const player = `w-${u}`;
    // "a/b" must not read as tenant "a", game scope "b"; "a%2Fb" must not be "a/b".
    for (const [i, tenant] of [`a/b-${u}`, `a%2Fb-${u}`, `a-${u}`].entries())
      await publish(envelopes(`w${i}-${u}`, [
        { type: 'session.created', seq: 1, data: { gameType: 'hokm', tenant, confined: true } },
        { type: 'player.outcome', seq: 2, player, data: { outcome: 'win', xp: 10 * (i + 1) } },
      ]));
    for (const i of [0, 1, 2]) await landed(`w${i}-${u}`, 2);
    const all = await scopes(player);
    expect([`tenant:a%2Fb-${u}`, `tenant:a%252Fb-${u}`, `tenant:a-${u}`].map((sc) => all[sc]?.xp)).toEqual([10, 20, 30]);
    expect(all.all).toBeUndefined();
    await rows(ctx.fx.orm, `update player_stats set xp = xp + 5 where player_id = $1 and scope = $2`, [player, `tenant:a%2Fb-${u}/game:hokm`]);
    await rows(ctx.fx.orm, `delete from player_stats where player_id = $1 and scope = $2`, [player, `tenant:a-${u}/day:2030-01-20`]);
    const bad = await verifyAggregates(ctx.fx.orm, opts);
    expect(bad.drift.filter((d) => d.kind === 'stats').map((d) => d.key).sort()).toEqual([`${player} tenant:a%2Fb-${u}/game:hokm`, `${player} tenant:a-${u}/day:2030-01-20`]);
    await rebuildAggregates(ctx.fx.orm, opts);
    await expectNoDrift();
    expect(await scopes(player)).toEqual(all);
  });
});
