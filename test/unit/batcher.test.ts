/**
 * The batcher's group commit (src/workers/batcher.ts): with no write in flight events go at once; while
 * one is in flight they gather into the next batch, written when it ends; rows still bound a batch. The
 * timer (maxMs) is set far beyond the test so that nothing here depends on the clock.
 */
import { describe, expect, it } from 'vitest';
import { Batcher } from '../../src/workers/batcher.ts';
import type { CheckedEvent } from '../../src/contract/validate.ts';
import type { ValidEvent } from '../../src/contract/events.ts';

const ev = (n: number) => ({ id: `e${n}`, bytes: 10 }) as unknown as CheckedEvent;

/** A write function whose writes end when the test says so. */
function gate() {
  const writes: { ids: string[]; done: () => void }[] = [];
  const write = (events: ValidEvent[]) => new Promise<void>((resolve) => writes.push({ ids: events.map((e) => e.id), done: resolve }));
  return { writes, write };
}
const tick = () => new Promise((r) => setImmediate(r));

describe('the batcher', () => {
  it('writes at once when no write is in flight, without waiting for maxMs', async () => {
    const g = gate();
    const b = new Batcher(g.write, { maxRows: 1000, maxBytes: 1e9, maxMs: 3_600_000, maxInflight: 1 });
    const committed = b.add([ev(1), ev(2)], []);
    await tick();
    expect(g.writes.map((w) => w.ids)).toEqual([['e1', 'e2']]);
    g.writes[0]!.done();
    await committed;
  });

  it('gathers what arrives during a write into one batch, written when that write ends', async () => {
    const g = gate();
    const b = new Batcher(g.write, { maxRows: 1000, maxBytes: 1e9, maxMs: 3_600_000, maxInflight: 1 });
    const first = b.add([ev(1)], []);
    await tick();
    const later = [b.add([ev(2)], []), b.add([ev(3), ev(4)], []), b.add([ev(5)], [])];
    await tick();
    expect(g.writes).toHaveLength(1);
    g.writes[0]!.done();
    await first;
    await tick();
    expect(g.writes.map((w) => w.ids)).toEqual([['e1'], ['e2', 'e3', 'e4', 'e5']]);
    g.writes[1]!.done();
    await Promise.all(later);
  });

  it('starts a second write in flight for a batch that reached maxRows', async () => {
    const g = gate();
    const b = new Batcher(g.write, { maxRows: 3, maxBytes: 1e9, maxMs: 3_600_000, maxInflight: 2 });
    const all = [b.add([ev(1)], []), b.add([ev(2)], []), b.add([ev(3)], []), b.add([ev(4)], [])];
    await tick();
    // e1 went alone (nothing in flight); e2..e4 reached maxRows while it was in flight.
    expect(g.writes.map((w) => w.ids)).toEqual([['e1'], ['e2', 'e3', 'e4']]);
    for (const w of g.writes) w.done();
    await Promise.all(all);
  });

  it('fails the waiters of a batch whose write failed, and only them', async () => {
    const calls: string[][] = [];
    const b = new Batcher(
      async (events) => {
        calls.push(events.map((e) => e.id));
        if (events.some((e) => e.id === 'bad')) throw new Error('refused');
      },
      { maxRows: 1000, maxBytes: 1e9, maxMs: 3_600_000, maxInflight: 1 },
    );
    await expect(b.add([ev(1)], [])).resolves.toBeUndefined();
    await expect(b.add([{ id: 'bad', bytes: 1 } as unknown as CheckedEvent], [])).rejects.toThrow('refused');
    await expect(b.add([ev(2)], [])).resolves.toBeUndefined();
    expect(calls).toEqual([['e1'], ['bad'], ['e2']]);
  });
});
