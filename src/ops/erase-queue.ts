/**
 * The queue part of an erasure (src/ops/erase-player.ts): jobs still waiting in the events queue that
 * carry the player's events are removed before the database part, best effort.
 */
import { openQueue, type QueueConnection } from '../queue/backend.ts';
import { numberPattern, rekey } from './erase-json.ts';

export interface QueueReport {
  /** Jobs carrying the id that were removed, by state. */
  removed: Record<string, number>;
  /** Jobs carrying the id that a worker holds (active) or that could not be removed: run again later. */
  inFlight: number;
  /** Why the queue part did not run or stopped (the database part runs anyway). */
  error?: string;
}

/** The events queue an erasure searches. */
export interface QueueTarget {
  connection: QueueConnection;
  queueName: string;
  prefix: string;
}

const JOB_STATES = ['waiting', 'delayed', 'prioritized', 'failed', 'completed', 'waiting-children'] as const;

/** Removes the queue's jobs whose data names the id (a JSON string, or number: src/ops/erase-json.ts). Best effort: never throws. */
export async function eraseQueuedJobs(target: QueueTarget, id: string): Promise<QueueReport> {
  const quoted = JSON.stringify(id);
  const pattern = numberPattern(rekey(id, ''), 'js');
  const number = pattern === null ? null : new RegExp(pattern);
  const names = (data: unknown) => {
    const text = JSON.stringify(data ?? null);
    return text.includes(quoted) || (number !== null && number.test(text));
  };
  const report: QueueReport = { removed: {}, inFlight: 0 };
  const queue = openQueue(target, {}, { max: 1, applicationName: 'game-persist:erase' });
  try {
    for (const state of JOB_STATES) {
      // Pages from the end backwards: removing a job does not shift the pages still to read.
      const total = (await queue.getJobCounts(state))[state] ?? 0;
      for (let end = total - 1; end >= 0; end -= 500) {
        for (const job of await queue.getJobs([state], Math.max(0, end - 499), end, true)) {
          if (!job || !names(job.data)) continue;
          try {
            await job.remove();
            report.removed[state] = (report.removed[state] ?? 0) + 1;
          } catch {
            report.inFlight++; // taken by a worker meanwhile
          }
        }
      }
    }
    for (const job of await queue.getJobs(['active'], 0, -1)) if (job && names(job.data)) report.inFlight++;
  } catch (e) {
    report.error = e instanceof Error ? e.message : String(e);
  } finally {
    await queue.close().catch(() => {});
  }
  return report;
}
