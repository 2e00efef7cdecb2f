/**
 * A session row as a function of its events in position order (docs/contract.md, "The session"). Each
 * group of fields comes from one event chosen by position — the first `session.created`, the first
 * `session.started`, the latest event carrying `settings`, the first end — so merging a batch into the
 * stored row keeps whichever event is positioned first (or latest), and any split of the events into
 * batches, in any commit order, gives the same row.
 */
import type { ValidEvent } from '../contract/events.ts';
import { isBefore, posOf, type Pos } from './position.ts';

export type EndType = 'finished' | 'abandoned';
export type SessionStatus = 'created' | 'started' | EndType;

export interface CreatedFields {
  pos: Pos;
  tenant: string | null;
  /** `confined: true` (with a tenant): the session counts in its tenant's scopes only (src/derive/scopes.ts). */
  confined: boolean;
  gameType: string | null;
  name: string | null;
  createdBy: string | null;
  at: string;
}
export interface EndFields {
  pos: Pos;
  type: EndType;
  at: string;
  winners: string[] | null;
  scores: Record<string, number> | null;
  result: string | null;
  reason: string | null;
}

/** What one batch says about a session: the candidates of each group, and its counters. */
export interface SessionDelta {
  id: string;
  created: CreatedFields | null;
  started: { pos: Pos; at: string } | null;
  settings: { pos: Pos; value: Record<string, unknown> } | null;
  end: EndFields | null;
  /** Session events (queue.* excluded). */
  n: number;
  firstAt: string;
  lastAt: string;
  lastSeq: number;
  lastTurnSeq: number;
  /** Highest seq of the batch's doc.put / doc.delete events (0: none). */
  lastDocSeq: number;
}

/** The stored positions and the little else a merge needs (read with the row lock held). */
export interface StoredGroups {
  created: Pos | null;
  started: Pos | null;
  settings: Pos | null;
  end: Pos | null;
  endType: EndType | null;
  gameType: string | null;
  /** The tenant of a confined session (its statistics count there); null: the global scopes. */
  statTenant: string | null;
  /** Marked abandoned by the idle clean-up (not by an event). */
  idle: boolean;
}

export interface SessionMerge {
  /** Groups whose stored values this batch replaces (null: keep). */
  created: CreatedFields | null;
  started: { pos: Pos; at: string } | null;
  settings: { pos: Pos; value: Record<string, unknown>; idleTimeoutS: number | null } | null;
  /** The new end; also set (with `end: null` values) when an idle session comes back to life. */
  end: EndFields | null;
  revived: boolean;
  /** The groups after the merge. */
  groups: StoredGroups;
  status: SessionStatus;
}

const str = (v: unknown): string | null => (v === undefined || v === null ? null : String(v));
/**
 * Orders two RFC 3339 timestamps exactly, to the nanosecond they may carry. UTC timestamps of one format
 * (same length, same date-time separator, Z) compare as strings (hot path: no Date.parse); anything else
 * is parsed to milliseconds, ties broken by the digits below the millisecond (PostgreSQL keeps
 * microseconds, so least/greatest in SQL and here must agree).
 */
export function cmpAt(a: string, b: string): number {
  if (a.length === b.length && a.charCodeAt(10) === b.charCodeAt(10) && a.endsWith('Z') && b.endsWith('Z')) return a < b ? -1 : a > b ? 1 : 0;
  return Date.parse(a) - Date.parse(b) || subMillisecond(a) - subMillisecond(b);
}

/** The fraction digits of a timestamp below the millisecond, as nanoseconds (0-999999). */
function subMillisecond(at: string): number {
  const dot = at.indexOf('.', 19);
  if (dot < 0) return 0;
  let end = dot + 1;
  while (end < at.length && at.charCodeAt(end) >= 48 && at.charCodeAt(end) <= 57) end++;
  return Number(at.slice(dot + 4, end).padEnd(6, '0').slice(0, 6) || 0);
}
export const minAt = (a: string | null, b: string) => (a === null || cmpAt(b, a) < 0 ? b : a);
export const maxAt = (a: string | null, b: string) => (a === null || cmpAt(b, a) > 0 ? b : a);

/** The batch's view of each session (events of the `session` family decide groups; all but queue.* count). */
export function sessionDeltas(events: ValidEvent[]): Map<string, SessionDelta> {
  const out = new Map<string, SessionDelta>();
  for (const e of events) {
    if (e.sessionId === null || e.family === 'queue') continue;
    let d = out.get(e.sessionId);
    if (!d) {
      d = { id: e.sessionId, created: null, started: null, settings: null, end: null, n: 0, firstAt: e.at, lastAt: e.at, lastSeq: 0, lastTurnSeq: 0, lastDocSeq: 0 };
      out.set(e.sessionId, d);
    }
    const seq = e.seq ?? 0;
    d.n++;
    d.firstAt = minAt(d.firstAt, e.at);
    d.lastAt = maxAt(d.lastAt, e.at);
    if (seq > d.lastSeq) d.lastSeq = seq;
    if (e.family === 'turn' && seq > d.lastTurnSeq) d.lastTurnSeq = seq;
    if (e.family === 'doc' && seq > d.lastDocSeq) d.lastDocSeq = seq;
    if (e.family !== 'session') continue;
    const p = posOf(e);
    const data = e.data;
    if ((e.type === 'session.created' || e.type === 'session.started') && data.settings !== undefined && (d.settings === null || isBefore(d.settings.pos, p)))
      d.settings = { pos: p, value: data.settings as Record<string, unknown> };
    switch (e.type) {
      case 'session.created':
        if (isBefore(p, d.created?.pos))
          d.created = {
            pos: p, tenant: str(data.tenant), confined: data.confined === true, gameType: str(data.gameType), name: str(data.name),
            createdBy: str(data.createdBy), at: e.at,
          };
        break;
      case 'session.started':
        if (isBefore(p, d.started?.pos)) d.started = { pos: p, at: e.at };
        break;
      case 'session.finished':
      case 'session.abandoned':
        if (isBefore(p, d.end?.pos)) d.end = endFields(e);
        break;
    }
  }
  return out;
}

function endFields(e: ValidEvent): EndFields {
  const d = e.data;
  const finished = e.type === 'session.finished';
  return {
    pos: posOf(e),
    type: finished ? 'finished' : 'abandoned',
    at: e.at,
    winners: finished && d.winners ? (d.winners as unknown[]).map(String) : null,
    scores: finished ? ((d.scores as Record<string, number> | undefined) ?? null) : null,
    result: finished ? str(d.result) : null,
    reason: finished ? null : str(d.reason),
  };
}

/** settings.idleTimeoutS: a whole number of seconds (0 = never idle); anything else means "not set". */
export function idleTimeoutOf(settings: Record<string, unknown>): number | null {
  const v = settings.idleTimeoutS;
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= 2_147_483_647 ? v : null;
}

/** Merges a batch's delta (events really inserted, so it is never empty) into the stored groups. */
export function mergeSession(old: StoredGroups, d: SessionDelta): SessionMerge {
  const created = d.created && isBefore(d.created.pos, old.created) ? d.created : null;
  const started = d.started && isBefore(d.started.pos, old.started) ? d.started : null;
  const settings =
    d.settings && (old.settings === null || isBefore(old.settings, d.settings.pos)) ? { ...d.settings, idleTimeoutS: idleTimeoutOf(d.settings.value) } : null;
  const end = d.end && isBefore(d.end.pos, old.end) ? d.end : null;
  const groups: StoredGroups = {
    created: created?.pos ?? old.created,
    started: started?.pos ?? old.started,
    settings: settings?.pos ?? old.settings,
    end: end?.pos ?? old.end,
    endType: end?.type ?? old.endType,
    gameType: created ? created.gameType : old.gameType,
    statTenant: created ? statTenantOf(created) : old.statTenant,
    // Any new event brings an idle session back: its status follows its events again.
    idle: false,
  };
  return { created, started, settings, end, revived: old.idle, groups, status: statusOf(groups) };
}

/** The tenant a session's statistics count in: its tenant when confined, else none (the global scopes). */
export const statTenantOf = (c: Pick<CreatedFields, 'tenant' | 'confined'>): string | null => (c.confined ? c.tenant : null);

export function statusOf(g: StoredGroups): SessionStatus {
  if (g.end !== null && g.endType !== null) return g.endType;
  if (g.idle) return 'abandoned';
  return g.started !== null ? 'started' : 'created';
}
