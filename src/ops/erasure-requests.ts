/**
 * Erasure through the HTTP API (POST /v1/players/:id/erase) without giving the API's database role the
 * rights an erasure needs (rewriting every table, the audit): the API inserts a request into
 * `erasure_requests` and waits for its outcome; a worker (with GP_JOBS on) polls for waiting requests
 * every second and runs each as `erase-player` does, claiming it (row lock, SKIP LOCKED) and completing
 * it in the erasure's own transaction, so a request is run once however many workers poll, and one whose
 * worker died mid-way is run by the next poll. The request's player id is cleared when it is done.
 *
 * A worker without GP_ERASURE_KEY fails the requests it finds (`erasure_key_missing`) instead of leaving
 * the raw id waiting; an error of the database that may pass (a deadlock, a lost connection) leaves the
 * request for the next poll; any other error fails it (`erasure_failed`, the reason in the worker's log).
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import { errorMessage, GamePersistError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { query } from '../db/query.ts';
import {
  CLAIM_ERASURE_REQUEST_SQL, COMPLETE_ERASURE_REQUEST_SQL, ERASURE_REQUEST_SQL, FAIL_ERASURE_REQUEST_SQL, INSERT_ERASURE_REQUEST_SQL,
  PENDING_ERASURE_REQUESTS_SQL,
} from '../db/sql/erasure-requests.ts';
import { queueConnection } from '../queue/backend.ts';
import { commandRedis } from '../redis.ts';
import { classifyDbError } from '../workers/db-errors.ts';
import { ERASURE_KEY_MISSING, runErasure, type ErasureReport } from './erase-player.ts';

/** How often a worker looks for waiting requests. */
export const ERASURE_POLL_MS = 1000;

export interface ErasureRequestState {
  requestId: number;
  requestedAt: string;
  /** `pending` until a worker ran it. */
  status: 'pending' | 'done' | 'failed';
  /** The erasure's report, when done. */
  report: ErasureReport | null;
  /** The error code, when failed. */
  error: string | null;
}

/** API: records a request; its id. */
export async function requestErasure(orm: MikroORM, playerId: string, requestedBy: string): Promise<number> {
  const [row] = await query<{ id: string }>(orm.em.fork(), INSERT_ERASURE_REQUEST_SQL, [playerId, requestedBy]);
  return Number(row!.id);
}

/** API: a request's state, or null when there is no such request. */
export async function erasureRequestState(orm: MikroORM, requestId: number): Promise<ErasureRequestState | null> {
  const [r] = await query<{ id: string; requested_at: Date; done_at: Date | null; report: ErasureReport | null; error: string | null }>(orm.em.fork(), ERASURE_REQUEST_SQL, [requestId]);
  if (!r) return null;
  return {
    requestId: Number(r.id), requestedAt: new Date(r.requested_at).toISOString(),
    status: r.done_at === null ? 'pending' : r.error ? 'failed' : 'done', report: r.report, error: r.error,
  };
}

/** API: waits up to `waitMs` for the request to be done (polling its row); 0: answers pending at once. */
export async function waitErasureRequest(orm: MikroORM, requestId: number, waitMs: number, pollMs = 100): Promise<ErasureRequestState> {
  if (waitMs <= 0) return { requestId, requestedAt: new Date().toISOString(), status: 'pending', report: null, error: null };
  const until = Date.now() + waitMs;
  for (;;) {
    const s = (await erasureRequestState(orm, requestId))!;
    if (s.status !== 'pending' || Date.now() >= until) return s;
    await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(1, until - Date.now()))));
  }
}

export interface ErasureRunResult {
  done: number;
  failed: number;
}

/** Worker: runs the waiting requests (at most `limit`); what became of them. Never throws for one request's failure. */
export async function runErasureRequests(orm: MikroORM, cfg: Readonly<Config>, log: Logger, limit = 10): Promise<ErasureRunResult> {
  const result: ErasureRunResult = { done: 0, failed: 0 };
  const pending = await query<{ id: string; player_id: string; requested_by: string }>(orm.em.fork(), PENDING_ERASURE_REQUESTS_SQL, [limit]);
  if (!pending.length) return result;
  const fail = async (id: number, code: string) => {
    if ((await query(orm.em.fork(), FAIL_ERASURE_REQUEST_SQL, [id, code])).length) result.failed++;
  };
  let redis: Redis | null = null;
  try {
    for (const p of pending) {
      const id = Number(p.id);
      if (!cfg.erasureKey) {
        log.error({ request: id, code: ERASURE_KEY_MISSING }, 'erasure request refused: GP_ERASURE_KEY is not set on this worker');
        await fail(id, ERASURE_KEY_MISSING);
        continue;
      }
      if (cfg.queueBackend === 'redis') redis ??= commandRedis(cfg.redisUrl);
      try {
        const report = await runErasure(
          orm,
          p.player_id,
          { requestedBy: p.requested_by, key: cfg.erasureKey, queue: { connection: redis ?? queueConnection(cfg), queueName: cfg.queueName, prefix: cfg.queuePrefix } },
          {
            claim: async (q) => (await q(CLAIM_ERASURE_REQUEST_SQL, [id])).length > 0,
            complete: async (q, r) => void (await q(COMPLETE_ERASURE_REQUEST_SQL, [id, r.auditId, JSON.stringify(r)])),
          },
        );
        if (report) {
          result.done++;
          log.info({ request: id, audit: report.auditId, changed: report.changed, inFlight: report.queue.inFlight }, 'erasure request done');
        }
      } catch (e) {
        if (classifyDbError(e) === 'transient') {
          log.warn({ request: id, err: errorMessage(e) }, 'erasure request failed for now; the next poll runs it again');
          continue;
        }
        log.error({ request: id, err: errorMessage(e) }, 'erasure request failed');
        await fail(id, e instanceof GamePersistError ? e.code : 'erasure_failed');
      }
    }
  } finally {
    redis?.disconnect();
  }
  return result;
}

/**
 * Worker: polls for requests every ERASURE_POLL_MS until stopped (the run in progress finishes first).
 * While the database is unreachable the failure is logged once a minute, not once a poll.
 */
export function pollErasureRequests(orm: MikroORM, cfg: Readonly<Config>, log: Logger, everyMs = ERASURE_POLL_MS): { stop(): Promise<void> } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let loggedAt = 0;
  let failures = 0;
  const failed = (e: unknown) => {
    failures++;
    if (Date.now() - loggedAt < 60_000) return;
    loggedAt = Date.now();
    log.warn({ err: errorMessage(e), failures }, 'erasure requests could not be read');
    failures = 0;
  };
  const tick = () => {
    running = runErasureRequests(orm, cfg, log)
      .then(() => {}, failed)
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, everyMs);
      });
  };
  timer = setTimeout(tick, everyMs);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
