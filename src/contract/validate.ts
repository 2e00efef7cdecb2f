/**
 * Validation of untrusted events, shared by the producer SDK (before enqueueing) and workers (again,
 * since anything can push a BullMQ job). Returns a normalised event or throws a ContractError that
 * names the field.
 */
import { ContractError } from '../errors.ts';
import type { CustomTypeCheck } from './custom-check.ts';
import { EVENT_TYPES, isCustomType, type AnyEventType, type EventType, type Family, type ValidEvent } from './events.ts';
import { idReason, isId, isPlainObject, isTimestamp, stringProblem } from './fields.ts';
import { DEFAULT_LIMITS, type Limits } from './limits.ts';
import { setOwn } from './merge-patch.ts';

/** Hot path: a plain function, so validating an event allocates no closures. */
function bad(raw: Record<string, unknown>, field: string, reason: string): ContractError {
  return new ContractError(field, reason, raw);
}

/** 8-4-4-4-12 hex digits; a char-code loop is several times faster than the equivalent RegExp. */
export function isUuid(v: unknown): v is string {
  if (typeof v !== 'string' || v.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = v.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return false;
    } else if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70))) return false;
  }
  return true;
}
const ENVELOPE_KEYS = new Set(['v', 'id', 'type', 'sessionId', 'seq', 'at', 'player', 'data']);

/** One of the contract's own types (not a game-defined one). */
export function isEventType(t: unknown): t is EventType {
  return typeof t === 'string' && Object.hasOwn(EVENT_TYPES, t);
}

/** Events of one burst usually share a timestamp: remember the last one that parsed. */
let lastGoodAt: unknown = null;

export interface ValidateOptions {
  limits?: Limits;
  /** Return a deep copy of `data`, so later mutation by the caller cannot change a queued event (SDK). */
  clone?: boolean;
  /** Accept a session event without `seq`; the SDK assigns it at flush. */
  seqAssignedLater?: boolean;
  /**
   * Checks game-defined (`x.<game>.<name>`) events against their registered schemas. Without it they
   * are checked as free-form JSON only (the worker checks the schemas again).
   */
  customTypes?: CustomTypeCheck;
}

/** What a game-defined type has of a contract type's definition: free-form data, in a session. */
const CUSTOM_DEF = { family: 'custom' as Family, data: {} };

/** A validated event plus its measured size. */
export interface CheckedEvent extends ValidEvent {
  bytes: number;
}

/**
 * Checks one event against the v1 contract and the limits.
 * @throws ContractError naming the offending field.
 */
export function validateEvent(raw: unknown, opts: ValidateOptions = {}): CheckedEvent {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  if (!isPlainObject(raw)) throw new ContractError('event', 'must be a JSON object');

  // The field names the key as sent, cut short (a key may be megabytes long) and quoted when empty.
  for (const k in raw) if (!ENVELOPE_KEYS.has(k)) throw bad(raw, k === '' ? '""' : k.length > 64 ? `${k.slice(0, 64)}…` : k, 'is not an envelope field (put it in data)');
  if (raw.v !== undefined && raw.v !== 1) throw bad(raw, 'v', 'must be 1 (this worker speaks contract v1)');
  if (!isUuid(raw.id)) throw bad(raw, 'id', 'must be a UUID (v7 recommended)');
  const custom = !isEventType(raw.type);
  if (custom && !isCustomType(raw.type))
    throw bad(raw, 'type', `must be one of ${Object.keys(EVENT_TYPES).join(', ')}, or a game's own x.<game>.<name> (lower-case letters, digits, _ and -)`);
  const type = raw.type as AnyEventType;
  const def: { family: Family; data: object; needsSession?: boolean; rule?: (d: Record<string, unknown>) => [string, string] | null } = custom
    ? CUSTOM_DEF
    : EVENT_TYPES[raw.type as EventType];
  if ((typeof raw.at !== 'string' || raw.at !== lastGoodAt) && !isTimestamp(raw.at)) throw bad(raw, 'at', 'must be an RFC 3339 timestamp with a time zone');

  const at = raw.at as string;
  lastGoodAt = at;
  const needsSession = !('needsSession' in def) || def.needsSession !== false;
  let sessionId: string | null = null;
  let seq: number | null = null;
  if (raw.sessionId !== undefined && raw.sessionId !== null) {
    if (!isId(raw.sessionId)) throw bad(raw, 'sessionId', idReason(raw.sessionId));
    sessionId = String(raw.sessionId);
    // Join-queue events belong to a tenant, not to the session's sequence: their seq is optional.
    if ((raw.seq === undefined || raw.seq === null) && (opts.seqAssignedLater || !needsSession)) seq = null;
    else if (typeof raw.seq !== 'number' || !Number.isSafeInteger(raw.seq) || raw.seq < 1)
      throw bad(raw, 'seq', 'must be an integer >= 1 (per-session sequence number)');
    else seq = raw.seq;
  } else if (needsSession) {
    throw bad(raw, 'sessionId', 'is required');
  } else if (raw.seq !== undefined && raw.seq !== null) {
    throw bad(raw, 'seq', 'is only allowed together with sessionId');
  }

  let player: string | null = null;
  if (raw.player !== undefined && raw.player !== null) {
    if (!isId(raw.player)) throw bad(raw, 'player', idReason(raw.player));
    player = String(raw.player);
  }

  const data = raw.data;
  if (!isPlainObject(data)) throw bad(raw, 'data', 'must be a JSON object');
  const shape = def.data as Record<string, { optional: boolean; ownLength?: boolean; check(v: unknown): string | null; normalize?(v: unknown): unknown }>;
  if (!custom) for (const k in data) if (!Object.hasOwn(shape, k)) throw bad(raw, `data.${k.length > 64 ? `${k.slice(0, 64)}…` : k}`, `is not a field of ${type} (use meta for game-specific data)`);
  const clone = opts.clone ?? false;
  // Values stored in another form than sent (an alias, an integer team); the caller's object is never changed when cloning.
  let normalized: Record<string, unknown> | null = null;
  for (const k in shape) {
    const spec = shape[k];
    const v = data[k];
    if (v === undefined) {
      if (!spec.optional) throw bad(raw, `data.${k}`, 'is required');
      continue;
    }
    const reason = spec.check(v);
    if (reason) throw bad(raw, `data.${k}`, reason);
    if (spec.normalize) {
      const n = spec.normalize(v);
      if (n !== v) {
        if (clone) (normalized ??= {})[k] = n;
        else data[k] = n;
      }
    }
  }
  if ('rule' in def && def.rule) {
    const broken = def.rule(data);
    if (broken) throw bad(raw, broken[0], broken[1]);
  }
  if ((def.family === 'participant' || def.family === 'vote' || def.family === 'queue') && player === null) throw bad(raw, 'player', `is required for ${type}`);
  if (def.family === 'doc' && data.owner === 'player' && player === null) throw bad(raw, 'player', 'is required for a document owned by a player (owner: "player")');

  // One walk over the data for size, depth and string hygiene (Postgres jsonb refuses \u0000 and
  // lone surrogates; an unbounded payload must not reach the database), copying it when asked.
  const w: Walk = {
    limits,
    clone,
    raw,
    bytes: 64 + raw.id.length + type.length + (sessionId?.length ?? 0) + (player?.length ?? 0) + at.length,
  };
  // A document may be larger than an event: a doc.put is allowed the document limit on top.
  const maxBytes = def.family === 'doc' ? limits.maxEventBytes + limits.maxDocumentBytes : limits.maxEventBytes;
  if (maxBytes !== limits.maxEventBytes) w.limits = { ...limits, maxEventBytes: maxBytes };
  // Top-level typed string fields carry their own length limits (an LLM prompt may exceed
  // maxStringLength); everything else, free-form JSON included, is held to the walk's limits.
  const checked: Record<string, unknown> = w.clone ? {} : data;
  w.bytes += 2;
  for (const k in data) {
    const v = normalized !== null && Object.hasOwn(normalized, k) ? normalized[k] : data[k];
    if (v === undefined) continue;
    if (custom) {
      // Keys of a game's data are checked like any free-form key.
      if (k.length > limits.maxKeyLength) throw bad(raw, `data.${k.slice(0, 40)}…`, `key is longer than ${limits.maxKeyLength} characters`);
      const reason = stringProblem(k);
      if (reason) throw bad(raw, `data.${k.slice(0, 40)}`, `key ${reason}`);
    }
    const before = w.bytes;
    const c = walk(v, 3, w, `data.${k}`, !custom && shape[k].ownLength === true);
    if (k === 'value' && def.family === 'doc' && w.bytes - before > limits.maxDocumentBytes)
      throw bad(raw, 'data.value', `is ${w.bytes - before} bytes, more than the ${limits.maxDocumentBytes}-byte document limit`);
    if (w.clone) setOwn(checked, k, c);
    w.bytes += k.length + 4;
  }
  if (w.bytes > maxBytes) throw bad(raw, 'event', `is ${w.bytes} bytes, more than the ${maxBytes}-byte limit`);
  if (custom && opts.customTypes) {
    const problem = opts.customTypes.check(type, checked);
    if (problem) throw bad(raw, problem.field, problem.reason);
  }

  return { id: raw.id.toLowerCase(), type, family: def.family, sessionId, seq, at, player, data: checked, bytes: w.bytes };
}

interface Walk {
  limits: Limits;
  clone: boolean;
  /** The event being checked, for error context. */
  raw: Record<string, unknown>;
  /** Running JSON size in bytes. */
  bytes: number;
}

/** Checks `v` (throwing a ContractError at the first problem), adds its size, returns it or its copy. */
function walk(v: unknown, depth: number, w: Walk, path: string, longStringsOk: boolean): unknown {
  if (w.bytes > w.limits.maxEventBytes) throw bad(w.raw, 'event', `is larger than the ${w.limits.maxEventBytes}-byte limit`);
  switch (typeof v) {
    case 'string': {
      if (!longStringsOk && v.length > w.limits.maxStringLength) throw bad(w.raw, path, `is a string longer than ${w.limits.maxStringLength} characters`);
      const reason = stringProblem(v);
      if (reason) throw bad(w.raw, path, reason);
      w.bytes += Buffer.byteLength(v) + 2;
      return v;
    }
    case 'number':
      if (!Number.isFinite(v)) throw bad(w.raw, path, 'must be a finite number');
      // Beyond 2^53 a JSON parser (JavaScript's, the worker's) has already rounded the number: storing it
      // would silently store a different one. Refuse it by name; such ids belong in strings.
      if (v > Number.MAX_SAFE_INTEGER || v < -Number.MAX_SAFE_INTEGER)
        throw bad(w.raw, path, 'is a number beyond ±(2^53−1), which JSON parsers round; send it as a string');
      w.bytes += 8;
      return v;
    case 'boolean':
      w.bytes += 5;
      return v;
    case 'object': {
      if (v === null) {
        w.bytes += 4;
        return v;
      }
      if (depth > w.limits.maxDepth) throw bad(w.raw, path, `nests deeper than ${w.limits.maxDepth} levels`);
      if (Array.isArray(v)) {
        const out: unknown[] | null = w.clone ? new Array(v.length) : null;
        for (let i = 0; i < v.length; i++) {
          const c = walk(v[i], depth + 1, w, `${path}[${i}]`, false);
          if (out) out[i] = c === undefined ? null : c;
          w.bytes += 1;
        }
        w.bytes += 2;
        return out ?? v;
      }
      if (!isPlainObject(v)) throw bad(w.raw, path, `is not plain JSON (${(v as object).constructor?.name ?? 'object'})`);
      const out: Record<string, unknown> | null = w.clone ? {} : null;
      for (const k in v) {
        const child = v[k];
        if (child === undefined) continue;
        if (k.length > w.limits.maxKeyLength) throw bad(w.raw, `${path}.${k.slice(0, 40)}…`, `key is longer than ${w.limits.maxKeyLength} characters`);
        const reason = stringProblem(k);
        if (reason) throw bad(w.raw, `${path}.${k.slice(0, 40)}`, `key ${reason}`);
        const c = walk(child, depth + 1, w, `${path}.${k}`, false);
        if (out) setOwn(out, k, c);
        w.bytes += Buffer.byteLength(k) + 4;
      }
      w.bytes += 2;
      return out ?? v;
    }
    case 'undefined':
      return undefined;
    default:
      throw bad(w.raw, path, `is not JSON (${typeof v})`);
  }
}
