/**
 * The private services and fault tools of the chaos suite (scripts/chaos.ts): a redis-server it may
 * kill as a host crash would (the AOF cut back to what was on disk about a second earlier), a
 * PostgreSQL 15 cluster it may restart, and a TCP proxy on loopback it may cut. Each runs on a free
 * loopback port in a temporary folder and is removed by stop(); the shared services of the machine are
 * never touched. Not a production module.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function listening(port: number): Promise<boolean> {
  return new Promise<boolean>((r) =>
    connect(port, '127.0.0.1')
      .once('connect', function (this: Socket) {
        this.destroy();
        r(true);
      })
      .once('error', () => r(false)),
  );
}

/** Processes this module started: killed if the runner exits without stopping them. */
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

export interface RedisServerOptions {
  /** `always` (the default) or `everysec`. */
  appendfsync?: 'always' | 'everysec';
  /** More redis-server arguments (e.g. --maxmemory). */
  args?: string[];
}

/** A private redis-server with an append-only file, which a fault may restart or crash. */
export interface RedisServer {
  url: string;
  port: number;
  /** SIGTERM, `downMs` down, started again (a plain restart: nothing is lost). */
  restart(downMs: number): Promise<void>;
  /**
   * A host crash: SIGKILL, then the AOF's last (incr) file cut back to the size it had `windowMs` ago
   * (what an OS crash loses of writes not yet fsynced; 0: nothing), then started again after `downMs`.
   * Returns the bytes cut.
   */
  crash(windowMs: number, downMs: number): Promise<number>;
  stop(): Promise<void>;
}

export async function startRedis(o: RedisServerOptions = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'gp-chaos-hchaos-redis-'));
  let proc: ChildProcess;
  // The AOF incr file's size every 100 ms: the newest sample at least `windowMs` old is where a host
  // crash would have left it under `everysec` (the OS page cache is lost, the last fsync survived).
  const sizes: { t: number; size: number }[] = [];
  const incrFile = (): string | null => {
    const d = join(dir, 'appendonlydir');
    if (!existsSync(d)) return null;
    const incr = readdirSync(d)
      .filter((f) => /\.incr\.aof$/.test(f))
      .sort((a, b) => Number(/\.(\d+)\.incr\.aof$/.exec(a)?.[1]) - Number(/\.(\d+)\.incr\.aof$/.exec(b)?.[1]));
    return incr.length ? join(d, incr[incr.length - 1]) : null;
  };
  const sampler = setInterval(() => {
    const f = incrFile();
    if (!f) return;
    try {
      sizes.push({ t: performance.now(), size: statSync(f).size });
      if (sizes.length > 200) sizes.shift();
    } catch {
      // rotated while sampled
    }
  }, 100);
  const up = async () => {
    proc = spawn(
      'redis-server',
      [
        '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', o.appendfsync ?? 'always',
        // No AOF rewrite: the incr file the crash cuts stays the one written since the start.
        '--auto-aof-rewrite-percentage', '0', '--aof-load-truncated', 'yes', '--loglevel', 'warning', ...(o.args ?? []),
      ],
      { stdio: 'ignore' },
    );
    children.add(proc);
    proc.once('exit', () => children.delete(proc));
    for (let i = 0; i < 400; i++) {
      if (await listening(port)) return;
      await sleep(25);
    }
    throw new Error(`redis-server did not start on ${port}`);
  };
  const down = (signal: NodeJS.Signals) => new Promise<void>((r) => (proc.exitCode !== null || proc.signalCode !== null ? r() : (proc.once('exit', () => r()), proc.kill(signal))));
  await up();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async restart(downMs) {
      await down('SIGTERM');
      await sleep(downMs);
      await up();
    },
    async crash(windowMs, downMs) {
      const before = performance.now() - windowMs;
      await down('SIGKILL');
      const f = incrFile();
      let cut = 0;
      if (f && windowMs > 0) {
        const size = statSync(f).size;
        const then = sizes.filter((s) => s.t <= before).pop()?.size ?? 0;
        if (then < size) {
          truncateSync(f, then);
          cut = size - then;
        }
      }
      sizes.length = 0;
      await sleep(downMs);
      await up();
      return cut;
    },
    async stop() {
      clearInterval(sampler);
      await down('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const PG_BIN = process.env.CHAOS_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/** A private PostgreSQL cluster (trust authentication, loopback), which a fault may restart. */
export interface PgServer {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  adminUrl: string;
  port: number;
  /** `pg_ctl stop -m immediate` (a crash: recovery replays the WAL), `downMs` down, started again. */
  restart(downMs: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startPostgres(): Promise<PgServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'gp-chaos-hchaos-pg-'));
  const data = join(dir, 'data');
  // As root, PostgreSQL must run as another user: the postgres account of the distribution's package.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  const run = (cmd: string, args: string[]) => {
    const [c, a] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(PG_BIN, cmd), ...args]] : [join(PG_BIN, cmd), args];
    execFileSync(c, a, { stdio: ['ignore', 'ignore', 'pipe'] });
  };
  run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale', 'C']);
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=400 -c shared_buffers=64MB`;
  const start = () => run('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '60', '-o', opts, 'start']);
  const stop = () => run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
  start();
  return {
    adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async restart(downMs) {
      stop();
      await sleep(downMs);
      start();
    },
    async stop() {
      try {
        stop();
      } catch {
        // not running
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A TCP proxy on loopback to `targetPort` that a fault can cut: every connection frozen, then resumed or dropped. */
export interface Proxy {
  port: number;
  /**
   * Freezes every connection (and every new one) for `ms`: nothing is forwarded either way, as in a
   * network partition; then resumes them (`drop` false: the delayed bytes arrive) or destroys them.
   */
  cut(ms: number, drop: boolean): Promise<void>;
  stop(): Promise<void>;
}

export async function startProxy(targetPort: number): Promise<Proxy> {
  const pairs = new Set<[Socket, Socket]>();
  let frozen = false;
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const s of pair) s.once('close', end).on('error', end);
    // Not pipe(): its backpressure handling resumes a paused source when the other side drains.
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => client.write(d));
    if (frozen) for (const s of pair) s.pause();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    async cut(ms, drop) {
      frozen = true;
      // A paused socket stops reading: bytes wait in the kernel, as on a link that went silent.
      for (const pair of pairs) for (const s of pair) s.pause();
      await sleep(ms);
      frozen = false;
      for (const pair of [...pairs]) for (const s of pair) (drop ? s.destroy() : s.resume());
    },
    async stop() {
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
