import { defineEntity, p } from '@mikro-orm/core';

/**
 * A key of the HTTP API (`game-persist keys create`). Only the SHA-256 of the secret is stored: a key
 * is shown once, at creation. `scopes` ⊆ {ingest, read, admin}; `tenant` restricts the key to that
 * tenant's sessions and queue when set. A revoked key stays listed (who had access, until when).
 */
export const ApiKey = defineEntity({
  name: 'ApiKey',
  tableName: 'api_keys',
  properties: {
    /** The key's public part (`gpk_<id>_…`): how a request names its key before the secret is checked. */
    id: p.text().primary(),
    name: p.text(),
    secretHash: p.text(),
    scopes: p.array<string>(),
    tenant: p.text().nullable(),
    /** Requests per minute, per key; null = the server's default (GP_API_RATE_LIMIT). */
    rateLimit: p.integer().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
    revokedAt: p.datetime().nullable(),
  },
});
