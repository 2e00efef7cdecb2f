/**
 * How a worker consumes the events queue: BullMQ hands it many jobs at once; each is parsed against the
 * game types registered now, its issued-seq report applied in a transaction of its own, and its events
 * gathered into write batches (src/workers/batcher.ts). A job is acknowledged only once its events are
 * committed; one whose last attempt fails has them dead-lettered instead (src/workers/exhausted.ts).
 */
import type { Job } from 'bullmq';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../config.ts';
import type { TypeRegistry } from '../db/event-types.ts';
import { coerceError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { openWorker, type EventsWorker, type QueueTarget } from '../queue/backend.ts';
import { Batcher } from '../workers/batcher.ts';
import { describeDbError } from '../workers/db-errors.ts';
import { isLastAttempt, lastAttempt, type ExhaustedContext } from '../workers/exhausted.ts';
import { applyIssued } from '../workers/issued.ts';
import { parseJob } from '../workers/parse-job.ts';
import { writeBatch, type WriterOptions } from '../workers/write-batch.ts';
import type { Recorder } from './record.ts';

export interface ConsumeContext {
  cfg: Readonly<Config>;
  log: Logger;
  orm: MikroORM;
  types: TypeRegistry;
  writer: WriterOptions;
  recorder: Recorder;
  /** Where a job's last attempt writes its dead letters (and the failed-jobs sweep too). */
  exhausted: ExhaustedContext;
  /** Called after each batch is committed and before its jobs are acknowledged (WorkerDeps.afterCommit). */
  afterCommit?: (events: number) => void;
}

/** The batcher whose every batch is one writeBatch, counted by the recorder; a failed batch rejects its jobs. */
export function openBatcher(ctx: ConsumeContext): Batcher {
  const { cfg, log, orm, writer, recorder } = ctx;
  return new Batcher(
    async (events, deadLetters) => {
      const t0 = performance.now();
      try {
        const r = await writeBatch(orm, events, deadLetters, writer);
        ctx.afterCommit?.(events.length);
        recorder.written(r, events, deadLetters, t0);
        log.debug({ rows: events.length, inserted: r.inserted, ms: Math.round(performance.now() - t0) }, 'batch committed');
      } catch (e) {
        recorder.batchFailed(e, events.length);
        throw coerceError(e);
      }
    },
    { maxRows: cfg.batchRows, maxBytes: cfg.batchBytes, maxMs: cfg.batchMs },
  );
}

/** BullMQ's processor: resolves once the job's events are committed (or dead-lettered on its last attempt). */
export function jobProcessor(ctx: ConsumeContext, batcher: Batcher): (job: Job) => Promise<void> {
  const { cfg, log, orm, types, writer, recorder } = ctx;
  return async (job) => {
    let parsed = parseJob(job.data, cfg.limits, cfg.queueName, job.id ?? null, types);
    // A game type registered (or changed) since the last read is checked against what is registered
    // now: if the registrations changed, read them again and parse again.
    const missed = types.takeMissed();
    if ((missed || parsed.deadLetters.some((d) => d.type?.startsWith('x.'))) && (await types.refreshIfChanged())) parsed = parseJob(job.data, cfg.limits, cfg.queueName, job.id ?? null, types);
    recorder.taken(job, parsed.events);
    if (parsed.issued.length) {
      // An issued-seq report: in a transaction of its own (rare: after a Redis restart), before the job's events if it has any.
      const r = await applyIssued(orm, parsed.issued, writer).catch((e: unknown) => {
        // Retried like any job; after the last attempt the report is gone, so say so where it is seen.
        if (isLastAttempt(job))
          log.error(
            { job: job.id, sessions: parsed.issued.length, first: parsed.issued.slice(0, 10), err: describeDbError(e) },
            'an issued-seq report could not be applied on any attempt: events it names that were lost may stay unreported (check sessions.last_seq against the seqs named)',
          );
        throw e;
      });
      recorder.issued(r);
    }
    if (!parsed.events.length && !parsed.deadLetters.length) return;
    try {
      await batcher.add(parsed.events, parsed.deadLetters);
    } catch (e) {
      if (!isLastAttempt(job)) throw e;
      const t0 = performance.now();
      const out = await lastAttempt(job, parsed, e, ctx.exhausted, (events, deadLetters) => writeBatch(orm, events, deadLetters, writer));
      if (out.written) recorder.written(out.written, parsed.events, parsed.deadLetters, t0);
      else recorder.exhausted(1, out.deadLetters);
    }
  };
}

/** The BullMQ worker on the events queue, not yet consuming (its `run()` starts it, last in a start). */
export function openConsumer(target: QueueTarget, processor: (job: Job) => Promise<void>, cfg: Readonly<Config>): EventsWorker {
  return openWorker(
    target,
    processor,
    {
      autorun: false,
      concurrency: cfg.concurrency,
      lockDuration: cfg.lockMs,
      stalledInterval: Math.max(1000, Math.floor(cfg.lockMs / 2)),
      // Redelivery is harmless (events are deduplicated), so a job may stall many times (worker
      // crashes, deploys) before BullMQ gives up on it.
      maxStalledCount: 100,
      removeOnComplete: { count: 0 },
      removeOnFail: { age: 7 * 24 * 3600 },
    },
    // PostgreSQL backend: every fetch, acknowledgement and lock renewal is a transaction. They commit
    // without waiting for the WAL flush: what a PostgreSQL crash can lose of them is an
    // acknowledgement (the job is redelivered, and its events deduplicated) or a fetch (the job stays
    // waiting). Never a job: producers add jobs with synchronous commits. One connection per job in
    // flight would be wasteful: acknowledgements queue for at most 10.
    { max: Math.min(cfg.concurrency, 10), applicationName: 'game-persist:worker-queue', asyncCommit: true },
    // A job larger than this reaches the processor unparsed, as a marker parseJob dead-letters.
    cfg.maxJobBytes,
  );
}
