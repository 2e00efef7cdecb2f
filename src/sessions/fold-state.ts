/**
 * Folds turn results into each session's live state, inside the transaction that holds the session's
 * row lock (docs/contract.md, "Live state and snapshots").
 *
 * The state is the fold, in position order, of the turn results positioned before the session's end
 * with seq <= applied_seq (the contiguous watermark): a turn result that arrives before a gap is filled
 * is stored at once and waits; the transaction that fills the gap folds it. `state_seq` is the seq the
 * fold has reached. A turn result that arrives below it (a seq given up as lost that came after all,
 * two events at one seq) or an end that arrives before it makes the fold start again from the latest
 * full state before that point: the state always equals the fold of what is stored, in order.
 *
 * Snapshots fall due here: every N turns (captured at exactly that point, hashed later by a pg-boss
 * job), each full state the game server sent with its own hash, and the final state when the session
 * becomes final (it has an end and nothing before the end can still arrive).
 */
import type { ValidEvent } from '../contract/events.ts';
import { copyJson, mergePatch } from '../contract/merge-patch.ts';
import { cmpPos, isBefore, NIL_UUID, posOf, type Pos } from '../derive/position.ts';
import type { TxQuery } from '../db/query.ts';
import {
  DELETE_STATES_SQL,
  REFOLD_CHECKPOINT_SQL,
  SELECT_STATES_SQL,
  SELECT_TURNS_FROM_SQL,
  SELECT_TURNS_SQL,
  UPSERT_STATES_SQL,
} from '../db/sql/session-state.ts';
import { DELETE_OTHER_FINALS_SQL, DELETE_SNAPSHOTS_FROM_SQL, INSERT_PENDING_SNAPSHOTS_SQL, LAST_TURNS_SNAPSHOT_SQL, UPSERT_FINAL_SNAPSHOTS_SQL } from '../db/sql/snapshots.ts';
import type { SnapshotJob } from '../snapshots/take.ts';

interface TurnRow {
  session_id: string;
  seq: string | number;
  id: string;
  turn: number;
  state: Record<string, unknown> | null;
  patch: Record<string, unknown> | null;
  state_hash: string | null;
}

export interface FoldInput {
  id: string;
  /** The fold's reach before this transaction. */
  stateSeq: number;
  /** The end before and after this transaction's merge (null: none). */
  oldEnd: Pos | null;
  end: Pos | null;
  /** The watermark after this transaction. */
  applied: number;
  /** Highest turn-result seq stored before this transaction, and after it. */
  lastTurnSeqBefore: number;
  lastTurnSeq: number;
  snapshotTurn: number | null;
  wasFinal: boolean;
  final: boolean;
  /** Turn results this transaction inserted. */
  turns: ValidEvent[];
}

export interface FoldOutcome {
  stateSeq: number;
  turnsWaiting: boolean;
  snapshotTurn: number | null;
  /** A snapshot was scheduled for it in this transaction. */
  snapshotScheduled: boolean;
}

export interface FoldResult {
  /** Turn results folded in this transaction (refolds count each again). */
  applied: number;
  /** Sessions whose turn results still wait behind a sequence gap. */
  waiting: number;
  /** Sessions folded again from an earlier point. */
  refolds: number;
  /** Snapshot jobs this transaction made due (to enqueue in the same transaction). */
  snapshots: SnapshotJob[];
  bySession: Map<string, FoldOutcome>;
  /** Turn results refused by the state bound in this transaction (recorded as state_too_large dead letters). */
  refused: StateRefusal[];
}

export interface StateRefusal {
  session_id: string;
  event_id: string;
  seq: number;
  turn: number;
  /** The size the state would have had, and the limit. */
  bytes: number;
  limit: number;
  /** The turn result as JSON (its event's id, session, seq and data). */
  payload: string;
}

export interface FoldOptions {
  /** Capture a snapshot every this many turns (and at the first state); 0 turns it off. */
  snapshotEveryTurns: number;
  /** Take snapshots at all (they need the pg-boss job that hashes them). */
  snapshots: boolean;
  /** GP_MAX_STATE_BYTES: a turn result that would make the state larger is refused. */
  maxStateBytes: number;
}

type TurnInput = { state: Record<string, unknown> | null; patch: Record<string, unknown> | null };

/**
 * Applies one turn result to a state: a full state replaces it, a merge patch (RFC 7396) updates it.
 * Unbounded, and a patch updates `state` in place: the fold itself uses foldTurnBounded.
 */
export function foldTurn(state: Record<string, unknown>, turn: TurnInput): Record<string, unknown> {
  if (turn.state) return copyJson(turn.state);
  const next = mergePatch(state, turn.patch);
  return next !== null && typeof next === 'object' && !Array.isArray(next) ? (next as Record<string, unknown>) : {};
}

/** A state's size as GP_MAX_STATE_BYTES measures it: the UTF-8 bytes of its JSON text. */
export function stateBytes(state: unknown): number {
  return Buffer.byteLength(JSON.stringify(state) ?? '');
}

export interface BoundedFold {
  state: Record<string, unknown>;
  /** At least the state's stateBytes (exact after a full state or a refusal; an upper bound after a patch). */
  bytes: number;
  /** Set when the turn result was refused: the size the state would have had. */
  refusedBytes: number | null;
}

/**
 * THE fold step with the live-state bound, used by the workers' fold and by every re-fold that checks
 * it (the ledger checker, the property model): a turn result whose fold would make the state larger
 * than `maxBytes` is refused and the state stays as it was. Whether a turn is refused depends only on
 * the state before it and the turn, so folding the stored history again in seq order refuses the same
 * turns and gives the same state.
 *
 * `bytes` is the state's size or an upper bound of it. A patch adds at most its own text to a state
 * (each member it sets costs at most its text, its braces cover the commas; a null only removes), so
 * while bytes + patch stays within the limit the patch is applied in place without measuring; past
 * that, it is applied to a copy and measured exactly.
 */
export function foldTurnBounded(state: Record<string, unknown>, bytes: number, turn: TurnInput, maxBytes: number): BoundedFold {
  if (turn.state) {
    const n = stateBytes(turn.state);
    return n > maxBytes ? { state, bytes, refusedBytes: n } : { state: copyJson(turn.state), bytes: n, refusedBytes: null };
  }
  const bound = bytes + stateBytes(turn.patch);
  if (bound <= maxBytes) return { state: foldTurn(state, turn), bytes: bound, refusedBytes: null };
  const next = foldTurn(copyJson(state), turn);
  const n = stateBytes(next);
  return n > maxBytes ? { state, bytes, refusedBytes: n } : { state: next, bytes: n, refusedBytes: null };
}

const bound = (f: FoldInput) => (f.end ? Math.min(f.applied, f.end[0]) : f.applied);

export async function foldStates(q: TxQuery, inputs: FoldInput[], opts: FoldOptions): Promise<FoldResult> {
  const result: FoldResult = { applied: 0, waiting: 0, refolds: 0, snapshots: [], bySession: new Map(), refused: [] };
  const incremental: { f: FoldInput; turns: TurnRow[] | null }[] = [];
  const ranges: { session_id: string; after: number; upto: number; end_seq: number | null; end_id: string | null }[] = [];
  const refolds: { f: FoldInput; from: Pos }[] = [];
  for (const f of inputs) {
    const upTo = bound(f);
    // Where the fold must start again: a turn result below its reach, or an end that moved into it.
    let from: Pos | null = null;
    for (const t of f.turns) {
      const p = posOf(t);
      if ((t.seq ?? 0) <= f.stateSeq && isBefore(p, f.end) && (!from || cmpPos(p, from) < 0)) from = p;
    }
    if (f.end && isBefore(f.end, f.oldEnd) && f.end[0] <= f.stateSeq && (!from || cmpPos(f.end, from) < 0)) from = f.end;
    const waiting = !(f.end && f.applied >= f.end[0]) && f.lastTurnSeq > upTo;
    result.bySession.set(f.id, { stateSeq: Math.max(f.stateSeq, upTo), turnsWaiting: waiting, snapshotTurn: f.snapshotTurn, snapshotScheduled: false });
    if (waiting) result.waiting++;
    if (from) refolds.push({ f, from });
    else if (upTo > f.stateSeq) {
      if (f.lastTurnSeqBefore <= f.stateSeq) {
        // Nothing was stored beyond the reach before this batch: the turns to fold are this batch's.
        const mine = f.turns
          .filter((t) => (t.seq ?? 0) > f.stateSeq && (t.seq ?? 0) <= upTo && isBefore(posOf(t), f.end))
          .sort((a, b) => cmpPos(posOf(a), posOf(b)))
          .map((t) => turnRow(f.id, t));
        if (mine.length) incremental.push({ f, turns: mine });
      } else {
        incremental.push({ f, turns: null });
        ranges.push({ session_id: f.id, after: f.stateSeq, upto: upTo, end_seq: f.end?.[0] ?? null, end_id: f.end?.[1] ?? null });
      }
    }
  }

  const states: { session_id: string; state: Record<string, unknown>; turn: number; seq: number }[] = [];
  const captured: { session_id: string; seq: number; turn: number; state: string }[] = [];
  const emptied: string[] = [];
  const changed = new Set<string>();

  if (incremental.length) {
    const read = ranges.length ? await q<TurnRow>(SELECT_TURNS_SQL, [JSON.stringify(ranges)]) : [];
    const readBy = groupBy(read);
    const ids = incremental.map((x) => x.f.id);
    const current = new Map<string, Record<string, unknown>>();
    for (const r of await q<{ session_id: string; state: Record<string, unknown> }>(SELECT_STATES_SQL, [ids])) current.set(r.session_id, r.state);
    for (const { f, turns } of incremental) {
      const list = turns ?? readBy.get(f.id) ?? [];
      if (!list.length) continue;
      const folded = foldList(current.get(f.id) ?? {}, list, f, null, opts, result, captured);
      states.push({ session_id: f.id, ...folded });
      changed.add(f.id);
    }
  }

  for (const { f, from } of refolds) {
    result.refolds++;
    const upTo = bound(f);
    const [cp] = await q<{ seq: string; id: string }>(REFOLD_CHECKPOINT_SQL, [f.id, from[0], from[1]]);
    const start: Pos = cp ? [Number(cp.seq), cp.id] : [0, NIL_UUID];
    const list = await q<TurnRow>(SELECT_TURNS_FROM_SQL, [f.id, start[0], start[1], upTo, f.end?.[0] ?? null, f.end?.[1] ?? null]);
    if (opts.snapshots) {
      // Snapshots at or after the point no longer hold "the state at their seq": they are taken again.
      await q(DELETE_SNAPSHOTS_FROM_SQL, [f.id, from[0], f.end?.[0] ?? null]);
      const [last] = await q<{ turn: number | null }>(LAST_TURNS_SNAPSHOT_SQL, [f.id]);
      const out = result.bySession.get(f.id) as FoldOutcome;
      out.snapshotTurn = last?.turn ?? null;
      f.snapshotTurn = out.snapshotTurn;
    }
    const out = result.bySession.get(f.id) as FoldOutcome;
    out.stateSeq = upTo;
    changed.add(f.id);
    if (!list.length) {
      emptied.push(f.id);
      continue;
    }
    states.push({ session_id: f.id, ...foldList({}, list, f, from, opts, result, captured) });
  }

  if (emptied.length) await q(DELETE_STATES_SQL, [emptied]);
  if (states.length) await q(UPSERT_STATES_SQL, [JSON.stringify(states)]);
  if (captured.length) await q(INSERT_PENDING_SNAPSHOTS_SQL, [JSON.stringify(captured)]);
  if (opts.snapshots) {
    // The final state: when the session becomes final, and again whenever that state changed.
    const finals = inputs
      .filter((f) => f.final && f.end && (!f.wasFinal || changed.has(f.id) || cmpPos(f.end, f.oldEnd ?? f.end) !== 0))
      .map((f) => ({ session_id: f.id, seq: (f.end as Pos)[0] }));
    if (finals.length) {
      await q(DELETE_OTHER_FINALS_SQL, [JSON.stringify(finals)]);
      for (const r of await q<{ session_id: string; seq: string }>(UPSERT_FINAL_SNAPSHOTS_SQL, [JSON.stringify(finals)]))
        result.snapshots.push({ sessionId: r.session_id, reason: 'final', seq: Number(r.seq) });
    }
  }
  return result;
}

function turnRow(sessionId: string, e: ValidEvent): TurnRow {
  return {
    session_id: sessionId,
    seq: e.seq ?? 0,
    id: e.id,
    turn: e.data.turn as number,
    state: (e.data.state as Record<string, unknown>) ?? null,
    patch: (e.data.patch as Record<string, unknown>) ?? null,
    state_hash: (e.data.stateHash as string) ?? null,
  };
}

/**
 * Folds `list` (in position order) into `state`. Snapshots are captured only for turns at or after
 * `capturedFrom` (a refold does not take again the ones before its point), every N turns, at the end of
 * a seq (two turn results at one seq are folded together, so a snapshot at that seq holds both).
 */
function foldList(
  state: Record<string, unknown>,
  list: TurnRow[],
  f: FoldInput,
  capturedFrom: Pos | null,
  opts: FoldOptions,
  result: FoldResult,
  captured: { session_id: string; seq: number; turn: number; state: string }[],
): { state: Record<string, unknown>; turn: number; seq: number } {
  const out = result.bySession.get(f.id) as FoldOutcome;
  let last = list[0] as TurnRow;
  let bytes = stateBytes(state);
  for (let i = 0; i < list.length; i++) {
    const t = list[i] as TurnRow;
    const step = foldTurnBounded(state, bytes, t, opts.maxStateBytes);
    state = step.state;
    bytes = step.bytes;
    last = t;
    result.applied++;
    const seq = Number(t.seq);
    if (capturedFrom && isBefore([seq, t.id], capturedFrom)) continue;
    // Recorded once per position newly folded (a refold does not record again what it folds before its point).
    if (step.refusedBytes !== null) {
      const data = t.state ? { turn: t.turn, state: t.state } : { turn: t.turn, patch: t.patch };
      const payload = JSON.stringify({ id: t.id, type: 'turn.result', sessionId: f.id, seq, data });
      result.refused.push({ session_id: f.id, event_id: t.id, seq, turn: t.turn, bytes: step.refusedBytes, limit: opts.maxStateBytes, payload });
    }
    if (!opts.snapshots) continue;
    // A full state sent with the game server's own hash is the game server's snapshot: kept as sent.
    if (t.state && t.state_hash) result.snapshots.push({ sessionId: f.id, reason: 'server', seq });
    const next = list[i + 1];
    if (next && Number(next.seq) === seq) continue;
    if (opts.snapshotEveryTurns > 0 && (out.snapshotTurn === null || t.turn - out.snapshotTurn >= opts.snapshotEveryTurns)) {
      out.snapshotTurn = t.turn;
      out.snapshotScheduled = true;
      captured.push({ session_id: f.id, seq, turn: t.turn, state: JSON.stringify(state) });
      result.snapshots.push({ sessionId: f.id, reason: 'turns', seq });
    }
  }
  return { state, turn: last.turn, seq: Number(last.seq) };
}

function groupBy(rows: TurnRow[]): Map<string, TurnRow[]> {
  const m = new Map<string, TurnRow[]>();
  for (const r of rows) {
    const list = m.get(r.session_id);
    if (list) list.push(r);
    else m.set(r.session_id, [r]);
  }
  return m;
}
