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
          ...ps.map((p, i) => e('player.outcome', p, { outcome: (i + g) % 3 === 2 ? 'loss' : 'win', xp: 10 * (3 - i) })),
          ...(g < 3 ? [e('session.finished', undefined, {})] : []),
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
    expect(chat.stdout).toContain('📈 Completion Rate: 100.0%');
    const daily = JSON.parse((await runCli(['stats', 'daily', '--days', '2', '--json'], env)).stdout);
    expect(daily).toHaveLength(2);
    expect(daily[0]).toMatchObject({ created: 4, finished: 3, players: 3 });
    const recent = JSON.parse((await runCli(['sessions', 'recent', '--tenant', 'gaming-group', '--limit', '2', '--json'], env)).stdout);
    expect(recent.map((r: { id: string }) => r.id)).toHaveLength(2);
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
