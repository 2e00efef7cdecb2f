/**
 * Sessions whose key (game type; tenant when confined: src/derive/scopes.ts) changed in a transaction,
 * because an earlier-positioned session.created arrived late: each takes its whole contribution along
 * (src/db/sql/stat-moves.ts). A new game type moves the game scope only (the others stay); a new
 * confinement or tenant moves every scope, and the session's players' global rows are recomputed, since
 * a confined session names no global player. The rest of the transaction's deltas leave such a session
 * out (keys(): null), so nothing counts twice.
 */
import type { ValidEvent } from '../contract/events.ts';
import type { TxQuery } from '../db/query.ts';
import type { StatDelta } from '../db/sql/aggregates.ts';
import { LOCK_PLAYERS_SQL, RECOMPUTE_PLAYERS_SQL, SESSION_PLAYERS_SQL } from '../db/sql/participants.ts';
import { GAME_CONTRIBUTIONS_SQL, SESSION_CONTRIBUTIONS_SQL } from '../db/sql/stat-moves.ts';
import { tenantScope, type StatKey } from '../derive/scopes.ts';
import type { SessionChange } from '../sessions/advance.ts';

export class KeyMoves {
  /** Sessions whose game type changed, in the same tenant's scopes (or the global ones). */
  readonly #retyped: SessionChange[];
  /** Sessions whose confinement or tenant changed. */
  readonly #rekeyed: SessionChange[];
  readonly #rekeyedIds: Set<string>;
  readonly #changes: Map<string, SessionChange>;

  constructor(changes: Map<string, SessionChange>) {
    this.#changes = changes;
    const moved = [...changes.values()].filter((c) => c.rekeyedFrom !== undefined);
    this.#retyped = moved.filter((c) => c.rekeyedFrom!.tenant === c.key.tenant);
    this.#rekeyed = moved.filter((c) => c.rekeyedFrom!.tenant !== c.key.tenant);
    this.#rekeyedIds = new Set(this.#rekeyed.map((c) => c.id));
  }

  /** The contributions to take from the old scopes: read before the participants take `inserted` (left out here). */
  async before(q: TxQuery, timeZone: string, inserted: ValidEvent[]): Promise<StatDelta[]> {
    const leaveOut = inserted.filter((e) => e.sessionId !== null && this.#rekeyedIds.has(e.sessionId)).map((e) => e.id);
    return [
      ...(await gameContributions(q, this.#retyped.map((c) => [c.id, c.rekeyedFrom!]))),
      ...(await sessionContributions(q, this.#rekeyed.map((c) => [c.id, c.rekeyedFrom!]), timeZone, leaveOut)),
    ];
  }

  /** The contributions to give to the new scopes: read after the participants are written. */
  async after(q: TxQuery, timeZone: string): Promise<StatDelta[]> {
    return [
      ...(await gameContributions(q, this.#retyped.map((c) => [c.id, c.key]))),
      ...(await sessionContributions(q, this.#rekeyed.map((c) => [c.id, c.key]), timeZone, [])),
    ];
  }

  /**
   * Each session's key for the transaction's own deltas: as it is, without its game type when that just
   * changed (before() and after() move the game scope), null when every scope moves (after() counts all).
   */
  keys(): Map<string, StatKey | null> {
    return new Map(
      [...this.#changes.values()].map((c) => [c.id, this.#rekeyedIds.has(c.id) ? null : c.rekeyedFrom !== undefined ? { gameType: null, tenant: c.key.tenant } : c.key]),
    );
  }

  /** Whether an event's session names global players now: not confined, and its confinement did not just change (players() recomputes those). */
  namesGlobalPlayers(e: ValidEvent): boolean {
    return e.sessionId !== null && !this.#rekeyedIds.has(e.sessionId) && (this.#changes.get(e.sessionId)?.key.tenant ?? null) === null;
  }

  /** The global rows of the players of sessions whose confinement changed, recomputed from the sessions that are not confined. */
  async players(q: TxQuery): Promise<void> {
    if (!this.#rekeyed.length) return;
    const ids = (await q<{ player_id: string }>(SESSION_PLAYERS_SQL, [[...this.#rekeyedIds].sort()])).map((r) => r.player_id);
    if (!ids.length) return;
    await q(LOCK_PLAYERS_SQL, [ids]);
    await q(RECOMPUTE_PLAYERS_SQL, [ids]);
  }
}

/** Each session's contribution to its game scope under `key` (none without a game type). */
async function gameContributions(q: TxQuery, sessions: [string, StatKey][]): Promise<StatDelta[]> {
  const typed = sessions.filter(([, k]) => k.gameType !== null).map(([session_id, k]) => ({ session_id, scope: tenantScope(k.tenant, `game:${k.gameType}`) }));
  return typed.length ? q<StatDelta>(GAME_CONTRIBUTIONS_SQL, [JSON.stringify(typed)]) : [];
}

/** Each session's whole contribution under `key`, every scope; `leaveOut`: ids of events not to count (this transaction's). */
async function sessionContributions(q: TxQuery, sessions: [string, StatKey][], timeZone: string, leaveOut: string[]): Promise<StatDelta[]> {
  if (!sessions.length) return [];
  const x = sessions.map(([session_id, k]) => ({ session_id, tenant: k.tenant, game_type: k.gameType }));
  return q<StatDelta>(SESSION_CONTRIBUTIONS_SQL, [JSON.stringify(x), timeZone, leaveOut]);
}
