/**
 * Scheduled clean-up and session lifetimes (issue 9, finding 10): a session idle past its timeout —
 * its own settings.idleTimeoutS, its game type's (GP_IDLE_TIMEOUTS) or the default — is marked
 * abandoned with an idle snapshot; a session that never expires stays; an idle session that gets an
 * event comes back and is recovered again; expired join-queue entries go (by an injected clock).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLEANUP_QUEUE, runCleanup } from '../../../src/jobs/boss.ts';
import { createProducer } from '../../../src/producers/index.ts';
import { query } from '../../../src/db/query.ts';
import { recoverActiveSessions } from '../../../src/recovery/recover.ts';
import * as api from '../../../src/index.ts';
import type { WorkerHandle } from '../../../src/process/worker.ts';
import { REDIS_URL, dropPrefix, openFixture, rows, testConfig, uniqueName, waitFor, type Fixture } from '../../helpers/services.ts';
import { inProcessWorker } from '../../helpers/worker.ts';

let fx: Fixture;
let worker: WorkerHandle;
const prefix = uniqueName('q');
const cfg = () => testConfig(fx.db.url, prefix, { GP_ABANDON_AFTER_S: '600', GP_IDLE_TIMEOUTS: 'llm-4x=86400,world=0', GP_SNAPSHOT_INTERVAL_S: '0' });

beforeAll(async () => {
  fx = await openFixture();
  worker = await inProcessWorker(cfg());
});
afterAll(async () => {
  await worker?.close();
  await fx?.close();
  await dropPrefix(prefix);
});

/** The sessions' last write, moved back: idle time is measured by the database from the last write. */
const age = (ids: string[], minutes: number) =>
  query(fx.orm.em.fork(), `update sessions set updated_at = now() - make_interval(mins => $2) where id = any($1::text[])`, [ids, minutes]);

describe('clean-up', () => {
  it('abandons sessions idle past their own, their game type\'s or the default timeout, once, with an idle snapshot; removes expired queue entries', async () => {
    const p = createProducer({ connection: REDIS_URL, prefix });
    await p.sessionCreated({ sessionId: 'idle', gameType: 'hokm' });
    await p.turnResult({ sessionId: 'idle', turn: 1, state: { hp: 1 } });
    await p.sessionCreated({ sessionId: 'busy', gameType: 'hokm' });
    await p.sessionCreated({ sessionId: 'forever', gameType: 'hokm', settings: { idleTimeoutS: 0 } });
    await p.sessionCreated({ sessionId: 'short', gameType: 'hokm', settings: { idleTimeoutS: 60 } });
    await p.sessionCreated({ sessionId: 'slow-llm', gameType: 'llm-4x' });
    await p.sessionCreated({ sessionId: 'world', gameType: 'world' });
    await p.queueEntered({ tenant: 't1', player: 'gone', expiresAt: '2030-01-01T00:00:00Z' });
    await p.queueEntered({ tenant: 't1', player: 'stays', expiresAt: '2030-01-03T00:00:00Z' });
    await p.close();
    await waitFor('stored', async () => (await rows(fx.orm, `select 1 from join_queue_entries where player_id = 'stays'`)).length === 1 && (await rows(fx.orm, `select 1 from session_states where session_id = 'idle'`)).length === 1 && (await rows(fx.orm, `select 1 from sessions where id = 'world'`)).length === 1);
    await age(['idle', 'forever', 'slow-llm', 'world'], 11);
    await age(['short'], 2);

    // What the PostgreSQL queue backend keeps in place of Redis keys with a TTL: one expired of each, one live.
    await rows(fx.orm, `insert into sequence_counters (prefix, session_id, seq, expires_at) values ('gp', 'old', 3, now() - interval '1 s'), ('gp', 'new', 3, now() + interval '1 day')`);
    await rows(fx.orm, `insert into api_records (key, value, expires_at) values ('gp:api-idem:k:old', '[]', now() - interval '1 s')`);
    const r = await runCleanup(fx.orm, cfg(), worker.jobs!.snapshots.enqueue, { now: () => new Date('2030-01-02T00:00:00Z') });
    expect({ ...r, abandoned: [...r.abandoned].sort() }).toEqual({ abandoned: ['idle', 'short'], expiredQueueEntries: 1, expiredRecords: 2 });
    expect(await rows(fx.orm, `select session_id from sequence_counters`)).toEqual([{ session_id: 'new' }]);
    expect((await runCleanup(fx.orm, cfg())).abandoned).toEqual([]);
    const s = await rows(fx.orm, `select id, status, end_reason from sessions order by id`);
    expect(s).toEqual([
      { id: 'busy', status: 'created', end_reason: null },
      { id: 'forever', status: 'created', end_reason: null },
      { id: 'idle', status: 'abandoned', end_reason: 'inactive' },
      { id: 'short', status: 'abandoned', end_reason: 'inactive' },
      { id: 'slow-llm', status: 'created', end_reason: null },
      { id: 'world', status: 'created', end_reason: null },
    ]);
    expect((await rows(fx.orm, `select player_id from join_queue_entries where tenant = 't1'`)).map((x) => x.player_id)).toEqual(['stays']);
    // Its state at that moment has a hashed snapshot (taken then, unless one of that seq existed), not a final one.
    await waitFor('snapshot of the idle state hashed', async () => (await rows(fx.orm, `select 1 from session_snapshots s join session_states st using (session_id) where session_id = 'idle' and s.seq = st.seq and s.hash is not null`)).length === 1);
    expect(await rows(fx.orm, `select seq from session_snapshots where session_id = 'idle' and final`)).toEqual([]);
    // The worker registered the pg-boss schedule that runs this every minute, once across replicas.
    const sched = await rows(fx.orm, `select name, cron from pgboss.schedule where name = $1`, [CLEANUP_QUEUE]);
    expect(sched).toEqual([{ name: CLEANUP_QUEUE, cron: '* * * * *' }]);
  });

  it('brings an idle session back with its next event: its status follows its events and recovery lists it again', async () => {
    const before = await recoverActiveSessions(fx.orm, { limit: 100 });
    expect(before.sessions.map((x) => x.session.id)).not.toContain('idle');
    const p = createProducer({ connection: REDIS_URL, prefix });
    await p.sessionStarted({ sessionId: 'idle' });
    await p.turnResult({ sessionId: 'idle', turn: 2, patch: { hp: 2 } });
    const issued = await p.lastSeq('idle');
    await p.close();
    await api.waitPersisted(fx.orm, 'idle', issued);
    const [row] = await rows(fx.orm, `select status, end_reason, ended_at, idle_at from sessions where id = 'idle'`);
    expect(row).toEqual({ status: 'started', end_reason: null, ended_at: null, idle_at: null });
    const after = await recoverActiveSessions(fx.orm, { limit: 100 });
    const idle = after.sessions.find((x) => x.session.id === 'idle');
    expect(idle?.state?.value).toEqual({ hp: 2 });
    // Idle again later: abandoned again, and still never an end (no final snapshot, never rated).
    await age(['idle'], 11);
    expect((await runCleanup(fx.orm, cfg())).abandoned).toEqual(['idle']);
    expect(await rows(fx.orm, `select seq from session_snapshots where session_id = 'idle' and final`)).toEqual([]);
  });
});
