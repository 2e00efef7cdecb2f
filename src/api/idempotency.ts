/**
 * `Idempotency-Key` on POST /v1/events (draft-ietf-httpapi-idempotency-key-header): a client that
 * retries a batch (a timeout, a lost response) sends the same key and gets the same ids and sequence
 * numbers for the same events. Without it, a retried event without its own seq would draw a new
 * number: the worker drops the duplicate by id, and the number it drew stays a gap until
 * GP_GAP_TIMEOUT_S gives it up. Records live in the API's store (Redis, or PostgreSQL with that queue
 * backend: ./store.ts) for IDEMPOTENCY_TTL_S, per API key; about 50 bytes per event.
 *
 * A key reused with another request body is refused (422 `idempotency_mismatch`), as the draft says:
 * answering it with the first batch's ids and seqs would store the new events under those ids. The
 * request's fingerprint is the SHA-256 of the body's raw bytes, hashed as they arrive (before parsing):
 * a retry re-sends the same bytes (every HTTP client, our Python client included, keeps the body it
 * serialised once), so nothing finer is needed, and hashing what was received costs no second
 * serialisation of a parsed body that may be megabytes. A canonical form (RFC 8785 of the parsed JSON)
 * would also match a client that re-serialises with other spacing or key order, at the price of
 * canonicalising every keyed request and of deciding which parsed bodies are "the same" (duplicate
 * keys, NDJSON versus an array); we do not support such clients: same key, same bytes.
 *
 * The fingerprint is kept beside the answer under a key of its own, and the answer keeps the format
 * of the previous version, so replicas of both versions read each other's records during a rolling
 * upgrade. A record written by the previous version has no fingerprint: for its remaining lifetime (at
 * most IDEMPOTENCY_TTL_S after the upgrade) a reuse is judged as before, by the number of events only.
 */
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../errors.ts';
import type { ApiStore } from './store.ts';

export const IDEMPOTENCY_TTL_S = 600;
/**
 * The fingerprint outlives its answer by this much (both are written when the answer is): a retry
 * never finds the answer without it.
 */
const FINGERPRINT_EXTRA_S = 60;
/** The key as a token, or as the draft's Structured Field String (`"…"`), the same key either way. */
const KEY_RE = /^"?([A-Za-z0-9_.:-]{8,128})"?$/;
const PENDING = 'pending';

/** Per event of the first answer: [id, seq] when it was accepted, null when rejected. */
export type Answer = ([string, number | null] | null)[];

export interface IdempotentRequest {
  /** The first answer's ids and seqs, when this is a retry of an answered request. */
  previous: Answer | null;
  commit(answer: Answer): Promise<void>;
  abort(): Promise<void>;
}

const NONE: IdempotentRequest = { previous: null, commit: async () => {}, abort: async () => {} };

/** SHA-256 of each keyed request's raw body, set while it is read (fingerprintBody). */
const digests = new WeakMap<FastifyRequest, string>();

/**
 * A route's `preParsing` hook: hashes the body's bytes on their way to the parser when the request
 * carries an `Idempotency-Key` (any other request passes untouched, at no cost).
 */
export async function fingerprintBody(req: FastifyRequest, _reply: unknown, payload: NodeJS.ReadableStream): Promise<NodeJS.ReadableStream> {
  if (req.headers['idempotency-key'] === undefined) return payload;
  const hash = createHash('sha256');
  let received = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      received += chunk.length;
      // Fastify compares this with content-length and the body limit (its preParsing contract).
      (tap as Transform & { receivedEncodedLength: number }).receivedEncodedLength = received;
      done(null, chunk);
    },
    flush(done) {
      digests.set(req, hash.digest('base64url'));
      done();
    },
  });
  (tap as Transform & { receivedEncodedLength: number }).receivedEncodedLength = 0;
  // A client that goes away mid-body: the parser sees the error, as it would have without the tap.
  payload.on('error', (e) => tap.destroy(e));
  return payload.pipe(tap);
}

export class Idempotency {
  readonly #store: ApiStore;
  readonly #prefix: string;
  constructor(store: ApiStore, prefix: string) {
    this.#store = store;
    this.#prefix = prefix;
  }

  async begin(req: FastifyRequest, events: number): Promise<IdempotentRequest> {
    const header = req.headers['idempotency-key'];
    if (header === undefined) return NONE;
    const m = typeof header === 'string' && header.startsWith('"') === header.endsWith('"') ? KEY_RE.exec(header) : null;
    if (!m) throw new ApiError(400, 'bad_request', 'Idempotency-Key must be 8-128 characters of A-Z a-z 0-9 _ . : - (optionally in double quotes)');
    const name = `${req.apiKey?.id ?? '-'}:${m[1]}`;
    const key = `${this.#prefix}:api-idem:${name}`;
    const fpKey = `${this.#prefix}:api-idem-fp:${name}`;
    // Every keyed request passed fingerprintBody; a body Fastify did not stream (none) is hashed as parsed.
    const fingerprint = digests.get(req) ?? createHash('sha256').update(JSON.stringify(req.body) ?? '').digest('base64url');
    // Claim the key, or find what it holds: a request in flight, or the first answer.
    const claimed = await this.#store.claim(key, PENDING, IDEMPOTENCY_TTL_S);
    let previous: Answer | null = null;
    if (!claimed) {
      const [held, heldFingerprint] = await this.#store.get([key, fpKey]);
      if (held === PENDING) throw new ApiError(409, 'in_progress', 'a request with this Idempotency-Key is still being processed; retry shortly');
      if (held !== null && held !== undefined) {
        previous = JSON.parse(held) as Answer;
        if (heldFingerprint ? heldFingerprint !== fingerprint : previous.length !== events)
          throw new ApiError(
            422,
            'idempotency_mismatch',
            heldFingerprint
              ? 'this Idempotency-Key was used for a request with another body; a retry must send the same bytes, a new batch a new key'
              : `this Idempotency-Key was used for a request of ${previous.length} events, not ${events}`,
          );
      }
    }
    return {
      previous,
      commit: async (answer) => {
        // The fingerprint first: an answer is never visible without it.
        await this.#store.put(fpKey, fingerprint, IDEMPOTENCY_TTL_S + FINGERPRINT_EXTRA_S);
        await this.#store.put(key, JSON.stringify(answer), IDEMPOTENCY_TTL_S);
      },
      // Nothing answered: a retry starts afresh (a retry of an answered request keeps its answer).
      abort: async () => {
        if (!previous) await this.#store.del(key);
      },
    };
  }
}
