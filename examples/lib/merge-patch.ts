/**
 * RFC 7396 JSON merge patches on the game server's side: applying the ones recovery hands back, and
 * computing the smallest one that turns the state game-persist holds into the game's next state (what
 * a `turn.result` with `patch` carries).
 */
import { GameStateError } from './errors.ts';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** RFC 7396: `null` deletes a key, objects merge, anything else (arrays included) replaces. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v) as Json;
  }
  return out;
}

export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (!isObject(a) || !isObject(b)) return false;
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
}

/**
 * The merge patch from `from` to `to`. A merge patch cannot set a value to null (null means delete), so
 * a game state holding a null is refused here rather than silently persisted as something else.
 */
export function mergeDiff(from: Record<string, unknown>, to: Record<string, unknown>, path = 'state'): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const k of Object.keys(from)) if (!Object.hasOwn(to, k)) patch[k] = null;
  for (const [k, v] of Object.entries(to)) {
    if (v === null) throw new GameStateError(`${path}.${k} is null: a merge patch cannot carry it (leave the key out instead)`);
    const old = from[k];
    if (isObject(old) && isObject(v)) {
      const sub = mergeDiff(old, v, `${path}.${k}`);
      if (Object.keys(sub).length) patch[k] = sub;
    } else if (!jsonEqual(old, v)) {
      patch[k] = v;
    }
  }
  return patch;
}
