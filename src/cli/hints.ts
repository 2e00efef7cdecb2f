/**
 * What to try when a command could not reach PostgreSQL or Redis: the raw driver messages ("connect
 * ECONNREFUSED 127.0.0.1:5432", "SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a string")
 * say what broke but not what to do. The URLs are printed without their passwords.
 */
import { loadConfig, redactUrl } from '../config.ts';

function chain(e: unknown): string {
  const parts: string[] = [];
  for (let cur: unknown = e, depth = 0; cur && depth < 5; depth++) {
    const x = cur as { message?: unknown; code?: unknown; errors?: unknown[]; cause?: unknown };
    if (typeof x.message === 'string') parts.push(x.message);
    if (typeof x.code === 'string') parts.push(x.code);
    if (Array.isArray(x.errors)) for (const inner of x.errors) parts.push(String((inner as { message?: unknown })?.message ?? inner));
    cur = x.cause;
  }
  return parts.join(' | ');
}

function urls(): { db: string; redis: string } {
  try {
    const cfg = loadConfig();
    return { db: redactUrl(cfg.databaseUrl), redis: redactUrl(cfg.redisUrl) };
  } catch {
    return { db: 'DATABASE_URL', redis: 'REDIS_URL' };
  }
}

/** One or two lines of advice for a connection failure, or null when the error is something else. */
export function connectionHint(e: unknown): string | null {
  const text = chain(e);
  const { db, redis } = urls();
  const port = /(?:ECONNREFUSED|connect ETIMEDOUT|EHOSTUNREACH)[^|]*?:(\d+)/.exec(text)?.[1];
  if (/client password must be a string|password authentication failed|no password supplied|SASL/i.test(text))
    return `hint: PostgreSQL (${db}) wants a password the URL does not give. Put it in DATABASE_URL (postgres://user:password@host:5432/db), or allow the login without one (trust or peer in pg_hba.conf) on a development machine.`;
  if (/database "[^"]+" does not exist/.test(text)) return `hint: the database of ${db} does not exist: create it with \`game-persist migrate --create-db\`.`;
  if (/role "[^"]+" does not exist/.test(text)) return `hint: the user in ${db} does not exist in PostgreSQL: create it, or set DATABASE_URL to one that does.`;
  if (port === '6379' || /redis|ioredis/i.test(text)) {
    if (/ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|Connection is closed/i.test(text))
      return `hint: Redis is not reachable at ${redis}: start it (redis-server), or set REDIS_URL.`;
  }
  if (/ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|Connection terminated/i.test(text))
    return `hint: PostgreSQL is not reachable at ${db}: start it, or set DATABASE_URL (Redis: REDIS_URL). \`game-persist doctor\` checks both.`;
  return null;
}
