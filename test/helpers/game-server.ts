/**
 * A simulated game server for the crash test: plays `rooms` rooms of a deterministic game to `turns`
 * turns, emitting a move and a turn result (a full state every 5 turns, merge patches between) per
 * turn. On start it waits until everything it emitted before is stored, recovers its rooms and
 * continues from the recovered state. Run as a child process and killed with SIGKILL at random points.
 * argv: databaseUrl redisUrl prefix tenant rooms turns
 */
import { Redis } from 'ioredis';
import { sequenceKey } from '../../src/contract/limits.ts';
import { createReader } from '../../src/db/reader.ts';
import { createProducer } from '../../src/producers/index.ts';
import { recoverSession } from '../../src/recovery/recover.ts';
import { nextTurn } from './game-rules.ts';

const [databaseUrl, redisUrl, prefix, tenant, roomsArg, turnsArg] = process.argv.slice(2);
const rooms = Number(roomsArg);
const turns = Number(turnsArg);
const reader = createReader(databaseUrl, { max: 2 });
const redis = new Redis(redisUrl);
const p = createProducer({ connection: redisUrl, prefix, lingerMs: 1 });

for (let r = 0; r < rooms; r++) {
  const sessionId = `${tenant}-${r}`;
  // Everything this server emitted before a crash must be stored before its state can be trusted.
  const emitted = Number((await redis.get(sequenceKey(prefix, sessionId))) ?? 0);
  let rec = await recoverSession(reader, sessionId);
  // Bounded: a kill between drawing sequence numbers and enqueueing leaves numbers never sent; the
  // workers give such a gap up after GP_GAP_TIMEOUT_S, once new events arrive.
  const until = Date.now() + 3_000;
  while (emitted > 0 && (rec?.session.appliedSeq ?? 0) < emitted && Date.now() < until) {
    await new Promise((res) => setTimeout(res, 20));
    rec = await recoverSession(reader, sessionId);
  }
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
redis.disconnect();
process.stdout.write('done\n');
