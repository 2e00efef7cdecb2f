import { defineEntity, p } from '@mikro-orm/core';

/**
 * The live state of a session: turn results folded in sequence order (a full state replaces it, an
 * RFC 7396 merge patch is applied to it), through `sessions.state_seq`. Kept apart from `sessions`
 * so the hot per-batch session updates never rewrite a large state.
 */
export const SessionState = defineEntity({
  name: 'SessionState',
  tableName: 'session_states',
  properties: {
    sessionId: p.text().primary(),
    state: p.json<Record<string, unknown>>(),
    /** Turn number of the last turn result folded in. */
    turn: p.integer().nullable(),
    /** Sequence number of the last turn result folded in. */
    seq: p.bigint('number'),
    updatedAt: p.datetime().defaultRaw('now()'),
  },
});
