/**
 * The events queue's job-id horizon: the newest id handed out so far, and the oldest job not finished
 * yet. BullMQ numbers the jobs it is not given an id for (the SDK never gives one) from a counter per
 * queue, so once the oldest unfinished job is newer than an id read earlier, every job that existed at
 * that moment has left the queue: completed, or failed for good. The ratings run uses it to hold back a
 * session whose given-up seqs a job still in the queue may bring (src/aggregates/ratings.ts): a job held
 * by a crashed worker waits for its lock to expire, a failed one for its backoff.
 *
 * On Redis the counter is `<prefix>:<queue>:id` and the unfinished jobs are the wait, paused, active,
 * prioritized, delayed and waiting-children keys (one Lua call reads their ids, never their data); on
 * the PostgreSQL backend, the queue's job-id sequence and the job table. A job added with an id of its
 * own (not a number) counts as the oldest possible: it holds every horizon until it finishes.
 */
import type { Redis } from 'ioredis';
import { queueHorizonSql } from '../db/sql/bullmq-pg.ts';
import { queueSchema } from './backend.ts';

export interface HorizonReading {
  /** The newest job id handed out (0: none yet). */
  newest: number;
  /** The lowest id of a job not finished yet; null when there is none. */
  oldestPending: number | null;
}

export interface QueueHorizon {
  read(): Promise<HorizonReading>;
}

/** KEYS: the lists (wait, paused, active), the sorted sets (prioritized, delayed, waiting-children), the id counter. */
const HORIZON_LUA = `
local low = nil
local function see(id)
  local n = tonumber(id) or 0
  if low == nil or n < low then low = n end
end
for i = 1, 3 do for _, id in ipairs(redis.call('LRANGE', KEYS[i], 0, -1)) do see(id) end end
for i = 4, 6 do for _, id in ipairs(redis.call('ZRANGE', KEYS[i], 0, -1)) do see(id) end end
return {low or -1, tonumber(redis.call('GET', KEYS[7]) or '0') or 0}`;
const HORIZON_COMMAND = 'gpQueueHorizon';

interface HorizonClient {
  gpQueueHorizon(numKeys: number, ...keys: string[]): Promise<[number, number]>;
}

export function redisQueueHorizon(redis: Redis, prefix: string, queueName: string): QueueHorizon {
  if (!(HORIZON_COMMAND in redis)) redis.defineCommand(HORIZON_COMMAND, { lua: HORIZON_LUA });
  const key = (type: string) => `${prefix}:${queueName}:${type}`;
  const keys = ['wait', 'paused', 'active', 'prioritized', 'delayed', 'waiting-children', 'id'].map(key);
  return {
    async read() {
      const [low, newest] = await (redis as Redis & HorizonClient).gpQueueHorizon(keys.length, ...keys);
      return { newest: Number(newest), oldestPending: Number(low) < 0 ? null : Number(low) };
    },
  };
}

/** `query` runs one statement on the queue's database (the worker's pool). */
export function pgQueueHorizon(query: (sql: string, params: unknown[]) => Promise<{ newest: string; oldest: string | null }[]>, prefix: string, queueName: string): QueueHorizon {
  const schema = queueSchema(prefix);
  const sql = queueHorizonSql(schema);
  return {
    async read() {
      const [r] = await query(sql, [queueName, schema]);
      return { newest: Number(r?.newest ?? 0), oldestPending: r?.oldest === null || r?.oldest === undefined ? null : Number(r.oldest) };
    },
  };
}
