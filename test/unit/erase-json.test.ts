/**
 * The rules erase-player finds an id by inside values (src/ops/erase-json.ts): whole strings and
 * `/`-separated segments, object keys, integer ids of 5+ digits as JSON numbers; nothing else changes,
 * and an unchanged value is the same object (the rewrite skips it).
 */
import { describe, expect, it } from 'vitest';
import { jsonNeedle, numberPattern, rekey, rekeyJson, rekeyString } from '../../src/ops/erase-json.ts';

const r = rekey('p-anna', 'erased-1');

describe('rekeyString', () => {
  it('replaces the whole string and each path segment, never a longer word', () => {
    expect(rekeyString('p-anna', r)).toBe('erased-1');
    expect(rekeyString('characters/p-anna', r)).toBe('characters/erased-1');
    expect(rekeyString('p-anna/inventory', r)).toBe('erased-1/inventory');
    expect(rekeyString('a/p-anna/b/p-anna', r)).toBe('a/erased-1/b/erased-1');
    for (const s of ['p-annabel', 'xp-anna', 'p-anna.png', 'I am p-anna', 'p-ann/a']) expect(rekeyString(s, r)).toBe(s);
  });

  it('handles ids that contain a slash', () => {
    const slash = rekey('a/b', 'E');
    expect(rekeyString('a/b', slash)).toBe('E');
    expect(rekeyString('x/a/b/y', slash)).toBe('x/E/y');
    expect(rekeyString('xa/b', slash)).toBe('xa/b');
  });
});

describe('rekeyJson', () => {
  it('re-keys strings, object keys (__proto__ staying a key) and integer ids of 5+ digits as numbers', () => {
    const n = rekey('424242', 'erased-2');
    const v = JSON.parse('{"winners":["424242",424242,4242420,42424.2],"scores":{"424242":7},"__proto__":{"seat":424242},"hp":3}');
    const out = rekeyJson(v, n) as Record<string, unknown>;
    expect(JSON.stringify(out)).toBe('{"winners":["erased-2","erased-2",4242420,42424.2],"scores":{"erased-2":7},"__proto__":{"seat":"erased-2"},"hp":3}');
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
  });

  it('leaves short integer ids as numbers, and returns the same object when nothing matches', () => {
    const small = rekey('250', 'erased-3');
    expect(small.number).toBeNull();
    expect(rekeyJson({ score: 250, who: '250' }, small)).toEqual({ score: 250, who: 'erased-3' });
    const v = { a: [1, { b: 'p-annabel' }] };
    expect(rekeyJson(v, r)).toBe(v);
  });

  it('gives the SQL its needles: the escaped id, and a number pattern only for integer ids', () => {
    expect(jsonNeedle(rekey('a"b', 'E'))).toBe('a\\"b');
    expect(numberPattern(r)).toBeNull();
    // In JavaScript's dialect (PostgreSQL's differs only in how it writes "not a ]").
    const short = new RegExp(numberPattern(rekey('42', 'E'), 'js')!);
    for (const t of ['{"player":42,"x":1}', '{"data":{"target":42}}', '{"createdBy":42}', '{"winners":[7,42]}', '{"winners":[42]}']) expect([t, short.test(t)]).toEqual([t, true]);
    for (const t of ['{"xp":42}', '{"player":420}', '{"player":"42x"}', '{"score":[42]}', '{"winners":[142]}']) expect([t, short.test(t)]).toEqual([t, false]);
    const long = new RegExp(numberPattern(rekey('7342981', 'E'), 'js')!);
    for (const t of ['{"seat":7342981}', '[7342981,1]', '{"player":7342981}']) expect([t, long.test(t)]).toEqual([t, true]);
    for (const t of ['{"seat":73429810}', '{"seat":7342981.5}', '{"s":"x7342981"}']) expect([t, long.test(t)]).toEqual([t, false]);
  });
});
