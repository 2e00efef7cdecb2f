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
