/**
 * Events Redis acknowledged and then lost with nothing after them in their session (a Redis that comes
 * back rolled back: a host crash inside the AOF's fsync window, a failover to a replica that lagged).
 * Nothing stored after them shows a gap, so before issued-seq reports they were lost silently: the
 * chaos suite's redis-aof-everysec saw 4,017 such events. Here a private redis-server is snapshotted
 * (SAVE), more events are emitted and acknowledged, then it is SIGKILLed and started again from the
 * snapshot (what a failover to a replica that had only the snapshot gives). The producer, alive across
 * the crash, must report what it issued; a real worker must then count every lost event as lost, and
 * the chaos checker must find none of them silent.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { runGapSweep } from '../../../src/jobs/boss.ts';
import { createReader, type Reader } from '../../../src/db/reader.ts';
import { checkLedger, classifyLosses, type LedgerEvent } from '../../../src/loadgen/ledger.ts';
import { createProducer, type Producer } from '../../../src/producers/index.ts';
import { pgSequenceSeed } from '../../../src/recovery/sequence-seed.ts';
import type { WorkerHandle } from '../../../src/process/worker.ts';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server.ts';
import { rows, testConfig, uniqueName, waitFor } from '../../helpers/services.ts';
import { dbFixture, inProcessWorker } from '../../helpers/worker.ts';

const ctx = dbFixture();
const dir = mkdtempSync(join(tmpdir(), 'gp-rollback-'));
// RDB only, in a folder of our own that outlives the killed process: the restart loads the snapshot.
const ARGS = ['--dir', dir, '--dbfilename', 'dump.rdb'];
let srv: RedisServer | undefined;
let producer: Producer | undefined;
let worker: WorkerHandle | undefined;
let reader: Reader | undefined;
afterAll(async () => {
  await worker?.close();
  await producer?.close().catch(() => {});
  await reader?.close();
  await srv?.stop();
  rmSync(dir, { recursive: true, force: true });
});

it('counts events a rolled-back Redis lost after acknowledging them as lost, even a session\'s last ones', { timeout: 120_000 }, async () => {
  srv = await startRedisServer(ARGS);
  reader = createReader(ctx.fx.db.url, { max: 2 });
  const reports: { sessions: number; error: unknown }[] = [];
  producer = createProducer({ connection: srv.url, prefix: ctx.prefix, sequenceSeed: pgSequenceSeed(reader), onIssuedReport: (r) => reports.push(r) });
  const run = uniqueName('run').replace(/_/g, 'x');
  const [a, b] = [`${run}-a`, `${run}-b`];
  const ledger: LedgerEvent[] = [];
  const emit = async (sessionId: string, type: 'session.created' | 'move', data: Record<string, unknown>, player?: string) => {
    const at = new Date().toISOString();
    const r = await producer!.emit({ type, sessionId, player, at, data } as never);
    ledger.push({ id: r.id, type, sessionId, player: player ?? null, seq: r.seq, at, data });
  };
  await emit(a, 'session.created', { gameType: 'chaos' });
  for (let i = 0; i < 3; i++) await emit(a, 'move', { action: 'play', turn: i }, 'p1');
  await srv.client.save();
  // Acknowledged after the snapshot, then lost: a's last three events, and every event of b.
  for (let i = 3; i < 6; i++) await emit(a, 'move', { action: 'play', turn: i }, 'p1');
  await emit(b, 'session.created', { gameType: 'chaos' });
  for (let i = 0; i < 2; i++) await emit(b, 'move', { action: 'play', turn: i }, 'p2');
  expect(ledger.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 1, 2, 3]);

  const port = srv.port;
  srv.process.kill('SIGKILL');
  await new Promise<void>((r) => (srv!.process.exitCode !== null || srv!.process.signalCode !== null ? r() : srv!.process.once('exit', () => r())));
  await srv.stop();
  srv = await startRedisServer(ARGS, { port });
  // The producer reconnects by itself (an event of a third session gets through) and finds another
  // server (run_id): it reports what it issued. close() waits for the report.
  await emit(`${run}-c`, 'session.created', { gameType: 'chaos' });
  await producer.close();

  const cfg = testConfig(ctx.fx.db.url, ctx.prefix, { REDIS_URL: srv.url, GP_GAP_TIMEOUT_S: '1', GP_JOBS: 'false' });
  worker = await inProcessWorker(cfg);
  await waitFor('the queue drained', async () => {
    const left = (await srv!.client.llen(`${ctx.prefix}:events:wait`)) + (await srv!.client.llen(`${ctx.prefix}:events:active`));
    return left === 0 && (await rows(ctx.fx.orm, `select 1 from sessions where id = $1`, [`${run}-c`])).length === 1;
  });
  await new Promise((r) => setTimeout(r, 1500));
  // The clean-up's gap sweep (each minute in a worker's pg-boss schedule) gives the gaps up.
  await runGapSweep(ctx.fx.orm, cfg);
  const report = await checkLedger(reader, ledger, run);
  expect(report.lost.length).toBe(6);
  const losses = await classifyLosses(reader, ledger, report.lost, run);
  expect({ silent: losses.unreported.length, reported: losses.reported.length }).toEqual({ silent: 0, reported: 6 });
  expect(await rows(ctx.fx.orm, `select id, applied_seq::int, lost_seqs::int, issued_seq::int from sessions where id = any($1) order by id`, [[a, b]])).toEqual([
    { id: a, applied_seq: 7, lost_seqs: 3, issued_seq: 7 },
    { id: b, applied_seq: 3, lost_seqs: 3, issued_seq: 3 },
  ]);
  expect(reports).toEqual([{ sessions: 2, error: null }]);
  // The counters the rollback took back were raised again: no number is handed out twice.
  expect(await srv.client.get(`${ctx.prefix}:seq:${a}`)).toBe('7');
  expect(await srv.client.get(`${ctx.prefix}:seq:${b}`)).toBe('3');
});

it('sends no report when the connection drops and comes back to the same server (nothing was lost)', { timeout: 60_000 }, async () => {
  const same = await startRedisServer();
  const p = createProducer({ connection: same.url, prefix: uniqueName('q') });
  try {
    const sid = uniqueName('s');
    await p.emit({ type: 'session.created', sessionId: sid, data: { gameType: 'chaos' } } as never);
    const ids = async () => new Set(String(await same.client.call('CLIENT', 'LIST', 'TYPE', 'normal')).split('\n').map((l) => /^id=(\d+)/.exec(l)?.[1]).filter(Boolean));
    const before = await ids();
    // Every connection but the test's own is cut (a network blip); the producer reconnects by itself.
    await same.client.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    let sent = false;
    for (let i = 0; i < 40 && !sent; i++) {
      sent = await p.emit({ type: 'move', sessionId: sid, player: 'p1', data: { action: 'play' } } as never).then(
        () => true,
        () => false,
      );
      if (!sent) await new Promise((r) => setTimeout(r, 250));
    }
    expect(sent).toBe(true);
    // It did reconnect: a connection the server did not have before.
    expect([...(await ids())].some((id) => !before.has(id))).toBe(true);
    await p.close();
    expect({ reports: p.stats.issuedReports, failures: p.stats.issuedReportFailures }).toEqual({ reports: 0, failures: 0 });
  } finally {
    await p.close().catch(() => {});
    await same.stop();
  }
});
