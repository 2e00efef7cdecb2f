/**
 * Publishing with a tenant-restricted key (docs/http.md, "Tenants"): each event must belong to one of
 * the key's sessions, decided per event before anything is enqueued. A tenant key is a *confined*
 * publisher: the sessions it creates are marked `confined: true` (set here on its session.created, an
 * event fact: the workers then count the session in its tenant's statistics only), and it writes only
 * such sessions of its own tenant, never one a trusted publisher (an unrestricted key, the SDK, the
 * queue) created, for its tenant or any other.
 *
 * - A `session.created` must name the key's tenant, may not say `confined: false`, and its session id
 *   must be free or already the key's: ids are one namespace for every tenant, so an id in use is refused
 *   ("taken").
 * - Any other session event: its session is the key's — stored as a confined session of its tenant,
 *   claimed by a `session.created` the tenant published through the API (a record in the API's store,
 *   Redis or PostgreSQL: ./store.ts; events sent right after the creation need not wait for the worker),
 *   or created by a valid `session.created` of the same request. Anything else — another tenant's
 *   session, a trusted publisher's, a session that does not exist — gets the same verdict, so a
 *   verdict does not tell which ids exist.
 * - A join-queue event must name the key's tenant in `data.tenant`, and a session it names (the room
 *   waited for; with a `seq` it fills that number of the session's sequence) must be the key's.
 *
 * An event that fails gets its own verdict (code `forbidden`); the events beside it go on.
 */
import { isId } from '../contract/fields.ts';
import { DEFAULT_LIMITS, type Limits } from '../contract/limits.ts';
import { uuidv7 } from '../contract/ids.ts';
import { validateEvent } from '../contract/validate.ts';
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

/** The tenant that claimed a session by creating it through the API (null: none, or the claim expired). */
export async function claimedBy(store: ApiStore, prefix: string, sessionId: string): Promise<string | null> {
  return (await store.get([claimKey(prefix, sessionId)]))[0] ?? null;
}
/**
 * An id as text, or null when it is not a valid id: those events are refused by the contract, and a
 * `\u0000` in one must not reach the tenant lookup (PostgreSQL would fail the whole request).
 */
const text = (v: unknown): string | null => (isId(v) ? String(v) : null);
const obj = (e: unknown) => (e !== null && typeof e === 'object' && !Array.isArray(e) ? (e as Record<string, any>) : null);

/** The one verdict for a session that is not the key's: the same whether it is another tenant's, a trusted one, or none. */
const notYours = (sid: string, tenant: string): TenantVerdict => ({
  field: 'sessionId',
  reason: `session ${sid} is not a session of this key: a key restricted to tenant "${tenant}" writes only the sessions it created (publish the session.created first)`,
});
const taken = (sid: string): TenantVerdict => ({
  field: 'sessionId',
  reason: `session id ${sid} is in use: session ids are one namespace for every tenant, so give your sessions ids of your own (your tenant as a prefix, or unguessable ids)`,
});
const wrongTenant = (tenant: string): TenantVerdict => ({ field: 'data.tenant', reason: `must be "${tenant}": this key is restricted to that tenant` });

interface Stored {
  tenant: string | null;
  confined: boolean;
  /** A session.created of it is stored. */
  created: boolean;
}

/** Whether a session.created passes the contract (with the limits the API's producer applies): only such a one makes its session the key's. */
function validCreated(e: Record<string, any>, limits: Limits): boolean {
  try {
    validateEvent(
      { id: e.id ?? uuidv7(), type: e.type, sessionId: e.sessionId ?? undefined, seq: e.seq ?? undefined, at: e.at ?? new Date().toISOString(), player: e.player ?? undefined, data: e.data },
      { limits, clone: true, seqAssignedLater: true },
    );
    return true;
  } catch {
    return false;
  }
}

/**
 * Per event: null when it may be published under `tenant`, else why not. Events that are not objects
 * are left to the contract's checks (null). A `session.created` that may be published gets
 * `data.confined = true` here.
 */
export async function tenantVerdicts(
  tenant: string,
  events: unknown[],
  deps: { reader: Reader; store: ApiStore; prefix: string; limits?: Partial<Limits> },
): Promise<(TenantVerdict | null)[]> {
  const limits = { ...DEFAULT_LIMITS, ...deps.limits };
  const asked = new Set<string>();
  for (const raw of events) {
    const e = obj(raw);
    const sid = text(e?.sessionId);
    if (e && sid !== null) asked.add(sid);
  }
  const ids = [...asked];
  const stored = new Map<string, Stored>();
  const claims = new Map<string, string | null>();
  if (ids.length) {
    for (const r of await deps.reader.read<Stored & { id: string }>(SESSION_TENANTS_SQL, [ids])) stored.set(r.id, r);
    const held = await deps.store.get(ids.map((id) => claimKey(deps.prefix, id)));
    ids.forEach((id, i) => claims.set(id, held[i] ?? null));
  }
  /** The key's: stored as a confined session of its tenant, or (its creation not stored yet) claimed by its tenant. */
  const mine = (sid: string) => {
    const s = stored.get(sid);
    return s?.created ? s.confined && s.tenant === tenant : claims.get(sid) === tenant;
  };
  const free = (sid: string) => !stored.has(sid) && (claims.get(sid) ?? null) === null;

  // Sessions this request creates: a valid session.created for a free id (or one already the key's).
  const createdHere = new Set<string>();
  const verdicts = events.map((raw): TenantVerdict | null => {
    const e = obj(raw);
    if (!e || typeof e.type !== 'string') return null;
    if (e.type.startsWith('queue.')) return text(e.data?.tenant) === tenant ? null : wrongTenant(tenant);
    if (e.type !== 'session.created') return null;
    const sid = text(e.sessionId);
    if (sid === null) return null;
    if (text(e.data?.tenant) !== tenant) return wrongTenant(tenant);
    if (e.data.confined === false) return { field: 'data.confined', reason: 'must be true (or left out): the sessions a tenant-restricted key creates are confined to its tenant' };
    if (!mine(sid) && !free(sid)) return taken(sid);
    e.data.confined = true;
    if (validCreated(e, limits)) createdHere.add(sid);
    return null;
  });
  events.forEach((raw, i) => {
    const e = obj(raw);
    if (!e || typeof e.type !== 'string' || e.type === 'session.created' || verdicts[i] !== null) return;
    const sid = text(e.sessionId);
    if (sid !== null && !mine(sid) && !createdHere.has(sid)) verdicts[i] = notYours(sid, tenant);
  });

  // Claim the sessions created here, so their next events (another request, before the worker has
  // stored the creation) are let through; a claim another tenant made first wins.
  for (const sid of createdHere) {
    if (mine(sid)) continue;
    if (await deps.store.claim(claimKey(deps.prefix, sid), tenant, CLAIM_TTL_S)) continue;
    if ((await deps.store.get([claimKey(deps.prefix, sid)]))[0] === tenant) continue;
    events.forEach((raw, i) => {
      const e = obj(raw);
      if (text(e?.sessionId) !== sid || verdicts[i] !== null) return;
      verdicts[i] = e?.type === 'session.created' ? taken(sid) : notYours(sid, tenant);
    });
  }
  return verdicts;
}
