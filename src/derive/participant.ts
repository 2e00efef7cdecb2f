/**
 * A participant row as a function of the player's events in the session, in position order
 * (docs/contract.md, "Participants"): each field remembers the position of the event that set it, so
 * merging events in any order — a batch into the stored row, or a late event — keeps the value of the
 * latest (or, for the first join, the earliest) event.
 */
import type { ValidEvent } from '../contract/events.ts';
import type { Outcome } from './outcome.ts';
import { isBefore, posOf, type Pos } from './position.ts';

export interface ParticipantInfo {
  role: string | null;
  team: string | null;
  position: number | null;
  name: string | null;
  joinedAt: string | null;
  lastJoinedAt: string | null;
  leftAt: string | null;
  outcome: Outcome | null;
  xp: number | null;
  score: number | null;
  outcomeAt: string | null;
  /** Positions of the events behind the values: role, team, position, name, join (first), joinLast, left, outcome. */
  pos: Record<string, Pos>;
}

export const emptyParticipant = (): ParticipantInfo => ({
  role: null, team: null, position: null, name: null, joinedAt: null, lastJoinedAt: null, leftAt: null, outcome: null, xp: null, score: null, outcomeAt: null, pos: {},
});

/** The fields a participant event may carry, each kept from the latest event that carries it. */
const INFO = ['role', 'team', 'position', 'name'] as const;

/** Whether position p is later than the stored one (a missing one is before everything). */
const later = (p: Pos, stored: Pos | undefined) => stored === undefined || isBefore(stored, p);

/** Applies participant events (player.joined/left/outcome) to `info`, in place; any order gives one result. */
export function applyParticipantEvents(info: ParticipantInfo, events: ValidEvent[]): ParticipantInfo {
  for (const e of events) {
    if (e.family !== 'participant') continue;
    const p = posOf(e);
    const d = e.data;
    for (const k of INFO) {
      const v = d[k];
      if (v === undefined || !later(p, info.pos[k])) continue;
      info.pos[k] = p;
      if (k === 'position') info.position = v as number;
      else info[k] = String(v);
    }
    if (e.type === 'player.joined') {
      if (isBefore(p, info.pos.join)) {
        info.pos.join = p;
        info.joinedAt = e.at;
      }
      if (later(p, info.pos.joinLast)) {
        info.pos.joinLast = p;
        info.lastJoinedAt = e.at;
      }
    } else if (e.type === 'player.left') {
      if (later(p, info.pos.left)) {
        info.pos.left = p;
        info.leftAt = e.at;
      }
    } else if (e.type === 'player.outcome' && later(p, info.pos.outcome)) {
      info.pos.outcome = p;
      info.outcome = d.outcome as Outcome;
      info.xp = (d.xp as number | undefined) ?? null;
      info.score = (d.score as number | undefined) ?? null;
      info.outcomeAt = e.at;
    }
  }
  return info;
}

/** In the session: joined, and not left after the latest join. */
export function isPresent(info: ParticipantInfo): boolean {
  const { join, joinLast, left } = info.pos;
  return join !== undefined && (left === undefined || (joinLast !== undefined && isBefore(left, joinLast)));
}
