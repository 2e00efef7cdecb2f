/** One table per event family: typed columns for what analytics reads, jsonb for the rest. */
import { defineEntity, p } from '@mikro-orm/core';
import { eventColumns, meta } from './columns.ts';

const bySeq = (name: string) => [{ name, properties: ['sessionId' as const, 'seq' as const] }];

export const SessionEvent = defineEntity({
  name: 'SessionEvent',
  tableName: 'session_events',
  properties: { ...eventColumns(), data: p.json<Record<string, unknown>>() },
  indexes: bySeq('session_events_session_seq_idx'),
});

export const ParticipantEvent = defineEntity({
  name: 'ParticipantEvent',
  tableName: 'participant_events',
  properties: {
    ...eventColumns(),
    role: p.text().nullable(),
    team: p.text().nullable(),
    position: p.integer().nullable(),
    outcome: p.text().nullable(),
    xp: p.integer().nullable(),
    score: p.double().nullable(),
    data: meta(),
  },
  indexes: [...bySeq('participant_events_session_seq_idx'), { properties: ['playerId'] }],
});

export const Move = defineEntity({
  name: 'Move',
  tableName: 'moves',
  properties: {
    ...eventColumns(),
    action: p.text(),
    round: p.integer().nullable(),
    turn: p.integer().nullable(),
    data: p.json<unknown>().nullable(),
  },
  indexes: bySeq('moves_session_seq_idx'),
});

export const Vote = defineEntity({
  name: 'Vote',
  tableName: 'votes',
  properties: {
    ...eventColumns(),
    /** NULL means the voter skipped. The voter is `player_id`. */
    targetId: p.text().nullable(),
    round: p.integer().nullable(),
    kind: p.text().nullable(),
    data: meta(),
  },
  indexes: [...bySeq('votes_session_seq_idx'), { properties: ['playerId'] }],
});

export const ChatMessage = defineEntity({
  name: 'ChatMessage',
  tableName: 'chat_messages',
  properties: {
    ...eventColumns(),
    channel: p.text().nullable(),
    round: p.integer().nullable(),
    text: p.text(),
    data: meta(),
  },
  indexes: bySeq('chat_messages_session_seq_idx'),
});

export const TaskLog = defineEntity({
  name: 'TaskLog',
  tableName: 'task_logs',
  properties: {
    ...eventColumns(),
    taskType: p.text(),
    xp: p.integer().default(0),
    fake: p.boolean().default(false),
    description: p.text().nullable(),
    data: meta(),
  },
  indexes: [...bySeq('task_logs_session_seq_idx'), { properties: ['playerId'] }],
});

export const TurnResult = defineEntity({
  name: 'TurnResult',
  tableName: 'turn_results',
  properties: {
    ...eventColumns(),
    turn: p.integer(),
    round: p.integer().nullable(),
    results: p.json<unknown>().nullable(),
    state: p.json<Record<string, unknown>>().nullable(),
    patch: p.json<Record<string, unknown>>().nullable(),
    stateHash: p.text().nullable(),
  },
  indexes: bySeq('turn_results_session_seq_idx'),
});

export const AgentLog = defineEntity({
  name: 'AgentLog',
  tableName: 'agent_logs',
  properties: {
    ...eventColumns(),
    model: p.text(),
    provider: p.text().nullable(),
    agent: p.text().nullable(),
    turn: p.integer().nullable(),
    prompt: p.text().nullable(),
    response: p.text().nullable(),
    promptChars: p.integer().nullable(),
    responseChars: p.integer().nullable(),
    promptTokens: p.integer().nullable(),
    completionTokens: p.integer().nullable(),
    thinkingTokens: p.integer().nullable(),
    latencyMs: p.double().nullable(),
    data: meta(),
  },
  indexes: bySeq('agent_logs_session_seq_idx'),
});

/** Join-queue events are keyed by tenant (a queue belongs to a chat or guild, not to a session). */
export const QueueEvent = defineEntity({
  name: 'QueueEvent',
  tableName: 'queue_events',
  properties: {
    tenant: p.text().primary(),
    id: p.uuid().primary(),
    sessionId: p.text().nullable(),
    seq: p.bigint('number').nullable(),
    type: p.text(),
    at: p.datetime(),
    playerId: p.text().nullable(),
    expiresAt: p.datetime().nullable(),
    reason: p.text().nullable(),
    recordedAt: p.datetime().defaultRaw('now()'),
    data: meta(),
  },
  // A join-queue event that names a session takes a place in that session's sequence.
  indexes: [{ name: 'queue_events_session_seq_idx', properties: ['sessionId', 'seq'] }],
});
