/**
 * Adds one BullMQ job whose data is given as JSON text, as a publisher in another language may send
 * it. BullMQ's `Queue.add` serialises the data with JSON.stringify, which recurses and overflows the
 * main thread's stack on data nested about 5,000 levels deep (JSON.parse has no such limit), so the
 * add runs in a worker thread with a larger stack. The poison run uses it for its depth-10,000 job.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Redis } from 'ioredis';
import { EVENT_JOB_NAME } from '../contract/limits.ts';
import { openQueue } from '../queue/backend.ts';

interface RawJob {
  redisUrl: string;
  prefix: string;
  queueName: string;
  /** The job's data as JSON text. */
  text: string;
}

/** Adds the job; resolves with its id. */
export function addRawJob(job: RawJob): Promise<string> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), { workerData: { rawJob: job }, resourceLimits: { stackSizeMb: 64 } });
    w.once('message', (m: { id?: string; error?: string }) => (m.id ? resolve(m.id) : reject(new Error(`adding the raw job failed: ${m.error}`))));
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`the raw-job thread exited (${code}) before answering`)));
  });
}

if (!isMainThread && (workerData as { rawJob?: RawJob } | null)?.rawJob) {
  const job = (workerData as { rawJob: RawJob }).rawJob;
  const redis = new Redis(job.redisUrl, { maxRetriesPerRequest: null });
  const queue = openQueue({ connection: redis, prefix: job.prefix, queueName: job.queueName });
  try {
    const added = await queue.add(EVENT_JOB_NAME, JSON.parse(job.text));
    parentPort!.postMessage({ id: String(added.id) });
  } catch (e) {
    parentPort!.postMessage({ error: e instanceof Error ? e.message : String(e) });
  } finally {
    await queue.close();
    redis.disconnect();
  }
}
