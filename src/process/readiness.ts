/**
 * The worker's `/readyz` checks and the binding of its metrics and health endpoints (src/metrics/http.ts).
 */
import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import type { MikroORM } from '../db/orm.ts';
import { pendingMigrations } from '../db/migrate.ts';
import { query } from '../db/query.ts';
import { PreconditionError, errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import { logCheckChanges, startMetricsServer, type ReadyCheck } from '../metrics/http.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { outOfMemoryDetail, type RedisErrorReporter } from '../redis-errors.ts';
import type { EventsQueue } from '../queue/backend.ts';

/** Where a worker is in its life: `/readyz` is 200 only while it consumes. */
export type WorkerPhase = 'starting' | 'consuming' | 'draining';

export interface ReadinessSources {
  orm: MikroORM;
  /** The queue's Redis; null on the PostgreSQL backend (its `queue` check reads job counts instead). */
  redis: Redis | null;
  queue: EventsQueue;
  redisErrors: RedisErrorReporter;
  phase: () => WorkerPhase;
}

const CHECK_TIMEOUT_MS = 2000;

/** The checks `/readyz` runs; each gives up after 2 s (a hung dependency is a failing check, not a hung probe). */
export function readinessChecks(src: ReadinessSources): () => Promise<ReadyCheck[]> {
  const check = async (name: string, fn: () => Promise<string | null>): Promise<ReadyCheck> => {
    try {
      const problem = await Promise.race([fn(), new Promise<string>((r) => setTimeout(() => r('timed out'), CHECK_TIMEOUT_MS).unref())]);
      return problem ? { name, ok: false, detail: problem } : { name, ok: true };
    } catch (e) {
      return { name, ok: false, detail: e instanceof Error ? e.message : String(e) };
    }
  };
  const { orm, redis, queue, redisErrors, phase } = src;
  return () =>
    Promise.all([
      redis
        ? // PING still answers when Redis is full; the refused fetches tell.
          check('redis', async () => ((await redis.ping()) !== 'PONG' ? 'no PONG' : redisErrors.outOfMemory() ? outOfMemoryDetail(redis) : null))
        : // The PostgreSQL backend's queue answers through its own pool and schema.
          check('queue', async () => (await queue.getJobCounts('waiting'), null)),
      check('postgres', async () => (await query(orm.em.fork(), 'SELECT 1'), null)),
      check('migrations', async () => {
        const pending = await pendingMigrations(orm);
        return pending.length ? `${pending.length} pending` : null;
      }),
      // Bound before the worker consumes (a port conflict stops the start before any job is taken), so
      // the endpoint answers while pg-boss and the queue worker start: not ready until it consumes.
      check('started', async () => (phase() === 'starting' ? 'still starting' : null)),
      check('draining', async () => (phase() === 'draining' ? 'draining' : null)),
    ]);
}

/**
 * Serves `/metrics`, `/healthz` and `/readyz` on `port` (0: a free one). A port another process holds
 * is a PreconditionError naming GP_METRICS_PORT, not a bare `listen EADDRINUSE`.
 */
export async function bindMetricsServer(cfg: Readonly<Config>, port: number, metrics: Metrics, ready: () => Promise<ReadyCheck[]>, log: Logger) {
  try {
    return await startMetricsServer({
      port,
      host: cfg.metricsHost,
      registry: metrics.registry,
      ready,
      token: cfg.metricsToken,
      cacheMs: cfg.metricsCacheMs,
      // Why a check fails is for the operator's log, not for whoever can reach the port.
      onChecks: logCheckChanges(log),
      onError: (e, what) => log.error({ err: errorMessage(e) }, `${what} endpoint failed`),
    });
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'EADDRINUSE')
      throw new PreconditionError(
        'metrics_port_in_use',
        `GP_METRICS_PORT ${port} is already in use on ${cfg.metricsHost} (another process listens there, e.g. a second worker on this host): give each worker on a host its own GP_METRICS_PORT, or 0 for no endpoints`,
      );
    if (code === 'EACCES' || code === 'EADDRNOTAVAIL')
      throw new PreconditionError('metrics_port_unavailable', `cannot listen on GP_METRICS_HOST ${cfg.metricsHost}, GP_METRICS_PORT ${port}: ${errorMessage(e)}`);
    throw e;
  }
}
