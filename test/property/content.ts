/**
 * Content for the property test's sessions: uniform draws for structure (fast-check's bias would make
 * every session tiny or huge), fast-check's biased arbitraries for values (edge values are welcome),
 * free-form JSON with unusual keys, RFC 7396 patches, and RFC 3339 times in every accepted spelling.
 */
import fc from 'fast-check';
import { type Json, type JsonObject, setKey } from './json.ts';

// ---------------------------------------------------------------------------------------------
// Drawing helpers: uniform numbers for the session's structure (fast-check's bias would make every
// session tiny or huge), fast-check's own biased arbitraries for content (edge values are welcome).

const UNIT = fc.noBias(fc.integer({ min: 0, max: 2 ** 30 - 1 }));
const unit = () => UNIT;

export class Draw {
  readonly #g: fc.GeneratorValue;
  constructor(g: fc.GeneratorValue) {
    this.#g = g;
  }
  u(): number {
    return this.#g(unit) / 2 ** 30;
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.u() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.u() < p;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(0, a.length - 1)]!;
  }
  weighted<T>(pairs: readonly (readonly [T, number])[]): T {
    const total = pairs.reduce((s, [, w]) => s + w, 0);
    let x = this.u() * total;
    for (const [v, w] of pairs) if ((x -= w) < 0) return v;
    return pairs[pairs.length - 1]![0];
  }
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }
  arb<T>(a: fc.Arbitrary<T>): T {
    return this.#g(() => a);
  }
}

// ---------------------------------------------------------------------------------------------
// Free-form JSON: states, patches, meta, move data, settings.

export const KEYS = [
  'a', 'b', 'hp', 'score', 'board', 'players', 'round', 'x', 'y',
  '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'toJSON', 'valueOf',
  'a.b', 'x.y.z', '$ref', 'ключ', '分数', '🎲', 'emoji 😀 key', '', ' ', '0', '10', 'null', 'true', '-1',
] as const;
const STRINGS = ['', 'x', 'ü', '🤔', 'multi\nline', 'quote " and \\ backslash', '\u2028\u2029', 'null', '__proto__', 'ش', '𝄞 clef', 'tab\tend', '<b>', "it's"];
const DOUBLES = [0.5, -2.25, 1e15 + 0.5, 1.5e-7, 123456789.125, -0.1, 2 ** 53 - 1, -(2 ** 31)];
const FC_INT = fc.integer();
const FC_DOUBLE = fc.double({ noNaN: true, min: -(2 ** 53 - 1), max: 2 ** 53 - 1 });
const FC_STRING = fc.string({ unit: 'grapheme', maxLength: 10 });

function scalar(d: Draw): Json {
  switch (d.weighted([['small', 30], ['int', 8], ['double', 8], ['fixed', 5], ['str', 16], ['fcstr', 8], ['bool', 10], ['null', 8]] as const)) {
    case 'small':
      return d.int(-20, 100);
    case 'int':
      return d.arb(FC_INT);
    case 'double':
      return d.arb(FC_DOUBLE);
    case 'fixed':
      return d.pick(DOUBLES);
    case 'str':
      return d.pick(STRINGS);
    case 'fcstr':
      return d.arb(FC_STRING).replaceAll('\u0000', '\u0001');
    case 'bool':
      return d.chance(0.5);
    case 'null':
      return null;
  }
}

export function jsonValue(d: Draw, depth = 0): Json {
  if (depth >= 3 || d.chance(0.6)) return scalar(d);
  return d.chance(0.55) ? jsonObject(d, depth + 1) : jsonArray(d, depth + 1);
}

export function jsonArray(d: Draw, depth = 0): Json[] {
  return Array.from({ length: d.int(0, 4) }, () => (d.chance(0.15) ? null : jsonValue(d, depth)));
}

export function jsonObject(d: Draw, depth = 0, keys: readonly string[] = KEYS, size: [number, number] = [0, 4]): JsonObject {
  const o: JsonObject = {};
  const n = d.int(size[0], size[1]);
  for (let i = 0; i < n; i++) setKey(o, d.pick(keys), jsonValue(d, depth));
  return o;
}

/** An RFC 7396 patch: deletions (null), nested patches (whose nulls delete deeper), arrays, scalars. */
export function jsonPatch(d: Draw, existing: readonly string[], depth = 0): JsonObject {
  const o: JsonObject = {};
  const n = d.int(1, 4);
  for (let i = 0; i < n; i++) {
    const k = existing.length && d.chance(0.5) ? d.pick(existing) : d.pick(KEYS);
    const kind = d.weighted([['delete', 25], ['nested', depth < 2 ? 20 : 0], ['array', 10], ['value', 45]] as const);
    setKey(o, k, kind === 'delete' ? null : kind === 'nested' ? jsonPatch(d, [], depth + 1) : kind === 'array' ? jsonArray(d, depth + 1) : jsonValue(d, depth + 1));
  }
  return o;
}

export const meta = (d: Draw, p: number): JsonObject | undefined => (d.chance(p) ? jsonObject(d, 1) : undefined);

// ---------------------------------------------------------------------------------------------
// Times.

const OFFSETS = [['+02:00', 120], ['-05:30', -330], ['+14:00', 840], ['-12:00', -720], ['+00:00', 0]] as const;
const two = (n: number) => String(n).padStart(2, '0');

/**
 * An RFC 3339 text for an instant, in one of the accepted spellings, and the instant PostgreSQL keeps
 * (microseconds; a 9-digit fraction is rounded to microseconds, never at exactly half).
 */
export function formatAt(d: Draw, us: number): { text: string; us: number } {
  const fmt = d.weighted([['ms', 45], ['s', 10], ['us', 10], ['ns', 5], ['offset', 15], ['lower', 5], ['space', 5], ['tenth', 5]] as const);
  const digits = fmt === 's' ? 0 : fmt === 'tenth' ? 1 : fmt === 'us' ? 6 : fmt === 'ns' ? 6 : 3;
  const unitUs = 10 ** (6 - digits);
  let kept = Math.floor(us / unitUs) * unitUs;
  const [offText, offMin] = fmt === 'offset' ? d.pick(OFFSETS) : ['Z', 0];
  const local = new Date(Math.floor(kept / 1e6) * 1000 + offMin * 60_000);
  const fracUs = kept - Math.floor(kept / 1e6) * 1e6;
  let frac = digits ? `.${String(fracUs).padStart(6, '0').slice(0, digits)}` : '';
  if (fmt === 'ns') {
    const nanos = d.chance(0.5) ? d.int(0, 499) : d.int(501, 999);
    frac += String(nanos).padStart(3, '0');
    if (nanos > 500) kept += 1;
  }
  const date = `${local.getUTCFullYear()}-${two(local.getUTCMonth() + 1)}-${two(local.getUTCDate())}`;
  const time = `${two(local.getUTCHours())}:${two(local.getUTCMinutes())}:${two(local.getUTCSeconds())}`;
  const sep = fmt === 'lower' ? 't' : fmt === 'space' ? ' ' : 'T';
  const zone = fmt === 'lower' ? 'z' : offText;
  return { text: `${date}${sep}${time}${frac}${zone}`, us: kept };
}
