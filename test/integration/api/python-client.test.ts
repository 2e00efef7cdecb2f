/**
 * The Python client's own tests (clients/python/tests, `python3 -m unittest`, standard library only)
 * run by a real Python interpreter against a real API server and worker on this file's database and
 * queue prefix.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../../../src/api/server.ts';
import { createApiKey } from '../../../src/api/keys.ts';
import { REDIS_URL, testConfig } from '../../helpers/services.ts';
import { childEnv } from '../../helpers/env.ts';
import { workerFixture } from '../../helpers/worker.ts';

const CLIENT_DIR = fileURLToPath(new URL('../../../clients/python', import.meta.url));
const ctx = workerFixture({ GP_STATS_FOLD_MS: '50' });
let app: FastifyInstance;
let redis: Redis;
let url = '';
let key = '';
let adminKey = '';

beforeAll(async () => {
  const cfg = testConfig(ctx.fx.db.url, ctx.prefix);
  redis = new Redis(REDIS_URL);
  app = await buildApi({ cfg, orm: ctx.fx.orm, redis });
  url = await app.listen({ port: 0, host: '127.0.0.1' });
  key = (await createApiKey(ctx.fx.orm, { name: 'python', scopes: ['ingest', 'read'] })).key;
  adminKey = (await createApiKey(ctx.fx.orm, { name: 'python-admin', scopes: ['admin'] })).key;
});
afterAll(async () => {
  await app?.close();
  await redis?.quit();
});

describe('the Python client', () => {
  it('passes its unittest suite against a real server and worker', async () => {
    const r = await new Promise<{ code: number; out: string }>((resolve) => {
      execFile(
        process.env.PYTHON ?? 'python3',
        ['-m', 'unittest', 'discover', '-v', '-s', 'tests'],
        { cwd: CLIENT_DIR, env: { ...childEnv(), GP_TEST_API_URL: url, GP_TEST_API_KEY: key, GP_TEST_ADMIN_KEY: adminKey, PYTHONDONTWRITEBYTECODE: '1' }, timeout: 120_000 },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
      );
    });
    console.log(r.out);
    expect(r.code, r.out).toBe(0);
    // Every test ran (none skipped for want of a server).
    expect(r.out).toMatch(/Ran 11 tests/);
    expect(r.out).not.toMatch(/skipped/);
  }, 150_000);
});
