/**
 * The derivation rules are order-independent (fast-check, in process, with shrinking): any split of a
 * session's events into batches, merged in any order, gives the row that one pass over the events in
 * (seq, id) order gives. The database property test (test/property) checks the whole pipeline; this
 * one finds a broken merge rule in milliseconds and shrinks it to a few events.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ValidEvent } from '../../src/contract/events.ts';
import { EVENT_TYPES } from '../../src/contract/events.ts';
import { applyParticipantEvents, emptyParticipant, isPresent } from '../../src/derive/participant.ts';
import { cmpPos, posOf } from '../../src/derive/position.ts';
import { mergeSession, sessionDeltas, type StoredGroups } from '../../src/derive/session.ts';
import { mergePatch } from '../../src/contract/merge-patch.ts';

const S = 'sess';
const base = Date.UTC(2030, 0, 31, 22);
const uuid = fc.uuid({ version: 7 });

function event(type: keyof typeof EVENT_TYPES, seq: number, id: string, data: Record<string, unknown>, player: string | null = null): ValidEvent {
  return { id, type, family: EVENT_TYPES[type].family, sessionId: S, seq, at: new Date(base + seq * 1000).toISOString(), player, data };
}

const sessionEvent = fc.oneof(
  fc.record({
    seq: fc.integer({ min: 1, max: 30 }), id: uuid, g: fc.constantFrom('a', 'b'), settings: fc.option(fc.record({ k: fc.nat(9) }), { nil: undefined }),
    confined: fc.option(fc.boolean(), { nil: undefined }),
  }).map((x) =>
    event('session.created', x.seq, x.id, { gameType: x.g, tenant: `t-${x.g}`, ...(x.settings ? { settings: x.settings } : {}), ...(x.confined !== undefined ? { confined: x.confined } : {}) }),
  ),
  fc.record({ seq: fc.integer({ min: 1, max: 30 }), id: uuid, settings: fc.option(fc.record({ k: fc.nat(9) }), { nil: undefined }) }).map((x) =>
    event('session.started', x.seq, x.id, x.settings ? { settings: x.settings } : {}),
  ),
  fc.record({ seq: fc.integer({ min: 1, max: 30 }), id: uuid, w: fc.constantFrom('p1', 'p2') }).map((x) => event('session.finished', x.seq, x.id, { winners: [x.w], result: x.w })),
  fc.record({ seq: fc.integer({ min: 1, max: 30 }), id: uuid, r: fc.constantFrom('left', 'crash') }).map((x) => event('session.abandoned', x.seq, x.id, { reason: x.r })),
  fc.record({ seq: fc.integer({ min: 1, max: 30 }), id: uuid }).map((x) => event('move', x.seq, x.id, { action: 'm' })),
);

const participantEvent = fc.oneof(
  fc.record({ seq: fc.integer({ min: 1, max: 30 }), id: uuid, team: fc.option(fc.constantFrom('1', '2'), { nil: undefined }), role: fc.option(fc.constantFrom('x', 'y'), { nil: undefined }) }).map((x) =>
    event('player.joined', x.seq, x.id, { ...(x.team ? { team: x.team } : {}), ...(x.role ? { role: x.role } : {}), name: `n${x.seq}` }, 'p'),
  ),
  fc.record({ seq: fc.integer({ min: 1, max: 30 }), id: uuid }).map((x) => event('player.left', x.seq, x.id, {}, 'p')),
  fc.record({ seq: fc.integer({ min: 1, max: 30 }), id: uuid, o: fc.constantFrom('win', 'loss', 'draw'), team: fc.option(fc.constantFrom('1', '2'), { nil: undefined }) }).map((x) =>
    event('player.outcome', x.seq, x.id, { outcome: x.o, xp: x.seq, ...(x.team ? { team: x.team } : {}) }, 'p'),
  ),
);

/** Splits `events` into batches at the given cut points, in the given batch order. */
const batches = <T>(arb: fc.Arbitrary<T>) =>
  fc.uniqueArray(arb, { minLength: 1, maxLength: 14, selector: (e) => (e as ValidEvent).id }).chain((events) =>
    fc.tuple(fc.constant(events), fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }), fc.array(fc.nat(events.length), { maxLength: 4 })),
  );

const empty: StoredGroups = { created: null, started: null, settings: null, end: null, endType: null, gameType: null, statTenant: null, idle: false };

function mergeAll(groups: StoredGroups, chunks: ValidEvent[][]) {
  let g = groups;
  const fields: Record<string, unknown> = {};
  for (const chunk of chunks) {
    const d = sessionDeltas(chunk).get(S);
    if (!d) continue;
    const m = mergeSession(g, d);
    if (m.created) fields.created = m.created;
    if (m.started) fields.started = m.started;
    if (m.settings) fields.settings = m.settings;
    if (m.end) fields.end = m.end;
    fields.status = m.status;
    g = m.groups;
  }
  return { groups: g, fields };
}

const cut = <T>(list: T[], cuts: number[]): T[][] => {
  const points = [...new Set(cuts)].sort((a, b) => a - b);
  const out: T[][] = [];
  let from = 0;
  for (const p of [...points, list.length]) {
    out.push(list.slice(from, p));
    from = p;
  }
  return out.filter((c) => c.length);
};

describe('derivation is a function of the events in (seq, id) order', () => {
  it('sessions: any split into batches merged in any order equals one pass in order', () => {
    fc.assert(
      fc.property(batches(sessionEvent), ([events, shuffled, cuts]) => {
        const inOrder = mergeAll(empty, [[...events].sort((a, b) => cmpPos(posOf(a), posOf(b)))]);
        const split = mergeAll(empty, cut(shuffled, cuts));
        expect(split.groups).toEqual(inOrder.groups);
        expect(split.fields.status).toEqual(inOrder.fields.status);
        // The values kept are those of the chosen events, whichever batch brought them.
        for (const k of ['created', 'started', 'settings', 'end'] as const) expect(split.fields[k] ?? null).toEqual(inOrder.fields[k] ?? null);
      }),
      { numRuns: 500 },
    );
  });

  it('participants: any order of events gives the row of the events in order', () => {
    fc.assert(
      fc.property(batches(participantEvent), ([events, shuffled, cuts]) => {
        const inOrder = applyParticipantEvents(emptyParticipant(), [...events].sort((a, b) => cmpPos(posOf(a), posOf(b))));
        let acc = emptyParticipant();
        for (const chunk of cut(shuffled, cuts)) acc = applyParticipantEvents(structuredClone(acc), chunk);
        expect(acc).toEqual(inOrder);
        expect(isPresent(acc)).toBe(isPresent(inOrder));
      }),
      { numRuns: 500 },
    );
  });

  it('RFC 7396: merge patch agrees with a reference implementation, any key included', () => {
    const key = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', 'a', 'b'), fc.string({ maxLength: 3 }));
    const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
      v: fc.oneof({ depthSize: 'small' }, fc.constant(null), fc.integer(), fc.string({ maxLength: 2 }), fc.array(tie('v'), { maxLength: 2 }), fc.dictionary(key, tie('v'), { maxKeys: 3 })),
    })).v;
    const ref = (t: unknown, p: unknown): unknown => {
      if (typeof p !== 'object' || p === null || Array.isArray(p)) return p;
      const out = new Map<string, unknown>(typeof t === 'object' && t !== null && !Array.isArray(t) ? Object.entries(t) : []);
      for (const [k, v] of Object.entries(p)) if (v === null) out.delete(k);
      else out.set(k, ref(out.get(k), v));
      return out;
    };
    // Maps compare key by key whatever the key (a plain object's __proto__ key would confuse a deep equal).
    const asMap = (v: unknown): unknown =>
      v instanceof Map
        ? new Map([...v].map(([k, x]) => [k, asMap(x)]))
        : Array.isArray(v)
          ? v.map(asMap)
          : typeof v === 'object' && v !== null
            ? new Map(Object.entries(v).map(([k, x]) => [k, asMap(x)]))
            : v;
    fc.assert(
      fc.property(fc.dictionary(key, value, { maxKeys: 4 }), fc.dictionary(key, value, { maxKeys: 4 }), (target, patch) => {
        const t = JSON.parse(JSON.stringify(target));
        const p = JSON.parse(JSON.stringify(patch));
        expect(asMap(mergePatch(t, p))).toEqual(asMap(ref(JSON.parse(JSON.stringify(target)), p)));
      }),
      { numRuns: 1000 },
    );
  });
});
