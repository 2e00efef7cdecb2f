/**
 * A small load generator that plays sessions shaped like the seed games (Impostor, Hokm, Liap Tui,
 * a 4X game with LLM agents, a persistent adventure world) through the producer SDK. Used by the
 * demo and the benchmarks. Deterministic for a given seed.
 */
import type { Producer } from '../producers/producer.ts';

export const GAME_KINDS = ['impostor', 'hokm', 'liap-tui', 'fourx', 'adventure'] as const;
export type GameKind = (typeof GAME_KINDS)[number];

/** Mulberry32: tiny, fast, good enough to vary a simulation. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface PlayOptions {
  sessionId: string;
  tenant: string;
  /** Player ids to draw from. */
  players: string[];
  seed: number;
  /** Rounds or turns to play. @defaultValue 3 */
  rounds?: number;
}

/** Emits one whole session of the given kind; resolves when every event is in Redis. */
export async function playSession(p: Producer, kind: GameKind, o: PlayOptions): Promise<number> {
  const rand = rng(o.seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  const sessionId = o.sessionId;
  const rounds = o.rounds ?? 3;
  const sent: Promise<unknown>[] = [];
  const emit = (x: Promise<unknown>) => sent.push(x);

  emit(p.sessionCreated({ sessionId, gameType: kind, tenant: o.tenant, name: `${kind} room`, settings: { rounds } }));
  const seats = kind === 'impostor' ? 5 : kind === 'adventure' ? 3 : 4;
  const players = o.players.slice(0, seats);
  players.forEach((player, position) => {
    emit(p.queueLeft({ tenant: o.tenant, player, reason: 'joined' }));
    const team = kind === 'hokm' ? (position % 2 ? 'B' : 'A') : undefined;
    const role = kind === 'impostor' ? (position === 0 ? 'impostor' : 'crewmate') : undefined;
    emit(p.playerJoined({ sessionId, player, position, ...(team ? { team } : {}), ...(role ? { role } : {}) }));
  });
  emit(p.sessionStarted({ sessionId }));

  let state: Record<string, unknown> = { turn: 0, resources: Object.fromEntries(players.map((pl) => [pl, 10])) };
  for (let r = 1; r <= rounds; r++) {
    switch (kind) {
      case 'impostor':
        for (const [i, player] of players.entries()) {
          emit(p.taskCompleted({ sessionId, player, taskType: pick(['ai_riddle', 'wires', 'scan']), xp: 10, fake: i === 0 }));
          emit(p.chatMessage({ sessionId, player, channel: 'discussion', round: r, text: `round ${r}: I think ${pick(players)} is sus` }));
        }
        for (const player of players) emit(p.vote({ sessionId, player, round: r, kind: 'eject', target: rand() < 0.2 ? null : pick(players) }));
        break;
      case 'hokm':
      case 'liap-tui':
        for (let trick = 0; trick < 4; trick++)
          for (const player of players)
            emit(p.move({ sessionId, player, round: r, turn: trick, action: kind === 'hokm' ? 'play_card' : 'play_pieces', data: { card: { suit: pick(['hearts', 'spades', 'clubs', 'diamonds']), rank: pick(['A', 'K', 'Q', 'J', '10']) } } }));
        break;
      case 'fourx':
      case 'adventure':
        for (const player of players) {
          emit(p.agentLog({ sessionId, player, model: 'local-llm-8b', provider: 'ollama', turn: r, promptTokens: 400 + Math.floor(rand() * 200), completionTokens: 80 + Math.floor(rand() * 40), latencyMs: Math.round(300 + rand() * 900), prompt: `Turn ${r}: choose an action`, response: 'expand' }));
          emit(p.move({ sessionId, player, turn: r, action: pick(['expand', 'build', 'research', 'explore']) }));
        }
        {
          const resources = state.resources as Record<string, number>;
          const changed = pick(players);
          const patch = { turn: r, resources: { [changed]: resources[changed] + 5 } };
          state = { ...state, turn: r, resources: { ...resources, [changed]: resources[changed] + 5 } };
          // Full state every 5 turns, merge patches in between (as the 4X seed does).
          emit(p.turnResult({ sessionId, turn: r, results: { changed }, ...(r % 5 === 0 ? { state } : { patch }) }));
        }
        break;
    }
  }

  if (kind !== 'adventure') {
    const winners = kind === 'hokm' ? players.filter((_, i) => i % 2 === 0) : [pick(players)];
    for (const player of players)
      emit(p.playerOutcome({ sessionId, player, outcome: winners.includes(player) ? 'win' : 'loss', xp: winners.includes(player) ? 50 : 10, score: Math.floor(rand() * 100) }));
    emit(p.sessionFinished({ sessionId, winners, scores: Object.fromEntries(players.map((pl) => [pl, Math.floor(rand() * 100)])) }));
  }
  // The next game's players wait in the tenant's join queue.
  for (const player of o.players.slice(seats, seats + 2)) emit(p.queueEntered({ tenant: o.tenant, player }));
  await Promise.all(sent);
  return sent.length;
}
