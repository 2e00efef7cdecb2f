/**
 * Every Redis call of the producer goes through a gate. It waits a bounded time (`readyTimeoutMs`) for
 * a (re)connecting client and for a restarted Redis that is still loading its data, instead of failing
 * at once or queueing commands for a dead server; and it turns what went wrong into a plain reason and
 * message for EnqueueError, keeping the client's own error as the cause.
 */
import { ReplyError, type Redis } from 'ioredis';
import type { Explained, Gate } from './gate.ts';

/** How often a command refused with LOADING is tried again while the deadline allows. */
const LOADING_RETRY_MS = 25;

/** A ready timer firing this much later than due means the process's own loop was starved. */
const LATE_TIMER_MS = 50;

/** The gate's wait ran out, or the client is closed for good. */
class RedisNotReady extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'RedisNotReady';
  }
}

/**
 * The kind of an error reply. By the Redis protocol the first word of an error reply is its kind
 * (`OOM`, `LOADING`, `ERR`, `WRONGTYPE`, ...), so this is the reply's code, not free text.
 */
function replyKind(e: unknown): string | null {
  // By name too: a client from another copy of ioredis has its own ReplyError class.
  if (!(e instanceof ReplyError) && (e as Error | null)?.name !== 'ReplyError') return null;
  const m = String((e as Error).message);
  const space = m.indexOf(' ');
  return space < 0 ? m : m.slice(0, space);
}

/** One call waiting for the client to become ready. */
interface Waiter {
  done(err?: Error): void;
}

export class RedisGate implements Gate {
  readonly #redis: Redis;
  readonly #timeoutMs: number;
  readonly #waiters = new Set<Waiter>();

  constructor(redis: Redis, timeoutMs: number) {
    this.#redis = redis;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Runs `op` once the client is ready. A restarted Redis (or a replica in a full sync) answers
   * LOADING until its dataset is in memory, usually about a second; such a command was not executed,
   * so it is sent again until the deadline instead of failing at once.
   */
  async run<T>(op: () => Promise<T>): Promise<T> {
    const deadline = performance.now() + this.#timeoutMs;
    for (;;) {
      await this.#ready(deadline);
      try {
        return await op();
      } catch (e) {
        if (replyKind(e) !== 'LOADING') throw e;
        const left = deadline - performance.now();
        if (left <= 0) throw new RedisNotReady(`Redis was still loading its data after ${this.#timeoutMs} ms`, e);
        await new Promise((r) => setTimeout(r, Math.min(LOADING_RETRY_MS, left)));
      }
    }
  }

  /** Waits until the client is ready or the deadline passes; never queues commands for a dead server. */
  async #ready(deadline: number): Promise<void> {
    const r = this.#redis;
    if (r.status === 'ready') return;
    if (r.status === 'end') throw new RedisNotReady('the Redis connection is closed');
    if (r.status === 'wait') r.connect().catch(() => {}); // a lazyConnect client connects on first use; errors surface below
    const left = deadline - performance.now();
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        done: (err?: Error) => {
          clearTimeout(timer);
          this.#unwait(waiter);
          if (err) reject(err);
          else resolve();
        },
      };
      // The status stays in the cause: useful when debugging, noise in the message.
      const fail = () => waiter.done(new RedisNotReady(`Redis not reachable within ${this.#timeoutMs} ms`, new Error(`ioredis status ${r.status}`)));
      // A timer that fires late means this process was starved (a loaded machine, a long synchronous
      // stretch): timers run before the I/O that piled up meanwhile, so a connection that came up while
      // the loop was blocked would lose to its own deadline. Such a timer is re-armed once for the time
      // the loop lost (at most the timeout again), so only time the process could wait counts.
      const armedAt = performance.now();
      const wait = Math.max(0, left);
      let timer = setTimeout(() => {
        const lost = performance.now() - armedAt - wait;
        if (lost < LATE_TIMER_MS) return fail();
        timer = setTimeout(fail, Math.min(lost, this.#timeoutMs));
      }, wait);
      this.#wait(waiter);
    });
  }

  /**
   * Every waiter of an outage hangs off one pair of client listeners: one per waiter (a flush each,
   * dozens while Redis is down) tripped Node's MaxListenersExceededWarning on the client.
   */
  #wait(w: Waiter): void {
    if (this.#waiters.size === 0) {
      this.#redis.on('ready', this.#onReady);
      this.#redis.on('end', this.#onEnd);
    }
    this.#waiters.add(w);
  }

  #unwait(w: Waiter): void {
    if (!this.#waiters.delete(w) || this.#waiters.size) return;
    this.#redis.off('ready', this.#onReady);
    this.#redis.off('end', this.#onEnd);
  }

  readonly #onReady = () => {
    for (const w of [...this.#waiters]) w.done();
  };

  readonly #onEnd = () => {
    for (const w of [...this.#waiters]) w.done(new RedisNotReady('the Redis connection is closed'));
  };

  /** What a failed Redis call means for the caller, in plain words (client internals stay in `cause`). */
  explain(e: unknown): Explained {
    if (e instanceof RedisNotReady) return { reason: 'redis_unavailable', message: e.message };
    const kind = replyKind(e);
    if (kind === 'OOM')
      return {
        reason: 'redis_out_of_memory',
        message:
          'Redis is out of memory (maxmemory reached with maxmemory-policy noeviction) and refuses new jobs: workers must drain the queue, or Redis needs more memory',
      };
    if (kind !== null) return { reason: 'redis_error', message: `Redis refused the command: ${(e as Error).message}` };
    // Not an error reply: the client gave up on the connection (MaxRetriesPerRequestError, "Connection
    // is closed", a stream that is not writeable). Told apart by the client's state, not its wording.
    if ((e as Error | null)?.name === 'MaxRetriesPerRequestError' || this.#redis.status !== 'ready')
      return { reason: 'redis_unavailable', message: 'the connection to Redis was lost before it answered' };
    return { reason: 'redis_error', message: e instanceof Error ? e.message : String(e) };
  }
}
