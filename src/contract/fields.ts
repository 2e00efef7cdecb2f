/**
 * A small declarative field language for the event contract. Each field knows how to check a value,
 * how to describe itself as JSON Schema, and (through its phantom `T`) what TypeScript type it yields,
 * so the validator, the generated schema and the SDK types cannot drift apart.
 */

/** Why a value was refused; `null` when it is fine. */
export type Check = string | null;

export interface Field<T = unknown> {
  readonly optional: boolean;
  readonly nullable: boolean;
  /** A string field with its own length limit, exempt from the free-form maxStringLength. */
  readonly ownLength?: boolean;
  /**
   * A long text (an LLM prompt): held to Limits.maxAgentTextBytes in UTF-8 bytes, and neither to
   * maxStringLength nor to the event's size.
   */
  readonly longText?: boolean;
  /** Returns a reason (e.g. "must be an integer") or null. Depth and string hygiene are checked elsewhere. */
  check(value: unknown): Check;
  /** The stored form of an accepted value (an alias resolved, an integer id made text); absent: as sent. */
  normalize?(value: unknown): unknown;
  schema(): Record<string, unknown>;
  /** Phantom: never set at run time. */
  readonly __type?: T;
}

interface Base {
  optional?: boolean;
  nullable?: boolean;
  description?: string;
}

function field<T>(opts: Base, check: (v: unknown) => Check, schema: Record<string, unknown>): Field<T> {
  const nullable = opts.nullable ?? false;
  const full = opts.description ? { ...schema, description: opts.description } : schema;
  return {
    optional: opts.optional ?? false,
    nullable,
    check: (v) => (v === null ? (nullable ? null : 'must not be null') : check(v)),
    schema: () => (nullable ? { anyOf: [full, { type: 'null' }] } : full),
  };
}

/** Identifiers (sessions, players, tenants) are strings; integers are accepted and stored as text. */
export const MAX_ID_LENGTH = 128;

/**
 * An id is stored as PostgreSQL text (session_id, player_id ... columns and keys), which cannot hold
 * NUL; a lone surrogate is not Unicode. Either would be refused by the database long after the
 * producer was told the event was accepted, so they are refused here.
 */
export function isId(v: unknown): boolean {
  if (typeof v === 'string') return v.length > 0 && v.length <= MAX_ID_LENGTH && stringProblem(v) === null;
  return typeof v === 'number' && Number.isSafeInteger(v);
}

export const ID_REASON = `must be a non-empty string of at most ${MAX_ID_LENGTH} characters (or a safe integer)`;

/** Why `v` is not a valid id: the string's own problem when it has one, else the general rule. */
export function idReason(v: unknown): string {
  return (typeof v === 'string' && stringProblem(v)) || ID_REASON;
}

/** PostgreSQL text and jsonb cannot hold NUL, and lone UTF-16 surrogates are not valid Unicode. */
export function stringProblem(s: string): string | null {
  if (s.includes('\u0000')) return 'contains \\u0000, which PostgreSQL cannot store';
  if (!s.isWellFormed()) return 'contains a lone surrogate (not valid Unicode)';
  return null;
}

export const f = {
  id<const O extends Base & { asText?: boolean }>(opts: O = {} as O) {
    const base = field<string | number>(opts, (v) => (isId(v) ? null : idReason(v)), {
      anyOf: [{ type: 'string', minLength: 1, maxLength: MAX_ID_LENGTH }, { type: 'integer' }],
    });
    // asText: stored (and replayed) as text, so 1 and "1" are the same team everywhere.
    return (opts.asText ? { ...base, normalize: (v: unknown) => (typeof v === 'number' ? String(v) : v) } : base) as Field<string | number> & O;
  },
  str<const O extends Base & { max: number; min?: number }>(opts: O) {
    const min = opts.min ?? 0;
    return Object.assign(field<string>(
      opts,
      (v) =>
        typeof v !== 'string'
          ? 'must be a string'
          : v.length > opts.max
            ? `must be at most ${opts.max} characters`
            : v.length < min
              ? `must be at least ${min} characters`
              : null,
      { type: 'string', maxLength: opts.max, ...(min ? { minLength: min } : {}) },
    ), { ownLength: true }) as Field<string> & O;
  },
  /**
   * A long text: any string, held by the validator to Limits.maxAgentTextBytes (UTF-8), which the
   * schema's maxLength (characters, at most one per byte) can only bound from above.
   */
  text<const O extends Base & { maxBytes: number }>(opts: O) {
    return Object.assign(field<string>(opts, (v) => (typeof v !== 'string' ? 'must be a string' : null), { type: 'string', maxLength: opts.maxBytes }), {
      longText: true,
    }) as Field<string> & O;
  },
  int<const O extends Base & { min?: number; max?: number }>(opts: O = {} as O) {
    const min = opts.min ?? -Number.MAX_SAFE_INTEGER;
    const max = opts.max ?? Number.MAX_SAFE_INTEGER;
    return field<number>(
      opts,
      (v) =>
        typeof v !== 'number' || !Number.isSafeInteger(v)
          ? 'must be an integer'
          : v < min || v > max
            ? `must be between ${min} and ${max}`
            : null,
      { type: 'integer', minimum: min, maximum: max },
    ) as Field<number> & O;
  },
  num<const O extends Base & { min?: number; max?: number }>(opts: O = {} as O) {
    const min = opts.min ?? -Number.MAX_VALUE;
    const max = opts.max ?? Number.MAX_VALUE;
    return field<number>(
      opts,
      (v) =>
        typeof v !== 'number' || !Number.isFinite(v)
          ? 'must be a finite number'
          : v < min || v > max
            ? `must be between ${min} and ${max}`
            : null,
      {
        type: 'number',
        ...(opts.min !== undefined ? { minimum: min } : {}),
        ...(opts.max !== undefined ? { maximum: max } : {}),
      },
    ) as Field<number> & O;
  },
  bool<const O extends Base>(opts: O = {} as O) {
    return field<boolean>(opts, (v) => (typeof v === 'boolean' ? null : 'must be a boolean'), {
      type: 'boolean',
    }) as Field<boolean> & O;
  },
  /** One of `values`; `aliases` are accepted too and stored as the value they name (e.g. lose → loss). */
  oneOf<const V extends readonly string[], const O extends Base & { aliases?: Record<string, V[number]> }>(values: V, opts: O = {} as O) {
    const aliases: Record<string, string> = opts.aliases ?? {};
    const accepted = [...values, ...Object.keys(aliases)];
    const set = new Set<unknown>(accepted);
    const base = field<V[number]>(opts, (v) => (set.has(v) ? null : `must be one of ${accepted.join(', ')}`), {
      type: 'string',
      enum: accepted,
    });
    return (Object.keys(aliases).length
      ? { ...base, normalize: (v: unknown) => (typeof v === 'string' && Object.hasOwn(aliases, v) ? aliases[v] : v) }
      : base) as Field<V[number]> & O;
  },
  /** An RFC 3339 timestamp with a time zone, e.g. 2026-11-21T10:00:00.000Z. */
  time<const O extends Base>(opts: O = {} as O) {
    return field<string>(opts, (v) => (isTimestamp(v) ? null : 'must be an RFC 3339 timestamp with a time zone'), {
      type: 'string',
      format: 'date-time',
    }) as Field<string> & O;
  },
  /** Any JSON object; its depth and strings are limited by the envelope walk. */
  object<const O extends Base>(opts: O = {} as O) {
    return field<Record<string, unknown>>(opts, (v) => (isPlainObject(v) ? null : 'must be a JSON object'), {
      type: 'object',
    }) as Field<Record<string, unknown>> & O;
  },
  /** Any JSON value. */
  json<const O extends Base>(opts: O = {} as O) {
    return field<unknown>(opts, () => null, {}) as Field<unknown> & O;
  },
  ids<const O extends Base & { max: number }>(opts: O) {
    return field<Array<string | number>>(
      opts,
      (v) =>
        !Array.isArray(v)
          ? 'must be an array of ids'
          : v.length > opts.max
            ? `must have at most ${opts.max} items`
            : v.every(isId)
              ? null
              : `items ${idReason(v.find((x) => !isId(x)))}`,
      { type: 'array', maxItems: opts.max, items: { anyOf: [{ type: 'string', minLength: 1, maxLength: MAX_ID_LENGTH }, { type: 'integer' }] } },
    ) as Field<Array<string | number>> & O;
  },
  /** An object of id → finite number, e.g. final scores per player or team. */
  scores<const O extends Base & { max: number }>(opts: O) {
    return field<Record<string, number>>(
      opts,
      (v) => {
        if (!isPlainObject(v)) return 'must be an object of numbers';
        const keys = Object.keys(v);
        if (keys.length > opts.max) return `must have at most ${opts.max} entries`;
        for (const k of keys) {
          const n = v[k];
          if (typeof n !== 'number' || !Number.isFinite(n)) return `entry "${k.slice(0, 40)}" must be a finite number`;
        }
        return null;
      },
      { type: 'object', maxProperties: opts.max, additionalProperties: { type: 'number' } },
    ) as Field<Record<string, number>> & O;
  },
};

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/** Years 1-9999 only: PostgreSQL has no year 0 and JavaScript dates stop being RFC 3339 past 9999. */
export function isTimestamp(v: unknown): v is string {
  return typeof v === 'string' && v.length <= 40 && RFC3339.test(v) && !v.startsWith('0000') && !Number.isNaN(Date.parse(v));
}

/** A map of field name → Field: the shape of one event type's `data`. */
export type Shape = Record<string, Field<any>>;

type Optional<S extends Shape> = { [K in keyof S]: S[K]['optional'] extends true ? K : never }[keyof S];
type Required<S extends Shape> = Exclude<keyof S, Optional<S>>;
type ValueOf<F> = F extends Field<infer T> ? (F extends { nullable: true } ? T | null : T) : never;

/** The TypeScript type of a `data` object described by a Shape. */
export type Infer<S extends Shape> = { [K in Required<S>]: ValueOf<S[K]> } & { [K in Optional<S>]?: ValueOf<S[K]> };
