/**
 * The scopes of player_stats a contribution counts in. A session's contributions count in the global
 * scopes (`all`, `game:<type>`, the periods) unless the session is **confined** (its first
 * session.created says `confined: true`; docs/http.md, "Tenants"): then they count in its tenant's
 * copies of those scopes instead, and in no global one.
 *
 * A tenant's scopes are the global names behind `tenant:<tenant>`: `tenant:guild-42` (all-time),
 * `tenant:guild-42/game:hokm`, `tenant:guild-42/day:2026-11-21`, `…/week:…`, `…/month:…`. In the tenant
 * part `%` is written `%25` and `/` is written `%2F`, so the first `/` always ends it and no tenant's
 * name can make one of another tenant's scopes (or a global one). The SQL that recomputes scopes
 * (src/db/sql/aggregates.ts) builds the same strings with tenantScopeSql.
 */

/** What decides a session's scopes: its game type and, when it is confined, its tenant. */
export interface StatKey {
  gameType: string | null;
  /** The tenant of a confined session; null: the session counts in the global scopes. */
  tenant: string | null;
}

export const GLOBAL_KEY: StatKey = { gameType: null, tenant: null };

/** The tenant part of its scopes: `%` and `/` escaped, so the part ends at the first `/`. */
export const escapeTenant = (tenant: string) => tenant.replaceAll('%', '%25').replaceAll('/', '%2F');

/** A global scope (`all`, `game:…`, a period) as the tenant's own (null tenant: the scope itself). */
export function tenantScope(tenant: string | null, scope: string): string {
  if (tenant === null) return scope;
  const t = `tenant:${escapeTenant(tenant)}`;
  return scope === 'all' ? t : `${t}/${scope}`;
}

/** The same as SQL: `tenant` and `scope` are SQL text expressions (a null tenant keeps the scope; a null scope stays null). */
export function tenantScopeSql(tenant: string, scope: string): string {
  const t = `'tenant:' || replace(replace(${tenant}, '%', '%25'), '/', '%2F')`;
  return `(CASE WHEN ${tenant} IS NULL THEN ${scope} WHEN ${scope} = 'all' THEN ${t} ELSE ${t} || '/' || ${scope} END)`;
}

/** The tenant a session's statistics count in, as SQL over a `sessions` row alias: its tenant when confined, else null. */
export const statTenantSql = (s: string) => `(CASE WHEN ${s}.confined THEN ${s}.tenant END)`;

/** The global scope a scope stands for (itself, or what follows a tenant's `/`; `all` for a tenant's all-time scope). */
export function baseScope(scope: string): string {
  if (!scope.startsWith('tenant:')) return scope;
  const slash = scope.indexOf('/');
  return slash < 0 ? 'all' : scope.slice(slash + 1);
}

/** day:, week: and month: scopes, a tenant's included. */
export function isPeriodScope(scope: string): boolean {
  const base = baseScope(scope);
  return base.startsWith('day:') || base.startsWith('week:') || base.startsWith('month:');
}

/** Two keys name the same scopes. */
export const sameKey = (a: StatKey, b: StatKey) => a.gameType === b.gameType && a.tenant === b.tenant;
