/**
 * The Python client as a user gets it: `pip install` of clients/python into a fresh venv, offline (no
 * index, no pip configuration: its build backend needs nothing), then the client's own tests
 * (clients/python/tests, `python -m unittest`, standard library only) run by that venv's interpreter
 * from a folder outside the source tree, so the installed package is the one tested (test_packaging.py
 * checks it is), against a real API server and worker on this file's database and queue prefix.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { devNull, tmpdir } from 'node:os';
import { join } from 'node:path';
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
/** Every test of clients/python/tests: the run must show them all ran, none skipped. */
const PYTHON_TESTS = 32;
const ctx = workerFixture({ GP_STATS_FOLD_MS: '50' });
let app: FastifyInstance;
let redis: Redis;
let url = '';
const keys = { ingest: '', admin: '', limited: '' };
let tmp = '';
let venvPython = '';

function run(cmd: string, args: string[], opts: { cwd: string; env?: Record<string, string>; timeout: number }): Promise<{ code: number; out: string }> {
  const env = { ...childEnv(), PYTHONDONTWRITEBYTECODE: '1', PIP_CONFIG_FILE: devNull, PIP_NO_INPUT: '1', PIP_DISABLE_PIP_VERSION_CHECK: '1', ...opts.env };
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: opts.cwd, env, timeout: opts.timeout, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

/**
 * A fresh venv with the client pip-installed into it, offline; the venv's interpreter. The venv is made
 * without pip of its own (ensurepip costs seconds of CPU on a busy machine) and this Python's pip
 * installs into it (`pip --python`, pip 22.3+): it then holds nothing but the client, as a Python
 * 3.12+ venv holds no setuptools, so nothing else could have built it.
 */
async function installIntoFreshVenv(): Promise<string> {
  tmp = await mkdtemp(join(tmpdir(), 'gp-py-'));
  const venv = join(tmp, 'venv');
  const python3 = process.env.PYTHON ?? 'python3';
  const made = await run(python3, ['-m', 'venv', '--without-pip', venv], { cwd: tmp, timeout: 120_000 });
  if (made.code !== 0) throw new Error(`python3 -m venv failed:\n${made.out}`);
  const python = join(venv, 'bin', 'python');
  const pip = await run(python3, ['-m', 'pip', '--python', python, 'install', '--no-index', '--no-cache-dir', CLIENT_DIR], { cwd: tmp, timeout: 120_000 });
  if (pip.code !== 0) throw new Error(`pip install ${CLIENT_DIR} failed:\n${pip.out}`);
  expect(pip.out).toMatch(/Successfully installed game-persist-\d+\.\d+\.\d+/);
  return python;
}

beforeAll(async () => {
  const cfg = testConfig(ctx.fx.db.url, ctx.prefix);
  redis = new Redis(REDIS_URL);
  // The venv is built while the API starts: creating one (ensurepip) takes seconds on a busy machine.
  const installed = installIntoFreshVenv();
  app = await buildApi({ cfg, orm: ctx.fx.orm, redis });
  url = await app.listen({ port: 0, host: '127.0.0.1' });
  keys.ingest = (await createApiKey(ctx.fx.orm, { name: 'python', scopes: ['ingest', 'read'] })).key;
  keys.admin = (await createApiKey(ctx.fx.orm, { name: 'python-admin', scopes: ['admin'] })).key;
  // One request a minute: its second request gets the API's 429 with Retry-After.
  keys.limited = (await createApiKey(ctx.fx.orm, { name: 'python-limited', scopes: ['ingest', 'read'], rateLimit: 1 })).key;
  venvPython = await installed;
}, 240_000);
afterAll(async () => {
  await app?.close();
  await redis?.quit();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('the Python client', () => {
  it('installs into a fresh venv with pip, offline, and passes its unittest suite against a real server and worker', async () => {
    const r = await run(venvPython, ['-m', 'unittest', 'discover', '-v', '-s', join(CLIENT_DIR, 'tests')], {
      cwd: tmp, // not the source tree: `import game_persist` must find the installed package
      env: { GP_TEST_INSTALLED: '1', GP_TEST_API_URL: url, GP_TEST_API_KEY: keys.ingest, GP_TEST_ADMIN_KEY: keys.admin, GP_TEST_LIMITED_KEY: keys.limited },
      timeout: 150_000,
    });
    console.log(r.out);
    expect(r.code, r.out).toBe(0);
    // Every test ran (none skipped for want of a server or of the installed package).
    expect(r.out).toMatch(new RegExp(`Ran ${PYTHON_TESTS} tests`));
    expect(r.out).not.toMatch(/skipped/);
  }, 180_000);
});
