/**
 * The starred chaos scenarios in their short version (`npm run chaos -- --short`): a ledgered load
 * through four worker processes with no fault, with a worker SIGKILLed every 2 s, and with workers
 * dying between a commit and the acknowledgement. Every scenario must end with nothing lost,
 * duplicated, unexpected or drifting, every finished session must be rated (the runner waits for the
 * ratings after the drain: after crashes that took 20-30 s here), and every fault must have fired.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { ADMIN_DATABASE_URL, REDIS_URL, childEnv } from '../../helpers/env.ts';

const SCRIPT = fileURLToPath(new URL('../../../scripts/chaos.ts', import.meta.url));

it('passes the short chaos scenarios with every ledger count at zero', { timeout: 420_000 }, async () => {
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile(process.execPath, [SCRIPT, '--short'], { env: { ...childEnv(), CHAOS_DATABASE_URL: ADMIN_DATABASE_URL, CHAOS_REDIS_URL: REDIS_URL }, timeout: 410_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
  const last = JSON.parse(stdout.trim().split('\n').pop()!);
  expect({ code, last: { ...last, rows: undefined } }, stderr).toMatchObject({ code: 0, last: { scenarios: 4, passed: 4, lost: 0, duplicated: 0, drift: 0, unexpected: 0, snapshots_failed: 0 } });
  const rows = last.rows as { scenario: string; kills: number }[];
  expect(rows.find((r) => r.scenario === 'sigkill')!.kills).toBeGreaterThan(0);
  expect(rows.find((r) => r.scenario === 'commit-crash')!.kills).toBeGreaterThan(0);
});
