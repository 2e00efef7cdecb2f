/**
 * `game-persist serve`: the HTTP/JSON API (Fastify 5). Stateless: every replica reads PostgreSQL and
 * enqueues to the same BullMQ queue with the same sequence counters as the SDK, so any number run
 * behind a load balancer; rate limits are counted in Redis, shared by all replicas. With
 * GP_QUEUE_BACKEND=postgres nothing here touches Redis: the queue and counters are in PostgreSQL, so
 * are Idempotency-Key records and tenant claims (./store.ts), and rate limits are counted in each
 * process's memory (a client spread over N replicas gets up to N times its limit).
 *
 * Every route but /healthz, /readyz (./readiness.ts) and /openapi.json needs an API key (`Authorization: Bearer gpk_…`) with the
 * route's scope; a tenant-restricted key sees only its tenant's sessions. Every error is a JSON body
 * `{ "error": { "code", "message" } }` with a stable code (docs/http.md).
 */
import { readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import type { Redis } from 'ioredis';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { ApiError, ConfigError, ContractError, GamePersistError, EnqueueError, BackpressureError, AnalyticsError, TimeoutError, errorMessage, redactSecrets } from '../errors.ts';
import type { Producer } from '../producers/producer.ts';
import { createProducer, producerOptions } from '../producers/index.ts';
import { pgSequenceSeed } from '../recovery/sequence-seed.ts';
import { TypeRegistry } from '../db/event-types.ts';
import { createReader, ormReader, type Reader } from '../db/reader.ts';
import { query } from '../db/query.ts';
import { sqlState } from '../workers/db-errors.ts';
import { VERSION } from '../version.ts';
import { REDIS_OUT_OF_MEMORY_MESSAGE, classifyRedisError } from '../redis-errors.ts';
import { bearerOk } from '../metrics/http.ts';
import { KeyVerifier, TENANT_ADMIN, type ApiKeyInfo, type Scope } from './keys.ts';
import { Idempotency } from './idempotency.ts';
import { pgApiStore, redisApiStore, type ApiStore } from './store.ts';
import { apiMetrics } from './metrics.ts';
import { rateLimits } from './rate-limits.ts';
import { apiReadiness } from './readiness.ts';
import type { ApiContext } from './context.ts';
import { eventRoutes } from './routes/events.ts';
import { sessionRoutes } from './routes/sessions.ts';
import { playerRoutes } from './routes/players.ts';
import { boardRoutes } from './routes/boards.ts';
import { tenantRoutes } from './routes/tenants.ts';
import { documentRoutes } from './routes/documents.ts';
import { typeRoutes } from './routes/types.ts';

declare module 'fastify' {
  interface FastifyRequest {
    apiKey: ApiKeyInfo | null;
  }
  interface FastifyContextConfig {
    /** The scope a route needs; absent = public (health, the OpenAPI document). */
    scope?: Scope;
  }
}

export interface ApiDeps {
  cfg: Readonly<Config>;
  orm: MikroORM;
  /**
   * Enqueues accepted events; default: one of its own on cfg's queue (Redis or PostgreSQL, per
   * GP_QUEUE_BACKEND), numbering sessions from the same counters as the SDK (re-seeded from
   * PostgreSQL), checking game types with `types`. Closed with the app only when it is its own.
   */
  producer?: Producer;
  /** The registered game types; default: its own, re-read every GP_CONTRACT_REFRESH_S. */
  types?: TypeRegistry;
  /**
   * Redis queue backend: the client for rate-limit counters, Idempotency-Key records and tenant
   * claims (shared by replicas); required there. Not used with GP_QUEUE_BACKEND=postgres.
   */
  redis?: Redis;
  /** Reads; default: a pool of its own on DATABASE_READ_URL when set, else DATABASE_URL. */
  reader?: Reader;
  /** Request and error logs (pino, stderr); none when absent. Authorization headers are never logged. */
  logger?: Logger;
  /** Called once the API can ingest (./readiness.ts): `serve` logs `api ready`. */
  onReady?: () => void;
}

/** Largest body of the routes other than POST /v1/events (at most GP_API_BODY_LIMIT). */
const OTHER_BODY_LIMIT = 1024 * 1024;

/** A bearer token or an `x-api-key` header. */
function presentedKey(req: FastifyRequest): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  const h = req.headers['x-api-key'];
  return typeof h === 'string' ? h : undefined;
}

export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  const { cfg, orm } = deps;
  if (!!cfg.apiTlsCert !== !!cfg.apiTlsKey) throw new ConfigError('GP_API_TLS_CERT', 'GP_API_TLS_CERT and GP_API_TLS_KEY go together');
  const https = cfg.apiTlsCert && cfg.apiTlsKey ? { cert: readFileSync(cfg.apiTlsCert), key: readFileSync(cfg.apiTlsKey) } : null;
  // Reads through their own pool of named (prepared) statements: the recovery and history SQL is long,
  // and planning it on every request made a recover over HTTP cost 15 ms instead of a few.
  const ownReader = deps.reader ? null : createReader(cfg.databaseReadUrl ?? cfg.databaseUrl, { max: cfg.dbPoolMax });
  const reader = deps.reader ?? ownReader!;
  // Registrations are read from the primary: a replica's lag would let a just-registered type through unchecked.
  const types = deps.types ?? (await new TypeRegistry(ormReader(orm), cfg.customTypes, cfg.contractRefreshS * 1000).start());
  const redis = cfg.queueBackend === 'redis' ? deps.redis : undefined;
  if (cfg.queueBackend === 'redis' && !redis) throw new ConfigError('REDIS_URL', 'the HTTP API needs a Redis client with GP_QUEUE_BACKEND=redis');
  // Short-lived records on the primary, through the ORM's pool.
  const store: ApiStore = redis ? redisApiStore(redis) : pgApiStore({ query: async (text, values) => ({ rows: await query(orm.em.fork(), text, values) }) });
  const producer = deps.producer ?? createProducer({ ...producerOptions(cfg), sequenceSeed: pgSequenceSeed(reader), customTypes: types });
  // Requests wait for the queue's store at start (GET /readyz; a keyed request up to GP_API_READY_WAIT_MS).
  const readiness = apiReadiness({ producer, redis, orm, waitMs: cfg.apiReadyWaitMs, log: deps.logger, onReady: deps.onReady });
  const idempotency = new Idempotency(store, cfg.queuePrefix);

  const app = Fastify({
    ...(https ? { https } : {}),
    bodyLimit: cfg.apiBodyLimit,
    // Fastify's default request serializer logs method, url and ip only: no headers, so no keys.
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    // `__proto__` and `constructor` are ordinary keys of user JSON (docs/contract.md): JSON.parse makes
    // them own properties, and the contract module and the state fold treat them as data.
    onProtoPoisoning: 'ignore',
    onConstructorPoisoning: 'ignore',
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
    return503OnClosing: true,
    // The client's address (failed-authentication throttle, logs): the peer, or with GP_API_TRUST_PROXY
    // what those proxies say in X-Forwarded-For; never every proxy (any client could name itself).
    ...(cfg.apiTrustProxy ? { trustProxy: [...cfg.apiTrustProxy] } : {}),
    // Ids in paths may be 128 characters (the contract's limit; each route's schema holds them to it):
    // the router's default of 100 answered 414 to valid ones.
    routerOptions: { maxParamLength: 1024 },
    // URLs the router refuses before any route (a path parameter over the limit, a malformed escape)
    // get the same error body as every other error.
    frameworkErrors: (err, _req, reply) => {
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
      const r = reply as unknown as { status(n: number): { send(b: unknown): unknown } };
      void r.status(status).send({ error: { code: 'bad_request', message: err.message.slice(0, 300) } });
    },
  }) as unknown as FastifyInstance;
  app.decorateRequest('apiKey', null);
  // GP_API_BODY_LIMIT is sized for POST /v1/events (an agent.log may carry megabytes of prompt); every
  // other route's body is a small JSON document (a game type's schema is at most 64 KiB).
  app.addHook('onRoute', (route) => {
    if (route.url !== '/v1/events' && route.bodyLimit === undefined) route.bodyLimit = Math.min(cfg.apiBodyLimit, OTHER_BODY_LIMIT);
  });
  // POST /v1/events also takes NDJSON (one event per line), what log shippers and line-oriented
  // producers write; it becomes the same array, under the same body limit.
  app.addContentTypeParser('application/x-ndjson', { parseAs: 'string' }, (_req, body, done) => {
    const events: unknown[] = [];
    const lines = (body as string).split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim();
      if (!line) continue;
      try {
        events.push(JSON.parse(line));
      } catch (e) {
        done(new ApiError(400, 'bad_request', `line ${i + 1} is not JSON: ${e instanceof Error ? e.message.slice(0, 200) : String(e)}`), undefined);
        return;
      }
    }
    done(null, events);
  });

  const metrics = apiMetrics(app, VERSION);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'game-persist', version: VERSION, description: 'Durable game-server data over HTTP: publish events, recover sessions, read stats.' },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'gpk_… (game-persist keys create)' } } },
      security: [{ apiKey: [] }],
    },
  });

  // Failed authentications are throttled per client address before any key lookup, then the key's
  // own limit is counted (./rate-limits.ts); both before the body is read.
  const limits = await rateLimits(app, cfg, redis, metrics);
  const keys = new KeyVerifier(orm, { onLookup: metrics.keyLookup });
  app.addHook('onRequest', async (req, reply) => {
    const scope = req.routeOptions.config?.scope;
    if (!scope) return;
    // While the API is still starting, a keyed request waits for its stores (GP_API_READY_WAIT_MS)
    // instead of failing: the failed-authentication count and the rate limits below already need Redis.
    if (!readiness.ready) await readiness.gate(req, reply);
    const presented = presentedKey(req);
    // The usual request: a key this process checked a moment ago, with the scope. Both limits are then
    // taken in one round trip to Redis (./admit-script.ts) instead of one before the key check and one after.
    // A key refused below (a tenant key with admin, a missing scope) takes the long way to its 403.
    const cached = limits.admit ? keys.known(presented) : undefined;
    if (cached && (cached.tenant === null || !cached.scopes.includes('admin')) && (cached.scopes.includes(scope) || cached.scopes.includes('admin'))) {
      req.apiKey = cached;
      return limits.admit!(req, reply);
    }
    const key = await limits.authenticate(req, reply, (admit) => keys.verify(presented, admit));
    if (key.tenant !== null && key.scopes.includes('admin')) throw new ApiError(403, 'forbidden', `${TENANT_ADMIN}; revoke this key (game-persist keys revoke ${key.id})`);
    if (!key.scopes.includes(scope) && !key.scopes.includes('admin')) throw new ApiError(403, 'forbidden', `this key lacks the "${scope}" scope`);
    req.apiKey = key;
    await limits.perKey(req, reply);
  });

  app.setErrorHandler((err: unknown, req, reply) => {
    const e = err as Error & { statusCode?: number; code?: string; validation?: unknown };
    let status = 500;
    let code = 'internal';
    let message = 'internal error';
    if (e instanceof ApiError) [status, code, message] = [e.status, e.code, e.message];
    else if (e instanceof ContractError || e instanceof AnalyticsError) [status, code, message] = [400, e.code, e.message];
    else if (e instanceof TimeoutError) [status, code, message] = [408, e.code, e.message];
    else if (e instanceof EnqueueError || e instanceof BackpressureError) [status, code, message] = [503, 'unavailable', e.message];
    // A full Redis refusing the API's own writes (rate limits, idempotency records) before the producer
    // is reached: the same 503 as the producer's, not a 500 naming a script hash.
    else if (classifyRedisError(e) === 'oom') [status, code, message] = [503, 'unavailable', REDIS_OUT_OF_MEMORY_MESSAGE];
    else if (e.validation) [status, code, message] = [400, 'bad_request', e.message];
    else if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') [status, code, message] = [413, 'body_too_large', `request body over ${req.routeOptions.bodyLimit ?? cfg.apiBodyLimit} bytes`];
    else if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') [status, code, message] = [415, 'unsupported_media_type', e.message];
    else if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) [status, code, message] = [e.statusCode, 'bad_request', e.message];
    else if (e instanceof GamePersistError) [status, code, message] = [500, e.code, e.message];
    // PostgreSQL refused a value of the request (class 22, data exception: a \u0000 in a path id, an
    // out-of-range number): the request is bad, not the server.
    else if (sqlState(e)?.startsWith('22')) [status, code, message] = [400, 'bad_request', 'a value in the request cannot be used as sent (e.g. it contains \\u0000)'];
    // A 5xx may carry a driver's text: never a connection string's password.
    message = redactSecrets(message);
    if (status >= 500) req.log.error({ err: errorMessage(e), code: e.code }, 'request failed');
    // Every 429 and every 503 of ours says when to try again (a limit's own window when it set one);
    // the 503 Fastify answers itself while the server shuts down has none: another replica can answer.
    if (status === 429 && !reply.hasHeader('retry-after')) reply.header('retry-after', '60');
    // A full Redis needs the workers to drain it: a longer pause than a store that is briefly away.
    const full = classifyRedisError(e) === 'oom' || (e instanceof EnqueueError && e.reason === 'redis_out_of_memory');
    if (status === 503 && !reply.hasHeader('retry-after')) reply.header('retry-after', full ? '5' : '1');
    return reply.status(status).send({ error: { code, message } });
  });
  app.setNotFoundHandler((req, reply) => reply.status(404).send({ error: { code: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` } }));

  // CORS only when an origin is configured: browsers elsewhere get no access (no header, no preflight).
  if (cfg.apiCorsOrigin) {
    const origin = cfg.apiCorsOrigin.replace(/\/$/, '');
    app.addHook('onSend', async (req, reply) => {
      if (req.headers.origin === origin) reply.header('access-control-allow-origin', origin).header('vary', 'Origin');
    });
    app.options('/*', { schema: { hide: true } }, async (req, reply) => {
      if (req.headers.origin !== origin) return reply.status(403).send({ error: { code: 'forbidden', message: 'origin not allowed' } });
      return reply
        .header('access-control-allow-methods', 'GET, POST, PUT, DELETE, OPTIONS')
        .header('access-control-allow-headers', 'authorization, content-type, x-api-key')
        .header('access-control-max-age', '600')
        .status(204)
        .send();
    });
  }

  app.get('/healthz', { schema: { hide: true } }, async () => ({ ok: true }));
  app.get('/readyz', { schema: { hide: true } }, readiness.readyz);
  app.get('/metrics', { schema: { hide: true } }, async (req, reply) => {
    // In-process counters only (no database), so no cache; with GP_METRICS_TOKEN the scraper's token, not an API key.
    if (cfg.metricsToken && !bearerOk(req.headers.authorization, cfg.metricsToken)) throw new ApiError(401, 'unauthorized', 'a bearer token is required (GP_METRICS_TOKEN)');
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const ctx: ApiContext = { cfg, orm, reader, producer, types, store, idempotency, redis, metrics, readiness };
  eventRoutes(app, ctx);
  sessionRoutes(app, ctx);
  playerRoutes(app, ctx);
  boardRoutes(app, ctx);
  tenantRoutes(app, ctx);
  documentRoutes(app, ctx);
  typeRoutes(app, ctx);

  app.addHook('onClose', async () => {
    readiness.close();
    if (!deps.types) types.stop();
    if (!deps.producer) await producer.close();
    await ownReader?.close();
  });
  return app;
}
