/**
 * Validation of untrusted events, shared by the producer SDK (before enqueueing) and workers (again,
 * since anything can push a BullMQ job). Returns a normalised event or throws a ContractError that
 * names the field.
 */
import { ContractError } from '../errors.ts';
import { EVENT_TYPES, type EventType, type ValidEvent } from './events.ts';
import { isId, isPlainObject, isTimestamp } from './fields.ts';
import { DEFAULT_LIMITS, type Limits } from './limits.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ENVELOPE_KEYS = new Set(['v', 'id', 'type', 'sessionId', 'seq', 'at', 'player', 'data']);

export function isEventType(t: unknown): t is EventType {
  return typeof t === 'string' && Object.hasOwn(EVENT_TYPES, t);
}

/**
 * Checks one event against the v1 contract and the limits.
 * @throws ContractError naming the offending field.
 */
export function validateEvent(raw: unknown, limits: Limits = DEFAULT_LIMITS): ValidEvent {
  if (!isPlainObject(raw)) throw new ContractError('event', 'must be a JSON object');
  const ctx = { type: raw.type, id: raw.id };
  const bad = (fieldName: string, reason: string) => new ContractError(fieldName, reason, ctx);

  for (const k in raw) if (!ENVELOPE_KEYS.has(k)) throw bad(k, 'is not an envelope field (put it in data)');
  if (raw.v !== undefined && raw.v !== 1) throw bad('v', 'must be 1 (this worker speaks contract v1)');
  if (typeof raw.id !== 'string' || !UUID.test(raw.id)) throw bad('id', 'must be a UUID (v7 recommended)');
  if (!isEventType(raw.type)) throw bad('type', `must be one of ${Object.keys(EVENT_TYPES).join(', ')}`);
  const def: (typeof EVENT_TYPES)[EventType] = EVENT_TYPES[raw.type];
  if (!isTimestamp(raw.at)) throw bad('at', 'must be an RFC 3339 timestamp with a time zone');

  const needsSession = !('needsSession' in def) || def.needsSession !== false;
  let sessionId: string | null = null;
  let seq: number | null = null;
  if (raw.sessionId !== undefined && raw.sessionId !== null) {
    if (!isId(raw.sessionId)) throw bad('sessionId', 'must be a non-empty string of at most 128 characters (or a safe integer)');
    sessionId = String(raw.sessionId);
    if (typeof raw.seq !== 'number' || !Number.isSafeInteger(raw.seq) || raw.seq < 1)
      throw bad('seq', 'must be an integer >= 1 (per-session sequence number)');
    seq = raw.seq;
  } else if (needsSession) {
    throw bad('sessionId', 'is required');
  } else if (raw.seq !== undefined && raw.seq !== null) {
    throw bad('seq', 'is only allowed together with sessionId');
  }

  let player: string | null = null;
  if (raw.player !== undefined && raw.player !== null) {
    if (!isId(raw.player)) throw bad('player', 'must be a non-empty string of at most 128 characters (or a safe integer)');
    player = String(raw.player);
  }

  const data = raw.data;
  if (!isPlainObject(data)) throw bad('data', 'must be a JSON object');
  const shape = def.data as Record<string, { optional: boolean; check(v: unknown): string | null }>;
  for (const k in data) if (!Object.hasOwn(shape, k)) throw bad(`data.${k}`, `is not a field of ${raw.type} (use meta for game-specific data)`);
  for (const k in shape) {
    const spec = shape[k];
    const v = data[k];
    if (v === undefined) {
      if (!spec.optional) throw bad(`data.${k}`, 'is required');
      continue;
    }
    const reason = spec.check(v);
    if (reason) throw bad(`data.${k}`, reason);
  }
  if ('rule' in def && def.rule) {
    const broken = def.rule(data);
    if (broken) throw bad(broken[0], broken[1]);
  }
  if (def.family === 'participant' || def.family === 'vote') {
    if (player === null) throw bad('player', `is required for ${raw.type}`);
  }

  // One walk over the data for size, depth and string hygiene: Postgres jsonb refuses \u0000 and
  // lone surrogates, and an unbounded payload must not reach the database.
  const budget = { bytes: 64 + raw.id.length + raw.type.length + (sessionId?.length ?? 0) + (player?.length ?? 0) + 40 };
  const path = walk(data, 2, limits, budget, 'data', false, bad);
  if (path) throw path;
  if (budget.bytes > limits.maxEventBytes) throw bad('event', `is ${budget.bytes} bytes, more than the ${limits.maxEventBytes}-byte limit`);

  return { id: raw.id.toLowerCase(), type: raw.type, family: def.family, sessionId, seq, at: raw.at, player, data };
}

type Bad = (field: string, reason: string) => ContractError;

/** Returns a ContractError for the first problem found, or null. Adds the JSON size to `budget`. */
function walk(v: unknown, depth: number, limits: Limits, budget: { bytes: number }, path: string, longStringsOk: boolean, bad: Bad): ContractError | null {
  if (budget.bytes > limits.maxEventBytes) return bad('event', `is larger than the ${limits.maxEventBytes}-byte limit`);
  switch (typeof v) {
    case 'string': {
      if (!longStringsOk && v.length > limits.maxStringLength) return bad(path, `is a string longer than ${limits.maxStringLength} characters`);
      const reason = stringProblem(v);
      if (reason) return bad(path, reason);
      budget.bytes += Buffer.byteLength(v) + 2;
      return null;
    }
    case 'number':
      if (!Number.isFinite(v)) return bad(path, 'must be a finite number');
      budget.bytes += 8;
      return null;
    case 'boolean':
      budget.bytes += 5;
      return null;
    case 'object': {
      if (v === null) {
        budget.bytes += 4;
        return null;
      }
      if (depth > limits.maxDepth) return bad(path, `nests deeper than ${limits.maxDepth} levels`);
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          const e = walk(v[i], depth + 1, limits, budget, `${path}[${i}]`, false, bad);
          if (e) return e;
          budget.bytes += 1;
        }
        budget.bytes += 2;
        return null;
      }
      if (!isPlainObject(v)) return bad(path, `is not plain JSON (${v.constructor?.name ?? 'object'})`);
      // Typed top-level data fields carry their own length limits (prompts may exceed maxStringLength).
      const topLevel = depth === 2;
      for (const k in v) {
        if (k.length > limits.maxKeyLength) return bad(`${path}.${k.slice(0, 40)}…`, `key is longer than ${limits.maxKeyLength} characters`);
        const reason = stringProblem(k);
        if (reason) return bad(`${path}.${k.slice(0, 40)}`, `key ${reason}`);
        const child = v[k];
        if (child === undefined) continue;
        const e = walk(child, depth + 1, limits, budget, `${path}.${k}`, topLevel, bad);
        if (e) return e;
        budget.bytes += Buffer.byteLength(k) + 4;
      }
      budget.bytes += 2;
      return null;
    }
    case 'undefined':
      return null;
    default:
      return bad(path, `is not JSON (${typeof v})`);
  }
}

/** PostgreSQL text and jsonb cannot hold NUL, and lone UTF-16 surrogates are not valid Unicode. */
function stringProblem(s: string): string | null {
  if (s.includes('\u0000')) return 'contains \\u0000, which PostgreSQL cannot store';
  if (!s.isWellFormed()) return 'contains a lone surrogate (not valid Unicode)';
  return null;
}
