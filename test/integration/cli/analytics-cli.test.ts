/**
 * The analytics commands against real services: human output in the seed bot's style and --json,
 * reads through DATABASE_READ_URL, verify's exit code on drift, rebuild, and usage errors.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from '../../../src/contract/ids.ts';
import { rows, testEnv, waitFor } from '../../helpers/services.ts';
import { runCli } from '../../helpers/cli.ts';
import { foldStatDeltas } from '../../../src/aggregates/write.ts';
import { plainQueue, workerFixture } from '../../helpers/worker.ts';

const ctx = workerFixture({ GP_JOBS: 'false' });
let env: Record<string, string>;

beforeAll(async () => {
  const { fx, prefix } = ctx;
  // The "replica" is the same database here; what matters is that reads go through DATABASE_READ_URL.
  env = testEnv(fx.db.url, prefix, { DATABASE_READ_URL: fx.db.url });
  const q = plainQueue(prefix);
  try {
    for (let g = 0; g < 4; g++) {
      const s = `room-${g}`;
      let seq = 0;
      const e = (type: string, player?: string, data: Record<string, unknown> = {}) => ({ id: uuidv7(), type, sessionId: s, seq: ++seq, at: new Date().toISOString(), ...(player ? { player } : {}), data });
      const ps = ['john', 'jane', 'bob'];
      await q.add('events', {
        v: 1,
        events: [
          e('session.created', undefined, { gameType: 'impostor', tenant: 'gaming-group', name: `Room ${g}` }),
          ...ps.map((p, i) => e('player.joined', p, { role: i === 1 ? 'impostor' : 'crewmate', name: { john: 'John Doe', jane: 'Jane Smith', bob: 'Bob Wilson' }[p] })),
          ...ps.map((p) => e('task.completed', p, { taskType: 'wires', xp: 5 })),
          ...ps.map((p, i) => e('player.outcome', p, { outcome: (i + g) % 3 === 2 ? 'loss' : 'win', xp: 10 * (3 - i), score: 10 * (3 - i) + g })),
          e('chat.message', 'john', { text: 'sus', channel: 'discussion' }),
          e('chat.message', 'jane', { text: 'not me', channel: 'discussion' }),
          e('agent.log', 'john', { model: 'gpt-x', provider: 'openai', promptTokens: 100 + g, completionTokens: 10, latencyMs: 50 * (g + 1) }),
          ...(g < 3 ? [e('session.finished', undefined, { result: 'crewmates won' })] : []),
        ],
      });
    }
  } finally {
    await q.close();
  }
  await waitFor('four rooms stored', async () => (await rows(fx.orm, `select count(*)::int as n from sessions where event_count >= 9`))[0]!.n === 4);
  await new Promise((r) => setTimeout(r, 100));
  await foldStatDeltas(fx.orm, 10, { timeZone: 'UTC' });
});
describe('analytics commands', () => {
  it('print player stats, leaderboards, session boards, chat and daily stats', async () => {
    const stats = await runCli(['players', 'stats', 'john'], env);
    expect(stats.code).toBe(0);
    expect(stats.stdout).toContain('📊 Player Statistics — John Doe');
    expect(stats.stdout).toMatch(/🎮 Games Played: 4\n/);
    const json = JSON.parse((await runCli(['players', 'stats', 'john', '--json'], env)).stdout);
    const [raw] = await rows(ctx.fx.orm, `select count(*) filter (where outcome = 'win')::int as wins from session_participants where player_id = 'john'`);
    expect(json.all.wins).toBe(raw.wins);
    expect(json.games.impostor.games).toBe(4);

    const top = JSON.parse((await runCli(['leaderboard', '--json'], env)).stdout);
    expect(top.rows.map((r: { playerId: string }) => r.playerId)).toEqual(['john', 'jane', 'bob']);
    expect(top.rows[0]).toMatchObject({ rank: 1, name: 'John Doe', value: 4 * 30 + 20 });
    const around = await runCli(['leaderboard', '--by', 'wins', '--around', 'bob', '--limit', '1'], env);
    expect(around.code).toBe(0);
    expect(around.stdout).toMatch(/👉 .*Bob Wilson/);
    expect((await runCli(['leaderboard', '--period', 'day'], env)).stdout).toContain('🥇 John Doe');

    const board = await runCli(['sessions', 'leaderboard', 'room-0'], env);
    expect(board.stdout).toContain('🏆 Session Room 0 Leaderboard (impostor)');
    expect(board.stdout).toMatch(/🥇 John Doe\n {3}✨ XP: 35 \| 🎭 Role: crewmate \| ✅ win/);
    const chat = await runCli(['tenants', 'stats', 'gaming-group', '--days', '7'], env);
    expect(chat.stdout).toContain('🎮 Total Sessions: 4');
    expect(chat.stdout).toContain('⏳ Active Sessions: 1');
    // completed / total: 3 of 4, the one still active counting as not completed (README, "Sessions and tenants").
    expect(chat.stdout).toContain('📈 Completion Rate: 75.0%');
    const daily = JSON.parse((await runCli(['stats', 'daily', '--days', '2', '--json'], env)).stdout);
    expect(daily).toHaveLength(2);
    expect(daily[0]).toMatchObject({ created: 4, finished: 3, players: 3 });
    const recent = JSON.parse((await runCli(['sessions', 'recent', '--tenant', 'gaming-group', '--limit', '2', '--json'], env)).stdout);
    expect(recent.map((r: { id: string }) => r.id)).toHaveLength(2);
    expect((await runCli(['sessions', 'recent', '--tenant', 'gaming-group'], env)).stdout).toContain('— crewmates won');
  });

  it("print the best-score board, daily stats of one game type, a tenant's chat and agent usage", async () => {
    const best = JSON.parse((await runCli(['leaderboard', '--by', 'best_score', '--game', 'impostor', '--json'], env)).stdout);
    expect(best.rows.map((r: { playerId: string; value: number }) => [r.playerId, r.value])).toEqual([['john', 33], ['jane', 23], ['bob', 13]]);
    expect((await runCli(['leaderboard', '--by', 'best_score'], env)).stdout).toMatch(/🥇 John Doe +🎯 +33/);
    expect(JSON.parse((await runCli(['stats', 'daily', '--days', '1', '--game', 'impostor', '--json'], env)).stdout)[0]).toMatchObject({ created: 4, finished: 3 });
    expect(JSON.parse((await runCli(['stats', 'daily', '--days', '1', '--game', 'hokm', '--json'], env)).stdout)[0]).toMatchObject({ created: 0, finished: 0, players: 0 });
    const chat = JSON.parse((await runCli(['tenants', 'chat', 'gaming-group', '--json'], env)).stdout);
    expect(chat).toMatchObject({ messages: 8, players: [{ playerId: 'jane', messages: 4 }, { playerId: 'john', messages: 4 }], channels: [{ channel: 'discussion', messages: 8, players: 2 }] });
    expect((await runCli(['tenants', 'chat', 'gaming-group'], env)).stdout).toContain('• Jane Smith: 4  (discussion 4)');
    const agents = JSON.parse((await runCli(['sessions', 'agents', 'room-2', '--json'], env)).stdout);
    expect(agents.agents).toEqual([{ playerId: 'john', model: 'gpt-x', provider: 'openai', calls: 1, sessions: 1, promptTokens: 102, completionTokens: 10, thinkingTokens: 0, latencyMs: { mean: 150, max: 150, p95: 150 } }]);
    const mine = await runCli(['players', 'agents', 'john'], env);
    expect(mine.stdout).toContain('john  gpt-x (openai): 4 calls in 4 session(s), tokens 406 prompt / 40 completion / 0 thinking, latency ms mean 125 p95 193 max 200');
    expect((await runCli(['players', 'agents', 'nobody'], env)).code).toBe(1);
  });

  it('exit 1 from verify on drift, and 0 again after rebuild', async () => {
    expect((await runCli(['verify'], env)).code).toBe(0);
    await rows(ctx.fx.orm, `update player_stats set xp = xp + 7 where player_id = 'jane' and scope = 'game:impostor'`);
    const bad = await runCli(['verify'], env);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('drift stats jane game:impostor');
    const rebuilt = await runCli(['rebuild', '--json'], env);
    expect(rebuilt.code).toBe(0);
    expect(JSON.parse(rebuilt.stdout)).toMatchObject({ players: 3 });
    expect((await runCli(['verify', '--sample', '2'], env)).code).toBe(0);
    expect((await runCli(['verify'], env)).code).toBe(0);
    // For people, without a terminal: no progress line (no carriage returns in a log), the summary.
    const human = await runCli(['rebuild'], env);
    expect(human.code).toBe(0);
    expect(human.stderr).not.toContain('\r');
    expect(human.stdout).toMatch(/^recomputed \d+ sessions/);
  });

  it('reject unknown metrics and periods with exit 2 or a clear error', async () => {
    const bogus = await runCli(['leaderboard', '--by', 'karma'], env);
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toContain('--by must be one of xp, wins, win_rate, rating');
    const period = await runCli(['leaderboard', '--period', 'fortnight'], env);
    expect(period.code).toBe(1);
    expect(period.stderr).toContain('unknown period "fortnight"');
  });
});
