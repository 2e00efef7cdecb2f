import { defineEntity, p } from '@mikro-orm/core';

/**
 * The audit of `game-persist erase-player` / POST /v1/players/:id/erase (src/ops/erase-player.ts): one
 * row per request, a repeated one included (it then changes nothing and says so). The player's id is
 * not kept: `idHash` is its SHA-256, so "was this player erased, when, by whom" is answerable by whoever
 * holds the id, and `pseudonym` is what the id was replaced by (reused by a later run for the same id).
 */
export const Erasure = defineEntity({
  name: 'Erasure',
  tableName: 'erasures',
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    idHash: p.text().index(),
    pseudonym: p.text(),
    /** `cli:<os user>` or `api-key:<key id>`. */
    requestedBy: p.text(),
    requestedAt: p.datetime().defaultRaw('now()'),
    /** Rows changed or deleted, per `table.column` (database part, one transaction). */
    counts: p.json<Record<string, number>>(),
    /** Jobs removed from the queue, and jobs still in flight (best effort, before the transaction). */
    queue: p.json<Record<string, unknown>>(),
    /** Whether anything changed: false for a repeated request. */
    changed: p.boolean(),
  },
});
