/**
 * The process of an SDK game server under the harness contract (examples/README.md): every session of
 * the run played concurrently, each recovered first, GAME_OUT written at the end, exit 0 once all
 * finished and non-zero on any error.
 */
import { connect, gameEnv, RecordingProducer, writeOut, type GameEnv } from './sdk.ts';
import { keyedRng } from './rng.ts';
import { playSession, type SessionResult } from './play-session.ts';
import type { SessionContext, SessionGame } from './session-game.ts';

export function sessionContext(env: GameEnv, game: { name: string }, index: number): SessionContext {
  return {
    id: `${env.run}-${game.name}-${index}`,
    index,
    run: env.run,
    seed: env.seed,
    scale: env.scale,
    rng: (...keys) => keyedRng(env.seed, index, ...keys),
  };
}

/** What GAME_OUT says of a session: the game's final state, its result, and how this process found it. */
function outOf(r: SessionResult): Record<string, unknown> {
  return { state: r.state, winners: r.ending.finished.winners ?? [], scores: r.ending.finished.scores ?? {}, found: r.found, restoredFrom: r.restoredFrom };
}

export async function runGameServer<S>(game: SessionGame<S>): Promise<void> {
  const env = gameEnv();
  const { producer, db } = connect();
  const log = (msg: string) => process.stderr.write(`${game.name}: ${msg}\n`);
  try {
    // A game server may start before Redis, or on a machine too busy to connect within the 1 s each
    // emit waits: wait for the store once, up front, so the first emit does not fail for that.
    await producer.ready();
    const rp = new RecordingProducer(producer);
    const results = await Promise.all(
      Array.from({ length: env.sessions }, (_, i) => playSession(game, sessionContext(env, game, i), { rp, db, paceMs: env.paceMs, log })),
    );
    await producer.flush();
    writeOut({
      game: game.name,
      sessions: Object.fromEntries(results.map((r) => [r.id, outOf(r)])),
      // This process cannot see how often it was started; it knows whether it took over a game.
      restarts: Number(process.env.GAME_RESTARTS ?? (results.some((r) => r.found !== 'new') ? 1 : 0)),
    });
    log(`${results.length} sessions finished`);
  } finally {
    await producer.close();
    await db.close();
  }
}

/** The entry point of a game server file: run, then exit (0 when every session finished). */
export function main<S>(game: SessionGame<S>): void {
  runGameServer(game).then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(`${game.name}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
