import { defineEntity, p } from '@mikro-orm/core';

/**
 * The audit of `game-persist erase-player` / POST /v1/players/:id/erase (src/ops/erase-player.ts): one
 * row per request, a repeated one included (it then changes nothing and says so). Append-only: the
 * worker and API roles may insert, never update or delete (src/db/sql/grants.ts).
 *
 * The player's id is not kept, nor anything computable from it without a secret: `idHmac` is the
 * HMAC-SHA256 of the id under GP_ERASURE_KEY, so "was this player erased, when, by whom" is answerable
 * by whoever holds the id and the key, and nobody who only reads the database can test a candidate id.
 * Rows written before this column (an unsalted SHA-256 then) had their hash removed by the migration
 * that added it: null here. `pseudonym` is what the id was replaced by.
 */
export const Erasure = defineEntity({
  name: 'Erasure',
  tableName: 'erasures',
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    idHmac: p.text().nullable().index(),
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

/**
 * Erasures asked for through the HTTP API (POST /v1/players/:id/erase), run by a worker
 * (src/ops/erasure-requests.ts): the API's role may insert a request and read its outcome, and has no
 * right to rewrite the tables an erasure touches. `playerId` is held only while the request waits: the
 * worker clears it in the transaction that erases.
 */
export const ErasureRequest = defineEntity({
  name: 'ErasureRequest',
  tableName: 'erasure_requests',
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    /** The id to erase; null once done. */
    playerId: p.text().nullable(),
    /** `api-key:<key id>`. */
    requestedBy: p.text(),
    requestedAt: p.datetime().defaultRaw('now()'),
    doneAt: p.datetime().nullable(),
    /** The `erasures` row it wrote. */
    auditId: p.bigint('number').nullable(),
    /** The erasure's report (src/ops/erase-player.ts, ErasureReport), as the CLI prints it. */
    report: p.json<Record<string, unknown>>().nullable(),
    /** A typed error's code when it could not run (`erasure_key_missing`); then `report` is null. */
    error: p.text().nullable(),
  },
  indexes: [{ name: 'erasure_requests_pending_idx', expression: `create index "erasure_requests_pending_idx" on "erasure_requests" ("id") where "done_at" is null` }],
});
