/**
 * A job's size is checked before its JSON is parsed. A worker fetching a 50 MB job would otherwise
 * build it into objects on its heap (several times its text size) before any limit applies: the
 * worker thread runs out of heap, the job is redelivered, and the next worker dies the same way.
 *
 * Where the parse happens differs per backend, so the check sits at both places, in front of it:
 * - Redis: BullMQ's Worker builds each fetched job with `this.Job.fromJSON(...)`, whose `data` is the
 *   raw JSON string. `boundedJobClass` is a Job subclass (BullMQ's documented extension point, the
 *   protected `Job` getter) whose fromJSON replaces oversize data with a small marker first.
 * - PostgreSQL: the job row's `data` is jsonb, parsed by node-postgres's type parser as the row
 *   arrives (before BullMQ sees it). `boundedJsonbTypes` is a pool `types` override whose jsonb
 *   parser returns the same marker for oversize text.
 * The processor then sees the marker (`isOversizeJob`) and dead-letters the job as `job_too_large`
 * with the head of its text, and the job is acknowledged like any other: it is never parsed, never
 * retried.
 */
import { Job, type JobJson } from 'bullmq';
import { pgDriver } from '../db/pg-driver.ts';

/** The key that marks a job's data as replaced (no producer sends it: it is not a contract field). */
export const OVERSIZE_MARK = '__gpOversizeJob';

/** Characters of an oversize job's JSON text kept for its dead letter. */
export const OVERSIZE_HEAD_CHARS = 4096;

export interface OversizeJob {
  [OVERSIZE_MARK]: true;
  /** UTF-8 bytes of the job's JSON text. */
  bytes: number;
  limit: number;
  /** The first OVERSIZE_HEAD_CHARS characters of the text. */
  head: string;
}

/** The UTF-8 size of `text` when it is over `limit`, else null (cheap for the usual small text). */
function sizeOver(text: string, limit: number): number | null {
  // A UTF-16 unit is at most 3 UTF-8 bytes: short text needs no count.
  if (text.length * 3 <= limit) return null;
  const bytes = Buffer.byteLength(text);
  return bytes > limit ? bytes : null;
}

/** The marker for `text` if it is over `limit` bytes; null when it may be parsed. */
export function oversizeJob(text: string, limit: number): OversizeJob | null {
  const bytes = sizeOver(text, limit);
  return bytes === null ? null : { [OVERSIZE_MARK]: true, bytes, limit, head: text.slice(0, OVERSIZE_HEAD_CHARS) };
}

export function isOversizeJob(data: unknown): data is OversizeJob {
  return typeof data === 'object' && data !== null && (data as Record<string, unknown>)[OVERSIZE_MARK] === true;
}

/** BullMQ's Job, with `data` over `maxBytes` replaced by an OversizeJob before it is parsed. */
export function boundedJobClass(maxBytes: number): typeof Job {
  // The cast: a subclass of the generic Job cannot restate its generic construct signature.
  const BoundedJob = class extends Job {
    static override fromJSON<T = any, R = any, N extends string = string>(queue: Parameters<typeof Job.fromJSON>[0], json: JobJson, jobId?: string): Job<T, R, N> {
      const marker = typeof json.data === 'string' ? oversizeJob(json.data, maxBytes) : null;
      return super.fromJSON<T, R, N>(queue, marker ? { ...json, data: JSON.stringify(marker) } : json, jobId);
    }
  };
  return BoundedJob as unknown as typeof Job;
}

const JSON_OID = 114;
const JSONB_OID = 3802;

/**
 * node-postgres type parsers (a pool's `types` option) that turn json/jsonb text over `maxBytes` into an
 * OversizeJob instead of parsing it. Only a job's `data` can be that large (opts, progress and
 * stack traces are small and bounded by BullMQ).
 */
export function boundedJsonbTypes(maxBytes: number) {
  return {
    getTypeParser(oid: number, format?: 'text' | 'binary') {
      if ((oid === JSONB_OID || oid === JSON_OID) && format !== 'binary') return (text: string) => oversizeJob(text, maxBytes) ?? JSON.parse(text);
      return pgDriver().types.getTypeParser(oid, format as 'text');
    },
  };
}
