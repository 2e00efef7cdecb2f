/**
 * Reading documents: one by key, a collection by key prefix or range (paged by key), a session's
 * (recovery), a player's across sessions, and the writes that were not applied. Documents hold every
 * doc.put / doc.delete of their session through its contiguous watermark, applied in seq order.
 */
import { asReader, type ReadSource } from '../db/reader.ts';
import {
  DOC_REJECTIONS_SQL,
  DOCUMENT_SQL,
  DOCUMENTS_PAGE_SQL,
  PLAYER_DOCUMENTS_SQL,
  SESSION_DOCUMENTS_SQL,
  type DocRejectionRow,
  type DocumentRow,
} from '../db/sql/documents.ts';
import { AnalyticsError } from '../errors.ts';

export interface StoredDocument {
  sessionId: string;
  collection: string;
  key: string;
  /** The owning player; null for the session's own documents. */
  player: string | null;
  value: unknown;
  /** Compare-and-set token: pass it as `expectedVersion` to write only over this version. */
  version: number;
  /** The event that wrote this version, and its `at`. */
  seq: number;
  updatedAt: string;
}

export interface DocumentAddress {
  collection: string;
  key: string;
  /** A player's document in the session; absent: the session's own. */
  player?: string | null;
}

export interface DocumentPageOptions {
  collection: string;
  player?: string | null;
  /** Only keys starting with this. */
  prefix?: string;
  /** Keys >= from and < to (byte order). */
  from?: string;
  to?: string;
  /** The `next` of the previous page. */
  after?: string;
  /** @defaultValue 100, at most 1000 */
  limit?: number;
}

export interface DocumentPage {
  documents: StoredDocument[];
  /** Pass as `after` for the next page; null on the last page. */
  next: string | null;
}

export interface DocumentRejection {
  id: string;
  seq: number;
  type: string;
  player: string | null;
  collection: string;
  key: string;
  /** The owning player; null for the session's own documents. */
  owner: string | null;
  expectedVersion: number | null;
  /** conflict: `expectedVersion` differed from `version` (the version found, 0: none); over_limit: the owner's documents would have passed GP_MAX_OWNER_DOCUMENT_BYTES. */
  outcome: 'conflict' | 'over_limit';
  version: number;
  at: string;
}

export const MAX_DOCUMENT_PAGE = 1000;

function toDocument(r: DocumentRow): StoredDocument {
  return {
    sessionId: r.session_id,
    collection: r.collection,
    key: r.key,
    player: r.owner === '' ? null : r.owner,
    value: r.value,
    version: r.version,
    seq: Number(r.seq),
    updatedAt: r.updated_at,
  };
}

function pageLimit(limit: number | undefined): number {
  const n = limit ?? 100;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_DOCUMENT_PAGE) throw new AnalyticsError(`limit must be an integer from 1 to ${MAX_DOCUMENT_PAGE}`);
  return n;
}

/** One document of a session, or null. */
export async function readDocument(src: ReadSource, sessionId: string | number, at: DocumentAddress): Promise<StoredDocument | null> {
  const [r] = await asReader(src).read<DocumentRow>(DOCUMENT_SQL, [String(sessionId), at.player ?? '', at.collection, at.key]);
  return r ? toDocument(r) : null;
}

/** A page of one owner's collection in key order. */
export async function readDocuments(src: ReadSource, sessionId: string | number, o: DocumentPageOptions): Promise<DocumentPage> {
  const limit = pageLimit(o.limit);
  const rows = await asReader(src).read<DocumentRow>(DOCUMENTS_PAGE_SQL, [
    String(sessionId), o.player ?? '', o.collection, o.prefix ?? null, o.from ?? null, o.to ?? null, o.after ?? null, limit,
  ]);
  return { documents: rows.map(toDocument), next: rows.length === limit ? (rows[rows.length - 1] as DocumentRow).key : null };
}

export interface SessionDocuments {
  /** Every doc event of the session through this seq is applied (its contiguous watermark). */
  throughSeq: number;
  /** The session's documents and its players', by owner (the session's first), collection and key. */
  items: StoredDocument[];
  /** More than `limit` exist: read the rest by collection (readDocuments). */
  truncated: boolean;
}

/** Every document of a session (its own and its players'), at most `limit` (default 10,000); null for an unknown session. */
export async function readSessionDocuments(src: ReadSource, sessionId: string, o: { collections?: string[] | null; limit?: number } = {}): Promise<SessionDocuments | null> {
  const limit = o.limit ?? 10_000;
  const rows = await asReader(src).read<DocumentRow & { applied_seq: string }>(SESSION_DOCUMENTS_SQL, [sessionId, o.collections ?? null, limit + 1]);
  if (!rows.length) return null;
  const docs = rows.filter((r) => r.key !== null);
  return { throughSeq: Number(rows[0]!.applied_seq), items: docs.slice(0, limit).map(toDocument), truncated: docs.length > limit };
}

/** A page of a player's documents across sessions (by session, collection, key). */
export async function readPlayerDocuments(src: ReadSource, player: string | number, o: { collection?: string; after?: string; limit?: number } = {}): Promise<DocumentPage> {
  const limit = pageLimit(o.limit);
  let after: string | null = null;
  if (o.after !== undefined) {
    try {
      const parsed: unknown = JSON.parse(Buffer.from(o.after, 'base64url').toString('utf8'));
      if (!Array.isArray(parsed) || parsed.length !== 3 || !parsed.every((x) => typeof x === 'string')) throw new Error('shape');
      after = JSON.stringify(parsed);
    } catch {
      throw new AnalyticsError('after must be the `next` of a previous page');
    }
  }
  const rows = await asReader(src).read<DocumentRow>(PLAYER_DOCUMENTS_SQL, [String(player), o.collection ?? null, after, limit]);
  const last = rows[rows.length - 1];
  return {
    documents: rows.map(toDocument),
    next: rows.length === limit && last ? Buffer.from(JSON.stringify([last.session_id, last.collection, last.key])).toString('base64url') : null,
  };
}

/** A session's doc writes that were not applied (conflicts, owner limit), in seq order. */
export async function readDocumentRejections(src: ReadSource, sessionId: string | number, o: { afterSeq?: number; limit?: number } = {}): Promise<DocumentRejection[]> {
  const rows = await asReader(src).read<DocRejectionRow>(DOC_REJECTIONS_SQL, [String(sessionId), o.afterSeq ?? 0, pageLimit(o.limit ?? MAX_DOCUMENT_PAGE)]);
  return rows.map((r) => ({
    id: r.id,
    seq: Number(r.seq),
    type: r.type,
    player: r.player,
    collection: r.collection,
    key: r.key,
    owner: r.owner === '' ? null : r.owner,
    expectedVersion: r.expected_version,
    outcome: r.outcome,
    version: r.version,
    at: r.at,
  }));
}
