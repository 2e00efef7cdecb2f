/**
 * Recovery for game servers that restart: one call returns a session as the game server needs it
 * (the session, its participants, the live state and what happened since that state changed, the
 * newest snapshot that verifies and the events after it, its join queue), another pages through every
 * unfinished session, and `replay` streams a session's full ordered history (the audit trail) in the
 * contract's wire form.
 */
import { asReader, type Reader, type ReadSource } from '../db/reader.ts';
import { DISTINCT_SEQS_BETWEEN_SQL } from '../db/sql/sequence.ts';
import { isUuid } from '../contract/validate.ts';
import { MAX_UUID } from '../derive/position.ts';
import { AnalyticsError } from '../errors.ts';
import {
  ACTIVE_SESSIONS_SQL,
  HISTORY_PAGE_SQL,
  PARTICIPANTS_SQL,
  RECOVERY_TAIL_SQL,
  SESSION_QUEUE_SQL,
  SESSIONS_BY_ID_SQL,
  STATE_SQL,
  TAILS_SQL,
} from '../db/sql/history.ts';
import { NEWEST_SNAPSHOTS_SQL, SESSION_SNAPSHOTS_SQL } from '../db/sql/snapshots.ts';
import { RECOVER_ONE_SQL } from '../db/sql/recover-one.ts';
import { stateHash } from '../snapshots/hash.ts';
import { readSessionDocuments, type SessionDocuments } from './documents.ts';

/** One event of a session's history, in the contract's wire form. */
export interface HistoryEvent {
  id: string;
  type: string;
  seq: number;
  /** When it happened, as stored: UTC, to the microsecond (`2030-01-01T12:00:00.123456Z`). */
  at: string;
  player: string | null;
  /** As the producer sent it (free-form JSON exactly; typed fields in their stored form). */
  data: Record<string, unknown>;
}

export interface RecoveredSession {
  session: {
    id: string;
    tenant: string | null;
    gameType: string | null;
    name: string | null;
    status: string;
    settings: unknown;
    createdAt: string | null;
    startedAt: string | null;
    endedAt: string | null;
    lastEventAt: string;
    /**
     * The highest seq stored, or reported issued by a producer (an issued-seq report after its Redis
     * rolled back, docs/contract.md): what `seedSequence` needs, so no lost number is handed out again.
     */
    lastSeq: number;
    eventCount: number;
    /** Every event 1..appliedSeq is stored. */
    appliedSeq: number;
    /** When the sequence gap that holds events back opened; null when there is none. */
    gapSince: string | null;
    /** Sequence numbers given up as lost (a gap older than GP_GAP_TIMEOUT_S). */
    lostSeqs: number;
    /** Events that share their seq with another event of the session (a producer issued a number twice). */
    seqConflicts: number;
    /** The seq of the session's end event (its first session.finished/abandoned), null while it has none. */
    endSeq: number | null;
    /** When the session became final (ended, and nothing before its end can still arrive); null before. */
    finalAt: string | null;
    /** From the session's end when it is a session.finished (null otherwise): its `result`, as sent. */
    result: string | null;
    /** The finish's `winners` (player ids or teams, as text). */
    winners: string[] | null;
    /** The finish's `scores` (per player or team). */
    scores: Record<string, number> | null;
  };
  participants: {
    playerId: string;
    role: string | null;
    team: string | null;
    position: number | null;
    name: string | null;
    present: boolean;
    outcome: string | null;
    xp: number | null;
    score: number | null;
  }[];
  /** The live state (turn results folded in order), or null before the first turn result. */
  state: { value: Record<string, unknown>; turn: number | null; seq: number } | null;
  /** Every event after the live state's seq (the whole history without a state): what to resume with. */
  sinceState: HistoryEvent[];
  /** The newest snapshot whose hash verifies; null when the session has no valid snapshot. */
  snapshot: { seq: number; turn: number | null; value: Record<string, unknown>; hash: string; reason: string; takenAt: string } | null;
  /** Newer snapshots that failed verification and were skipped (the fallback, said out loud). */
  snapshotsSkipped: { seq: number; why: string }[];
  /** Every event after that snapshot (the whole history without one), in sequence order. */
  tail: HistoryEvent[];
  /**
   * Null when `tail` and `sinceState` hold every event up to the session's last; otherwise they were cut
   * at `tailLimit` events and this cursor reads on (`recoverTail(db, id, tailCursor)` or
   * `replay(db, id, { after: tailCursor })`).
   */
  tailCursor: string | null;
  /** With `issuedSeq` given: how many of the seqs issued up to it are not stored yet (0: all persisted). */
  persisted: { issuedSeq: number; appliedSeq: number; notPersisted: number } | null;
  queue: { tenant: string; playerId: string; waiting: boolean; enteredAt: string | null; expiresAt: string | null }[];
  /** With `documents` asked for: the session's documents (and its players'), applied through `throughSeq`. */
  documents?: SessionDocuments;
}

const iso = (v: unknown) => (v == null ? null : new Date(v as string).toISOString());

export interface RecoverOptions {
  /** Events returned after the live state and the snapshot at most; past it, `tailCursor` reads on. @defaultValue 10000 */
  tailLimit?: number;
  /**
   * The last seq the producer issued for the session (`producer.lastSeq(id)`): recovery then says how
   * many of the seqs up to it are not stored yet (`persisted`). Only for recoverSession.
   */
  issuedSeq?: number;
  /** Include the session's documents: all of them, or those of the listed collections. Only for recoverSession. */
  documents?: true | string[];
}

/** Recovers one session; null if it is unknown. Integer ids are the same session as their text. */
export async function recoverSession(orm: ReadSource, id: string | number, opts: RecoverOptions = {}): Promise<RecoveredSession | null> {
  const reader = asReader(orm);
  const [rec, docs] = await Promise.all([
    recoverSessions(reader, [String(id)], opts).then((r) => r[0] ?? null),
    opts.documents ? readSessionDocuments(reader, String(id), { collections: opts.documents === true ? null : opts.documents }) : null,
  ]);
  if (rec && opts.issuedSeq !== undefined) rec.persisted = await persistedThrough(reader, rec.session.id, opts.issuedSeq, rec.session.appliedSeq);
  if (rec && docs) rec.documents = docs;
  return rec;
}

/** How many of the seqs 1..issued are not stored: every seq up to appliedSeq is; count the ones stored above it. */
async function persistedThrough(reader: Reader, id: string, issued: number, applied: number): Promise<NonNullable<RecoveredSession['persisted']>> {
  if (issued <= applied) return { issuedSeq: issued, appliedSeq: applied, notPersisted: 0 };
  const [r] = await reader.read<{ n: number }>(DISTINCT_SEQS_BETWEEN_SQL, [id, applied, issued]);
  return { issuedSeq: issued, appliedSeq: applied, notPersisted: issued - applied - (r?.n ?? 0) };
}

function groupBy<T extends Record<string, any>>(rows: T[], key = 'session_id'): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const r of rows) {
    const list = m.get(r[key]);
    if (list) list.push(r);
    else m.set(r[key], [r]);
  }
  return m;
}

function toEvent(r: Record<string, any>): HistoryEvent {
  // `at` as stored, to the microsecond, in UTC (history SQL reads it as text).
  return { id: r.id, type: r.type, seq: Number(r.seq), at: r.at, player: r.player, data: r.data };
}

/**
 * Recovers many sessions with a fixed number of statements (each reads all of them at once), in the
 * order of `ids`; unknown ids are left out.
 */
export async function recoverSessions(orm: ReadSource, idList: (string | number)[], opts: Omit<RecoverOptions, 'issuedSeq'> = {}): Promise<RecoveredSession[]> {
  if (!idList.length) return [];
  const ids = idList.map(String);
  const limit = opts.tailLimit ?? 10_000;
  // One more than asked: whether the tail was cut is known without another query.
  const fetch = limit + 1;
  const reader = asReader(orm);
  const read = <T = Record<string, any>>(sql: string, params: unknown[]) => reader.read<T>(sql, params);
  // One session: everything in one statement. A few: each tail is read by its own indexed query in the
  // same round trip as the rest.
  const few = ids.length <= 4;
  const [sessions, participantRows, stateRows, queueRows, newestRows, early] =
    ids.length === 1
      ? await read<Record<string, any[]>>(RECOVER_ONE_SQL, [ids[0], fetch]).then(([r]) => [r!.sessions!, r!.participants!, r!.states!, r!.queues!, r!.newest!, [[ids[0]!, r!.tail!] as const]] as const)
      : await Promise.all([
          read(SESSIONS_BY_ID_SQL, [ids]),
          read(PARTICIPANTS_SQL, [ids]),
          read(STATE_SQL, [ids]),
          read(SESSION_QUEUE_SQL, [ids]),
          read(NEWEST_SNAPSHOTS_SQL, [ids]),
          few ? Promise.all(ids.map((id) => read(RECOVERY_TAIL_SQL, [id, fetch]).then((rows) => [id, rows] as const))) : null,
        ]);
  const participants = groupBy(participantRows);
  const states = new Map(stateRows.map((x) => [x.session_id as string, x]));
  const queues = groupBy(queueRows);
  const newest = new Map(newestRows.map((x) => [x.session_id as string, x]));
  const byId = new Map(sessions.map((s) => [s.id as string, s]));
  // The newest snapshot that still hashes to what was recorded; a corrupted one is skipped, and said so.
  const chosen = new Map<string, { snap: Record<string, any> | undefined; skipped: { seq: number; why: string }[] }>();
  for (const id of byId.keys()) {
    const first = newest.get(id);
    if (!first || stateHash(first.state) === first.hash) {
      chosen.set(id, { snap: first, skipped: [] });
      continue;
    }
    const skipped: { seq: number; why: string }[] = [];
    let snap: Record<string, any> | undefined;
    for (const row of await read(SESSION_SNAPSHOTS_SQL, [id])) {
      if (stateHash(row.state) === row.hash) {
        snap = row;
        break;
      }
      skipped.push({ seq: Number(row.seq), why: 'hash mismatch: the stored state no longer hashes to the recorded SHA-256' });
    }
    chosen.set(id, { snap, skipped });
  }
  // Two tails per session, from one read: after the live state (to resume) and after the snapshot
  // (to rebuild). A fallback to an older snapshot needs a longer tail than the early read fetched.
  const ranges: { session_id: string; after: number }[] = [];
  const tails = new Map<string, Record<string, any>[]>();
  for (const id of byId.keys()) {
    const after = Math.min(Number(states.get(id)?.seq ?? 0), Number(chosen.get(id)?.snap?.seq ?? 0));
    const fetched = early?.find(([i]) => i === id)?.[1];
    // The early tail is good when it starts exactly after what the other statements read: they ran
    // concurrently, and a snapshot hashed or a state refolded in between moves where it should start.
    if (fetched && !chosen.get(id)?.skipped.length && Number(fetched[0]?.from_seq ?? -1) === after) tails.set(id, fetched.filter((r) => r.id !== null));
    else ranges.push({ session_id: id, after });
  }
  if (ranges.length) for (const [id, rows] of groupBy(await read(TAILS_SQL, [JSON.stringify(ranges), fetch]))) tails.set(id, rows);

  const out: RecoveredSession[] = [];
  for (const id of ids) {
    const s = byId.get(id);
    if (!s) continue;
    const st = states.get(id);
    const stateSeq = st ? Number(st.seq) : 0;
    const { snap, skipped } = chosen.get(id) ?? { snap: undefined, skipped: [] };
    const snapSeq = snap ? Number(snap.seq) : 0;
    const all = (tails.get(id) ?? []).map(toEvent);
    const events = all.length > limit ? all.slice(0, limit) : all;
    const last = events[events.length - 1];
    out.push({
      session: {
        id: s.id,
        tenant: s.tenant,
        gameType: s.game_type,
        name: s.name,
        status: s.status,
        settings: s.settings,
        createdAt: iso(s.created_at),
        startedAt: iso(s.started_at),
        endedAt: iso(s.ended_at),
        lastEventAt: iso(s.last_event_at) as string,
        lastSeq: Math.max(Number(s.last_seq), Number(s.issued_seq ?? 0)),
        eventCount: Number(s.event_count),
        appliedSeq: Number(s.applied_seq),
        gapSince: iso(s.gap_since),
        lostSeqs: Number(s.lost_seqs),
        seqConflicts: Number(s.seq_conflicts),
        endSeq: s.end_seq === null ? null : Number(s.end_seq),
        finalAt: iso(s.final_at),
        result: s.result,
        winners: s.winners,
        scores: s.final_scores,
      },
      participants: (participants.get(id) ?? []).map((p) => ({
        playerId: p.player_id,
        role: p.role,
        team: p.team,
        position: p.position,
        name: p.name,
        present: p.present,
        outcome: p.outcome,
        xp: p.xp,
        score: p.score,
      })),
      state: st ? { value: st.state, turn: st.turn, seq: stateSeq } : null,
      sinceState: events.filter((e) => e.seq > stateSeq),
      snapshot: snap ? { seq: snapSeq, turn: snap.turn, value: snap.state, hash: snap.hash, reason: snap.reason, takenAt: iso(snap.taken_at) as string } : null,
      snapshotsSkipped: skipped,
      tail: events.filter((e) => e.seq > snapSeq),
      tailCursor: all.length > limit && last ? cursorOf(last) : null,
      persisted: null,
      queue: (queues.get(id) ?? []).map((q) => ({ tenant: q.tenant, playerId: q.player_id, waiting: q.waiting, enteredAt: iso(q.entered_at), expiresAt: iso(q.expires_at) })),
    });
  }
  return out;
}

export interface ActivePage {
  sessions: RecoveredSession[];
  /** Pass back to get the next page; null when this was the last. */
  nextCursor: string | null;
}

/** Every unfinished (created or started) session, paged by id. */
export async function recoverActiveSessions(
  orm: ReadSource,
  opts: { tenant?: string | number; gameType?: string; cursor?: string | null; limit?: number; tailLimit?: number } = {},
): Promise<ActivePage> {
  const limit = opts.limit ?? 100;
  const ids = await asReader(orm).read<{ id: string }>(ACTIVE_SESSIONS_SQL, [opts.tenant === undefined ? null : String(opts.tenant), opts.gameType ?? null, opts.cursor ?? '', limit]);
  const sessions = await recoverSessions(orm, ids.map((r) => r.id), { tailLimit: opts.tailLimit });
  return { sessions, nextCursor: ids.length === limit ? ids[ids.length - 1].id : null };
}

/** An opaque position in a session's history: the seq and id of the last event read. */
export function cursorOf(e: { seq: number; id: string }): string {
  return `${e.seq}.${e.id}`;
}

function parseCursor(cursor: string): { seq: number; id: string } {
  const dot = cursor.indexOf('.');
  const seq = Number(cursor.slice(0, dot));
  const id = cursor.slice(dot + 1);
  if (dot < 1 || !Number.isSafeInteger(seq) || seq < 0 || !isUuid(id)) throw new AnalyticsError(`not a history cursor: "${cursor.slice(0, 80)}"`);
  return { seq, id };
}

async function page(reader: Reader, id: string, after: { seq: number; id: string }, upTo: number, limit: number): Promise<HistoryEvent[]> {
  return (await reader.read(HISTORY_PAGE_SQL, [id, after.seq, after.id, upTo, limit])).map(toEvent);
}

/** The events after `cursor` (a `tailCursor`, or one this returned), at most `limit`, and the cursor to read on (null at the end). */
export async function recoverTail(src: ReadSource, id: string | number, cursor: string, opts: { limit?: number } = {}): Promise<{ events: HistoryEvent[]; cursor: string | null }> {
  const limit = opts.limit ?? 10_000;
  const rows = await page(asReader(src), String(id), parseCursor(cursor), Number.MAX_SAFE_INTEGER, limit + 1);
  const events = rows.slice(0, limit);
  return { events, cursor: rows.length > limit ? cursorOf(events[events.length - 1] as HistoryEvent) : null };
}

/**
 * Streams a session's full history in position order (seq, then id), a page at a time: from `fromSeq`
 * (default 1) or after a `cursor`, through `toSeq`.
 */
export async function* replay(
  orm: ReadSource,
  id: string | number,
  opts: { fromSeq?: number; toSeq?: number; after?: string; pageSize?: number } = {},
): AsyncGenerator<HistoryEvent> {
  const reader = asReader(orm);
  const sid = String(id);
  let after = opts.after !== undefined ? parseCursor(opts.after) : { seq: Math.max(0, (opts.fromSeq ?? 1) - 1), id: MAX_UUID };
  const upTo = opts.toSeq ?? Number.MAX_SAFE_INTEGER;
  const size = opts.pageSize ?? 1000;
  for (;;) {
    const rows = await page(reader, sid, after, upTo, size);
    yield* rows;
    if (rows.length < size) return;
    const last = rows[rows.length - 1] as HistoryEvent;
    after = { seq: last.seq, id: last.id };
  }
}
