/**
 * RFC 7396 JSON Merge Patch. Every key is an ordinary key: `__proto__`, `constructor` and `prototype`
 * are merged like any other (the json-merge-patch package stopped at them, so the server's fold and the
 * game's own fold disagreed). Keys are written as own data properties, never through the prototype
 * chain, so a `__proto__` key can neither vanish nor change an object's prototype.
 */

type JsonObject = Record<string, unknown>;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Sets an own, enumerable data property (plain assignment would invoke the `__proto__` setter). */
export function setOwn(o: JsonObject, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
  else o[key] = value;
}

/**
 * Applies `patch` to `target` and returns the result. Objects of `target` are updated in place (the
 * caller owns them: the fold starts from its own copy); objects of `patch` are copied, never shared,
 * so later patches cannot change the event they came from. A patch that is not an object replaces the
 * target (arrays included), as the RFC says.
 */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: JsonObject = isObject(target) ? target : {};
  for (const key of Object.keys(patch)) {
    const v = patch[key];
    if (v === null) {
      if (Object.hasOwn(out, key)) delete out[key];
    } else setOwn(out, key, mergePatch(Object.hasOwn(out, key) ? out[key] : undefined, v));
  }
  return out;
}

/** A deep copy of a JSON value (structuredClone keeps own `__proto__` keys as data). */
export function copyJson<T>(v: T): T {
  return structuredClone(v);
}
