/**
 * Worker child processes for the property run (`game-persist worker`), killed with SIGKILL at random
 * points and replaced. Like test/helpers/worker.ts `spawnCli`, but usable outside vitest (that helper
 * registers an afterAll hook when imported) and keeping only the tail of each log.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { childEnv } from '../helpers/env.ts';

const CLI = fileURLToPath(new URL('../../bin/game-persist.js', import.meta.url));

export interface WorkerProcess {
  n: number;
  child: ChildProcess;
  started: boolean;
  exited: Promise<number | null>;
  /** The last log lines (JSON logs on stderr), for reports. */
  tail: string[];
  /** Log lines at level error or above (pino: 50+). */
  errors: Record<string, unknown>[];
  killed: boolean;
}

/** Every pool of this process: their workers die with it (a timed-out test must not leave workers behind). */
const pools = new Set<WorkerPool>();
process.once('exit', () => killAllWorkers());

/** SIGKILLs every worker of every pool (for an afterAll hook). */
export function killAllWorkers(): void {
  for (const p of pools) for (const w of p.live) {
    w.killed = true;
    w.child.kill('SIGKILL');
  }
}

export class WorkerPool {
  readonly live: WorkerProcess[] = [];
  readonly all: WorkerProcess[] = [];
  /** Workers that exited without being killed or stopped by the pool. */
  readonly crashes: { n: number; code: number | null; tail: string[] }[] = [];
  #next = 0;
  #stopping = false;
  readonly #env: Record<string, string>;
  readonly #log: (line: string) => void;

  constructor(env: Record<string, string>, log: (line: string) => void) {
    this.#env = env;
    this.#log = log;
    pools.add(this);
  }

  spawn(): WorkerProcess {
    const child = spawn(process.execPath, [CLI, 'worker'], { env: { ...childEnv(), ...this.#env }, stdio: ['ignore', 'ignore', 'pipe'] });
    const w: WorkerProcess = { n: ++this.#next, child, started: false, exited: null as never, tail: [], errors: [], killed: false };
    let buf = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      buf += d;
      for (let i; (i = buf.indexOf('\n')) >= 0; ) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        w.tail.push(line);
        if (w.tail.length > 40) w.tail.shift();
        if (line.includes('"worker started"')) w.started = true;
        if (/"level":(5|6)\d/.test(line) && w.errors.length < 20) {
          try {
            w.errors.push(JSON.parse(line));
          } catch {
            w.errors.push({ msg: line });
          }
        }
      }
    });
    w.exited = new Promise((resolve) =>
      child.on('exit', (code) => {
        const i = this.live.indexOf(w);
        if (i >= 0) this.live.splice(i, 1);
        if (!w.killed && !this.#stopping) {
          this.crashes.push({ n: w.n, code, tail: w.tail.slice(-10) });
          this.#log(`worker #${w.n} exited by itself (code ${code}); starting another`);
          this.spawn();
        }
        resolve(code);
      }),
    );
    this.live.push(w);
    this.all.push(w);
    return w;
  }

  async waitStarted(w: WorkerProcess, timeoutMs = 60_000): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (!w.started && w.child.exitCode === null && w.child.signalCode === null && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    return w.started;
  }

  /** SIGKILL one live worker and start its replacement (waiting until it consumes). */
  async killOne(which: number): Promise<void> {
    const w = this.live[which % Math.max(1, this.live.length)];
    if (!w) return;
    w.killed = true;
    w.child.kill('SIGKILL');
    await w.exited;
    const r = this.spawn();
    this.#log(`killed worker #${w.n}, started #${r.n}`);
    await this.waitStarted(r);
  }

  /** SIGTERM every live worker (they finish the batch in hand) and wait; SIGKILL after the timeout. */
  async stop(timeoutMs = 30_000): Promise<(number | null)[]> {
    this.#stopping = true;
    const ws = [...this.live];
    for (const w of ws) {
      w.killed = true;
      w.child.kill('SIGTERM');
    }
    const timer = setTimeout(() => ws.forEach((w) => w.child.kill('SIGKILL')), timeoutMs);
    try {
      return await Promise.all(ws.map((w) => w.exited));
    } finally {
      clearTimeout(timer);
      pools.delete(this);
    }
  }
}
