/**
 * When the HTTP API can ingest. `serve` listens at once (so `/healthz` answers and `/readyz` can say
 * why it is not ready), but an event can be enqueued only once the queue's store answers: Redis (the
 * producer's client and the API's own, which counts rate limits and keeps Idempotency-Key records), or
 * on the PostgreSQL queue backend PostgreSQL; and every route needs PostgreSQL. From the start a loop
 * waits for all of that; once it held, the API is ready (`onReady`, logged `api ready` by `serve`).
 *
 * - `GET /readyz` (no key, like `/healthz`): 200 `{"ready":true,"checks":[…]}` once ready and while the
 *   store and PostgreSQL answer now, else 503; check names and verdicts only, why one fails goes to the
 *   log. Checks are run at most once a second, concurrent requests sharing the run, so a flood of probes
 *   costs a PING and a `SELECT 1` a second.
 * - `POST /v1/events` before the API was ever ready waits for it, at most `waitMs`
 *   (GP_API_READY_WAIT_MS), then answers 503 `unavailable`. After that, an outage of the store is the
 *   producer's to report (503 after its own `readyTimeoutMs`), as it always was.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import type { MikroORM } from '@mikro-orm/postgresql';
import { query } from '../db/query.ts';
import { ApiError, errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import { cached, logCheckChanges, type ReadyCheck } from '../metrics/http.ts';
import type { Producer } from '../producers/producer.ts';

export interface ReadinessOptions {
  producer: Producer;
  /** The API's own Redis client (rate limits, Idempotency-Key records); none on the PostgreSQL queue backend. */
  redis: Redis | undefined;
  orm: MikroORM;
  /** How long a POST /v1/events waits for a start-up to finish (GP_API_READY_WAIT_MS). */
  waitMs: number;
  /** Check failures (once per change) go here. */
  log?: Logger;
  /** Called once, when the API first is ready. */
  onReady?: () => void;
}

export interface ApiReadiness {
  /** Whether the API has been ready (the store and PostgreSQL answered) since its start. */
  readonly ready: boolean;
  /** Route hook of POST /v1/events: waits up to `waitMs` for the start-up, then 503 `unavailable`. */
  gate(req: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** `GET /readyz`. */
  readyz(req: FastifyRequest, reply: FastifyReply): Promise<unknown>;
  /** Stops waiting (the app closes). */
  close(): void;
}

/** A try of the start-up loop waits this long for the producer before it starts again. */
const TRY_MS = 10_000;
const CHECK_TIMEOUT_MS = 2000;
const CHECKS_CACHE_MS = 1000;

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms).unref()))]).finally(() =>
    clearTimeout(timer),
  );
}

export function apiReadiness(opts: ReadinessOptions): ApiReadiness {
  const { producer, redis, orm, log } = opts;
  const queueCheck = redis ? 'redis' : 'queue';
  let ready = false;
  let closed = false;
  let lastProblem = 'starting';
  let markReady!: () => void;
  const becameReady = new Promise<void>((resolve) => (markReady = resolve));
  const reportChecks = log ? logCheckChanges(log) : () => {};

  const postgresAnswers = () => within(query(orm.em.fork(), 'SELECT 1'), CHECK_TIMEOUT_MS, 'PostgreSQL');
  const storeAnswers = async (waitMs: number) => {
    await producer.ready(waitMs);
    if (redis) await within(redis.ping(), CHECK_TIMEOUT_MS, "the API's Redis connection");
  };

  void (async () => {
    while (!closed) {
      try {
        await storeAnswers(TRY_MS);
        await postgresAnswers();
        if (closed) return;
        ready = true;
        reportChecks([{ name: 'start-up', ok: true }]);
        markReady();
        opts.onReady?.();
        return;
      } catch (e) {
        if (closed) return;
        lastProblem = errorMessage(e);
        reportChecks([{ name: 'start-up', ok: false, detail: lastProblem }]);
        await new Promise((r) => setTimeout(r, 250).unref());
      }
    }
  })();

  const check = async (name: string, fn: () => Promise<unknown>): Promise<ReadyCheck> => {
    try {
      await fn();
      return { name, ok: true };
    } catch (e) {
      return { name, ok: false, detail: errorMessage(e) };
    }
  };
  const checks = cached(async () => {
    const all = await Promise.all([
      ready ? check(queueCheck, () => storeAnswers(0)) : Promise.resolve({ name: queueCheck, ok: false, detail: `not ready since the start: ${lastProblem}` }),
      check('postgres', postgresAnswers),
    ]);
    reportChecks(all);
    return all;
  }, CHECKS_CACHE_MS);

  return {
    get ready() {
      return ready;
    },
    async gate(_req, reply) {
      if (ready) return;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), opts.waitMs)));
      const ok = await Promise.race([becameReady.then(() => true as const), late]).finally(() => clearTimeout(timer));
      if (ok) return;
      void reply.header('retry-after', '1');
      throw new ApiError(503, 'unavailable', `the API is starting and cannot enqueue yet (${lastProblem.slice(0, 200)}); retry the request`);
    },
    async readyz(_req, reply) {
      const all = await checks();
      const ok = all.every((c) => c.ok);
      return reply.status(ok ? 200 : 503).send({ ready: ok, checks: all.map((c) => ({ name: c.name, ok: c.ok })) });
    },
    close() {
      closed = true;
    },
  };
}
