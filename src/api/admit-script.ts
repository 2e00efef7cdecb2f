/**
 * One Redis round trip for both of a request's limits (./rate-limits.ts) when its API key is already
 * known to be valid (checked against the KeyVerifier's cache, no lookup): the failed-authentication
 * count of the client address is read and, unless it throttles the address, the key's own count is
 * taken. It was two scripts of @fastify/rate-limit, one after the other, on every request.
 *
 * The counters are the plugin's own (same keys, same INCR-then-PEXPIRE-on-first rule as its
 * RedisStore), so the requests that still go through the plugin (an unknown key, a failure to count)
 * and the replicas of the previous version count into the same numbers.
 *
 * KEYS[1]: the address's failed-authentication counter; KEYS[2]: the key's counter.
 * ARGV[1]: the failed-authentication limit (0: not checked); ARGV[2]: 1 to count the key, 0 not to;
 * ARGV[3]: the key's window in ms.
 * Reply: { failures, failures' PTTL (0: none), the key's count after this request (-1: not counted,
 * as the address is throttled or counting is off), the key window's PTTL }.
 */
import type { Redis } from 'ioredis';

const ADMIT_LUA = `
local failures = 0
local failuresTtl = 0
local authLimit = tonumber(ARGV[1])
if authLimit > 0 then
  failures = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
  if failures > 0 then
    failuresTtl = redis.call('PTTL', KEYS[1])
    if failuresTtl < 0 then failuresTtl = 0 end
  end
  if failures >= authLimit then return {failures, failuresTtl, -1, 0} end
end
if ARGV[2] ~= '1' then return {failures, failuresTtl, -1, 0} end
local current = redis.call('INCR', KEYS[2])
local ttl
if current == 1 then
  ttl = tonumber(ARGV[3])
  redis.call('PEXPIRE', KEYS[2], ttl)
else
  ttl = redis.call('PTTL', KEYS[2])
end
return {failures, failuresTtl, current, ttl}`;

const ADMIT_COMMAND = 'gpApiAdmit';

interface AdmitClient {
  gpApiAdmit(addressKey: string, keyKey: string, authLimit: number, countKey: 0 | 1, windowMs: number): Promise<[number, number, number, number]>;
}

export interface Admission {
  /** The address's failed authentications in the current window. */
  failures: number;
  /** Milliseconds left in that window (0: no window open). */
  failuresTtlMs: number;
  /** The key's count including this request; null when it was not counted (address throttled, or counting off). */
  current: number | null;
  /** Milliseconds left in the key's window. */
  ttlMs: number;
}

/** Defines the script on `redis` (once) and returns the call. */
export function admitScript(redis: Redis): (addressKey: string, keyKey: string, authLimit: number, countKey: boolean, windowMs: number) => Promise<Admission> {
  if (!(ADMIT_COMMAND in redis)) redis.defineCommand(ADMIT_COMMAND, { numberOfKeys: 2, lua: ADMIT_LUA });
  const client = redis as unknown as AdmitClient;
  return async (addressKey, keyKey, authLimit, countKey, windowMs) => {
    const [failures, failuresTtlMs, current, ttlMs] = await client.gpApiAdmit(addressKey, keyKey, authLimit, countKey ? 1 : 0, windowMs);
    return { failures: Number(failures), failuresTtlMs: Number(failuresTtlMs), current: Number(current) < 0 ? null : Number(current), ttlMs: Number(ttlMs) };
  };
}
