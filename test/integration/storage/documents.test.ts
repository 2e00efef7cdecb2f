/**
 * Documents (doc.put / doc.delete) and game-defined event types through a real worker: applied in seq
 * order behind gaps, folded again for a late event, conditional writes recorded as conflicts, the
 * owner limit, and schemas registered for x.<game>.<name> types enforced with the failing path named.
 */
import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../../../src/contract/ids.ts';
import { registerType } from '../../../src/db/event-types.ts';
import { ormReader } from '../../../src/db/reader.ts';
import { readDocument, readDocuments, readDocumentRejections } from '../../../src/recovery/documents.ts';
import { replay } from '../../../src/recovery/recover.ts';
import { rows, uniqueName, waitFor } from '../../helpers/services.ts';
import { plainQueue, workerFixture } from '../../helpers/worker.ts';

const ctx = workerFixture({ GP_MAX_OWNER_DOCUMENT_BYTES: '2048', GP_GAP_TIMEOUT_S: '0' });
const at = '2026-05-01T10:00:00.000Z';

function ev(sessionId: string, seq: number, type: string, data: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return { id: uuidv7(), type, sessionId, seq, at, data, ...extra };
}
const put = (s: string, seq: number, key: string, value: unknown, extra: Record<string, unknown> = {}) => ev(s, seq, 'doc.put', { collection: 'chunks', key, value, ...extra });

async function send(events: Record<string, unknown>[]): Promise<void> {
  const q = plainQueue(ctx.prefix);
  await q.add('events', { v: 1, events });
  await q.close();
}
async function stored(sessionId: string, n: number): Promise<void> {
  await waitFor(`${n} events of ${sessionId}`, async () => {
    const [r] = await rows(ctx.fx.orm, 'select event_count from sessions where id = $1', [sessionId]);
    return Number(r?.event_count ?? 0) >= n;
  });
}
const reader = () => ormReader(ctx.fx.orm);

describe('documents', () => {
  it('apply in seq order: a write behind a gap waits, and the event that fills the gap applies both in order', async () => {
    const s = uniqueName('doc-gap');
    await send([ev(s, 1, 'session.created', { gameType: 'world' }), put(s, 3, '0:0', { biome: 'desert' }, { expectedVersion: 1 })]);
    await stored(s, 2);
    expect(await readDocument(reader(), s, { collection: 'chunks', key: '0:0' })).toBeNull();
    const [waiting] = await rows(ctx.fx.orm, `select outcome from document_events where session_id = $1 and seq = 3`, [s]);
    expect(waiting?.outcome).toBeNull();

    await send([put(s, 2, '0:0', { biome: 'forest' })]);
    await stored(s, 3);
    const doc = await readDocument(reader(), s, { collection: 'chunks', key: '0:0' });
    expect(doc).toMatchObject({ value: { biome: 'desert' }, version: 2, seq: 3 });
    expect(await readDocumentRejections(reader(), s)).toEqual([]);
  });

  it('record a mismatched expectedVersion as a conflict, never applied, and report it', async () => {
    const s = uniqueName('doc-conflict');
    await send([
      ev(s, 1, 'session.created', { gameType: 'world' }),
      put(s, 2, 'hero', { hp: 10 }, { expectedVersion: 0 }),
      put(s, 3, 'hero', { hp: 99 }, { expectedVersion: 0 }),
      put(s, 4, 'hero', { hp: 8 }, { expectedVersion: 1 }),
      ev(s, 5, 'doc.delete', { collection: 'chunks', key: 'hero', expectedVersion: 7 }),
    ]);
    await stored(s, 5);
    expect(await readDocument(reader(), s, { collection: 'chunks', key: 'hero' })).toMatchObject({ value: { hp: 8 }, version: 2 });
    const rejected = await readDocumentRejections(reader(), s);
    expect(rejected.map((r) => [r.seq, r.outcome, r.expectedVersion, r.version])).toEqual([
      [3, 'conflict', 0, 1],
      [5, 'conflict', 7, 2],
    ]);
  });

  it('never repeat a version after a delete, so a stale expectedVersion cannot match a new document', async () => {
    const s = uniqueName('doc-delete');
    await send([
      ev(s, 1, 'session.created', { gameType: 'world' }),
      put(s, 2, 'k', 'first'),
      ev(s, 3, 'doc.delete', { collection: 'chunks', key: 'k' }),
      put(s, 4, 'k', 'second', { expectedVersion: 0 }),
      put(s, 5, 'k', 'stale', { expectedVersion: 1 }),
    ]);
    await stored(s, 5);
    expect(await readDocument(reader(), s, { collection: 'chunks', key: 'k' })).toMatchObject({ value: 'second', version: 3 });
    expect((await readDocumentRejections(reader(), s)).map((r) => r.seq)).toEqual([5]);
  });

  it('fold a document again when an event arrives below the watermark (two events at one seq), in (seq, id) order', async () => {
    const s = uniqueName('doc-late');
    const ids = [uuidv7(), uuidv7()].sort();
    const first = { ...put(s, 2, 'k', 'low-id'), id: ids[0] };
    const second = { ...put(s, 2, 'k', 'high-id'), id: ids[1] };
    // The higher id arrives first and is applied; the lower one, at the same seq, arrives after.
    await send([ev(s, 1, 'session.created', { gameType: 'world' }), second, put(s, 3, 'k', 'third', { expectedVersion: 2 })]);
    await stored(s, 3);
    expect(await readDocument(reader(), s, { collection: 'chunks', key: 'k' })).toMatchObject({ value: 'high-id', version: 1 });
    await send([first]);
    await stored(s, 4);
    // In (seq, id) order: low-id (v1), high-id (v2), third expecting v2 (v3).
    expect(await readDocument(reader(), s, { collection: 'chunks', key: 'k' })).toMatchObject({ value: 'third', version: 3 });
    const outcomes = await rows(ctx.fx.orm, 'select id, outcome, version from document_events where session_id = $1 order by seq, id', [s]);
    expect(outcomes.map((r) => [r.outcome, r.version])).toEqual([['applied', 1], ['applied', 2], ['applied', 3]]);
  });

  it('keep each owner under its byte limit and list a collection by prefix, range and pages', async () => {
    const s = uniqueName('doc-owner');
    const big = 'x'.repeat(900);
    await send([
      ev(s, 1, 'session.created', { gameType: 'world' }),
      put(s, 2, 'a:1', big),
      put(s, 3, 'a:2', big),
      put(s, 4, 'b:1', big), // 3 × 902 bytes > 2048: over the session's limit
      ev(s, 5, 'doc.put', { collection: 'inventory', key: 'bag', value: { gold: 1 }, owner: 'player' }, { player: 'ann' }),
      put(s, 6, 'a:3', 'small'),
    ]);
    await stored(s, 6);
    expect((await readDocumentRejections(reader(), s)).map((r) => [r.seq, r.outcome])).toEqual([[4, 'over_limit']]);
    const page1 = await readDocuments(reader(), s, { collection: 'chunks', prefix: 'a:', limit: 2 });
    expect(page1.documents.map((d) => d.key)).toEqual(['a:1', 'a:2']);
    const page2 = await readDocuments(reader(), s, { collection: 'chunks', prefix: 'a:', limit: 2, after: page1.next! });
    expect(page2.documents.map((d) => d.key)).toEqual(['a:3']);
    expect(page2.next).toBeNull();
    expect((await readDocuments(reader(), s, { collection: 'chunks', from: 'a:2', to: 'a:3' })).documents.map((d) => d.key)).toEqual(['a:2']);
    // The player's own documents are apart from the session's (and count against the player's limit).
    expect(await readDocument(reader(), s, { collection: 'inventory', key: 'bag' })).toBeNull();
    expect(await readDocument(reader(), s, { collection: 'inventory', key: 'bag', player: 'ann' })).toMatchObject({ value: { gold: 1 }, player: 'ann' });
  });
});

describe('game-defined event types', () => {
  it('are stored in their own table and replayed as sent; a registered schema dead-letters a bad one naming its path', async () => {
    const s = uniqueName('custom');
    await registerType((sql, p) => reader().read(sql, p), 'x.adventure.story_choice', {
      type: 'object',
      properties: { scene: { type: 'string' }, option: { type: 'integer', minimum: 0 } },
      required: ['scene', 'option'],
      additionalProperties: false,
    });
    const good = ev(s, 2, 'x.adventure.story_choice', { scene: 'gate', option: 1 }, { player: 'ann' });
    const bad = ev(s, 3, 'x.adventure.story_choice', { scene: 'gate', option: -1 }, { player: 'ann' });
    const free = ev(s, 4, 'x.adventure.world_log', { text: 'the river rose', nested: { deep: [1, 2, { x: null }] } });
    await send([ev(s, 1, 'session.created', { gameType: 'world' }), good, bad, free]);
    await waitFor('the bad choice dead-lettered', async () => (await rows(ctx.fx.orm, 'select 1 from dead_letters where event_id = $1', [bad.id])).length === 1);
    await stored(s, 3);
    const [dl] = await rows(ctx.fx.orm, 'select field, reason from dead_letters where event_id = $1', [bad.id]);
    expect(dl).toMatchObject({ field: 'data.option' });
    expect(dl?.reason).toMatch(/must be >= 0/);
    const history = [];
    for await (const h of replay(ctx.fx.orm, s)) history.push(h);
    expect(history.map((h) => [h.seq, h.type, h.data])).toEqual([
      [1, 'session.created', { gameType: 'world' }],
      [2, 'x.adventure.story_choice', { scene: 'gate', option: 1 }],
      [4, 'x.adventure.world_log', { text: 'the river rose', nested: { deep: [1, 2, { x: null }] } }],
    ]);
    const [row] = await rows(ctx.fx.orm, 'select player_id, type from custom_events where id = $1', [good.id]);
    expect(row).toEqual({ player_id: 'ann', type: 'x.adventure.story_choice' });
  });
});
