/**
 * What a tenant-restricted API key may reach: its own tenant's sessions, join queue and reads. Every
 * route that touches a tenant's data asks here, so the rule is written once (docs/http.md, "Tenants").
 *
 * A session a tenant key may not see answers exactly as a session that does not exist (404
 * `not_found`, the same message), so session ids do not tell one tenant which ids another one uses.
 */
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../errors.ts';
import type { Reader } from '../db/reader.ts';
import { SESSION_TENANT_SQL } from '../db/sql/sessions.ts';
import type { ApiStore } from './store.ts';
import { claimedBy } from './tenant-ingest.ts';

/** The answer for a session that does not exist, or that a tenant key may not see. */
export const noSession = (id: string) => new ApiError(404, 'not_found', `no session ${id}`);

/** A tenant-restricted key may touch only its tenant's join queue and reads (a tenant named in the request). */
export function checkTenant(req: FastifyRequest, tenant: string | null | undefined): void {
  const k = req.apiKey;
  if (k?.tenant != null && tenant !== k.tenant) throw new ApiError(403, 'forbidden', `this key is restricted to tenant "${k.tenant}"`);
}

export function noTenantRestriction(req: FastifyRequest, what: string): void {
  if (req.apiKey?.tenant != null) throw new ApiError(403, 'forbidden', `a tenant-restricted key cannot ${what}`);
}

/** A tenant-restricted key reads its own tenant whatever it asks for. */
export function tenantOf(req: FastifyRequest, asked: string | undefined): string | undefined {
  const own = req.apiKey?.tenant;
  if (own != null && asked !== undefined && asked !== own) throw new ApiError(403, 'forbidden', `this key is restricted to tenant "${own}"`);
  return own ?? asked;
}

/**
 * For a tenant-restricted key: 404 unless the session exists and is its tenant's. Asked before anything
 * else is read, so another tenant's session costs what a missing one costs. With `claims`, a session
 * whose creation the key's tenant published through the API and the worker has not stored yet counts
 * as its own too (waiting for it is what a game server does right after creating it).
 */
export async function sessionTenantCheck(reader: Reader, req: FastifyRequest, id: string, claims?: { store: ApiStore; prefix: string }): Promise<void> {
  const own = req.apiKey?.tenant;
  if (own == null) return;
  const [s] = await reader.read<{ tenant: string | null }>(SESSION_TENANT_SQL, [id]);
  if (s?.tenant === own) return;
  // The claim is read whatever the row says, so a missing session and another tenant's take the same path.
  const claimed = claims ? await claimedBy(claims.store, claims.prefix, id) : null;
  if (claimed === own && (s === undefined || s.tenant === null)) return;
  throw noSession(id);
}
