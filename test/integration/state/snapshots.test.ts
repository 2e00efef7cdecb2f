/**
 * Snapshots against real services: scheduled through pg-boss in the transaction that made them due
 * (every N turns, at the end, and when the game server sends its own hashed state), hashed over RFC 8785
 * canonical JSON, pruned to first + last K + final, verified, and skipped by recovery when corrupt.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProducer } from '../../../src/producers/index.ts';
import { query } from '../../../src/db/query.ts';
import { recoverSession } from '../../../src/recovery/recover.ts';
import { stateHash } from '../../../src/snapshots/hash.ts';
import { runSnapshotSweep } from '../../../src/jobs/boss.ts';
import type { WorkerHandle } from '../../../src/process/worker.ts';
import { runCli } from '../../helpers/cli.ts';
import { REDIS_URL, dropPrefix, openFixture, rows, testConfig, testEnv, uniqueName, waitFor, type Fixture } from '../../helpers/services.ts';
import { inProcessWorker, spawnCli } from '../../helpers/worker.ts';

let fx: Fixture;
let worker: WorkerHandle;
const prefix = uniqueName('q');
const prefixes = [prefix];
const settings = { GP_SNAPSHOT_EVERY_TURNS: '5', GP_SNAPSHOT_KEEP: '2', GP_SNAPSHOT_INTERVAL_S: '0' };

beforeAll(async () => {
  fx = await openFixture();
  worker = await inProcessWorker(testConfig(fx.db.url, prefix, settings));
});
afterAll(async () => {
  await worker?.close();
  await fx?.close();
  await Promise.all(prefixes.map(dropPrefix));
});

/** Waits until the pg-boss jobs have hashed every snapshot the fold captured for these sessions. */
const hashed = (like: string) =>
  waitFor('snapshot jobs done', async () => Number((await rows(fx.orm, 'select count(*) as n from session_snapshots where session_id like $1 and hash is null', [like]))[0].n) === 0, 60_000);
const snaps = (id: string) => rows(fx.orm, 'select seq, turn, reason, final, hash, server_hash, hash_matches, state from session_snapshots where session_id = $1 order by seq', [id]);

describe('snapshots', () => {
  it('are taken every N turns and at the end, hashed canonically, and pruned to first + last K + final', async () => {
    const p = createProducer({ connection: REDIS_URL, prefix });
    await p.sessionCreated({ sessionId: 'snap-1', gameType: 'fourx' });
    for (let t = 0; t < 23; t++) await p.turnResult({ sessionId: 'snap-1', turn: t, ...(t === 0 ? { state: { turn: 0, b: { y: 1, x: 2 } } } : { patch: { turn: t } }) });
    await waitFor('turn snapshots', async () => (await snaps('snap-1')).filter((s) => s.reason === 'turns').length >= 3);
    await p.sessionFinished({ sessionId: 'snap-1', winners: ['p1'] });
    await p.close();
    await waitFor('final snapshot', async () => (await snaps('snap-1')).some((s) => s.final));
    await hashed('snap-1');
    const all = await snaps('snap-1');
    // Scheduled at turns 0, 5, 10, 15, 20; pruned to the first (0), the newest 2, and the final one.
    expect(all.filter((s) => !s.final).map((s) => s.turn)).toEqual([0, 15, 20]);
    const final = all.find((s) => s.final)!;
    expect(final.turn).toBe(22);
    for (const s of all) expect(s.hash).toBe(stateHash(s.state));
    // RFC 8785: key order does not matter.
    expect(stateHash({ b: { x: 2, y: 1 }, turn: 0 })).toBe(all[0].hash);
    const verify = await runCli(['snapshots', 'verify', '--session', 'snap-1', '--json'], testEnv(fx.db.url, prefix));
    expect(verify.code).toBe(0);
    expect(JSON.parse(verify.stdout)).toEqual({ checked: 4, mismatches: [] });
  });

  it('keeps a game server snapshot as sent and records whether its own hash matches', async () => {
    const p = createProducer({ connection: REDIS_URL, prefix });
    const good = { hp: 3, name: 'ann' };
    await p.turnResult({ sessionId: 'snap-2', turn: 1, state: good, stateHash: stateHash({ name: 'ann', hp: 3 }) });
    await p.turnResult({ sessionId: 'snap-2', turn: 2, state: { hp: 2, name: 'ann' }, stateHash: 'f'.repeat(64) });
    await p.close();
    await waitFor('server snapshots', async () => (await snaps('snap-2')).filter((s) => s.reason === 'server').length === 2);
    const server = (await snaps('snap-2')).filter((s) => s.reason === 'server');
    expect(server.map((s) => s.hash_matches)).toEqual([true, false]);
    expect(worker.jobs!.stats.hashMismatches).toBeGreaterThanOrEqual(1);
    const verify = await runCli(['snapshots', 'verify', '--session', 'snap-2'], testEnv(fx.db.url, prefix));
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(/MISMATCH\s+snap-2 seq 2 turn 2 \(server_hash\)/);
  });

  it('lets recovery fall back to an older snapshot when the newest is corrupt, and say so', async () => {
    const p = createProducer({ connection: REDIS_URL, prefix });
    for (let t = 0; t < 12; t++) await p.turnResult({ sessionId: 'snap-3', turn: t, ...(t === 0 ? { state: { turn: 0 } } : { patch: { turn: t } }) });
    await p.close();
    await waitFor('snapshots at 0, 5, 10', async () => (await snaps('snap-3')).length === 3);
    await hashed('snap-3');
    const before = await recoverSession(fx.orm, 'snap-3');
    expect(before!.snapshot!.turn).toBe(10);
    expect(before!.tail.map((e) => e.seq)).toEqual([12]);
    // Someone edits the newest snapshot behind our back.
    await query(fx.orm.em.fork(), `update session_snapshots set state = '{"turn": 99}' where session_id = 'snap-3' and turn = 10`);
    const after = await recoverSession(fx.orm, 'snap-3');
    expect(after!.snapshot!.turn).toBe(5);
    expect(after!.snapshotsSkipped).toEqual([{ seq: 11, why: expect.stringMatching(/hash mismatch/) }]);
    expect(after!.tail.map((e) => e.seq)).toEqual([7, 8, 9, 10, 11, 12]);
    expect(after!.state!.value).toEqual({ turn: 11 });
    const verify = await runCli(['snapshots', 'verify'], testEnv(fx.db.url, prefix));
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(/snap-3 seq 11 turn 10 \(corrupt\)/);
  });

  it('are taken on an interval while a session changes, and not again while it does not', async () => {
    const p = createProducer({ connection: REDIS_URL, prefix });
    await p.turnResult({ sessionId: 'snap-4', turn: 1, state: { a: 1 } });
    await p.turnResult({ sessionId: 'snap-4', turn: 2, patch: { a: 2 } });
    await p.close();
    await waitFor('state folded', async () => (await rows(fx.orm, `select 1 from sessions where id = 'snap-4' and state_seq = 2`)).length === 1);
    await hashed('snap-4');
    const cfg = testConfig(fx.db.url, prefix, { ...settings, GP_SNAPSHOT_INTERVAL_S: '1' });
    // The turn-1 snapshot was scheduled just now: not due yet.
    expect(await runSnapshotSweep(fx.orm, cfg, worker.jobs!.boss)).not.toContain('snap-4');
    await query(fx.orm.em.fork(), `update sessions set snapshot_at = now() - interval '5 seconds' where id = 'snap-4'`);
    expect(await runSnapshotSweep(fx.orm, cfg, worker.jobs!.boss)).toContain('snap-4');
    await waitFor('interval snapshot', async () => (await snaps('snap-4')).some((s) => s.reason === 'interval' && s.hash));
    const interval = (await snaps('snap-4')).find((s) => s.reason === 'interval')!;
    expect(interval.state).toEqual({ a: 2 });
    // Nothing changed since: the next sweep leaves it alone.
    await query(fx.orm.em.fork(), `update sessions set snapshot_at = now() - interval '5 seconds', last_event_at = now() - interval '10 seconds' where id = 'snap-4'`);
    expect(await runSnapshotSweep(fx.orm, cfg, worker.jobs!.boss)).not.toContain('snap-4');
  });

  it('are scheduled once however many worker processes run', async () => {
    const p2 = uniqueName('q');
    prefixes.push(p2);
    const env = testEnv(fx.db.url, p2, { ...settings, GP_LOG_LEVEL: 'info', GP_BATCH_ROWS: '20' });
    const workers = [spawnCli(['worker'], env), spawnCli(['worker'], env)];
    await Promise.all(workers.map((w) => w.waitForLog('worker started')));
    // This file's in-process worker shares the database, so it takes snapshot jobs too.
    const inProcessBefore = worker.jobs!.stats.snapshotJobs;
    const p = createProducer({ connection: REDIS_URL, prefix: p2, lingerMs: 1, maxBatchEvents: 7 });
    const sessions = 8;
    await Promise.all(
      Array.from({ length: sessions }, async (_, i) => {
        for (let t = 0; t < 20; t++) await p.turnResult({ sessionId: `snap-pair-${i}`, turn: t, ...(t === 0 ? { state: { i } } : { patch: { t } }) });
      }),
    );
    await p.close();
    // Turns 0, 5, 10, 15 of each session: 4 scheduled snapshots each, pruned to first + newest 2.
    await waitFor('all snapshots', async () => Number((await rows(fx.orm, `select count(*) as n from sessions where id like 'snap-pair-%' and snapshot_turn = 15`))[0].n) === sessions, 60_000);
    await hashed('snap-pair-%');
    await waitFor('pruned', async () => Number((await rows(fx.orm, `select count(*) as n from session_snapshots where session_id like 'snap-pair-%'`))[0].n) === sessions * 3);
    for (const w of workers) w.child.kill('SIGTERM');
    const stops = await Promise.all(workers.map((w) => w.waitForLog('worker stopped')));
    // Each due snapshot was scheduled as exactly one job: a duplicate would show up as an extra job run.
    const jobsRun = stops.reduce((n, s) => n + (s.snapshotJobs as number), 0) + worker.jobs!.stats.snapshotJobs - inProcessBefore;
    expect(jobsRun).toBe(sessions * 4);
    const kept = await rows(fx.orm, `select session_id, array_agg(turn order by turn) as turns from session_snapshots where session_id like 'snap-pair-%' group by 1`);
    for (const k of kept) expect(k.turns).toEqual([0, 10, 15]);
  });
});
