/**
 * The headline recovery scenario: a game server is killed (SIGKILL) at random points while it plays,
 * restarts, recovers its rooms and continues; at the end every room's state equals that of a run
 * that never crashed.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recoverSession } from '../../../src/recovery/recover.ts';
import type { WorkerHandle } from '../../../src/workers/worker.ts';
import { finalState } from '../../helpers/game-rules.ts';
import { REDIS_URL, dropPrefix, openFixture, testConfig, uniqueName, waitFor, type Fixture } from '../../helpers/services.ts';
import { inProcessWorker } from '../../helpers/worker.ts';

const GAME_SERVER = fileURLToPath(new URL('../../helpers/game-server.ts', import.meta.url));
let fx: Fixture;
let worker: WorkerHandle;
const prefix = uniqueName('q');

beforeAll(async () => {
  fx = await openFixture();
  worker = await inProcessWorker(testConfig(fx.db.url, prefix));
});
afterAll(async () => {
  await worker?.close();
  await fx?.close();
  await dropPrefix(prefix);
});

function runGameServer(tenant: string, rooms: number, turns: number) {
  const child = spawn(process.execPath, [GAME_SERVER, fx.db.url, REDIS_URL, prefix, tenant, String(rooms), String(turns)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, exited, done: () => out.includes('done') };
}

describe('game server crash and recovery', () => {
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
    for (let r = 0; r < rooms; r++) {
      await waitFor(`room ${r} finished`, async () => (await recoverSession(fx.orm, `${tenant}-${r}`))?.session.status === 'finished', 30_000);
      const rec = await recoverSession(fx.orm, `${tenant}-${r}`);
      expect(rec!.state!.value).toEqual(finalState(r, turns));
      expect(rec!.state!.turn).toBe(turns - 1);
      expect(rec!.session.gapSince).toBeNull();
    }
  });
});
