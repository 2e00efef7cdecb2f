/**
 * A worker killed between a commit and its acknowledgement (the chaos suite's commit-crash) also dies
 * holding jobs it had fetched and not yet written: they come back only when their lock expires. Their
 * session's gap can be given up meanwhile (GP_GAP_TIMEOUT_S), the session becomes final, and it was
 * rated without them: commit-crash-pg ended with finished sessions rated on an input their late
 * outcomes then changed (`ratings_input` drift, a stale rating that only `rebuild` fixes). A rating
 * cannot be taken back, so such a session must be rated once, after the queue gave back what it held.
 *
 * Here the dying worker is the chaos suite's own (scripts/chaos-worker.ts, killing itself right after
 * a commit): it holds the session's outcomes, whose write waits behind a row the test keeps locked, and
 * commits another session's job, and dies. A second worker writes the rest, gives the gap up, and
 * schedules the rating through pg-boss, as in production.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { uuidv7 } from '../../../src/contract/ids.ts';
import { verifyAggregates } from '../../../src/aggregates/verify.ts';
import type { WorkerHandle } from '../../../src/process/worker.ts';
import { childEnv } from '../../helpers/env.ts';
import { BACKENDS, backendEnv, rows, testConfig, testEnv, uniqueName, waitFor } from '../../helpers/services.ts';
import { dbFixture, inProcessWorker, plainQueue } from '../../helpers/worker.ts';

const CHAOS_WORKER = fileURLToPath(new URL('../../../scripts/chaos-worker.ts', import.meta.url));

describe.each(BACKENDS)('ratings on %s', (backend) => {
  const ctx = dbFixture(backend);
  let dying: ChildProcess | undefined;
  let worker: WorkerHandle | undefined;
  afterAll(async () => {
    dying?.kill('SIGKILL');
    await worker?.close();
  });

  it('rates a finished session once, with the outcomes a crashed worker held, after its gap was given up meanwhile', { timeout: 180_000 }, async () => {
    const q = plainQueue(ctx.prefix, backend === 'postgres' ? ctx.fx.db.url : undefined);
    const sid = uniqueName('s');
    const other = uniqueName('o');
    const at = new Date().toISOString();
    const players = ['p0', 'p1', 'p2', 'p3'];
    let seq = 0;
    const ev = (type: string, data: Record<string, unknown>, player?: string, sessionId = sid) => ({ id: uuidv7(), type, sessionId, seq: ++seq, at, player, data });
    const start = [ev('session.created', { gameType: 'chaos' }), ...players.map((p, i) => ev('player.joined', { position: i }, p)), ev('session.started', {})];
    // p2's explicit draw is what the finish alone does not say (it makes p2 a loser).
    const outcomes = players.map((p, i) => ev('player.outcome', { outcome: i === 0 ? 'win' : i === 2 ? 'draw' : 'loss' }, p));
    const finish = [ev('session.finished', { winners: ['p0'] })];
    const after = [ev('chat.message', { text: 'gg' }, 'p1')];

    // The outcomes' write will wait for this uncommitted row: the dying worker holds them unwritten.
    const blocker = new pg.Client({ connectionString: ctx.fx.db.url });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query(`INSERT INTO sessions (id, first_event_at, last_event_at) VALUES ($1, now(), now())`, [sid]);
    dying = spawn(process.execPath, [CHAOS_WORKER, '1'], {
      env: {
        ...childEnv(),
        ...testEnv(ctx.fx.db.url, ctx.prefix, {
          ...backendEnv(backend),
          GP_LOG_LEVEL: 'error',
          GP_JOBS: 'false',
          // One job a batch, so the other session's job commits on its own while the outcomes wait.
          GP_BATCH_ROWS: '1',
          GP_BATCH_MS: '0',
          // Its jobs come back 40 s after it dies: far past the gap timeout below.
          GP_LOCK_MS: '40000',
          GP_DB_LOCK_TIMEOUT_MS: '0',
        }),
      },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let reports = 0;
    dying.stdout!.on('data', () => reports++);
    const died = new Promise<NodeJS.Signals | null>((r) => dying!.once('exit', (_c, signal) => r(signal)));
    await waitFor('the dying worker running', () => reports > 0, 90_000);
    await q.add('events', { v: 1, events: outcomes });
    await waitFor('the outcomes in hand', async () => (await q.getJobCounts('active')).active === 1);
    await q.add('events', { v: 1, events: [ev('session.created', { gameType: 'chaos' }, undefined, other)] });
    expect(await died).toBe('SIGKILL');
    await blocker.query('ROLLBACK');
    await blocker.end();

    worker = await inProcessWorker(testConfig(ctx.fx.db.url, ctx.prefix, { ...backendEnv(backend), GP_GAP_TIMEOUT_S: '1', GP_RATING_DELAY_S: '0' }));
    await q.add('events', { v: 1, events: [...start, ...finish] });
    await waitFor('the gap before the finish', async () => (await rows(ctx.fx.orm, `select 1 from sessions where id = $1 and applied_seq = 6 and end_seq = 11`, [sid])).length === 1);
    await new Promise((r) => setTimeout(r, 1500));
    // The next event of the session finds the gap past its timeout and gives it up: final, due for rating.
    await q.add('events', { v: 1, events: after });
    await waitFor('the gap given up', async () => (await rows(ctx.fx.orm, `select 1 from sessions where id = $1 and final_at is not null`, [sid])).length === 1);
    // The outcomes come back when the dead worker's lock expires; the session is rated (once).
    await waitFor(
      'the outcomes back and the session rated',
      async () => (await rows(ctx.fx.orm, `select 1 from sessions s where id = $1 and rated_at is not null and lost_seqs = 0`, [sid])).length === 1,
      120_000,
    );
    await q.close();
    const report = await verifyAggregates(ctx.fx.orm, { timeZone: 'UTC', winRateMinGames: 1 });
    expect(report.drift.filter((d) => d.kind === 'ratings_input' || d.kind === 'ratings')).toEqual([]);
    expect(await rows(ctx.fx.orm, `select teams, ranks from rated_sessions where session_id = $1`, [sid])).toEqual([
      { teams: [['p0'], ['p2'], ['p1'], ['p3']], ranks: [1, 2, 3, 3] },
    ]);
  });
});
