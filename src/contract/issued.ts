/**
 * Issued-seq reports: the highest seq a producer issued for a session, sent through the queue as a
 * job's `issued` list (`{ v: 1, events: [], issued: [{ sessionId, seq }] }`, docs/contract.md
 * "Issued-seq reports"). The SDK sends one after its Redis may have rolled back (a restart with the
 * AOF's fsync window lost, a failover to a replica that lagged): events Redis lost with nothing after
 * them in their session leave no gap for the workers to see, and the report makes their seqs expected,
 * so they are given up and counted as lost like any gap.
 */
import { idReason, isId, isPlainObject } from './fields.ts';
import { MAX_ISSUED_PER_JOB } from './limits.ts';

export interface IssuedMark {
  /** The session id as text (an integer id is the same session as its string form). */
  sessionId: string;
  /** Every seq from 1 to this one was issued for the session. */
  seq: number;
}

/** An entry of `issued` the contract refuses: its index, the offending field and why. */
export interface IssuedProblem {
  index: number;
  field: string;
  reason: string;
  entry: unknown;
}

const KEYS = new Set(['sessionId', 'seq']);

/** Reads a job's `issued` list: the valid marks, and a problem for each entry that is not one. */
export function parseIssued(raw: unknown): { marks: IssuedMark[]; problems: IssuedProblem[] } {
  const marks: IssuedMark[] = [];
  const problems: IssuedProblem[] = [];
  if (!Array.isArray(raw)) return { marks, problems: [{ index: -1, field: 'issued', reason: 'must be an array of {sessionId, seq}', entry: raw }] };
  raw.forEach((entry, index) => {
    const at = `issued[${index}]`;
    if (index >= MAX_ISSUED_PER_JOB) return void problems.push({ index, field: at, reason: `a job carries at most ${MAX_ISSUED_PER_JOB} issued marks`, entry });
    if (!isPlainObject(entry)) return void problems.push({ index, field: at, reason: 'must be an object {sessionId, seq}', entry });
    const stray = Object.keys(entry).find((k) => !KEYS.has(k));
    if (stray !== undefined) return void problems.push({ index, field: `${at}.${stray.slice(0, 64)}`, reason: 'is not a field of an issued mark', entry });
    if (!isId(entry.sessionId)) return void problems.push({ index, field: `${at}.sessionId`, reason: idReason(entry.sessionId), entry });
    const seq = entry.seq;
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) return void problems.push({ index, field: `${at}.seq`, reason: 'must be an integer >= 1', entry });
    marks.push({ sessionId: String(entry.sessionId), seq });
  });
  return { marks, problems };
}

/** One mark per session, the highest (a job may name a session twice; the worker locks each row once). */
export function highestPerSession(marks: readonly IssuedMark[]): IssuedMark[] {
  const best = new Map<string, number>();
  for (const m of marks) if (m.seq > (best.get(m.sessionId) ?? 0)) best.set(m.sessionId, m.seq);
  return [...best].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([sessionId, seq]) => ({ sessionId, seq }));
}
