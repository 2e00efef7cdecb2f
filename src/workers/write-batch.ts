/**
 * Writes one batch of events in one PostgreSQL transaction on MikroORM's connection pool: the event rows
 * (raw multi-row statements, ~3.5x faster than the ORM's insertMany), then everything derived from the
 * events that were really inserted — by sequence position, never by arrival (docs/contract.md, "The
 * ordering rule") — then the batch's dead letters.
 *
 * A batch that PostgreSQL refuses because of one row's data is split in halves until the row is
 * isolated and dead-lettered; every other event still lands. Transient failures are retried with
 * backoff and, past the retry budget, thrown so the jobs go back to BullMQ unacknowledged.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import { FAMILIES, type Family, type ValidEvent } from '../contract/events.ts';
import { DEFAULT_MAX_STATE_BYTES } from '../contract/limits.ts';
import { INSERT_DEAD_LETTERS_SQL, MAX_DEAD_LETTER_PAYLOAD, type DeadLetterRow } from '../db/sql/dead-letters.ts';
import { familyRowsJson, INSERT_SQL } from '../db/sql/insert-events.ts';
import { UPSERT_JOIN_QUEUE_SQL } from '../db/sql/upsert-join-queue.ts';
import { UPSERT_PLAYERS_SQL } from '../db/sql/participants.ts';
import { ENSURE_SESSIONS_SQL, LOCK_SESSIONS_SQL, type LockedSession } from '../db/sql/sessions.ts';
import { MARK_RATINGS_STALE_SQL } from '../db/sql/ratings.ts';
import { writeAggregates, type AggregateOptions } from '../aggregates/write.ts';
import { AGGREGATES_SHARED_LOCK_SQL } from '../db/sql/aggregates.ts';
import { KeyMoves } from './key-moves.ts';
import { sessionDeltas, type SessionDelta } from '../derive/session.ts';
import { advanceSessions, type AdvanceOptions, type SessionChange } from '../sessions/advance.ts';
import { scheduleDue, type RatingsScheduler, type SnapshotScheduler } from '../sessions/schedulers.ts';
import { addTally, emptyTally, type SessionTally } from '../sessions/tally.ts';
import { writeParticipants } from './participants.ts';
import type { SeqEvent } from '../sessions/sequencer.ts';
import { joinQueueRows, playerRows } from './derived-rows.ts';
import { classifyDbError, describeDbError } from './db-errors.ts';
import { transaction, type TxCopy, type TxQuery } from '../db/query.ts';
import { COPY_ROLLBACK_SQL, COPY_RELEASE_SQL, COPY_SAVEPOINT_SQL, COPY_SQL, familyCopyText, NotCopyable } from '../db/copy.ts';

/** What landed; the session counters (folds, documents, gaps...) are the shared tally (src/sessions/tally.ts). */
export interface WriteResult extends SessionTally {
  inserted: number;
  /** Of them, rows written by COPY (the rest by the INSERT that skips duplicates: src/db/copy.ts). */
  copied: number;
  duplicates: number;
  deadLettered: number;
  /** Inserted events per type. */
  byType: Map<string, number>;
  /** Transactions committed (more than one when a bad row had to be isolated). */
  transactions: number;
  retries: number;
  /** The events really inserted (not duplicates), in commit order. */
  committed: ValidEvent[];
}

export interface WriterOptions {
  /** Transient failures retried per transaction before giving up. */
  retries: number;
  /** First backoff; doubles up to 5 s. @defaultValue 100 */
  backoffMs?: number;
  queue?: string | null;
  /** Called for every transient failure (logging, metrics). */
  onRetry?: (err: unknown, attempt: number) => void;
  /** Snapshot scheduling; without it no snapshot is scheduled (jobs are enqueued in the batch's transaction). */
  snapshots?: SnapshotScheduler;
  /** Fold turn results into live states. @defaultValue true */
  liveState?: boolean;
  /** See Config.gapTimeoutS. */
  gapTimeoutS?: number;
  /** See Config.maxOwnerDocumentBytes. @defaultValue 16 MiB */
  maxOwnerDocumentBytes?: number;
  /** See Config.maxStateBytes. @defaultValue DEFAULT_MAX_STATE_BYTES (1 MiB) */
  maxStateBytes?: number;
  /** Keep player stats and leaderboards in the batch's transaction; off when absent. */
  aggregates?: AggregateOptions;
  /** Schedule ratings when a batch finishes sessions; none when absent (the minute schedule still rates them). */
  ratings?: RatingsScheduler;
}

/** What the per-session step (./advance.ts) takes of the writer's options, defaults filled in. */
export function advanceOptions(opts: WriterOptions): AdvanceOptions {
  return {
    liveState: opts.liveState !== false,
    snapshots: !!opts.snapshots,
    snapshotEveryTurns: opts.snapshots?.everyTurns ?? 0,
    gapTimeoutS: opts.gapTimeoutS ?? 0,
    maxOwnerDocumentBytes: opts.maxOwnerDocumentBytes ?? 16 * 1024 * 1024,
    maxStateBytes: opts.maxStateBytes ?? DEFAULT_MAX_STATE_BYTES,
  };
}

/** By (session, id): the order of the primary key, so concurrent batches lock rows in one order. */
function byKey(a: ValidEvent, b: ValidEvent): number {
  const sa = a.sessionId ?? '';
  const sb = b.sessionId ?? '';
  if (sa !== sb) return sa < sb ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Writes events and dead letters; returns what landed. Throws only for persistent infrastructure failure. */
export async function writeBatch(orm: MikroORM, events: ValidEvent[], deadLetters: DeadLetterRow[], opts: WriterOptions): Promise<WriteResult> {
  const result: WriteResult = { inserted: 0, copied: 0, duplicates: 0, deadLettered: 0, byType: new Map(), transactions: 0, retries: 0, committed: [], ...emptyTally() };
  // The same event twice in one batch (two jobs, or a redelivery) is written once.
  const seen = new Set<string>();
  const unique: ValidEvent[] = [];
  for (const e of events) {
    if (seen.has(e.id)) result.duplicates++;
    else {
      seen.add(e.id);
      unique.push(e);
    }
  }
  unique.sort(byKey);
  await writeIsolating(orm, unique, deadLetters, opts, result);
  return result;
}

async function writeIsolating(orm: MikroORM, events: ValidEvent[], deadLetters: DeadLetterRow[], opts: WriterOptions, result: WriteResult): Promise<void> {
  try {
    await withRetries(() => writeOnce(orm, events, deadLetters, result, opts), opts, result);
  } catch (e) {
    if (classifyDbError(e) !== 'data') throw e;
    if (events.length <= 1) {
      // The row itself is unacceptable to PostgreSQL: record why, keep going.
      const rows = [...deadLetters, ...events.map((ev) => deadLetterForEvent(ev, 'db_rejected', describeDbError(e), null, opts.queue ?? null, null))];
      await withRetries(() => writeOnce(orm, [], rows, result, opts), opts, result);
      return;
    }
    const mid = events.length >> 1;
    await writeIsolating(orm, events.slice(0, mid), deadLetters, opts, result);
    await writeIsolating(orm, events.slice(mid), [], opts, result);
  }
}

async function withRetries<T>(fn: () => Promise<T>, opts: WriterOptions, result: WriteResult): Promise<T> {
  let delay = opts.backoffMs ?? 100;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (classifyDbError(e) !== 'transient' || attempt > opts.retries) throw e;
      result.retries++;
      opts.onRetry?.(e, attempt);
      await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random())));
      delay = Math.min(delay * 2, 5000);
    }
  }
}

async function writeOnce(orm: MikroORM, events: ValidEvent[], deadLetters: DeadLetterRow[], result: WriteResult, opts: WriterOptions): Promise<void> {
  const byFamily = new Map<Family, ValidEvent[]>();
  for (const e of events) {
    const list = byFamily.get(e.family);
    if (list) list.push(e);
    else byFamily.set(e.family, [e]);
  }
  let copied = 0;
  const tx: TxTally = { ...emptyTally(), newPeriods: [] };
  const counts = await transaction(orm, async (q, copy) => {
    if (opts.aggregates && events.length) await q(AGGREGATES_SHARED_LOCK_SQL);
    const inserted: ValidEvent[] = [];
    // Families in a fixed order, rows sorted by key: replicas take row locks in the same order.
    for (const family of FAMILIES) {
      const list = byFamily.get(family);
      if (!list) continue;
      if (await copyFamily(q, copy, family, list)) {
        inserted.push(...list);
        copied += list.length;
        continue;
      }
      const rows = await q<{ id: string }>(INSERT_SQL[family], [familyRowsJson(family, list)]);
      if (rows.length === list.length) inserted.push(...list);
      else {
        const ids = new Set(rows.map((r) => r.id));
        for (const e of list) if (ids.has(e.id)) inserted.push(e);
      }
    }
    if (inserted.length) await deriveFrom(q, inserted, opts, tx);
    if (deadLetters.length) await q(INSERT_DEAD_LETTERS_SQL, [JSON.stringify(deadLetters)]);
    return inserted;
  });
  result.transactions++;
  for (const p of tx.newPeriods) opts.aggregates?.knownPeriods.add(p);
  result.inserted += counts.length;
  result.copied += copied;
  result.duplicates += events.length - counts.length;
  result.deadLettered += deadLetters.length;
  addTally(result, tx);
  for (const e of counts) {
    result.byType.set(e.type, (result.byType.get(e.type) ?? 0) + 1);
    result.committed.push(e);
  }
}

/**
 * One family's events by COPY under a savepoint (src/db/copy.ts): true when every row went in. False,
 * the savepoint rolled back, when COPY cannot take them as they are: an event stored before (a
 * redelivery; COPY has no ON CONFLICT), a value PostgreSQL refuses, or one COPY text cannot carry. The
 * caller then inserts them with the INSERT that skips duplicates, and a refused value fails there as it
 * always did (the batch is split until the row is isolated). Anything but a data error or a duplicate
 * (a lost connection, a deadlock, a timeout) fails the transaction as any statement would.
 */
async function copyFamily(q: TxQuery, copy: TxCopy, family: Family, list: ValidEvent[]): Promise<boolean> {
  let text: string;
  try {
    text = familyCopyText(family, list);
  } catch (e) {
    if (e instanceof NotCopyable) return false;
    throw e;
  }
  await q(COPY_SAVEPOINT_SQL);
  try {
    await copy(COPY_SQL[family], text);
  } catch (e) {
    if (classifyDbError(e) !== 'data') throw e;
    await q(COPY_ROLLBACK_SQL);
    return false;
  }
  await q(COPY_RELEASE_SQL);
  return true;
}

/** One transaction's tally, and the leaderboard periods it created (known to the aggregates once it commits). */
interface TxTally extends SessionTally {
  newPeriods: string[];
}

/**
 * Everything derived from the events a transaction really inserted, in this order: the sessions (merged,
 * watermark, live state, snapshots), the participants and their effective outcomes, players, the
 * aggregates, the join queue, and the jobs the changes made due (ratings, snapshots).
 */
async function deriveFrom(q: TxQuery, inserted: ValidEvent[], opts: WriterOptions, tx: TxTally): Promise<void> {
  const deltas = sessionDeltas(inserted);
  const seqEvents = new Map<string, SeqEvent[]>();
  const turns = new Map<string, ValidEvent[]>();
  const docs = new Map<string, ValidEvent[]>();
  for (const e of inserted) {
    if (e.sessionId === null || e.seq === null) continue;
    push(seqEvents, e.sessionId, { seq: e.seq, id: e.id, type: e.type });
    if (e.family === 'turn') push(turns, e.sessionId, e);
    else if (e.family === 'doc') push(docs, e.sessionId, e);
  }
  let changes = new Map<string, SessionChange>();
  if (deltas.size) {
    const ids = [...deltas.keys()].sort();
    await q(ENSURE_SESSIONS_SQL, [JSON.stringify(ids.map((id) => ({ id, at: (deltas.get(id) as SessionDelta).firstAt })))]);
    const locked = await q<LockedSession>(LOCK_SESSIONS_SQL, [ids]);
    const adv = await advanceSessions(q, locked, deltas, seqEvents, turns, docs, advanceOptions(opts));
    changes = adv.changes;
    addTally(tx, adv.tally);
    await scheduleDue(q, adv, opts);
  }
  // A session whose key changed (a late, earlier session.created) takes its whole contribution along:
  // the old one read before the participants change, the new one after (./key-moves.ts).
  const all = [...changes.values()];
  const moves = new KeyMoves(changes);
  const agg = opts.aggregates;
  const movedOut = agg ? await moves.before(q, agg.timeZone, inserted) : [];
  const recheck = new Set(all.filter((c) => c.endChanged || (c.rated && c.rekeyedFrom !== undefined)).map((c) => c.id));
  const rated = new Set(all.filter((c) => c.rated).map((c) => c.id));
  const parts = await writeParticipants(q, inserted, recheck, rated);
  if (parts.stale.length) await q(MARK_RATINGS_STALE_SQL, [JSON.stringify(parts.stale)]);
  // The global players: named by sessions that are not confined.
  const players = playerRows(inserted.filter((e) => moves.namesGlobalPlayers(e)));
  if (players.length) await q(UPSERT_PLAYERS_SQL, [JSON.stringify(players)]);
  await moves.players(q);
  if (agg) {
    const movedIn = await moves.after(q, agg.timeZone);
    tx.newPeriods.push(...(await writeAggregates(q, agg, { inserted, keys: moves.keys(), outcomes: parts.outcomes, scores: parts.scores, movedOut, movedIn })));
  }
  const queue = joinQueueRows(inserted);
  if (queue.length) await q(UPSERT_JOIN_QUEUE_SQL, [JSON.stringify(queue)]);
}

function push<T>(m: Map<string, T[]>, k: string, v: T): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

/** A dead-letter row for a validated event (wire form) or for any raw payload. */
export function deadLetterForEvent(
  ev: ValidEvent,
  code: string,
  reason: string,
  field: string | null,
  queue: string | null,
  jobId: string | null,
): DeadLetterRow {
  const wire = { id: ev.id, type: ev.type, sessionId: ev.sessionId ?? undefined, seq: ev.seq ?? undefined, at: ev.at, player: ev.player ?? undefined, data: ev.data };
  return deadLetterForPayload(wire, { code, reason, field, queue, jobId, eventId: ev.id, sessionId: ev.sessionId, type: ev.type });
}

export function deadLetterForPayload(
  payload: unknown,
  m: {
    code: string; reason: string; field: string | null; queue: string | null; jobId: string | null; eventId?: unknown; sessionId?: unknown; type?: unknown;
    /** The head of a payload's text, stored instead of `payload` and marked truncated (an oversize job, never parsed). */
    rawText?: string;
  },
): DeadLetterRow {
  let text: string;
  let cut = false;
  if (m.rawText !== undefined) text = m.rawText;
  else
    try {
      text = JSON.stringify(payload) ?? String(payload);
    } catch {
      // JSON.stringify recurses: a payload nested a few thousand levels deep (which JSON.parse takes
      // happily) overflows the stack. Keep what a bounded walk can write, flagged as truncated.
      text = boundedJson(payload, DEAD_LETTER_DEPTH);
      cut = true;
    }
  const truncated = cut || m.rawText !== undefined || text.length > MAX_DEAD_LETTER_PAYLOAD;
  // NUL cannot be stored in text; keep the payload readable and mark where it was.
  text = (truncated ? text.slice(0, MAX_DEAD_LETTER_PAYLOAD) : text).replaceAll('\u0000', '\\u0000');
  if (!text.isWellFormed()) text = text.toWellFormed();
  const short = (v: unknown, n: number) => (typeof v === 'string' || typeof v === 'number' ? String(v).slice(0, n).toWellFormed().replaceAll('\u0000', '') : null);
  return {
    event_id: short(m.eventId, 64),
    session_id: short(m.sessionId, 128),
    type: short(m.type, 64),
    reason_code: m.code,
    reason: m.reason.slice(0, 2000).toWellFormed().replaceAll('\u0000', '\\u0000'),
    field: m.field ? m.field.slice(0, 200).toWellFormed().replaceAll('\u0000', '') : null,
    payload: text,
    truncated,
    queue: m.queue,
    job_id: m.jobId,
  };
}

/** Nesting kept of a dead letter's payload too deep for JSON.stringify: far beyond any event's maxDepth. */
const DEAD_LETTER_DEPTH = 64;

/**
 * JSON text of `v` with everything nested deeper than `depth` replaced by the string "…", and strings
 * and the output cut once past the dead-letter payload size (the row is flagged as truncated anyway).
 */
export function boundedJson(v: unknown, depth: number): string {
  const parts: string[] = [];
  let size = 0;
  const put = (s: string) => {
    size += s.length;
    parts.push(s);
  };
  const go = (x: unknown, d: number): void => {
    if (size > MAX_DEAD_LETTER_PAYLOAD) return;
    if (x === null || typeof x !== 'object') {
      put(typeof x === 'string' ? JSON.stringify(x.slice(0, MAX_DEAD_LETTER_PAYLOAD)) : (JSON.stringify(x) ?? 'null'));
      return;
    }
    if (d >= depth) {
      put('"…"');
      return;
    }
    if (Array.isArray(x)) {
      put('[');
      x.forEach((c, i) => {
        if (i) put(',');
        go(c, d + 1);
      });
      put(']');
      return;
    }
    put('{');
    let first = true;
    for (const k of Object.keys(x)) {
      if (!first) put(',');
      first = false;
      put(`${JSON.stringify(k)}:`);
      go((x as Record<string, unknown>)[k], d + 1);
    }
    put('}');
  };
  go(v, 0);
  return parts.join('');
}
