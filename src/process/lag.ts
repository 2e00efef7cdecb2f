/**
 * Latencies of committed events, kept as log-scale histograms (about 4% resolution from 0.1 ms to
 * ~10 h; anything longer lands in the last bucket, whose quantiles are answered with the maximum) so
 * percentiles cost no per-event memory. The worker keeps two (WorkerStats): `lag`, enqueue to commit
 * (the job's enqueue time, BullMQ's `job.timestamp`, to the commit that stored its events), and
 * `eventAge`, the event's own `at` to the commit (days for an imported or backfilled session: never a
 * measure of the pipeline).
 *
 * Both subtract a time another process stamped (the producer's clock) from this worker's clock, so
 * clock skew between them shifts both: a negative difference (the producer's clock ahead) counts as 0.
 */
const BASE = 1.04;
const MIN_MS = 0.1;
const BUCKETS = 500;

/** `now - since` in ms, 0 when negative (the clock that stamped `since` runs ahead of this one). */
export function elapsedMs(now: number, since: number): number {
  const ms = now - since;
  return ms > 0 ? ms : 0;
}

export class LagHistogram {
  readonly #counts = new Float64Array(BUCKETS + 1);
  count = 0;
  sumMs = 0;
  maxMs = 0;

  observe(ms: number): void {
    const v = ms < MIN_MS ? MIN_MS : ms;
    const i = Math.min(BUCKETS, Math.floor(Math.log(v / MIN_MS) / Math.log(BASE)));
    this.#counts[i]++;
    this.count++;
    this.sumMs += ms;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  /** Upper bound of the bucket holding the q-quantile (0..1), in ms; in the last bucket (~10 h and more), the maximum. */
  quantile(q: number): number {
    if (!this.count) return 0;
    const target = q * this.count;
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i];
      if (seen >= target) return Math.min(this.maxMs, MIN_MS * BASE ** (i + 1));
    }
    return this.maxMs;
  }

  summary(): { count: number; p50Ms: number; p99Ms: number; maxMs: number; meanMs: number } {
    const r = (x: number) => Math.round(x * 10) / 10;
    return { count: this.count, p50Ms: r(this.quantile(0.5)), p99Ms: r(this.quantile(0.99)), maxMs: r(this.maxMs), meanMs: r(this.count ? this.sumMs / this.count : 0) };
  }
}
