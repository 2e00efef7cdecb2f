/**
 * What a worker and the HTTP API make of the errors of their Redis clients and BullMQ objects
 * (classified by kind, repeats folded, logged through pino): the server's side of ./redis.ts.
 */
import { ErrorCode } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from './log.ts';
import { redisMemory } from './redis.ts';

/**
 * What a Redis or BullMQ error means to a worker:
 * - `oom`: Redis refused a write because its memory is past `maxmemory` and the policy is `noeviction`.
 *   A worker cannot move a job to active (fetch) until memory is freed, and BullMQ retries the fetch
 *   at once, without backoff (it backs off only from connection errors).
 * - `lock_race`: acknowledging or renewing a job found its lock gone or held by another worker: the
 *   job was redelivered while this worker stalled (GC pause, SIGSTOP, a slow batch) past GP_LOCK_MS.
 *   Harmless: whoever writes its events second finds them already stored (deduplicated by event id).
 *   The job may also have been moved back to waiting already (`JobNotInState`).
 * - `deadlock`: on the PostgreSQL queue backend, two of BullMQ's own queue statements deadlocked and
 *   PostgreSQL aborted one (SQLSTATE 40P01). A fetch is tried again; an acknowledgement that was aborted
 *   leaves its job active until its lock expires, and it runs again, harmless as above.
 * - `other`: connection errors and anything else.
 */
export type RedisErrorKind = 'oom' | 'lock_race' | 'deadlock' | 'other';

/** BullMQ's typed codes (finished-errors.ts) for an acknowledgement that lost its job to a redelivery. */
const LOCK_RACE_CODES: ReadonlySet<number> = new Set([ErrorCode.JobNotExist, ErrorCode.JobLockNotExist, ErrorCode.JobNotInState, ErrorCode.JobLockMismatch]);
/**
 * BullMQ's lock manager reports a failed renewal as a plain Error without a code (lock-manager.ts,
 * right after its `lockRenewalFailed` event), so this one is matched by its exact text.
 */
const LOCK_RENEWAL_FAILED = /^could not renew lock for job \S+$/;

/** What a client is told when Redis refused a write for lack of memory (the API's 503). */
export const REDIS_OUT_OF_MEMORY_MESSAGE =
  'Redis is out of memory (maxmemory reached with maxmemory-policy noeviction) and refuses writes: workers must drain the queue, or Redis needs more memory; retry later';

export function classifyRedisError(e: unknown): RedisErrorKind {
  for (let cur: any = e, depth = 0; cur && depth < 4; cur = cur.cause, depth++) {
    const message = typeof cur.message === 'string' ? cur.message : '';
    // A Redis error reply starts with its error code, the first word (RESP: "-OOM command not allowed
    // when used memory > 'maxmemory'"); ioredis keeps the reply as the ReplyError's message.
    if (cur.name === 'ReplyError' && /^OOM\b/.test(message)) return 'oom';
    if (typeof cur.code === 'number' && LOCK_RACE_CODES.has(cur.code)) return 'lock_race';
    if (LOCK_RENEWAL_FAILED.test(message)) return 'lock_race';
    if (cur.code === '40P01') return 'deadlock';
  }
  return 'other';
}

export interface RepeatLimitOptions {
  /** At most one line per kind of error per window. @defaultValue 5000 */
  windowMs?: number;
  /** Milliseconds since an epoch (elapsed time only). @defaultValue Date.now */
  now?: () => number;
}

type Level = 'warn' | 'error';
interface Repeats {
  windowEnd: number;
  suppressed: number;
  timer: NodeJS.Timeout | null;
  level: Level;
  fields: Record<string, unknown>;
  msg: string;
}

/**
 * Logs each kind of repeated error at most once per window: the first at once, then one line per
 * window with `suppressed`, the number of repeats not logged. A worker whose fetches Redis refuses
 * otherwise writes thousands of identical lines a second (FINDINGS 2: 236 MB of log in minutes).
 */
export class RepeatLimitedLog {
  readonly #log: Logger;
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #keys = new Map<string, Repeats>();

  constructor(log: Logger, opts: RepeatLimitOptions = {}) {
    this.#log = log;
    this.#windowMs = opts.windowMs ?? 5000;
    this.#now = opts.now ?? Date.now;
  }

  /** Logs `msg` unless a line with the same key was logged less than a window ago (then it is counted). */
  log(level: Level, key: string, fields: Record<string, unknown>, msg: string): void {
    const now = this.#now();
    const r = this.#keys.get(key);
    if (!r || (now >= r.windowEnd && !r.timer)) {
      if (this.#keys.size >= 1000) this.#prune(now);
      this.#log[level](fields, msg);
      this.#keys.set(key, { windowEnd: now + this.#windowMs, suppressed: 0, timer: null, level, fields, msg });
      return;
    }
    r.suppressed++;
    r.fields = fields;
    r.timer ??= setTimeout(() => this.#flush(key), Math.max(0, r.windowEnd - now)).unref();
  }

  /** Logs what is still counted (on close). */
  flush(): void {
    for (const key of [...this.#keys.keys()]) this.#flush(key);
  }

  #flush(key: string): void {
    const r = this.#keys.get(key);
    if (!r) return;
    if (r.timer) clearTimeout(r.timer);
    r.timer = null;
    if (!r.suppressed) return;
    this.#log[r.level]({ ...r.fields, suppressed: r.suppressed, windowS: this.#windowMs / 1000 }, r.msg);
    r.suppressed = 0;
    r.windowEnd = this.#now() + this.#windowMs;
  }

  #prune(now: number): void {
    for (const [key, r] of this.#keys) if (!r.timer && now >= r.windowEnd) this.#keys.delete(key);
  }
}

/** How long after the last refusal Redis still counts as out of memory (fetches are retried continuously). */
const OOM_FRESH_MS = 5000;

/**
 * The error listener of every Redis client and BullMQ object a worker makes: errors are classified,
 * logged through pino (never BullMQ's raw stack traces on stderr), repeats folded, and the last time
 * Redis refused a write for lack of memory is kept for readiness.
 */
export class RedisErrorReporter {
  readonly #out: RepeatLimitedLog;
  readonly #now: () => number;
  #lastOomAt: number | null = null;

  constructor(log: Logger, opts: RepeatLimitOptions = {}) {
    this.#out = new RepeatLimitedLog(log, opts);
    this.#now = opts.now ?? Date.now;
  }

  /** A listener for `source` (e.g. `worker`, `queue`, `redis`): `emitter.on('error', reporter.listener('worker'))`. */
  listener(source: string): (e: unknown) => void {
    return (e) => this.report(source, e);
  }

  report(source: string, e: unknown): void {
    // Only the message: BullMQ's errors carry the whole Lua script and its arguments as `command`.
    const err = (e instanceof Error ? e.message : String(e)).slice(0, 500);
    switch (classifyRedisError(e)) {
      case 'oom':
        this.#lastOomAt = this.#now();
        this.#out.log(
          'error',
          'oom',
          { source, err },
          'Redis is out of memory (maxmemory reached, maxmemory-policy noeviction): it refuses writes, so nothing can be fetched until memory is freed (raise maxmemory, or free memory used by other keys)',
        );
        return;
      case 'lock_race':
        this.#out.log('warn', `lock_race:${source}`, { source, err }, 'job lock lost to a redelivery (this worker stalled past GP_LOCK_MS and another took the job): harmless, deduplication by event id stores its events once');
        return;
      case 'deadlock':
        this.#out.log('warn', `deadlock:${source}`, { source, err }, 'the PostgreSQL queue backend aborted one of two deadlocked queue statements: BullMQ fetches again, and a job whose acknowledgement was aborted runs again after GP_LOCK_MS, its events stored once');
        return;
      default:
        // Job ids, ports and script hashes vary between otherwise identical errors.
        this.#out.log(source === 'redis' ? 'warn' : 'error', `${source}:${err.replace(/[0-9a-f]{40}|\d+/g, '#')}`, { source, err }, source === 'redis' ? 'redis connection error' : `${source} error`);
    }
  }

  /** Redis refused a write for lack of memory in the last few seconds. */
  outOfMemory(): boolean {
    return this.#lastOomAt !== null && this.#now() - this.#lastOomAt < OOM_FRESH_MS;
  }

  /** Logs the repeats still counted. */
  close(): void {
    this.#out.flush();
  }
}

/** The readiness detail while Redis refuses writes for lack of memory, with its memory figures when INFO answers. */
export async function outOfMemoryDetail(redis: Redis): Promise<string> {
  const mb = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
  const m = await redisMemory(redis).catch(() => null);
  const figures = m ? ` (used_memory ${mb(m.used)}, maxmemory ${m.max ? mb(m.max) : 'unlimited'}, maxmemory-policy ${m.policy})` : '';
  return `out of memory: Redis refuses writes${figures}; no job can be fetched until memory is freed`;
}
