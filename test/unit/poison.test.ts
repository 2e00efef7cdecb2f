/**
 * Poison payloads against the pure parts (issue 12): the contract refuses every poison kind of
 * src/loadgen/poison.ts by its field with a ContractError and nothing else; `__proto__`,
 * `constructor` and `prototype` keys stay data through validation, cloning and the merge-patch fold
 * and pollute nothing; values too deep for JSON.stringify (which recurses, unlike JSON.parse) still
 * become dead letters, and a deep job version or registered schema gets a typed refusal.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { compileCustomType } from '../../src/contract/custom-types.ts';
import { uuidv7 } from '../../src/contract/ids.ts';
import { DEFAULT_LIMITS } from '../../src/contract/limits.ts';
import { mergePatch } from '../../src/contract/merge-patch.ts';
import { validateEvent } from '../../src/contract/validate.ts';
import { ContractError } from '../../src/errors.ts';
import { POISON_KINDS, PROTO_KEYS_JSON, materialise, wireText } from '../../src/loadgen/poison.ts';
import { parseJob } from '../../src/workers/parse-job.ts';
import { deadLetterForPayload } from '../../src/workers/write-batch.ts';

const good = () => ({ id: uuidv7(), type: 'chat.message', sessionId: 's-1', seq: 2, player: 'p1', at: '2026-01-01T00:00:00Z', data: { text: 'hi' } });
const deepText = (n: number) => '{"a":'.repeat(n) + '{}' + '}'.repeat(n);
const refusal = (ev: unknown): ContractError => {
  try {
    validateEvent(ev, { clone: true });
  } catch (e) {
    if (e instanceof ContractError) return e;
    throw e;
  }
  throw new Error('accepted');
};

afterEach(() => {
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.prototype).not.toHaveProperty('polluted');
});

describe('poison events against the contract', () => {
  it.each(POISON_KINDS.filter((k) => k.field !== null).map((k) => [k.kind, k] as const))('%s is refused by its field', (_kind, k) => {
    const poison = k.make(good());
    const e = refusal(materialise(poison));
    expect(e.code).toBe('invalid_event');
    expect(e.field.startsWith(k.field!), e.field).toBe(true);
    // The same event as the worker gets it: parsed from JSON text.
    expect(refusal(JSON.parse(wireText(poison))).field.startsWith(k.field!)).toBe(true);
  });

  it('keeps __proto__, constructor and prototype keys as data through validation, cloning and the fold', () => {
    const k = POISON_KINDS.find((x) => x.field === null)!;
    const ev = JSON.parse(JSON.stringify(k.make(good()))) as Record<string, any>;
    for (const clone of [true, false]) {
      const checked = validateEvent(structuredClone(ev), { clone });
      const meta = checked.data.meta as Record<string, unknown>;
      expect(Object.keys(meta).sort()).toEqual(['__proto__', 'constructor', 'prototype']);
      expect(Object.getPrototypeOf(meta)).toBe(Object.prototype);
      expect(JSON.parse(JSON.stringify(meta))).toEqual(JSON.parse(PROTO_KEYS_JSON));
    }
    // A turn.result state patch with the same keys folds into a live state without touching prototypes.
    const folded = mergePatch({ keep: 1 }, JSON.parse(PROTO_KEYS_JSON)) as Record<string, any>;
    expect(Object.keys(folded).sort()).toEqual(['__proto__', 'constructor', 'keep', 'prototype']);
    expect(Object.getPrototypeOf(folded)).toBe(Object.prototype);
    expect(folded.constructor).toEqual({ prototype: { polluted: 'yes' } });
  });

  it('refuses an envelope __proto__ key rather than losing or applying it', () => {
    const ev = JSON.parse(`{"__proto__":{"polluted":"yes"},${JSON.stringify(good()).slice(1)}`);
    expect(refusal(ev).field).toBe('__proto__');
  });

  it('refuses a seq, a session id or a player id beyond 2^53 as sent in JSON text (already rounded by the parser)', () => {
    const text = JSON.stringify(good());
    expect(refusal(JSON.parse(text.replace('"seq":2', '"seq":9007199254740993'))).field).toBe('seq');
    expect(refusal(JSON.parse(text.replace('"sessionId":"s-1"', '"sessionId":9007199254740993'))).field).toBe('sessionId');
    expect(refusal(JSON.parse(text.replace('"player":"p1"', '"player":-9007199254740993'))).field).toBe('player');
    // 2^53 - 1 is the largest id still taken, and stored as its exact text.
    expect(validateEvent(JSON.parse(text.replace('"sessionId":"s-1"', '"sessionId":9007199254740991'))).sessionId).toBe('9007199254740991');
  });
});

describe('values too deep for JSON.stringify', () => {
  it('still become a dead letter, cut to a bounded depth and flagged as truncated', () => {
    const payload = JSON.parse(`{"id":"x","type":"chat.message","data":${deepText(100_000)}}`);
    expect(() => JSON.stringify(payload)).toThrow(RangeError);
    const row = deadLetterForPayload(payload, { code: 'invalid_event', reason: 'r', field: 'data', queue: 'events', jobId: '1', eventId: 'x', type: 'chat.message' });
    expect(row.truncated).toBe(true);
    expect(row.payload.startsWith('{"id":"x","type":"chat.message","data":{"a":{"a":')).toBe(true);
    expect(row.payload).toContain('"…"');
    expect(row.payload.length).toBeLessThan(2000);
  });

  it('a job whose version is deep is dead-lettered as unsupported_version, not thrown', () => {
    const data = JSON.parse(`{"v":${deepText(100_000)},"events":[]}`);
    const parsed = parseJob(data, DEFAULT_LIMITS, 'events', '7');
    expect(parsed.deadLetters.map((d) => [d.reason_code, d.field, d.reason])).toEqual([['unsupported_version', 'v', 'job contract version an object is not supported (v1 worker)']]);
  });

  it('a deep job event among good ones is dead-lettered alone', () => {
    const ev = good();
    const text = `{"v":1,"events":[${JSON.stringify(ev)},${JSON.stringify({ ...good(), data: { text: 'x', meta: 'DEEP' } }).replace('"DEEP"', deepText(100_000))}]}`;
    const parsed = parseJob(JSON.parse(text), DEFAULT_LIMITS, 'events', '8');
    expect(parsed.events.map((e) => e.id)).toEqual([ev.id]);
    expect(parsed.deadLetters.map((d) => d.reason_code)).toEqual(['invalid_event']);
  });

  it('a game type schema nested too deeply is refused with a ContractError', () => {
    const schema = JSON.parse(`{"type":"object","properties":${'{"a":{"type":"object","properties":'.repeat(20_000)}{}${'}}'.repeat(20_000)}}`);
    expect(() => compileCustomType('x.game.deep', schema)).toThrow(ContractError);
  });
});
