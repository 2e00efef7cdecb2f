/**
 * A producer whose Redis was down while its queue started (or crashed during it, as the chaos suite's
 * host crash of Redis did): BullMQ's start-up version check fails, and BullMQ keeps that failed start
 * for good, so every later flush failed as "connection lost" although Redis was back. The producer must
 * send again by itself once Redis answers. Runs its own redis-server, never the shared one.
 */
import { Redis } from 'ioredis';
import { afterAll, expect, it } from 'vitest';
import { EnqueueError, createProducer, type Producer } from '../../../src/producers/index.ts';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server.ts';
import { uniqueName } from '../../helpers/services.ts';

let srv: RedisServer | undefined;
let producer: Producer | undefined;
afterAll(async () => {
  await producer?.close().catch(() => {});
  await srv?.stop();
});

it('sends once Redis is back after failing its start-up', { timeout: 60_000 }, async () => {
  // A port nothing listens on now, and a server on it later.
  const first = await startRedisServer();
  const port = first.port;
  await first.stop();
  const prefix = uniqueName('q');
  producer = createProducer({ connection: `redis://127.0.0.1:${port}`, prefix, readyTimeoutMs: 300 });
  const event = () => ({ type: 'session.created' as const, sessionId: uniqueName('s'), data: { gameType: 'chaos' } });
  // Down: refused with a typed reason (the queue's start-up fails meanwhile).
  const down = await producer.emit(event()).then(() => null, (e: unknown) => e);
  expect(down).toBeInstanceOf(EnqueueError);
  expect((down as EnqueueError).reason).toBe('redis_unavailable');
  await new Promise((r) => setTimeout(r, 1000));
  srv = await startRedisServer([], { port });
  // Back: accepted within a few tries (the first flush after the failure may still fail).
  let accepted: { id: string; seq: number | null } | null = null;
  let last: unknown = null;
  for (let i = 0; i < 20 && !accepted; i++) {
    accepted = await producer.emit(event()).catch((e: unknown) => ((last = e), null));
    if (!accepted) await new Promise((r) => setTimeout(r, 250));
  }
  expect(accepted, String(last)).not.toBeNull();
  const r = new Redis(srv.url);
  try {
    expect(Number(await r.exists(`${prefix}:game-events:meta`)) + (await r.keys(`${prefix}:*`)).length).toBeGreaterThan(0);
  } finally {
    r.disconnect();
  }
});
