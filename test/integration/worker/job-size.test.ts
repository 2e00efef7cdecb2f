/**
 * A job over GP_MAX_JOB_BYTES is dead-lettered before its JSON is parsed (src/queue/job-size.ts): a
 * worker process with a small heap takes a 50 MB job pushed with plain BullMQ between good jobs, stays
 * up, stores the good events, records one `job_too_large` dead letter holding only the head of the
 * job's text, and acknowledges the job (no retry, no redelivery loop). The same worker with the limit
 * raised out of the way dies on that job: the limit is what keeps it alive. On both queue backends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OVERSIZE_HEAD_CHARS } from '../../../src/queue/job-size.ts';
import { moveEvent } from '../../helpers/examples.ts';
import { BACKENDS, backendEnv, count, dropQueue, openFixture, prepareQueue, rows, testEnv, uniqueName, waitFor, type Fixture } from '../../helpers/services.ts';
import { plainQueue, spawnCli } from '../../helpers/worker.ts';

/** About 50 MB of JSON that parses into ~4.6 million strings: far more heap than the worker thread has. */
function hugeJob(sessionId: string) {
  const ev = moveEvent(sessionId, 1);
  return { v: 1, events: [{ ...ev, data: { action: 'bloat', turn: 1, xs: new Array(4_600_000).fill('abcdefgh') } }] };
}

describe.each(BACKENDS)('job size limit on %s', (backend) => {
  let fx: Fixture;
  const prefixes: string[] = [];
  beforeAll(async () => {
    fx = await openFixture();
  });
  afterAll(async () => {
    for (const p of prefixes) await dropQueue(backend, fx.db.url, p).catch(() => {});
    await fx?.close();
  });
  const newPrefix = async () => {
    const p = uniqueName('q');
    prefixes.push(p);
    await prepareQueue(backend, fx.db.url, p);
    return p;
  };
  // The default job lock (30 s), not the tests' usual 2 s: fetching 50 MB from a busy queue on a
  // loaded machine can take longer than 2 s, and a lock lost meanwhile redelivers the job.
  const workerEnv = (prefix: string) => testEnv(fx.db.url, prefix, { ...backendEnv(backend), GP_WORKER_HEAP_MB: '96', GP_JOBS: 'false', GP_LOG_LEVEL: 'info', GP_LOCK_MS: '30000' });

  it('dead-letters a 50 MB job unparsed, keeps the worker up and stores the good jobs beside it', async () => {
    const prefix = await newPrefix();
    const w = spawnCli(['worker'], workerEnv(prefix));
    await w.waitForLog('worker started', 60_000);
    const q = plainQueue(prefix, backend === 'postgres' ? fx.db.url : undefined);
    try {
      await q.add('events', { v: 1, events: [moveEvent('js-good', 1), moveEvent('js-good', 2)] });
      const big = await q.add('events', hugeJob('js-big'));
      await q.add('events', { v: 1, events: [moveEvent('js-good', 3)] });
      await waitFor('good events and the dead letter', async () => (await count(fx.orm, 'moves', 'session_id = $1', ['js-good'])) === 3 && (await count(fx.orm, 'dead_letters')) >= 1, 180_000);

      const dl = await rows(fx.orm, 'select reason_code, reason, truncated, job_id, length(payload) as n, left(payload, 20) as head from dead_letters');
      expect(dl).toHaveLength(1);
      expect(dl[0]).toMatchObject({ reason_code: 'job_too_large', truncated: true, job_id: big.id });
      expect(dl[0].reason).toMatch(/job data is \d{8} bytes of JSON, over GP_MAX_JOB_BYTES \(16777216\); not parsed/);
      expect(Number(dl[0].n)).toBeLessThanOrEqual(OVERSIZE_HEAD_CHARS);
      // The head of the job's text as stored (PostgreSQL's jsonb prints it with spaces).
      expect(dl[0].head).toMatch(/^\{"v": ?1, ?"events"/);
      expect(await count(fx.orm, 'moves', 'session_id = $1', ['js-big'])).toBe(0);

      // Acknowledged, not failed or waiting to come back; a later job still lands after it and the
      // dead letter is not written again (no redelivery).
      await q.add('events', { v: 1, events: [moveEvent('js-good', 4)] });
      await waitFor('the job after it', async () => (await count(fx.orm, 'moves', 'session_id = $1', ['js-good'])) === 4);
      // (Each job is acknowledged just after its commit: wait for the last acknowledgement.)
      let counts: Record<string, number> = {};
      await waitFor('every job acknowledged', async () => ((counts = await q.getJobCounts('waiting', 'active', 'failed', 'delayed')), counts.active === 0));
      expect(counts).toEqual({ waiting: 0, active: 0, failed: 0, delayed: 0 });
      expect(await count(fx.orm, 'dead_letters')).toBe(1);
      expect(w.child.exitCode).toBeNull();
      expect(w.logs.filter((l) => l.level >= 50)).toEqual([]);
    } finally {
      await q.close();
      w.child.kill('SIGTERM');
    }
    expect(await w.exited).toBe(0);
  }, 360_000);
});

describe('job size limit, the control', () => {
  let fx: Fixture;
  const prefixes: string[] = [];
  beforeAll(async () => {
    fx = await openFixture();
  });
  afterAll(async () => {
    for (const p of prefixes) await dropQueue('redis', fx.db.url, p).catch(() => {});
    await fx?.close();
  });
  it('without the limit in the way, the same job kills the worker (the control)', async () => {
    const prefix = uniqueName('q');
    prefixes.push(prefix);
    const w = spawnCli(['worker'], testEnv(fx.db.url, prefix, { GP_WORKER_HEAP_MB: '96', GP_JOBS: 'false', GP_LOG_LEVEL: 'info', GP_MAX_JOB_BYTES: String(1024 * 1024 * 1024) }));
    await w.waitForLog('worker started', 60_000);
    const q = plainQueue(prefix);
    try {
      await q.add('events', hugeJob('js-control'));
      const code = await Promise.race([w.exited, new Promise<'alive'>((r) => setTimeout(() => r('alive'), 120_000))]);
      expect(code).not.toBe(0);
      expect(code).not.toBe('alive');
    } finally {
      await q.close();
      if (w.child.exitCode === null) w.child.kill('SIGKILL');
    }
  }, 360_000);
});
