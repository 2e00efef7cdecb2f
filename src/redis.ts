/**
 * Redis clients and checks. Clients are always made here and passed explicitly. The producer SDK
 * (packages/sdk) ships this module: what classifies and logs a worker's Redis errors is in
 * ./redis-errors.ts, beside the logger it needs.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Redis, type RedisOptions } from 'ioredis';
import { ConfigError } from './errors.ts';

/** URL parameters naming PEM files for TLS, as in DATABASE_URL (libpq's names). */
const TLS_FILE_PARAMS = { sslrootcert: 'ca', sslcert: 'cert', sslkey: 'key' } as const;

/**
 * A Redis URL split into what ioredis reads from a URL and the TLS options it cannot. `rediss://`
 * connects with TLS, verifying the certificate chain and the host name (there is no unverified mode,
 * and no fallback to plaintext); `sslrootcert=<file>` verifies against that CA instead of the
 * system's, `sslcert`/`sslkey` give a client certificate. These parameters on a `redis://` URL are a
 * ConfigError: a plaintext connection would ignore them.
 */
export function redisConnectionOptions(url: string, variable = 'REDIS_URL'): { url: string; options: Pick<RedisOptions, 'tls'> } {
  if (!/^rediss?:\/\//i.test(url)) return { url, options: {} }; // a socket path or host:port: nothing to read
  const u = new URL(url);
  if (!Object.keys(TLS_FILE_PARAMS).some((p) => u.searchParams.has(p))) return { url, options: {} };
  const tls: ConnectionOptions = {};
  for (const [param, key] of Object.entries(TLS_FILE_PARAMS)) {
    const path = u.searchParams.get(param);
    if (path === null) continue;
    u.searchParams.delete(param);
    if (u.protocol !== 'rediss:') throw new ConfigError(variable, `has ${param} but is not a rediss:// URL (TLS)`);
    try {
      tls[key] = readFileSync(path, 'utf8');
    } catch (e) {
      throw new ConfigError(variable, `has ${param}=${path}, which cannot be read: ${(e as Error).message}`);
    }
  }
  return { url: u.toString(), options: Object.keys(tls).length ? { tls } : {} };
}

/** A client for `url` (its TLS parameters applied, see redisConnectionOptions) with these options. */
export function redisClient(url: string, opts: RedisOptions, variable = 'REDIS_URL'): Redis {
  const c = redisConnectionOptions(url, variable);
  return new Redis(c.url, { ...opts, ...c.options });
}

/** A client for BullMQ workers: blocking commands need `maxRetriesPerRequest: null`. */
export function workerRedis(url: string): Redis {
  return redisClient(url, { maxRetriesPerRequest: null, connectionName: 'game-persist:worker' });
}

/**
 * The HTTP API's client for its own commands (a rate-limit count and the idempotency records, per
 * request): commands of requests served in the same tick go out in one write (ioredis auto-pipelining;
 * safe here, unlike on BullMQ's connections). A request fails instead of waiting out a Redis outage.
 */
export function apiRedis(url: string): Redis {
  return redisClient(url, { maxRetriesPerRequest: 1, enableAutoPipelining: true, connectionName: 'game-persist:api' });
}

/** A client for one-off commands (doctor, CLI) that fails instead of waiting forever. */
export function commandRedis(url: string): Redis {
  const r = redisClient(url, { maxRetriesPerRequest: 1, connectTimeout: 3000, retryStrategy: (n) => (n > 2 ? null : 200) });
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

/** Used and maximum memory and the eviction policy, from INFO (0 maxmemory: unlimited). */
export async function redisMemory(redis: Redis): Promise<{ used: number; max: number; policy: string }> {
  const info = await redis.info('memory');
  const field = (name: string) => new RegExp(`^${name}:(\\S+)`, 'm').exec(info)?.[1] ?? '';
  return { used: Number(field('used_memory')) || 0, max: Number(field('maxmemory')) || 0, policy: field('maxmemory_policy') || 'unknown' };
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
