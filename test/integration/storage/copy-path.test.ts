/**
 * The write path's COPY (src/db/copy.ts, writeBatch): texts COPY must escape come back exactly; a batch
 * holding events stored before (a redelivery) falls back to the INSERT that skips them and counts only
 * the new ones; a value COPY text cannot carry, or one PostgreSQL refuses, ends exactly as it did on the
 * INSERT path: the row dead-lettered, every other event of the batch stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from '../../../src/contract/ids.ts';
import { validateEvent, type CheckedEvent } from '../../../src/contract/validate.ts';
import { familyCopyText, NotCopyable } from '../../../src/db/copy.ts';
import { writeBatch } from '../../../src/workers/write-batch.ts';
import { openFixture, rows, type Fixture } from '../../helpers/services.ts';

let fx: Fixture;
beforeAll(async () => {
  fx = await openFixture();
});
afterAll(async () => {
  await fx?.close();
});

const AT = '2026-03-04T05:06:07.123Z';
function chat(sessionId: string, seq: number, text: string, meta?: unknown): CheckedEvent {
  return validateEvent({ id: uuidv7(), type: 'chat.message', sessionId, seq, at: AT, player: 'p-1', data: { text, channel: 'c\t1', ...(meta === undefined ? {} : { meta }) } });
}
/** An event the validator would refuse (it refuses NUL and lone surrogates): what the writer must still survive. */
function unchecked(e: CheckedEvent, data: Record<string, unknown>): CheckedEvent {
  return { ...e, data: { ...e.data, ...data } };
}
const opts = { retries: 2, backoffMs: 10 };

describe('COPY text', () => {
  it('carries tabs, newlines, backslashes, quotes and any Unicode in text and jsonb exactly', async () => {
    const sid = `copy-text-${uuidv7()}`;
    const texts = ['a\tb\nc\rd\\e', '\\N', '\\', 'quote " and \' and \\"', 'émoji 🎲 ⟨⟩ 中文', ' leading and trailing ', '', '\u0001\u001f control'];
    const metas = [{ s: 'back\\slash "q" \n nl \t tab', n: 1.5, deep: [[{ x: '\\N' }]] }, { a: ['\u2028', '🎲'] }, undefined, { plain: true }];
    const events = texts.map((t, i) => chat(sid, i + 1, t, metas[i % metas.length]));
    const r = await writeBatch(fx.orm, events, [], opts);
    expect(r.inserted).toBe(events.length);
    expect(r.copied).toBe(events.length);
    const stored = await rows<{ id: string; text: string; channel: string; data: unknown }>(fx.orm, 'SELECT id, text, channel, data FROM chat_messages WHERE session_id = $1 ORDER BY seq', [sid]);
    expect(stored.map((s) => s.text)).toEqual(texts);
    expect(stored.map((s) => s.channel)).toEqual(texts.map(() => 'c\t1'));
    expect(stored.map((s) => s.data)).toEqual(events.map((e) => e.data.meta ?? null));
  });

  it('refuses a NUL or a lone surrogate, which the INSERT path then judges', () => {
    const sid = `copy-refuse-${uuidv7()}`;
    expect(() => familyCopyText('chat', [unchecked(chat(sid, 1, 'x'), { text: 'nul \u0000 inside' })])).toThrow(NotCopyable);
    expect(() => familyCopyText('chat', [unchecked(chat(sid, 1, 'x'), { text: 'lone \ud800 surrogate' })])).toThrow(NotCopyable);
    expect(familyCopyText('chat', [chat(sid, 1, 'fine')])).toContain('fine');
  });
});

describe('a batch that COPY cannot take whole', () => {
  it('holding events stored before, stores only the new ones and counts the others as duplicates', async () => {
    const sid = `copy-dup-${uuidv7()}`;
    const first = Array.from({ length: 20 }, (_, i) => chat(sid, i + 1, `m${i}`));
    expect((await writeBatch(fx.orm, first, [], opts)).copied).toBe(20);
    // A redelivery: ten of the stored events again, beside ten new ones.
    const again = [...first.slice(5, 15), ...Array.from({ length: 10 }, (_, i) => chat(sid, 21 + i, `n${i}`))];
    const r = await writeBatch(fx.orm, again, [], opts);
    expect(r.inserted).toBe(10);
    expect(r.copied).toBe(0);
    expect(r.duplicates).toBe(10);
    expect(r.committed.map((e) => e.seq).sort((a, b) => a! - b!)).toEqual(Array.from({ length: 10 }, (_, i) => 21 + i));
    const [s] = await rows<{ n: string; count: string; last: string }>(fx.orm, 'SELECT (SELECT count(*) FROM chat_messages WHERE session_id = $1) AS n, event_count AS count, applied_seq AS last FROM sessions WHERE id = $1', [sid]);
    expect(s).toEqual({ n: '30', count: '30', last: '30' });
  });

  it('with a value PostgreSQL refuses, dead-letters that event alone and stores the rest', async () => {
    const sid = `copy-bad-${uuidv7()}`;
    const good = Array.from({ length: 9 }, (_, i) => chat(sid, i + 1, `ok${i}`));
    // A NUL escape inside jsonb: valid JSON, but PostgreSQL's jsonb refuses \u0000 (22P05).
    const bad = unchecked(chat(sid, 10, 'bad meta'), { meta: { s: 'x\u0000y' } });
    const r = await writeBatch(fx.orm, [...good.slice(0, 4), bad, ...good.slice(4)], [], opts);
    expect(r.inserted).toBe(9);
    expect(r.deadLettered).toBe(1);
    const dl = await rows<{ event_id: string; reason_code: string }>(fx.orm, 'SELECT event_id, reason_code FROM dead_letters WHERE session_id = $1', [sid]);
    expect(dl).toEqual([{ event_id: bad.id, reason_code: 'db_rejected' }]);
  });

  it('with a text COPY cannot carry, stores or dead-letters it as the INSERT path does', async () => {
    const sid = `copy-nul-${uuidv7()}`;
    const good = Array.from({ length: 5 }, (_, i) => chat(sid, i + 1, `ok${i}`));
    const nul = unchecked(chat(sid, 6, 'x'), { text: 'nul \u0000 inside' });
    const r = await writeBatch(fx.orm, [...good, nul], [], opts);
    // PostgreSQL's text cannot hold NUL: the INSERT refuses it, the batch is split and the row isolated.
    expect(r.inserted).toBe(5);
    expect(r.deadLettered).toBe(1);
  });
});
