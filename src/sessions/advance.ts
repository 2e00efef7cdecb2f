/**
 * One transaction's step for the sessions it touches, with their rows locked: merge the events really
 * inserted into each session (src/derive/session.ts), move the sequence watermark (./sequencer.ts),
 * fold the live state and take the snapshots that fall due (./fold-state.ts), apply documents
 * (./documents.ts), and write the rows. Ingest batches (src/workers/write-batch.ts), issued-seq reports
 * (src/workers/issued.ts) and the gap sweep (src/jobs/boss.ts) all run it, so it sits below both the
 * workers and the jobs; what changed (an end, a game type, finality) is returned for the participants,
 * aggregates and ratings steps that follow in the same transaction, with a tally of what it did (./tally.ts).
 */
import type { ValidEvent } from '../contract/events.ts';
import { storedPos, type Pos } from '../derive/position.ts';
import { sameKey, type StatKey } from '../derive/scopes.ts';
import { mergeSession, statusOf, type EndFields, type SessionDelta, type StoredGroups } from '../derive/session.ts';
import type { TxQuery } from '../db/query.ts';
import { UPDATE_SESSIONS_LEAN_SQL, UPDATE_SESSIONS_SQL, type LockedSession, type SessionWrite } from '../db/sql/sessions.ts';
import { INSERT_STATE_REFUSALS_SQL, MAX_DEAD_LETTER_PAYLOAD } from '../db/sql/dead-letters.ts';
import type { SnapshotJob } from '../snapshots/take.ts';
import { applyDocuments, type DocInput } from './documents.ts';
import { foldStates } from './fold-state.ts';
import { advanceWatermarks, type SeqEvent } from './sequencer.ts';
import { emptyTally, noteGaveUp, type SessionTally } from './tally.ts';

export interface AdvanceOptions {
  liveState: boolean;
  /** Take snapshots (they need the pg-boss job that hashes them). */
  snapshots: boolean;
  snapshotEveryTurns: number;
  /** A gap open longer than this is given up (0: never). */
  gapTimeoutS: number;
  /** Most bytes one owner's documents may hold (GP_MAX_OWNER_DOCUMENT_BYTES). */
  maxOwnerDocumentBytes: number;
  /** Largest live state (GP_MAX_STATE_BYTES): a turn result that would pass it is refused. */
  maxStateBytes: number;
}

/** What the rest of the transaction needs to know about a session. */
export interface SessionChange {
  id: string;
  /** What decides its statistics' scopes now: game type, and the tenant when confined (src/derive/scopes.ts). */
  key: StatKey;
  /** The key before this transaction, when it changed (an earlier-positioned session.created arrived). */
  rekeyedFrom: StatKey | undefined;
  /** The end changed in this transaction (appeared, or an earlier one arrived). */
  endChanged: boolean;
  /** Final now (has an end and nothing before it can still arrive). */
  final: boolean;
  becameFinal: boolean;
  finished: boolean;
  rated: boolean;
  /** Sequence conflicts recorded in this transaction. */
  newConflicts: number;
}

export interface AdvanceResult {
  changes: Map<string, SessionChange>;
  /** Snapshots that fell due, for the caller to schedule in the same transaction (./schedulers.ts). */
  snapshots: SnapshotJob[];
  tally: SessionTally;
}

const groupsOf = (s: LockedSession): StoredGroups => ({
  created: storedPos(s.created_seq, s.created_id),
  started: storedPos(s.started_seq, s.started_id),
  settings: storedPos(s.settings_seq, s.settings_id),
  end: storedPos(s.end_seq, s.end_id),
  endType: s.end_type,
  gameType: s.game_type,
  statTenant: s.confined ? s.tenant : null,
  idle: s.idle,
});

/**
 * `deltas`: the batch's view of each session (none for a sweep); `seqEvents`: the inserted events with a
 * seq per session (queue events that carry one included: they fill the sequence); `turns`: inserted
 * turn results per session; `docs`: inserted doc.put / doc.delete events per session.
 */
export async function advanceSessions(
  q: TxQuery,
  locked: LockedSession[],
  deltas: Map<string, SessionDelta>,
  seqEvents: Map<string, SeqEvent[]>,
  turns: Map<string, ValidEvent[]>,
  docs: Map<string, ValidEvent[]>,
  opts: AdvanceOptions,
): Promise<AdvanceResult> {
  const marks = await advanceWatermarks(
    q,
    locked.map((s) => ({
      id: s.id,
      applied: Number(s.applied_seq),
      lastSeq: Number(s.last_seq),
      issued: Number(s.issued_seq),
      lost: Number(s.lost_seqs),
      conflicts: s.seq_conflicts,
      ahead: s.ahead_seqs === null ? null : s.ahead_seqs.map(Number),
      gapAgeS: s.gap_age_s,
      events: seqEvents.get(s.id) ?? [],
    })),
    opts.gapTimeoutS,
  );
  const writes: SessionWrite[] = [];
  const changes = new Map<string, SessionChange>();
  const foldInputs = [];
  const docInputs: DocInput[] = [];
  const tally = emptyTally();
  const lockedById = new Map(locked.map((s) => [s.id, s]));
  for (const s of locked) {
    const d = deltas.get(s.id);
    const old = groupsOf(s);
    const m = d ? mergeSession(old, d) : null;
    const groups = m?.groups ?? old;
    const w = marks.get(s.id) as NonNullable<ReturnType<typeof marks.get>>;
    const end = groups.end;
    const final = end !== null && w.applied >= end[0];
    const endChanged = !!m?.end;
    tally.seqConflicts += w.conflicts - s.seq_conflicts;
    tally.seqsGivenUp += w.givenUp;
    tally.seqsLate += w.late;
    if (w.givenUp) noteGaveUp(tally, { id: s.id, from: Number(s.applied_seq), to: w.applied, lost: w.givenUp });
    const key: StatKey = { gameType: groups.gameType, tenant: groups.statTenant };
    const was: StatKey = { gameType: old.gameType, tenant: old.statTenant };
    changes.set(s.id, {
      id: s.id,
      key,
      // A session with no event stored before counted nothing under the old key: nothing to move.
      rekeyedFrom: sameKey(key, was) || Number(s.event_count) === 0 ? undefined : was,
      endChanged,
      final,
      becameFinal: final && !s.final,
      finished: groups.endType === 'finished' && end !== null,
      rated: s.rated,
      newConflicts: w.conflicts - s.seq_conflicts,
    });
    foldInputs.push({
      id: s.id,
      stateSeq: Number(s.state_seq),
      oldEnd: old.end,
      end,
      applied: w.applied,
      lastTurnSeqBefore: Number(s.last_turn_seq),
      lastTurnSeq: Math.max(Number(s.last_turn_seq), d?.lastTurnSeq ?? 0),
      snapshotTurn: s.snapshot_turn,
      wasFinal: s.final,
      final,
      turns: turns.get(s.id) ?? [],
    });
    const mine = docs.get(s.id) ?? [];
    if (mine.length || (w.applied > Number(s.applied_seq) && Number(s.last_doc_seq) > Number(s.applied_seq)))
      docInputs.push({ id: s.id, appliedBefore: Number(s.applied_seq), applied: w.applied, lastDocSeqBefore: Number(s.last_doc_seq), docs: mine });
    writes.push(sessionWrite(s, d ?? null, m, groups, w, final));
  }
  const fold = opts.liveState
    ? await foldStates(q, foldInputs, { snapshotEveryTurns: opts.snapshots ? opts.snapshotEveryTurns : 0, snapshots: opts.snapshots, maxStateBytes: opts.maxStateBytes })
    : { applied: 0, waiting: 0, refolds: 0, snapshots: [], bySession: new Map(), refused: [] };
  // Refused turn results are recorded in the transaction that refused them.
  if (fold.refused.length) await q(INSERT_STATE_REFUSALS_SQL, [JSON.stringify(fold.refused), MAX_DEAD_LETTER_PAYLOAD]);
  for (const row of writes) {
    const o = fold.bySession.get(row.id);
    if (!o) continue;
    row.state_seq = o.stateSeq;
    row.turns_waiting = o.turnsWaiting;
    row.snapshot_turn = o.snapshotTurn;
    row.snapshot_scheduled = o.snapshotScheduled;
  }
  const docResult = docInputs.length ? await applyDocuments(q, docInputs, opts.maxOwnerDocumentBytes) : { applied: 0, conflicts: 0, overLimit: 0, refolds: 0 };
  const full: SessionWrite[] = [];
  const lean: SessionWrite[] = [];
  for (const row of writes) (leanSessionWrite(row, lockedById.get(row.id) as LockedSession) ? lean : full).push(row);
  if (full.length) await q(UPDATE_SESSIONS_SQL, [JSON.stringify(full)]);
  if (lean.length) await q(UPDATE_SESSIONS_LEAN_SQL, leanParams(lean));
  tally.turnsFolded += fold.applied;
  tally.sessionsWaiting += fold.waiting;
  tally.refolds += fold.refolds;
  tally.statesTooLarge += fold.refused.length;
  tally.docsApplied += docResult.applied;
  tally.docConflicts += docResult.conflicts;
  tally.docsOverLimit += docResult.overLimit;
  return { changes, snapshots: fold.snapshots, tally };
}

function sessionWrite(
  s: LockedSession,
  d: SessionDelta | null,
  m: ReturnType<typeof mergeSession> | null,
  groups: StoredGroups,
  w: { applied: number; gapOpen: boolean; lost: number; givenUp: number; conflicts: number; ahead: number[] | null },
  final: boolean,
): SessionWrite {
  const created = m?.created ?? null;
  const started = m?.started ?? null;
  const settings = m?.settings ?? null;
  // An idle session that comes back without an end loses the idle marks (ended_at, end_reason).
  const end: EndFields | null = m?.end ?? null;
  const clearIdle = !!m?.revived && groups.end === null;
  const pos = (p: Pos | null | undefined) => ({ seq: p ? p[0] : null, id: p ? p[1] : null });
  return {
    id: s.id,
    touched: d !== null,
    set_created: created !== null,
    tenant: created?.tenant ?? null,
    confined: created?.confined ?? false,
    game_type: created?.gameType ?? null,
    name: created?.name ?? null,
    created_by: created?.createdBy ?? null,
    created_at: created?.at ?? null,
    created_seq: pos(created?.pos).seq,
    created_id: pos(created?.pos).id,
    set_started: started !== null,
    started_at: started?.at ?? null,
    started_seq: pos(started?.pos).seq,
    started_id: pos(started?.pos).id,
    set_settings: settings !== null,
    settings: settings?.value ?? null,
    settings_seq: pos(settings?.pos).seq,
    settings_id: pos(settings?.pos).id,
    idle_timeout_s: settings?.idleTimeoutS ?? null,
    set_end: end !== null || clearIdle,
    end_seq: pos(end?.pos).seq,
    end_id: pos(end?.pos).id,
    end_type: end?.type ?? null,
    ended_at: end?.at ?? null,
    winners: end?.winners ?? null,
    final_scores: end?.scores ?? null,
    result: end?.result ?? null,
    end_reason: end?.reason ?? null,
    status: m ? m.status : statusOf(groups),
    first_at: d?.firstAt ?? null,
    last_at: d?.lastAt ?? null,
    last_seq: d?.lastSeq ?? 0,
    n: d?.n ?? 0,
    last_turn_seq: d?.lastTurnSeq ?? 0,
    last_doc_seq: d?.lastDocSeq ?? 0,
    applied_seq: w.applied,
    gap_open: w.gapOpen,
    lost_seqs: w.lost,
    seq_conflicts: w.conflicts,
    ahead_seqs: w.ahead,
    state_seq: Number(s.state_seq),
    turns_waiting: s.turns_waiting,
    snapshot_turn: s.snapshot_turn,
    snapshot_scheduled: false,
    final,
    rating_stale: false,
    gave_up: w.givenUp > 0,
  };
}

/**
 * Whether a session's write changes only what UPDATE_SESSIONS_LEAN_SQL sets: events taken, no group
 * replaced, and every other column equal to the locked row's (so leaving it alone writes the same row).
 * The live state's fold position (state_seq) follows the watermark even without turn results: it is set.
 */
export function leanSessionWrite(w: SessionWrite, s: LockedSession): boolean {
  return (
    w.touched &&
    !w.set_created &&
    !w.set_started &&
    !w.set_settings &&
    !w.set_end &&
    !w.snapshot_scheduled &&
    !w.final &&
    !s.final &&
    !w.rating_stale &&
    !w.gave_up &&
    w.first_at !== null &&
    w.last_at !== null &&
    w.lost_seqs === Number(s.lost_seqs) &&
    w.seq_conflicts === s.seq_conflicts &&
    w.turns_waiting === s.turns_waiting &&
    w.snapshot_turn === s.snapshot_turn &&
    sameSeqs(w.ahead_seqs, s.ahead_seqs)
  );
}

function sameSeqs(a: number[] | null, b: string[] | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((x, i) => x === Number(b[i]));
}

function leanParams(rows: SessionWrite[]): unknown[][] {
  const cols: unknown[][] = Array.from({ length: 11 }, () => new Array(rows.length));
  rows.forEach((r, i) => {
    (cols[0] as unknown[])[i] = r.id;
    (cols[1] as unknown[])[i] = r.status;
    (cols[2] as unknown[])[i] = r.first_at;
    (cols[3] as unknown[])[i] = r.last_at;
    (cols[4] as unknown[])[i] = r.last_seq;
    (cols[5] as unknown[])[i] = r.n;
    (cols[6] as unknown[])[i] = r.last_turn_seq;
    (cols[7] as unknown[])[i] = r.last_doc_seq;
    (cols[8] as unknown[])[i] = r.applied_seq;
    (cols[9] as unknown[])[i] = r.gap_open;
    (cols[10] as unknown[])[i] = r.state_seq;
  });
  return cols;
}
