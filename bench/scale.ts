/**
 * npm run bench:scale — the same load drained by 1, 2 and 4 worker processes (the `worker` command, as
 * operators run replicas), in one run: events/s for each, the ratio to one process, and a check that
 * every event was stored exactly once at every size (rows = events sent, session counters agree).
 * Prints a table, then one JSON line. Options: --events N per size (default 120000), --sizes 1,2,4,
 * --rooms N (default 400).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { Queue } from 'bullmq';
import { DEFAULT_QUEUE_NAME } from '../src/contract/limits.ts';
import { workerRedis } from '../src/redis.ts';
import { ensureDatabase, migrateUp } from '../src/db/migrate.ts';
import { migrateJobs } from '../src/jobs/install.ts';
import { JOBS_SCHEMA } from '../src/jobs/boss.ts';
import { openOrm } from '../src/db/orm.ts';
import { createProducer } from '../src/producers/index.ts';
import { deletePrefix } from '../src/redis.ts';
import { dropDatabase, emitWindow, printFigures, round } from './lib.ts';

const { values: args } = parseArgs({
  options: { events: { type: 'string', default: '120000' }, sizes: { type: 'string', default: '1,2,4' }, rooms: { type: 'string', default: '400' } },
});
const EVENTS = Number(args.events);
const SIZES = String(args.sizes).split(',').map(Number);
const ADMIN = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const dbName = `gp_bench_scale_${process.pid}`;
const dbUrl = Object.assign(new URL(ADMIN), { pathname: `/${dbName}` }).toString();
const CLI = fileURLToPath(new URL('../bin/game-persist.js', import.meta.url));
const log = (s: string) => process.stderr.write(`${s}\n`);

/** A game mix over --rooms rooms (400): per round each of 4 players moves, chats, completes a task and votes. */
async function fill(prefix: string, tag: string): Promise<number> {
  const p = createProducer({ connection: REDIS_URL, prefix });
  const rooms = Number(args.rooms);
  const w = emitWindow();
  const push = w.push;
  for (let r = 0; r < rooms; r++) push(p.sessionCreated({ sessionId: `${tag}-${r}`, gameType: 'impostor', tenant: `chat-${r % 20}` }));
  for (let round = 0; w.sent < EVENTS; round++)
    for (let r = 0; r < rooms && w.sent < EVENTS; r++) {
      const sessionId = `${tag}-${r}`;
      const player = `p${r}-${round % 4}`;
      push(p.move({ sessionId, player, action: 'step', turn: round }));
      push(p.chatMessage({ sessionId, player, text: 'who vented?', round }));
      push(p.taskCompleted({ sessionId, player, taskType: 'wires', xp: 5 }));
      push(p.vote({ sessionId, player, target: `p${r}-0`, round }));
      await w.flush();
    }
  await w.flush(true);
  await p.close();
  return w.sent;
}

async function stored(c: pg.Client, tag: string): Promise<{ rows: number; counted: number }> {
  const like = `${tag}-%`;
  const { rows } = await c.query(
    `SELECT (SELECT count(*) FROM session_events WHERE session_id LIKE $1) + (SELECT count(*) FROM moves WHERE session_id LIKE $1)
       + (SELECT count(*) FROM chat_messages WHERE session_id LIKE $1) + (SELECT count(*) FROM task_logs WHERE session_id LIKE $1)
       + (SELECT count(*) FROM votes WHERE session_id LIKE $1) AS rows,
     (SELECT coalesce(sum(event_count), 0) FROM sessions WHERE id LIKE $1) AS counted`,
    [like],
  );
  return { rows: Number(rows[0].rows), counted: Number(rows[0].counted) };
}

/** Starts n worker processes; resolves once every one has logged that it started (startup is not timed). */
async function startWorkers(n: number, prefix: string): Promise<ChildProcess[]> {
  const ws = Array.from({ length: n }, () =>
    spawn(process.execPath, [CLI, 'worker'], {
      env: { ...process.env, DATABASE_URL: dbUrl, REDIS_URL, GP_QUEUE_PREFIX: prefix, GP_LOG_LEVEL: 'info', GP_METRICS_PORT: '0', GP_JOBS: 'false' },
      stdio: ['ignore', 'ignore', 'pipe'],
    }),
  );
  await Promise.all(
    ws.map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          let buf = '';
          w.stderr!.setEncoding('utf8');
          w.stderr!.on('data', (d: string) => {
            buf += d;
            if (buf.includes('"msg":"worker started"')) resolve();
            if (buf.length > 100_000) buf = buf.slice(-10_000);
          });
          w.once('exit', (code) => reject(new Error(`worker exited with ${code} before starting: ${buf.slice(-2000)}`)));
        }),
    ),
  );
  return ws;
}

async function main() {
  await ensureDatabase(dbUrl);
  const orm = await openOrm({ databaseUrl: dbUrl, poolMax: 2 });
  await migrateUp(orm, dbUrl);
  await migrateJobs(dbUrl, JOBS_SCHEMA);
  await orm.close();
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  const results: { workers: number; events: number; events_per_s: number; exact: boolean }[] = [];
  try {
    for (const n of SIZES) {
      const tag = `s${n}x${process.pid}`;
      const prefix = `gpbenchscale${tag}`;
      // The queue is filled while paused, the workers start, then it is resumed: only draining is timed.
      const conn = workerRedis(REDIS_URL);
      const queue = new Queue(DEFAULT_QUEUE_NAME, { connection: conn, prefix });
      await queue.pause();
      const sent = await fill(prefix, tag);
      const ws = await startWorkers(n, prefix);
      const t0 = performance.now();
      await queue.resume();
      await queue.close();
      conn.disconnect();
      let s = await stored(c, tag);
      while (s.counted < sent) {
        await new Promise((r) => setTimeout(r, 50));
        s = await stored(c, tag);
      }
      const secs = (performance.now() - t0) / 1000;
      await Promise.all(ws.map((w) => new Promise((r) => (w.kill('SIGTERM'), w.once('exit', r)))));
      s = await stored(c, tag);
      const exact = s.rows === sent && s.counted === sent;
      results.push({ workers: n, events: sent, events_per_s: Math.round(sent / secs), exact });
      log(`${n} worker process(es): ${sent} events in ${secs.toFixed(1)} s = ${Math.round(sent / secs)}/s; rows ${s.rows}, counted ${s.counted}${exact ? '' : '  NOT EXACT'}`);
      await deletePrefix(REDIS_URL, prefix);
    }
    const one = results[0]?.events_per_s ?? 1;
    const result = {
      ...Object.fromEntries(results.map((r) => [`workers_${r.workers}_events_per_s`, r.events_per_s])),
      ...Object.fromEntries(results.map((r) => [`workers_${r.workers}_ratio`, round(r.events_per_s / one, 2)])),
      exactly_once: results.every((r) => r.exact),
      events_per_size: EVENTS,
      cores: (await import('node:os')).availableParallelism(),
    };
    printFigures(
      results.map((r) => [`${r.workers} worker process(es)`, `${r.events_per_s}/s`, `x${round(r.events_per_s / one, 2)}${r.exact ? ', exactly once' : ', LOST OR DUPLICATED'}`]),
      result,
    );
    if (!result.exactly_once) process.exitCode = 1;
  } finally {
    await c.end();
    await dropDatabase(ADMIN, dbName);
  }
}

await main();
