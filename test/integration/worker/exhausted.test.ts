/**
 * Jobs whose retries run out become dead letters with the reason, never a failed job left to expire:
 * a job whose write fails on every attempt (a trigger refuses its session's rows with a permission
 * error, as a revoked grant would) ends as `retries_exhausted` dead letters naming the last error and
 * the attempts, counted by gp_jobs_exhausted_total, gone from the queue, and `dlq replay` stores it
 * once the cause is fixed. A job that reaches BullMQ's failed set anyway (the dead letters could not be
 * written either) is dead-lettered by the sweep once the database takes them. On both queue backends.
 * A derived (pg-boss) job whose retries ran out is copied to gp-dead-jobs and counted by gp_pgboss_jobs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayDeadLetters } from '../../../src/ops/dead-letters.ts';
import { PGBOSS_DEAD_QUEUE, PGBOSS_QUEUES, SNAPSHOT_QUEUE } from '../../../src/jobs/boss.ts';
import { moveEvent } from '../../helpers/examples.ts';
import { BACKENDS, count, queueUrl, rows, waitFor } from '../../helpers/services.ts';
import { plainQueue, workerFixture } from '../../helpers/worker.ts';

describe.each(BACKENDS)('exhausted jobs on %s', (backend) => {
  const ctx = workerFixture({}, backend);
  const queue = () => plainQueue(ctx.prefix, backend === 'postgres' ? ctx.fx.db.url : undefined);
  const exhaustedTotal = async () => (await ctx.worker.metrics.registry.getSingleMetric('gp_jobs_exhausted_total')!.get()).values.reduce((a, v) => a + v.value, 0);
  const sql = (text: string) => rows(ctx.fx.orm, text);

  beforeAll(async () => {
    // Refuses one session's moves, and (when asked) the dead letters of exhausted jobs: 42501 is
    // neither a data error (isolated) nor transient (retried in-process), so the batch fails.
    await sql(`create table hbounds_refuse (what text primary key)`);
    await sql(`create function hbounds_refuse_moves() returns trigger language plpgsql as $$
      begin
        if new.session_id like 'ex-bad%' and exists (select 1 from hbounds_refuse where what = 'moves') then
          raise exception 'permission denied for table moves (test)' using errcode = '42501';
        end if;
        return new;
      end $$`);
    await sql(`create trigger hbounds_refuse before insert on moves for each row execute function hbounds_refuse_moves()`);
    await sql(`create function hbounds_refuse_dl() returns trigger language plpgsql as $$
      begin
        if new.reason_code = 'retries_exhausted' and exists (select 1 from hbounds_refuse where what = 'dead_letters') then
          raise exception 'permission denied for table dead_letters (test)' using errcode = '42501';
        end if;
        return new;
      end $$`);
    await sql(`create trigger hbounds_refuse_dl before insert on dead_letters for each row execute function hbounds_refuse_dl()`);
  });
  afterAll(async () => {
    await sql(`drop table if exists hbounds_refuse`).catch(() => {});
  });

  it('dead-letters the events of a job whose last attempt fails, with the reason, and replays them once fixed', async () => {
    await sql(`insert into hbounds_refuse values ('moves')`);
    const before = await exhaustedTotal();
    const q = queue();
    try {
      const bad = moveEvent('ex-bad-1', 1);
      const job = await q.add('events', { v: 1, events: [bad] }, { attempts: 3, backoff: { type: 'fixed', delay: 20 } });
      await q.add('events', { v: 1, events: [moveEvent('ex-good-1', 1)] });
      await waitFor('the dead letter', async () => (await count(ctx.fx.orm, 'dead_letters', `reason_code = 'retries_exhausted'`)) === 1);
      const [dl] = await sql(`select event_id, session_id, type, reason, truncated, job_id, payload from dead_letters where reason_code = 'retries_exhausted'`);
      expect(dl).toMatchObject({ event_id: bad.id, session_id: 'ex-bad-1', type: 'move', truncated: false, job_id: job.id });
      expect(dl.reason).toBe(`job ${job.id} gave up after 3 attempt(s) of 3; last error: 42501: permission denied for table moves (test)`);
      expect(JSON.parse(dl.payload)).toMatchObject({ id: bad.id, type: 'move', sessionId: 'ex-bad-1', seq: 1 });
      expect(await exhaustedTotal()).toBe(before + 1);
      // The job beside it (one attempt: plain BullMQ's default) shared its failing batch, and lands alone.
      await waitFor('the good job', async () => (await count(ctx.fx.orm, 'moves', 'session_id = $1', ['ex-good-1'])) === 1);
      expect(await count(ctx.fx.orm, 'dead_letters', 'session_id = $1', ['ex-good-1'])).toBe(0);
      // Acknowledged: nothing failed or waiting to expire in the queue.
      await waitFor('the job acknowledged', async () => (await q.getJobCounts('failed', 'active', 'waiting', 'delayed')).active === 0);
      expect(await q.getJobCounts('failed', 'active', 'waiting', 'delayed')).toEqual({ failed: 0, active: 0, waiting: 0, delayed: 0 });

      await sql(`delete from hbounds_refuse`);
      const [id] = (await sql(`select id from dead_letters where reason_code = 'retries_exhausted'`)).map((r) => Number(r.id));
      const r = await replayDeadLetters(ctx.fx.orm, queueUrl(backend, ctx.fx.db.url), { queueName: 'events', prefix: ctx.prefix }, [id!]);
      expect(r.replayed).toEqual([id]);
      await waitFor('the replayed event', async () => (await count(ctx.fx.orm, 'moves', 'session_id = $1', ['ex-bad-1'])) === 1);
    } finally {
      await sql(`delete from hbounds_refuse`);
      await q.close();
    }
  });

  it('dead-letters a job that reached the failed set when the database takes its dead letters again', async () => {
    await sql(`insert into hbounds_refuse values ('moves'), ('dead_letters')`);
    const before = await exhaustedTotal();
    const q = queue();
    try {
      const bad = moveEvent('ex-bad-2', 1);
      const job = await q.add('events', { v: 1, events: [bad] }, { attempts: 1 });
      await waitFor('the job in the failed set', async () => (await q.getJobCounts('failed')).failed === 1);
      expect(await count(ctx.fx.orm, 'dead_letters', 'event_id = $1', [bad.id])).toBe(0);
      expect(await exhaustedTotal()).toBe(before);

      await sql(`delete from hbounds_refuse where what = 'dead_letters'`);
      await ctx.worker.sweepFailed();
      const dl = await sql(`select reason_code, reason, job_id from dead_letters where event_id = '${bad.id}'`);
      expect(dl).toEqual([
        {
          reason_code: 'retries_exhausted',
          job_id: job.id,
          reason: `job ${job.id} gave up after 1 attempt(s) of 1; last error: 42501: permission denied for table moves (test); its dead letters could not be written either: 42501: permission denied for table dead_letters (test)`,
        },
      ]);
      expect((await q.getJobCounts('failed')).failed).toBe(0);
      expect(await exhaustedTotal()).toBe(before + 1);
      // A second sweep finds nothing: no second dead letter.
      await ctx.worker.sweepFailed();
      expect(await count(ctx.fx.orm, 'dead_letters', 'event_id = $1', [bad.id])).toBe(1);
    } finally {
      await sql(`delete from hbounds_refuse`);
      await q.close();
    }
  });

  it('routes a derived (pg-boss) job whose retries ran out to gp-dead-jobs, kept and counted', async () => {
    const boss = ctx.worker.jobs!.boss;
    for (const name of PGBOSS_QUEUES.filter((n) => n !== PGBOSS_DEAD_QUEUE)) expect((await boss.getQueue(name))?.deadLetter, name).toBe(PGBOSS_DEAD_QUEUE);
    // A snapshot job whose seq is not a number fails in its SQL on every attempt.
    const id = await boss.send(SNAPSHOT_QUEUE, { sessionId: 'ex-snap', reason: 'turns', seq: `not-a-seq-${backend}` }, { retryLimit: 1, retryDelay: 1 });
    let dead: Awaited<ReturnType<typeof boss.findJobs>> = [];
    await waitFor('the job in gp-dead-jobs', async () => (dead = await boss.findJobs(PGBOSS_DEAD_QUEUE, { data: { seq: `not-a-seq-${backend}` } })).length === 1);
    expect(dead[0]).toMatchObject({ sourceName: SNAPSHOT_QUEUE, sourceId: id, sourceRetryCount: 1, state: 'created' });
    expect(JSON.stringify(dead[0]!.sourceOutput)).toContain('not-a-seq');
    // Kept until an operator acts, not the 14 days pg-boss keeps a waiting job by default.
    expect(dead[0]!.keepUntil.getTime() - dead[0]!.createdOn.getTime()).toBeGreaterThan(5 * 365 * 86_400_000);
    const gauge = async () =>
      (await ctx.worker.metrics.registry.getSingleMetric('gp_pgboss_jobs')!.get()).values.find((v) => v.labels.queue === PGBOSS_DEAD_QUEUE && v.labels.state === 'ready')?.value ?? 0;
    await waitFor('gp_pgboss_jobs{queue="gp-dead-jobs"} counting it', async () => (await gauge()) >= 1);
  });
});
