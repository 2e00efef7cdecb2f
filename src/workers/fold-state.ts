/**
 * Folds turn results into each session's live state, inside the batch's transaction.
 *
 * Strictly in sequence order and never twice: a session's state is folded through `state_seq`, and
 * only turn results with `state_seq < seq <= applied_seq` are applied, where `applied_seq` is the
 * contiguous watermark (every event 1..applied_seq is stored). A turn result that arrives before a gap
 * is filled is stored at once but waits; the batch that fills the gap folds it. The sessions upsert
 * that runs before this holds the session rows locked until commit, so concurrent batches (or worker
 * replicas) fold a session one after the other, each seeing the other's committed state.
 */
import { apply as applyMergePatch } from 'json-merge-patch';
import type { TxQuery } from '../db/query.ts';
import {
  SELECT_SEQS_AFTER_SQL,
  SELECT_STATES_SQL,
  SELECT_TURNS_SQL,
  UPDATE_WATERMARKS_SQL,
  UPSERT_STATES_SQL,
} from '../db/sql/session-state.ts';
import type { SessionWatermark } from '../db/sql/upsert-sessions.ts';
import type { SnapshotJob } from '../snapshots/take.ts';
import type { ValidEvent } from '../contract/events.ts';

interface TurnRow {
  session_id: string;
  seq: string;
  turn: number;
  state: Record<string, unknown> | null;
  patch: Record<string, unknown> | null;
  state_hash: string | null;
}

export interface FoldResult {
  /** Turn results folded in this transaction. */
  applied: number;
  /** Sessions whose turn results still wait behind a sequence gap. */
  waiting: number;
  /** Snapshots this transaction made due (to enqueue in the same transaction). */
  snapshots: SnapshotJob[];
  /** States captured at the turns where a snapshot fell due, stored (hash pending) in this transaction. */
  captured: PendingSnapshotRow[];
}

export interface PendingSnapshotRow {
  session_id: string;
  seq: number;
  turn: number;
  /** The state right after that turn, as JSON text (later turns mutate the live object). */
  state: string;
}

export interface FoldOptions {
  /** Schedule a snapshot every this many turns (and at the first state); 0 turns it off. */
  snapshotEveryTurns: number;
  /** Fold past a gap open longer than this many seconds (its events taken as lost); 0 = never. */
  gapTimeoutS?: number;
}

/** The highest seq such that after+1 .. seq are all present in `seqs` (sorted; duplicates allowed). */
export function contiguousUpTo(after: number, seqs: number[]): number {
  let next = after + 1;
  for (const s of seqs) {
    if (s < next) continue;
    if (s !== next) break;
    next++;
  }
  return next - 1;
}

/** Applies one turn result to a state: a full state replaces it, a merge patch (RFC 7396) updates it. */
export function foldTurn(state: Record<string, unknown>, turn: { state: Record<string, unknown> | null; patch: Record<string, unknown> | null }): Record<string, unknown> {
  if (turn.state) return turn.state;
  const next = applyMergePatch(state, turn.patch);
  return next !== null && typeof next === 'object' && !Array.isArray(next) ? (next as Record<string, unknown>) : {};
}

/**
 * `batchTurns`: the turn results this transaction inserted, by session. When a session had no turn
 * result waiting before (the common case), the turns to fold are exactly those, so they are folded
 * from memory instead of being read back.
 */
export async function foldStates(q: TxQuery, marks: SessionWatermark[], opts: FoldOptions, batchTurns: Map<string, ValidEvent[]> = new Map()): Promise<FoldResult> {
  const result: FoldResult = { applied: 0, waiting: 0, snapshots: [], captured: [] };
  if (!marks.length) return result;
  const ranges: { session_id: string; after: number; upto: number }[] = [];
  const fromMemory: TurnRow[] = [];
  const watermarks: { id: string; applied_seq: number; state_seq: number; snapshot_turn: number | null; turns_waiting: boolean; lost: number }[] = [];
  for (const m of marks) {
    const stateSeq = Number(m.state_seq);
    let applied = Number(m.applied_seq);
    const lastTurn = Number(m.last_turn_seq);
    let lost = 0;
    if (applied < lastTurn && applied < Number(m.last_seq)) {
      // A gap is open and turn results wait beyond the watermark: find how far the history is
      // contiguous now (rare path: one indexed range scan per event table).
      const seqs = (await q<{ seq: string }>(SELECT_SEQS_AFTER_SQL, [m.id, applied])).map((r) => Number(r.seq));
      const timedOut = (opts.gapTimeoutS ?? 0) > 0 && m.gap_age_s !== null && m.gap_age_s > (opts.gapTimeoutS ?? 0);
      // A gap older than the timeout is given up on: everything stored is folded, in order.
      const upTo = timedOut ? Math.max(applied, ...seqs) : contiguousUpTo(applied, seqs);
      if (timedOut) lost = upTo - applied - new Set(seqs.filter((x) => x <= upTo)).size;
      if (upTo > applied) applied = upTo;
      if (applied < lastTurn) result.waiting++;
    }
    if (applied > stateSeq) {
      const mine = batchTurns.get(m.id);
      if (!m.turns_waiting && mine) {
        for (const e of mine)
          if ((e.seq ?? 0) > stateSeq && (e.seq ?? 0) <= applied)
            fromMemory.push({
              session_id: m.id,
              seq: String(e.seq),
              turn: e.data.turn as number,
              // A copy: later patches are merged into the state in place, and the event itself must
              // stay as sent (a retried transaction writes it again).
              state: e.data.state ? structuredClone(e.data.state as Record<string, unknown>) : null,
              patch: (e.data.patch as Record<string, unknown>) ?? null,
              state_hash: (e.data.stateHash as string) ?? null,
            });
      } else ranges.push({ session_id: m.id, after: stateSeq, upto: applied });
    }
    watermarks.push({ id: m.id, applied_seq: applied, state_seq: Math.max(stateSeq, applied), snapshot_turn: null, turns_waiting: applied < lastTurn, lost: Math.max(0, lost) });
  }
  fromMemory.sort((a, b) => (a.session_id < b.session_id ? -1 : a.session_id > b.session_id ? 1 : Number(a.seq) - Number(b.seq)));
  const turns = ranges.length ? [...fromMemory, ...(await q<TurnRow>(SELECT_TURNS_SQL, [JSON.stringify(ranges)]))] : fromMemory;
  if (!turns.length) {
    await q(UPDATE_WATERMARKS_SQL, [JSON.stringify(watermarks)]);
    return result;
  }

  const sessionsWithTurns = [...new Set(turns.map((t) => t.session_id))];
  const current = new Map<string, Record<string, unknown>>();
  if (sessionsWithTurns.length) {
    for (const r of await q<{ session_id: string; state: Record<string, unknown> }>(SELECT_STATES_SQL, [sessionsWithTurns])) current.set(r.session_id, r.state);
  }
  const states = new Map<string, { session_id: string; state: Record<string, unknown>; turn: number; seq: number }>();
  // Snapshot every N turns (and at the first state): the state is captured at exactly that turn.
  const snapTurn = new Map<string, number | null>(marks.map((m) => [m.id, m.snapshot_turn ?? null]));
  for (const t of turns) {
    const prev = states.get(t.session_id)?.state ?? current.get(t.session_id) ?? {};
    const state = foldTurn(prev, t);
    const seq = Number(t.seq);
    states.set(t.session_id, { session_id: t.session_id, state, turn: t.turn, seq });
    result.applied++;
    // A full state sent with the game server's own hash is the game server's snapshot: keep it as sent.
    if (t.state && t.state_hash) result.snapshots.push({ sessionId: t.session_id, reason: 'server', seq });
    const last = snapTurn.get(t.session_id) ?? null;
    if (opts.snapshotEveryTurns > 0 && (last === null || t.turn - last >= opts.snapshotEveryTurns)) {
      snapTurn.set(t.session_id, t.turn);
      result.captured.push({ session_id: t.session_id, seq, turn: t.turn, state: JSON.stringify(state) });
      result.snapshots.push({ sessionId: t.session_id, reason: 'turns', seq });
    }
  }
  if (states.size) await q(UPSERT_STATES_SQL, [JSON.stringify([...states.values()])]);
  // snapTurn started from each mark's snapshot_turn: a changed value is a snapshot scheduled here.
  const scheduledBefore = new Map(marks.map((m) => [m.id, m.snapshot_turn ?? null]));
  for (const w of watermarks) {
    const turn = snapTurn.get(w.id) ?? null;
    if (turn !== scheduledBefore.get(w.id)) w.snapshot_turn = turn;
  }
  await q(UPDATE_WATERMARKS_SQL, [JSON.stringify(watermarks)]);
  return result;
}
