/**
 * Zero-service mode as root where it cannot work: the data folder is out of the `postgres` user's reach
 * (inside a fresh mode-0700 `mktemp -d` folder, as root's home is) and no folder it can reach can be
 * made for the cluster. The start stops with one line saying what to do. (That `npm start` works as root
 * from such a checkout is test/integration/cli/start.test.ts.) Runs only as root (CI does).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../../../src/embedded/postgres.ts';
import { freePort } from '../../helpers/redis-server.ts';

const asRoot = process.getuid?.() === 0;

describe.skipIf(!asRoot)('zero-service mode as root', () => {
  const outer = asRoot ? mkdtempSync(join(tmpdir(), 'gp-root-home-')) : '';
  afterAll(() => {
    if (outer) rmSync(outer, { recursive: true, force: true });
  });

  it('stops with one line saying to set GP_EMBEDDED_DIR when no folder the postgres user can reach can be made', async () => {
    const notAFolder = join(outer, 'not-a-folder');
    writeFileSync(notAFolder, '');
    const start = startEmbeddedPostgres({ dir: join(outer, 'game-persist', '.game-persist'), port: await freePort(), database: 'gp', clustersDir: notAFolder });
    await expect(start).rejects.toMatchObject({ code: 'embedded_postgres', message: expect.stringMatching(/^[^\n]*cannot enter [^\n]*: set GP_EMBEDDED_DIR \(or --data-dir\) to a folder that the postgres user can reach[^\n]*$/) });
  });
});
