import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EVENT_TYPE_NAMES, contractJsonSchema, uuidv7, validateEvent } from '../../src/contract/index.ts';
import { ContractError } from '../../src/errors.ts';
import { SCHEMA_PATH, schemaText } from '../../scripts/contract-schema.ts';
import { allTypesEvents, moveEvent } from '../helpers/examples.ts';

function refusal(ev: unknown, opts = {}): ContractError {
  try {
    validateEvent(ev, opts);
  } catch (e) {
    if (e instanceof ContractError) return e;
    throw e;
  }
  throw new Error('event was accepted');
}

describe('v1 contract', () => {
  it('accepts one example of every event type and normalises ids to strings', () => {
    const events = allTypesEvents('room-1');
    expect(events.map((e) => e.type).sort()).toEqual([...EVENT_TYPE_NAMES].sort());
    for (const e of events) {
      const v = validateEvent(e);
      expect(v.type).toBe(e.type);
      expect(v.sessionId).toBe(e.sessionId === undefined ? null : 'room-1');
    }
    const created = validateEvent({ ...allTypesEvents('s')[0], sessionId: 42 });
    expect(created.sessionId).toBe('42');
  });

  it.each([
    [{ type: 'nope' }, 'type'],
    [{ id: 'x' }, 'id'],
    [{ at: 'yesterday' }, 'at'],
    [{ at: '0000-01-01T00:00:00Z' }, 'at'],
    [{ at: null }, 'at'],
    [{ at: 1795305243636 }, 'at'],
    [{ seq: 0 }, 'seq'],
    [{ seq: 1.5 }, 'seq'],
    [{ sessionId: undefined }, 'sessionId'],
    [{ sessionId: 'x'.repeat(129) }, 'sessionId'],
    [{ extra: 1 }, 'extra'],
    [{ data: 'move' }, 'data'],
    [{ data: { turn: 1 } }, 'data.action'],
    [{ data: { action: 'a', colour: 'red' } }, 'data.colour'],
    [{ data: { action: 'a', round: -1 } }, 'data.round'],
    [{ data: { action: 'a', round: 2 ** 31 } }, 'data.round'],
    [{ data: { action: 'a', data: { deep: 'a\u0000b' } } }, 'data.data.deep'],
    [{ data: { action: 'a', data: { s: 'x\ud800y' } } }, 'data.data.s'],
    [{ data: { action: 'a', data: { n: Number.NaN } } }, 'data.data.n'],
    [{ data: { action: 'a', data: { d: new Date() } } }, 'data.data.d'],
  ])('refuses %j naming the field %s', (patch, field) => {
    const e = refusal({ ...moveEvent('s1', 1), ...patch });
    expect(e.field).toBe(field);
    expect(e.code).toBe('invalid_event');
    expect(e.message).toContain(field);
  });

  it('needs a player on votes, participant and queue events, and exactly one of state or patch on turn results', () => {
    const [, , joined] = allTypesEvents('s1');
    expect(refusal({ ...joined, player: undefined }).field).toBe('player');
    const turn = allTypesEvents('s1').find((e) => e.type === 'turn.result') as Record<string, any>;
    expect(refusal({ ...turn, data: { turn: 1 } }).field).toBe('data.state');
    expect(refusal({ ...turn, data: { turn: 1, state: {}, patch: {} } }).field).toBe('data.state');
    expect(validateEvent({ ...turn, data: { turn: 2, patch: { hp: null } } }).data.patch).toEqual({ hp: null });
  });

  it('limits size, depth and string length of free-form JSON', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 20; i++) deep = { x: deep };
    expect(refusal(moveEvent('s', 1, { data: { action: 'a', data: deep } })).reason).toMatch(/deeper than 16/);
    expect(refusal(moveEvent('s', 1, { data: { action: 'a', data: ['x'.repeat(20_000)] } })).reason).toMatch(/longer than 16384/);
    // A free-form field that is itself a string is held to the same limit.
    expect(refusal(moveEvent('s', 1, { data: { action: 'a', data: 'x'.repeat(20_000) } })).field).toBe('data.data');
    const big = Array.from({ length: 10 }, () => 'y'.repeat(8000));
    expect(refusal(moveEvent('s', 1, { data: { action: 'a', data: big } })).field).toBe('event');
    // Multi-byte text counts in UTF-8 bytes: 7000 × 4-byte emoji (2 UTF-16 units each) is ~28 KB.
    const emoji = '😀'.repeat(7000);
    expect(validateEvent(moveEvent('s', 1, { data: { action: 'a', data: [emoji] } })).bytes).toBeGreaterThan(28_000);
    expect(refusal(moveEvent('s', 1, { data: { action: 'a', data: [emoji, emoji, emoji] } }), { limits: { maxEventBytes: 65536, maxDepth: 16, maxStringLength: 16384, maxKeyLength: 256 } }).field).toBe('event');
    // Typed fields have their own limits: an LLM prompt may be longer than free-form strings.
    const log = allTypesEvents('s').find((e) => e.type === 'agent.log') as Record<string, any>;
    expect(validateEvent({ ...log, data: { ...log.data, prompt: 'p'.repeat(30_000) } }).data.prompt).toHaveLength(30_000);
  });

  it('copies data when asked, so a caller mutating its object later cannot change the event', () => {
    const state = { hp: 10, items: ['sword'] };
    const turn = { id: uuidv7(), type: 'turn.result', sessionId: 's', seq: 1, at: new Date().toISOString(), data: { turn: 1, state } };
    const v = validateEvent(turn, { clone: true });
    state.hp = 0;
    state.items.push('shield');
    expect(v.data.state).toEqual({ hp: 10, items: ['sword'] });
  });

  it('makes UUIDv7 ids that sort in creation order', () => {
    const ids = Array.from({ length: 5000 }, () => uuidv7());
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const ms = parseInt(ids[0].replace(/-/g, '').slice(0, 12), 16);
    expect(Math.abs(ms - Date.now())).toBeLessThan(5000);
  });

  it('ships a committed JSON Schema identical to the one generated from the contract', () => {
    expect(readFileSync(SCHEMA_PATH, 'utf8')).toBe(schemaText());
    const schema = contractJsonSchema() as { $defs: Record<string, unknown> };
    for (const t of EVENT_TYPE_NAMES) expect(schema.$defs[t]).toBeDefined();
  });
});
