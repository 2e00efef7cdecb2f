/**
 * The result a participant's statistics and rating count (docs/contract.md, "Participants"): their own
 * latest `player.outcome` when they have one; otherwise, when the session's end is a `session.finished`
 * and they joined it, an outcome derived from the finish — from `winners` (player ids or teams) when
 * given, else from `scores` (by player id, else by team): the keys holding the highest score win (draw
 * when several hold it), the rest lose. Seeds 001 and 002 only send the finish.
 */
export type Outcome = 'win' | 'loss' | 'draw';

export interface SessionEnd {
  type: 'finished' | 'abandoned';
  winners: unknown[] | null;
  scores: Record<string, number> | null;
  /** The end event's time: the period a derived outcome counts in. */
  at: string;
}

export interface OutcomeInput {
  playerId: string;
  team: string | null;
  /** The latest player.outcome, if any. */
  outcome: Outcome | null;
  xp: number | null;
  outcomeAt: string | null;
  /** Has a player.joined in the session. */
  joined: boolean;
}

export interface Effective {
  outcome: Outcome;
  xp: number;
  at: string;
}

export function effectiveOutcome(p: OutcomeInput, end: SessionEnd | null): Effective | null {
  if (p.outcome !== null) return { outcome: p.outcome, xp: p.xp ?? 0, at: p.outcomeAt as string };
  if (!end || end.type !== 'finished' || !p.joined) return null;
  const derived = derivedOutcome(p.playerId, p.team, end);
  return derived === null ? null : { outcome: derived, xp: 0, at: end.at };
}

function derivedOutcome(player: string, team: string | null, end: SessionEnd): Outcome | null {
  if (end.winners && end.winners.length) {
    const w = new Set(end.winners.map(String));
    return w.has(player) || (team !== null && w.has(team)) ? 'win' : 'loss';
  }
  const scores = end.scores;
  if (!scores) return null;
  const keys = Object.keys(scores);
  if (!keys.length) return null;
  const key = Object.hasOwn(scores, player) ? player : team !== null && Object.hasOwn(scores, team) ? team : null;
  if (key === null) return null;
  let best = -Infinity;
  for (const k of keys) best = Math.max(best, scores[k] as number);
  if (scores[key] !== best) return 'loss';
  return keys.filter((k) => scores[k] === best).length > 1 ? 'draw' : 'win';
}
