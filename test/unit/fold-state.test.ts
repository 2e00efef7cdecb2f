import { describe, expect, it } from 'vitest';
import { foldTurn } from '../../src/workers/fold-state.ts';
import { contiguousUpTo } from '../../src/workers/sequencer.ts';

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
});
