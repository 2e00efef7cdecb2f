import { defineEntity, p } from '@mikro-orm/core';

/**
 * A document as of the latest doc.put / doc.delete applied in its session's seq order
 * (src/sessions/documents.ts). Owned by the session (`owner` = '') or by one of its players (`owner` =
 * the player id). Keyed by session first, like every event table, so it can be partitioned with them.
 */
export const Document = defineEntity({
  name: 'Document',
  tableName: 'documents',
  properties: {
    sessionId: p.text().primary(),
    /** '' for the session's own documents, else the owning player's id. */
    owner: p.text().primary(),
    collection: p.text().primary(),
    /** Byte order (COLLATE "C"), so prefix and range reads are index scans and agree in every locale. */
    key: p.text().collation('C').primary(),
    /** null: deleted (kept so that versions never repeat: a stale expectedVersion cannot match a new document). */
    value: p.json<unknown>().nullable(),
    /** 1 at the first write, + 1 at every applied put; what `expectedVersion` is compared with. */
    version: p.integer(),
    /** Size of `value` as JSON text (0 when deleted), counted against GP_MAX_OWNER_DOCUMENT_BYTES. */
    bytes: p.integer(),
    /** The event that wrote this version. */
    seq: p.bigint('number'),
    eventId: p.uuid(),
    /** That event's `at`. */
    updatedAt: p.datetime(),
  },
  // A player's documents across sessions (GET /v1/players/:id/documents).
  indexes: [{ name: 'documents_owner_idx', properties: ['owner', 'collection', 'key'] }],
});

/**
 * A JSON Schema a game registered for one of its event types (`game-persist contract add-type`, or
 * PUT /v1/contract/types/:type). `version` counts its registrations.
 */
export const EventTypeSchema = defineEntity({
  name: 'EventTypeSchema',
  tableName: 'event_types',
  properties: {
    type: p.text().primary(),
    schema: p.json<Record<string, unknown>>(),
    description: p.text().nullable(),
    version: p.integer(),
    createdAt: p.datetime().defaultRaw('now()'),
    updatedAt: p.datetime().defaultRaw('now()'),
  },
});
