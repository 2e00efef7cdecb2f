/**
 * A worker for the chaos suite (scripts/chaos.ts): the `worker` command's worker, configured from the
 * environment, that kills its own process right after a batch commit and before the acknowledgement
 * with the probability given as its argument (0: never). Not a production entry point.
 */
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { startWorker } from '../src/workers/worker.ts';

const killAfterCommit = Number(process.argv[2] ?? 0);
const cfg = loadConfig();
// SIGTERM may come while the worker is still starting (a rolling deploy reaches a new replica): it is
// heard from the first moment, and the worker drains as soon as it runs.
const signalled = new Promise<void>((resolve) => {
  process.once('SIGTERM', resolve);
  process.once('SIGINT', resolve);
});
const handle = await startWorker(cfg, {
  log: createLogger(cfg.logLevel),
  afterCommit: () => {
    if (killAfterCommit > 0 && Math.random() < killAfterCommit) process.kill(process.pid, 'SIGKILL');
  },
});
await signalled;
await handle.close();
process.exit(0);
