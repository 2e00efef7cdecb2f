/**
 * Issue 19, item 3: an `Idempotency-Key` reused with another body is refused with 422
 * `idempotency_mismatch` (draft-ietf-httpapi-idempotency-key-header), on both API stores (Redis, and
 * PostgreSQL's `api_records` with GP_QUEUE_BACKEND=postgres); a true retry (the same bytes) still gets
 * the first answer, and a record the previous version wrote (no fingerprint) is still honoured. On
 * main a reuse with another body of the same event count got the first batch's ids and seqs (200) and
 * its events were enqueued under those ids.
 */
import { Redis } from 'ioredis';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../../src/api/server.ts';
import { createApiKey } from '../../../src/api/keys.ts';
import { pgApiStore, redisApiStore, type ApiStore } from '../../../src/api/store.ts';
import { uuidv7 } from '../../../src/contract/ids.ts';
import type { QueueBackend } from '../../../src/queue/backend-names.ts';
import { query } from '../../../src/db/query.ts';
import { REDIS_URL, BACKENDS, backendEnv, rows, testConfig, waitFor } from '../../helpers/services.ts';
import { workerFixture } from '../../helpers/worker.ts';

describe.each(BACKENDS)('Idempotency-Key on the %s backend', (backend: QueueBackend) => {
  const ctx = workerFixture({}, backend);
  let app: FastifyInstance;
  let base = '';
  let redis: Redis | undefined;
  let store: ApiStore;
  let key = { id: '', key: '' };

  beforeAll(async () => {
    redis = backend === 'redis' ? new Redis(REDIS_URL) : undefined;
    const cfg = testConfig(ctx.fx.db.url, ctx.prefix, { ...backendEnv(backend), GP_API_RATE_LIMIT: '0', GP_API_BODY_LIMIT: String(64 * 1024) });
    app = await buildApi({ cfg, orm: ctx.fx.orm, ...(redis ? { redis } : {}) });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    key = await createApiKey(ctx.fx.orm, { name: 'idem', scopes: ['ingest', 'read'] });
    store = redis ? redisApiStore(redis) : pgApiStore({ query: async (text, values) => ({ rows: await query(ctx.fx.orm.em.fork(), text, values) }) });
  });
  afterAll(async () => {
    await app?.close();
    await redis?.quit();
  });

  async function post(body: string, idem: string, type = 'application/json') {
    // A 503 (the queue's store not reachable yet on a loaded machine) answered nothing and released the
    // key: retry, as a client does.
    for (let i = 0; ; i++) {
      const res = await fetch(`${base}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${key.key}`, 'content-type': type, 'idempotency-key': idem }, body });
      const answer = { status: res.status, body: JSON.parse(await res.text()) };
      if (answer.status !== 503 || i === 5) return answer;
      await new Promise((r) => setTimeout(r, 1000 * Number(res.headers.get('retry-after') ?? 1)));
    }
  }
  const chats = (sid: string, texts: string[]) => JSON.stringify(texts.map((text) => ({ type: 'chat.message', sessionId: sid, player: 'p1', data: { text } })));

  it('refuses a key reused with another body of the same size (422) and answers a true retry with the first answer', async () => {
    const sid = `idem-${backend}-${uuidv7()}`;
    const idem = `batch-${uuidv7()}`;
    const first = await post(chats(sid, ['one', 'two', 'three']), idem);
    expect(first.status).toBe(200);
    const seqs = first.body.results.map((r: { seq: number }) => r.seq);
    expect(seqs).toEqual([seqs[0], seqs[0] + 1, seqs[0] + 2]);

    const other = await post(chats(sid, ['evil-1', 'evil-2', 'evil-3']), idem);
    expect(other).toMatchObject({ status: 422, body: { error: { code: 'idempotency_mismatch' } } });
    // The same events with other spacing are other bytes: a retry must send the very bytes it sent.
    expect((await post(chats(sid, ['one', 'two', 'three']).replaceAll(',', ', '), idem)).status).toBe(422);

    // A true retry, and the same key in the draft's Structured Field String form: the first answer.
    expect(await post(chats(sid, ['one', 'two', 'three']), idem)).toEqual(first);
    expect(await post(chats(sid, ['one', 'two', 'three']), `"${idem}"`)).toEqual(first);

    // What is stored is the first body, once; nothing of the refused one, no seq conflict.
    await waitFor('the first batch stored', async () => (await rows(ctx.fx.orm, 'select 1 from chat_messages where session_id = $1', [sid])).length === 3, 60_000);
    const stored = await rows<{ text: string; seq: string; id: string }>(ctx.fx.orm, 'select text, seq::text, id::text from chat_messages where session_id = $1 order by seq', [sid]);
    expect(stored.map((r) => [r.text, Number(r.seq), r.id])).toEqual(first.body.results.map((r: { id: string; seq: number }, i: number) => [['one', 'two', 'three'][i], r.seq, r.id]));
    expect(await rows(ctx.fx.orm, 'select 1 from seq_conflicts where session_id = $1', [sid])).toEqual([]);
  });

  it('hashes the body as it arrives without changing its limit or its parsing (NDJSON too)', async () => {
    const sid = `idem-nd-${backend}-${uuidv7()}`;
    const idem = `nd-${uuidv7()}`;
    const lines = JSON.parse(chats(sid, ['a', 'b'])).map((e: unknown) => JSON.stringify(e)).join('\n');
    const first = await post(lines, idem, 'application/x-ndjson');
    expect(first.status).toBe(200);
    expect(await post(lines, idem, 'application/x-ndjson')).toEqual(first);
    expect(await post(`${lines}\n`, idem, 'application/x-ndjson')).toMatchObject({ status: 422 });
    expect(await post(chats(sid, ['x'.repeat(70 * 1024)]), `big-${uuidv7()}`)).toMatchObject({ status: 413, body: { error: { code: 'body_too_large' } } });
  });

  it('honours a record the previous version wrote (no fingerprint) by its event count', async () => {
    const sid = `idem-legacy-${backend}-${uuidv7()}`;
    const idem = `legacy-${uuidv7()}`;
    const ids = [uuidv7(), uuidv7()];
    // What the previous version stored: the answer only, under the same key.
    await store.put(`${ctx.prefix}:api-idem:${key.id}:${idem}`, JSON.stringify([[ids[0], 7], [ids[1], 8]]), 600);
    const retry = await post(chats(sid, ['a', 'b']), idem);
    expect(retry.status).toBe(200);
    expect(retry.body.results.map((r: { id: string; seq: number }) => [r.id, r.seq])).toEqual([[ids[0], 7], [ids[1], 8]]);
    expect(await post(chats(sid, ['a', 'b', 'c']), idem)).toMatchObject({ status: 422, body: { error: { code: 'idempotency_mismatch' } } });
  });
});
