/**
 * Health checks shared by `game-persist doctor` and the worker's start-up: each check says ok or
 * not, and why, so an operator can fix the first thing that is wrong.
 */
import type { Config } from '../config.ts';
import { redactUrl } from '../config.ts';
import { openOrm } from '../db/orm.ts';
import { pendingMigrations } from '../db/migrate.ts';
import { query } from '../db/query.ts';
import { errorMessage } from '../errors.ts';
import { JOBS_SCHEMA } from '../jobs/boss.ts';
import { checkJobs, PGBOSS_SCHEMA_VERSION } from '../jobs/install.ts';
import { commandRedis, evictionPolicy } from '../redis.ts';
import { openQueue, queueSchemaState } from '../queue/backend.ts';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface DoctorReport {
  ok: boolean;
  checks: Check[];
  queue?: Record<string, number>;
  deadLetters?: number;
}

export async function doctor(cfg: Readonly<Config>): Promise<DoctorReport> {
  const checks: Check[] = [];
  const report: DoctorReport = { ok: true, checks };
  const add = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });

  // PostgreSQL
  let orm: Awaited<ReturnType<typeof openOrm>> | null = null;
  try {
    orm = await openOrm({ databaseUrl: cfg.databaseUrl, poolMax: 1 });
    const [{ v }] = await query<{ v: string }>(orm.em.fork(), `select current_setting('server_version') as v`);
    add('postgres', true, `reachable at ${redactUrl(cfg.databaseUrl)} (PostgreSQL ${v})`);
    try {
      const pending = await pendingMigrations(orm);
      add('migrations', pending.length === 0, pending.length ? `${pending.length} pending: run \`game-persist migrate\`` : 'all applied');
      // Workers start pg-boss with its migrations off and refuse to start without its schema.
      try {
        await checkJobs(orm, JOBS_SCHEMA);
        add('jobs', true, `pg-boss schema "${JOBS_SCHEMA.schema}" at version ${PGBOSS_SCHEMA_VERSION}, ${JOBS_SCHEMA.queues.length} queues`);
      } catch (e) {
        add('jobs', false, errorMessage(e));
      }
      if (!pending.length) {
        const [{ n }] = await query<{ n: string }>(orm.em.fork(), 'select count(*) as n from dead_letters where replayed_at is null');
        report.deadLetters = Number(n);
      }
    } catch (e) {
      add('migrations', false, errorMessage(e));
    }
  } catch (e) {
    add('postgres', false, `${redactUrl(cfg.databaseUrl)}: ${errorMessage(e)}`);
  } finally {
    await orm?.close();
  }

  if (cfg.queueBackend === 'postgres') {
    // The queue is BullMQ's PostgreSQL backend in the same database: no Redis to check (nor to evict jobs).
    try {
      const q = await queueSchemaState(cfg.databaseUrl, cfg.queuePrefix);
      const ok = q.version >= q.latest;
      add(
        'queue',
        ok,
        ok
          ? `PostgreSQL backend, schema ${q.schema} at BullMQ schema version ${q.version}`
          : `PostgreSQL backend, schema ${q.schema} ${q.version ? `at version ${q.version}, BullMQ needs ${q.latest}` : 'missing'}: run \`game-persist migrate\``,
      );
      if (ok) {
        const queue = openQueue({ connection: cfg.databaseUrl, prefix: cfg.queuePrefix, queueName: cfg.queueName }, {}, { max: 1, applicationName: 'game-persist:doctor', connectTimeoutMs: 3000 });
        try {
          report.queue = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
        } finally {
          await queue.close();
        }
      }
    } catch (e) {
      add('queue', false, `PostgreSQL backend at ${redactUrl(cfg.databaseUrl)}: ${errorMessage(e)}`);
    }
    report.ok = checks.every((c) => c.ok);
    return report;
  }

  // Redis
  const redis = commandRedis(cfg.redisUrl);
  try {
    const info = await redis.info('server');
    const version = /^redis_version:(\S+)/m.exec(info)?.[1] ?? 'unknown';
    add('redis', true, `reachable at ${redactUrl(cfg.redisUrl)} (Redis ${version})`);
    const policy = await evictionPolicy(redis);
    add(
      'redis-eviction',
      policy === 'noeviction',
      policy === 'noeviction' ? 'maxmemory-policy is noeviction' : `maxmemory-policy is ${policy}: queued jobs can be evicted; set noeviction`,
    );
    const queue = openQueue({ connection: redis, prefix: cfg.queuePrefix, queueName: cfg.queueName });
    try {
      report.queue = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
    } finally {
      await queue.close();
    }
  } catch (e) {
    add('redis', false, `${redactUrl(cfg.redisUrl)}: ${errorMessage(e)}`);
  } finally {
    redis.disconnect();
  }
  report.ok = checks.every((c) => c.ok);
  return report;
}
