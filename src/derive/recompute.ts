/**
 * The session and participant rows recomputed from scratch from a session's stored events, in position
 * order, with the same rules the workers apply incrementally. `verify` compares them with what the
 * workers wrote (any difference is drift: an incremental step went wrong); `rebuild` writes them.
 */
import type { ValidEvent } from '../contract/events.ts';
import { effectiveOutcome, type Effective, type SessionEnd } from './outcome.ts';
import { applyParticipantEvents, emptyParticipant, isPresent, type ParticipantInfo } from './participant.ts';
import { cmpPos, posOf } from './position.ts';
import { mergeSession, sessionDeltas, type SessionMerge } from './session.ts';

export interface RecomputedSession {
  id: string;
  merge: SessionMerge;
  participants: Map<string, ParticipantInfo & { present: boolean; effective: Effective | null }>;
}

/**
 * `events`: every session-family and participant-family event of the session (other families do not
 * decide any of these fields); `idle`: whether the clean-up marked it idle (not an event).
 */
export function recomputeSession(id: string, events: ValidEvent[], idle: boolean): RecomputedSession | null {
  const sorted = [...events].sort((a, b) => cmpPos(posOf(a), posOf(b)));
  const delta = sessionDeltas(sorted).get(id);
  if (!delta) return null;
  const merge = mergeSession({ created: null, started: null, settings: null, end: null, endType: null, gameType: null, statTenant: null, idle: false }, delta);
  if (idle && merge.groups.end === null) merge.status = 'abandoned';
  const end: SessionEnd | null = merge.end ? { type: merge.end.type, winners: merge.end.winners, scores: merge.end.scores, at: merge.end.at } : null;
  const byPlayer = new Map<string, ValidEvent[]>();
  for (const e of sorted) {
    if (e.family !== 'participant' || e.player === null) continue;
    const list = byPlayer.get(e.player);
    if (list) list.push(e);
    else byPlayer.set(e.player, [e]);
  }
  const participants: RecomputedSession['participants'] = new Map();
  for (const [player, list] of byPlayer) {
    const info = applyParticipantEvents(emptyParticipant(), list);
    const effective = effectiveOutcome(
      { playerId: player, team: info.team, outcome: info.outcome, xp: info.xp, outcomeAt: info.outcomeAt, joined: info.pos.join !== undefined },
      end,
    );
    participants.set(player, { ...info, present: isPresent(info), effective });
  }
  return { id, merge, participants };
}
