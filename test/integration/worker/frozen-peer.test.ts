/**
 * A worker frozen inside a transaction must not stall its replicas (FINDINGS 3). The worker's write
 * pool carries PostgreSQL session limits: the frozen worker's idle transaction is ended by PostgreSQL
 * (its row locks released), a batch waiting on locks gives up and retries, a hanging statement ends.
 * The errors they raise are transient: the batch is retried, never split or dead-lettered.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { query, transaction } from '../../../src/db/query.ts';
import { ConfigError } from '../../../src/errors.ts';
import { createProducer } from '../../../src/producers/index.ts';
import { classifyDbError, sqlState } from '../../../src/workers/db-errors.ts';
import type { WorkerHandle } from '../../../src/process/worker.ts';
import { REDIS_URL, count, dropPrefix, openFixture, rows, testConfig, testEnv, uniqueName, waitFor, type Fixture } from '../../helpers/services.ts';
import { inProcessWorker, plainQueue, spawnCli, type ChildWorker } from '../../helpers/worker.ts';

let fx: Fixture;
const prefixes: string[] = [];
beforeAll(async () => {
  fx = await openFixture();
});
afterAll(async () => {
  await fx?.close();
  await Promise.all(prefixes.map(dropPrefix));
});

const SETTINGS = ['statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout', 'application_name'];
async function sessionSettings(orm: Fixture['orm']): Promise<Record<string, string>> {
  const r = await query<{ name: string; setting: string }>(orm.em.fork(), 'select name, setting from pg_settings where name = any($1)', [SETTINGS]);
  return Object.fromEntries(r.map((x) => [x.name, x.setting]));
}

async function queueCounts(prefix: string) {
  const q = plainQueue(prefix);
  try {
    return await q.getJobCounts('waiting', 'active', 'delayed', 'failed');
  } finally {
    await q.close();
  }
}

describe('session limits of the worker', () => {
  it('default to fractions of GP_LOCK_MS and are validated', () => {
    const d = loadConfig({});
    expect([d.dbIdleInTransactionTimeoutMs, d.dbLockTimeoutMs, d.dbStatementTimeoutMs]).toEqual([10_000, 5_000, 60_000]);
    const t = loadConfig({ GP_LOCK_MS: '2000' });
    expect([t.dbIdleInTransactionTimeoutMs, t.dbLockTimeoutMs, t.dbStatementTimeoutMs]).toEqual([666, 333, 60_000]);
    expect(loadConfig({ GP_LOCK_MS: '600000' }).dbStatementTimeoutMs).toBe(1_200_000);
    expect(loadConfig({ GP_DB_STATEMENT_TIMEOUT_MS: '0' }).dbStatementTimeoutMs).toBe(0);
    // An idle transaction outliving the job lock would still stall whoever takes its jobs over.
    expect(() => loadConfig({ GP_DB_IDLE_IN_TX_TIMEOUT_MS: '30000' })).toThrow(ConfigError);
    expect(() => loadConfig({ GP_DB_IDLE_IN_TX_TIMEOUT_MS: '30000' })).toThrow(/^GP_DB_IDLE_IN_TX_TIMEOUT_MS must be below GP_LOCK_MS/);
    expect(() => loadConfig({ GP_DB_LOCK_TIMEOUT_MS: 'soon' })).toThrow(/^GP_DB_LOCK_TIMEOUT_MS /);
  });

  it("are in effect on the worker's connections, not on a command's, and what they raise is transient", async () => {
    const prefix = uniqueName('q');
    prefixes.push(prefix);
    let w: WorkerHandle | undefined;
    try {
      w = await inProcessWorker(
        testConfig(fx.db.url, prefix, { GP_JOBS: 'false', GP_DB_STATEMENT_TIMEOUT_MS: '700', GP_DB_LOCK_TIMEOUT_MS: '300', GP_DB_IDLE_IN_TX_TIMEOUT_MS: '500' }),
      );
      expect(await sessionSettings(w.orm)).toEqual({
        statement_timeout: '700',
        lock_timeout: '300',
        idle_in_transaction_session_timeout: '500',
        application_name: 'game-persist:worker',
      });
      // An ORM opened as the CLI opens one (migrate, verify, rebuild): no limit that could cancel a long migration.
      expect(await sessionSettings(fx.orm)).toEqual({ statement_timeout: '0', lock_timeout: '0', idle_in_transaction_session_timeout: '0', application_name: 'game-persist' });

      const orm = w.orm;
      // lock_timeout: another transaction holds the lock.
      const lockErr = await transaction(fx.orm, async (q) => {
        await q('select pg_advisory_xact_lock(4242)');
        return query(orm.em.fork(), 'select pg_advisory_xact_lock(4242)').then(() => null, (e: unknown) => e);
      });
      expect(sqlState(lockErr)).toBe('55P03');
      expect(classifyDbError(lockErr)).toBe('transient');

      // statement_timeout
      const t0 = Date.now();
      const slowErr = await query(orm.em.fork(), 'select pg_sleep(10)').then(() => null, (e: unknown) => e);
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(sqlState(slowErr)).toBe('57014');
      expect(classifyDbError(slowErr)).toBe('transient');

      // idle_in_transaction_session_timeout: PostgreSQL ends the session; what the next statement
      // sees is 25P03 or, when pg read the goodbye first, its own connection error without a SQLSTATE.
      const idleErr = await transaction(orm, async (q) => {
        await q('select 1');
        await sleep(1200);
        await q('select 1');
      }).then(() => null, (e: unknown) => e);
      expect(idleErr).toBeInstanceOf(Error);
      expect([undefined, '25P03']).toContain(sqlState(idleErr));
      expect(classifyDbError(idleErr)).toBe('transient');
      // The pool dropped the dead connection.
      expect(await query(orm.em.fork(), 'select 1 as one')).toEqual([{ one: 1 }]);
    } finally {
      await w?.close();
    }
  });
});

describe('a worker frozen inside a transaction (SIGSTOP)', () => {
  it("does not stall another worker's batches on the same sessions, and every event lands exactly once", { timeout: 120_000 }, async () => {
    const prefix = uniqueName('q');
    prefixes.push(prefix);
    // GP_LOCK_MS 2000: the limits default to idle-in-transaction 666 ms, lock 333 ms, statement 60 s.
    const env = testEnv(fx.db.url, prefix, { GP_LOCK_MS: '2000', GP_BATCH_ROWS: '500', GP_LOG_LEVEL: 'info' });
    const sessions = 20;
    const p = createProducer({ connection: REDIS_URL, prefix });
    let sent = 0;
    let stop = false;
    const sending = (async () => {
      while (!stop) {
        await Promise.all(Array.from({ length: 100 }, (_, j) => p.move({ sessionId: `fz-${(sent + j) % sessions}`, player: 'u', action: 'a', turn: sent + j })));
        sent += 100;
        await sleep(20);
      }
    })();
    const stored = () => count(fx.orm, 'moves', 'session_id like $1', ['fz-%']);

    const a = spawnCli(['worker'], env);
    let b: ChildWorker | undefined;
    let frozen: { pid: number; application_name: string } | undefined;
    try {
      await a.waitForLog('worker started');
      await waitFor('worker A writing', async () => (await stored()) > 1000);

      // Freeze A while one of its transactions has written rows (it holds their locks) and waits
      // for A's next statement: SIGSTOP when pg_stat_activity shows it so, confirm it stayed so.
      const deadline = Date.now() + 30_000;
      while (!frozen) {
        if (Date.now() > deadline) throw new Error('never caught worker A inside a transaction');
        const [hit] = await rows<{ pid: number; xid: string; application_name: string }>(
          fx.orm,
          `select pid, backend_xid::text as xid, application_name from pg_stat_activity
            where datname = $1 and pid <> pg_backend_pid() and application_name not like 'pgboss%'
              and state = 'idle in transaction' and backend_xid is not null`,
          [fx.db.name],
        );
        if (!hit) continue;
        a.child.kill('SIGSTOP');
        await sleep(100);
        const [still] = await rows(fx.orm, `select 1 from pg_stat_activity where pid = $1 and backend_xid::text = $2 and state = 'idle in transaction'`, [hit.pid, hit.xid]);
        if (still) frozen = hit;
        else a.child.kill('SIGCONT');
      }

      // B consumes the same queue: new events of the same sessions, and A's jobs once their locks expire.
      b = spawnCli(['worker'], env);
      await b.waitForLog('worker started');
      await sleep(2000);
      stop = true;
      await sending;
      await p.close();
      const n = sent;

      // Everything lands while A is still frozen (without the session limits, B's batches of these
      // sessions waited on A's row locks until A was continued). The bound is generous for a loaded machine.
      await waitFor('every event stored while A is frozen', async () => (await stored()) === n, 30_000);
      expect(a.child.exitCode).toBe(null);
      // PostgreSQL ended A's frozen transaction.
      expect(await count(fx.orm, 'pg_stat_activity', 'pid = $1', [frozen.pid])).toBe(0);
      expect(frozen.application_name).toBe('game-persist:worker');

      // A wakes up to a closed connection: its transaction is retried (transient: a batch is never
      // split or dead-lettered for it), its stale acks are harmless races logged as warnings, and
      // nothing is stored twice.
      a.child.kill('SIGCONT');
      await waitFor('A retried', () => a.logs.some((l) => l.level === 40 && /retrying/.test(l.msg)), 15_000);
      await waitFor('queue drained', async () => {
        const c = await queueCounts(prefix);
        return c.waiting + c.active + c.delayed === 0;
      });
      await sleep(1000);
      a.child.kill('SIGTERM');
      b.child.kill('SIGTERM');
      expect(await a.exited).toBe(0);
      expect(await b.exited).toBe(0);

      expect(await stored()).toBe(n);
      const [s] = await rows(fx.orm, 'select coalesce(sum(event_count), 0) as c from sessions where id like $1', ['fz-%']);
      expect(Number(s.c)).toBe(n);
      expect(await count(fx.orm, 'dead_letters')).toBe(0);
      expect((await queueCounts(prefix)).failed).toBe(0);

      const lockRace = /Missing (lock|key) for job|Lock mismatch|could not renew lock/;
      const races = a.logs.filter((l) => lockRace.test(l.err ?? ''));
      expect(races.length).toBeGreaterThan(0);
      for (const l of races) {
        expect(l.level).toBe(40);
        expect(l.msg).toMatch(/deduplication by event id/);
      }
      expect([...a.logs, ...b.logs].filter((l) => l.level >= 50 && (lockRace.test(l.err ?? '') || /batch failed/.test(l.msg))).map((l) => l.msg)).toEqual([]);
    } finally {
      stop = true;
      if (a.child.exitCode === null) a.child.kill('SIGCONT');
      await sending.catch(() => {});
      await p.close().catch(() => {});
    }
  });
});
