import { defineEntity, p } from '@mikro-orm/core';

/**
 * A player's place in a tenant's join queue. Order-independent: a player is waiting while
 * `entered_at` is later than `left_at` (or nothing left yet).
 */
export const JoinQueueEntry = defineEntity({
  name: 'JoinQueueEntry',
  tableName: 'join_queue_entries',
  properties: {
    tenant: p.text().primary(),
    playerId: p.text().primary(),
    sessionId: p.text().nullable(),
    enteredAt: p.datetime().nullable(),
    leftAt: p.datetime().nullable(),
    expiresAt: p.datetime().nullable(),
    /** When `takeWaiting` (the API's queue notify) handed this entry out; a new entry clears it. */
    notifiedAt: p.datetime().nullable(),
    data: p.json<Record<string, unknown>>().nullable(),
    updatedAt: p.datetime().defaultRaw('now()'),
  },
  indexes: [{ properties: ['tenant', 'enteredAt'] }, { properties: ['sessionId'] }],
});
