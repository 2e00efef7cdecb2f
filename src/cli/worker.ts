import { Worker as Thread } from 'node:worker_threads';
import type { Config } from '../config.ts';
import { StartStoppedError, GamePersistError, errorMessage } from '../errors.ts';
import { createLogger, type Logger } from '../log.ts';
import { startWorker, type WorkerHandle } from '../process/worker.ts';
import { drainWithin } from '../process/drain.ts';
import type { ThreadMessage } from '../process/worker-thread.ts';
import { intFlag, type Flags } from './args.ts';

/**
 * Runs a worker until SIGTERM/SIGINT (finishing the batch in hand); a second signal exits at once.
 * The ingest loop runs in a worker thread with a fixed heap (GP_WORKER_HEAP_MB) so a replica's memory
 * stays bounded and predictable: V8 otherwise lets a busy heap grow toward its multi-GB default.
 *
 * Exit codes: 0 after a drain, or after a signal that came during the start (nothing was consumed);
 * 1 when the start failed (it throws, and the command line prints one line naming the cause, e.g.
 * `game-persist worker: did not start: GP_METRICS_PORT 9464 is already in use … [metrics_port_in_use]`),
 * when the ingest thread died, or when the drain passed GP_SHUTDOWN_TIMEOUT_MS. A failed start closes
 * what it had opened and consumes nothing; the thread is ended.
 */
export async function runWorker(base: Readonly<Config>, flags: Flags): Promise<number> {
  const cfg: Readonly<Config> = Object.freeze({
    ...base,
    concurrency: intFlag(flags, 'concurrency', base.concurrency),
    batchRows: intFlag(flags, 'batch-rows', base.batchRows),
    batchMs: flags['batch-ms'] === '0' ? 0 : intFlag(flags, 'batch-ms', base.batchMs),
    allowEviction: flags['allow-eviction'] ?? base.allowEviction,
  });
  const log = createLogger(cfg.logLevel);
  const stop = untilSignal(log);
  return cfg.workerHeapMb === 0 ? runOnMainThread(cfg, stop, log) : runInThread(cfg, stop, log);
}

/** How the thread's run ended, whichever came first. */
type ThreadEnd = { kind: 'stopped' } | { kind: 'failed'; code: string; message: string } | { kind: 'died'; message: string };

/** A thread that finished or failed gets this long to end by itself before it is terminated. */
const THREAD_EXIT_GRACE_MS = 1000;

async function runInThread(cfg: Readonly<Config>, stop: Promise<void>, log: Logger): Promise<number> {
  const thread = new Thread(new URL(`../process/worker-thread${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url), {
    workerData: { cfg },
    resourceLimits: { maxOldGenerationSizeMb: cfg.workerHeapMb, maxYoungGenerationSizeMb: 24 },
    stderr: false,
    stdout: false,
  });
  const exited = new Promise<number>((resolve) => thread.once('exit', resolve));
  let step: string | null = null;
  let hasStarted = false;
  let resolveStarted!: () => void;
  const started = new Promise<'started'>((resolve) => (resolveStarted = () => resolve('started')));
  const ended = new Promise<ThreadEnd>((resolve) => {
    thread.on('message', (m: ThreadMessage) => {
      if (m.type === 'started') {
        hasStarted = true;
        resolveStarted();
      } else if (m.type === 'step') step = m.step;
      else if (m.type === 'stopped') resolve({ kind: 'stopped' });
      else if (m.type === 'failed') resolve({ kind: 'failed', code: m.code, message: m.message });
    });
    thread.once('error', (e) => resolve({ kind: 'died', message: errorMessage(e) }));
    void exited.then((code) => resolve({ kind: 'died', message: `the ingest thread exited (code ${code}) unasked` }));
  });
  /** The thread's end as an exit code, or thrown; the thread is made to end first (terminated past the grace). */
  const settle = async (end: ThreadEnd): Promise<number> => {
    const startedYet = hasStarted;
    await Promise.race([exited, new Promise((r) => setTimeout(r, THREAD_EXIT_GRACE_MS).unref())]);
    await thread.terminate();
    if (end.kind === 'stopped') {
      if (!startedYet) log.info('worker stopped during its start: nothing was consumed');
      return 0;
    }
    if (end.kind === 'failed') throw new GamePersistError(end.code, startedYet || end.code === 'drain_failed' ? end.message : `did not start: ${end.message}`);
    throw new GamePersistError('thread_died', startedYet ? `the ingest thread died: ${end.message}` : `did not start: the ingest thread died: ${end.message}`);
  };

  const first = await Promise.race([started, ended, stop.then(() => 'signal' as const)]);
  if (first !== 'started' && first !== 'signal') return settle(first);
  // A signal before the thread said a word: it is still loading its modules (seconds on a busy host)
  // and has opened nothing, so there is nothing to close.
  if (first === 'signal' && step === null) return settle({ kind: 'stopped' });
  if (first === 'started' && (await Promise.race([stop.then(() => null), ended])) !== null) return settle(await ended);
  // A signal: the thread stops its start, or drains what it holds, within GP_SHUTDOWN_TIMEOUT_MS.
  thread.postMessage({ type: 'drain' });
  let end: ThreadEnd | undefined;
  const drained = await drainWithin(async () => void (end = await ended), cfg.shutdownTimeoutMs, log, () => step);
  if (drained && end) return settle(end);
  process.exit(1); // a hung connection may hold the loop open: the deadline is a hard one
}

async function runOnMainThread(cfg: Readonly<Config>, stop: Promise<void>, log: Logger): Promise<number> {
  let step: string | null = null;
  const stopStart = new AbortController();
  void stop.then(() => stopStart.abort());
  let handle: WorkerHandle;
  try {
    handle = await startWorker(cfg, { log, metricsPort: cfg.metricsPort > 0 ? cfg.metricsPort : undefined, onDrainStep: (s) => (step = s), signal: stopStart.signal });
  } catch (e) {
    // What the start opened is closed; anything it could not close (a connect still pending on a
    // PostgreSQL that does not answer) must not keep the process alive past a moment.
    exitSoon();
    if (e instanceof StartStoppedError) {
      log.info('worker stopped during its start: nothing was consumed');
      return 0;
    }
    throw new GamePersistError(e instanceof GamePersistError ? e.code : 'start_failed', `did not start: ${errorMessage(e)}`, { cause: e });
  }
  await stop;
  if (await drainWithin(() => handle.close(), cfg.shutdownTimeoutMs, log, () => step)) return 0;
  process.exit(1); // a hung connection may hold the loop open: the deadline is a hard one
}

/**
 * Exits with the code set by then if something still holds the event loop open a few seconds on (time
 * enough for the command line to stop an embedded PostgreSQL it started).
 */
function exitSoon(): void {
  setTimeout(() => process.exit(), 5000).unref();
}

function untilSignal(log: ReturnType<typeof createLogger>): Promise<void> {
  return new Promise<void>((resolve) => {
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      if (++signals > 1) {
        log.warn({ sig }, 'second signal: exiting without draining');
        process.exit(sig === 'SIGINT' ? 130 : 143);
      }
      log.info({ sig }, 'signal received: stopping (a running worker finishes the batch in hand first)');
      resolve();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
