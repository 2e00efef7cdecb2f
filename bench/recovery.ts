/**
 * npm run bench:recovery — recovery and live-state costs, measured in one run:
 *   - recover_active_1000_ms: recoverActiveSessions over 1,000 active sessions with state and tails,
 *   - recover_one_p99_ms: recoverSession of random sessions,
 *   - snapshot_p99_ms: one snapshot job's work (canonical hash, insert, prune),
 *   - ingest_ratio_with_state: a worker draining the same turn-heavy queue with state folding on vs off.
 * Prints a table, then one JSON line. Options: --sessions N (default 1000), --turns N (default 20),
 * --drain N (events per drain run, default 60000).
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import { ensureDatabase, migrateUp } from '../src/db/migrate.ts';
import { migrateJobs } from '../src/jobs/install.ts';
import { JOBS_SCHEMA } from '../src/jobs/boss.ts';
import { openOrm } from '../src/db/orm.ts';
import { createLogger } from '../src/log.ts';
import { createProducer, type Producer } from '../src/producers/index.ts';
import { recoverActiveSessions, recoverSession } from '../src/recovery/recover.ts';
import { createReader } from '../src/db/reader.ts';
import { deletePrefix } from '../src/redis.ts';
import { takeSnapshot } from '../src/snapshots/take.ts';
import { startWorker } from '../src/process/worker.ts';
import { dropDatabase, emitWindow, pct, printFigures, round } from './lib.ts';

const { values: args } = parseArgs({
  options: { sessions: { type: 'string', default: '1000' }, turns: { type: 'string', default: '20' }, drain: { type: 'string', default: '60000' } },
});
const SESSIONS = Number(args.sessions);
const TURNS = Number(args.turns);
const DRAIN = Number(args.drain);
const ADMIN = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const dbName = `gp_bench_rec_${process.pid}`;
const dbUrl = Object.assign(new URL(ADMIN), { pathname: `/${dbName}` }).toString();
const log = (s: string) => process.stderr.write(`${s}\n`);

/** A 4X-like room: a ~2 KB state, patches most turns, a move per player per turn. */
async function playRooms(p: Producer, tag: string, rooms: number, turns: number): Promise<number> {
  const w = emitWindow();
  const push = w.push;
  for (let r = 0; r < rooms; r++) push(p.sessionCreated({ sessionId: `${tag}-${r}`, gameType: 'fourx', tenant: `guild-${r % 10}` }));
  for (let t = 0; t < turns; t++) {
    for (let r = 0; r < rooms; r++) {
      const sessionId = `${tag}-${r}`;
      for (let pl = 0; pl < 2; pl++) push(p.move({ sessionId, player: `p${r}-${pl}`, action: 'expand', turn: t, data: { x: t, y: pl } }));
      const cities = Object.fromEntries(Array.from({ length: 20 }, (_, c) => [`city${c}`, { pop: t + c, owner: `p${r}-${c % 2}` }]));
      push(p.turnResult({ sessionId, turn: t, ...(t % 10 === 0 ? { state: { turn: t, cities } } : { patch: { turn: t, cities: { [`city${t % 20}`]: { pop: t * 3 } } } }) }));
      await w.flush();
    }
  }
  // The turn in progress: a few moves after the last turn result (the tail a recovering server needs).
  for (let r = 0; r < rooms; r++) push(p.move({ sessionId: `${tag}-${r}`, player: `p${r}-0`, action: 'build', turn: turns }));
  await w.flush(true);
  return w.sent;
}

async function stored(c: pg.Client, tag: string): Promise<number> {
  const { rows } = await c.query('SELECT coalesce(sum(event_count), 0)::bigint AS n FROM sessions WHERE id LIKE $1', [`${tag}-%`]);
  return Number(rows[0].n);
}

async function waitStored(c: pg.Client, tag: string, n: number) {
  while ((await stored(c, tag)) < n) await new Promise((r) => setTimeout(r, 20));
}

/** Fills a queue with a turn-heavy load, then times one worker draining it (state folding on or off). */
async function drain(c: pg.Client, liveState: boolean, tag: string): Promise<number> {
  const prefix = `gpbenchrec${process.pid}${tag}`;
  const p = createProducer({ connection: REDIS_URL, prefix });
  const rooms = 200;
  const sent = await playRooms(p, tag, rooms, Math.ceil(DRAIN / rooms / 3));
  await p.close();
  const cfg = loadConfig({ DATABASE_URL: dbUrl, REDIS_URL, GP_QUEUE_PREFIX: prefix, GP_LOG_LEVEL: 'error', GP_LIVE_STATE: String(liveState), GP_JOBS: 'false' });
  const t0 = performance.now();
  const w = await startWorker(cfg, { log: createLogger('error') });
  await waitStored(c, tag, sent);
  const rate = sent / ((performance.now() - t0) / 1000);
  await w.close();
  await deletePrefix(REDIS_URL, prefix);
  return rate;
}

async function main() {
  await ensureDatabase(dbUrl);
  const orm = await openOrm({ databaseUrl: dbUrl, poolMax: 6 });
  await migrateUp(orm, dbUrl);
  await migrateJobs(dbUrl, JOBS_SCHEMA);
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  const prefix = `gpbenchrec${process.pid}`;
  try {
    // 1. History: SESSIONS active rooms played through the real pipeline (worker with snapshots on).
    const cfg = loadConfig({ DATABASE_URL: dbUrl, REDIS_URL, GP_QUEUE_PREFIX: prefix, GP_LOG_LEVEL: 'error', GP_SNAPSHOT_INTERVAL_S: '0' });
    const w = await startWorker(cfg, { log: createLogger('error'), orm });
    const p = createProducer({ connection: REDIS_URL, prefix });
    const sent = await playRooms(p, 'rec', SESSIONS, TURNS);
    await p.close();
    await waitStored(c, 'rec', sent);
    // Let the snapshot jobs finish (hashes of the states the fold captured).
    while (Number((await c.query('SELECT count(*) AS n FROM session_snapshots WHERE hash IS NULL')).rows[0].n) > 0) await new Promise((r) => setTimeout(r, 50));
    await w.close();
    log(`history: ${sent} events in ${SESSIONS} active sessions (${TURNS} turns each)`);

    // 2. Recover every active session, as a restarted game server does (through the read pool).
    const reader = createReader(dbUrl);
    const ta = performance.now();
    let n = 0;
    for (let cursor: string | null = null; ; ) {
      const page = await recoverActiveSessions(reader, { cursor, limit: 250 });
      n += page.sessions.length;
      if (!(cursor = page.nextCursor)) break;
    }
    const recoverActiveMs = performance.now() - ta;
    if (n !== SESSIONS) throw new Error(`recovered ${n} of ${SESSIONS} sessions`);
    log(`recoverActiveSessions: ${n} sessions in ${Math.round(recoverActiveMs)} ms`);

    // 3. One session at a time.
    const one: number[] = [];
    for (let i = 0; i < 300; i++) {
      const id = `rec-${Math.floor(Math.random() * SESSIONS)}`;
      const t = performance.now();
      const r = await recoverSession(reader, id);
      one.push(performance.now() - t);
      if (!r?.state || !r.snapshot) throw new Error(`session ${id} has no state or snapshot`);
    }
    await reader.close();
    log(`recoverSession: p50 ${round(pct(one, 0.5))} ms, p99 ${round(pct(one, 0.99))} ms`);

    // 4. One snapshot job's work on a real state.
    const snap: number[] = [];
    for (let i = 0; i < 300; i++) {
      const t = performance.now();
      await takeSnapshot(orm, { sessionId: `rec-${i % SESSIONS}`, reason: 'interval' }, 5);
      snap.push(performance.now() - t);
    }
    log(`snapshot: p50 ${round(pct(snap, 0.5))} ms, p99 ${round(pct(snap, 0.99))} ms`);

    // 5. Ingest with state folding on vs off, same load, same run (off first, then on, then off again).
    const off1 = await drain(c, false, 'off1');
    const on = await drain(c, true, 'on');
    const off2 = await drain(c, false, 'off2');
    const off = (off1 + off2) / 2;
    log(`drain of a turn-heavy queue: state off ${Math.round(off1)}/${Math.round(off2)} events/s, on ${Math.round(on)} events/s`);

    const result = {
      recover_active_1000_ms: Math.round(recoverActiveMs * (1000 / SESSIONS)),
      recover_one_p50_ms: round(pct(one, 0.5)),
      recover_one_p99_ms: round(pct(one, 0.99)),
      snapshot_p50_ms: round(pct(snap, 0.5)),
      snapshot_p99_ms: round(pct(snap, 0.99)),
      ingest_with_state_per_s: Math.round(on),
      ingest_without_state_per_s: Math.round(off),
      ingest_ratio_with_state: round(on / off, 3),
      sessions: SESSIONS,
      events: sent,
    };
    printFigures(
      [
        ['recover 1,000 active sessions', `${result.recover_active_1000_ms} ms`, 'target <= 1000'],
        ['recover one session p99', `${result.recover_one_p99_ms} ms`, 'target <= 10'],
        ['snapshot job p99', `${result.snapshot_p99_ms} ms`, ''],
        ['ingest with / without state folding', `${result.ingest_ratio_with_state}`, 'target >= 0.8'],
      ],
      result,
    );
  } finally {
    await c.end();
    await orm.close();
    await deletePrefix(REDIS_URL, prefix);
    await dropDatabase(ADMIN, dbName);
  }
}

await main();
