/**
 * The worker's latency histograms (src/process/lag.ts): percentiles within the bucket resolution, and a
 * time stamped by a clock ahead of this one (a producer's) counted as 0, never negative.
 */
import { describe, expect, it } from 'vitest';
import { LagHistogram, elapsedMs } from '../../src/process/lag.ts';

describe('lag histograms', () => {
  it('answer percentiles within about 4% and keep the maximum', () => {
    const h = new LagHistogram();
    for (let i = 1; i <= 1000; i++) h.observe(i);
    const s = h.summary();
    expect(s.count).toBe(1000);
    expect(s.p50Ms).toBeGreaterThanOrEqual(500);
    expect(s.p50Ms).toBeLessThanOrEqual(500 * 1.04 + 0.1);
    expect(s.p99Ms).toBeGreaterThanOrEqual(990);
    expect(s.maxMs).toBe(1000);
    expect(s.meanMs).toBe(500.5);
  });

  it('hold days in the last bucket with the true maximum', () => {
    const h = new LagHistogram();
    const days = 3 * 86_400_000;
    h.observe(days);
    expect(h.summary()).toMatchObject({ count: 1, maxMs: days, p99Ms: days });
  });

  it('count a difference from a clock ahead of this one as 0', () => {
    expect(elapsedMs(1000, 400)).toBe(600);
    expect(elapsedMs(1000, 1000)).toBe(0);
    expect(elapsedMs(1000, 61_000)).toBe(0);
  });
});
