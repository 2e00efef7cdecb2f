/**
 * `npm start`, the README's main job, as a new user runs it: once with the local PostgreSQL and Redis,
 * once with nothing answering on the default ports (a network namespace of its own: only its loopback,
 * where 5432 and 6379 are closed), which is zero-service mode: an embedded PostgreSQL and queues on
 * BullMQ's PostgreSQL backend. Both must reach a verified summary. As root (CI), the zero-service run is
 * made from a copy of the checkout under a mode-0700 folder, as root's home is, which the `postgres`
 * user the embedded server runs as cannot enter (issue 19: initdb failed there with EACCES).
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childEnv, REDIS_URL } from '../../helpers/env.ts';
import { cloneDatabase, dropPrefix, uniqueName } from '../../helpers/services.ts';
import { closedCheckout } from '../../helpers/closed-checkout.ts';
import { ROOT_CLUSTERS_DIR } from '../../../src/embedded/postgres.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const asRoot = process.getuid?.() === 0;

function npmStart(cmd: string[], env: Record<string, string>, cwd = ROOT): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd[0], cmd.slice(1), { cwd, env: { ...childEnv(), ...env }, timeout: 170_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0, stdout, stderr }),
    );
  });
}

/** The checks every run of the demo passes: its verification line, each game finished, the bot's answers. */
function expectVerifiedSummary(stdout: string): void {
  expect(stdout).toMatch(/✔ verified: emitted (\d+) = persisted \1 \(lost 0, duplicated 0, dead-lettered 0\) · aggregate drift 0 · snapshots (\d+)\/\2 verified/);
  for (const game of ['impostor', 'liap-tui', 'hokm', 'adventure', 'fourx']) expect(stdout).toMatch(new RegExp(`${game} finished: \\d+ events accepted`));
  expect(stdout).toMatch(/worker started again/);
  expect(stdout).toMatch(/game server killed \(SIGKILL\)/);
  expect(stdout).toMatch(/\/global/);
}

describe('npm start', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'gp-start-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('plays the five games to a verified summary on the local PostgreSQL and Redis', { timeout: 180_000 }, async () => {
    const db = await cloneDatabase();
    const prefix = uniqueName('start');
    try {
      const r = await npmStart(['npm', 'start', '--silent'], { DATABASE_URL: db.url, REDIS_URL, GP_QUEUE_PREFIX: prefix });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/queues in Redis/);
      expectVerifiedSummary(r.stdout);
    } finally {
      await dropPrefix(prefix);
      await db.drop();
    }
  });

  it('with nothing configured and nothing answering on 5432 and 6379, runs on an embedded PostgreSQL with PostgreSQL queues (as root: from a checkout under a mode-0700 folder)', { timeout: 180_000 }, async () => {
    // Its own network namespace: a loopback of its own, where nothing listens.
    execFileSync('unshare', ['-n', 'true']);
    const closed = asRoot ? closedCheckout() : null;
    let r: Awaited<ReturnType<typeof npmStart>>;
    try {
      // As root, the data stays where a user's `npm start` puts it (./.game-persist in the checkout).
      r = await npmStart(['unshare', '-n', 'bash', '-c', 'ip link set lo up && exec npm start --silent'], closed ? {} : { GP_EMBEDDED_DIR: dataDir }, closed?.checkout);
      if (closed) {
        expect(statSync(closed.outer).mode & 0o777).toBe(0o700);
        // The cluster went where the `postgres` user can reach it, the user's folder untouched.
        const where = /data in (\S+)/.exec(r.stderr)?.[1] ?? '';
        expect(where, r.stderr).toMatch(new RegExp(`^${ROOT_CLUSTERS_DIR}/[\\w-]+/pgdata$`));
        rmSync(dirname(where), { recursive: true, force: true });
      }
    } finally {
      if (closed) rmSync(closed.outer, { recursive: true, force: true });
    }
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stderr).toMatch(/nothing answers on 127\.0\.0\.1:5432: starting an embedded PostgreSQL/);
    expect(r.stderr).toMatch(/nothing answers on 127\.0\.0\.1:6379: queues on BullMQ's PostgreSQL backend/);
    expect(r.stdout).toMatch(/queues on BullMQ's PostgreSQL backend/);
    expectVerifiedSummary(r.stdout);
  });
});
