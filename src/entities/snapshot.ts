import { defineEntity, p } from '@mikro-orm/core';

/**
 * A saved copy of a session's state at a sequence number, with the SHA-256 of its RFC 8785 canonical
 * JSON. `server_hash` is the game server's own hash when it sent one; `hash_matches` records whether
 * the two agree.
 */
export const SessionSnapshot = defineEntity({
  name: 'SessionSnapshot',
  tableName: 'session_snapshots',
  properties: {
    sessionId: p.text().primary(),
    seq: p.bigint('number').primary(),
    turn: p.integer().nullable(),
    state: p.json<Record<string, unknown>>(),
    /** Null while the pg-boss job that hashes a state captured by the fold has not run yet. */
    hash: p.text().nullable(),
    serverHash: p.text().nullable(),
    hashMatches: p.boolean().nullable(),
    /** turns (every N turns), interval, final, or server (a full state the game server sent). */
    reason: p.text(),
    final: p.boolean().default(false),
    takenAt: p.datetime().defaultRaw('now()'),
  },
  indexes: [{ properties: ['hashMatches'] }],
});
