import { once } from 'node:events';
import type { Config } from '../config.ts';
import { exportPlayer } from '../ops/export-player.ts';
import { UsageError } from './args.ts';

/**
 * `export-player <id>`: every row about the player as NDJSON on stdout (src/ops/export-player.ts), from
 * DATABASE_READ_URL when set. Exit 0 once the trailer is written.
 */
export async function runExport(cfg: Readonly<Config>, id: string | undefined): Promise<number> {
  if (!id) throw new UsageError('export-player needs a player id');
  for await (const line of exportPlayer(cfg.databaseReadUrl ?? cfg.databaseUrl, id)) {
    // Waits while stdout's buffer is full, so a slow pipe holds the cursor instead of the heap.
    if (!process.stdout.write(`${JSON.stringify(line)}\n`)) await once(process.stdout, 'drain');
  }
  return 0;
}
