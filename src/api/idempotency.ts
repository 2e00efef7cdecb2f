/**
 * `Idempotency-Key` on POST /v1/events: a client that retries a batch (a timeout, a lost response)
 * sends the same key and gets the same ids and sequence numbers for the same events. Without it, a
 * retried event without its own seq would draw a new number: the worker drops the duplicate by id, and
 * the number it drew stays a gap until GP_GAP_TIMEOUT_S gives it up. Records live in the API's store
 * (Redis, or PostgreSQL with that queue backend: ./store.ts) for IDEMPOTENCY_TTL_S, per API key; about
 * 50 bytes per event.
 */
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../errors.ts';
import type { ApiStore } from './store.ts';

export const IDEMPOTENCY_TTL_S = 600;
const KEY_RE = /^[A-Za-z0-9_.:-]{8,128}$/;
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
    if (typeof header !== 'string' || !KEY_RE.test(header)) throw new ApiError(400, 'bad_request', 'Idempotency-Key must be 8-128 characters of A-Z a-z 0-9 _ . : -');
    const key = `${this.#prefix}:api-idem:${req.apiKey?.id ?? '-'}:${header}`;
    // Claim the key, or find what it holds: a request in flight, or the first answer.
    const claimed = await this.#store.claim(key, PENDING, IDEMPOTENCY_TTL_S);
    let previous: Answer | null = null;
    if (!claimed) {
      const [held] = await this.#store.get([key]);
      if (held === PENDING) throw new ApiError(409, 'in_progress', 'a request with this Idempotency-Key is still being processed; retry shortly');
      if (held !== null) {
        previous = JSON.parse(held) as Answer;
        if (previous.length !== events) throw new ApiError(422, 'idempotency_mismatch', `this Idempotency-Key was used for a request of ${previous.length} events, not ${events}`);
      }
    }
    return {
      previous,
      commit: async (answer) => {
        await this.#store.put(key, JSON.stringify(answer), IDEMPOTENCY_TTL_S);
      },
      // Nothing answered: a retry starts afresh (a retry of an answered request keeps its answer).
      abort: async () => {
        if (!previous) await this.#store.del(key);
      },
    };
  }
}
