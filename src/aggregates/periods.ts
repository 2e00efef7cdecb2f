/**
 * Leaderboard periods. A contribution counts in the day, week (ISO, from Monday) and month that contain
 * its event's time in the stats time zone; each period is a scope of `player_stats`. The SQL that
 * recomputes them (src/db/sql/aggregates.ts, PERIOD_SCOPES_SQL) must name the same scopes.
 */
export const PERIOD_KINDS = ['day', 'week', 'month'] as const;
export type PeriodKind = (typeof PERIOD_KINDS)[number];

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z$/;
const formatters = new Map<string, Intl.DateTimeFormat>();

/** The local calendar date (YYYY-MM-DD) of an RFC 3339 timestamp in a time zone. */
export function localDate(at: string, timeZone: string): string {
  if (timeZone === 'UTC' && ISO_UTC.test(at)) return at.slice(0, 10);
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    formatters.set(timeZone, f);
  }
  return f.format(new Date(at));
}

/** Monday of the ISO week holding a YYYY-MM-DD date. */
function weekStart(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
  return d.toISOString().slice(0, 10);
}

/** The period scopes an event at `at` counts in: day:YYYY-MM-DD, week:YYYY-MM-DD (Monday), month:YYYY-MM. */
export function periodScopes(at: string, timeZone: string, cache?: Map<string, string[]>): string[] {
  // Events of a batch share few distinct dates; the cache key is the minute (zone offsets are whole minutes).
  const key = at.length >= 16 && at.endsWith('Z') ? at.slice(0, 16) : at;
  const hit = cache?.get(key);
  if (hit) return hit;
  const date = localDate(at, timeZone);
  const scopes = [`day:${date}`, `week:${weekStart(date)}`, `month:${date.slice(0, 7)}`];
  cache?.set(key, scopes);
  return scopes;
}

/** The kind of a period scope, or null for all / game: scopes. */
export function periodKind(scope: string): PeriodKind | null {
  const k = scope.slice(0, scope.indexOf(':'));
  return (PERIOD_KINDS as readonly string[]).includes(k) ? (k as PeriodKind) : null;
}

/** The scope of the period of `kind` holding `at`. */
export function currentPeriodScope(kind: PeriodKind, timeZone: string, at: Date): string {
  return periodScopes(at.toISOString(), timeZone)[PERIOD_KINDS.indexOf(kind)] as string;
}
