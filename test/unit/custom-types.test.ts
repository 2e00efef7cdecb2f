/** Game-defined event types and documents in the contract module: names, registered schemas, modes, limits. */
import { describe, expect, it } from 'vitest';
import { compileCustomType, CustomTypes, dataPath } from '../../src/contract/custom-types.ts';
import { uuidv7 } from '../../src/contract/ids.ts';
import { DEFAULT_LIMITS } from '../../src/contract/limits.ts';
import { validateEvent } from '../../src/contract/validate.ts';
import { ContractError } from '../../src/errors.ts';

const ev = (type: string, data: unknown, extra: Record<string, unknown> = {}) => ({ id: uuidv7(), type, sessionId: 'w-1', seq: 1, at: '2026-01-01T00:00:00Z', data, ...extra });
function refusal(fn: () => unknown): { field: string; reason: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof ContractError) return { field: e.field, reason: e.reason };
    throw e;
  }
  throw new Error('accepted');
}

const CHOICE = {
  type: 'object',
  properties: { scene: { type: 'string' }, option: { type: 'integer', minimum: 0 }, tags: { type: 'array', items: { type: 'string' } } },
  required: ['scene', 'option'],
  additionalProperties: false,
};

describe('game-defined event types', () => {
  it('are named x.<game>.<name> in lower case; anything else is refused by name', () => {
    for (const t of ['x.adventure.story_choice', 'x.4x.turn-log', 'x.a.b.c']) expect(validateEvent(ev(t, { any: [1, { x: null }] })).family).toBe('custom');
    for (const t of ['x.Adventure.choice', 'x.adventure', 'y.adventure.choice', 'x..choice', `x.${'g'.repeat(40)}.c`, 'x.a.b c']) expect(refusal(() => validateEvent(ev(t, {}))).field).toBe('type');
  });

  it('are free-form under the limits when unregistered (open), refused when the registry says registered', () => {
    expect(validateEvent(ev('x.g.free', { a: 1 }), { customTypes: new CustomTypes([], 'open') }).data).toEqual({ a: 1 });
    expect(refusal(() => validateEvent(ev('x.g.free', { a: 1 }), { customTypes: new CustomTypes([], 'registered') }))).toMatchObject({ field: 'type', reason: expect.stringMatching(/not a registered game type/) });
    expect(refusal(() => validateEvent(ev('x.g.free', { a: 'x\u0000' }))).field).toBe('data.a');
    expect(refusal(() => validateEvent(ev('x.g.free', { a: 2 ** 60 }))).field).toBe('data.a');
    expect(refusal(() => validateEvent(ev('x.g.free', { a: 1 }, { sessionId: undefined, seq: undefined }))).field).toBe('sessionId');
  });

  it('are checked against their registered schema, the failing path named as the contract names fields', () => {
    const types = new CustomTypes([{ type: 'x.adventure.story_choice', schema: CHOICE, version: 1, description: null }]);
    const check = (data: unknown) => refusal(() => validateEvent(ev('x.adventure.story_choice', data), { customTypes: types }));
    expect(validateEvent(ev('x.adventure.story_choice', { scene: 'gate', option: 1 }), { customTypes: types }).type).toBe('x.adventure.story_choice');
    expect(check({ scene: 'gate', option: -1 })).toMatchObject({ field: 'data.option', reason: expect.stringMatching(/must be >= 0/) });
    expect(check({ scene: 'gate' })).toMatchObject({ field: 'data.option', reason: 'is required by the registered schema' });
    expect(check({ scene: 'gate', option: 1, extra: true })).toMatchObject({ field: 'data.extra', reason: 'is not allowed by the registered schema' });
    expect(check({ scene: 'gate', option: 1, tags: ['a', 2] })).toMatchObject({ field: 'data.tags[1]' });
    expect(dataPath('/a~1b/0/c~0d')).toBe('data.a/b[0].c~d');
  });

  it('refuse a schema that is not one at registration: a misspelt keyword, a remote $ref, an oversized one', () => {
    expect(refusal(() => compileCustomType('x.g.t', { type: 'object', propertis: {} })).reason).toMatch(/unknown keyword: "propertis"/);
    expect(refusal(() => compileCustomType('x.g.t', { $ref: 'https://example.com/s.json' })).field).toBe('schema');
    expect(refusal(() => compileCustomType('x.g.t', { type: 'object', description: 'x'.repeat(70_000) })).reason).toMatch(/byte limit/);
    expect(refusal(() => compileCustomType('X.g.t', { type: 'object' })).field).toBe('type');
    expect(refusal(() => compileCustomType('x.g.t', [])).field).toBe('schema');
  });
});

describe('documents', () => {
  const put = (data: Record<string, unknown>, extra: Record<string, unknown> = {}) => ev('doc.put', { collection: 'chunks', key: '0:0', ...data }, extra);
  it('need a value that is not null, and a player when owned by one', () => {
    expect(refusal(() => validateEvent(put({ value: null }))).field).toBe('data.value');
    expect(refusal(() => validateEvent(put({}))).field).toBe('data.value');
    expect(refusal(() => validateEvent(put({ value: 1, owner: 'player' }))).field).toBe('player');
    expect(validateEvent(put({ value: 1, owner: 'player' }, { player: 'ann' })).family).toBe('doc');
    expect(refusal(() => validateEvent(put({ value: 1, expectedVersion: -1 }))).field).toBe('data.expectedVersion');
    expect(refusal(() => validateEvent(ev('doc.delete', { collection: '', key: 'k' }))).field).toBe('data.collection');
  });

  it('may be larger than an event, up to the document limit', () => {
    const limits = { ...DEFAULT_LIMITS, maxEventBytes: 1024, maxDocumentBytes: 4096, maxStringLength: 100_000 };
    expect(validateEvent(put({ value: 'x'.repeat(3000) }), { limits }).family).toBe('doc');
    expect(refusal(() => validateEvent(put({ value: 'x'.repeat(5000) }), { limits }))).toMatchObject({ field: 'data.value', reason: expect.stringMatching(/4096-byte document limit/) });
    // Other events keep the event limit.
    expect(refusal(() => validateEvent(ev('move', { action: 'x', data: 'y'.repeat(3000) }), { limits })).field).toBe('event');
  });
});
