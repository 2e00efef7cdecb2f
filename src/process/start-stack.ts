/**
 * What a worker's start has opened so far, so that a start that fails midway (its metrics port taken,
 * a migration pending) or is stopped by a signal closes all of it again, newest first: a worker that
 * could not start must not leave a BullMQ worker consuming, a pool or a pg-boss open, or its thread
 * alive. Each awaited step of a start also ends as soon as the signal fires, so SIGTERM is heard while a
 * start waits on a PostgreSQL or Redis that does not answer.
 */
import { StartStoppedError, errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';

/** How long an unwind waits for the step in progress to finish, and for each close. */
const SETTLE_MS = 1000;
const CLOSE_MS = 2000;

export class StartStack {
  readonly #closers: { what: string; close: () => unknown }[] = [];
  readonly #signal: AbortSignal | undefined;
  #unwound = false;
  /** The step running now (settled, never rejecting), if any. */
  #inflight: Promise<void> | null = null;

  constructor(signal?: AbortSignal) {
    this.#signal = signal;
  }

  /** Whether the signal fired. */
  get stopped(): boolean {
    return this.#signal?.aborted ?? false;
  }

  /**
   * Registers how to close what was just opened (`what` names it in the log if closing fails). After
   * the unwind (a step that went on after the stop opened it), it is closed at once.
   */
  opened(what: string, close: () => unknown): void {
    if (this.#unwound) void Promise.resolve().then(close).catch(() => {});
    else this.#closers.push({ what, close });
  }

  /** Throws StartStoppedError once the signal fired. */
  check(): void {
    if (this.stopped) throw new StartStoppedError();
  }

  /**
   * Runs `begin` and awaits what it returns, or throws StartStoppedError as soon as the signal fires
   * (at once, without running it, if it already did). The step itself runs on: what it opens after the
   * stop is closed by `lateClose` when it resolves (an ORM that connects after the stop).
   */
  async step<T>(begin: () => Promise<T>, lateClose?: (value: T) => unknown): Promise<T> {
    this.check();
    const p = begin();
    const settled = p.then(
      () => {},
      () => {},
    );
    this.#inflight = settled;
    void settled.then(() => {
      if (this.#inflight === settled) this.#inflight = null;
    });
    const signal = this.#signal;
    if (!signal) return p;
    let onAbort!: () => void;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(new StartStoppedError());
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([p, aborted]);
    } catch (e) {
      if (e instanceof StartStoppedError && lateClose) p.then(lateClose, () => {});
      throw e;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Closes everything opened, newest first; a close that fails is logged and the others still run.
   * A step still running gets a moment to finish first (closing the ORM under a query that is just
   * starting leaves its pool waiting forever), and each close at most CLOSE_MS: a close that hangs (a
   * pool on a PostgreSQL that does not answer) is logged and left to the end of the thread or process.
   * Returns false when something was left so, or `ms` passed; the caller then ends the thread or process.
   */
  async unwind(log: Logger, ms: number): Promise<boolean> {
    this.#unwound = true;
    const deadline = performance.now() + ms;
    const within = <T>(p: Promise<T>, limit: number) => {
      let timer: NodeJS.Timeout | undefined;
      return Promise.race([p.then(() => true as const), new Promise<false>((r) => (timer = setTimeout(() => r(false), Math.max(0, limit))))]).finally(() => clearTimeout(timer));
    };
    if (this.#inflight) await within(this.#inflight, Math.min(SETTLE_MS, deadline - performance.now()));
    let complete = true;
    for (const c of this.#closers.splice(0).reverse()) {
      log.debug({ closing: c.what }, 'closing what the start had opened');
      const closed = within(
        Promise.resolve()
          .then(c.close)
          .catch((e: unknown) => log.warn({ err: errorMessage(e), closing: c.what }, 'closing what the start had opened failed')),
        Math.min(CLOSE_MS, deadline - performance.now()),
      );
      if (!(await closed)) {
        complete = false;
        log.warn({ closing: c.what }, 'closing what the start had opened did not finish in time; the worker ends without waiting for it');
      }
    }
    return complete;
  }
}
