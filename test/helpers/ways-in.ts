/**
 * The three ways an event comes in, on one test database and queue prefix: the SDK's producer, a real
 * HTTP API (`buildApi`, with a fresh ingest key) and a plain BullMQ queue, with an in-process worker
 * storing what they enqueue. For tests that hold the three to one verdict.
 */
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { buildApi } from '../../src/api/server.ts';
import { createApiKey } from '../../src/api/keys.ts';
import { createProducer, type Producer } from '../../src/producers/index.ts';
import type { EventsQueue } from '../../src/queue/backend.ts';
import { REDIS_URL, testConfig } from './services.ts';
import { plainQueue, workerFixture } from './worker.ts';

export interface WaysIn {
  /** The API's base URL. */
  base: string;
  /** An ingest key for it. */
  key: string;
  producer: Producer;
  queue: EventsQueue;
}

/** workerFixture() plus the three ways in, opened before the file's tests and closed after (read the fields inside tests). */
export function waysInFixture(keyName: string) {
  const ctx = workerFixture() as ReturnType<typeof workerFixture> & WaysIn;
  let app: FastifyInstance | undefined;
  let redis: Redis | undefined;
  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    app = await buildApi({ cfg: testConfig(ctx.fx.db.url, ctx.prefix, { GP_API_RATE_LIMIT: '0' }), orm: ctx.fx.orm, redis });
    ctx.base = await app.listen({ port: 0, host: '127.0.0.1' });
    ctx.key = (await createApiKey(ctx.fx.orm, { name: keyName, scopes: ['ingest'] })).key;
    ctx.producer = createProducer({ connection: REDIS_URL, prefix: ctx.prefix });
    ctx.queue = plainQueue(ctx.prefix);
  });
  afterAll(async () => {
    await ctx.producer?.close();
    await ctx.queue?.close();
    await app?.close();
    await redis?.quit();
  });
  return ctx;
}
