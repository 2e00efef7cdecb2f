/**
 * Reduces the events a batch really inserted into rows of the tables that follow time rather than a
 * session's sequence (players across sessions, a tenant's join queue). Each reducer emits one row per
 * key, sorted by key so that concurrent workers lock rows in the same order (no deadlocks between replicas).
 */
import type { ValidEvent } from '../contract/events.ts';
import { PLAYER_STAT_FAMILIES } from '../db/families.ts';
import { cmpAt, maxAt, minAt } from '../derive/session.ts';
import type { JoinQueueRow } from '../db/sql/upsert-join-queue.ts';
import type { PlayerRow } from '../db/sql/participants.ts';

const str = (v: unknown): string | null => (v === undefined || v === null ? null : String(v));

export function sortedValues<T>(m: Map<string, T>): T[] {
  return [...m.keys()].sort().map((k) => m.get(k) as T);
}

/** Events that add to a player's share of a session: participant events, tasks, votes (the registry's `playerStats`). */
export const CONTRIBUTING = PLAYER_STAT_FAMILIES;

/** Players seen in participant events: first and last seen, and the name of the latest event (by time) that carries one. */
export function playerRows(inserted: ValidEvent[]): PlayerRow[] {
  const players = new Map<string, PlayerRow>();
  for (const e of inserted) {
    if (e.family !== 'participant' || e.player === null) continue;
    const name = str(e.data.name);
    const pl = players.get(e.player);
    if (!pl) players.set(e.player, { id: e.player, name, name_at: name === null ? null : e.at, first_at: e.at, last_at: e.at });
    else {
      if (name !== null && (pl.name_at === null || cmpAt(e.at, pl.name_at) > 0)) {
        pl.name = name;
        pl.name_at = e.at;
      }
      pl.first_at = minAt(pl.first_at, e.at);
      pl.last_at = maxAt(pl.last_at, e.at);
    }
  }
  return sortedValues(players);
}

export function joinQueueRows(inserted: ValidEvent[]): JoinQueueRow[] {
  const rows = new Map<string, JoinQueueRow>();
  for (const e of inserted) {
    if (e.family !== 'queue' || e.player === null) continue;
    const tenant = String(e.data.tenant);
    const key = `${tenant}\u0001${e.player}`;
    let r = rows.get(key);
    if (!r) {
      r = { tenant, player_id: e.player, session_id: null, entered_at: null, left_at: null, expires_at: null, data: null };
      rows.set(key, r);
    }
    if (e.type === 'queue.entered') {
      if (r.entered_at === null || cmpAt(e.at, r.entered_at) > 0) {
        r.entered_at = e.at;
        r.session_id = e.sessionId;
        r.expires_at = str(e.data.expiresAt);
        r.data = e.data.meta ?? null;
      }
    } else r.left_at = maxAt(r.left_at, e.at);
  }
  return sortedValues(rows);
}
