import pg from 'pg';

/** Where the test services are. Override with TEST_DATABASE_URL (any database; used as admin) and TEST_REDIS_URL. */
export const ADMIN_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export function databaseUrl(name: string): string {
  const u = new URL(ADMIN_DATABASE_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Runs one statement (CREATE/DROP DATABASE) as the admin user on its own connection. */
export async function adminQuery(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    templateDatabase: string;
  }
}

/**
 * The environment every child process of a test starts from: PATH, and libfaketime's variables when the
 * tests run under it (scripts/test-faketime.sh), so a child's "now" is the test's.
 */
export function childEnv(): Record<string, string> {
  const out: Record<string, string> = { PATH: process.env.PATH ?? '' };
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && (k === 'LD_PRELOAD' || k.startsWith('FAKETIME'))) out[k] = v;
  return out;
}

/**
 * The environment for a service a test starts itself (a throwaway redis-server): this process's, without
 * libfaketime, because services keep the real clock as PostgreSQL does (redis-server and redis-cli hang
 * under libfaketime).
 */
export function serviceEnv(): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (k !== 'LD_PRELOAD' && !k.startsWith('FAKETIME')) out[k] = v;
  return out;
}
