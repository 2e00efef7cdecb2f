/**
 * Emit-to-commit lag: for every committed event, now minus its `at`. Kept as a log-scale histogram
 * (about 4% resolution from 0.1 ms to ~10 h) so percentiles cost no per-event memory.
 */
const BASE = 1.04;
const MIN_MS = 0.1;
const BUCKETS = 500;

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

  /** Upper bound of the bucket holding the q-quantile (0..1), in ms. */
  quantile(q: number): number {
    if (!this.count) return 0;
    const target = q * this.count;
    let seen = 0;
    for (let i = 0; i <= BUCKETS; i++) {
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
