/**
 * Entry of the worker thread the CLI starts (see src/cli/worker.ts): runs the ingest worker under the
 * thread's heap limits and drains it when the main thread says so.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Config } from '../config.ts';
import { GamePersistError, errorMessage } from '../errors.ts';
import { createLogger } from '../log.ts';
import { startWorker } from './worker.ts';

export type ThreadMessage = { type: 'started' } | { type: 'stopped' } | { type: 'step'; step: string } | { type: 'failed'; code: string; message: string };

const port = parentPort;
if (!port) throw new Error('worker-thread.ts must run in a worker thread');
const { cfg } = workerData as { cfg: Readonly<Config> };
const post = (m: ThreadMessage) => port.postMessage(m);

try {
  const handle = await startWorker(cfg, {
    log: createLogger(cfg.logLevel),
    metricsPort: cfg.metricsPort > 0 ? cfg.metricsPort : undefined,
    // The main thread keeps the drain's deadline (GP_SHUTDOWN_TIMEOUT_MS) and names the step it hung in.
    onDrainStep: (step) => post({ type: 'step', step }),
  });
  port.on('message', (m: { type: string }) => {
    if (m.type !== 'drain') return;
    handle.close().then(
      () => {
        post({ type: 'stopped' });
        port.close();
      },
      (e) => post({ type: 'failed', code: 'drain_failed', message: errorMessage(e) }),
    );
  });
  post({ type: 'started' });
} catch (e) {
  post({ type: 'failed', code: e instanceof GamePersistError ? e.code : 'start_failed', message: errorMessage(e) });
  port.close();
}
