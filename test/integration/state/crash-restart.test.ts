/**
 * The headline recovery scenario: a game server is killed (SIGKILL) at random points while it plays,
 * restarts, recovers its rooms and continues; at the end every room's state equals that of a run
 * that never crashed.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { recoverSession } from '../../../src/recovery/recover.ts';
import { finalState } from '../../helpers/game-rules.ts';
import { REDIS_URL, rows, testConfig, uniqueName, waitFor } from '../../helpers/services.ts';
import { runGapSweep } from '../../../src/jobs/boss.ts';
import { plainQueue, workerFixture } from '../../helpers/worker.ts';
import { uuidv7 } from '../../../src/contract/ids.ts';

const GAME_SERVER = fileURLToPath(new URL('../../helpers/game-server.ts', import.meta.url));
const ctx = workerFixture({ GP_GAP_TIMEOUT_S: '1' });

function runGameServer(tenant: string, rooms: number, turns: number) {
  const child = spawn(process.execPath, [GAME_SERVER, ctx.fx.db.url, REDIS_URL, ctx.prefix, tenant, String(rooms), String(turns)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, exited, done: () => out.includes('done') };
}

describe('game server crash and recovery', () => {
  it('gives up a gap after GP_GAP_TIMEOUT_S and folds past it, counting the lost numbers', async () => {
    const q = plainQueue(ctx.prefix);
    const turn = (seq: number) => ({ id: uuidv7(), type: 'turn.result', sessionId: 'lost-gap', seq, at: new Date().toISOString(), data: { turn: seq, patch: { [`t${seq}`]: seq } } });
    await q.add('events', { v: 1, events: [turn(1), turn(2), turn(4), turn(5)] }); // 3 never comes
    await waitFor('waiting behind the gap', async () => (await rows(ctx.fx.orm, `select 1 from sessions where id = 'lost-gap' and state_seq = 2 and gap_since is not null`)).length === 1);
    await new Promise((r) => setTimeout(r, 1500));
    await q.add('events', turn(6));
    await waitFor('folded past the gap', async () => (await rows(ctx.fx.orm, `select 1 from sessions where id = 'lost-gap' and state_seq = 6`)).length === 1);
    await q.add('events', turn(7));
    await waitFor('and on', async () => (await rows(ctx.fx.orm, `select 1 from sessions where id = 'lost-gap' and state_seq = 7`)).length === 1);
    await q.close();
    const [s] = await rows(ctx.fx.orm, `select applied_seq, lost_seqs, gap_since from sessions where id = 'lost-gap'`);
    expect(s).toEqual({ applied_seq: '7', lost_seqs: '1', gap_since: null });
    expect((await recoverSession(ctx.fx.orm, 'lost-gap'))!.state!.value).toEqual({ t1: 1, t2: 2, t4: 4, t5: 5, t6: 6, t7: 7 });
  });

  it('ends every room in the state of a run that never crashed, however often the server is killed', async () => {
    const tenant = uniqueName('crash');
    const rooms = 4;
    const turns = 60;
    let kills = 0;
    for (let attempt = 0; attempt < 12; attempt++) {
      const gs = runGameServer(tenant, rooms, turns);
      if (kills < 3) {
        // Let it play for a random while, then kill it mid-game.
        await new Promise((r) => setTimeout(r, 300 + Math.random() * 700));
        if (!gs.done()) {
          gs.child.kill('SIGKILL');
          await gs.exited;
          kills++;
          continue;
        }
      }
      expect(await gs.exited).toBe(0);
      break;
    }
    expect(kills).toBeGreaterThan(0);
    // A kill between drawing sequence numbers and enqueueing leaves a gap that only times out; the
    // scheduled sweep (called here as the minute's cron tick would) folds past it.
    const cfg = testConfig(ctx.fx.db.url, ctx.prefix, { GP_GAP_TIMEOUT_S: '1' });
    for (let r = 0; r < rooms; r++) {
      await waitFor(`room ${r} finished`, async () => (await recoverSession(ctx.fx.orm, `${tenant}-${r}`))?.session.status === 'finished', 30_000);
      await waitFor(`room ${r} folded`, async () => {
        await runGapSweep(ctx.fx.orm, cfg);
        return (await recoverSession(ctx.fx.orm, `${tenant}-${r}`))?.state?.turn === turns - 1;
      }, 30_000);
      const rec = await recoverSession(ctx.fx.orm, `${tenant}-${r}`);
      expect(rec!.state!.value).toEqual(finalState(r, turns));
      expect(rec!.state!.turn).toBe(turns - 1);
      expect(rec!.session.gapSince).toBeNull();
    }
  });
});
