import { Worker as Thread } from 'node:worker_threads';
import type { Config } from '../config.ts';
import { GamePersistError } from '../errors.ts';
import { createLogger, type Logger } from '../log.ts';
import { drainWithin, startWorker, type WorkerHandle } from '../workers/worker.ts';
import type { ThreadMessage } from '../workers/worker-thread.ts';
import { intFlag, type Flags } from './args.ts';

/**
 * Runs a worker until SIGTERM/SIGINT (finishing the batch in hand); a second signal exits at once.
 * The ingest loop runs in a worker thread with a fixed heap (GP_WORKER_HEAP_MB) so a replica's memory
 * stays bounded and predictable: V8 otherwise lets a busy heap grow toward its multi-GB default.
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
  if (cfg.workerHeapMb === 0) return runOnMainThread(cfg, stop, log);

  const thread = new Thread(new URL(`../workers/worker-thread${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url), {
    workerData: { cfg },
    resourceLimits: { maxOldGenerationSizeMb: cfg.workerHeapMb, maxYoungGenerationSizeMb: 24 },
    stderr: false,
    stdout: false,
  });
  const exited = new Promise<number>((resolve) => thread.once('exit', resolve));
  const failure = new Promise<never>((_, reject) => thread.once('error', reject));
  let step: string | null = null;
  const started = new Promise<void>((resolve, reject) => {
    thread.on('message', (m: ThreadMessage) => {
      if (m.type === 'started') resolve();
      else if (m.type === 'step') step = m.step;
      else if (m.type === 'failed') reject(new GamePersistError(m.code, m.message));
    });
  });
  await Promise.race([started, failure]);
  await Promise.race([stop, failure]);
  thread.postMessage({ type: 'drain' });
  if (await drainWithin(() => Promise.race([exited, failure]).then(() => undefined), cfg.shutdownTimeoutMs, log, () => step)) return 0;
  process.exit(1); // a hung connection may hold the loop open: the deadline is a hard one
}

async function runOnMainThread(cfg: Readonly<Config>, stop: Promise<void>, log: Logger): Promise<number> {
  let step: string | null = null;
  const handle: WorkerHandle = await startWorker(cfg, { log, metricsPort: cfg.metricsPort > 0 ? cfg.metricsPort : undefined, onDrainStep: (s) => (step = s) });
  await stop;
  if (await drainWithin(() => handle.close(), cfg.shutdownTimeoutMs, log, () => step)) return 0;
  process.exit(1); // a hung connection may hold the loop open: the deadline is a hard one
}

function untilSignal(log: ReturnType<typeof createLogger>): Promise<void> {
  return new Promise<void>((resolve) => {
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      if (++signals > 1) {
        log.warn({ sig }, 'second signal: exiting without draining');
        process.exit(sig === 'SIGINT' ? 130 : 143);
      }
      log.info({ sig }, 'signal received: finishing the batch in hand');
      resolve();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
