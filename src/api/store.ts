/**
 * The HTTP API's short-lived records (Idempotency-Key answers, tenant claims on sessions created
 * through the API): keys with a time to live, shared by every replica. In Redis with the Redis queue
 * backend; in PostgreSQL's `api_records` table with GP_QUEUE_BACKEND=postgres, so that deployment
 * needs no Redis at all (src/db/sql/api-records.ts). The four operations are what the API needs of
 * Redis: SET NX EX, SET EX, MGET, DEL.
 */
import type { Redis } from 'ioredis';
import { CLAIM_RECORD_SQL, DELETE_RECORD_SQL, GET_RECORDS_SQL, PUT_RECORD_SQL } from '../db/sql/api-records.ts';
import type { Queryable } from '../db/sql/sequence-counters.ts';

export interface ApiStore {
  /** Sets `key` to `value` for `ttlS` seconds unless a live record holds it; true when it was set. */
  claim(key: string, value: string, ttlS: number): Promise<boolean>;
  /** Sets `key` to `value` for `ttlS` seconds, whatever it held. */
  put(key: string, value: string, ttlS: number): Promise<void>;
  /** The live values of `keys`, in order (null: none). */
  get(keys: string[]): Promise<(string | null)[]>;
  del(key: string): Promise<void>;
}

export function redisApiStore(redis: Redis): ApiStore {
  return {
    claim: async (key, value, ttlS) => (await redis.set(key, value, 'EX', ttlS, 'NX')) === 'OK',
    put: async (key, value, ttlS) => void (await redis.set(key, value, 'EX', ttlS)),
    get: (keys) => redis.mget(keys),
    del: async (key) => void (await redis.del(key)),
  };
}

export function pgApiStore(db: Queryable): ApiStore {
  return {
    claim: async (key, value, ttlS) => (await db.query(CLAIM_RECORD_SQL, [key, value, ttlS])).rows.length === 1,
    put: async (key, value, ttlS) => void (await db.query(PUT_RECORD_SQL, [key, value, ttlS])),
    async get(keys) {
      const { rows } = await db.query<{ key: string; value: string }>(GET_RECORDS_SQL, [keys]);
      const found = new Map(rows.map((r) => [r.key, r.value]));
      return keys.map((k) => found.get(k) ?? null);
    },
    del: async (key) => void (await db.query(DELETE_RECORD_SQL, [key])),
  };
}
