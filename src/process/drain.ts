/**
 * The hard deadline of a worker's drain (GP_SHUTDOWN_TIMEOUT_MS), shared by the `worker` command and
 * the chaos suite's worker.
 */
import type { Logger } from '../log.ts';

/**
 * Drains within `ms`: true when `close` finished, false when the deadline came first (logged with the
 * step the drain was in, `step()`). The caller exits either way: a job this process did not acknowledge
 * is redelivered after GP_LOCK_MS and deduplicated, so a hard deadline below the orchestrator's grace
 * period loses nothing, while a drain hung on a dead connection would be SIGKILLed there anyway.
 */
export async function drainWithin(close: () => Promise<void>, ms: number, log: Logger, step: () => string | null): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    if (await Promise.race([close().then(() => true as const), late])) return true;
    log.error({ step: step(), timeoutMs: ms }, 'drain did not finish within GP_SHUTDOWN_TIMEOUT_MS: exiting; jobs not acknowledged are redelivered after GP_LOCK_MS');
    return false;
  } finally {
    clearTimeout(timer);
  }
}
