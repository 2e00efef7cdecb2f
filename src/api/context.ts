/**
 * What every route module of the HTTP API is given by `buildApi` (./server.ts): the configuration and
 * the connections it opened or was handed. Routes open nothing of their own.
 */
import type { Redis } from 'ioredis';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../config.ts';
import type { Producer } from '../producers/producer.ts';
import type { TypeRegistry } from '../db/event-types.ts';
import type { Reader } from '../db/reader.ts';
import type { ApiStore } from './store.ts';
import type { Idempotency } from './idempotency.ts';
import type { ApiMetrics } from './metrics.ts';
import type { ApiReadiness } from './readiness.ts';

export interface ApiContext {
  cfg: Readonly<Config>;
  /** The primary: writes, key checks, registrations. */
  orm: MikroORM;
  /** Reads (a replica when DATABASE_READ_URL is set). */
  reader: Reader;
  producer: Producer;
  types: TypeRegistry;
  /** Short-lived shared records: Idempotency-Key answers, tenant claims. */
  store: ApiStore;
  idempotency: Idempotency;
  /** The Redis queue backend's client; undefined with GP_QUEUE_BACKEND=postgres. */
  redis: Redis | undefined;
  metrics: ApiMetrics;
  /** Whether ingest can go through yet (start-up); its gate holds POST /v1/events until then. */
  readiness: ApiReadiness;
}
