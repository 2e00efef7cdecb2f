/**
 * The ledger of a load: every event a producer was told was accepted, in the order it was told, and the
 * check that holds the pipeline to it after the queue drained. An event in the ledger is owed: it must
 * be stored exactly once. An event stored for the run's sessions but absent from the ledger is
 * "unexpected": a producer killed between an acknowledgement and writing its ledger line leaves one.
 */
import { readFileSync } from 'node:fs';
import { FAMILIES } from '../contract/events.ts';
import { FAMILY_TABLES } from '../db/families.ts';
import type { Reader } from '../db/reader.ts';

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

/** A table's events of the run: its sessions', and for join-queue events also its tenants'. */
const STORED_SQL = FAMILIES.map((f) => {
  const t = FAMILY_TABLES[f];
  return `SELECT id::text AS id, session_id, seq FROM ${t.table} WHERE session_id LIKE $1${t.key === 'tenant' ? ' OR tenant LIKE $1' : ''}`;
});
const DEAD_SQL = `SELECT count(*)::int AS n FROM dead_letters WHERE session_id LIKE $1`;

/** Escapes LIKE's wildcards in a run id, which then matches as a prefix. */
function likePrefix(run: string): string {
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
  for (const sql of STORED_SQL) {
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
  const [dead] = await reader.read<{ n: number }>(DEAD_SQL, [like]);
  return { emitted: owed.size, persisted: owed.size - lost.length, lost, duplicated, duplicatedSeqs, unexpected, deadLettered: dead.n };
}
