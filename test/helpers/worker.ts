/** In-process and child-process workers for tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import type { Config } from '../../src/config.ts';
import type { QueueBackend } from '../../src/queue/backend-names.ts';
import { openQueue, type EventsQueue } from '../../src/queue/backend.ts';
import type { MikroORM } from '../../src/db/orm.ts';
import { createLogger } from '../../src/log.ts';
import { startWorker, type WorkerHandle } from '../../src/process/worker.ts';
import { afterAll, beforeAll } from 'vitest';
import { REDIS_URL, childEnv } from './env.ts';
import { backendEnv, dropQueue, openFixture, prepareQueue, testConfig, uniqueName, type Fixture } from './services.ts';

export const CLI = fileURLToPath(new URL('../../bin/game-persist.js', import.meta.url));

export async function inProcessWorker(cfg: Readonly<Config>, orm?: MikroORM): Promise<WorkerHandle> {
  return startWorker(cfg, { log: createLogger('silent'), orm });
}

/**
 * A plain BullMQ queue handle (what a publisher without our SDK uses): on Redis, or with `dbUrl` on
 * BullMQ's PostgreSQL backend in that database.
 */
export function plainQueue(prefix: string, dbUrl?: string): EventsQueue {
  if (dbUrl) return openQueue({ connection: dbUrl, prefix, queueName: 'events' });
  return openQueue({ connection: new Redis(REDIS_URL, { maxRetriesPerRequest: null }), prefix, queueName: 'events' });
}

export interface ChildWorker {
  child: ChildProcess;
  /** Parsed JSON log lines so far. */
  logs: Record<string, any>[];
  exited: Promise<number | null>;
  waitForLog(msg: string, timeoutMs?: number): Promise<Record<string, any>>;
}

/** Children a test file started; whatever is still running when the file ends is killed (a failed test must not leave workers behind). */
const children = new Set<ChildProcess>();
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Runs `game-persist <args>` as a child process with the given environment (logs at info, JSON on stderr). */
export function spawnCli(args: string[], env: Record<string, string>): ChildWorker {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...childEnv(), ...env, GP_LOG_LEVEL: env.GP_LOG_LEVEL === 'silent' ? 'info' : (env.GP_LOG_LEVEL ?? 'info') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, any>[] = [];
  let buf = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    buf += d;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        logs.push(JSON.parse(line));
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  child.stdout!.resume();
  children.add(child);
  child.on('exit', () => children.delete(child));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    logs,
    exited,
    async waitForLog(msg, timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const hit = logs.find((l) => l.msg === msg);
        if (hit) return hit;
        if (Date.now() > until || child.exitCode !== null) throw new Error(`no "${msg}" log; got: ${logs.map((l) => l.msg).join(' | ')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

/**
 * A test file's (or describe block's) database and queue prefix, opened before its tests and dropped
 * after; the queue on `backend` (its PostgreSQL schema made and dropped here). Read the fields inside
 * tests (they are set in beforeAll).
 */
export function dbFixture(backend: QueueBackend = 'redis') {
  const ctx = { prefix: uniqueName('q'), backend } as { prefix: string; backend: QueueBackend; fx: Fixture };
  beforeAll(async () => {
    ctx.fx = await openFixture();
    await prepareQueue(backend, ctx.fx.db.url, ctx.prefix);
  });
  afterAll(async () => {
    if (ctx.fx) await dropQueue(backend, ctx.fx.db.url, ctx.prefix).catch(() => {});
    else await dropQueue('redis', '', ctx.prefix);
    await ctx.fx?.close();
  });
  return ctx;
}

/** dbFixture plus an in-process worker on them (closed before the database goes). */
export function workerFixture(settings: Record<string, string> = {}, backend: QueueBackend = 'redis') {
  const ctx = dbFixture(backend) as ReturnType<typeof dbFixture> & { worker: WorkerHandle };
  beforeAll(async () => {
    ctx.worker = await inProcessWorker(testConfig(ctx.fx.db.url, ctx.prefix, { ...backendEnv(backend), ...settings }));
  });
  afterAll(async () => {
    await ctx.worker?.close();
  });
  return ctx;
}
