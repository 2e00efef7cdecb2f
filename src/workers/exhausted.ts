/**
 * Jobs BullMQ gives up on become dead letters, never a failed job left to expire. Two paths:
 * - the processor's last attempt (`isLastAttempt`): when writing the job's events fails once more, its
 *   events are written as dead letters (`retries_exhausted`, with the last error and the attempts)
 *   instead, and the job is acknowledged. Only the job's lock holder does this, so once.
 * - `deadLetterFailedJobs`: a job that still ended in BullMQ's failed set (the dead letters could not
 *   be written either, the job stalled more than maxStalledCount times, a job that failed before this
 *   version) is dead-lettered the same way by a sweep, then removed from the queue.
 * Either way `dlq list` shows the events and `dlq replay` sends them again (they are deduplicated by
 * event id if some landed before).
 */
import type { Job } from 'bullmq';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { CustomTypeCheck } from '../contract/custom-check.ts';
import type { Limits } from '../contract/limits.ts';
import type { DeadLetterRow } from '../db/sql/dead-letters.ts';
import type { CheckedEvent } from '../contract/validate.ts';
import { GamePersistError } from '../errors.ts';
import type { EventsQueue } from '../queue/backend.ts';
import { parseJob, type ParsedJob } from './parse-job.ts';
import { describeDbError } from './db-errors.ts';
import { deadLetterForEvent, writeBatch, type WriteResult } from './write-batch.ts';

/** Reason code of the dead letters of a job whose attempts ran out. */
export const RETRIES_EXHAUSTED = 'retries_exhausted';

/** Failed jobs one sweep takes at most (the next sweep takes the rest). */
const SWEEP_JOBS = 100;

/** True when a failure of this attempt is the job's last: BullMQ will not retry it. */
export function isLastAttempt(job: Job): boolean {
  return job.attemptsMade + 1 >= Math.max(1, job.opts.attempts ?? 1);
}

export interface ExhaustedContext {
  orm: MikroORM;
  limits: Limits;
  queue: string;
  types?: CustomTypeCheck;
  writeRetries: number;
}

/**
 * The dead letters of a job given up on: each valid event in wire form under `retries_exhausted`
 * (replayable alone), plus what the job's data held that was never valid (their own codes).
 */
export function exhaustedRows(job: Job, why: string, attempts: number, ctx: ExhaustedContext): DeadLetterRow[] {
  const jobId = job.id ?? null;
  const parsed = parseJob(job.data, ctx.limits, ctx.queue, jobId, ctx.types);
  const reason = `job ${jobId ?? '?'} gave up after ${attempts} attempt(s) of ${Math.max(1, job.opts.attempts ?? 1)}; last error: ${why}`;
  return [...parsed.events.map((e) => deadLetterForEvent(e, RETRIES_EXHAUSTED, reason, null, ctx.queue, jobId)), ...parsed.deadLetters];
}

/** Writes dead letters in a transaction of their own (no event rows: those are what failed). */
export async function writeDeadLetters(rows: DeadLetterRow[], ctx: ExhaustedContext): Promise<void> {
  if (rows.length) await writeBatch(ctx.orm, [], rows, { retries: ctx.writeRetries, queue: ctx.queue });
}

/**
 * A job's last attempt failed (`err`, with its batch). Its batch may have failed for another job's
 * events: its own are written alone once more (`write`). If that fails too, they become dead letters
 * with the reason and the job can be acknowledged; if even those cannot be written, this throws naming
 * both errors, the job fails, and the sweep dead-letters it later.
 */
export async function lastAttempt(
  job: Job,
  parsed: ParsedJob,
  err: unknown,
  ctx: ExhaustedContext,
  write: (events: CheckedEvent[], deadLetters: DeadLetterRow[]) => Promise<WriteResult>,
): Promise<{ written: WriteResult; deadLetters?: undefined } | { written?: undefined; deadLetters: DeadLetterRow[] }> {
  let why = err;
  try {
    return { written: await write(parsed.events, parsed.deadLetters) };
  } catch (alone) {
    why = alone;
  }
  const rows = exhaustedRows(job, describeDbError(why), job.attemptsMade + 1, ctx);
  try {
    await writeDeadLetters(rows, ctx);
  } catch (dl) {
    throw new GamePersistError('dead_letter_failed', `${describeDbError(why)}; its dead letters could not be written either: ${describeDbError(dl)}`, { cause: why });
  }
  return { deadLetters: rows };
}

/** Runs deadLetterFailedJobs now, on a timer and on demand; never two at once. */
export class FailedJobsSweeper {
  #running: Promise<void> | null = null;
  #timer: NodeJS.Timeout | null = null;
  readonly #queue: EventsQueue;
  readonly #ctx: ExhaustedContext;
  readonly #onSwept: (r: { jobs: number; rows: DeadLetterRow[] }) => void;
  readonly #onError: (e: unknown) => void;
  constructor(queue: EventsQueue, ctx: ExhaustedContext, onSwept: (r: { jobs: number; rows: DeadLetterRow[] }) => void, onError: (e: unknown) => void) {
    this.#queue = queue;
    this.#ctx = ctx;
    this.#onSwept = onSwept;
    this.#onError = onError;
  }

  /** A sweep, or the one under way. */
  sweep(): Promise<void> {
    return (this.#running ??= deadLetterFailedJobs(this.#queue, this.#ctx)
      .then(this.#onSwept, this.#onError)
      .finally(() => (this.#running = null)));
  }

  /** A sweep started after any under way (which may have read the failed set before the caller's change). */
  async sweepAfresh(): Promise<void> {
    await this.#running;
    await this.sweep();
  }

  start(everyMs: number): void {
    void this.sweep();
    this.#timer = setInterval(() => void this.sweep(), everyMs);
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.#running;
  }
}

/**
 * Dead-letters up to SWEEP_JOBS jobs of the failed set and removes them from the queue (after their
 * dead letters are committed: a crash in between leaves the job to the next sweep, which writes its
 * dead letters again). Returns the jobs and rows dead-lettered.
 */
export async function deadLetterFailedJobs(queue: EventsQueue, ctx: ExhaustedContext): Promise<{ jobs: number; rows: DeadLetterRow[] }> {
  const failed = (await queue.getJobs(['failed'], 0, SWEEP_JOBS - 1, true)) as Job[];
  const out = { jobs: 0, rows: [] as DeadLetterRow[] };
  for (const job of failed) {
    if (!job) continue;
    const rows = exhaustedRows(job, job.failedReason ?? 'unknown', job.attemptsMade, ctx);
    await writeDeadLetters(rows, ctx);
    await job.remove().catch(() => {}); // removed meanwhile (by an operator, or another replica's sweep)
    out.jobs++;
    out.rows.push(...rows);
  }
  return out;
}
