/**
 * Issue 19, item 9: LLM logs at real size. An `agent.log` with a prompt, a response and a thinking
 * text of GP_MAX_AGENT_TEXT_BYTES each (1 MiB: a 4X game's prompt carries its whole state) goes in
 * through the SDK, a raw BullMQ job and `POST /v1/events`, on both queue backends, is stored by a
 * real worker, and comes back byte-identical from replay and recovery. One byte over is refused naming
 * its field on every way in, and nothing else of its batch, job or request is lost. The SDK sends
 * such an event alone in its job. On main the contract capped prompt and response at 32,768
 * characters (and had no thinking text), so all of it was refused.
 */
import { Redis } from 'ioredis';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../../src/api/server.ts';
import { createApiKey } from '../../../src/api/keys.ts';
import { uuidv7 } from '../../../src/contract/ids.ts';
import { DEFAULT_LIMITS, EVENT_JOB_NAME } from '../../../src/contract/limits.ts';
import type { QueueBackend } from '../../../src/queue/backend-names.ts';
import { createProducer, type Producer } from '../../../src/producers/index.ts';
import { recoverSession, replay } from '../../../src/recovery/recover.ts';
import { waitPersisted } from '../../../src/recovery/wait.ts';
import { ContractError } from '../../../src/errors.ts';
import type { EventsQueue } from '../../../src/queue/backend.ts';
import { BACKENDS, REDIS_URL, backendEnv, dropPrefix, queueUrl, rows, testConfig, uniqueName } from '../../helpers/services.ts';
import { plainQueue, workerFixture } from '../../helpers/worker.ts';

const LIMIT = DEFAULT_LIMITS.maxAgentTextBytes;

/**
 * Text of exactly `bytes` UTF-8 bytes that looks like a prompt: JSON of a game state (quotes, braces,
 * newlines), prose, accents and an emoji, so escapes and multi-byte characters travel too.
 */
function text(bytes: number, seed: string): string {
  const piece = `${seed}: {"tiles":{"3,4":{"owner":"chen","units":[{"type":"archer","hp":71}]}},"note":"défense\\ncôte"}\n🤔 Reasoning about the northern border, turn 41.\t`;
  let out = piece.repeat(Math.floor(bytes / Buffer.byteLength(piece)));
  out += 'x'.repeat(bytes - Buffer.byteLength(out));
  expect(Buffer.byteLength(out)).toBe(bytes);
  return out;
}

const PROMPT = text(LIMIT, 'prompt');
const RESPONSE = text(LIMIT, 'response');
const THINKING = text(LIMIT, 'thinking');

const agentData = (over?: 'prompt' | 'thinking') => ({
  model: 'deepseek-r1-distill-14b',
  provider: 'vllm',
  turn: 41,
  prompt: over === 'prompt' ? `${PROMPT}y` : PROMPT,
  response: RESPONSE,
  thinking: over === 'thinking' ? `${THINKING}é` : THINKING,
  promptTokens: 262_144,
  completionTokens: 262_144,
  thinkingTokens: 262_144,
  latencyMs: 81_234.5,
});

/** The session's stored agent.log texts, by seq, through replay and through recovery. */
async function readBack(db: Parameters<typeof replay>[0], sessionId: string) {
  const replayed: Record<number, Record<string, unknown>> = {};
  for await (const e of replay(db, sessionId)) if (e.type === 'agent.log') replayed[e.seq] = e.data as Record<string, unknown>;
  const recovered = (await recoverSession(db, sessionId))!;
  const tail = [...recovered.sinceState, ...recovered.tail].filter((e) => e.type === 'agent.log');
  return { replayed, recovered: tail.map((e) => e.data as Record<string, unknown>) };
}

function expectIdentical(data: Record<string, unknown> | undefined) {
  expect(data).toBeDefined();
  // Compared as bytes too: a changed normalisation or encoding would show here.
  for (const [k, sent] of [['prompt', PROMPT], ['response', RESPONSE], ['thinking', THINKING]] as const) {
    expect(Buffer.from(String(data![k]), 'utf8').equals(Buffer.from(sent, 'utf8')), k).toBe(true);
  }
  expect(data).toMatchObject({ model: 'deepseek-r1-distill-14b', promptTokens: 262_144, thinkingTokens: 262_144 });
}

describe.each(BACKENDS)('agent.log texts of 1 MiB on the %s backend', (backend: QueueBackend) => {
  const ctx = workerFixture({}, backend);
  let producer: Producer;
  let queue: EventsQueue;
  let app: FastifyInstance;
  let base = '';
  let redis: Redis | undefined;
  let key = '';

  beforeAll(async () => {
    producer = createProducer({ connection: queueUrl(backend, ctx.fx.db.url), prefix: ctx.prefix });
    queue = plainQueue(ctx.prefix, backend === 'postgres' ? ctx.fx.db.url : undefined);
    redis = backend === 'redis' ? new Redis(REDIS_URL) : undefined;
    app = await buildApi({ cfg: testConfig(ctx.fx.db.url, ctx.prefix, { ...backendEnv(backend), GP_API_RATE_LIMIT: '0' }), orm: ctx.fx.orm, ...(redis ? { redis } : {}) });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    key = (await createApiKey(ctx.fx.orm, { name: 'agents', scopes: ['ingest'] })).key;
  });
  afterAll(async () => {
    await producer?.close();
    await queue?.close();
    await app?.close();
    await redis?.quit();
  });

  it('stores them through the SDK and refuses one a byte over by its field, the events beside it landing', async () => {
    const sid = `agents-sdk-${uuidv7()}`;
    const sent = await Promise.allSettled([
      producer.chatMessage({ sessionId: sid, player: 'chen', text: 'before' }),
      producer.agentLog({ sessionId: sid, player: 'chen', ...agentData() }),
      producer.agentLog({ sessionId: sid, player: 'chen', ...agentData('thinking') }),
      producer.chatMessage({ sessionId: sid, player: 'chen', text: 'after' }),
    ]);
    expect(sent.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    const refused = (sent[2] as PromiseRejectedResult).reason;
    expect(refused).toBeInstanceOf(ContractError);
    expect(refused).toMatchObject({ field: 'data.thinking', reason: expect.stringContaining(`${LIMIT}-byte limit`) });
    const seqs = sent.flatMap((s) => (s.status === 'fulfilled' ? [s.value.seq!] : []));
    await waitPersisted(ctx.fx.orm, sid, Math.max(...seqs), { timeoutMs: 60_000 });
    const back = await readBack(ctx.fx.orm, sid);
    expectIdentical(back.replayed[seqs[1]!]);
    expectIdentical(back.recovered[0]);
    expect((await rows(ctx.fx.orm, 'select text from chat_messages where session_id = $1 order by seq', [sid])).map((r) => r.text)).toEqual(['before', 'after']);
    // Stored compressed (TOAST, pglz): far below the 3 MiB sent.
    const [size] = await rows<{ n: string }>(ctx.fx.orm, 'select pg_column_size(prompt) + pg_column_size(response) + pg_column_size(thinking) as n from agent_logs where session_id = $1', [sid]);
    expect(Number(size!.n)).toBeLessThan(LIMIT);
  });

  it('stores them from a raw job and dead-letters the one over the limit alone', async () => {
    const sid = `agents-job-${uuidv7()}`;
    const at = new Date().toISOString();
    const ev = (seq: number, type: string, data: Record<string, unknown>) => ({ id: uuidv7(), type, sessionId: sid, seq, at, player: 'chen', data });
    const events = [ev(1, 'chat.message', { text: 'before' }), ev(2, 'agent.log', agentData()), ev(3, 'agent.log', agentData('prompt')), ev(4, 'chat.message', { text: 'after' })];
    const job = await queue.add(EVENT_JOB_NAME, { v: 1, events });
    await expect.poll(async () => (await rows(ctx.fx.orm, 'select field, event_id from dead_letters where job_id = $1', [String(job.id)])), { timeout: 60_000 }).toEqual([{ field: 'data.prompt', event_id: events[2]!.id }]);
    await expect.poll(async () => (await rows(ctx.fx.orm, 'select text from chat_messages where session_id = $1 order by seq', [sid])).map((r) => r.text), { timeout: 60_000 }).toEqual(['before', 'after']);
    const back = await readBack(ctx.fx.orm, sid);
    expectIdentical(back.replayed[2]);
  });

  it('stores them through POST /v1/events and refuses one a byte over by its field, the others accepted', async () => {
    const sid = `agents-http-${uuidv7()}`;
    const body = JSON.stringify([
      { type: 'chat.message', sessionId: sid, player: 'chen', data: { text: 'before' } },
      { type: 'agent.log', sessionId: sid, player: 'chen', data: agentData() },
      { type: 'agent.log', sessionId: sid, player: 'chen', data: agentData('prompt') },
      { type: 'chat.message', sessionId: sid, player: 'chen', data: { text: 'after' } },
    ]);
    expect(Buffer.byteLength(body)).toBeGreaterThan(6 * LIMIT);
    // A 503 (the queue's store not reachable yet on a loaded machine) answered nothing: retry, as a client does.
    let res: Response;
    for (let i = 0; ; i++) {
      res = await fetch(`${base}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body });
      if (res.status !== 503 || i === 5) break;
      await res.arrayBuffer();
      await new Promise((r) => setTimeout(r, 1000 * Number(res.headers.get('retry-after') ?? 1)));
    }
    const answer = (await res.json()) as { results: { status: string; field?: string; seq?: number }[] };
    expect(res.status, JSON.stringify(answer).slice(0, 300)).toBe(200);
    expect(answer.results.map((r) => r.field ?? r.status)).toEqual(['accepted', 'accepted', 'data.prompt', 'accepted']);
    await waitPersisted(ctx.fx.orm, sid, 3, { timeoutMs: 60_000 });
    const back = await readBack(ctx.fx.orm, sid);
    expectIdentical(back.replayed[answer.results[1]!.seq!]);
    expect((await rows(ctx.fx.orm, 'select text from chat_messages where session_id = $1 order by seq', [sid])).map((r) => r.text)).toEqual(['before', 'after']);
    // GP_API_BODY_LIMIT is for POST /v1/events: another route's body stops at 1 MiB.
    const admin = (await createApiKey(ctx.fx.orm, { name: 'admin', scopes: ['admin'] })).key;
    const big = await fetch(`${base}/v1/contract/types/x.agents.big`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ schema: { type: 'object', description: 'd'.repeat(2 * LIMIT) } }),
    });
    expect({ status: big.status, body: await big.json() }).toMatchObject({ status: 413, body: { error: { code: 'body_too_large', message: `request body over ${LIMIT} bytes` } } });
  });
});

describe('the SDK with a 1 MiB agent.log among small events', () => {
  const prefix = uniqueName('q');
  afterAll(async () => {
    await dropPrefix(prefix);
  });

  it('sends it alone in its job, the small events in jobs of their own', async () => {
    // No worker on this prefix: the jobs stay in the queue to be looked at.
    const producer = createProducer({ connection: REDIS_URL, prefix, lingerMs: 50 });
    const sid = `agents-jobs-${uuidv7()}`;
    try {
      await Promise.all([
        ...Array.from({ length: 3 }, (_, i) => producer.move({ sessionId: sid, action: `a${i}`, seq: i + 1 })),
        producer.agentLog({ sessionId: sid, seq: 4, ...agentData() }),
        ...Array.from({ length: 3 }, (_, i) => producer.move({ sessionId: sid, action: `b${i}`, seq: i + 5 })),
      ]);
      const jobs = await producer.queue.getJobs(['waiting', 'prioritized', 'delayed'], 0, 100, true);
      const shapes = jobs.map((j) => (j.data as { events: { type: string; seq: number }[] }).events.map((e) => `${e.type}#${e.seq}`)).sort();
      expect(shapes).toEqual([['agent.log#4'], ['move#1', 'move#2', 'move#3'], ['move#5', 'move#6', 'move#7']].sort());
    } finally {
      await producer.close();
    }
  });
});
