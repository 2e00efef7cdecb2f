/**
 * The start-up recovery of examples/README.md, for one session: wait until what the deployment issued
 * is persisted, recover the session, and rebuild the game from it — the live state and the events since
 * it, or (for a game that restores from snapshots) the newest verified snapshot, its hash checked here,
 * and the events after it.
 */
import { recoverSession, TimeoutError, waitPersisted, type HistoryEvent, type Producer, type Reader, type RecoveredSession } from '../../src/index.ts';
import { RestoreError } from './errors.ts';
import { applyMergePatch, jsonEqual } from './merge-patch.ts';
import type { GameEvent, SessionGame } from './session-game.ts';
import { gameStateHash } from './state-hash.ts';

/** Longer than any session of these games: the whole history comes back in one answer. */
const TAIL_LIMIT = 100_000;
/** A session with nothing stored this long after its seqs were issued lost its only event (killed before it was enqueued). */
const NOTHING_STORED_MS = 6_000;
const WAIT_LIMIT_MS = 60_000;

/**
 * Waits until every seq issued for the session is stored and folded, then recovers it; null when the
 * session never reached the database. A wait times out while a seq drawn by a killed process never
 * comes; the workers give it up after GP_GAP_TIMEOUT_S, so wait again.
 */
export async function recoverForResume(db: Reader, producer: Producer, id: string): Promise<RecoveredSession | null> {
  const issued = await producer.lastSeq(id);
  const started = Date.now();
  while (issued > 0) {
    try {
      await waitPersisted(db, id, issued, { timeoutMs: 2_000 });
      break;
    } catch (e) {
      if (!(e instanceof TimeoutError)) throw e;
      const elapsed = Date.now() - started;
      if (elapsed > WAIT_LIMIT_MS) throw new RestoreError(id, `seqs up to ${issued} still not persisted after ${elapsed} ms`, );
      if (elapsed > NOTHING_STORED_MS && !(await recoverSession(db, id, { tailLimit: 1 }))) return null;
    }
  }
  const rec = await recoverSession(db, id, { tailLimit: TAIL_LIMIT });
  if (rec?.tailCursor) throw new RestoreError(id, `history longer than ${TAIL_LIMIT} events`);
  return rec;
}

/** Lifecycle events are the runner's, keyed so it can tell which it already sent. */
export function lifecycleKey(e: GameEvent): string | null {
  switch (e.type) {
    case 'session.created':
    case 'session.started':
    case 'session.finished':
      return e.type;
    case 'player.joined':
    case 'player.outcome':
      return `${e.type}:${e.player}`;
    default:
      return null;
  }
}

export interface Rebuilt<S> {
  /** The state as game-persist folds it (through the last turn result); null before the first. */
  persisted: S | null;
  /** The game's own state: `persisted` plus the game's events since. */
  state: S | null;
  /** Lifecycle events already sent (lifecycleKey). */
  sent: Set<string>;
  /** Where a snapshot restore started. */
  snapshot: { seq: number; hash: string } | null;
}

/** Rebuilds a game from what recovery returned, by its `restore` mode. */
export function rebuild<S>(game: SessionGame<S>, rec: RecoveredSession): Rebuilt<S> {
  const id = rec.session.id;
  let base: S | null = null;
  let events: HistoryEvent[];
  let snapshot: Rebuilt<S>['snapshot'] = null;
  if (game.restore === 'snapshot') {
    if (rec.snapshot) {
      // Recovery verified this hash already; the game checks it too, with its own hash function, before it trusts the state.
      const own = gameStateHash(rec.snapshot.value);
      if (own !== rec.snapshot.hash) throw new RestoreError(id, `snapshot at seq ${rec.snapshot.seq} hashes to ${own}, not ${rec.snapshot.hash}`);
      base = rec.snapshot.value as S;
      snapshot = { seq: rec.snapshot.seq, hash: own };
    }
    events = rec.tail;
  } else {
    base = (rec.state?.value as S | undefined) ?? null;
    events = rec.sinceState;
  }

  const out: Rebuilt<S> = { persisted: base, state: base === null ? null : structuredClone(base), sent: new Set(), snapshot };
  for (const e of events) foldRecovered(game, out, e, id);

  if (game.restore === 'snapshot' && !jsonEqual(out.persisted, rec.state?.value ?? null))
    throw new RestoreError(id, `snapshot${snapshot ? ` at seq ${snapshot.seq}` : ''} and its tail fold to another state than the live state at seq ${rec.state?.seq}`);
  return out;
}

function foldRecovered<S>(game: SessionGame<S>, out: Rebuilt<S>, e: HistoryEvent, id: string): void {
  const key = lifecycleKey(e);
  if (key) {
    out.sent.add(key);
    return;
  }
  if (e.type === 'turn.result') {
    // After the end no turn result is folded (docs/contract.md); these games send none there.
    if (out.sent.has('session.finished')) return;
    const next = (e.data.state ?? applyMergePatch(out.persisted ?? {}, e.data.patch)) as S;
    const sent = e.data.stateHash as string | undefined;
    if (sent !== undefined && gameStateHash(next) !== sent) throw new RestoreError(id, `state after the turn result at seq ${e.seq} does not hash to its stateHash`);
    out.persisted = next;
    out.state = structuredClone(next);
    return;
  }
  if (out.state === null) throw new RestoreError(id, `${e.type} at seq ${e.seq} before the game's first state`);
  out.state = game.apply(out.state, e);
}
