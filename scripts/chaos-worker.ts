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
const handle = await startWorker(cfg, {
  log: createLogger(cfg.logLevel),
  afterCommit: () => {
    if (killAfterCommit > 0 && Math.random() < killAfterCommit) process.kill(process.pid, 'SIGKILL');
  },
});
const stop = async () => {
  await handle.close();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
