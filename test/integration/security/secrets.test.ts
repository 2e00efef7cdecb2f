/**
 * Secrets stay secret (issue 12): with distinctive values for every secret in the environment (the
 * DATABASE_URL, DATABASE_READ_URL and REDIS_URL passwords, an API key, GP_BOARD_PASSWORD,
 * GP_METRICS_TOKEN, GP_ERASURE_KEY), a worker, `serve`, `doctor` (text and --json), connections that fail (PostgreSQL
 * and Redis URLs with passwords to closed ports) and API requests answered 5xx write none of them to
 * stdout, stderr (the logs), an HTTP body, the metrics text or the queued job data.
 */
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../../src/api/keys.ts';
import { moveEvent } from '../../helpers/examples.ts';
import { REDIS_URL } from '../../helpers/env.ts';
import { count, dropPrefix, openFixture, rows, testEnv, uniqueName, waitFor, type Fixture } from '../../helpers/services.ts';
import { runCli } from '../../helpers/cli.ts';
import { spawnCli, type ChildWorker } from '../../helpers/worker.ts';

const SECRET = {
  database: 'pgPw-7f3a9c1eQ',
  databaseRead: 'pgReadPw-2b8d4f6aZ',
  redis: 'redisPw-5b2d8e4fK',
  board: 'boardPw-9c7e1a3bX',
  metrics: 'metricsTok-4e8f2a6d1cW',
  erasure: 'erasureKey-6d1c0f9e3a7b5d2c8e4f1a6b',
};
let apiKeySecret = '';
const secrets = () => [...Object.values(SECRET), apiKeySecret].filter(Boolean);

/** Everything any process or endpoint said, to search for the secrets at the end. */
const seen: { what: string; text: string }[] = [];
const record = (what: string, text: string) => (seen.push({ what, text }), text);

const prefix = uniqueName('q');
let fx: Fixture;
const children: ChildWorker[] = [];

/** The URL with a password (trust authentication: PostgreSQL never asks for it; Redis without one ignores it). */
const withPassword = (url: string, password: string) => {
  const u = new URL(url);
  if (!u.username) u.username = u.protocol.startsWith('redis') ? 'default' : 'postgres';
  u.password = password;
  return u.toString();
};

async function closedPort(): Promise<number> {
  const s = createServer();
  const port = await new Promise<number>((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as { port: number }).port)));
  await new Promise((r) => s.close(r));
  return port;
}

function env(extra: Record<string, string> = {}): Record<string, string> {
  return testEnv(withPassword(fx.db.url, SECRET.database), prefix, {
    REDIS_URL: withPassword(REDIS_URL, SECRET.redis),
    GP_BOARD_PASSWORD: SECRET.board,
    GP_METRICS_TOKEN: SECRET.metrics,
    GP_ERASURE_KEY: SECRET.erasure,
    GP_METRICS_HOST: '127.0.0.1',
    GP_LOG_LEVEL: 'debug',
    ...extra,
  });
}

/** `game-persist <args>` running: its stdout and stderr recorded as they come. */
function spawn(args: string[], e: Record<string, string>): ChildWorker {
  const c = spawnCli(args, e);
  children.push(c);
  c.child.stdout!.setEncoding('utf8');
  c.child.stdout!.on('data', (d: string) => record(`${args[0]} stdout`, d));
  c.child.stderr!.on('data', (d: Buffer | string) => record(`${args[0]} stderr`, String(d)));
  return c;
}

/** SIGTERM, then SIGKILL if it has not exited within 5 s (one waiting on a service that is down). */
async function stop(c: ChildWorker): Promise<void> {
  c.child.kill('SIGTERM');
  const timer = setTimeout(() => c.child.kill('SIGKILL'), 5000);
  await c.exited;
  clearTimeout(timer);
}

async function cli(args: string[], e: Record<string, string>) {
  const r = await runCli(args, e);
  record(`${args.join(' ')} stdout`, r.stdout);
  record(`${args.join(' ')} stderr`, r.stderr);
  return r;
}

async function get(url: string, headers: Record<string, string> = {}, init: RequestInit = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { ...init, headers: { ...headers, ...(init.headers as Record<string, string>) } });
  return { status: res.status, text: record(`${init.method ?? 'GET'} ${url}`, `${JSON.stringify([...res.headers])}\n${await res.text()}`) };
}

beforeAll(async () => {
  fx = await openFixture();
  const key = await createApiKey(fx.orm, { name: 'secrets-test', scopes: ['admin'] });
  // gpk_<id>_<secret>: the secret is base64url and may itself hold '_' (then split('_')[2] was only
  // its first piece, once a single letter that every output "leaked").
  apiKeySecret = key.key.slice(key.key.indexOf('_', 4) + 1);
  expect(apiKeySecret).toHaveLength(43);
  process.env.GP_SECRETS_TEST_KEY = key.key;
});
afterAll(async () => {
  for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
  delete process.env.GP_SECRETS_TEST_KEY;
  await fx?.close();
  await dropPrefix(prefix);
});

describe('secrets', () => {
  it('appear in no output of the worker, serve, doctor, failing connections, API errors, metrics or job data', { timeout: 120_000 }, async () => {
    const apiKey = process.env.GP_SECRETS_TEST_KEY!;
    const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

    // serve: events through it (job data), its metrics, and requests answered 5xx: its read replica
    // (DATABASE_READ_URL, with a password) is a closed port.
    const readUrl = withPassword(fx.db.url, SECRET.databaseRead).replace(/:\d+\//, `:${await closedPort()}/`);
    const server = spawn(['serve'], env({ GP_API_PORT: '0', DATABASE_READ_URL: readUrl }));
    const base = (await server.waitForLog('api listening')).address as string;
    const posted = await get(`${base}/v1/events`, { ...bearer(apiKey), 'content-type': 'application/json' }, { method: 'POST', body: JSON.stringify([moveEvent('secrets-1', 1), moveEvent('secrets-1', 2)]) });
    expect(posted.status, posted.text).toBe(200);

    // What the queue holds before a worker takes it: BullMQ's job hashes under the prefix.
    const redis = new Redis(REDIS_URL);
    try {
      const keys = await redis.keys(`${prefix}:*`);
      expect(keys.some((k) => /:events:\d+$/.test(k))).toBe(true);
      for (const k of keys) {
        const type = await redis.type(k);
        if (type === 'hash') record(`redis ${k}`, JSON.stringify(await redis.hgetall(k)));
        else if (type === 'string') record(`redis ${k}`, String(await redis.get(k)));
      }
    } finally {
      redis.disconnect();
    }

    // A worker takes them; its endpoints with and without the token.
    const metricsPort = await closedPort();
    const worker = spawn(['worker'], env({ GP_METRICS_PORT: String(metricsPort), GP_JOBS: 'true' }));
    await worker.waitForLog('metrics and health endpoints listening');
    await worker.waitForLog('worker started'); // /readyz is 503 until the worker consumes
    const wbase = `http://127.0.0.1:${metricsPort}`;
    expect((await get(`${wbase}/metrics`)).status).toBe(401);
    expect((await get(`${wbase}/readyz`)).status).toBe(401);
    expect((await get(`${wbase}/readyz`, bearer(SECRET.metrics))).status).toBe(200);
    await waitFor('the events stored', async () => (await count(fx.orm, 'moves')) === 2);
    const failed = await get(`${base}/v1/sessions/secrets-1/recover`, bearer(apiKey));
    expect(failed.status, failed.text).toBeGreaterThanOrEqual(500);
    expect((await get(`${base}/v1/events`, bearer(`gpk_0000000000000000_${SECRET.metrics}`), { method: 'POST', body: '[]' })).status).toBe(401);
    expect((await get(`${base}/metrics`)).status).toBe(401);
    expect((await get(`${base}/metrics`, bearer(SECRET.metrics))).status).toBe(200);
    expect((await get(`${wbase}/metrics`, bearer(SECRET.metrics))).status).toBe(200);

    // The maintenance jobs' data.
    record('pg-boss jobs', JSON.stringify(await rows(fx.orm, `select name, data, output from pgboss.job`).catch((e: Error) => e.message)));

    // doctor, passing and failing (PostgreSQL and Redis with passwords, on closed ports), text and --json.
    for (const args of [['doctor'], ['doctor', '--json']]) expect((await cli(args, env())).code).toBe(0);
    const down = env({
      DATABASE_URL: withPassword(fx.db.url, SECRET.database).replace(/:\d+\//, `:${await closedPort()}/`),
      REDIS_URL: withPassword(REDIS_URL, SECRET.redis).replace(/:\d+$/, `:${await closedPort()}`),
    });
    for (const args of [['doctor'], ['doctor', '--json']]) expect((await cli(args, down)).code).not.toBe(0);
    // The worker and serve against them (both down, or only Redis): they fail to start or keep
    // retrying, saying why.
    const redisDown = { ...env(), REDIS_URL: down.REDIS_URL! };
    for (const [args, e] of [[['worker'], down], [['serve'], down], [['worker'], redisDown], [['serve'], redisDown]] as const) {
      const c = spawn([...args], { ...e, GP_METRICS_PORT: '0', GP_API_PORT: '0' });
      const code = await Promise.race([c.exited, new Promise<'running'>((r) => setTimeout(() => r('running'), 4000))]);
      if (code === 'running') await stop(c);
    }
    // The PostgreSQL backend with the database down.
    expect((await cli(['doctor', '--json'], { ...down, GP_QUEUE_BACKEND: 'postgres' })).code).not.toBe(0);

    await Promise.all([stop(worker), stop(server)]);

    // GP_SECRETS_DUMP=<file>: everything captured, to see what a failure saw.
    if (process.env.GP_SECRETS_DUMP) (await import('node:fs')).writeFileSync(process.env.GP_SECRETS_DUMP, JSON.stringify(seen, null, 1));
    const all = seen.map((s) => s.text).join('\n');
    expect(all).toContain('postgres'); // something was captured
    for (const secret of secrets()) {
      const leaks = seen.filter((s) => s.text.includes(secret)).map((s) => `${s.what}: ${s.text.slice(Math.max(0, s.text.indexOf(secret) - 200), s.text.indexOf(secret) + 60)}`);
      expect(leaks, `secret ${secret}`).toEqual([]);
    }
  });
});
