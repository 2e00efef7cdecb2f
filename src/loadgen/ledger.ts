/**
 * The ledger of a load: every event a producer was told was accepted, in the order it was told, and the
 * check that holds the pipeline to it after the queue drained. An event in the ledger is owed: it must
 * be stored exactly once. An event stored for the run's sessions but absent from the ledger is
 * "unexpected": a producer killed between an acknowledgement and writing its ledger line leaves one.
 */
import { readFileSync } from 'node:fs';
import type { Reader } from '../db/reader.ts';
import { RUN_DEAD_LETTERS_SQL, RUN_LOST_SEQS_SQL, RUN_SESSION_STATES_SQL, RUN_STORED_SQL, RUN_TURN_RESULTS_SQL, RUN_UNAPPLIED_SQL, RUN_UNRATED_SQL, RUN_WATERMARKS_SQL } from '../db/sql/ledger.ts';
import { foldTurnBounded, stateBytes } from '../sessions/fold-state.ts';
import { DEFAULT_MAX_STATE_BYTES } from '../contract/limits.ts';

/** An accepted event in wire form, as its producer sent it, with the id and seq it was given. */
export interface LedgerEvent {
  id: string;
  type: string;
  sessionId: string | null;
  player: string | null;
  seq: number | null;
  at: string;
  data: Record<string, unknown>;
}

/**
 * Reads a ledger file. A line cut short by a kill mid-write is dropped (its event was acknowledged, so
 * it may show up as unexpected, never as lost).
 */
export function readLedger(path: string): LedgerEvent[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: LedgerEvent[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      out.push(JSON.parse(line) as LedgerEvent);
    } catch {
      // the torn last line of a killed writer
    }
  }
  return out;
}

export interface LedgerReport {
  /** Events in the ledger. */
  emitted: number;
  /** Of those, stored (once or more). */
  persisted: number;
  /** Ledger ids not stored. */
  lost: string[];
  /** Ledger ids stored more than once (in two tables, or twice in one). */
  duplicated: string[];
  /** (session, seq) pairs that two stored events of the run share. */
  duplicatedSeqs: { sessionId: string; seq: number; ids: string[] }[];
  /** Events stored for the run's sessions that are not in the ledger. */
  unexpected: number;
  /** Dead letters of the run's sessions. */
  deadLettered: number;
}

/** Escapes LIKE's wildcards in a run id, which then matches as a prefix. */
export function likePrefix(run: string): string {
  return run.replace(/[\\%_]/g, (c) => `\\${c}`) + '-%';
}

/**
 * Compares a drained pipeline with the ledger of run `run` (every session id of the run starts with
 * `${run}-`, and so does the tenant of its sessionless join-queue events): every ledger event stored once, no seq shared, nothing dead-lettered.
 */
export async function checkLedger(reader: Reader, ledger: readonly LedgerEvent[], run: string): Promise<LedgerReport> {
  const like = likePrefix(run);
  const stored = new Map<string, number>();
  const bySeq = new Map<string, string[]>();
  for (const sql of RUN_STORED_SQL) {
    for (const r of await reader.read<{ id: string; session_id: string | null; seq: string | null }>(sql, [like])) {
      stored.set(r.id, (stored.get(r.id) ?? 0) + 1);
      if (r.seq === null || r.session_id === null) continue;
      const k = `${r.session_id}\u0000${r.seq}`;
      const ids = bySeq.get(k);
      if (ids) ids.push(r.id);
      else bySeq.set(k, [r.id]);
    }
  }
  const owed = new Set<string>();
  const lost: string[] = [];
  const duplicated: string[] = [];
  for (const e of ledger) {
    const tenant = e.sessionId === null ? e.data.tenant : null;
    if (!String(e.sessionId ?? tenant ?? '').startsWith(`${run}-`)) continue;
    owed.add(e.id);
    const n = stored.get(e.id) ?? 0;
    if (n === 0) lost.push(e.id);
    else if (n > 1) duplicated.push(e.id);
  }
  let unexpected = 0;
  for (const id of stored.keys()) if (!owed.has(id)) unexpected++;
  const duplicatedSeqs = [...bySeq].filter(([, ids]) => ids.length > 1).map(([k, ids]) => {
    const [sessionId, seq] = k.split('\u0000');
    return { sessionId, seq: Number(seq), ids };
  });
  const [dead] = await reader.read<{ n: number }>(RUN_DEAD_LETTERS_SQL, [like]);
  return { emitted: owed.size, persisted: owed.size - lost.length, lost, duplicated, duplicatedSeqs, unexpected, deadLettered: dead.n };
}

export interface StateReport {
  sessions: number;
  /** Sessions whose live state differs from folding their stored turn results in seq order. */
  stateDrift: string[];
  /** Sessions the ledger ended (session.finished) that are not finished. */
  notFinished: string[];
}

/**
 * Re-folds each session of the run from its stored turn results in seq order (up to the event that
 * ended it) and compares with the live state the workers kept, and checks that every session the
 * ledger finished is finished.
 */
export async function checkStates(reader: Reader, ledger: readonly LedgerEvent[], run: string, maxStateBytes = DEFAULT_MAX_STATE_BYTES): Promise<StateReport> {
  const like = likePrefix(run);
  const sessions = await reader.read<{ id: string; status: string; state: Record<string, unknown> | null; end_seq: string | null }>(RUN_SESSION_STATES_SQL, [like]);
  const turns = await reader.read<{ session_id: string; seq: string; state: Record<string, unknown> | null; patch: Record<string, unknown> | null }>(RUN_TURN_RESULTS_SQL, [like]);
  // The workers' fold step, bound included (GP_MAX_STATE_BYTES: pass the workers' value).
  const folded = new Map<string, { state: Record<string, unknown>; bytes: number }>();
  const ends = new Map(sessions.map((s) => [s.id, s.end_seq === null ? Infinity : Number(s.end_seq)]));
  for (const t of turns) {
    if (Number(t.seq) > (ends.get(t.session_id) ?? Infinity)) continue;
    const cur = folded.get(t.session_id) ?? { state: {}, bytes: stateBytes({}) };
    folded.set(t.session_id, foldTurnBounded(cur.state, cur.bytes, t, maxStateBytes));
  }
  const canon = (x: unknown) => JSON.stringify(x, (_k, v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v));
  const stateDrift = sessions.filter((s) => folded.has(s.id) && canon(folded.get(s.id)?.state) !== canon(s.state)).map((s) => s.id);
  const finished = new Set(ledger.filter((e) => e.type === 'session.finished').map((e) => String(e.sessionId)));
  const notFinished = sessions.filter((s) => finished.has(s.id) && s.status !== 'finished').map((s) => s.id);
  for (const id of finished) if (!sessions.some((s) => s.id === id)) notFinished.push(id);
  return { sessions: sessions.length, stateDrift, notFinished };
}

/**
 * Sessions of the run whose watermark is below their last seq: events still in flight, or a gap — a
 * seq drawn whose event never came (a producer that lost a draw's reply drew again) — that the workers
 * give up after GP_GAP_TIMEOUT_S (then the state folds on).
 */
export async function unappliedSessions(reader: Reader, run: string): Promise<number> {
  const [r] = await reader.read<{ n: number }>(RUN_UNAPPLIED_SQL, [likePrefix(run)]);
  return r.n;
}

/**
 * Seqs of the run's sessions given up as lost (the sum of `sessions.lost_seqs`). The workers log and
 * count every one they give up (gp_sequence_given_up_total, net of late arrivals): the chaos runner
 * holds this sum to their counts, so a loss counts as reported only where an operator sees it.
 */
export async function lostSeqsOfRun(reader: Reader, run: string): Promise<number> {
  const [r] = await reader.read<{ n: string }>(RUN_LOST_SEQS_SQL, [likePrefix(run)]);
  return Number(r?.n ?? 0);
}

/** Finished sessions of the run that are final (nothing before their end can still arrive) and not rated. */
export async function unratedSessions(reader: Reader, run: string): Promise<string[]> {
  return (await reader.read<{ id: string }>(RUN_UNRATED_SQL, [likePrefix(run)])).map((r) => r.id);
}

export interface LossReport {
  /** Lost ledger ids whose seq the sequence-gap detection gave up (counted in sessions.lost_seqs). */
  reported: string[];
  /** Lost ledger ids nobody was told about: no seq, or a seq the session's watermark has not passed. */
  unreported: string[];
}

/**
 * Splits lost ledger events (checkLedger's `lost`) into those the pipeline reported and silent ones. A
 * session's watermark (`applied_seq`) passes a seq only once its event is stored or the gap was given
 * up and counted in `lost_seqs` (by a worker that logs it and counts it in gp_sequence_given_up_total:
 * the runner checks the two agree); so a lost event at or below the watermark was reported, if the
 * session's `lost_seqs` covers every such event (else the surplus counts as unreported). A lost event
 * above the watermark is silent: a session whose last events were lost and whose producer never
 * reported what it had issued (an issued-seq report, docs/contract.md), or an event without a seq.
 */
export async function classifyLosses(reader: Reader, ledger: readonly LedgerEvent[], lost: readonly string[], run: string): Promise<LossReport> {
  const out: LossReport = { reported: [], unreported: [] };
  if (!lost.length) return out;
  const marks = new Map((await reader.read<{ id: string; applied_seq: string; lost_seqs: string }>(RUN_WATERMARKS_SQL, [likePrefix(run)])).map((r) => [r.id, r]));
  const missing = new Set(lost);
  const bySession = new Map<string, LedgerEvent[]>();
  for (const e of ledger) {
    if (!missing.has(e.id)) continue;
    const m = e.sessionId === null ? undefined : marks.get(e.sessionId);
    if (e.seq === null || !m || e.seq > Number(m.applied_seq)) out.unreported.push(e.id);
    else bySession.set(e.sessionId!, [...(bySession.get(e.sessionId!) ?? []), e]);
  }
  for (const [sid, es] of bySession) {
    const given = Number(marks.get(sid)!.lost_seqs);
    out.reported.push(...es.slice(0, given).map((e) => e.id));
    out.unreported.push(...es.slice(given).map((e) => e.id));
  }
  return out;
}
