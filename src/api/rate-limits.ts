/**
 * The API's two limits, on @fastify/rate-limit's counters (its `createRateLimit()`, the documented way
 * to count in a handler of one's own, with a read that does not consume):
 *
 * - **Per API key**: GP_API_RATE_LIMIT requests a minute (a key's own `--rate-limit` first), counted for
 *   every request with a valid key. Every such response says where the key stands, in the fields of
 *   draft-ietf-httpapi-ratelimit-headers (`RateLimit-Policy: "key";q=6000;w=60`, `RateLimit:
 *   "key";r=5999;t=60`); past the limit, 429 `rate_limited` with `Retry-After`.
 * - **Failed authentication per client address**: each 401 counts against the address; once it has
 *   GP_API_AUTH_FAILURE_LIMIT in GP_API_AUTH_FAILURE_WINDOW_S, every request of it that needs a key is
 *   answered 429 (`Retry-After`: until the window ends) before the key is looked at, so random keys
 *   cannot make the primary read `api_keys` at will. The count is read before the lookup and the
 *   lookups in flight count too: a burst of concurrent random keys gets at most the limit's worth of
 *   reads. 401 and these 429 answers carry the same fields for the `"auth-failures"` policy.
 *
 * Where the counts live: in Redis with the Redis queue backend, shared by every replica: one round trip
 * for both when the key is one this process checked a moment ago (`admit`), else one each. With GP_QUEUE_BACKEND=postgres, in each replica's
 * memory: the store there would be the primary itself, and a read per request to protect the primary
 * from reads per request defeats the point; behind N replicas an address gets at most N times the
 * limit before every replica refuses it, still a fixed bound. The client address is the connection's
 * peer, or with GP_API_TRUST_PROXY what the trusted proxies put in X-Forwarded-For (Fastify's
 * `trustProxy`); IPv6 addresses count per /56, as one subscriber usually holds a whole prefix.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import { ApiError } from '../errors.ts';
import type { AdmitLookup, ApiKeyInfo } from './keys.ts';
import type { ApiMetrics } from './metrics.ts';
import { admitScript } from './admit-script.ts';

/** The counters' key of an address's failed authentications (API key ids are hex: no collision). */
const AUTH = 'auth-failures:';
const KEY_WINDOW_MS = 60_000;

export interface RateLimits {
  /**
   * Both limits for a request whose key `req.apiKey` is already known to be valid (./keys.ts `known`),
   * in one round trip to Redis (./admit-script.ts): 429 when its address is throttled, else the key is
   * counted and the response gets its fields (429 past the limit). Absent without Redis: there the
   * counts are in this process's memory, and `authenticate` + `perKey` cost no round trip.
   */
  admit?(req: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** Runs `verify` (the key check) under the failed-authentication throttle: 429 instead of a lookup past it. */
  authenticate(req: FastifyRequest, reply: FastifyReply, verify: (admit: AdmitLookup) => Promise<ApiKeyInfo>): Promise<ApiKeyInfo>;
  /** Counts a request with a valid key against the key's limit and says where it stands; 429 past it. */
  perKey(req: FastifyRequest, reply: FastifyReply): Promise<void>;
}

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

export async function rateLimits(app: FastifyInstance, cfg: Readonly<Config>, redis: Redis | undefined, metrics: ApiMetrics): Promise<RateLimits> {
  const authLimit = cfg.apiAuthFailureLimit;
  const authWindowMs = cfg.apiAuthFailureWindowS * 1000;
  if (authLimit === 0 && cfg.apiRateLimit === 0) {
    return { authenticate: (_req, _reply, verify) => verify(() => () => {}), perKey: async () => {}, admit: async () => {} };
  }
  const nameSpace = `${cfg.queuePrefix}:api-rate:`;
  // Not global: the plugin adds no hooks or headers of its own; the counts are taken below.
  await app.register(rateLimit, {
    global: false,
    // Without Redis (GP_QUEUE_BACKEND=postgres) the plugin's in-memory store: counts per process.
    ...(redis ? { redis } : {}),
    nameSpace,
    // Before authentication the key is the address (the plugin's own normalisation: IPv6 by /56).
    keyGenerator: (req) => (req.apiKey ? req.apiKey.id : `${AUTH}${normalizeIP(req.ip, 56)}`),
    max: (req, key) => (key.startsWith(AUTH) ? authLimit : (req.apiKey?.rateLimit ?? cfg.apiRateLimit)),
    timeWindow: (_req, key) => (key.startsWith(AUTH) ? authWindowMs : KEY_WINDOW_MS),
  });
  const count = app.createRateLimit();
  /**
   * This process's view of each address, so that concurrent requests see each other before the shared
   * count does: key lookups (and failures being counted) in progress, and the count its last failure
   * saw, until that window ends.
   */
  const looking = new Map<string, number>();
  const counted = new Map<string, { failures: number; until: number }>();
  const known = (addr: string, seen: number) => {
    const c = counted.get(addr);
    if (c && c.until <= Date.now()) counted.delete(addr);
    return Math.max(seen, c && c.until > Date.now() ? c.failures : 0);
  };
  const release = (addr: string) => {
    const left = (looking.get(addr) ?? 1) - 1;
    if (left > 0) looking.set(addr, left);
    else looking.delete(addr);
  };
  const authFields = (reply: FastifyReply, failures: number, ttlMs: number) =>
    reply
      .header('ratelimit-policy', `"auth-failures";q=${authLimit};w=${cfg.apiAuthFailureWindowS}`)
      .header('ratelimit', `"auth-failures";r=${Math.max(0, authLimit - failures)};t=${ttlMs > 0 ? seconds(ttlMs) : cfg.apiAuthFailureWindowS}`);
  const throttled = (reply: FastifyReply, failures: number, ttlMs: number) => {
    metrics.authThrottled();
    const after = seconds(ttlMs > 0 ? ttlMs : authWindowMs);
    authFields(reply, failures, ttlMs).header('retry-after', String(after));
    return new ApiError(429, 'rate_limited', `too many failed authentications from this address (${authLimit} in ${cfg.apiAuthFailureWindowS} s); retry in ${after} s`);
  };

  const keyFields = (reply: FastifyReply, max: number, current: number, ttlMs: number) => {
    reply.header('ratelimit-policy', `"key";q=${max};w=${KEY_WINDOW_MS / 1000}`).header('ratelimit', `"key";r=${Math.max(0, max - current)};t=${seconds(ttlMs)}`);
    if (current <= max) return;
    reply.header('retry-after', String(seconds(ttlMs)));
    throw new ApiError(429, 'rate_limited', `rate limit of ${max} requests per minute reached; retry in ${seconds(ttlMs)} s`);
  };
  const script = redis ? admitScript(redis) : null;

  return {
    ...(script
      ? {
          async admit(req: FastifyRequest, reply: FastifyReply) {
            const key = req.apiKey!;
            const addr = `${AUTH}${normalizeIP(req.ip, 56)}`;
            // What this process already counted for the address (its last failure's count) throttles without asking.
            const local = authLimit > 0 ? known(addr, 0) : 0;
            if (authLimit > 0 && local >= authLimit) throw throttled(reply, local, counted.get(addr)!.until - Date.now());
            const a = await script(`${nameSpace}${addr}`, `${nameSpace}${key.id}`, authLimit, cfg.apiRateLimit !== 0, KEY_WINDOW_MS);
            if (authLimit > 0) {
              // As the plugin reports a count: at most the limit.
              const failures = known(addr, Math.min(a.failures, authLimit));
              if (failures >= authLimit) throw throttled(reply, failures, a.failuresTtlMs);
            }
            if (a.current !== null) keyFields(reply, key.rateLimit ?? cfg.apiRateLimit, a.current, a.ttlMs);
          },
        }
      : {}),
    async authenticate(req, reply, verify) {
      if (authLimit === 0) return verify(() => () => {});
      const seen = await count(req, { increment: false });
      if (seen.isAllowed) return verify(() => () => {});
      const addr = seen.key;
      const failures = known(addr, seen.max - seen.remaining);
      if (failures >= authLimit) throw throttled(reply, failures, seen.ttl);
      // A lookup takes a slot of the address's remaining failures until its outcome is counted.
      let slot = false;
      const admit: AdmitLookup = () => {
        const n = looking.get(addr) ?? 0;
        if (known(addr, failures) + n >= authLimit) throw throttled(reply, authLimit, seen.ttl);
        looking.set(addr, n + 1);
        slot = true;
        return () => {};
      };
      try {
        return await verify(admit);
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) {
          metrics.authFailed();
          const after = await count(req);
          if (!after.isAllowed) {
            const now = after.max - after.remaining;
            counted.set(addr, { failures: Math.max(now, counted.get(addr)?.failures ?? 0), until: Date.now() + after.ttl });
            if (counted.size > 100_000) counted.clear();
            authFields(reply, now, after.ttl);
          }
        }
        throw e;
      } finally {
        if (slot) release(addr);
      }
    },
    async perKey(req, reply) {
      if (cfg.apiRateLimit === 0 || !req.apiKey) return;
      const r = await count(req);
      if (r.isAllowed) return;
      keyFields(reply, r.max, r.max - r.remaining + (r.isExceeded ? 1 : 0), r.ttl);
    },
  };
}
