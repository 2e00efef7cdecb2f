/**
 * Applies doc.put / doc.delete events to the `documents` table in each session's seq order, inside the
 * transaction that holds the session's row lock (docs/contract.md, "Documents").
 *
 * A document is the fold, in position order (seq, then id), of its session's doc events through the
 * contiguous watermark: one that arrives behind a gap is stored and waits (outcome NULL); the
 * transaction that fills the gap applies it. One that arrives below the watermark (a seq given up as
 * lost that came after all, two events at one seq) makes each document it names fold again from its
 * first event, its events' outcomes rewritten: a document always equals the fold of what is stored, in
 * order. Versions count every applied write (a delete included), so a version never repeats and a stale
 * `expectedVersion` cannot match a newer document.
 */
import type { ValidEvent } from '../contract/events.ts';
import type { TxQuery } from '../db/query.ts';
import {
  CURRENT_DOCUMENTS_SQL,
  DELETE_DOCUMENTS_SQL,
  DOC_EVENTS_OF_KEYS_SQL,
  DOC_EVENTS_RANGE_SQL,
  OWNER_BYTES_SQL,
  SET_DOC_OUTCOMES_SQL,
  UPSERT_DOCUMENTS_SQL,
  type DocEventRow,
  type DocKey,
} from '../db/sql/documents.ts';

export interface DocInput {
  id: string;
  /** The watermark before and after this transaction. */
  appliedBefore: number;
  applied: number;
  /** Highest doc event seq stored before this transaction. */
  lastDocSeqBefore: number;
  /** Doc events this transaction inserted. */
  docs: ValidEvent[];
}

export type DocOutcome = 'applied' | 'conflict' | 'over_limit';

export interface DocResult {
  applied: number;
  conflicts: number;
  overLimit: number;
  /** Documents folded again from their first event. */
  refolds: number;
}

interface DocState extends DocKey {
  /** null: absent or deleted. */
  value: unknown;
  /** 0: never written. */
  version: number;
  bytes: number;
  /** The event that wrote the current version; null: none (a fold from the start found nothing). */
  writer: DocEventRow | null;
}

const docId = (k: DocKey) => JSON.stringify([k.session_id, k.owner, k.collection, k.key]);
const keyOf = (k: DocKey): DocKey => ({ session_id: k.session_id, owner: k.owner, collection: k.collection, key: k.key });
const ownerId = (session: string, owner: string) => JSON.stringify([session, owner]);

function rowOf(sessionId: string, e: ValidEvent): DocEventRow {
  const d = e.data;
  return {
    session_id: sessionId,
    seq: e.seq ?? 0,
    id: e.id,
    type: e.type as DocEventRow['type'],
    owner: d.owner === 'player' ? (e.player ?? '') : '',
    collection: d.collection as string,
    key: d.key as string,
    expected_version: (d.expectedVersion as number | undefined) ?? null,
    value: d.value ?? null,
    at: e.at,
  };
}

const bySeq = (a: DocEventRow, b: DocEventRow) => Number(a.seq) - Number(b.seq) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Applies what each session's watermark now covers; `maxOwnerBytes` bounds each owner's documents. */
export async function applyDocuments(q: TxQuery, inputs: DocInput[], maxOwnerBytes: number): Promise<DocResult> {
  const result: DocResult = { applied: 0, conflicts: 0, overLimit: 0, refolds: 0 };
  /** Events to apply, in order, per session, and the documents to fold from the start. */
  const incremental = new Map<string, DocEventRow[]>();
  const refold = new Map<string, DocKey & { upto: number }>();
  const ranges: { session_id: string; after: number; upto: number }[] = [];
  for (const f of inputs) {
    const mine = f.docs.map((e) => rowOf(f.id, e));
    for (const r of mine)
      if (Number(r.seq) <= f.appliedBefore) refold.set(docId(r), { ...keyOf(r), upto: f.applied });
    if (f.applied <= f.appliedBefore) continue;
    if (f.lastDocSeqBefore <= f.appliedBefore) {
      // Nothing waited beyond the watermark: what it now covers is this transaction's.
      const list = mine.filter((r) => Number(r.seq) > f.appliedBefore && Number(r.seq) <= f.applied).sort(bySeq);
      if (list.length) incremental.set(f.id, list);
    } else ranges.push({ session_id: f.id, after: f.appliedBefore, upto: f.applied });
  }
  if (ranges.length) for (const r of await q<DocEventRow>(DOC_EVENTS_RANGE_SQL, [JSON.stringify(ranges)])) push(incremental, r.session_id, r);

  // A document folded from the start takes its incremental events along (they are in its full list).
  const steps: DocEventRow[] = [];
  for (const list of incremental.values()) for (const r of list) if (!refold.has(docId(r))) steps.push(r);
  if (!steps.length && !refold.size) return result;

  const docs = new Map<string, DocState>();
  const touched = new Map<string, DocKey>();
  for (const r of steps) touched.set(docId(r), keyOf(r));
  for (const [id, k] of refold) touched.set(id, keyOf(k));
  const current = await q<Omit<DocState, 'writer'>>(CURRENT_DOCUMENTS_SQL, [JSON.stringify([...touched.values()])]);
  const owners = new Map<string, number>();
  const ownerKeys = new Map<string, { session_id: string; owner: string }>();
  for (const k of touched.values()) ownerKeys.set(ownerId(k.session_id, k.owner), { session_id: k.session_id, owner: k.owner });
  for (const o of await q<{ session_id: string; owner: string; bytes: string }>(OWNER_BYTES_SQL, [JSON.stringify([...ownerKeys.values()])]))
    owners.set(ownerId(o.session_id, o.owner), Number(o.bytes));
  for (const c of current) docs.set(docId(c), { ...c, writer: null });

  const outcomes: { session_id: string; id: string; outcome: DocOutcome; version: number }[] = [];
  const changed = new Set<string>();
  const apply = (r: DocEventRow) => {
    const id = docId(r);
    const oid = ownerId(r.session_id, r.owner);
    let d = docs.get(id);
    if (!d) {
      d = { ...keyOf(r), value: null, version: 0, bytes: 0, writer: null };
      docs.set(id, d);
    }
    const exists = d.value !== null;
    const expected = r.expected_version;
    if (expected !== null && (expected === 0 ? exists : !exists || d.version !== expected)) {
      outcomes.push({ session_id: r.session_id, id: r.id, outcome: 'conflict', version: exists ? d.version : 0 });
      result.conflicts++;
      return;
    }
    if (r.type === 'doc.delete') {
      if (exists) {
        owners.set(oid, (owners.get(oid) ?? 0) - d.bytes);
        d.value = null;
        d.bytes = 0;
        d.version++;
        d.writer = r;
        changed.add(id);
      }
      outcomes.push({ session_id: r.session_id, id: r.id, outcome: 'applied', version: d.version });
      result.applied++;
      return;
    }
    const bytes = Buffer.byteLength(JSON.stringify(r.value));
    const total = (owners.get(oid) ?? 0) - d.bytes + bytes;
    if (total > maxOwnerBytes) {
      outcomes.push({ session_id: r.session_id, id: r.id, outcome: 'over_limit', version: exists ? d.version : 0 });
      result.overLimit++;
      return;
    }
    owners.set(oid, total);
    d.value = r.value;
    d.bytes = bytes;
    d.version++;
    d.writer = r;
    changed.add(id);
    outcomes.push({ session_id: r.session_id, id: r.id, outcome: 'applied', version: d.version });
    result.applied++;
  };

  if (refold.size) {
    const full = await q<DocEventRow>(DOC_EVENTS_OF_KEYS_SQL, [JSON.stringify([...refold.values()])]);
    for (const id of refold.keys()) {
      const d = docs.get(id);
      if (d) owners.set(ownerId(d.session_id, d.owner), (owners.get(ownerId(d.session_id, d.owner)) ?? 0) - d.bytes);
      docs.delete(id);
      result.refolds++;
    }
    for (const r of full) apply(r);
  }
  for (const r of steps) apply(r);

  const upserts = [];
  const deletes = [];
  for (const id of new Set([...changed, ...refold.keys()])) {
    const d = docs.get(id);
    if (!d || !d.writer) {
      const k = refold.get(id);
      if (k) deletes.push(keyOf(k));
      continue;
    }
    upserts.push({
      session_id: d.session_id, owner: d.owner, collection: d.collection, key: d.key, value: d.value, version: d.version, bytes: d.bytes,
      seq: Number(d.writer.seq), event_id: d.writer.id, updated_at: d.writer.at,
    });
  }
  if (deletes.length) await q(DELETE_DOCUMENTS_SQL, [JSON.stringify(deletes)]);
  if (upserts.length) await q(UPSERT_DOCUMENTS_SQL, [JSON.stringify(upserts)]);
  if (outcomes.length) await q(SET_DOC_OUTCOMES_SQL, [JSON.stringify(outcomes)]);
  return result;
}

function push<T>(m: Map<string, T[]>, k: string, v: T): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}
