/**
 * fast-check arbitraries for the fuzzers (test/property/fuzz-*.test.ts): JSON and non-JSON values
 * with poison mixed in (NUL, lone surrogates, `__proto__` keys, numbers beyond 2^53, long strings,
 * deep nesting), and valid events of every type mutated at one place.
 *
 * Runs: FUZZ_RUNS multiplies each fuzzer's CI run count (FUZZ_RUNS=50 for a long run); FUZZ_SEED
 * fixes the seed (CI draws a fresh one; a failure prints the seed and path to replay it).
 */
import fc from 'fast-check';
import { allTypesEvents } from '../helpers/examples.ts';

/** numRuns for a fuzzer whose CI run is `ci` runs. */
export function fuzzRuns(ci: number): number {
  const factor = Number(process.env.FUZZ_RUNS ?? 1);
  return Math.max(1, Math.round(ci * (Number.isFinite(factor) && factor > 0 ? factor : 1)));
}

/** fast-check parameters: the run count and, with FUZZ_SEED, a fixed seed. */
export function fuzzParams(ci: number): fc.Parameters<unknown> {
  const seed = process.env.FUZZ_SEED;
  return { numRuns: fuzzRuns(ci), ...(seed ? { seed: Number(seed) } : {}) };
}

export const POISON_STRINGS = ['\u0000', 'a\u0000b', '\ud800', 'x\udc00y', '\udbff', '__proto__', 'constructor', 'prototype', 'x'.repeat(17_000), '', '😀', '\u2028', '%00', '../..'];
export const POISON_NUMBERS = [2 ** 53, 2 ** 53 + 2, -(2 ** 53) - 2, 1e308, -0, 0.5, Number.MAX_SAFE_INTEGER, 2 ** 31, -1];

export const poisonString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string() },
  { weight: 2, arbitrary: fc.string({ unit: 'binary' }) },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom('\u0000', '\ud800', '\udc00', 'a', '\\', '"') }) },
  { weight: 2, arbitrary: fc.constantFrom(...POISON_STRINGS) },
);

export const poisonNumber: fc.Arbitrary<number> = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(...POISON_NUMBERS));

/** An object whose keys may be `__proto__` and friends, as JSON.parse makes them: own properties. */
function objectOf(entries: [string, unknown][]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of entries) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  return o;
}

/** JSON values (serialisable as they are) with poison strings, keys and numbers. */
export const poisonJson: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    poisonNumber,
    poisonString,
    fc.array(tie('v'), { maxLength: 5 }),
    fc.array(fc.tuple(poisonString, tie('v')), { maxLength: 5 }).map(objectOf),
  ),
})).v;

/** `v` nested `depth` levels down in objects or arrays. */
export const deepJson: fc.Arbitrary<unknown> = fc.tuple(fc.integer({ min: 1, max: 3000 }), fc.boolean(), poisonJson).map(([depth, arrays, leaf]) => {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = arrays ? [v] : { a: v };
  return v;
});

/** Anything a JavaScript caller could hand the SDK: JSON, deep JSON, and what JSON cannot hold. */
export const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: poisonJson },
  { weight: 1, arbitrary: deepJson },
  { weight: 1, arbitrary: fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withNullPrototype: true, withBoxedValues: true, withSparseArray: true }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(undefined, NaN, Infinity, () => 1, Symbol('s'), 10n, new Date(0), [undefined]) },
);

/** A valid event of a random type (wire form, fresh id), for session `sessionId`. */
export function validEvent(sessionId: string): fc.Arbitrary<Record<string, any>> {
  return fc.nat({ max: 16 }).map((i) => {
    const all = allTypesEvents(sessionId);
    return all[i % all.length] as Record<string, any>;
  });
}

/** A path into an event: an envelope key, or a key of its data (new or existing). */
const pathArb = fc.oneof(
  fc.constantFrom('id', 'type', 'sessionId', 'seq', 'at', 'player', 'data', 'v', '__proto__', 'extra'),
  fc.constantFrom('text', 'meta', 'state', 'value', 'winners', 'scores', 'team', 'turn', 'tenant', 'collection', 'key', 'settings', '__proto__', 'constructor').map((k) => `data.${k}`),
);

export const DELETE = Symbol('delete');

/** One mutation: set a path to a value (JSON, deep or not JSON at all), or delete it. */
export const mutation = fc.tuple(pathArb, fc.oneof({ weight: 5, arbitrary: anyValue }, { weight: 1, arbitrary: fc.constant(DELETE) }));

export function mutate(ev: Record<string, any>, [path, value]: [string, unknown]): Record<string, any> {
  const out = { ...ev, data: ev.data && typeof ev.data === 'object' ? { ...ev.data } : ev.data };
  const [head, key] = path.split('.') as [string, string | undefined];
  const target: Record<string, any> = key === undefined ? out : out.data && typeof out.data === 'object' ? out.data : (out.data = {});
  const k = key ?? head;
  if (value === DELETE) delete target[k];
  else Object.defineProperty(target, k, { value, enumerable: true, writable: true, configurable: true });
  return out;
}

/** A valid event mutated at one to three places. */
export function mutatedEvent(sessionId: string): fc.Arbitrary<Record<string, any>> {
  return fc.tuple(validEvent(sessionId), fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([ev, ms]) => ms.reduce(mutate, ev));
}
