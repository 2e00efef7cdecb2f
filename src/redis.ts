/** Redis clients and checks. Clients are always made here and passed explicitly. */
import { Redis } from 'ioredis';

/** A client for BullMQ workers: blocking commands need `maxRetriesPerRequest: null`. */
export function workerRedis(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, connectionName: 'game-persist:worker' });
}

/** A client for one-off commands (doctor, CLI) that fails instead of waiting forever. */
export function commandRedis(url: string): Redis {
  const r = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 3000, retryStrategy: (n) => (n > 2 ? null : 200) });
  r.on('error', () => {});
  return r;
}

/**
 * The eviction policy, read from INFO (works where CONFIG is disabled, as on managed Redis).
 * Anything but `noeviction` lets Redis drop queued jobs under memory pressure.
 */
export async function evictionPolicy(redis: Redis): Promise<string> {
  const info = await redis.info('memory');
  const m = /^maxmemory_policy:(\S+)/m.exec(info);
  return m ? m[1] : 'unknown';
}

/**
 * Deletes every key under a queue prefix: the queue's BullMQ keys and the sequence counters. For
 * tests, benchmarks and tearing down a tenant's queue; SCAN-based, so it never blocks Redis.
 */
export async function deletePrefix(redisUrl: string, prefix: string): Promise<number> {
  const r = commandRedis(redisUrl);
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) deleted += await r.del(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
  return deleted;
}
