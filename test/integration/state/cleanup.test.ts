/** Scheduled clean-up: inactive sessions become abandoned (with a final snapshot), expired queue entries go. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLEANUP_QUEUE, runCleanup } from '../../../src/jobs/boss.ts';
import { createProducer } from '../../../src/producers/index.ts';
import { query } from '../../../src/db/query.ts';
import type { WorkerHandle } from '../../../src/workers/worker.ts';
import { REDIS_URL, dropPrefix, openFixture, rows, testConfig, uniqueName, waitFor, type Fixture } from '../../helpers/services.ts';
import { inProcessWorker } from '../../helpers/worker.ts';

let fx: Fixture;
let worker: WorkerHandle;
const prefix = uniqueName('q');
const cfg = () => testConfig(fx.db.url, prefix, { GP_ABANDON_AFTER_S: '600', GP_SNAPSHOT_INTERVAL_S: '0' });

beforeAll(async () => {
  fx = await openFixture();
  worker = await inProcessWorker(cfg());
});
afterAll(async () => {
  await worker?.close();
  await fx?.close();
  await dropPrefix(prefix);
});

describe('clean-up', () => {
  it('abandons inactive sessions once, with a final snapshot, and removes expired queue entries', async () => {
    const p = createProducer({ connection: REDIS_URL, prefix });
    await p.sessionCreated({ sessionId: 'idle', gameType: 'hokm' });
    await p.turnResult({ sessionId: 'idle', turn: 1, state: { hp: 1 } });
    await p.sessionCreated({ sessionId: 'busy', gameType: 'hokm' });
    await p.queueEntered({ tenant: 't1', player: 'gone', expiresAt: new Date(Date.now() - 1000).toISOString() });
    await p.queueEntered({ tenant: 't1', player: 'stays', expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
    await p.close();
    await waitFor('stored', async () => (await rows(fx.orm, `select 1 from join_queue_entries where player_id = 'stays'`)).length === 1 && (await rows(fx.orm, `select 1 from session_states where session_id = 'idle'`)).length === 1);
    await query(fx.orm.em.fork(), `update sessions set last_event_at = now() - interval '11 minutes' where id = 'idle'`);

    const r = await runCleanup(fx.orm, cfg(), worker.jobs!.snapshots.enqueue);
    expect(r).toEqual({ abandoned: ['idle'], expiredQueueEntries: 1 });
    expect((await runCleanup(fx.orm, cfg())).abandoned).toEqual([]);
    const s = await rows(fx.orm, `select id, status, end_reason from sessions where id in ('idle', 'busy') order by id`);
    expect(s).toEqual([
      { id: 'busy', status: 'created', end_reason: null },
      { id: 'idle', status: 'abandoned', end_reason: 'inactive' },
    ]);
    expect((await rows(fx.orm, `select player_id from join_queue_entries where tenant = 't1'`)).map((x) => x.player_id)).toEqual(['stays']);
    await waitFor('final snapshot hashed', async () => (await rows(fx.orm, `select 1 from session_snapshots where session_id = 'idle' and final and hash is not null`)).length === 1);
    // The worker registered the pg-boss schedule that runs this every minute, once across replicas.
    const sched = await rows(fx.orm, `select name, cron from pgboss.schedule where name = $1`, [CLEANUP_QUEUE]);
    expect(sched).toEqual([{ name: CLEANUP_QUEUE, cron: '* * * * *' }]);
  });
});
