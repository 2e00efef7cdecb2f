/**
 * Plays one session of a SessionGame to its end through the producer SDK: recovers it first (a session
 * a killed process left mid-game goes on from its persisted state; a finished one is left alone), then
 * sends the lifecycle events it still owes, the game's steps one by one (GAME_PACE_MS apart), the
 * outcomes and the finish. Every event is awaited before the next is decided, so a kill loses at most
 * the one in flight, and the state the game decides from is always one game-persist can give back.
 */
import type { Reader } from '../../src/index.ts';
import { mergeDiff } from './merge-patch.ts';
import { lifecycleKey, rebuild, recoverForResume } from './recover-game.ts';
import type { RecordingProducer } from './sdk.ts';
import type { Commit, Ending, GameEvent, SessionContext, SessionGame } from './session-game.ts';
import { gameStateHash } from './state-hash.ts';

export interface SessionIo {
  rp: RecordingProducer;
  db: Reader;
  paceMs: number;
  log(msg: string): void;
}

export interface SessionResult {
  id: string;
  /** The game's own final state (what the session's recovered live state must equal). */
  state: unknown;
  ending: Ending;
  /** How this process found the session: new, resumed mid-game, or already finished. */
  found: 'new' | 'resumed' | 'finished';
  /** The snapshot a snapshot-restoring game rebuilt from, when this process resumed it from one. */
  restoredFrom: { seq: number; hash: string } | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function playSession<S>(game: SessionGame<S>, ctx: SessionContext, io: SessionIo): Promise<SessionResult> {
  const rec = await recoverForResume(io.db, io.rp.producer, ctx.id);
  if (rec && (rec.session.status === 'finished' || rec.session.status === 'abandoned')) {
    const state = (rec.state?.value ?? null) as S;
    return { id: ctx.id, state, ending: game.ending(state)!, found: 'finished', restoredFrom: null };
  }
  const rebuilt = rec ? rebuild(game, rec) : null;
  let persisted: S | null = rebuilt ? rebuilt.persisted : null;
  let state: S | null = rebuilt ? rebuilt.state : null;
  const sent = rebuilt?.sent ?? new Set<string>();
  if (rec) io.log(`${ctx.id}: resumed at seq ${rec.session.lastSeq}${rebuilt?.snapshot ? ` from the snapshot at seq ${rebuilt.snapshot.seq}` : ''}`);

  const emit = async (e: GameEvent) => {
    await io.rp.emit({ type: e.type, sessionId: ctx.id, player: e.player ?? null, data: e.data });
    const key = lifecycleKey(e);
    if (key) sent.add(key);
  };
  const commit = async (c: Commit<S>) => {
    const next = c.state as Record<string, unknown>;
    const body = c.full || persisted === null ? { state: next } : { patch: mergeDiff(persisted as Record<string, unknown>, next) };
    await emit({
      type: 'turn.result',
      data: {
        turn: c.turn,
        ...(c.round !== undefined ? { round: c.round } : {}),
        ...(c.results !== undefined ? { results: c.results } : {}),
        ...body,
        ...(c.hash ? { stateHash: gameStateHash(next) } : {}),
      },
    });
    persisted = c.state;
    state = structuredClone(c.state);
  };

  const setup = game.setup(ctx);
  // A state means the setup was all sent before it (a snapshot's tail does not show it).
  if (persisted === null) {
    for (const e of setupEvents(game, setup)) if (!sent.has(lifecycleKey(e)!)) await emit(e);
    await commit(game.start(ctx, setup));
  }

  let ending: Ending | null;
  while (!(ending = game.ending(state!))) {
    const step = game.next(structuredClone(state!), ctx);
    if (step.kind === 'commit') await commit(step);
    else {
      await emit(step.event);
      state = game.apply(structuredClone(state!), step.event);
    }
    if (io.paceMs > 0) await sleep(io.paceMs);
  }

  for (const o of ending.outcomes) {
    const { player, ...data } = o;
    const e = { type: 'player.outcome', player, data };
    if (!sent.has(lifecycleKey(e)!)) await emit(e);
  }
  if (!sent.has('session.finished')) await emit({ type: 'session.finished', data: { ...ending.finished } });
  return { id: ctx.id, state, ending, found: rec ? 'resumed' : 'new', restoredFrom: rebuilt?.snapshot ?? null };
}

function setupEvents<S>(game: SessionGame<S>, setup: ReturnType<SessionGame<S>['setup']>): GameEvent[] {
  return [
    { type: 'session.created', data: { gameType: game.gameType, tenant: setup.tenant, name: setup.name, settings: setup.settings } },
    ...setup.seats.map((s) => ({
      type: 'player.joined',
      player: s.player,
      data: { position: s.position, name: s.name, ...(s.team !== undefined ? { team: s.team } : {}) },
    })),
    { type: 'session.started', data: {} },
  ];
}
