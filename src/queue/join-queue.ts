/**
 * A tenant's join queue (the players waiting for a game in a chat or guild), as the `queue.entered` /
 * `queue.left` events left it: who waits, and "take the next N and mark them notified" for the game
 * server that starts a game (seed 000's `notify_queue`). Taking is a write, so it needs the primary.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import { transaction } from '../db/query.ts';
import { asReader, type ReadSource } from '../db/reader.ts';
import { TAKE_WAITING_SQL, WAITING_SQL } from '../db/sql/join-queue.ts';
import { systemClock, type Clock } from '../clock.ts';

export interface WaitingPlayer {
  playerId: string;
  sessionId: string | null;
  enteredAt: string;
  expiresAt: string | null;
  /** When a `takeWaiting` handed the player out (null: not yet). */
  notifiedAt: string | null;
  /** The entry's `meta`. */
  data: unknown;
}

const toWaiting = (r: Record<string, any>): WaitingPlayer => ({
  playerId: r.player_id,
  sessionId: r.session_id,
  enteredAt: r.entered_at,
  expiresAt: r.expires_at,
  notifiedAt: r.notified_at,
  data: r.data,
});

/** The players waiting in `tenant`'s queue now, longest-waiting first. */
export async function waitingPlayers(src: ReadSource, tenant: string, opts: { limit?: number; clock?: Clock } = {}): Promise<WaitingPlayer[]> {
  const rows = await asReader(src).read(WAITING_SQL, [tenant, (opts.clock ?? systemClock).now(), opts.limit ?? 100]);
  return rows.map(toWaiting);
}

/**
 * Marks the next `count` waiting players not notified yet as notified and returns them,
 * longest-waiting first. Concurrent calls never return the same player; a player who leaves and
 * enters again can be taken again.
 */
export async function takeWaiting(orm: MikroORM, tenant: string, count: number, clock: Clock = systemClock): Promise<WaitingPlayer[]> {
  const rows = await transaction(orm, (q) => q(TAKE_WAITING_SQL, [tenant, clock.now(), count]));
  return rows.map(toWaiting).sort((a, b) => (a.enteredAt < b.enteredAt ? -1 : a.enteredAt > b.enteredAt ? 1 : a.playerId < b.playerId ? -1 : 1));
}
