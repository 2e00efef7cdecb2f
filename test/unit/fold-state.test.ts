import { describe, expect, it } from 'vitest';
import { copyJson } from '../../src/contract/merge-patch.ts';
import { foldTurn, foldTurnBounded, stateBytes } from '../../src/sessions/fold-state.ts';
import { contiguousUpTo } from '../../src/sessions/sequencer.ts';

describe('live state fold', () => {
  it('finds how far a history is contiguous', () => {
    expect(contiguousUpTo(0, [1, 2, 3, 5])).toBe(3);
    expect(contiguousUpTo(2, [3, 3, 4, 6])).toBe(4);
    expect(contiguousUpTo(2, [4, 5])).toBe(2);
    expect(contiguousUpTo(7, [])).toBe(7);
  });

  it('replaces the state with a full state and merges RFC 7396 patches (null deletes, objects merge, arrays replace)', () => {
    let s = foldTurn({}, { state: { hp: 10, pos: { x: 1, y: 2 }, items: ['a'] }, patch: null });
    s = foldTurn(s, { state: null, patch: { pos: { y: 5 }, items: ['b', 'c'], mana: 3 } });
    expect(s).toEqual({ hp: 10, pos: { x: 1, y: 5 }, items: ['b', 'c'], mana: 3 });
    s = foldTurn(s, { state: null, patch: { hp: null, pos: { x: null } } });
    expect(s).toEqual({ pos: { y: 5 }, items: ['b', 'c'], mana: 3 });
    expect(foldTurn(s, { state: { reset: true }, patch: null })).toEqual({ reset: true });
  });

  it('refuses a turn result that would pass the state bound, keeping the state as it was', () => {
    const max = 200;
    let f = foldTurnBounded({}, stateBytes({}), { state: { a: 'x'.repeat(50) }, patch: null }, max);
    expect(f).toMatchObject({ state: { a: 'x'.repeat(50) }, refusedBytes: null });
    const before = copyJson(f.state);
    const big = foldTurnBounded(f.state, f.bytes, { state: null, patch: { b: 'y'.repeat(200) } }, max);
    expect(big.state).toEqual(before); // not even partly applied (a patch merges in place when it fits)
    expect(big.refusedBytes).toBe(stateBytes({ ...before, b: 'y'.repeat(200) }));
    f = foldTurnBounded(big.state, big.bytes, { state: null, patch: { c: 1 } }, max);
    expect(f).toMatchObject({ state: { a: 'x'.repeat(50), c: 1 }, refusedBytes: null });
    expect(foldTurnBounded(f.state, f.bytes, { state: { z: 'z'.repeat(300) }, patch: null }, max)).toMatchObject({ state: { a: 'x'.repeat(50), c: 1 }, refusedBytes: stateBytes({ z: 'z'.repeat(300) }) });
    // A patch that shrinks a state that was at the limit applies.
    const at = { a: 'é'.repeat(90) };
    expect(foldTurnBounded(at, stateBytes(at), { state: null, patch: { a: 'short' } }, stateBytes(at))).toMatchObject({ state: { a: 'short' }, refusedBytes: null });
  });

  it('decides exactly as measuring every folded state would, whatever size estimate it carries', () => {
    // A seeded walk of random patches (sets, deletes, nested objects, multi-byte text): the bounded
    // fold keeps the same state as a fold that measures each candidate exactly.
    let seed = 12345;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const value = (): unknown => [() => null, () => rnd(1000), () => 'ü€'.repeat(rnd(40)), () => ({ [`k${rnd(5)}`]: 'v'.repeat(rnd(30)) }), () => [rnd(9), 'x']][rnd(5)]!();
    const max = 600;
    let bounded = { state: {} as Record<string, unknown>, bytes: 2 };
    let exact: Record<string, unknown> = {};
    let refusals = 0;
    for (let i = 0; i < 3000; i++) {
      const patch: Record<string, unknown> = {};
      for (let k = rnd(4); k >= 0; k--) patch[`p${rnd(12)}`] = value();
      const turn = { state: rnd(50) === 0 ? { reset: 'r'.repeat(rnd(700)) } : null, patch };
      const candidate = foldTurn(copyJson(exact), turn);
      if (stateBytes(candidate) <= max) exact = candidate;
      else refusals++;
      const step = foldTurnBounded(bounded.state, bounded.bytes, turn, max);
      bounded = step;
      expect(JSON.stringify(bounded.state)).toBe(JSON.stringify(exact));
      expect(bounded.bytes).toBeGreaterThanOrEqual(stateBytes(bounded.state));
    }
    expect(refusals).toBeGreaterThan(50);
  });
});
