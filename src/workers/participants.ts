/**
 * The participants step of a transaction (after the sessions step, under the same row locks): merge the
 * participant events really inserted into each player's row by position, add task and vote counters, then
 * bring each affected participant's effective outcome (what statistics and ratings count) in line with
 * its own outcome and the session's end. Returns the effective outcomes and counted scores that changed
 * (the aggregates step turns them into exact deltas) and the rated sessions whose rating input they changed.
 */
import type { ValidEvent } from '../contract/events.ts';
import { effectiveOutcome, type Outcome, type SessionEnd } from '../derive/outcome.ts';
import { applyParticipantEvents, emptyParticipant, isPresent, type ParticipantInfo } from '../derive/participant.ts';
import { cmpAt, maxAt } from '../derive/session.ts';
import type { TxQuery } from '../db/query.ts';
import {
  SELECT_OUTCOME_INPUTS_SQL,
  SELECT_PARTICIPANTS_SQL,
  UPDATE_EFFECTIVE_SQL,
  UPSERT_PARTICIPANTS_SQL,
  type ParticipantRow,
} from '../db/sql/participants.ts';
import { RATED_INPUTS_SQL, type RatedInputRow } from '../db/sql/ratings.ts';
import type { EffectiveChange, ScoreChange } from '../aggregates/deltas.ts';
import { ratingInput } from '../aggregates/ratings.ts';
import { CONTRIBUTING, sortedValues } from './derived-rows.ts';

export interface ParticipantsResult {
  outcomes: EffectiveChange[];
  /** Participants whose counted score (their latest player.outcome's, best_score's input) or its time changed. */
  scores: ScoreChange[];
  /**
   * Rated sessions whose input was checked here, and whether it is stale: no longer what they were
   * rated with (a later event can also bring it back, which clears it).
   */
  stale: { id: string; stale: boolean }[];
}

/** `recheck`: sessions whose outcomes may have changed for another reason (their end changed, or their game type, when rated). */
export async function writeParticipants(q: TxQuery, inserted: ValidEvent[], recheck: Set<string>, rated: Set<string>): Promise<ParticipantsResult> {
  const pairs = new Map<string, { session: string; player: string; events: ValidEvent[]; row: ParticipantRow }>();
  const affected = new Set(recheck);
  const scores: ScoreChange[] = [];
  for (const e of inserted) {
    if (!CONTRIBUTING.has(e.family) || e.sessionId === null || e.player === null) continue;
    const key = `${e.sessionId}\u0001${e.player}`;
    let p = pairs.get(key);
    if (!p) {
      p = {
        session: e.sessionId,
        player: e.player,
        events: [],
        row: {
          session_id: e.sessionId, player_id: e.player, pos: null, role: null, team: null, position: null, name: null, joined_at: null,
          last_joined_at: null, left_at: null, present: false, outcome: null, xp: null, score: null, outcome_at: null, tasks: 0,
          fake_tasks: 0, task_xp: 0, votes: 0, last_at: null,
        },
      };
      pairs.set(key, p);
    }
    const r = p.row;
    r.last_at = maxAt(r.last_at, e.at);
    if (e.family === 'task') {
      if (e.data.fake === true) r.fake_tasks++;
      else r.tasks++;
      r.task_xp += (e.data.xp as number | undefined) ?? 0;
    } else if (e.family === 'vote') r.votes++;
    else {
      p.events.push(e);
      affected.add(e.sessionId);
    }
  }
  const withInfo = [...pairs.values()].filter((p) => p.events.length);
  if (withInfo.length) {
    const stored = new Map<string, ParticipantInfo>();
    const keys = withInfo.map((p) => ({ session_id: p.session, player_id: p.player }));
    for (const r of await q<Record<string, any>>(SELECT_PARTICIPANTS_SQL, [JSON.stringify(keys)]))
      stored.set(`${r.session_id}\u0001${r.player_id}`, {
        role: r.role, team: r.team, position: r.position, name: r.name, joinedAt: r.joined_at, lastJoinedAt: r.last_joined_at,
        leftAt: r.left_at, outcome: r.outcome, xp: r.xp, score: r.score, outcomeAt: r.outcome_at, pos: r.pos ?? {},
      });
    for (const p of withInfo) {
      const known = stored.get(`${p.session}\u0001${p.player}`) ?? emptyParticipant();
      // Read before applying: applyParticipantEvents changes the info in place.
      const was = countedScore(known);
      const info = applyParticipantEvents(known, p.events);
      const change = scoreChange(p.session, p.player, was, countedScore(info));
      if (change) scores.push(change);
      Object.assign(p.row, {
        pos: info.pos, role: info.role, team: info.team, position: info.position, name: info.name, joined_at: info.joinedAt,
        last_joined_at: info.lastJoinedAt, left_at: info.leftAt, present: isPresent(info), outcome: info.outcome, xp: info.xp,
        score: info.score, outcome_at: info.outcomeAt,
      });
    }
  }
  if (pairs.size) await q(UPSERT_PARTICIPANTS_SQL, [JSON.stringify(sortedValues(new Map([...pairs].map(([k, p]) => [k, p.row]))))]);
  if (!affected.size) return { outcomes: [], scores, stale: [] };

  // Effective outcomes of every participant of the affected sessions (a late end changes all of them).
  const rows = await q<Record<string, any>>(SELECT_OUTCOME_INPUTS_SQL, [[...affected].sort()]);
  const outcomes: EffectiveChange[] = [];
  const current = new Map<string, { player_id: string; team: string | null; outcome: Outcome | null }[]>();
  for (const r of rows) {
    const end: SessionEnd | null = r.end_type ? { type: r.end_type, winners: r.winners, scores: r.final_scores, at: r.ended_at } : null;
    const eff = effectiveOutcome(
      { playerId: r.player_id, team: r.team, outcome: r.outcome, xp: r.xp, outcomeAt: r.outcome_at, joined: r.joined },
      end,
    );
    const oldAt: string | null = r.eff_at;
    const sameAt = eff === null || oldAt === null ? eff === null && oldAt === null : cmpAt(eff.at, oldAt) === 0;
    if ((eff?.outcome ?? null) !== r.eff_outcome || (eff?.xp ?? null) !== r.eff_xp || !sameAt)
      outcomes.push({
        session_id: r.session_id, player_id: r.player_id, old_outcome: r.eff_outcome, old_xp: r.eff_xp, old_at: oldAt,
        outcome: eff?.outcome ?? null, xp: eff?.xp ?? null, at: eff?.at ?? null,
      });
    if (r.rated) {
      const list = current.get(r.session_id) ?? [];
      list.push({ player_id: r.player_id, team: r.team, outcome: eff?.outcome ?? null });
      current.set(r.session_id, list);
    }
  }
  if (outcomes.length)
    await q(UPDATE_EFFECTIVE_SQL, [JSON.stringify(outcomes.map((c) => ({ session_id: c.session_id, player_id: c.player_id, eff_outcome: c.outcome, eff_xp: c.xp, eff_at: c.at })))]);

  // A rated session whose input changed (an outcome after it was rated, a late end, game type or confinement): its rating is stale.
  const stale: { id: string; stale: boolean }[] = [];
  const ratedHere = [...affected].filter((id) => rated.has(id));
  if (ratedHere.length)
    for (const r of await q<RatedInputRow>(RATED_INPUTS_SQL, [ratedHere])) {
      const now = ratingInput(current.get(r.session_id) ?? []);
      const was = r.teams === null ? null : JSON.stringify({ teams: r.teams, ranks: r.ranks });
      stale.push({ id: r.session_id, stale: (typeof now === 'string' ? null : JSON.stringify(now)) !== was || r.game_type !== r.current_type || r.tenant !== r.current_tenant });
    }
  return { outcomes, scores, stale };
}

/** What best_score counts of a participant: the score of its latest player.outcome, at that outcome's time. */
function countedScore(p: ParticipantInfo): { score: number; at: string } | null {
  return p.outcome !== null && p.score !== null && p.outcomeAt !== null ? { score: Number(p.score), at: p.outcomeAt } : null;
}

/**
 * The participant's counted score before and after its new events, when it changed (a later outcome in
 * seq order replaces it, with or without a score, at its own time). Null when neither side has a score
 * or nothing changed.
 */
function scoreChange(session: string, player: string, a: { score: number; at: string } | null, b: { score: number; at: string } | null): ScoreChange | null {
  if (a === null && b === null) return null;
  if (a !== null && b !== null && a.score === b.score && cmpAt(a.at, b.at) === 0) return null;
  return { session_id: session, player_id: player, old_score: a?.score ?? null, old_at: a?.at ?? null, score: b?.score ?? null, at: b?.at ?? null };
}
