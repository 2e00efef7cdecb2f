/**
 * Gathers the events of many BullMQ jobs into write batches (group commit: whatever arrived while the
 * last write ran, bounded by rows, bytes and milliseconds) and tells
 * each job when its events are committed. A job is acknowledged only after that promise resolves,
 * so a crash before commit leaves the job to be redelivered, and deduplication by event id makes
 * the redelivery harmless.
 */
import type { ValidEvent } from '../contract/events.ts';
import type { CheckedEvent } from '../contract/validate.ts';
import type { DeadLetterRow } from '../db/sql/dead-letters.ts';

export interface BatcherOptions {
  maxRows: number;
  /** Event bytes (as measured by validation) per batch at most. */
  maxBytes: number;
  maxMs: number;
  /** Batches written at once (each on its own connection). @defaultValue 2 */
  maxInflight?: number;
}

interface Pending {
  events: ValidEvent[];
  deadLetters: DeadLetterRow[];
  waiters: { resolve(): void; reject(e: unknown): void }[];
  rows: number;
  bytes: number;
  since: number;
}

export type WriteFn = (events: ValidEvent[], deadLetters: DeadLetterRow[]) => Promise<void>;

export class Batcher {
  readonly #write: WriteFn;
  readonly #maxRows: number;
  readonly #maxBytes: number;
  readonly #maxMs: number;
  readonly #maxInflight: number;
  #pending: Pending | null = null;
  #timer: NodeJS.Timeout | null = null;
  #inflight = new Set<Promise<void>>();
  #draining = false;

  constructor(write: WriteFn, opts: BatcherOptions) {
    this.#write = write;
    this.#maxRows = opts.maxRows;
    this.#maxBytes = opts.maxBytes;
    this.#maxMs = opts.maxMs;
    this.#maxInflight = opts.maxInflight ?? 2;
  }

  /** Resolves when these events (and dead letters) are committed; rejects if their batch failed. */
  add(events: CheckedEvent[], deadLetters: DeadLetterRow[]): Promise<void> {
    return new Promise((resolve, reject) => {
      const p = (this.#pending ??= { events: [], deadLetters: [], waiters: [], rows: 0, bytes: 0, since: Date.now() });
      for (const e of events) {
        p.events.push(e);
        p.bytes += e.bytes;
      }
      for (const d of deadLetters) p.deadLetters.push(d);
      p.rows += events.length + deadLetters.length;
      p.waiters.push({ resolve, reject });
      this.#pump();
    });
  }

  /** From now on write whatever arrives at once (shutdown: finish the batch in hand quickly). */
  drain(): void {
    this.#draining = true;
    this.#pump();
  }

  /** Waits until nothing is pending or being written. */
  async idle(): Promise<void> {
    while (this.#pending || this.#inflight.size) {
      this.#pump();
      await Promise.allSettled([...this.#inflight]);
      if (this.#pending && !this.#inflight.size) await new Promise((r) => setTimeout(r, 1));
    }
  }

  #pump(): void {
    const p = this.#pending;
    if (!p) return;
    // Group commit: with no write in flight the events go at once, and while one is in flight they
    // gather until it ends (or until maxMs, when a second connection may take them). A batch is then as
    // big as what arrived during one write: small and quickly committed under a light load, up to
    // maxRows under a heavy one. Waiting out maxMs with an idle connection only added latency.
    const due =
      this.#draining || this.#inflight.size === 0 || p.rows >= this.#maxRows || p.bytes >= this.#maxBytes || Date.now() - p.since >= this.#maxMs;
    if (due && this.#inflight.size < this.#maxInflight) {
      if (this.#timer) {
        clearTimeout(this.#timer);
        this.#timer = null;
      }
      this.#pending = null;
      const run = this.#run(p).finally(() => {
        this.#inflight.delete(run);
        this.#pump();
      });
      this.#inflight.add(run);
    } else if (!due && !this.#timer) {
      this.#timer = setTimeout(() => {
        this.#timer = null;
        this.#pump();
      }, Math.max(0, this.#maxMs - (Date.now() - p.since)));
    }
  }

  async #run(p: Pending): Promise<void> {
    try {
      await this.#write(p.events, p.deadLetters);
      for (const w of p.waiters) w.resolve();
    } catch (e) {
      for (const w of p.waiters) w.reject(e);
    }
  }
}
