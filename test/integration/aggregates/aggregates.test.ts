/**
 * Exact aggregates against real services: duplicates and redeliveries count once, replaced and
 * out-of-order outcomes, sessions typed late, period boundaries at midnight (UTC and a +05:30 zone),
 * ratings once per session (team-aware), reads that match SQL recomputed over the raw rows, period
 * closing, and verify/rebuild.
 */
import { describe, expect, it } from 'vitest';
import { ordinal, rate, rating } from 'openskill';
import { uuidv7 } from '../../../src/contract/ids.ts';
import { leaderboard, playerStats, sessionLeaderboard, tenantStats, dailyStats, recentSessions } from '../../../src/aggregates/read.ts';
import { verifyAggregates } from '../../../src/aggregates/verify.ts';
import { rebuildAggregates } from '../../../src/aggregates/rebuild.ts';
import { rateFinishedSessions, rateSession } from '../../../src/aggregates/ratings.ts';
import { closeEndedPeriods } from '../../../src/aggregates/close-periods.ts';
import { foldStatDeltas } from '../../../src/aggregates/write.ts';
import { periodScopes } from '../../../src/aggregates/periods.ts';
import { createReader } from '../../../src/db/reader.ts';
import { fixedClock } from '../../../src/clock.ts';
import { rows, waitFor } from '../../helpers/services.ts';
import { plainQueue, workerFixture } from '../../helpers/worker.ts';

const TZ = 'Asia/Kolkata';
const opts = { timeZone: TZ, winRateMinGames: 2 };
// A +05:30 zone, so period boundaries are not UTC midnights; pg-boss off: the tests drive ratings and
// periods. The worker's own folding is slowed down so the tests decide when deltas are folded.
const ctx = workerFixture({ GP_STATS_TZ: TZ, GP_WIN_RATE_MIN_GAMES: '2', GP_JOBS: 'false', GP_STATS_FOLD_MS: '60000' });

type Ev = { id?: string; type: string; sessionId: string; seq: number; player?: string; at?: string; data?: Record<string, unknown> };
const envelope = (e: Ev) => ({ id: e.id ?? uuidv7(), type: e.type, sessionId: e.sessionId, seq: e.seq, at: e.at ?? new Date().toISOString(), ...(e.player ? { player: e.player } : {}), data: e.data ?? {} });

async function publish(...batches: ReturnType<typeof envelope>[][]) {
  const q = plainQueue(ctx.prefix);
  try {
    for (const events of batches) await q.add('events', { v: 1, events });
  } finally {
    await q.close();
  }
}

async function landed(sessionId: string, n: number, fold = true) {
  await waitFor(`${n} events of ${sessionId}`, async () => {
    const [s] = await rows(ctx.fx.orm, 'select event_count from sessions where id = $1', [sessionId]);
    return Number(s?.event_count ?? 0) >= n;
  });
  // Let the batch holding duplicates commit too (they add nothing, but the worker must be idle).
  await new Promise((r) => setTimeout(r, 150));
  // The worker folds pending deltas every GP_STATS_FOLD_MS; fold now so the reads below see them.
  if (fold) await foldStatDeltas(ctx.fx.orm, opts.winRateMinGames, opts);
}

async function stat(player: string, scope = 'all') {
  const [r] = await rows(ctx.fx.orm, 'select games, wins, losses, draws, xp, tasks, fake_tasks, votes, win_rate, best_score, rating, rated_games from player_stats where player_id = $1 and scope = $2', [player, scope]);
  return r ? ({ ...r, xp: Number(r.xp) } as Record<string, any>) : undefined;
}

async function expectNoDrift() {
  const r = await verifyAggregates(ctx.fx.orm, opts);
  expect(r.drift).toEqual([]);
}

/** A finished impostor-style session: created, joins, tasks, votes, outcomes, finished. */
function game(id: string, players: string[], winners: string[], at = new Date().toISOString(), gameType = 'impostor') {
  let seq = 0;
  const ev = (type: string, player?: string, data: Record<string, unknown> = {}) => envelope({ type, sessionId: id, seq: ++seq, player, at, data });
  return [
    ev('session.created', undefined, { gameType, tenant: 'chat-1' }),
    ev('session.started'),
    ...players.map((p, i) => ev('player.joined', p, { role: i === 0 ? 'impostor' : 'crewmate', name: `Player ${p}` })),
    ...players.map((p) => ev('task.completed', p, { taskType: 'wires', xp: 10 })),
    ev('task.completed', players[0], { taskType: 'fake', xp: 0, fake: true }),
    ...players.map((p) => ev('vote', p, { target: players[0], round: 1 })),
    ...players.map((p) => ev('player.outcome', p, { outcome: winners.includes(p) ? 'win' : 'loss', xp: winners.includes(p) ? 50 : 20 })),
    ev('session.finished', undefined, { winners }),
  ];
}

describe('aggregates', () => {
  it('count duplicated and redelivered outcomes, tasks and votes once', async () => {
    const events = game('dup-1', ['dup-a', 'dup-b', 'dup-c'], ['dup-b', 'dup-c']);
    // Every event twice in one job, then the whole job again (a redelivery), then a few again alone.
    await publish([...events, ...events], events, events.slice(5, 12));
    await landed('dup-1', events.length, false);
    // Not folded yet: the deltas are pending, and player_stats plus them is already exact.
    expect(Number((await rows(ctx.fx.orm, 'select count(*) as n from stat_deltas'))[0]!.n)).toBeGreaterThan(0);
    await expectNoDrift();
    expect(await foldStatDeltas(ctx.fx.orm, opts.winRateMinGames, opts)).toBeGreaterThan(0);
    expect(Number((await rows(ctx.fx.orm, 'select count(*) as n from stat_deltas'))[0]!.n)).toBe(0);
    expect(await stat('dup-b')).toMatchObject({ games: 1, wins: 1, losses: 0, xp: 60, tasks: 1, fake_tasks: 0, votes: 1, win_rate: null });
    expect(await stat('dup-a')).toMatchObject({ games: 1, wins: 0, losses: 1, xp: 30, tasks: 1, fake_tasks: 1, votes: 1 });
    expect(await stat('dup-a', 'game:impostor')).toMatchObject({ games: 1, xp: 30 });
    await expectNoDrift();
  });

  it('replace an outcome by a newer one, whichever arrives first, and count the game once', async () => {
    const s = 'corr-1';
    const base = [envelope({ type: 'session.created', sessionId: s, seq: 1, data: { gameType: 'hokm' } }), envelope({ type: 'player.joined', sessionId: s, seq: 2, player: 'corr-a' })];
    const older = envelope({ type: 'player.outcome', sessionId: s, seq: 3, player: 'corr-a', data: { outcome: 'loss', xp: 5 } });
    const newer = envelope({ type: 'player.outcome', sessionId: s, seq: 4, player: 'corr-a', data: { outcome: 'win', xp: 40 } });
    await publish(base, [newer], [older]);
    await landed(s, 4);
    expect(await stat('corr-a')).toMatchObject({ games: 1, wins: 1, losses: 0, xp: 40 });
    const s2 = 'corr-2';
    const o1 = envelope({ type: 'player.outcome', sessionId: s2, seq: 1, player: 'corr-a', data: { outcome: 'loss', xp: 5 } });
    const o2 = envelope({ type: 'player.outcome', sessionId: s2, seq: 2, player: 'corr-a', data: { outcome: 'draw', xp: 7 } });
    await publish([o1], [o2]);
    await landed(s2, 2);
    expect(await stat('corr-a')).toMatchObject({ games: 2, wins: 1, losses: 0, draws: 1, xp: 47, win_rate: 0.5 });
    await expectNoDrift();
  });

  it('move a session into its game scope when session.created arrives after its players', async () => {
    const s = 'late-1';
    const early = [
      envelope({ type: 'player.joined', sessionId: s, seq: 2, player: 'late-a' }),
      envelope({ type: 'task.completed', sessionId: s, seq: 3, player: 'late-a', data: { taskType: 't', xp: 15 } }),
      envelope({ type: 'player.outcome', sessionId: s, seq: 4, player: 'late-a', data: { outcome: 'win', xp: 30 } }),
    ];
    await publish(early);
    await landed(s, 3);
    expect(await stat('late-a', 'game:liap-tui')).toBeUndefined();
    expect(await stat('late-a')).toMatchObject({ games: 1, xp: 45 });
    await publish([envelope({ type: 'session.created', sessionId: s, seq: 1, data: { gameType: 'liap-tui' } }), envelope({ type: 'vote', sessionId: s, seq: 5, player: 'late-a', data: { target: null } })]);
    await landed(s, 5);
    expect(await stat('late-a', 'game:liap-tui')).toMatchObject({ games: 1, wins: 1, xp: 45, tasks: 1, votes: 1 });
    await expectNoDrift();
  });

  it('put events one millisecond either side of a local midnight in different days, weeks and months', async () => {
    // 2026-10-31T18:30:00Z is midnight of Sunday 1 November in Asia/Kolkata (+05:30); that week began Monday 26 October.
    const before = '2026-10-31T18:29:59.999Z';
    const after = '2026-10-31T18:30:00.000Z';
    expect(periodScopes(before, TZ)).toEqual(['day:2026-10-31', 'week:2026-10-26', 'month:2026-10']);
    expect(periodScopes(after, TZ)).toEqual(['day:2026-11-01', 'week:2026-10-26', 'month:2026-11']);
    expect(periodScopes('2026-11-01T18:29:59.999Z', TZ)[1]).toBe('week:2026-10-26');
    expect(periodScopes('2026-11-01T18:30:00.000Z', TZ)[1]).toBe('week:2026-11-02');
    expect(periodScopes('2026-11-01T00:00:00+05:30', TZ)[0]).toBe('day:2026-11-01');
    const s = 'mid-1';
    await publish([
      envelope({ type: 'session.created', sessionId: s, seq: 1, at: before, data: { gameType: 'impostor' } }),
      envelope({ type: 'player.outcome', sessionId: s, seq: 2, player: 'mid-a', at: before, data: { outcome: 'win', xp: 10 } }),
      envelope({ type: 'player.outcome', sessionId: s, seq: 3, player: 'mid-b', at: after, data: { outcome: 'win', xp: 20 } }),
    ]);
    await landed(s, 3);
    expect(await stat('mid-a', 'day:2026-10-31')).toMatchObject({ games: 1, xp: 10 });
    expect(await stat('mid-a', 'day:2026-11-01')).toBeUndefined();
    expect(await stat('mid-b', 'day:2026-11-01')).toMatchObject({ games: 1, xp: 20 });
    expect(await stat('mid-b', 'day:2026-10-31')).toBeUndefined();
    expect(await stat('mid-b', 'month:2026-11')).toMatchObject({ games: 1 });
    expect(await stat('mid-a', 'month:2026-10')).toMatchObject({ games: 1 });
    expect(await stat('mid-a', 'week:2026-10-26')).toMatchObject({ games: 1 });
    expect(await stat('mid-b', 'week:2026-10-26')).toMatchObject({ games: 1 });
    const [p] = await rows(ctx.fx.orm, `select starts_at, ends_at from stat_periods where scope = 'day:2026-11-01'`);
    expect(new Date(p.starts_at).toISOString()).toBe(after);
    expect(new Date(p.ends_at).toISOString()).toBe('2026-11-01T18:30:00.000Z');
    const board = await leaderboard(ctx.fx.orm, { period: 'day:2026-11-01', timeZone: TZ });
    expect(board.rows.map((r) => r.playerId)).toEqual(['mid-b']);
    await expectNoDrift();
  });

  it('keep the best score exact when outcomes are replaced, arrive late, lose their score or move game', async () => {
    // Two days in +05:30: each outcome counts in the day of its own time.
    const d1 = '2026-03-10T06:00:00.000Z';
    const d2 = '2026-03-11T06:00:00.000Z';
    const out = (sessionId: string, seq: number, player: string, at: string, score?: number) =>
      envelope({ type: 'player.outcome', sessionId, seq, player, at, data: { outcome: 'win', xp: 1, ...(score === undefined ? {} : { score }) } });
    const created = (sessionId: string, at: string, gameType = 'liap-tui') => envelope({ type: 'session.created', sessionId, seq: 1, at, data: { gameType } });
    await publish([created('bs-1', d1), out('bs-1', 3, 'bs-a', d1, 100), out('bs-1', 4, 'bs-b', d1, 40)], [created('bs-2', d2), out('bs-2', 2, 'bs-a', d2, 70)]);
    await landed('bs-1', 3);
    await landed('bs-2', 2);
    const best = async (player: string, scope = 'all') => (await stat(player, scope))?.best_score ?? null;
    expect([await best('bs-a'), await best('bs-a', 'game:liap-tui'), await best('bs-a', 'day:2026-03-10'), await best('bs-a', 'day:2026-03-11')]).toEqual([100, 100, 100, 70]);
    expect(await best('bs-b')).toBe(40);
    // A later outcome in seq order replaces the 100 by 30: the maximum goes down, in the day of the new outcome's time.
    await publish([out('bs-1', 5, 'bs-a', d2, 30)]);
    await landed('bs-1', 4, false);
    // Pending: player_stats still says 100, and verify leaves that row to the fold.
    expect(await best('bs-a')).toBe(100);
    await expectNoDrift();
    await foldStatDeltas(ctx.fx.orm, opts.winRateMinGames, opts);
    expect([await best('bs-a'), await best('bs-a', 'day:2026-03-10'), await best('bs-a', 'day:2026-03-11')]).toEqual([70, null, 70]);
    // An earlier outcome arriving late changes nothing (seq 2 is before seq 5), however high its score.
    await publish([out('bs-1', 2, 'bs-a', d1, 500)]);
    await landed('bs-1', 5);
    expect(await best('bs-a')).toBe(70);
    // A correction without a score takes the 30 away.
    await publish([out('bs-2', 3, 'bs-a', d2)]);
    await landed('bs-2', 3);
    expect([await best('bs-a'), await best('bs-a', 'day:2026-03-11')]).toEqual([30, 30]);
    // A session whose session.created arrives after its outcome joins its game's best-score board then.
    await publish([out('bs-3', 2, 'bs-c', d1, 900)]);
    await landed('bs-3', 1);
    expect([await best('bs-c'), await best('bs-c', 'game:hokm')]).toEqual([900, null]);
    await publish([created('bs-3', d1, 'hokm')]);
    await landed('bs-3', 2);
    expect(await best('bs-c', 'game:hokm')).toBe(900);
    // Scores of any size and sign rank correctly (buckets beyond 4096, negative ones, fractions).
    const far = [['bs-d', -9e15], ['bs-j', -5000.5], ['bs-e', 9e15], ['bs-f', 4100.25], ['bs-g', 4100.5], ['bs-h', 0.5], ['bs-i', 0.25]] as const;
    await publish(far.map(([p, v], i) => out('bs-4', i + 1, p, d1, v)));
    await landed('bs-4', far.length);
    const want = await rows(ctx.fx.orm, `select player_id, rank() over (order by best_score desc)::int as rank from player_stats where scope = 'day:2026-03-10' and best_score is not null order by best_score desc, player_id`);
    const top = await leaderboard(ctx.fx.orm, { by: 'best_score', period: 'day:2026-03-10', timeZone: TZ, limit: 100 });
    expect(top.rows.map((r) => [r.playerId, r.rank])).toEqual(want.map((w) => [w.player_id, w.rank]));
    expect(top.rows[0]).toMatchObject({ playerId: 'bs-e', value: 9e15 });
    expect(top.players).toBe(want.length);
    for (const w of want) {
      const around = await leaderboard(ctx.fx.orm, { by: 'best_score', period: 'day:2026-03-10', timeZone: TZ, around: w.player_id, limit: 2 });
      for (const r of around.rows) expect([r.playerId, r.rank]).toEqual([r.playerId, want.find((x) => x.player_id === r.playerId)!.rank]);
    }
    const game = await leaderboard(ctx.fx.orm, { by: 'best_score', game: 'liap-tui' });
    expect(game.rows.map((r) => [r.playerId, r.value, r.rank])).toEqual([['bs-b', 40, 1], ['bs-a', 30, 2]]);
    expect((await playerStats(ctx.fx.orm, 'bs-a'))?.games['liap-tui']?.bestScore).toBe(30);
    await expectNoDrift();
  });

  it('rate each finished session once, team-aware, and exactly as OpenSkill does', async () => {
    const s = 'hokm-1';
    let seq = 0;
    const e = (type: string, player?: string, data: Record<string, unknown> = {}) => envelope({ type, sessionId: s, seq: ++seq, player, data });
    const teams = { A: ['hk-1', 'hk-3'], B: ['hk-2', 'hk-4'] };
    const events = [
      e('session.created', undefined, { gameType: 'hokm' }),
      ...teams.A.map((p) => e('player.joined', p, { team: 'A' })),
      ...teams.B.map((p) => e('player.joined', p, { team: 'B' })),
      ...teams.A.map((p) => e('player.outcome', p, { outcome: 'win' })),
      ...teams.B.map((p) => e('player.outcome', p, { outcome: 'loss' })),
      e('session.finished', undefined, { winners: teams.A }),
    ];
    await publish(events, events);
    await landed(s, events.length);
    // Two direct calls and the sweep race for it: one rates it, the rest find it rated.
    const [r1, r2] = await Promise.all([rateSession(ctx.fx.orm, s), rateSession(ctx.fx.orm, s), rateFinishedSessions(ctx.fx.orm, 0)]);
    expect(Number(r1) + Number(r2)).toBeLessThanOrEqual(1);
    expect(await rateSession(ctx.fx.orm, s)).toBe(false);
    const rs = await rows(ctx.fx.orm, 'select teams, ranks from rated_sessions where session_id = $1', [s]);
    expect(rs).toEqual([{ teams: [teams.A, teams.B], ranks: [1, 3] }]);
    const [[a1, a3], [b2, b4]] = rate([[rating(), rating()], [rating(), rating()]], { rank: [1, 3] });
    for (const [p, want] of [['hk-1', a1], ['hk-3', a3], ['hk-2', b2], ['hk-4', b4]] as const) {
      for (const scope of ['all', 'game:hokm']) {
        const st = await stat(p, scope);
        expect(st?.rated_games).toBe(1);
        expect(st?.rating).toBe(ordinal(want));
      }
    }
    expect((await stat('hk-1'))!.rating).toBeGreaterThan((await stat('hk-2'))!.rating);
    const board = await leaderboard(ctx.fx.orm, { by: 'rating', game: 'hokm' });
    expect(board.rows.slice(0, 2).map((r) => r.playerId).sort()).toEqual(['hk-1', 'hk-3']);
    expect(board.rows[0]!.rank).toBe(1);
    await expectNoDrift();
  });

  it('answer reads that match SQL recomputed over the raw rows, through a reader too', async () => {
    // A spread of players so ranks, ties and buckets matter.
    const batches = [];
    for (let g = 0; g < 30; g++) {
      const players = [`rd-${g % 17}`, `rd-${(g * 7 + 3) % 17}`, `rd-${(g * 5 + 1) % 17}`].filter((p, i, a) => a.indexOf(p) === i);
      batches.push(game(`rd-s${g}`, players, players.slice(0, 1 + (g % 2))));
    }
    // Big task XP for a few players puts them in the logarithmic buckets (above 4096), some sharing one.
    const bonus = [3000, 4100, 4120, 4140, 9000, 9050].map((xp, i) => envelope({ type: 'task.completed', sessionId: 'rd-bonus', seq: i + 1, player: `rd-${i}`, data: { taskType: 'boss', xp } }));
    await publish(...batches, bonus);
    for (let g = 0; g < 30; g++) await landed(`rd-s${g}`, batches[g]!.length);
    await landed('rd-bonus', bonus.length);
    const reader = createReader(ctx.fx.db.url, { max: 2 });
    try {
      for (const by of ['xp', 'wins', 'win_rate'] as const) {
        const col = by;
        const want = await rows(ctx.fx.orm, `select player_id, rank() over (order by ${col} desc)::int as rank from player_stats where scope = 'all' and ${col} is not null order by ${col} desc, player_id`);
        const top = await leaderboard(reader, { by, limit: 1000 });
        expect(top.rows.map((r) => [r.playerId, r.rank])).toEqual(want.map((w) => [w.player_id, w.rank]));
        expect(top.players).toBe(want.length);
        for (const w of want.filter((_, i) => i % 3 === 0)) {
          const around = await leaderboard(reader, { by, around: w.player_id, limit: 3 });
          const me = around.rows.find((r) => r.me);
          expect(me).toMatchObject({ playerId: w.player_id, rank: w.rank });
          for (const r of around.rows) expect(r.rank).toBe(want.find((x) => x.player_id === r.playerId)!.rank);
        }
      }
      const ps = await playerStats(reader, 'rd-3');
      const [raw] = await rows(ctx.fx.orm, `select count(*)::int as games, count(*) filter (where outcome = 'win')::int as wins from session_participants where player_id = 'rd-3' and outcome is not null`);
      expect(ps?.all).toMatchObject({ games: raw.games, wins: raw.wins });
      const [tasks] = await rows(ctx.fx.orm, `select count(*) filter (where not fake)::int as tasks from task_logs where player_id = 'rd-3'`);
      expect(ps?.all?.tasks).toBe(tasks.tasks);
      const [xpRank] = await rows(ctx.fx.orm, `select 1 + count(*)::int as r from player_stats where scope = 'all' and xp > (select xp from player_stats where scope = 'all' and player_id = 'rd-3')`);
      expect(ps?.xpRank).toBe(xpRank.r);
      const sl = await sessionLeaderboard(reader, 'rd-s4');
      const [best] = await rows(ctx.fx.orm, `select player_id from session_participants where session_id = 'rd-s4' order by coalesce(xp, 0) + task_xp desc, player_id limit 1`);
      expect(sl?.players[0]?.playerId).toBe(best.player_id);
      expect(sl?.players[0]?.rank).toBe(1);
      const clock = fixedClock(new Date());
      const ts = await tenantStats(reader, 'chat-1', 7, clock);
      const [t] = await rows(ctx.fx.orm, `select count(*)::int as total, count(*) filter (where status = 'finished')::int as done from sessions where tenant = 'chat-1'`);
      expect(ts).toMatchObject({ total: t.total, completed: t.done });
      const days = await dailyStats(reader, 2, TZ, clock);
      const [d] = await rows(ctx.fx.orm, `select count(*)::int as n from sessions where (ended_at at time zone $1)::date = ($2::timestamptz at time zone $1)::date and status = 'finished'`, [TZ, clock.now()]);
      expect(days[0]!.finished).toBe(d.n);
      const recent = await recentSessions(reader, { tenant: 'chat-1', limit: 3 });
      expect(recent).toHaveLength(3);
    } finally {
      await reader.close();
    }
    await expectNoDrift();
  });

  it('completion rate is completed / total and win rate is wins / games from GP_WIN_RATE_MIN_GAMES on, as documented', async () => {
    const at = new Date().toISOString();
    const session = (id: string, events: Omit<Ev, 'sessionId' | 'seq'>[]) => events.map((e, i) => envelope({ ...e, sessionId: id, seq: i + 1, at }));
    const created = { type: 'session.created', data: { gameType: 'rates', tenant: 'rates-chat' } };
    const outcome = (o: string) => ({ type: 'player.outcome', player: 'rt-p', data: { outcome: o } });
    await publish(session('rt-1', [created, outcome('win'), { type: 'session.finished' }]));
    await landed('rt-1', 3);
    // One game: below GP_WIN_RATE_MIN_GAMES (2), so off the win-rate board.
    expect(await stat('rt-p', 'game:rates')).toMatchObject({ games: 1, wins: 1, win_rate: null });
    const rest = [
      session('rt-2', [created, outcome('draw'), { type: 'session.finished' }]),
      session('rt-3', [created, outcome('loss'), { type: 'session.abandoned' }]),
      session('rt-4', [created, { type: 'session.started' }]),
    ];
    await publish(...rest);
    for (const [i, b] of rest.entries()) await landed(`rt-${i + 2}`, b.length);
    // A draw and a loss are games without a win: 1 of 3.
    expect(await stat('rt-p', 'game:rates')).toMatchObject({ games: 3, wins: 1, draws: 1, losses: 1, win_rate: 1 / 3 });
    const reader = createReader(ctx.fx.db.url, { max: 1 });
    try {
      // 2 finished of 4 sessions (1 abandoned, 1 still active): the seed's /chatstats formula.
      expect(await tenantStats(reader, 'rates-chat', 7, fixedClock(new Date()))).toEqual({
        tenant: 'rates-chat', days: 7, total: 4, active: 1, completed: 2, abandoned: 1, completionRate: 0.5,
      });
      expect(await tenantStats(reader, 'rates-nobody', 7, fixedClock(new Date()))).toMatchObject({ total: 0, completionRate: null });
    } finally {
      await reader.close();
    }
  });

  it('close ended periods once, archiving their standings', async () => {
    // The periods registered so far include the midnight test's (October and 1 November 2026) and the
    // current ones of the other tests; at this fixed time only the first have ended, whatever today is.
    const clock = fixedClock('2026-11-15T00:00:00Z');
    const closed = await closeEndedPeriods(ctx.fx.orm, { clock });
    expect(closed).toEqual(expect.arrayContaining(['day:2026-10-31', 'day:2026-11-01', 'week:2026-10-26', 'month:2026-10']));
    expect(closed).not.toContain('month:2026-11');
    expect(await rows(ctx.fx.orm, 'select scope from stat_periods where closed_at is not null and ends_at > $1', [clock.now()])).toEqual([]);
    expect(await closeEndedPeriods(ctx.fx.orm, { clock })).toEqual([]);
    const arch = await rows(ctx.fx.orm, `select player_id, rank from leaderboard_archive where scope = 'day:2026-10-31' and metric = 'xp' order by position`);
    expect(arch.map((a) => a.player_id)).toContain('mid-a');
    // The best-score board is archived with the others.
    const bestArch = await rows(ctx.fx.orm, `select player_id, rank, value from leaderboard_archive where scope = 'day:2026-03-10' and metric = 'best_score' order by position`);
    expect(bestArch.slice(0, 2)).toEqual([{ player_id: 'bs-e', rank: 1, value: 9e15 }, { player_id: 'bs-g', rank: 2, value: 4100.5 }]);
  });

  it('verify finds drift it did not make, and rebuild removes it', async () => {
    await rows(ctx.fx.orm, `update player_stats set wins = wins + 1 where player_id = 'dup-b' and scope = 'all'`);
    await rows(ctx.fx.orm, `update session_participants set tasks = tasks + 2 where player_id = 'dup-a'`);
    await rows(ctx.fx.orm, `update player_stats set rating = rating + 1 where player_id = 'hk-1' and scope = 'all'`);
    await rows(ctx.fx.orm, `update player_stats set best_score = 99 where player_id = 'bs-a' and scope = 'game:liap-tui'`);
    const bad = await verifyAggregates(ctx.fx.orm, opts);
    const kinds = new Set(bad.drift.map((d) => d.kind));
    expect(kinds).toEqual(new Set(['stats', 'participants', 'buckets', 'ratings']));
    expect(bad.drift.filter((d) => d.kind === 'stats').map((d) => d.key)).toEqual(['bs-a game:liap-tui', 'dup-b all']);
    expect(bad.drift.find((d) => d.key === 'bs-a game:liap-tui')).toMatchObject({ actual: { best_score: 99 }, expected: { best_score: 30 } });
    await rebuildAggregates(ctx.fx.orm, { ...opts, chunk: 7 });
    await expectNoDrift();
    const sample = await verifyAggregates(ctx.fx.orm, { ...opts, sample: 5 });
    expect(sample.playersChecked).toBe(5);
    expect(sample.drift).toEqual([]);
  });
});
