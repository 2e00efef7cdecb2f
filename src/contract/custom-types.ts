/**
 * Game-defined event types (`x.<game>.<name>`) and the JSON Schemas games register for them. A schema is
 * compiled once (ajv, JSON Schema 2020-12, strict: a misspelt keyword is refused at registration rather
 * than silently ignored) and checked against each event's `data` by the producer behind the HTTP API
 * and by the worker. Unregistered types are accepted as free-form JSON under the usual size limits, or
 * refused when the registry is `registered` (GP_CUSTOM_TYPES).
 *
 * This module is pure: the registrations are rows read by the caller (src/db/sql/event-types.ts,
 * src/contract/type-registry.ts keeps them fresh).
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { ContractError } from '../errors.ts';
import type { CustomTypeCheck, CustomTypeProblem } from './custom-check.ts';
import { isCustomType } from './events.ts';
import { isPlainObject } from './fields.ts';

/** How unregistered game types are treated. */
export type CustomTypeMode = 'open' | 'registered';
export const CUSTOM_TYPE_MODES: readonly CustomTypeMode[] = ['open', 'registered'];

/** A registered schema is itself untrusted input (API, CLI): bounded like an event. */
export const MAX_SCHEMA_BYTES = 64 * 1024;

/** One registration as stored (event_types). */
export interface CustomTypeRow {
  type: string;
  schema: Record<string, unknown>;
  version: number;
  description: string | null;
}


const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (a: Ajv2020) => void;

function newAjv(): Ajv2020 {
  // allErrors off: the first failure is reported, and a hostile value cannot make validation collect
  // an error per element. No loadSchema: a remote $ref is a compile error, never a fetch.
  const ajv = new Ajv2020({ logger: false, allErrors: false, strict: true, strictTypes: false, strictTuples: false });
  addFormats(ajv);
  return ajv;
}

/** `/a/0/b~1c` (a JSON Pointer into data) as the contract's field path `data.a[0].b/c`. */
export function dataPath(instancePath: string): string {
  if (instancePath === '') return 'data';
  let out = 'data';
  for (const raw of instancePath.slice(1).split('/')) {
    const part = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    out += /^\d+$/.test(part) ? `[${part}]` : `.${part}`;
  }
  return out;
}

function describe(err: ErrorObject): CustomTypeProblem {
  let field = dataPath(err.instancePath);
  // "must have required property 'x'" and "must NOT have additional properties" name the child itself.
  if (err.keyword === 'required') field += `.${String((err.params as { missingProperty: string }).missingProperty)}`;
  if (err.keyword === 'additionalProperties') field += `.${String((err.params as { additionalProperty: string }).additionalProperty)}`;
  const reason =
    err.keyword === 'required' ? 'is required by the registered schema'
    : err.keyword === 'additionalProperties' ? 'is not allowed by the registered schema'
    : `${err.message ?? 'is invalid'} (registered schema, ${err.schemaPath})`;
  return { field, reason };
}

interface Compiled {
  row: CustomTypeRow;
  validate: ValidateFunction;
}

/**
 * Compiles a schema for `type`, or throws a ContractError saying why it cannot be registered (a
 * malformed type name, a schema that is not an object, too large, or that ajv refuses).
 */
export function compileCustomType(type: unknown, schema: unknown, ajv: Ajv2020 = newAjv()): ValidateFunction {
  if (!isCustomType(type)) throw new ContractError('type', 'must be x.<game>.<name>: lower-case letters, digits, _ and -, e.g. x.adventure.story_choice');
  if (!isPlainObject(schema)) throw new ContractError('schema', 'must be a JSON Schema object');
  let size: number;
  try {
    size = Buffer.byteLength(JSON.stringify(schema));
  } catch {
    // JSON.stringify recurses: a schema nested thousands of levels deep overflows the stack.
    throw new ContractError('schema', 'nests too deeply to be a JSON Schema');
  }
  if (size > MAX_SCHEMA_BYTES) throw new ContractError('schema', `is ${size} bytes, more than the ${MAX_SCHEMA_BYTES}-byte limit`);
  if (schema.$id !== undefined) throw new ContractError('schema.$id', 'is not supported: the type name identifies the schema');
  try {
    return ajv.compile(schema);
  } catch (e) {
    throw new ContractError('schema', `is not a valid JSON Schema (2020-12): ${e instanceof Error ? e.message.slice(0, 300) : String(e)}`);
  }
}

/** The registered game types of one moment, compiled. */
export class CustomTypes implements CustomTypeCheck {
  readonly mode: CustomTypeMode;
  private readonly byType = new Map<string, Compiled>();

  constructor(rows: readonly CustomTypeRow[], mode: CustomTypeMode = 'open') {
    this.mode = mode;
    const ajv = newAjv();
    for (const row of rows) {
      // A row that no longer compiles (written by a newer version, say) refuses its events rather than
      // letting them through unchecked.
      let validate: ValidateFunction;
      try {
        validate = compileCustomType(row.type, row.schema, ajv);
      } catch (e) {
        const reason = e instanceof ContractError ? e.message : String(e);
        validate = Object.assign(() => false, { errors: [{ instancePath: '', schemaPath: '#', keyword: 'schema', params: {}, message: `has a registered schema that does not compile: ${reason}` }] }) as unknown as ValidateFunction;
      }
      this.byType.set(row.type, { row, validate });
    }
  }

  get types(): CustomTypeRow[] {
    return [...this.byType.values()].map((c) => c.row);
  }

  version(type: string): number | null {
    return this.byType.get(type)?.row.version ?? null;
  }

  check(type: string, data: Record<string, unknown>): CustomTypeProblem | null {
    const c = this.byType.get(type);
    if (!c) {
      return this.mode === 'registered'
        ? { field: 'type', reason: `${type} is not a registered game type (GP_CUSTOM_TYPES=registered); register it first: game-persist contract add-type` }
        : null;
    }
    if (c.validate(data)) return null;
    const first = c.validate.errors?.[0];
    return first ? describe(first) : { field: 'data', reason: 'does not match the registered schema' };
  }
}
