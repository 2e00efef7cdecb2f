/**
 * A worker process killed with SIGKILL mid-batch while it keeps aggregates: its uncommitted batches go
 * back to the queue, the next worker redelivers them, and the aggregates still match the raw rows
 * (verify: zero drift) and the totals the load generator knows independently.
 */
import { describe, expect, it } from 'vitest';
import { createProducer } from '../../../src/producers/index.ts';
import { verifyAggregates } from '../../../src/aggregates/verify.ts';
import { REDIS_URL, count, rows, testEnv, waitFor } from '../../helpers/services.ts';
import { runCli } from '../../helpers/cli.ts';
import { dbFixture, spawnCli } from '../../helpers/worker.ts';

const ctx = dbFixture();

describe('aggregates under a crash', () => {
  it('stay exact when a worker is killed with SIGKILL mid-batch and its jobs are redelivered', async () => {
    const sessions = 400;
    const players = 120;
    const want = new Map<string, { games: number; wins: number; xp: number; tasks: number; votes: number }>();
    const bump = (p: string, k: 'games' | 'wins' | 'xp' | 'tasks' | 'votes', n = 1) => {
      const w = want.get(p) ?? { games: 0, wins: 0, xp: 0, tasks: 0, votes: 0 };
      w[k] += n;
      want.set(p, w);
    };
    const producer = createProducer({ connection: REDIS_URL, prefix: ctx.prefix });
    let events = 0;
    const pending: Promise<unknown>[] = [];
    const emit = (e: Parameters<typeof producer.emit>[0]) => {
      events++;
      pending.push(producer.emit(e));
    };
    for (let s = 0; s < sessions; s++) {
      const id = `crash-${s}`;
      const ps = [0, 1, 2, 3].map((k) => `cp-${(s * 7 + k * 31) % players}`).filter((p, i, a) => a.indexOf(p) === i);
      emit({ type: 'session.created', sessionId: id, data: { gameType: s % 2 ? 'impostor' : 'hokm', tenant: `chat-${s % 5}` } });
      for (const p of ps) emit({ type: 'player.joined', sessionId: id, player: p, data: {} });
      for (let r = 0; r < 6; r++)
        for (const p of ps) {
          emit({ type: 'move', sessionId: id, player: p, data: { action: 'step', turn: r } });
          emit({ type: 'task.completed', sessionId: id, player: p, data: { taskType: 'wires', xp: 3 } });
          bump(p, 'tasks');
          bump(p, 'xp', 3);
          emit({ type: 'vote', sessionId: id, player: p, data: { target: ps[0] as string } });
          bump(p, 'votes');
        }
      ps.forEach((p, i) => {
        const win = i % 2 === s % 2;
        emit({ type: 'player.outcome', sessionId: id, player: p, data: { outcome: win ? 'win' : 'loss', xp: win ? 20 : 5 } });
        bump(p, 'games');
        if (win) bump(p, 'wins');
        bump(p, 'xp', win ? 20 : 5);
      });
      emit({ type: 'session.finished', sessionId: id, data: {} });
      if (s % 20 === 19) await Promise.all(pending.splice(0));
    }
    await Promise.all(pending);
    await producer.close();

    const env = testEnv(ctx.fx.db.url, ctx.prefix, { GP_LOCK_MS: '2000', GP_BATCH_ROWS: '500', GP_LOG_LEVEL: 'info' });
    const a = spawnCli(['worker'], env);
    await a.waitForLog('worker started');
    await waitFor('some events committed', async () => (await count(ctx.fx.orm, 'task_logs')) > 2000);
    a.child.kill('SIGKILL');
    await a.exited;
    const atKill = (await rows(ctx.fx.orm, 'select coalesce(sum(event_count), 0)::int as n from sessions'))[0]!.n;
    expect(atKill).toBeLessThan(events);
    const b = spawnCli(['worker'], env);
    await waitFor('every event stored', async () => (await rows(ctx.fx.orm, 'select coalesce(sum(event_count), 0)::int as n from sessions'))[0]!.n === events, 60_000);
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);

    // The first worker died with deltas pending; the second folded them as it ran and once more as it stopped.
    expect(Number((await rows(ctx.fx.orm, 'select count(*) as n from stat_deltas'))[0]!.n)).toBe(0);
    const got = await rows(ctx.fx.orm, `select player_id, games, wins, xp::int as xp, tasks, votes from player_stats where scope = 'all' order by player_id`);
    expect(got.length).toBe(want.size);
    for (const g of got) expect(g, g.player_id).toMatchObject(want.get(g.player_id)!);
    const report = await verifyAggregates(ctx.fx.orm, { timeZone: 'UTC', winRateMinGames: 10 });
    expect(report.drift).toEqual([]);
    // The command says the same, with its exit code.
    const cli = await runCli(['verify', '--json'], testEnv(ctx.fx.db.url, ctx.prefix));
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({ ok: true, drift: [] });
  });
});
