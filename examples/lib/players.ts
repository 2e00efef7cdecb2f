/**
 * The players of a run: a small pool per game, so that the same players meet across the run's sessions
 * and their stats, leaderboards and ratings have something to add up. Ids start with the run's id, as
 * everything of a run does (examples/README.md), so runs sharing a database never mix their players.
 */
import type { Seat, SessionContext } from './session-game.ts';

/** `n` players of `pool` (display names) seated in the order the session's seed draws them. */
export function drawSeats(ctx: SessionContext, pool: readonly string[], n: number, team?: (position: number) => number): Seat[] {
  return ctx
    .rng('seats')
    .shuffle(pool)
    .slice(0, n)
    .map((name, position) => ({ player: `${ctx.run}-${name.toLowerCase()}`, name, position, ...(team ? { team: team(position) } : {}) }));
}

/** The players holding the highest score (several on a tie), in seat order (a recovered state's keys come back in another order). */
export function topScorers(scores: Record<string, number>, seats: readonly string[]): string[] {
  const best = Math.max(...seats.map((p) => scores[p]));
  return seats.filter((p) => scores[p] === best);
}
