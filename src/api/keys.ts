/**
 * API keys: `gpk_<id>_<secret>`. The id is public (it names the key in lists, logs and metrics-free
 * audit); only SHA-256(secret) is stored, so a database dump does not leak usable keys. Secrets are
 * 32 random bytes: a fast hash is enough (nothing to brute-force), and the check is constant-time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { query } from '../db/query.ts';
import { API_KEY_SQL, INSERT_API_KEY_SQL, LIST_API_KEYS_SQL, REVOKE_API_KEY_SQL } from '../db/sql/api-keys.ts';
import { ApiError, GamePersistError } from '../errors.ts';

export const SCOPES = ['ingest', 'read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface ApiKeyInfo {
  id: string;
  name: string;
  scopes: Scope[];
  /** Restricts the key to one tenant's sessions and join queue; null = every tenant. */
  tenant: string | null;
  rateLimit: number | null;
  createdAt: string;
  revokedAt: string | null;
}

/** A whole key: `gpk_`, the id, `_`, the secret (base64url, which may hold `_` itself). docs/http.md states it. */
export const KEY_RE = /^gpk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

const sha256 = (s: string) => createHash('sha256').update(s).digest();

function checkScopes(scopes: readonly string[]): Scope[] {
  if (!scopes.length) throw new GamePersistError('bad_request', 'a key needs at least one scope: ingest, read, admin');
  for (const s of scopes) if (!(SCOPES as readonly string[]).includes(s)) throw new GamePersistError('bad_request', `unknown scope "${s}": use ingest, read, admin`);
  return [...new Set(scopes)] as Scope[];
}

const toInfo = (r: Record<string, any>): ApiKeyInfo => ({
  id: r.id,
  name: r.name,
  scopes: r.scopes,
  tenant: r.tenant,
  rateLimit: r.rate_limit,
  createdAt: new Date(r.created_at).toISOString(),
  revokedAt: r.revoked_at ? new Date(r.revoked_at).toISOString() : null,
});

/**
 * Admin acts (game types, erasure) span every tenant, so a tenant-restricted key never has the scope:
 * refused when such a key is created, and (for one made before this rule) at every request.
 */
export const TENANT_ADMIN =
  'a key restricted to a tenant cannot have the admin scope: admin acts (registering game types, erasing players) span every tenant. Use ingest and read for the tenant, and a key without --tenant for admin';

/** Creates a key; the returned `key` is the only time the secret exists outside the caller. */
export async function createApiKey(
  orm: MikroORM,
  opts: { name: string; scopes: readonly string[]; tenant?: string | null; rateLimit?: number | null },
): Promise<ApiKeyInfo & { key: string }> {
  const scopes = checkScopes(opts.scopes);
  if (opts.tenant != null && scopes.includes('admin')) throw new GamePersistError('bad_request', TENANT_ADMIN);
  if (!/^[\s\S]{1,200}$/.test(opts.name)) throw new GamePersistError('bad_request', 'a key name is 1-200 characters');
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const [row] = await query(orm.em.fork(), INSERT_API_KEY_SQL, [
    id,
    opts.name,
    sha256(secret).toString('hex'),
    scopes,
    opts.tenant ?? null,
    opts.rateLimit ?? null,
  ]);
  return { ...toInfo(row!), key: `gpk_${id}_${secret}` };
}

export async function listApiKeys(orm: MikroORM, opts: { all?: boolean } = {}): Promise<ApiKeyInfo[]> {
  const rows = await query(orm.em.fork(), LIST_API_KEYS_SQL, [!!opts.all]);
  return rows.map(toInfo);
}

/** Revokes a key by its id (or the whole key); true when it was active. Servers notice within KEY_CACHE_MS. */
export async function revokeApiKey(orm: MikroORM, idOrKey: string): Promise<boolean> {
  const id = KEY_RE.exec(idOrKey)?.[1] ?? idOrKey;
  const rows = await query(orm.em.fork(), REVOKE_API_KEY_SQL, [id]);
  return rows.length > 0;
}

/** How long a server trusts what it read about a key (a revocation takes effect within this). */
export const KEY_CACHE_MS = 5000;

type Cached = { at: number; row: { info: ApiKeyInfo; hash: Buffer } | null };

/**
 * Called before a key is read from PostgreSQL (not for a cached or an already-running read); throws
 * to refuse the read, or returns what to call once the read is over. The API's failed-authentication
 * throttle (./rate-limits.ts) bounds reads per client address with it.
 */
export type AdmitLookup = () => () => void;

/** Checks presented keys against PostgreSQL, remembering each key's row for KEY_CACHE_MS. */
export class KeyVerifier {
  readonly #orm: MikroORM;
  readonly #onLookup: () => void;
  readonly #cache = new Map<string, Cached>();
  /** Reads in progress by key id: concurrent requests with one uncached key share one read. */
  readonly #reading = new Map<string, Promise<Cached>>();
  /** @param onLookup counts each read of `api_keys` (a metric). */
  constructor(orm: MikroORM, opts: { onLookup?: () => void } = {}) {
    this.#orm = orm;
    this.#onLookup = opts.onLookup ?? (() => {});
  }

  /** The key's info, or an ApiError 401 (missing, malformed, unknown, wrong secret or revoked). */
  async verify(presented: string | undefined, admit?: AdmitLookup): Promise<ApiKeyInfo> {
    if (!presented) throw new ApiError(401, 'unauthorized', 'an API key is required: Authorization: Bearer gpk_…');
    const m = KEY_RE.exec(presented);
    if (!m) throw new ApiError(401, 'unauthorized', 'malformed API key');
    const id = m[1]!;
    let hit = this.#cache.get(id);
    if (!hit || Date.now() - hit.at > KEY_CACHE_MS) hit = await (this.#reading.get(id) ?? this.#read(id, admit));
    // Compare even for an unknown id, so the timing says nothing about which ids exist.
    const expected = hit.row?.hash ?? Buffer.alloc(32);
    const ok = timingSafeEqual(sha256(m[2]!), expected) && hit.row !== null;
    if (!ok || hit.row!.info.revokedAt) throw new ApiError(401, 'unauthorized', 'unknown or revoked API key');
    return hit.row!.info;
  }

  /**
   * The key's info when this process already holds a fresh row that the key matches and that is not
   * revoked: no I/O. Anything else (no key, malformed, not cached or stale, wrong secret, revoked) is
   * undefined, and `verify` (under the failed-authentication throttle) decides it.
   */
  known(presented: string | undefined): ApiKeyInfo | undefined {
    if (!presented) return undefined;
    const m = KEY_RE.exec(presented);
    const hit = m ? this.#cache.get(m[1]!) : undefined;
    if (!hit?.row || hit.row.info.revokedAt || Date.now() - hit.at > KEY_CACHE_MS) return undefined;
    return timingSafeEqual(sha256(m![2]!), hit.row.hash) ? hit.row.info : undefined;
  }

  #read(id: string, admit: AdmitLookup | undefined): Promise<Cached> {
    const done = admit?.() ?? null;
    // `finally` runs on a later tick: the read is in the map before it can leave it.
    const reading = this.#lookup(id).finally(() => {
      this.#reading.delete(id);
      done?.();
    });
    this.#reading.set(id, reading);
    return reading;
  }

  async #lookup(id: string): Promise<Cached> {
    this.#onLookup();
    const [r] = await query(this.#orm.em.fork(), API_KEY_SQL, [id]);
    const hit: Cached = { at: Date.now(), row: r ? { info: toInfo(r), hash: Buffer.from(r.secret_hash as string, 'hex') } : null };
    if (this.#cache.size > 10_000) this.#cache.clear();
    this.#cache.set(id, hit);
    return hit;
  }
}
