/**
 * The pieces of the worker's HTTP endpoints that need no services: the scrape cache (one collection per
 * period, concurrent callers sharing the one in flight, a failure not kept), the bearer check, and the
 * readiness log (a line per change, not per probe).
 */
import { describe, expect, it } from 'vitest';
import { bearerOk, cached, logCheckChanges } from '../../src/metrics/http.ts';

describe('cached', () => {
  it('computes once per period; concurrent callers share the computation in flight', async () => {
    let t = 0;
    let runs = 0;
    let release!: () => void;
    const get = cached(
      () => new Promise<number>((resolve) => (runs++, (release = () => resolve(runs)))),
      5000,
      () => t,
    );
    const flood = Array.from({ length: 50 }, () => get());
    release();
    expect(await Promise.all(flood)).toEqual(Array(50).fill(1));
    t = 4999;
    expect(await get()).toBe(1);
    t = 5000;
    const next = get();
    release();
    expect(await next).toBe(2);
    expect(runs).toBe(2);
  });

  it('does not keep a failure: the next caller computes again', async () => {
    let runs = 0;
    const get = cached(async () => {
      if (++runs === 1) throw new Error('down');
      return runs;
    }, 5000, () => 0);
    await expect(get()).rejects.toThrow('down');
    expect(await get()).toBe(2);
  });
});

describe('bearerOk', () => {
  it('accepts the exact token only', () => {
    const token = 'a-token-of-enough-length';
    expect(bearerOk(`Bearer ${token}`, token)).toBe(true);
    expect(bearerOk(`bearer ${token}`, token)).toBe(true);
    for (const h of [undefined, '', 'Bearer', 'Bearer ', `Bearer ${token}x`, `Bearer ${token.slice(1)}`, `Basic ${token}`, `Bearer ${token} extra`, [`Bearer ${token}`]])
      expect(bearerOk(h as string | undefined, token), String(h)).toBe(false);
  });
});

describe('logCheckChanges', () => {
  it('logs a failing check once per reason, rate-limited, and once when it passes again', () => {
    const lines: [string, Record<string, unknown>][] = [];
    let t = 0;
    const log = { warn: (o: Record<string, unknown>) => lines.push(['warn', o]), info: (o: Record<string, unknown>) => lines.push(['info', o]) };
    const onChecks = logCheckChanges(log as never, 60_000, () => t);
    const run = (detail: string | null) => onChecks([{ name: 'postgres', ok: true }, detail ? { name: 'redis', ok: false, detail } : { name: 'redis', ok: true }]);
    run(null);
    expect(lines).toEqual([]);
    for (let i = 0; i < 100; i++) run('out of memory');
    expect(lines).toEqual([['warn', { check: 'redis', detail: 'out of memory' }]]);
    t = 1000;
    run('timed out'); // another reason, too soon
    expect(lines).toHaveLength(1);
    t = 61_000;
    run('timed out');
    run('timed out');
    expect(lines[1]).toEqual(['warn', { check: 'redis', detail: 'timed out' }]);
    run(null);
    run(null);
    expect(lines.slice(2)).toEqual([['info', { check: 'redis' }]]);
    expect(lines).toHaveLength(3);
  });
});
