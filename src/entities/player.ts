import { defineEntity, p } from '@mikro-orm/core';

/** A player seen in any session; identified by the game server's own id. */
export const Player = defineEntity({
  name: 'Player',
  tableName: 'players',
  properties: {
    id: p.text().primary(),
    name: p.text().nullable(),
    /** `at` of the event that set the name (names follow time across sessions, which share no seq). */
    nameAt: p.datetime().nullable(),
    firstSeenAt: p.datetime(),
    lastSeenAt: p.datetime(),
  },
});

/**
 * A player's place in a session (the seeds' PlayerGameLink), a function of the player's events in the
 * session in (seq, id) order: `pos` remembers the position of the event that set each value, so a late
 * event never overwrites a later one.
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
    joinedAt: p.datetime().nullable(),
    lastJoinedAt: p.datetime().nullable(),
    leftAt: p.datetime().nullable(),
    /** Has a player.joined and no player.left after the latest one. */
    present: p.boolean().default(false),
    /** From the latest player.outcome. */
    outcome: p.enum(['win', 'loss', 'draw'] as const).nullable(),
    xp: p.integer().nullable(),
    score: p.double().nullable(),
    outcomeAt: p.datetime().nullable(),
    /**
     * The result the statistics count: `outcome` when there is one, else derived from the session's
     * finish (winners or scores); eff_at is the period it counts in.
     */
    effOutcome: p.enum(['win', 'loss', 'draw'] as const).nullable(),
    effXp: p.integer().nullable(),
    effAt: p.datetime().nullable(),
    /** Positions ([seq, id]) of the events that set role, team, position, name, first/last join, last leave, outcome. */
    pos: p.json<Record<string, [number, string]>>().nullable(),
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

/** An event that shares its seq with another event of its session: a producer issued the number twice. */
export const SeqConflict = defineEntity({
  name: 'SeqConflict',
  tableName: 'seq_conflicts',
  properties: {
    sessionId: p.text().primary(),
    eventId: p.uuid().primary(),
    seq: p.bigint('number'),
    type: p.text(),
    detectedAt: p.datetime().defaultRaw('now()'),
  },
});
