import type { Config } from '../config.ts';
import { openOrm } from '../db/orm.ts';
import { verifySnapshots } from '../ops/verify-snapshots.ts';
import { UsageError, type Flags } from './args.ts';
import { esc } from './output.ts';

/** `snapshots verify [--session <id>]`: exit 1 on any mismatch. */
export async function runSnapshots(cfg: Readonly<Config>, sub: string | undefined, flags: Flags): Promise<number> {
  if (sub !== 'verify') throw new UsageError('snapshots needs a subcommand: verify');
  const orm = await openOrm({ databaseUrl: cfg.databaseUrl, poolMax: 1 });
  try {
    const r = await verifySnapshots(orm, flags.session);
    if (flags.json) console.log(JSON.stringify(r));
    else {
      for (const m of r.mismatches) console.log(esc`MISMATCH  ${m.sessionId} seq ${m.seq} turn ${m.turn ?? '-'} (${m.kind}): ${m.detail}`);
      console.log(esc`${r.checked} snapshot(s) checked, ${r.mismatches.length} mismatch(es)`);
    }
    return r.mismatches.length ? 1 : 0;
  } finally {
    await orm.close();
  }
}
