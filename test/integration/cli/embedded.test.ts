/**
 * Zero-service mode on its own: `worker --embedded` and `serve --embedded` started at once on a new
 * folder share one embedded PostgreSQL (one creates and starts it, the other joins), migrate it, and
 * carry events end to end on BullMQ's PostgreSQL backend with Redis unreachable; a one-off command
 * (`keys create`, `sessions show`) joins the same server.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.ts';
import { spawnCli } from '../../helpers/worker.ts';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe('--embedded', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gp-embedded-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('worker and serve started at once share one embedded PostgreSQL and carry events without Redis', { timeout: 120_000 }, async () => {
    const port = await freePort();
    // REDIS_URL points at a closed port: nothing may need Redis in this mode.
    const env = { GP_EMBEDDED_DIR: dir, GP_EMBEDDED_PORT: String(port), REDIS_URL: `redis://127.0.0.1:${await freePort()}`, GP_LOG_LEVEL: 'info', GP_METRICS_PORT: '0', GP_BATCH_MS: '5' };
    const worker = spawnCli(['worker', '--embedded'], env);
    // The POST below may come before the API can enqueue ('api listening' is the bound port): it waits
    // for the queue (GP_API_READY_WAIT_MS) instead of failing, as it once did under load.
    const api = spawnCli(['serve', '--embedded'], { ...env, GP_API_PORT: '0', GP_API_READY_WAIT_MS: '30000' });
    try {
      await worker.waitForLog('worker started', 60_000);
      const listening = await api.waitForLog('api listening', 60_000);
      const started = [...worker.logs, ...api.logs].filter((l) => /embedded PostgreSQL started/.test(String(l.msg)));
      const joined = [...worker.logs, ...api.logs].filter((l) => /embedded PostgreSQL already running/.test(String(l.msg)));
      expect(started).toHaveLength(1);
      expect(joined).toHaveLength(1);
      expect(statSync(join(dir, 'password')).mode & 0o777).toBe(0o600);

      const key = await runCli(['keys', 'create', 'embedded-test', '--scope', 'ingest', '--scope', 'read', '--embedded', '--json'], env);
      expect(key.code, key.stderr).toBe(0);
      const auth = { authorization: `Bearer ${JSON.parse(key.stdout).key}` };
      const base = String(listening.address);
      const res = await fetch(`${base}/v1/events`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify([
          { type: 'session.created', sessionId: 'emb-1', data: { gameType: 'hokm' } },
          { type: 'player.joined', sessionId: 'emb-1', player: 'ann', data: { team: 1 } },
        ]),
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { accepted: number }).accepted).toBe(2);
      const waited = await fetch(`${base}/v1/sessions/emb-1/wait?seq=issued&timeoutMs=20000`, { headers: auth });
      expect(await waited.json()).toMatchObject({ seq: 2, appliedSeq: 2 });
      const show = await runCli(['sessions', 'show', 'emb-1', '--embedded', '--json'], env);
      expect(show.code, show.stderr).toBe(0);
      expect(JSON.parse(show.stdout)).toMatchObject({ session: { id: 'emb-1', gameType: 'hokm', eventCount: 2 } });
    } finally {
      api.child.kill('SIGTERM');
      worker.child.kill('SIGTERM');
      await Promise.all([api.exited, worker.exited]);
    }
  });
});
