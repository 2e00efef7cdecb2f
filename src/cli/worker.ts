import type { Config } from '../config.ts';
import { createLogger } from '../log.ts';
import { startWorker } from '../workers/worker.ts';
import { intFlag, type Flags } from './main.ts';

/** Runs a worker until SIGTERM/SIGINT; a second signal exits at once. */
export async function runWorker(base: Readonly<Config>, flags: Flags): Promise<number> {
  const cfg: Readonly<Config> = Object.freeze({
    ...base,
    concurrency: intFlag(flags, 'concurrency', base.concurrency),
    batchRows: intFlag(flags, 'batch-rows', base.batchRows),
    batchMs: flags['batch-ms'] === '0' ? 0 : intFlag(flags, 'batch-ms', base.batchMs),
    allowEviction: flags['allow-eviction'] ?? base.allowEviction,
  });
  const log = createLogger(cfg.logLevel);
  const handle = await startWorker(cfg, { log });
  await new Promise<void>((resolve) => {
    let signals = 0;
    const onSignal = (sig: string) => {
      if (++signals > 1) {
        log.warn({ sig }, 'second signal: exiting without draining');
        process.exit(130);
      }
      log.info({ sig }, 'signal received: finishing the batch in hand');
      resolve();
    };
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    process.once('SIGINT', () => onSignal('SIGINT'));
  });
  process.on('SIGTERM', () => process.exit(143));
  process.on('SIGINT', () => process.exit(130));
  await handle.close();
  return 0;
}
