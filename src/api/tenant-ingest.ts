/**
 * Publishing with a tenant-restricted key: each event must belong to the key's tenant, decided per
 * event before anything is enqueued.
 *
 * - A `session.created` must name the key's tenant, and its session must not belong to another one.
 * - Any other session event: its session's tenant is the key's, as stored (`sessions.tenant`), as
 *   claimed by a `session.created` this tenant published through the API (a record in the API's store,
 *   Redis or PostgreSQL: ./store.ts; events sent right after the creation need not wait for the worker),
 *   or as named by a `session.created` of the same request.
 * - A join-queue event must name the key's tenant in `data.tenant`.
 *
 * An event that fails gets its own verdict (code `forbidden`); the events beside it go on.
 */
import { isId } from '../contract/fields.ts';
import type { Reader } from '../db/reader.ts';
import type { ApiStore } from './store.ts';
import { SESSION_TENANTS_SQL } from '../db/sql/sessions.ts';

/** How long a tenant's claim on a session it created through the API is kept (the worker stores the tenant long before). */
const CLAIM_TTL_S = 86_400;

export interface TenantVerdict {
  field: string;
  reason: string;
}

const claimKey = (prefix: string, sessionId: string) => `${prefix}:api-tenant:${sessionId}`;
/**
 * An id as text, or null when it is not a valid id: those events are refused by the contract, and a
 * `\u0000` in one must not reach the tenant lookup (PostgreSQL would fail the whole request).
 */
const text = (v: unknown): string | null => (isId(v) ? String(v) : null);

/**
 * Per event: null when it may be published under `tenant`, else why not. Events that are not objects
 * are left to the contract's checks (null).
 */
export async function tenantVerdicts(tenant: string, events: unknown[], deps: { reader: Reader; store: ApiStore; prefix: string }): Promise<(TenantVerdict | null)[]> {
  const obj = (e: unknown) => (e !== null && typeof e === 'object' && !Array.isArray(e) ? (e as Record<string, any>) : null);
  // Sessions this request creates for the tenant.
  const createdHere = new Set<string>();
  const asked = new Set<string>();
  for (const raw of events) {
    const e = obj(raw);
    const sid = text(e?.sessionId);
    if (!e || sid === null || e.type?.startsWith?.('queue.')) continue;
    asked.add(sid);
    if (e.type === 'session.created' && text(e.data?.tenant) === tenant) createdHere.add(sid);
  }
  const ids = [...asked];
  const stored = new Map<string, string | null>();
  const claims = new Map<string, string | null>();
  if (ids.length) {
    for (const r of await deps.reader.read<{ id: string; tenant: string | null }>(SESSION_TENANTS_SQL, [ids])) stored.set(r.id, r.tenant);
    const held = await deps.store.get(ids.map((id) => claimKey(deps.prefix, id)));
    ids.forEach((id, i) => claims.set(id, held[i] ?? null));
  }
  const owner = (sid: string) => stored.get(sid) ?? claims.get(sid) ?? null;

  const verdicts = events.map((raw): TenantVerdict | null => {
    const e = obj(raw);
    if (!e || typeof e.type !== 'string') return null;
    if (e.type.startsWith('queue.')) return text(e.data?.tenant) === tenant ? null : { field: 'data.tenant', reason: `must be "${tenant}": this key is restricted to that tenant` };
    const sid = text(e.sessionId);
    if (sid === null) return null;
    const o = owner(sid);
    if (o !== null && o !== tenant) return { field: 'sessionId', reason: `session ${sid} belongs to another tenant; this key is restricted to "${tenant}"` };
    if (e.type === 'session.created') return text(e.data?.tenant) === tenant ? null : { field: 'data.tenant', reason: `must be "${tenant}": this key is restricted to that tenant` };
    if (o === tenant || createdHere.has(sid)) return null;
    return { field: 'sessionId', reason: `session ${sid} has no tenant yet: publish its session.created with tenant "${tenant}" first` };
  });

  // Claim the sessions created here, so their next events (another request, before the worker has
  // stored the creation) are let through; a claim another tenant made first wins.
  for (const sid of createdHere) {
    if (owner(sid) !== null) continue;
    if (await deps.store.claim(claimKey(deps.prefix, sid), tenant, CLAIM_TTL_S)) continue;
    if ((await deps.store.get([claimKey(deps.prefix, sid)]))[0] === tenant) continue;
    events.forEach((raw, i) => {
      if (text(obj(raw)?.sessionId) === sid && !String(obj(raw)?.type).startsWith('queue.'))
        verdicts[i] = { field: 'sessionId', reason: `session ${sid} belongs to another tenant; this key is restricted to "${tenant}"` };
    });
  }
  return verdicts;
}
