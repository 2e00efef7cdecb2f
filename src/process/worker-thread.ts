/**
 * Entry of the worker thread the CLI starts (see src/cli/worker.ts): runs the ingest worker under the
 * thread's heap limits and stops it when the main thread says so, during its start as well as after.
 * It tells the main thread how the start ended (`started`, `failed`, or `stopped` when told to stop
 * first) and `stopped` once a drain finished; then it closes its port and ends.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Config } from '../config.ts';
import { GamePersistError, StartStoppedError, errorMessage } from '../errors.ts';
import { createLogger } from '../log.ts';
import { startWorker, type WorkerHandle } from './worker.ts';

export type ThreadMessage = { type: 'started' } | { type: 'stopped' } | { type: 'step'; step: string } | { type: 'failed'; code: string; message: string };

if (!parentPort) throw new Error('worker-thread.ts must run in a worker thread');
const port = parentPort;
const { cfg } = workerData as { cfg: Readonly<Config> };
const post = (m: ThreadMessage) => port.postMessage(m);

const stopStart = new AbortController();
let handle: WorkerHandle | null = null;
let stopping = false;

function drain(h: WorkerHandle): void {
  h.close().then(
    () => {
      post({ type: 'stopped' });
      port.close();
    },
    (e) => {
      post({ type: 'failed', code: 'drain_failed', message: errorMessage(e) });
      port.close();
    },
  );
}

// Listening from the first moment: a stop that comes while the worker still starts ends the start.
port.on('message', (m: { type: string }) => {
  if (m.type !== 'drain' || stopping) return;
  stopping = true;
  if (handle) drain(handle);
  else stopStart.abort();
});

try {
  // Until this arrives the thread has opened nothing (it was loading its modules): a stop may end it outright.
  post({ type: 'step', step: 'starting' });
  handle = await startWorker(cfg, {
    log: createLogger(cfg.logLevel),
    metricsPort: cfg.metricsPort > 0 ? cfg.metricsPort : undefined,
    // The main thread keeps the drain's deadline (GP_SHUTDOWN_TIMEOUT_MS) and names the step it hung in.
    onDrainStep: (step) => post({ type: 'step', step }),
    signal: stopStart.signal,
  });
  if (stopping) drain(handle);
  else post({ type: 'started' });
} catch (e) {
  if (e instanceof StartStoppedError) post({ type: 'stopped' });
  else post({ type: 'failed', code: e instanceof GamePersistError ? e.code : 'start_failed', message: errorMessage(e) });
  port.close();
}
