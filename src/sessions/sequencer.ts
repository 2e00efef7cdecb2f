/**
 * The sequence watermark of each session a transaction touches: `applied_seq` is the highest seq such
 * that every seq from 1 to it is stored (or given up as lost). Exact, from the stored seqs themselves,
 * never from counts — two events at one seq (a producer that issued a number twice) would make a count
 * lie. Such conflicts are found here and recorded; a seq below the watermark that arrives after it was
 * given up is counted back.
 *
 * A producer's issued-seq report (`issued`, src/contract/issued.ts) raises what the session expects:
 * seqs up to it that are not stored are a gap like any other, so events the queue lost with nothing
 * after them in their session are given up and counted too.
 *
 * Reads are rare. In order, a batch brings exactly the next seqs. Out of order (replicas, redelivery),
 * the session row carries the seqs stored above the watermark (`ahead_seqs`), so the batch that fills
 * the gap finds how far the history is contiguous in memory. The event tables are read only for a seq
 * at or below the watermark (a late event), a seq taken twice (to name both events), and a session
 * whose seqs ahead are not known (more than AHEAD_LIMIT, or from before the column).
 */
import type { TxQuery } from '../db/query.ts';
import { INSERT_SEQ_CONFLICTS_SQL } from '../db/sql/sessions.ts';
import { SEQS_AT_SQL, SEQS_IN_RANGES_SQL } from '../db/sql/sequence.ts';

/** The warning a worker logs (with the sessions and counts) whenever it gives gaps up: batch, report or sweep alike. */
export const gaveUpMessage = (gapTimeoutS: number) =>
  `gave up sequence gaps open longer than GP_GAP_TIMEOUT_S (${gapTimeoutS} s): the missing seqs count as lost (sessions.lost_seqs, gp_sequence_given_up_total)`;

/** Seqs ahead of the watermark a session row keeps at most; past it they are read from the tables. */
export const AHEAD_LIMIT = 1000;

export interface SeqEvent {
  seq: number;
  id: string;
  type: string;
}

export interface WatermarkInput {
  id: string;
  /** Before this transaction. */
  applied: number;
  /** Highest seq stored before this transaction (session events). */
  lastSeq: number;
  /** Highest seq a producer reported issuing (sessions.issued_seq; 0: none). */
  issued: number;
  lost: number;
  conflicts: number;
  /** The distinct seqs stored above `applied` before this transaction; null when not known. */
  ahead: number[] | null;
  /** Seconds the gap has been open; null when none is. */
  gapAgeS: number | null;
  /** Events this transaction inserted for the session that carry a seq. */
  events: SeqEvent[];
}

export interface Watermark {
  applied: number;
  /** Seqs still missing below the highest stored (or reported issued) one. */
  gapOpen: boolean;
  lost: number;
  /** Seqs this transaction gave up as lost (a gap past GP_GAP_TIMEOUT_S), and given-up seqs that arrived after all. */
  givenUp: number;
  late: number;
  conflicts: number;
  /** The distinct seqs stored above `applied` now (null: not known). */
  ahead: number[] | null;
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

type Row = { session_id: string; seq: string; id: string; type: string };

/** Advances the watermarks; records conflicts. `gapTimeoutS` > 0: a gap older than this is given up. */
export async function advanceWatermarks(q: TxQuery, inputs: WatermarkInput[], gapTimeoutS: number): Promise<Map<string, Watermark>> {
  const out = new Map<string, Watermark>();
  const probe: { session_id: string; seq: number }[] = [];
  const ranges: { session_id: string; after: number; upto: number }[] = [];
  const slow: { s: WatermarkInput; hi: number; timedOut: boolean; ahead: Set<number> | null }[] = [];
  for (const s of inputs) {
    const seqs = s.events.map((e) => e.seq).sort((a, b) => a - b);
    if (s.lastSeq <= s.applied && (s.ahead?.length ?? 0) === 0 && seqs.every((x, i) => x === s.applied + 1 + i) && s.issued <= s.applied + seqs.length) {
      out.set(s.id, { applied: s.applied + seqs.length, gapOpen: false, lost: s.lost, givenUp: 0, late: 0, conflicts: s.conflicts, ahead: [] });
      continue;
    }
    const ahead = s.ahead === null ? null : new Set(s.ahead);
    const hi = Math.max(s.lastSeq, s.issued, seqs[seqs.length - 1] ?? 0, ...(s.ahead ?? []));
    const timedOut = gapTimeoutS > 0 && s.gapAgeS !== null && s.gapAgeS > gapTimeoutS;
    slow.push({ s, hi, timedOut, ahead });
    // Which of the batch's seqs need the tables: at or below the watermark (a late event: given up, or a
    // second event at a seq), taken twice in the batch or already stored ahead (a conflict, to name both
    // events), or any of them when the seqs ahead are not known.
    const seen = new Set<number>();
    for (const x of seqs) {
      if (x <= s.applied || ahead === null || ahead.has(x) || seen.has(x)) probe.push({ session_id: s.id, seq: x });
      seen.add(x);
    }
    // Without the seqs ahead, the watermark can only move (read from the tables) if the next seq is here, or the gap is given up.
    if (ahead === null && hi > s.applied && (seen.has(s.applied + 1) || timedOut)) ranges.push({ session_id: s.id, after: s.applied, upto: hi });
  }
  if (!slow.length) return out;

  const [atSeqs, inRanges] = await Promise.all([
    probe.length ? q<Row>(SEQS_AT_SQL, [JSON.stringify(dedupe(probe))]) : Promise.resolve([] as Row[]),
    ranges.length ? q<Row>(SEQS_IN_RANGES_SQL, [JSON.stringify(ranges)]) : Promise.resolve([] as Row[]),
  ]);
  const bySeq = group(atSeqs);
  const stored = new Map<string, number[]>();
  for (const r of inRanges) {
    const list = stored.get(r.session_id);
    if (list) list.push(Number(r.seq));
    else stored.set(r.session_id, [Number(r.seq)]);
  }
  const conflicts: { session_id: string; event_id: string; seq: number; type: string }[] = [];
  for (const { s, hi, timedOut, ahead } of slow) {
    let lost = s.lost;
    let late = 0;
    let givenUp = 0;
    const mine = new Set(s.events.map((e) => e.id));
    for (const [seq, rows] of bySeq.get(s.id) ?? []) {
      if (rows.length > 1) {
        // Every event at a seq that holds more than one: the pair is the conflict, whichever came first.
        for (const r of rows) conflicts.push({ session_id: s.id, event_id: r.id, seq, type: r.type });
      } else if (seq <= s.applied && mine.has(rows[0]!.id) && lost > 0) {
        lost--; // a seq given up as lost, arrived after all
        late++;
      }
    }
    let applied = s.applied;
    let known: Set<number> | null;
    if (ahead !== null) {
      known = new Set(ahead);
      for (const e of s.events) if (e.seq > s.applied) known.add(e.seq);
    } else if (ranges.some((r) => r.session_id === s.id)) known = new Set(stored.get(s.id) ?? []);
    else known = null;
    if (known !== null) {
      applied = contiguousUpTo(s.applied, [...known].sort((a, b) => a - b));
      if (applied < hi && timedOut) {
        // Given up: every seq up to the highest stored (or reported issued) counts as present; the missing ones are lost.
        givenUp = hi - s.applied - [...known].filter((x) => x > s.applied && x <= hi).length;
        lost += givenUp;
        applied = hi;
      }
    }
    const rest = known === null ? null : [...known].filter((x) => x > applied).sort((a, b) => a - b);
    out.set(s.id, { applied, gapOpen: applied < hi, lost, givenUp, late, conflicts: s.conflicts, ahead: rest !== null && rest.length <= AHEAD_LIMIT ? rest : null });
  }
  if (conflicts.length) {
    conflicts.sort((a, b) => (a.session_id < b.session_id ? -1 : a.session_id > b.session_id ? 1 : a.event_id < b.event_id ? -1 : 1));
    for (const r of await q<{ session_id: string }>(INSERT_SEQ_CONFLICTS_SQL, [JSON.stringify(dedupeConflicts(conflicts))])) {
      const w = out.get(r.session_id);
      if (w) w.conflicts++;
    }
  }
  return out;
}

function dedupe(probe: { session_id: string; seq: number }[]) {
  const seen = new Set<string>();
  return probe.filter((p) => {
    const k = `${p.session_id}\u0001${p.seq}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function dedupeConflicts<T extends { session_id: string; event_id: string }>(rows: T[]): T[] {
  return rows.filter((r, i) => i === 0 || r.session_id !== rows[i - 1]!.session_id || r.event_id !== rows[i - 1]!.event_id);
}

function group(rows: Row[]): Map<string, Map<number, Row[]>> {
  const bySeq = new Map<string, Map<number, Row[]>>();
  for (const r of rows) {
    let m = bySeq.get(r.session_id);
    if (!m) bySeq.set(r.session_id, (m = new Map()));
    const seq = Number(r.seq);
    const list = m.get(seq);
    if (list) list.push(r);
    else m.set(seq, [r]);
  }
  return bySeq;
}
