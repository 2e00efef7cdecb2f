/**
 * A ledgered load for the chaos scenarios: many sessions of a small turn-based game played at once
 * through the SDK as fast as the pipeline takes them, every event the producer was told was accepted
 * kept in the ledger (src/loadgen/ledger.ts). The generating process is never the one a fault hits, so
 * its ledger is exact: a checker that finds one ledger event missing has found a real loss.
 *
 * Each session: created, four players joined, started, then turns of four moves, a vote and a chat
 * line each and one turn result (a full state every fifth turn, a merge patch otherwise), outcomes
 * with XP and score, finished. Deterministic for a seed.
 */
import { uuidv7 } from '../contract/ids.ts';
import { EnqueueError } from '../errors.ts';
import type { Producer } from '../producers/producer.ts';
import type { LedgerEvent } from './ledger.ts';
import { rng } from './games.ts';

export interface LoadOptions {
  /** Every session id starts with `${run}-`. */
  run: string;
  sessions: number;
  /** Turns per session (each turn is 7 events; a session adds 11 around them). */
  turns: number;
  seed: number;
  /** Emits in flight at most (backpressure for the producer's buffer). @defaultValue 2000 */
  window?: number;
  /** Called every `every` accepted events with the count so far. */
  onProgress?: (accepted: number) => void;
  /**
   * Emits per second, paced (a soak at a sustained rate below saturation); unset: as fast as the
   * window allows.
   */
  ratePerS?: number;
}

export interface LoadResult {
  ledger: LedgerEvent[];
  /** Emits still refused after a minute of retries (or refused for good): not in the ledger, owed nothing. */
  refused: number;
  /** Why the first refused emit was refused (null: none was). */
  firstRefusal: string | null;
  /** Refused emits by reason (EnqueueError's `reason`, else the error's name). */
  refusals: Record<string, number>;
  ms: number;
}

type Draft = { type: string; sessionId: string; player?: string; data: Record<string, unknown> };

/** The events of one session, in play order. */
function* session(id: string, turns: number, rand: () => number): Generator<Draft> {
  const players = [0, 1, 2, 3].map((i) => `${id}-p${i}`);
  yield { type: 'session.created', sessionId: id, data: { gameType: 'chaos', tenant: id.split('-').slice(0, -1).join('-') } };
  for (const [i, p] of players.entries()) yield { type: 'player.joined', sessionId: id, player: p, data: { position: i, team: String(i % 2) } };
  yield { type: 'session.started', sessionId: id, data: {} };
  const score: Record<string, number> = Object.fromEntries(players.map((p) => [p, 0]));
  for (let t = 1; t <= turns; t++) {
    for (const p of players) yield { type: 'move', sessionId: id, player: p, data: { action: 'play', turn: t, data: { card: Math.floor(rand() * 52) } } };
    const winner = players[Math.floor(rand() * 4)];
    score[winner] += 1;
    yield { type: 'vote', sessionId: id, player: players[t % 4], data: { round: t, target: rand() < 0.2 ? null : winner } };
    yield { type: 'chat.message', sessionId: id, player: players[(t + 1) % 4], data: { round: t, text: `turn ${t}: well played ${winner}` } };
    yield {
      type: 'turn.result',
      sessionId: id,
      data: t % 5 === 1 ? { turn: t, state: { turn: t, score: { ...score } } } : { turn: t, patch: { turn: t, score: { [winner]: score[winner] } } },
    };
  }
  const best = Math.max(...Object.values(score));
  for (const p of players) yield { type: 'player.outcome', sessionId: id, player: p, data: { outcome: score[p] === best ? 'win' : 'loss', xp: 10 + score[p], score: score[p] } };
  yield { type: 'session.finished', sessionId: id, data: { winners: players.filter((p) => score[p] === best), scores: score } };
}

/**
 * Emits one event, and when the SDK says it could not enqueue it (Redis gone, or the answer lost),
 * emits it again as the error hands it back — same id, same seq — until it is accepted or a minute
 * passed: the SDK's documented recovery. An event that had landed after all is then deduplicated by
 * its id, and no seq is left as a gap.
 */
async function emitUntilAccepted(producer: Producer, d: Draft): Promise<LedgerEvent> {
  const at = new Date().toISOString();
  let event: Parameters<Producer['emit']>[0] = { id: uuidv7(), type: d.type as never, sessionId: d.sessionId, player: d.player, at, data: d.data as never };
  for (const until = performance.now() + 60_000; ; ) {
    try {
      const r = await producer.emit(event);
      return { id: r.id, type: d.type, sessionId: d.sessionId, player: d.player ?? null, seq: r.seq, at, data: d.data };
    } catch (e) {
      const again = e instanceof EnqueueError ? e.events.find((x) => x.id === event.id) : undefined;
      if (!again || performance.now() > until) throw e;
      event = again as typeof event;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/**
 * Plays `sessions` sessions interleaved (one event of each session in turn), so every job mixes
 * sessions and a fault always catches several mid-game.
 */
export async function runLoad(producer: Producer, o: LoadOptions): Promise<LoadResult> {
  const rand = rng(o.seed);
  const ledger: LedgerEvent[] = [];
  let refused = 0;
  let firstRefusal: string | null = null;
  const refusals: Record<string, number> = {};
  const inFlight = new Set<Promise<void>>();
  const window = o.window ?? 2000;
  const t0 = performance.now();
  let emitted = 0;
  const gens = Array.from({ length: o.sessions }, (_, i) => session(`${o.run}-s${i}`, o.turns, rand));
  // A session's events are emitted in order and each waits for nothing: the SDK numbers them in emit order.
  for (let live = gens.length; live > 0; ) {
    live = 0;
    for (const g of gens) {
      const next = g.next();
      if (next.done) continue;
      live++;
      const d = next.value;
      if (o.ratePerS) {
        const ahead = t0 + (emitted / o.ratePerS) * 1000 - performance.now();
        if (ahead > 5) await new Promise((r) => setTimeout(r, ahead));
      }
      emitted++;
      const x = emitUntilAccepted(producer, d)
        .then(
          (e) => {
            ledger.push(e);
            if (o.onProgress && ledger.length % 1000 === 0) o.onProgress(ledger.length);
          },
          (e: unknown) => {
            refused++;
            firstRefusal ??= e instanceof Error ? `${e.name}: ${e.message}` : String(e);
            const why = e instanceof EnqueueError ? e.reason : e instanceof Error ? e.name : 'unknown';
            refusals[why] = (refusals[why] ?? 0) + 1;
          },
        )
        .finally(() => inFlight.delete(x));
      inFlight.add(x);
      if (inFlight.size >= window) await Promise.race(inFlight);
    }
  }
  await Promise.all(inFlight);
  return { ledger, refused, firstRefusal, refusals, ms: Math.round(performance.now() - t0) };
}
