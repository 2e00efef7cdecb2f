/**
 * A worker for the chaos suite (scripts/chaos.ts): the `worker` command's worker, configured from the
 * environment, that kills its own process right after a batch commit and before the acknowledgement
 * with the probability given as its argument (0: never). Every second, and once more when it exits
 * after SIGTERM, it prints one JSON line on stdout for the runner: its RSS, its event-loop delay p99
 * since it started (perf_hooks), the jobs it ran and the events it received again that were already
 * stored (`duplicates`: a redelivered job), the seqs it gave up as lost net of late arrivals
 * (`lostSeqs`: what it logged and counted in gp_sequence_given_up_total) and its wall clock (`now`: the clock-skew scenario checks that
 * libfaketime took). It dies when its stdin (a pipe from the runner) closes. Not a production entry point.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { startWorker } from '../src/process/worker.ts';
import { drainWithin } from '../src/process/drain.ts';

const killAfterCommit = Number(process.argv[2] ?? 0);
let commits = 0;
// The runner starts each worker in a session of its own, out of reach of a signal to the runner's
// group; its stdin is a pipe from the runner, closed when the runner is gone: then this worker goes too.
process.stdin.on('end', () => process.kill(process.pid, 'SIGKILL'));
process.stdin.resume();
const cfg = loadConfig();
// SIGTERM may come while the worker is still starting (a rolling deploy reaches a new replica): it is
// heard from the first moment, and the worker drains as soon as it runs.
const signalled = new Promise<void>((resolve) => {
  process.once('SIGTERM', resolve);
  process.once('SIGINT', resolve);
});
const lag = monitorEventLoopDelay({ resolution: 10 });
const log = createLogger(cfg.logLevel);
let step: string | null = null;
const handle = await startWorker(cfg, {
  log,
  onDrainStep: (s) => (step = s),
  // Each commit dies with this chance, and the third at the latest: a worker that committed its share
  // in a couple of lucky batches (CI saw a short run where none crashed) still crashes.
  afterCommit: () => {
    commits++;
    if (killAfterCommit > 0 && (commits >= 3 || Math.random() < killAfterCommit)) process.kill(process.pid, 'SIGKILL');
  },
  // /readyz for the scenarios that watch readiness (GP_METRICS_PORT; 0: none, as in the others).
  metricsPort: cfg.metricsPort > 0 ? cfg.metricsPort : undefined,
});
// From the moment it runs: loading and compiling the modules at start blocks the loop by design.
lag.enable();
const report = () =>
  process.stdout.write(
    `${JSON.stringify({ rss: process.memoryUsage.rss(), lagP99Ms: lag.percentile(99) / 1e6, jobs: handle.stats.jobs, duplicates: handle.stats.duplicates, lostSeqs: handle.stats.lostSeqs, metricsPort: handle.metricsPort, now: Date.now() })}\n`,
  );
report();
const timer = setInterval(report, 1000);
await signalled;
// The `worker` command's hard drain deadline (GP_SHUTDOWN_TIMEOUT_MS), as in production.
const drained = await drainWithin(() => handle.close(), cfg.shutdownTimeoutMs, log, () => step);
clearInterval(timer);
report();
process.exit(drained ? 0 : 1);
