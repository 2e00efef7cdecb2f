/**
 * A simulated game server for the crash test: plays `rooms` rooms of a deterministic game to `turns`
 * turns, emitting a move and a turn result (a full state every 5 turns, merge patches between) per
 * turn. On start it waits until everything it emitted before is stored, recovers its rooms and
 * continues from the recovered state. Run as a child process and killed with SIGKILL at random points.
 * argv: databaseUrl redisUrl prefix tenant rooms turns
 */
import { createReader } from '../../src/db/reader.ts';
import { createProducer } from '../../src/producers/index.ts';
import { recoverSession } from '../../src/recovery/recover.ts';
import { pgSequenceSeed } from '../../src/recovery/sequence-seed.ts';
import { waitPersisted } from '../../src/recovery/wait.ts';
import { TimeoutError } from '../../src/errors.ts';
import { nextTurn } from './game-rules.ts';

const [databaseUrl, redisUrl, prefix, tenant, roomsArg, turnsArg] = process.argv.slice(2);
const rooms = Number(roomsArg);
const turns = Number(turnsArg);
// The README's restart recipe, step by step.
const reader = createReader(databaseUrl, { max: 2 });
const p = createProducer({ connection: redisUrl, prefix, lingerMs: 1, sequenceSeed: pgSequenceSeed(reader) });

for (let r = 0; r < rooms; r++) {
  const sessionId = `${tenant}-${r}`;
  // Read your writes: everything this deployment issued for the room is stored and folded before its
  // state is trusted. A kill between drawing sequence numbers and enqueueing leaves numbers that never
  // come; the wait then times out and the game resumes from what is stored (the workers give that gap
  // up after GP_GAP_TIMEOUT_S).
  try {
    await waitPersisted(reader, sessionId, await p.lastSeq(sessionId), { timeoutMs: 3_000 });
  } catch (e) {
    if (!(e instanceof TimeoutError)) throw e;
  }
  const rec = await recoverSession(reader, sessionId);
  if (rec?.session.status === 'finished') continue;
  if (!rec) await p.sessionCreated({ sessionId, gameType: 'crash-test', tenant });
  let state = rec?.state?.value ?? {};
  for (let t = rec?.state ? (rec.state.turn ?? 0) + 1 : 0; t < turns; t++) {
    await p.move({ sessionId, player: `p${r}`, action: 'act', turn: t });
    const { next, ...data } = nextTurn(state, r, t);
    await p.turnResult({ sessionId, turn: t, ...data });
    state = next;
  }
  await p.sessionFinished({ sessionId, winners: [`p${r}`] });
}
await p.close();
await reader.close();
process.stdout.write('done\n');
