/**
 * `game-persist serve`: the HTTP/JSON API (Fastify 5). Stateless: every replica reads PostgreSQL and
 * enqueues to the same BullMQ queue with the same sequence counters as the SDK, so any number run
 * behind a load balancer; rate limits are counted in Redis, shared by all replicas. With
 * GP_QUEUE_BACKEND=postgres nothing here touches Redis: the queue and counters are in PostgreSQL, so
 * are Idempotency-Key records and tenant claims (./store.ts), and rate limits are counted in each
 * process's memory (a client spread over N replicas gets up to N times its limit).
 *
 * Every route but /healthz and /openapi.json needs an API key (`Authorization: Bearer gpk_…`) with the
 * route's scope; a tenant-restricted key sees only its tenant's sessions. Every error is a JSON body
 * `{ "error": { "code", "message" } }` with a stable code (docs/http.md).
 */
import { sqlState } from '../workers/db-errors.ts';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import rateLimit from '@fastify/rate-limit';
import type { Redis } from 'ioredis';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { ApiError, ConfigError, ContractError, GamePersistError, EnqueueError, BackpressureError, AnalyticsError, TimeoutError, errorMessage, redactSecrets } from '../errors.ts';
import type { Emitted, Producer } from '../producers/producer.ts';
import { createProducer, producerOptions } from '../producers/index.ts';
import { pgSequenceSeed } from '../recovery/sequence-seed.ts';
import { listTypes, registerType, removeType, TypeRegistry, type RegisteredType } from '../db/event-types.ts';
import { MAX_DOCUMENT_PAGE, readDocument, readDocumentRejections, readDocuments, readPlayerDocuments } from '../recovery/documents.ts';
import { createReader, ormReader, type Reader } from '../db/reader.ts';
import { query } from '../db/query.ts';
import { SESSION_TENANT_SQL } from '../db/sql/sessions.ts';
import { recoverActiveSessions, recoverSession, replay } from '../recovery/recover.ts';
import { waitPersisted } from '../recovery/wait.ts';
import {
  dailyStats, leaderboard, playerAgentUsage, playerStats, recentSessions, sessionAgentUsage, sessionLeaderboard, tenantChat, tenantStats,
} from '../aggregates/read.ts';
import { listSnapshots } from '../snapshots/list.ts';
import { takeWaiting, waitingPlayers } from '../queue/join-queue.ts';
import { VERSION } from '../version.ts';
import { systemClock } from '../clock.ts';
import { METRIC_NAMES, type Metric } from '../db/sql/aggregates.ts';
import { KeyVerifier, type ApiKeyInfo, type Scope } from './keys.ts';
import { Idempotency } from './idempotency.ts';
import { pgApiStore, redisApiStore, type ApiStore } from './store.ts';
import { REDIS_OUT_OF_MEMORY_MESSAGE, classifyRedisError } from '../redis.ts';
import { tenantVerdicts } from './tenant-ingest.ts';
import { apiMetrics } from './metrics.ts';
import { erasePlayer } from '../ops/erase-player.ts';
import { queueConnection } from '../queue/backend.ts';
import { bearerOk } from '../metrics/http.ts';
import { MAX_EVENTS_PER_REQUEST, ingestBody, ingestResponse, errorBody, idParam } from './schemas.ts';

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
}

/** A bearer token or an `x-api-key` header. */
function presentedKey(req: FastifyRequest): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  const h = req.headers['x-api-key'];
  return typeof h === 'string' ? h : undefined;
}

/** A tenant-restricted key may touch only its tenant's sessions. */
function checkTenant(req: FastifyRequest, tenant: string | null | undefined): void {
  const k = req.apiKey;
  if (k?.tenant != null && tenant !== k.tenant) throw new ApiError(403, 'forbidden', `this key is restricted to tenant "${k.tenant}"`);
}

function noTenantRestriction(req: FastifyRequest, what: string): void {
  if (req.apiKey?.tenant != null) throw new ApiError(403, 'forbidden', `a tenant-restricted key cannot ${what}`);
}

const typeView = (r: RegisteredType) => ({ type: r.type, version: r.version, description: r.description, schema: r.schema, updatedAt: r.updated_at });

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
  const keys = new KeyVerifier(orm);
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

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'game-persist', version: VERSION, description: 'Durable game-server data over HTTP: publish events, recover sessions, read stats.' },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'gpk_… (game-persist keys create)' } } },
      security: [{ apiKey: [] }],
    },
  });

  app.addHook('onRequest', async (req) => {
    const scope = req.routeOptions.config?.scope;
    if (!scope) return;
    const key = await keys.verify(presentedKey(req));
    if (!key.scopes.includes(scope) && !key.scopes.includes('admin')) throw new ApiError(403, 'forbidden', `this key lacks the "${scope}" scope`);
    req.apiKey = key;
  });

  if (cfg.apiRateLimit > 0) {
    await app.register(rateLimit, {
      global: true,
      hook: 'preHandler',
      // Without Redis (GP_QUEUE_BACKEND=postgres) the plugin's in-memory store: limits per process.
      ...(redis ? { redis } : {}),
      nameSpace: `${cfg.queuePrefix}:api-rate:`,
      timeWindow: 60_000,
      max: (req) => req.apiKey?.rateLimit ?? cfg.apiRateLimit,
      keyGenerator: (req) => req.apiKey?.id ?? req.ip,
      allowList: (req) => !req.routeOptions.config?.scope,
      errorResponseBuilder: (_req, ctx) => new ApiError(429, 'rate_limited', `rate limit of ${ctx.max} requests per minute reached; retry in ${Math.ceil(ctx.ttl / 1000)} s`),
    });
  }

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
    else if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') [status, code, message] = [413, 'body_too_large', `request body over ${cfg.apiBodyLimit} bytes`];
    else if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') [status, code, message] = [415, 'unsupported_media_type', e.message];
    else if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) [status, code, message] = [e.statusCode, 'bad_request', e.message];
    else if (e instanceof GamePersistError) [status, code, message] = [500, e.code, e.message];
    // PostgreSQL refused a value of the request (class 22, data exception: a \u0000 in a path id, an
    // out-of-range number): the request is bad, not the server.
    else if (sqlState(e)?.startsWith('22')) [status, code, message] = [400, 'bad_request', 'a value in the request cannot be used as sent (e.g. it contains \\u0000)'];
    // A 5xx may carry a driver's text: never a connection string's password.
    message = redactSecrets(message);
    if (status >= 500) req.log.error({ err: errorMessage(e), code: e.code }, 'request failed');
    if (status === 429) reply.header('retry-after', '60');
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

  const metrics = apiMetrics(app, VERSION);
  app.get('/healthz', { schema: { hide: true } }, async () => ({ ok: true }));
  app.get('/metrics', { schema: { hide: true } }, async (req, reply) => {
    // In-process counters only (no database), so no cache; with GP_METRICS_TOKEN the scraper's token, not an API key.
    if (cfg.metricsToken && !bearerOk(req.headers.authorization, cfg.metricsToken)) throw new ApiError(401, 'unauthorized', 'a bearer token is required (GP_METRICS_TOKEN)');
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  /** The session's tenant, for a tenant-restricted key (404 when the session is unknown). */
  async function sessionTenantCheck(req: FastifyRequest, id: string): Promise<void> {
    if (req.apiKey?.tenant == null) return;
    const [s] = await reader.read<{ tenant: string | null }>(SESSION_TENANT_SQL, [id]);
    if (!s) throw new ApiError(404, 'not_found', `no session ${id}`);
    checkTenant(req, s.tenant);
  }
  app.post(
    '/v1/events',
    {
      config: { scope: 'ingest' },
      schema: {
        summary: 'Publish a batch of events',
        consumes: ['application/json', 'application/x-ndjson'],
        description: `At most ${MAX_EVENTS_PER_REQUEST} events, as a JSON array or as NDJSON (one event per line). Each is validated by the v1 contract and enqueued as the SDK does; the response says per event whether it was accepted (its id and seq) or rejected (the field and reason). Send your own ids to make retries safe.`,
        body: ingestBody,
        response: { 200: ingestResponse, '4xx': errorBody, '5xx': errorBody },
      },
    },
    async (req) => {
      const events = req.body as Record<string, any>[];
      const tenant = req.apiKey?.tenant;
      const refused = tenant != null ? await tenantVerdicts(tenant, events, { reader, store, prefix: cfg.queuePrefix }) : null;
      // A game type registered or changed through another replica is checked as registered now.
      if (events.some((e) => typeof e?.type === 'string' && e.type.startsWith('x.'))) {
        try {
          await types.refreshIfChanged();
        } catch (e) {
          // Without the registrations of the moment a game type cannot be checked: retryable, not a 500
          // (and before the Idempotency-Key is claimed, so a retry is not told the request is in progress).
          throw new ApiError(503, 'unavailable', `the registered game types could not be read from PostgreSQL (${errorMessage(e).slice(0, 200)}); retry the request`);
        }
      }
      const idem = await idempotency.begin(req, events.length);
      // A retry of a request already answered: the same ids and seqs, so the queue and the tables see
      // the same events again (deduplicated by id) instead of new numbers that would leave gaps.
      if (idem.previous)
        events.forEach((e, i) => {
          const p = idem.previous![i];
          if (p && e && typeof e === 'object') Object.assign(e, { id: p[0], seq: p[1] });
        });
      let settled: PromiseSettledResult<Emitted>[];
      try {
        settled = await Promise.allSettled(
          events.map((e, i) => {
            const no = refused?.[i];
            return no ? Promise.reject(new ApiError(403, 'forbidden', no.reason, no.field)) : producer.emit(e as Parameters<Producer['emit']>[0], { owned: true });
          }),
        );
        // The queue's store refused or is gone: the whole request is retryable (ids, or an Idempotency-Key, make it safe).
        const failed = settled.find((s) => s.status === 'rejected' && !(s.reason instanceof ContractError) && !(s.reason instanceof ApiError));
        if (failed) throw (failed as PromiseRejectedResult).reason;
      } catch (e) {
        await idem.abort();
        throw e;
      }
      let accepted = 0;
      const results = settled.map((s, index) => {
        if (s.status === 'fulfilled') {
          accepted++;
          return { index, status: 'accepted' as const, id: s.value.id, seq: s.value.seq };
        }
        const e = s.reason as ContractError | ApiError;
        return e instanceof ApiError
          ? { index, status: 'rejected' as const, code: e.code, field: e.field ?? 'event', reason: e.message }
          : { index, status: 'rejected' as const, code: e.code, field: e.field, reason: e.reason };
      });
      await idem.commit(settled.map((s) => (s.status === 'fulfilled' ? [s.value.id, s.value.seq] : null)));
      metrics.events(accepted, events.length - accepted);
      return { accepted, rejected: events.length - accepted, results };
    },
  );

  app.get(
    '/v1/sessions/:id/recover',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'Recover one session: live state, newest verified snapshot, the tail after it, participants',
        params: idParam,
        querystring: {
          type: 'object',
          properties: {
            issued: { type: 'integer', minimum: 0 },
            tailLimit: { type: 'integer', minimum: 1, maximum: 100_000 },
            documents: { type: 'string', maxLength: 2048, description: '`all`, or collections separated by commas: include the session\'s documents' },
          },
          additionalProperties: false,
        },
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      const q = req.query as { issued?: number; tailLimit?: number; documents?: string };
      const documents = q.documents === undefined || q.documents === '' ? undefined : q.documents === 'all' ? (true as const) : q.documents.split(',');
      const rec = await recoverSession(reader, id, {
        ...(q.issued !== undefined ? { issuedSeq: q.issued } : {}),
        ...(q.tailLimit ? { tailLimit: q.tailLimit } : {}),
        ...(documents ? { documents } : {}),
      });
      if (!rec) throw new ApiError(404, 'not_found', `no session ${id}`);
      checkTenant(req, rec.session.tenant);
      return rec;
    },
  );

  app.get(
    '/v1/sessions/:id/wait',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'Wait until a session is persisted and folded through a seq, or through the last seq issued for it',
        params: idParam,
        querystring: {
          type: 'object',
          required: ['seq'],
          properties: {
            seq: {
              anyOf: [{ type: 'integer', minimum: 0 }, { type: 'string', enum: ['issued'] }],
              description: 'A seq, or `issued`: the last seq any producer of the deployment issued for the session (its sequence counter), for a game server that restarted without knowing its own',
            },
            timeoutMs: { type: 'integer', minimum: 0, maximum: 60_000, default: 10_000 },
          },
          additionalProperties: false,
        },
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      const q = req.query as { seq: number | 'issued'; timeoutMs: number };
      await sessionTenantCheck(req, id);
      // The counter in Redis or PostgreSQL (the queue backend's), or what this replica issued if higher.
      const seq = q.seq === 'issued' ? await producer.lastSeq(id) : q.seq;
      return { seq, ...(await waitPersisted(reader, id, seq, { timeoutMs: q.timeoutMs })) };
    },
  );

  app.get(
    '/v1/players/:id/stats',
    {
      config: { scope: 'read' },
      schema: { summary: "A player's totals, per game type, rating and ranks", params: idParam, response: { '4xx': errorBody } },
    },
    async (req) => {
      noTenantRestriction(req, 'read player stats (players span tenants)');
      const { id } = req.params as { id: string };
      const s = await playerStats(reader, id);
      if (!s) throw new ApiError(404, 'not_found', `no player ${id}`);
      return s;
    },
  );

  app.get(
    '/v1/leaderboard',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'A leaderboard: the top, or the players around one',
        querystring: {
          type: 'object',
          properties: {
            by: { type: 'string', enum: METRIC_NAMES, default: 'xp', description: 'best_score: the highest score of the players\' results (player.outcome `score`)' },
            period: { type: 'string', maxLength: 32 },
            game: { type: 'string', maxLength: 128 },
            around: { type: 'string', maxLength: 256 },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          },
          additionalProperties: false,
        },
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      noTenantRestriction(req, 'read leaderboards (players span tenants)');
      const q = req.query as { by: Metric; period?: string; game?: string; around?: string; limit: number };
      return leaderboard(reader, { ...q, timeZone: cfg.statsTimeZone });
    },
  );

  /** A tenant-restricted key reads its own tenant whatever it asks for. */
  const tenantOf = (req: FastifyRequest, asked: string | undefined) => {
    const own = req.apiKey?.tenant;
    if (own != null && asked !== undefined && asked !== own) throw new ApiError(403, 'forbidden', `this key is restricted to tenant "${own}"`);
    return own ?? asked;
  };
  const read = { config: { scope: 'read' as const } };
  const limitQ = (max: number, def: number) => ({ type: 'integer', minimum: 1, maximum: max, default: def });

  app.get(
    '/v1/sessions',
    {
      ...read,
      schema: {
        summary: 'Recover the active sessions (not ended), a page at a time: what a restarted game server resumes',
        querystring: {
          type: 'object',
          properties: { tenant: { type: 'string', maxLength: 128 }, gameType: { type: 'string', maxLength: 128 }, cursor: { type: 'string', maxLength: 256 }, limit: limitQ(1000, 100), tailLimit: { type: 'integer', minimum: 1, maximum: 100_000 } },
          additionalProperties: false,
        },
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      const q = req.query as { tenant?: string; gameType?: string; cursor?: string; limit: number; tailLimit?: number };
      const tenant = tenantOf(req, q.tenant);
      return recoverActiveSessions(reader, { ...q, ...(tenant !== undefined ? { tenant } : {}) });
    },
  );

  app.get(
    '/v1/sessions/recent',
    {
      ...read,
      schema: {
        summary: 'The latest sessions, newest first',
        querystring: { type: 'object', properties: { tenant: { type: 'string', maxLength: 128 }, limit: limitQ(1000, 20) }, additionalProperties: false },
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      const q = req.query as { tenant?: string; limit: number };
      const tenant = tenantOf(req, q.tenant);
      return recentSessions(reader, { limit: q.limit, ...(tenant !== undefined ? { tenant } : {}) });
    },
  );

  app.get(
    '/v1/sessions/:id/replay',
    {
      ...read,
      schema: {
        summary: "A session's events in sequence order, streamed as NDJSON (one event per line)",
        params: idParam,
        querystring: {
          type: 'object',
          properties: { from: { type: 'integer', minimum: 0 }, to: { type: 'integer', minimum: 0 }, after: { type: 'string', maxLength: 128 } },
          additionalProperties: false,
        },
        response: { '4xx': errorBody },
      },
    },
    async (req, reply) => {
      const { id } = req.params as { id: string };
      const q = req.query as { from?: number; to?: number; after?: string };
      await sessionTenantCheck(req, id);
      const events = replay(reader, id, { ...(q.from !== undefined ? { fromSeq: q.from } : {}), ...(q.to !== undefined ? { toSeq: q.to } : {}), ...(q.after ? { after: q.after } : {}) });
      const lines = Readable.from((async function* () {
        for await (const e of events) yield `${JSON.stringify(e)}\n`;
      })());
      return reply.type('application/x-ndjson').send(lines);
    },
  );

  app.get(
    '/v1/sessions/:id/leaderboard',
    { ...read, schema: { summary: "A session's own board: its players by outcome, xp and score", params: idParam, response: { '4xx': errorBody } } },
    async (req) => {
      const { id } = req.params as { id: string };
      await sessionTenantCheck(req, id);
      return sessionLeaderboard(reader, id);
    },
  );

  app.get(
    '/v1/sessions/:id/snapshots',
    {
      ...read,
      schema: {
        summary: "A session's snapshots with verified hashes, newest first",
        params: idParam,
        querystring: { type: 'object', properties: { withState: { type: 'boolean', default: false } }, additionalProperties: false },
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      await sessionTenantCheck(req, id);
      return listSnapshots(reader, id, { withState: (req.query as { withState: boolean }).withState });
    },
  );

  app.get(
    '/v1/tenants/:tenant/stats',
    {
      ...read,
      schema: {
        summary: "A tenant's sessions of the last days: total, active, completed, abandoned, completion rate",
        params: { type: 'object', required: ['tenant'], properties: { tenant: { type: 'string', minLength: 1, maxLength: 128 } } },
        querystring: { type: 'object', properties: { days: limitQ(3660, 7) }, additionalProperties: false },
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      const tenant = tenantOf(req, (req.params as { tenant: string }).tenant)!;
      return tenantStats(reader, tenant, (req.query as { days: number }).days);
    },
  );

  app.get(
    '/v1/tenants/:tenant/chat',
    {
      ...read,
      schema: {
        summary: "A tenant's chat messages of the last days: per player (and their channels) and per channel",
        params: { type: 'object', required: ['tenant'], properties: { tenant: { type: 'string', minLength: 1, maxLength: 128 } } },
        querystring: { type: 'object', properties: { days: limitQ(3660, 7) }, additionalProperties: false },
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      const tenant = tenantOf(req, (req.params as { tenant: string }).tenant)!;
      return tenantChat(reader, tenant, (req.query as { days: number }).days);
    },
  );

  app.get(
    '/v1/sessions/:id/agents',
    {
      ...read,
      schema: {
        summary: "A session's LLM/agent calls per player, model and provider: calls, token sums, latency mean, max and p95",
        params: idParam,
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      await sessionTenantCheck(req, id);
      const usage = await sessionAgentUsage(reader, id);
      if (!usage) throw new ApiError(404, 'not_found', `no session ${id}`);
      return usage;
    },
  );

  app.get(
    '/v1/players/:id/agents',
    {
      ...read,
      schema: {
        summary: "A player's LLM/agent calls across sessions per model and provider: calls, token sums, latency mean, max and p95",
        params: idParam,
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      noTenantRestriction(req, "read a player's agent usage (players span tenants)");
      const { id } = req.params as { id: string };
      const usage = await playerAgentUsage(reader, id);
      if (!usage) throw new ApiError(404, 'not_found', `no player ${id}`);
      return usage;
    },
  );

  app.get(
    '/v1/stats/daily',
    {
      ...read,
      schema: {
        summary: 'Per day (GP_STATS_TZ): sessions created, started, finished, abandoned, mean duration, players; of one game type with `game`',
        querystring: {
          type: 'object',
          properties: { days: limitQ(3660, 7), game: { type: 'string', minLength: 1, maxLength: 128, description: 'only the sessions of this game type' } },
          additionalProperties: false,
        },
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      noTenantRestriction(req, 'read daily stats (they span tenants)');
      const q = req.query as { days: number; game?: string };
      return dailyStats(reader, q.days, cfg.statsTimeZone, systemClock, { ...(q.game !== undefined ? { game: q.game } : {}) });
    },
  );

  // --- Documents -------------------------------------------------------------------------------------
  const docName = { type: 'string', minLength: 1, maxLength: 64 } as const;
  const docKey = { type: 'string', minLength: 1, maxLength: 256 } as const;
  const playerQ = { type: 'string', minLength: 1, maxLength: 128, description: "a player's documents in the session; absent: the session's own" } as const;
  app.get(
    '/v1/sessions/:id/documents/:collection',
    {
      ...read,
      schema: {
        summary: "A page of a session's collection (or a player's in it) in key order: by key prefix or range",
        params: { type: 'object', required: ['id', 'collection'], properties: { id: idParam.properties.id, collection: docName } },
        querystring: {
          type: 'object',
          properties: {
            player: playerQ,
            prefix: { type: 'string', maxLength: 256 },
            from: { type: 'string', maxLength: 256, description: 'keys >= from' },
            to: { type: 'string', maxLength: 256, description: 'keys < to' },
            after: { type: 'string', maxLength: 256, description: 'the `next` of the previous page' },
            limit: limitQ(MAX_DOCUMENT_PAGE, 100),
          },
          additionalProperties: false,
        },
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      const { id, collection } = req.params as { id: string; collection: string };
      await sessionTenantCheck(req, id);
      const q = req.query as { player?: string; prefix?: string; from?: string; to?: string; after?: string; limit: number };
      return readDocuments(reader, id, { collection, ...q });
    },
  );
  app.get(
    '/v1/sessions/:id/documents/:collection/:key',
    {
      ...read,
      schema: {
        summary: 'One document, with its version (pass it as expectedVersion to write only over it)',
        params: { type: 'object', required: ['id', 'collection', 'key'], properties: { id: idParam.properties.id, collection: docName, key: docKey } },
        querystring: { type: 'object', properties: { player: playerQ }, additionalProperties: false },
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      const { id, collection, key } = req.params as { id: string; collection: string; key: string };
      await sessionTenantCheck(req, id);
      const doc = await readDocument(reader, id, { collection, key, player: (req.query as { player?: string }).player ?? null });
      if (!doc) throw new ApiError(404, 'not_found', `no document ${collection}/${key} in session ${id}`);
      return doc;
    },
  );
  app.get(
    '/v1/sessions/:id/document-rejections',
    {
      ...read,
      schema: {
        summary: "A session's document writes that were not applied: expectedVersion conflicts and owner-limit refusals, in seq order",
        params: idParam,
        querystring: { type: 'object', properties: { afterSeq: { type: 'integer', minimum: 0, default: 0 }, limit: limitQ(MAX_DOCUMENT_PAGE, 100) }, additionalProperties: false },
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      await sessionTenantCheck(req, id);
      const q = req.query as { afterSeq: number; limit: number };
      return { rejections: await readDocumentRejections(reader, id, q) };
    },
  );
  app.get(
    '/v1/players/:id/documents',
    {
      ...read,
      schema: {
        summary: "A player's documents across sessions (by session, collection, key)",
        params: idParam,
        querystring: { type: 'object', properties: { collection: docName, after: { type: 'string', maxLength: 1024 }, limit: limitQ(MAX_DOCUMENT_PAGE, 100) }, additionalProperties: false },
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      noTenantRestriction(req, "read a player's documents (players span tenants)");
      const { id } = req.params as { id: string };
      return readPlayerDocuments(reader, id, req.query as { collection?: string; after?: string; limit: number });
    },
  );

  // --- Game-defined event types ---------------------------------------------------------------------
  const typeParam = { type: 'object', required: ['type'], properties: { type: { type: 'string', minLength: 3, maxLength: 128, description: 'x.<game>.<name>' } } } as const;
  // Registrations are written on the primary (the reader may be a replica).
  const dbQuery = <R>(sql: string, params: unknown[]) => query<R>(orm.em.fork(), sql, params);
  app.get(
    '/v1/contract/types',
    { ...read, schema: { summary: 'The registered game event types and their JSON Schemas; `mode` says whether unregistered ones are accepted', response: { '4xx': errorBody } } },
    async () => ({ mode: cfg.customTypes, types: (await listTypes(dbQuery)).map(typeView) }),
  );
  app.put(
    '/v1/contract/types/:type',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Register (or replace) the JSON Schema (2020-12) of a game event type x.<game>.<name>',
        description: "Compiled once and enforced by the API and every worker from the next event on. The schema checks the event's `data`.",
        params: typeParam,
        body: { type: 'object', required: ['schema'], properties: { schema: { type: 'object' }, description: { type: 'string', maxLength: 1024 } }, additionalProperties: false },
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      const { type } = req.params as { type: string };
      const body = req.body as { schema: Record<string, unknown>; description?: string };
      const row = await registerType(dbQuery, type, body.schema, body.description ?? null);
      await types.refresh();
      return typeView(row);
    },
  );
  app.delete(
    '/v1/contract/types/:type',
    { config: { scope: 'admin' }, schema: { summary: "Remove a game type's schema (its stored events stay; new ones are then free-form, or refused when GP_CUSTOM_TYPES=registered)", params: typeParam, response: { '4xx': errorBody } } },
    async (req) => {
      const { type } = req.params as { type: string };
      if (!(await removeType(dbQuery, type))) throw new ApiError(404, 'not_found', `${type} is not registered`);
      await types.refresh();
      return { removed: type };
    },
  );

  app.post(
    '/v1/players/:id/erase',
    {
      config: { scope: 'admin' },
      schema: {
        summary: "Erase a player's personal data (names, chat, prompts, documents, dead letters, queued jobs); the id becomes a pseudonym",
        description: 'Idempotent (a repeat reports `changed: false`) and audited (the `erasures` table: the key id, the SHA-256 of the player id). `queue.inFlight` > 0: call again once those jobs are stored.',
        params: idParam,
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      noTenantRestriction(req, 'erase a player (players span tenants)');
      const { id } = req.params as { id: string };
      // The queue's own connection: the API's Redis client (shared), or the database URL.
      const connection = redis ?? queueConnection(cfg);
      return erasePlayer(orm, id, { requestedBy: `api-key:${req.apiKey?.id ?? 'unknown'}`, queue: { connection, queueName: cfg.queueName, prefix: cfg.queuePrefix } });
    },
  );

  const tenantParam = { type: 'object', required: ['tenant'], properties: { tenant: { type: 'string', minLength: 1, maxLength: 128 } } } as const;
  app.get(
    '/v1/tenants/:tenant/queue',
    {
      ...read,
      schema: {
        summary: "The players waiting in a tenant's join queue, longest-waiting first",
        params: tenantParam,
        querystring: { type: 'object', properties: { limit: limitQ(1000, 100) }, additionalProperties: false },
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      const tenant = tenantOf(req, (req.params as { tenant: string }).tenant)!;
      return { tenant, waiting: await waitingPlayers(reader, tenant, { limit: (req.query as { limit: number }).limit }) };
    },
  );

  app.post(
    '/v1/tenants/:tenant/queue/notify',
    {
      config: { scope: 'ingest' },
      schema: {
        summary: 'Take the next waiting players not yet notified and mark them notified (a game is starting)',
        description: 'Two servers taking at once never get the same player. A player who leaves and enters again can be taken again.',
        params: tenantParam,
        body: { type: 'object', required: ['count'], properties: { count: { type: 'integer', minimum: 1, maximum: 1000 } }, additionalProperties: false },
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      const tenant = (req.params as { tenant: string }).tenant;
      checkTenant(req, tenant);
      return { tenant, notified: await takeWaiting(orm, tenant, (req.body as { count: number }).count) };
    },
  );

  app.addHook('onClose', async () => {
    if (!deps.types) types.stop();
    if (!deps.producer) await producer.close();
    await ownReader?.close();
  });
  return app;
}
