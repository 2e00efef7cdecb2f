/**
 * `game-persist serve`: the HTTP API until SIGTERM/SIGINT (requests in flight finish first).
 * `game-persist keys create|list|revoke`: its API keys; a created key is printed once.
 */
import type { Config } from '../config.ts';
import { openOrm } from '../db/orm.ts';
import { pendingMigrations } from '../db/migrate.ts';
import { PreconditionError } from '../errors.ts';
import { apiRedis } from '../redis.ts';
import { RedisErrorReporter } from '../redis-errors.ts';
import { createLogger } from '../log.ts';
import { buildApi } from '../api/server.ts';
import { createApiKey, listApiKeys, revokeApiKey } from '../api/keys.ts';
import { UsageError, intFlag, type Flags } from './args.ts';
import { esc } from './output.ts';

export async function runServe(cfg: Readonly<Config>): Promise<number> {
  const orm = await openOrm({ databaseUrl: cfg.databaseUrl, poolMax: cfg.dbPoolMax });
  // The Redis queue backend's client for rate limits, idempotency and tenant claims; none on PostgreSQL.
  const redis = cfg.queueBackend === 'redis' ? apiRedis(cfg.redisUrl) : undefined;
  const log = createLogger(cfg.logLevel, 'game-persist:api');
  // Connection errors (Redis down at start, an outage) are logged folded, not printed raw by ioredis.
  const redisErrors = new RedisErrorReporter(log);
  redis?.on('error', redisErrors.listener('redis'));
  try {
    const pending = await pendingMigrations(orm);
    if (pending.length) throw new PreconditionError('migrations_pending', `${pending.length} migration(s) not applied; run \`game-persist migrate\` first`);
    let onReady!: () => void;
    const ready = new Promise<void>((resolve) => (onReady = resolve));
    // Fastify logs every request at info: only at GP_LOG_LEVEL=debug (ingest runs hundreds a second).
    const app = await buildApi({ cfg, orm, redis, onReady, logger: log.child({}, { level: cfg.logLevel === 'debug' ? 'debug' : cfg.logLevel === 'silent' ? 'silent' : 'warn' }) });
    try {
      // `api listening`: the port is bound (/healthz answers; /readyz says whether ingest can go through).
      // `api ready`: the queue's store and PostgreSQL answered; a POST before that waits up to
      // GP_API_READY_WAIT_MS for it.
      const address = await app.listen({ port: cfg.apiPort, host: cfg.apiHost });
      console.log(esc`api listening on ${address}`);
      log.info({ address }, 'api listening');
      void ready.then(() => log.info({ address }, 'api ready'));
      await new Promise<void>((resolve) => {
        process.once('SIGTERM', () => resolve());
        process.once('SIGINT', () => resolve());
      });
    } finally {
      await app.close();
    }
    return 0;
  } finally {
    await redis?.quit().catch(() => redis.disconnect());
    redisErrors.close();
    await orm.close();
  }
}

export async function runKeys(cfg: Readonly<Config>, sub: string | undefined, arg: string | undefined, flags: Flags): Promise<number> {
  const orm = await openOrm({ databaseUrl: cfg.databaseUrl, poolMax: 1 });
  try {
    switch (sub) {
      case 'create': {
        if (!arg) throw new UsageError('keys create <name> --scope ingest|read|admin [--scope …] [--tenant T] [--rate-limit N]');
        const k = await createApiKey(orm, { name: arg, scopes: flags.scope ?? [], tenant: flags.tenant ?? null, rateLimit: flags['rate-limit'] === undefined ? null : intFlag(flags, 'rate-limit', 0) });
        if (flags.json) console.log(JSON.stringify(k));
        else console.log(esc`${k.key}\n(shown once: store it now) id ${k.id}, scopes ${k.scopes.join(',')}${k.tenant ? `, tenant ${k.tenant}` : ''}`);
        return 0;
      }
      case 'list': {
        const keys = await listApiKeys(orm, { all: flags.all === true });
        if (flags.json) console.log(JSON.stringify(keys));
        else for (const k of keys) console.log(esc`${k.id}  ${k.name}  ${k.scopes.join(',')}${k.tenant ? `  tenant=${k.tenant}` : ''}${k.revokedAt ? `  revoked ${k.revokedAt}` : ''}`);
        return 0;
      }
      case 'revoke': {
        if (!arg) throw new UsageError('keys revoke <id>');
        const done = await revokeApiKey(orm, arg);
        if (flags.json) console.log(JSON.stringify({ id: arg, revoked: done }));
        else console.log(esc`${done ? 'revoked' : 'no active key'} ${arg}`);
        return done ? 0 : 1;
      }
      default:
        throw new UsageError(`unknown keys command "${sub ?? ''}": use create, list or revoke`);
    }
  } finally {
    await orm.close();
  }
}
