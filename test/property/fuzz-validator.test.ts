/**
 * Fuzzing the contract validator (issue 12 ★): arbitrary values (JSON with poison strings, keys and
 * numbers, deep nesting, values JSON cannot hold) and valid events mutated at a few places. Each
 * either validates to an event that validates again after a JSON round trip, unchanged and within
 * the size limit, or is refused with a ContractError naming a field; never another exception, and
 * Object.prototype is never touched. Longer: FUZZ_RUNS=50 npm test -- test/property/fuzz-validator.
 */
import fc from 'fast-check';
import canonicalize from 'canonicalize';
import { afterAll, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/contract/limits.ts';
import { validateEvent, type CheckedEvent } from '../../src/contract/validate.ts';
import { ContractError } from '../../src/errors.ts';
import { anyValue, fuzzParams, mutatedEvent } from './fuzz-arbitraries.ts';

const outcomes = { accepted: 0, refused: 0 };

function check(raw: unknown, opts: { clone: boolean; seqAssignedLater: boolean }): void {
  let ev: CheckedEvent;
  try {
    ev = validateEvent(raw, opts);
  } catch (e) {
    if (!(e instanceof ContractError)) throw new Error(`not a ContractError: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    expect(e.code).toBe('invalid_event');
    expect(typeof e.field === 'string' && e.field.length > 0).toBe(true);
    expect(typeof e.reason === 'string' && e.reason.length > 0).toBe(true);
    outcomes.refused++;
    return;
  }
  outcomes.accepted++;
  // What the worker gets: the wire form as JSON text, parsed again.
  const wire = { id: ev.id, type: ev.type, sessionId: ev.sessionId, seq: ev.seq, at: ev.at, player: ev.player, data: ev.data };
  const text = JSON.stringify(wire);
  const again = validateEvent(JSON.parse(text), opts);
  expect(canonicalize(again.data)).toBe(canonicalize(ev.data));
  expect([again.id, again.type, again.sessionId, again.seq, again.player]).toEqual([ev.id, ev.type, ev.sessionId, ev.seq, ev.player]);
  const max = DEFAULT_LIMITS.maxEventBytes + (ev.family === 'doc' ? DEFAULT_LIMITS.maxDocumentBytes : ev.family === 'agent' ? 3 * DEFAULT_LIMITS.maxAgentTextBytes : 0);
  expect(ev.bytes).toBeLessThanOrEqual(max);
  // The measured size leaves escapes out (documented): at most 6 bytes of JSON per counted byte.
  expect(Buffer.byteLength(text)).toBeLessThanOrEqual(6 * max + 1024);
}

afterAll(() => {
  // Both outcomes must be reached, or the fuzzer tested only one side.
  expect(outcomes.accepted).toBeGreaterThan(0);
  expect(outcomes.refused).toBeGreaterThan(0);
  expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain('polluted');
});

it('refuses arbitrary values with a ContractError or accepts them consistently', () => {
  fc.assert(
    fc.property(anyValue, fc.boolean(), fc.boolean(), (raw, clone, later) => check(raw, { clone, seqAssignedLater: later })),
    fuzzParams(1000),
  );
});

it('refuses mutated valid events by field, or accepts them consistently', () => {
  fc.assert(
    fc.property(mutatedEvent('fuzz-session'), fc.boolean(), (raw, clone) => {
      check(raw, { clone, seqAssignedLater: false });
      // Parsed from its JSON text, as the API and the worker see it (when it has one).
      let text: string | undefined;
      try {
        text = JSON.stringify(raw);
      } catch {
        return; // too deep, or a BigInt: only a JavaScript caller can hand it over
      }
      if (text !== undefined) check(JSON.parse(text), { clone, seqAssignedLater: false });
    }),
    fuzzParams(2000),
  );
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});
