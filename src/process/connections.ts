/**
 * What a worker's start opens first: the database pool, the queue's connection and the error reporter
 * its clients report to, then the start-up checks (./preflight.ts), then the metrics queue. Each is
 * registered on the start's stack (./start-stack.ts) as soon as it is open, so a start that fails or is
 * stopped midway closes exactly what it opened.
 */
import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import { openOrm, type MikroORM } from '../db/orm.ts';
import type { Logger } from '../log.ts';
import { openQueue, type EventsQueue, type QueueTarget } from '../queue/backend.ts';
import { workerRedis } from '../redis.ts';
import { RedisErrorReporter } from '../redis-errors.ts';
import { preflight } from './preflight.ts';
import type { StartStack } from './start-stack.ts';

export interface Connections {
  orm: MikroORM;
  /** The queue's Redis; null on the PostgreSQL queue backend. */
  redis: Redis | null;
  /** Where the events queue is (Redis client or DATABASE_URL, prefix, name). */
  target: QueueTarget;
  /** Every Redis client and BullMQ object of the worker reports its errors here. */
  redisErrors: RedisErrorReporter;
  /** For the metrics (queue depths) and the failed-jobs sweep; never consumes. */
  metricsQueue: EventsQueue;
}

export interface OpenOptions {
  log: Logger;
  /** Reuse this ORM (not closed by the stack); otherwise one is opened from the config. */
  orm?: MikroORM;
  /** Skip the start-up checks. */
  skipChecks?: boolean;
}

export async function openConnections(cfg: Readonly<Config>, opts: OpenOptions, stack: StartStack): Promise<Connections> {
  const { log } = opts;
  // Session limits on the write pool: a frozen replica's transaction is ended by PostgreSQL and a batch
  // waiting on its row locks gives up and retries, so one stalled process cannot stall every replica.
  const orm =
    opts.orm ??
    (await stack.step(
      () =>
        openOrm({
          databaseUrl: cfg.databaseUrl,
          poolMax: cfg.dbPoolMax,
          applicationName: 'game-persist:worker',
          sessionLimits: { idleInTransactionTimeoutMs: cfg.dbIdleInTransactionTimeoutMs, lockTimeoutMs: cfg.dbLockTimeoutMs, statementTimeoutMs: cfg.dbStatementTimeoutMs },
        }),
      (late) => late.close(),
    ));
  if (!opts.orm) stack.opened('the database pool', () => orm.close());
  // The queue: on Redis, one client for the Worker and the metrics Queue (blocking commands need
  // maxRetriesPerRequest: null); on PostgreSQL (GP_QUEUE_BACKEND=postgres) no Redis client at all, and
  // each BullMQ object opens its own pool on DATABASE_URL.
  const redis: Redis | null = cfg.queueBackend === 'redis' ? workerRedis(cfg.redisUrl) : null;
  // Not quit(): a client that never connected would queue the QUIT until Redis answers.
  if (redis) stack.opened('the Redis connection', () => redis.disconnect());
  const target: QueueTarget = { connection: redis ?? cfg.databaseUrl, prefix: cfg.queuePrefix, queueName: cfg.queueName };
  // Every Redis client and BullMQ object reports here: logged through pino (an `error` event without a
  // listener makes BullMQ print a raw stack trace), repeats folded, OOM kept for readiness. BullMQ's
  // lock-race codes are the same on both backends; OOM is a Redis reply only.
  const redisErrors = new RedisErrorReporter(log);
  stack.opened('the error reporter', () => redisErrors.close());
  redis?.on('error', redisErrors.listener('redis'));
  if (!opts.skipChecks) await stack.step(() => preflight(cfg, orm, redis));
  // Opened after the checks: a BullMQ object on a Redis that may evict keys would print its own warning
  // beside our refusal. Also reads the failed set for the exhausted-jobs sweep: bounded like the
  // Worker's fetches.
  const metricsQueue = openQueue(target, {}, { max: 1, applicationName: 'game-persist:worker-metrics' }, cfg.maxJobBytes);
  metricsQueue.on('error', redisErrors.listener('queue'));
  stack.opened('the metrics queue', () => metricsQueue.close());
  return { orm, redis, target, redisErrors, metricsQueue };
}
