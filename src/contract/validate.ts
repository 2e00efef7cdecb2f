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
  return new ContractError(fieldName(field), reason, raw);
}

/** Longest field name a refusal carries (a dead letter's `field` column keeps as much). */
const MAX_FIELD_NAME = 200;

/**
 * A field path as every way in reports it: a key's \u0000 and lone surrogates written as escapes (a
 * dead letter's text column could not hold them, and a log line should not), cut to MAX_FIELD_NAME.
 * Only refusals pay for it.
 */
function fieldName(f: string): string {
  if (f.includes('\u0000') || !f.isWellFormed()) {
    let out = '';
    for (let i = 0; i < f.length; i++) {
      const c = f.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff && (f.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
        out += f.slice(i, i + 2);
        i++;
      } else if (c === 0 || (c >= 0xd800 && c <= 0xdfff)) out += `\\u${c.toString(16).padStart(4, '0')}`;
      else out += f[i];
    }
    f = out;
  }
  if (f.length <= MAX_FIELD_NAME) return f;
  // Cut before the ellipsis, never between the two halves of a surrogate pair.
  const end = (f.charCodeAt(MAX_FIELD_NAME - 2) & 0xfc00) === 0xd800 ? MAX_FIELD_NAME - 2 : MAX_FIELD_NAME - 1;
  return `${f.slice(0, end)}…`;
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

/**
 * What a publishing path fills in that the event left out (absent or null): its id and time. The SDK's
 * `emit` and the HTTP API have one (a fresh UUIDv7, now); a worker has none, so a raw job must carry both.
 */
export interface EnvelopeDefaults {
  id(): string;
  /** An RFC 3339 timestamp. */
  at(): string;
}

export interface ValidateOptions {
  limits?: Limits;
  /**
   * Fill an absent or null `id` and `at`, and take a JavaScript `Date` as `at` (SDK only). The event is
   * otherwise checked as sent, every key of it: the same verdict as a worker's on the same event.
   */
  defaults?: EnvelopeDefaults;
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
  const defaults = opts.defaults;
  // Read into locals, never written back: the caller's object is not changed (and no object is made).
  let id = raw.id;
  if (defaults && (id === undefined || id === null)) id = defaults.id();
  if (!isUuid(id)) throw bad(raw, 'id', 'must be a UUID (v7 recommended)');
  const custom = !isEventType(raw.type);
  if (custom && !isCustomType(raw.type))
    throw bad(raw, 'type', `must be one of ${Object.keys(EVENT_TYPES).join(', ')}, or a game's own x.<game>.<name> (lower-case letters, digits, _ and -)`);
  const type = raw.type as AnyEventType;
  const def: { family: Family; data: object; needsSession?: boolean; rule?: (d: Record<string, unknown>) => [string, string] | null } = custom
    ? CUSTOM_DEF
    : EVENT_TYPES[raw.type as EventType];
  let rawAt = raw.at;
  if (defaults) {
    if (rawAt === undefined || rawAt === null) rawAt = defaults.at();
    else if (rawAt instanceof Date && !Number.isNaN(rawAt.getTime())) rawAt = rawAt.toISOString();
  }
  if ((typeof rawAt !== 'string' || rawAt !== lastGoodAt) && !isTimestamp(rawAt)) throw bad(raw, 'at', 'must be an RFC 3339 timestamp with a time zone');

  const at = rawAt as string;
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
  const shape = def.data as Record<string, { optional: boolean; ownLength?: boolean; longText?: boolean; check(v: unknown): string | null; normalize?(v: unknown): unknown }>;
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
    bytes: 64 + id.length + type.length + (sessionId?.length ?? 0) + (player?.length ?? 0) + at.length,
  };
  // A document may be larger than an event: a doc.put is allowed the document limit on top.
  const maxBytes = def.family === 'doc' ? limits.maxEventBytes + limits.maxDocumentBytes : limits.maxEventBytes;
  if (maxBytes !== limits.maxEventBytes) w.limits = { ...limits, maxEventBytes: maxBytes };
  // Top-level typed string fields carry their own length limits, and an agent.log's texts a byte
  // limit of their own; everything else, free-form JSON included, is held to the walk's limits.
  const checked: Record<string, unknown> = w.clone ? {} : data;
  w.bytes += 2;
  // Bytes of an agent.log's long texts: counted in the event's measured size, not held to its limit.
  let texts = 0;
  for (const k in data) {
    const v = normalized !== null && Object.hasOwn(normalized, k) ? normalized[k] : data[k];
    if (v === undefined) continue;
    if (!custom && shape[k].longText === true) {
      // A prompt, response or thinking text (a string: its field checked that): its own byte limit.
      const text = v as string;
      const reason = stringProblem(text);
      if (reason) throw bad(raw, `data.${k}`, reason);
      const n = Buffer.byteLength(text);
      if (n > limits.maxAgentTextBytes) throw bad(raw, `data.${k}`, `is ${n} bytes of UTF-8, more than the ${limits.maxAgentTextBytes}-byte limit of an agent text`);
      texts += n + k.length + 6;
      if (w.clone) setOwn(checked, k, text);
      continue;
    }
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

  return { id: id.toLowerCase(), type, family: def.family, sessionId, seq, at, player, data: checked, bytes: w.bytes + texts };
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
