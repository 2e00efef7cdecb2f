import { defineEntity, p } from '@mikro-orm/core';

/** A player seen in any session; identified by the game server's own id. */
export const Player = defineEntity({
  name: 'Player',
  tableName: 'players',
  properties: {
    id: p.text().primary(),
    name: p.text().nullable(),
    firstSeenAt: p.datetime(),
    lastSeenAt: p.datetime(),
  },
});

/**
 * A player's place in a session (the seeds' PlayerGameLink). `*_seq` columns remember which event set
 * a value so that late, out-of-order events never overwrite newer ones.
 */
export const SessionParticipant = defineEntity({
  name: 'SessionParticipant',
  tableName: 'session_participants',
  properties: {
    sessionId: p.text().primary(),
    playerId: p.text().primary(),
    role: p.text().nullable(),
    team: p.text().nullable(),
    position: p.integer().nullable(),
    name: p.text().nullable(),
    infoSeq: p.bigint('number').default(0),
    joinedAt: p.datetime().nullable(),
    lastJoinedAt: p.datetime().nullable(),
    leftAt: p.datetime().nullable(),
    outcome: p.enum(['win', 'loss', 'draw'] as const).nullable(),
    xp: p.integer().nullable(),
    score: p.double().nullable(),
    outcomeSeq: p.bigint('number').default(0),
    /** The outcome event (seq ties are broken by id) and its time (the period its result counts in). */
    outcomeId: p.text().nullable(),
    outcomeAt: p.datetime().nullable(),
    /** This player's contribution to the aggregates from tasks and votes in the session. */
    tasks: p.integer().default(0),
    fakeTasks: p.integer().default(0),
    taskXp: p.bigint('number').default(0),
    votes: p.integer().default(0),
    /** Latest participant, task or vote event of the player in the session. */
    lastAt: p.datetime().nullable(),
    updatedAt: p.datetime().defaultRaw('now()'),
  },
  indexes: [{ properties: ['playerId'] }],
});
