/** API keys (src/api/keys.ts). Only SHA-256 of a key's secret is stored. */

/** $1 id, $2 name, $3 secret hash (hex), $4 scopes, $5 tenant, $6 rate limit. Result: the row. */
export const INSERT_API_KEY_SQL = `INSERT INTO api_keys (id, name, secret_hash, scopes, tenant, rate_limit) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`;

/** $1 include revoked keys. Result: the keys, oldest first. */
export const LIST_API_KEYS_SQL = `SELECT * FROM api_keys WHERE $1 OR revoked_at IS NULL ORDER BY created_at, id`;

/** $1 id. Result: id when an active key was revoked. */
export const REVOKE_API_KEY_SQL = `UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id`;

/** $1 id. Result: the key's row. */
export const API_KEY_SQL = `SELECT * FROM api_keys WHERE id = $1`;
