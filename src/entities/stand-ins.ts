import { defineEntity, p } from '@mikro-orm/core';

/*
 * With GP_QUEUE_BACKEND=postgres there is no Redis: what the Redis backend keeps in Redis keys lives
 * in these two tables instead. They are ordinary migrated tables (in the application's schema, not in
 * the BullMQ queue schema) so `migration:check` covers them and a worker or API needs no DDL rights;
 * a `prefix` (GP_QUEUE_PREFIX) in the key keeps deployments that share a database apart, as the Redis
 * key prefix does. Rows past `expiresAt` count as absent and are deleted by the cleanup job.
 */

/**
 * A session's sequence counter (Redis: `{prefix}:seq:{sessionId}`): the last number any producer of
 * the deployment issued for it. Drawn by src/db/sql/sequence-counters.ts with the same floor rule as
 * the Redis script.
 */
export const SequenceCounter = defineEntity({
  name: 'SequenceCounter',
  tableName: 'sequence_counters',
  properties: {
    prefix: p.text().primary(),
    sessionId: p.text().primary(),
    seq: p.bigint('number'),
    /** Refreshed by every draw: SEQUENCE_KEY_TTL_SECONDS after it, as the Redis key's EXPIRE. */
    expiresAt: p.datetime().index(),
  },
});

/**
 * A short-lived record of the HTTP API (Redis: the same key with an EXPIRE): Idempotency-Key answers
 * (`{prefix}:api-idem:…`) and tenant claims on sessions created through the API (`{prefix}:api-tenant:…`).
 */
export const ApiRecord = defineEntity({
  name: 'ApiRecord',
  tableName: 'api_records',
  properties: {
    key: p.text().primary(),
    value: p.text(),
    expiresAt: p.datetime().index(),
  },
});
