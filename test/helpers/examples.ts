/** One valid event of every type, in wire form, for a given session. */
import { uuidv7 } from '../../src/contract/ids.ts';
import type { EventType } from '../../src/contract/events.ts';

export function exampleData(_sessionId: string): Record<EventType, { player?: string; data: Record<string, unknown>; noSession?: boolean }> {
  return {
    'session.created': { data: { gameType: 'impostor', tenant: 'chat-67890', name: 'Game Room #1', createdBy: 11111, settings: { maxPlayers: 8 } } },
    'session.started': { data: { settings: { maxPlayers: 8, impostors: 1 } } },
    'player.joined': { player: 'p1', data: { role: 'crewmate', team: 'A', position: 0, name: 'Ann' } },
    move: { player: 'p1', data: { action: 'play_card', round: 1, turn: 2, data: { card: { suit: 'hearts', rank: 'A' } } } },
    vote: { player: 'p1', data: { target: 'p2', round: 1, kind: 'eject' } },
    'chat.message': { player: 'p1', data: { channel: 'discussion', round: 1, text: 'I think player 2 is sus 🤔' } },
    'task.completed': { player: 'p1', data: { taskType: 'ai_riddle', xp: 10, fake: false, description: 'Solved AI riddle' } },
    'turn.result': { data: { turn: 1, round: 1, results: { p1: 'ok' }, state: { turn: 1, map: { a: 1 } }, stateHash: 'abc123' } },
    'agent.log': { player: 'p1', data: { model: 'gpt-x', provider: 'local', turn: 1, prompt: 'what now?', response: 'attack', promptTokens: 12, completionTokens: 3, thinkingTokens: 40, latencyMs: 812.5 } },
    'player.outcome': { player: 'p1', data: { outcome: 'win', xp: 50, score: 120, role: 'crewmate' } },
    'player.left': { player: 'p1', data: { reason: 'game over' } },
    'session.finished': { data: { winners: ['p1'], scores: { p1: 120, p2: 80 }, result: 'crew wins' } },
    'session.abandoned': { data: { reason: 'everyone left' } },
    'queue.entered': { player: 'p3', noSession: true, data: { tenant: 'chat-67890', expiresAt: '2030-01-01T00:00:00Z', meta: { rank: 3 } } },
    'queue.left': { player: 'p4', noSession: true, data: { tenant: 'chat-67890', reason: 'gave up' } },
    'doc.put': { player: 'p1', data: { collection: 'characters', key: 'p1', value: { name: 'Ann', hp: 12, items: ['rope'] }, owner: 'player', expectedVersion: 0 } },
    'doc.delete': { data: { collection: 'chunks', key: '0:0' } },
  };
}

/** Wire-form events of every type with ids and consecutive seqs (queue events carry no session). */
export function allTypesEvents(sessionId: string): Record<string, unknown>[] {
  let seq = 0;
  const at = new Date().toISOString();
  return Object.entries(exampleData(sessionId)).map(([type, ex]) => ({
    id: uuidv7(),
    type,
    at,
    ...(ex.noSession ? {} : { sessionId, seq: ++seq }),
    ...(ex.player ? { player: ex.player } : {}),
    data: ex.data,
  }));
}

export function moveEvent(sessionId: string, seq: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: uuidv7(), type: 'move', sessionId, seq, at: new Date().toISOString(), player: 'p1', data: { action: 'step', turn: seq }, ...extra };
}
