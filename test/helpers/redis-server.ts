/**
 * A throwaway redis-server for tests that must change Redis itself (maxmemory, persistence, a kill)
 * without disturbing the shared test Redis: its own process on a free loopback port, no RDB or AOF
 * files, stopped (and, if a test forgets, killed when the test process exits).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { serviceEnv } from './env.ts';

export interface RedisServer {
  readonly port: number;
  /** redis://127.0.0.1:<port> */
  readonly url: string;
  readonly process: ChildProcess;
  /** A plain client (closed by stop()); commands fail instead of waiting forever. */
  readonly client: Redis;
  /** Stops the server (SIGTERM, SIGKILL after 5 s) and removes its directory. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

/** A port nothing listens on right now (the server may still lose a race for it: startRedisServer retries). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = srv.address();
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  if (!addr || typeof addr !== 'object') throw new Error('no port');
  return addr.port;
}

/**
 * Starts `redis-server` (from PATH, or REDIS_SERVER) with `args` appended to a throwaway
 * configuration: loopback only, no persistence. E.g. `['--maxmemory', '4mb', '--maxmemory-policy', 'noeviction']`.
 * `opts.port`: a given port, e.g. to bring back a server a test killed (default: a free one).
 */
export async function startRedisServer(args: string[] = [], opts: { port?: number } = {}): Promise<RedisServer> {
  for (let attempt = 0; ; attempt++) {
    const port = opts.port ?? (await freePort());
    const dir = mkdtempSync(join(tmpdir(), 'gp-redis-'));
    const child = spawn(
      process.env.REDIS_SERVER ?? 'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--loglevel', 'warning', ...args],
      { stdio: ['ignore', 'pipe', 'pipe'], env: serviceEnv() },
    );
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    child.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    running.add(child);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.once('exit', () => running.delete(child));
    const spawnFailed = new Promise<Error>((resolve) => child.once('error', resolve));

    const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => {});
    const until = Date.now() + 10_000;
    let up = false;
    while (!up && child.exitCode === null && Date.now() < until) {
      const failed = await Promise.race([spawnFailed, new Promise<null>((r) => setTimeout(() => r(null), 25))]);
      if (failed) throw new Error(`could not start redis-server: ${failed.message}`);
      up = await client.connect().then(
        () => true,
        () => false,
      );
    }
    if (!up) {
      client.disconnect();
      child.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
      // Lost the port to someone else between freePort() and the bind: try another.
      if (/address already in use/i.test(output) && attempt < 5 && !opts.port) continue;
      throw new Error(`redis-server did not start on port ${port}: ${output.trim()}`);
    }
    return {
      port,
      url: `redis://127.0.0.1:${port}`,
      process: child,
      client,
      async stop() {
        client.disconnect();
        if (child.exitCode === null && child.signalCode === null) {
          // A stopped (SIGSTOP) server ignores SIGTERM until continued.
          child.kill('SIGCONT');
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(timer);
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}
