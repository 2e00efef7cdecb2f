import type { Config } from '../config.ts';
import { openOrm } from '../db/orm.ts';
import { RETENTION_CLASSES, RETENTION_ENV } from '../db/retention.ts';
import { runRetention } from '../ops/retention.ts';
import type { Flags } from './args.ts';

/** `retention [--dry-run]`: one run of the scheduled retention, now; prints the rows deleted per class. */
export async function runRetentionCommand(cfg: Readonly<Config>, flags: Flags): Promise<number> {
  const orm = await openOrm({ databaseUrl: cfg.databaseUrl, poolMax: 1 });
  try {
    const r = await runRetention(orm, cfg, undefined, { dryRun: flags['dry-run'] === true });
    if (flags.json) {
      console.log(JSON.stringify(r));
      return 0;
    }
    const verb = r.dryRun ? 'would delete' : 'deleted';
    for (const c of RETENTION_CLASSES) {
      const x = r.classes[c];
      console.log(x.cutoff ? `${c}: ${verb} ${x.deleted} (older than ${x.days} days: before ${x.cutoff})` : `${c}: kept forever (${RETENTION_ENV[c]} unset or 0)`);
    }
    for (const [t, n] of Object.entries(r.tables)) console.log(`  ${t}: ${n}`);
    return 0;
  } finally {
    await orm.close();
  }
}
