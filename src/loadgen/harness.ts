/**
 * Runs the seed games of examples/ against a real pipeline: a worker and the HTTP API as child
 * processes of the CLI (so either can be killed), each game server as a child process that kills
 * itself once mid-game and is started again until it finishes (examples/README.md is the contract).
 * Used by the demo (`npm start`) and by the games' integration tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createReader, type Reader } from '../db/reader.ts';
import { readLedger, type LedgerEvent } from './ledger.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'bin/game-persist.js');

export const GAMES = ['impostor', 'liap-tui', 'hokm', 'adventure', 'fourx'] as const;
export type Game = (typeof GAMES)[number];

/** How each game server is started (examples/<game>/). */
const COMMANDS: Record<Game, () => [string, string[]]> = {
  impostor: () => ['python3', [join(ROOT, 'examples/impostor/bot.py')]],
  adventure: () => ['python3', [join(ROOT, 'examples/adventure/world.py')]],
  'liap-tui': () => [process.execPath, [join(ROOT, 'examples/liap-tui/server.ts')]],
  hokm: () => [process.execPath, [join(ROOT, 'examples/hokm/server.ts')]],
  fourx: () => [process.execPath, [join(ROOT, 'examples/fourx/server.ts')]],
};

export interface PipelineOptions {
  databaseUrl: string;
  /** Queue prefix (and, on the PostgreSQL queue backend, its schema). */
  prefix: string;
  redisUrl?: string;
  /** GP_QUEUE_BACKEND for every process. @defaultValue the environment's, else redis */
  backend?: 'redis' | 'postgres';
  /** Run `game-persist migrate --create-db` first (the demo; tests clone a migrated database). */
  migrate?: boolean;
  /** More environment for the worker and the API (e.g. GP_LOG_LEVEL). */
  env?: Record<string, string>;
  /** Lines the worker and the API log at warn or above, for the caller to show or keep. */
  onLog?: (source: 'worker' | 'api', line: string) => void;
}

export interface Pipeline {
  /** The environment a game server starts with (connections, the API and its key). */
  readonly env: Record<string, string>;
  readonly apiUrl: string;
  readonly apiKey: string;
  readonly reader: Reader;
  /** SIGKILLs the worker (jobs it held come back after their lock expires). */
  killWorker(): Promise<void>;
  /** The worker process's id (null while killed), to check it is still the same process or measure its memory. */
  workerPid(): number | null;
  /** Starts a worker again after killWorker. */
  startWorker(): Promise<void>;
  /** Stops the API and the worker (SIGTERM: the worker commits what it holds) and closes the reader. */
  stop(): Promise<void>;
}

/** The environment children inherit: the caller's, minus what the pipeline sets itself. */
function baseEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('GAME_')) out[k] = v;
  return out;
}

interface Child {
  proc: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderrTail(): string;
}

/** Children still running: killed when this process exits, even by an uncaught error (not by SIGKILL). */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

/** Spawns a process, keeping the last few KiB of its stderr for error messages. */
function start(cmd: string, args: string[], env: Record<string, string>, onStderrLine?: (line: string) => void): Child {
  const proc = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT });
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
  let tail = '';
  let buf = '';
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (d: string) => {
    tail = (tail + d).slice(-4096);
    if (!onStderrLine) return;
    buf += d;
    for (let i; (i = buf.indexOf('\n')) >= 0; ) {
      onStderrLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  return { proc, exited, stderrTail: () => tail };
}

/** Resolves when `pattern` appears on the child's stdout; rejects if it exits first. */
function waitForStdout(c: Child, pattern: RegExp, what: string, timeoutMs = 30_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${what}: no "${pattern.source}" within ${timeoutMs} ms\n${c.stderrTail()}`)), timeoutMs);
    c.proc.stdout!.setEncoding('utf8');
    c.proc.stdout!.on('data', (d: string) => {
      out += d;
      const m = pattern.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    void c.exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${signal ?? code}) before it was ready\n${out}\n${c.stderrTail()}`));
    });
  });
}

/** Runs the CLI to completion and returns its stdout. */
async function cli(args: string[], env: Record<string, string>): Promise<string> {
  const c = start(process.execPath, [CLI, ...args], env);
  let out = '';
  c.proc.stdout!.setEncoding('utf8');
  c.proc.stdout!.on('data', (d: string) => (out += d));
  const { code, signal } = await c.exited;
  if (code !== 0) throw new Error(`game-persist ${args[0]} exited (${signal ?? code})\n${c.stderrTail()}`);
  return out;
}

/**
 * Starts a worker and the HTTP API on a migrated database, and makes an API key for the games. A
 * worker gives a seq gap up after 2 s (GP_GAP_TIMEOUT_S): a game server killed between drawing a seq
 * and enqueueing its event leaves one, and its restart waits for it.
 */
export async function startPipeline(o: PipelineOptions): Promise<Pipeline> {
  const env: Record<string, string> = {
    ...baseEnv(),
    DATABASE_URL: o.databaseUrl,
    REDIS_URL: o.redisUrl ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    GP_QUEUE_PREFIX: o.prefix,
    GP_GAP_TIMEOUT_S: '2',
    GP_METRICS_PORT: '0',
    GP_LOG_LEVEL: 'warn',
    ...(o.backend ? { GP_QUEUE_BACKEND: o.backend } : {}),
    ...o.env,
  };
  const children: Child[] = [];
  const logTo = (source: 'worker' | 'api') => (o.onLog ? (line: string) => o.onLog!(source, line) : undefined);
  let worker: Child | null = null;
  const startWorker = async () => {
    // The worker says it started at info; everything else at the level asked for.
    const c = start(process.execPath, [CLI, 'worker'], { ...env, GP_LOG_LEVEL: 'info' }, (line) => {
      if (/"level":(40|50|60)/.test(line)) logTo('worker')?.(line);
    });
    children.push(c);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker did not start within 30 s\n${c.stderrTail()}`)), 30_000);
      c.proc.stderr!.on('data', () => {
        if (c.stderrTail().includes('"msg":"worker started"')) {
          clearTimeout(timer);
          resolve();
        }
      });
      void c.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`worker exited (${signal ?? code}) before it started\n${c.stderrTail()}`));
      });
    });
    worker = c;
  };
  try {
    if (o.migrate) await cli(['migrate', '--create-db'], env);
    await startWorker();
    const api = start(process.execPath, [CLI, 'serve'], { ...env, GP_API_PORT: '0' }, logTo('api'));
    children.push(api);
    const [, apiUrl] = await waitForStdout(api, /api listening on (\S+)/, 'the API');
    const key = JSON.parse(await cli(['keys', 'create', `harness-${o.prefix}`, '--scope', 'ingest', '--scope', 'read', '--scope', 'admin', '--json'], env)) as { key: string };
    const reader = createReader(o.databaseUrl, { max: 4 });
    return {
      env: { ...env, GP_API_URL: apiUrl, GP_API_KEY: key.key },
      apiUrl,
      apiKey: key.key,
      reader,
      async killWorker() {
        if (!worker) return;
        worker.proc.kill('SIGKILL');
        await worker.exited;
        worker = null;
      },
      startWorker,
      workerPid: () => (worker && worker.proc.exitCode === null && worker.proc.signalCode === null ? (worker.proc.pid ?? null) : null),
      async stop() {
        for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGTERM');
        await Promise.all(children.map((c) => c.exited));
        await reader.close();
      },
    };
  } catch (e) {
    for (const c of children) c.proc.kill('SIGKILL');
    throw e;
  }
}

export interface PlayOptions {
  game: Game;
  sessions: number;
  seed: number;
  scale?: 'test' | 'demo';
  paceMs?: number;
  /** Kill the game server once after this many accepted events (`true`: a random count from 10 to 60). */
  crash?: number | boolean;
  /** The run id (session ids start with it). @defaultValue a fresh one */
  run?: string;
  /** Called with each new line of the game server's stdout (progress, answers). */
  onOutput?: (line: string) => void;
  /** Called each time the game server was killed and is started again. */
  onRestart?: () => void;
  /** Where the ledger (ledger.jsonl) and the out file (out.json) go; kept. @defaultValue a temporary folder, removed */
  dir?: string;
}

export interface PlayResult<Out = Record<string, any>> {
  run: string;
  ledger: LedgerEvent[];
  out: Out;
  restarts: number;
  ms: number;
}

/** Plays one game's sessions to the end through crashes: kill, restart, recover, until it exits 0. */
export async function playGame<Out = Record<string, any>>(pipe: Pipeline, o: PlayOptions): Promise<PlayResult<Out>> {
  const run = o.run ?? `g${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), `gp-${o.game}-`));
  mkdirSync(dir, { recursive: true });
  const ledgerPath = join(dir, 'ledger.jsonl');
  const outPath = join(dir, 'out.json');
  const crashAfter = o.crash === true ? 10 + Math.floor(Math.random() * 51) : typeof o.crash === 'number' ? o.crash : null;
  const t0 = performance.now();
  let restarts = 0;
  try {
    for (let first = true; ; first = false) {
      const [cmd, args] = COMMANDS[o.game]();
      const env: Record<string, string> = {
        ...pipe.env,
        GAME_RUN: run,
        GAME_SESSIONS: String(o.sessions),
        GAME_SEED: String(o.seed),
        GAME_SCALE: o.scale ?? 'test',
        GAME_PACE_MS: String(o.paceMs ?? 0),
        GAME_LEDGER: ledgerPath,
        GAME_OUT: outPath,
        ...(first && crashAfter !== null ? { GAME_CRASH_AFTER: String(crashAfter) } : {}),
        PYTHONUNBUFFERED: '1',
      };
      const c = start(cmd, args, env);
      if (o.onOutput) {
        let buf = '';
        c.proc.stdout!.setEncoding('utf8');
        c.proc.stdout!.on('data', (d: string) => {
          buf += d;
          for (let i; (i = buf.indexOf('\n')) >= 0; ) {
            o.onOutput!(buf.slice(0, i));
            buf = buf.slice(i + 1);
          }
        });
      } else c.proc.stdout!.resume();
      const { code, signal } = await c.exited;
      if (code === 0) break;
      if (signal === 'SIGKILL' && first && crashAfter !== null) {
        restarts++;
        o.onRestart?.();
        continue;
      }
      throw new Error(`${o.game} game server exited (${signal ?? code})\n${c.stderrTail()}`);
    }
    const out = JSON.parse(readFileSync(outPath, 'utf8')) as Out;
    return { run, ledger: readLedger(ledgerPath), out, restarts, ms: Math.round(performance.now() - t0) };
  } finally {
    if (!o.dir) rmSync(dir, { recursive: true, force: true });
  }
}

/** Accepted events so far of a game being played (the demo's progress display reads it). */
export function ledgerLength(path: string): number {
  try {
    const b = readFileSync(path);
    let n = 0;
    for (const x of b) if (x === 10) n++;
    return n;
  } catch {
    return 0;
  }
}
