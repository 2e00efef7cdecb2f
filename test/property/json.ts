/**
 * JSON helpers shared by the property test's generator, model and harness: objects whose keys are
 * all ordinary (`__proto__` and `constructor` included), an RFC 7396 merge patch written from the RFC,
 * canonical text for comparisons (RFC 8785, the `canonicalize` package) and microsecond timestamps.
 * Nothing here comes from src/: the property test must not share code with what it checks.
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

export type Json = null | boolean | number | string | Json[] | JsonObject;
export type JsonObject = { [k: string]: Json };

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Sets an own, enumerable key: `o.__proto__ = v` would change the prototype instead. */
export function setKey(o: JsonObject, k: string, v: Json): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

export function hasKey(o: JsonObject, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, k);
}

/** A deep copy that keeps every key an own data property. */
export function cloneJson<T extends Json>(v: T): T {
  if (Array.isArray(v)) return v.map((x) => cloneJson(x)) as T;
  if (isObject(v)) {
    const o: JsonObject = {};
    for (const k of Object.keys(v)) setKey(o, k, cloneJson(v[k]));
    return o as T;
  }
  return v;
}

/**
 * RFC 7396 section 2, literally: a non-object patch replaces the target; an object patch turns a
 * non-object target into {} and then, per member, null removes the key and anything else is merged
 * recursively (so nulls nested in a new object vanish, while arrays are taken whole, nulls and all).
 */
export function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return cloneJson(patch);
  const out: JsonObject = isObject(target) ? cloneJson(target) : {};
  for (const k of Object.keys(patch)) {
    const v = patch[k];
    if (v === null) delete out[k];
    else setKey(out, k, mergePatch(hasKey(out, k) ? out[k] : undefined, v));
  }
  return out;
}

/** RFC 8785 text: the only way the property test compares JSON (toEqual mishandles `__proto__`). */
export function canon(v: unknown): string {
  return canonicalize(v) ?? 'undefined';
}

export function sameJson(a: unknown, b: unknown): boolean {
  return canon(a) === canon(b);
}

/** SHA-256 (hex) of the canonical JSON, as README "Snapshots" describes the snapshot hash. */
export function sha256Canon(v: unknown): string {
  return createHash('sha256').update(canon(v)).digest('hex');
}

/** Microseconds since the epoch → `2030-01-31T22:00:00.123456Z`. */
export function usToIso(us: number | null): string | null {
  if (us === null) return null;
  const ms = Math.floor(us / 1000);
  const micros = us - ms * 1000;
  return new Date(ms).toISOString().replace('Z', `${String(micros).padStart(3, '0')}Z`);
}

/**
 * PostgreSQL's JSON rendering of a timestamptz (`2030-01-31T22:00:00.123456+00:00`, fraction and
 * offset minutes optional) → microseconds since the epoch.
 */
export function pgTimeToUs(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(Z|[+-]\d{2}(?::?\d{2})?)$/.exec(String(v));
  if (!m) throw new Error(`not a PostgreSQL timestamp: ${String(v)}`);
  const [, y, mo, d, h, mi, s, frac = '', off] = m;
  let us = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s) * 1000 + Number(frac.padEnd(6, '0'));
  if (off !== 'Z') {
    const sign = off[0] === '-' ? -1 : 1;
    const digits = off.slice(1).replace(':', '');
    us -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0)) * 60_000_000;
  }
  return us;
}
