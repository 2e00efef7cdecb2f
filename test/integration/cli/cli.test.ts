/**
 * The game-persist command line against real services: migrations from an empty database, the
 * entity/migration agreement check, doctor, dead-letter listing and replay, refusing unsafe Redis.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openOrm } from '../../../src/db/orm.ts';
import { query } from '../../../src/db/query.ts';
import { schemaDrifts } from '../../../src/db/migrate.ts';
import { moveEvent } from '../../helpers/examples.ts';
import { count, dropPrefix, emptyDatabase, openFixture, rows, testEnv, uniqueName, waitFor, type Fixture } from '../../helpers/services.ts';
import { runCli } from '../../helpers/cli.ts';
import { inProcessWorker, plainQueue, spawnCli } from '../../helpers/worker.ts';
import { testConfig } from '../../helpers/services.ts';
import { serviceEnv } from '../../helpers/env.ts';

let fx: Fixture;
const prefix = uniqueName('q');
beforeAll(async () => {
  fx = await openFixture();
});
afterAll(async () => {
  await fx?.close();
  await dropPrefix(prefix);
});

describe('migrations', () => {
  it('apply from an empty database through the CLI, and entities agree with them', async () => {
    const db = await emptyDatabase();
    try {
      const env = testEnv(db.url, prefix);
      const doctorBefore = await runCli(['doctor', '--json'], env);
      expect(doctorBefore.code).toBe(1);
      expect(JSON.parse(doctorBefore.stdout).checks.find((c: { name: string }) => c.name === 'migrations')).toMatchObject({ ok: false });
      expect(JSON.parse(doctorBefore.stdout).checks.find((c: { name: string }) => c.name === 'jobs')).toMatchObject({ ok: false, detail: expect.stringContaining('game-persist migrate') });
      const r = await runCli(['migrate', '--json'], env);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).applied.length).toBeGreaterThan(0);
      // pg-boss's schema comes with the migrations: workers start pg-boss with its migrations off.
      expect(JSON.parse(r.stdout).jobsSchema).toEqual({ schema: 'pgboss', version: expect.any(Number) });
      const again = await runCli(['migrate'], env);
      expect(again.stdout).toContain('up to date');
      const doctorAfter = JSON.parse((await runCli(['doctor', '--json'], env)).stdout) as { checks: { name: string; ok: boolean }[] };
      expect(doctorAfter.checks.filter((c) => c.name === 'migrations' || c.name === 'jobs')).toEqual([
        expect.objectContaining({ name: 'migrations', ok: true }),
        expect.objectContaining({ name: 'jobs', ok: true }),
      ]);
      const orm = await openOrm({ databaseUrl: db.url, poolMax: 1 });
      try {
        const tables = await query<{ t: string }>(orm.em.fork(), `select table_name as t from information_schema.tables where table_schema = 'public' order by 1`);
        expect(tables.map((x) => x.t)).toEqual(expect.arrayContaining(['sessions', 'moves', 'votes', 'dead_letters', 'join_queue_entries', 'agent_logs', 'gp_migrations']));
        expect(await schemaDrifts(orm)).toBe(false);
        // BullMQ's PostgreSQL backend and pg-boss keep their own schemas: never a diff to drop them.
        // (`migrate` installed pg-boss's schema; a table of its own there must not read as a diff either.)
        await query(orm.em.fork(), 'create table pgboss.gp_extra (id uuid primary key); create schema bullmq; create table bullmq.jobs (id text primary key)');
        expect(await schemaDrifts(orm)).toBe(false);
        // ...while a real difference is caught.
        await query(orm.em.fork(), 'alter table votes drop column kind');
        expect(await schemaDrifts(orm)).toBe(true);
      } finally {
        await orm.close();
      }
    } finally {
      await db.drop();
    }
  });

  it('creates the database when asked', async () => {
    const name = uniqueName('created');
    const url = fx.db.url.replace(/\/[^/]+$/, `/${name}`);
    const r = await runCli(['migrate', '--create-db', '--json'], testEnv(url, prefix));
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ created: true });
    const orm = await openOrm({ databaseUrl: url, poolMax: 1 });
    await orm.close();
    const drop = await openOrm({ databaseUrl: fx.db.url, poolMax: 1 });
    await query(drop.em.fork(), `drop database ${name} with (force)`);
    await drop.close();
  });
});

describe('doctor and configuration', () => {
  it('reports a healthy setup as JSON', async () => {
    const r = await runCli(['doctor', '--json'], testEnv(fx.db.url, prefix));
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.ok).toBe(true);
    expect(report.checks.map((c: { name: string }) => c.name)).toEqual(['postgres', 'migrations', 'jobs', 'redis', 'redis-eviction']);
    expect(report.queue).toMatchObject({ waiting: 0, active: 0 });
  });

  it('fails checks clearly and never prints passwords', async () => {
    const r = await runCli(['doctor'], testEnv('postgres://postgres:hunter2@127.0.0.1:1/nope', prefix, { REDIS_URL: 'redis://127.0.0.1:1' }));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL\s+postgres/);
    expect(r.stdout).toMatch(/FAIL\s+redis/);
    expect(r.stdout + r.stderr).not.toContain('hunter2');
  });

  it('names a bad variable and exits 2', async () => {
    const r = await runCli(['worker'], testEnv(fx.db.url, prefix, { GP_BATCH_ROWS: 'many' }));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('GP_BATCH_ROWS must be an integer');
    const u = await runCli(['worker', '--concurrency', '-3'], testEnv(fx.db.url, prefix));
    expect(u.code).toBe(2);
    const unknown = await runCli(['frobnicate'], testEnv(fx.db.url, prefix));
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command');
  });

  it('refuses to start a worker on a Redis that may evict jobs, unless told to', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'allkeys-lru'], { stdio: 'ignore', env: serviceEnv() });
    try {
      const env = testEnv(fx.db.url, prefix, { REDIS_URL: `redis://127.0.0.1:${port}` });
      await waitFor('redis up', async () => (await runCli(['doctor', '--json'], env)).stdout.includes('redis-eviction'));
      const r = await runCli(['worker'], env);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/maxmemory-policy is "allkeys-lru"/);
      expect(r.stderr).toContain('[redis_eviction]');
      const doc = JSON.parse((await runCli(['doctor', '--json'], env)).stdout);
      expect(doc.checks.find((c: { name: string }) => c.name === 'redis-eviction')).toMatchObject({ ok: false });
      // Told to accept the risk, it starts (and stops cleanly on SIGTERM).
      const w = spawnCli(['worker', '--allow-eviction'], { ...env, GP_LOG_LEVEL: 'info' });
      await w.waitForLog('worker started');
      w.child.kill('SIGTERM');
      expect(await w.exited).toBe(0);
    } finally {
      redis.kill('SIGKILL');
    }
  });
});

describe('dead letters', () => {
  it('lists them and replays them: a fixed payload lands, a still-bad one comes back', async () => {
    const worker = await inProcessWorker(testConfig(fx.db.url, prefix), fx.orm);
    try {
      const good = moveEvent('dlq', 1);
      const q = plainQueue(prefix);
      await q.add('events', { v: 1, events: [good, { ...moveEvent('dlq', 2), data: { action: 'x', speed: 3 } }, { ...moveEvent('dlq', 3), at: 'soon' }] });
      await q.close();
      await waitFor('dead letters', async () => (await count(fx.orm, 'dead_letters')) === 2);
      const env = testEnv(fx.db.url, prefix);
      const list = await runCli(['dlq', 'list', '--json'], env);
      expect(list.code).toBe(0);
      const dead = JSON.parse(list.stdout);
      expect(dead.map((d: { field: string }) => d.field)).toEqual(['data.speed', 'at']);
      // Oldest first, as its help and the README say (`--after <id>` pages forward).
      expect(dead[0].id).toBeLessThan(dead[1].id);
      expect((await runCli(['dlq', 'list', '--help'], env)).stdout).toContain('oldest first');
      const human = await runCli(['dlq', 'list'], env);
      expect(human.stdout).toContain('data.speed is not a field of move');

      // An operator fixes the first payload in place, then replays both.
      const [first, second] = dead;
      const [{ payload }] = await rows(fx.orm, 'select payload from dead_letters where id = $1', [first.id]);
      const fixed = JSON.parse(payload);
      delete fixed.data.speed;
      await query(fx.orm.em.fork(), 'update dead_letters set payload = $1 where id = $2', [JSON.stringify(fixed), first.id]);
      const replay = await runCli(['dlq', 'replay', '--id', String(first.id), '--id', String(second.id), '--json'], env);
      expect(replay.code).toBe(0);
      expect(JSON.parse(replay.stdout).replayed).toEqual([first.id, second.id]);
      await waitFor('replayed events processed', async () => (await count(fx.orm, 'moves', `session_id = 'dlq'`)) === 2 && (await count(fx.orm, 'dead_letters')) === 3);
      const after = JSON.parse((await runCli(['dlq', 'list', '--json'], env)).stdout);
      expect(after.map((d: { field: string }) => d.field)).toEqual(['at']);
      expect(after[0].id).toBeGreaterThan(second.id);
      const all = JSON.parse((await runCli(['dlq', 'list', '--all', '--json'], env)).stdout);
      expect(all.filter((d: { replayCount: number }) => d.replayCount === 1)).toHaveLength(2);
      expect((await runCli(['dlq', 'replay'], env)).code).toBe(2);
    } finally {
      await worker.close();
    }
  });
});

describe('the command line itself', () => {
  it('prints its version, and per-command help with examples', async () => {
    const env = testEnv(fx.db.url, prefix);
    const v = await runCli(['--version'], env);
    expect(v).toMatchObject({ code: 0 });
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const help = await runCli(['sessions', 'recover', '--help'], env);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: game-persist sessions recover [options] <id>');
    expect(help.stdout).toMatch(/Examples:\n {2}\$ game-persist sessions recover room-42/);
    expect(help.stdout).not.toContain('--batch-rows'); // options belong to their command
  });

  it('refuses unknown commands and options with a "did you mean", and an option of another command by naming its commands', async () => {
    const env = testEnv(fx.db.url, prefix);
    const typo = await runCli(['sessions', 'list', '--limt', '3'], env);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('(Did you mean --limit?)');
    const cmd = await runCli(['sesions', 'list'], env);
    expect(cmd.code).toBe(2);
    expect(cmd.stderr).toContain('(Did you mean sessions?)');
    const other = await runCli(['worker', '--json'], env);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/--json is an option of: .*doctor/);
    expect((await runCli(['sessions'], env)).code).toBe(2);
  });

  it('says what failed and what to try when PostgreSQL cannot be reached or the database is missing', async () => {
    const closed = await runCli(['sessions', 'list'], testEnv('postgres://gp:hunter2@127.0.0.1:1/nowhere', prefix));
    expect(closed.code).toBe(1);
    expect(closed.stderr).toContain('hint: PostgreSQL is not reachable at postgres://gp:***@127.0.0.1:1/nowhere');
    expect(closed.stderr).not.toContain('hunter2');
    const missing = await runCli(['sessions', 'list'], testEnv(`${fx.db.url}_missing`, prefix));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('game-persist migrate --create-db');
  });

  it('prints control characters of user data as escapes', async () => {
    const env = testEnv(fx.db.url, prefix);
    const name = `evil\u001b[2J\rname\u202e${uniqueName('k')}`;
    expect((await runCli(['keys', 'create', name, '--scope', 'read'], env)).code).toBe(0);
    const list = await runCli(['keys', 'list'], env);
    expect(list.code).toBe(0);
    // eslint-disable-next-line no-control-regex -- the escape character is what must not come through
    expect(list.stdout).not.toMatch(/[\u001b\r\u202e]/);
    expect(list.stdout).toContain('evil\\u{1b}[2J\\u{d}name\\u{202e}');
  });
});
