/**
 * The sequence watermark of each session a transaction touches: `applied_seq` is the highest seq such
 * that every seq from 1 to it is stored (or given up as lost). Exact, from the stored seqs themselves,
 * never from counts — two events at one seq (a producer that issued a number twice) would make a count
 * lie. Such conflicts are found here and recorded; a seq below the watermark that arrives after it was
 * given up is counted back.
 *
 * The common case needs no read: nothing was stored beyond the watermark and the batch brings exactly
 * the next seqs. Otherwise the stored seqs in question are read, for all sessions in one statement.
 */
import type { TxQuery } from '../db/query.ts';
import { INSERT_SEQ_CONFLICTS_SQL } from '../db/sql/sessions.ts';
import { SEQS_AT_SQL, SEQS_IN_RANGES_SQL } from '../db/sql/sequence.ts';

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
  lost: number;
  conflicts: number;
  /** Seconds the gap has been open; null when none is. */
  gapAgeS: number | null;
  /** Events this transaction inserted for the session that carry a seq. */
  events: SeqEvent[];
}

export interface Watermark {
  applied: number;
  /** Seqs still missing below the highest stored one. */
  gapOpen: boolean;
  lost: number;
  conflicts: number;
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

/** Advances the watermarks; records conflicts. `gapTimeoutS` > 0: a gap older than this is given up. */
export async function advanceWatermarks(q: TxQuery, inputs: WatermarkInput[], gapTimeoutS: number): Promise<Map<string, Watermark>> {
  const out = new Map<string, Watermark>();
  const probe: { session_id: string; seq: number }[] = [];
  const ranges: { session_id: string; after: number; upto: number }[] = [];
  const slow: WatermarkInput[] = [];
  for (const s of inputs) {
    const seqs = s.events.map((e) => e.seq).sort((a, b) => a - b);
    const hi = Math.max(s.lastSeq, seqs[seqs.length - 1] ?? 0);
    if (s.lastSeq <= s.applied && seqs.every((x, i) => x === s.applied + 1 + i)) {
      out.set(s.id, { applied: s.applied + seqs.length, gapOpen: false, lost: s.lost, conflicts: s.conflicts });
      continue;
    }
    slow.push(s);
    // Is any of the batch's seqs taken twice (a conflict), or one given up earlier (below the watermark)?
    for (const x of new Set(seqs)) probe.push({ session_id: s.id, seq: x });
    const timedOut = gapTimeoutS > 0 && s.gapAgeS !== null && s.gapAgeS > gapTimeoutS;
    // The watermark can only move if the next seq is here now, or the gap is given up.
    if (hi > s.applied && (seqs.includes(s.applied + 1) || timedOut)) ranges.push({ session_id: s.id, after: s.applied, upto: hi });
  }
  if (!slow.length) return out;

  type Row = { session_id: string; seq: string; id: string; type: string };
  const [atSeqs, inRanges] = await Promise.all([
    probe.length ? q<Row>(SEQS_AT_SQL, [JSON.stringify(probe)]) : Promise.resolve([] as Row[]),
    ranges.length ? q<Row>(SEQS_IN_RANGES_SQL, [JSON.stringify(ranges)]) : Promise.resolve([] as Row[]),
  ]);
  const bySeq = new Map<string, Map<number, Row[]>>();
  for (const r of atSeqs) {
    let m = bySeq.get(r.session_id);
    if (!m) bySeq.set(r.session_id, (m = new Map()));
    const seq = Number(r.seq);
    const list = m.get(seq);
    if (list) list.push(r);
    else m.set(seq, [r]);
  }
  const stored = new Map<string, number[]>();
  for (const r of inRanges) {
    const list = stored.get(r.session_id);
    if (list) list.push(Number(r.seq));
    else stored.set(r.session_id, [Number(r.seq)]);
  }
  const conflicts: { session_id: string; event_id: string; seq: number; type: string }[] = [];
  for (const s of slow) {
    let lost = s.lost;
    const mine = new Set(s.events.map((e) => e.id));
    for (const [seq, rows] of bySeq.get(s.id) ?? []) {
      if (rows.length > 1) {
        // Every event at a seq that holds more than one: the pair is the conflict, whichever came first.
        for (const r of rows) conflicts.push({ session_id: s.id, event_id: r.id, seq, type: r.type });
      } else if (seq <= s.applied && mine.has(rows[0]!.id) && lost > 0) lost--; // a seq given up as lost, arrived after all
    }
    const hi = Math.max(s.lastSeq, ...s.events.map((e) => e.seq));
    let applied = s.applied;
    const range = ranges.find((r) => r.session_id === s.id);
    if (range) {
      const seqs = stored.get(s.id) ?? [];
      applied = contiguousUpTo(s.applied, seqs);
      const timedOut = gapTimeoutS > 0 && s.gapAgeS !== null && s.gapAgeS > gapTimeoutS;
      if (applied < hi && timedOut) {
        // Given up: every seq up to the highest stored counts as present; the missing ones are lost.
        lost += hi - s.applied - new Set(seqs).size;
        applied = hi;
      }
    }
    out.set(s.id, { applied, gapOpen: applied < hi, lost, conflicts: s.conflicts });
  }
  if (conflicts.length) {
    conflicts.sort((a, b) => (a.session_id < b.session_id ? -1 : a.session_id > b.session_id ? 1 : a.event_id < b.event_id ? -1 : 1));
    for (const r of await q<{ session_id: string }>(INSERT_SEQ_CONFLICTS_SQL, [JSON.stringify(conflicts)])) {
      const w = out.get(r.session_id);
      if (w) w.conflicts++;
    }
  }
  return out;
}
