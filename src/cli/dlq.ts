import type { Config } from '../config.ts';
import { openOrm } from '../db/orm.ts';
import { listDeadLetters, replayDeadLetters } from '../ops/dead-letters.ts';
import { commandRedis } from '../redis.ts';
import { queueConnection } from '../queue/backend.ts';
import { UsageError, intFlag, positiveInt, type Flags } from './args.ts';
import { esc, progress } from './output.ts';

export async function runDlq(cfg: Readonly<Config>, sub: string | undefined, flags: Flags): Promise<number> {
  if (sub !== 'list' && sub !== 'replay') throw new UsageError('dlq needs a subcommand: list or replay');
  const orm = await openOrm({ databaseUrl: cfg.databaseUrl, poolMax: 1 });
  try {
    if (sub === 'list') {
      const rows = await listDeadLetters(orm, {
        reason: flags.reason,
        includeReplayed: flags.all ?? false,
        limit: intFlag(flags, 'limit', 100),
        afterId: flags.after ? intFlag(flags, 'after', 0) : 0,
      });
      if (flags.json) console.log(JSON.stringify(rows));
      else if (!rows.length) console.log('no dead letters');
      else
        for (const r of rows)
          console.log(esc`#${r.id}  ${r.createdAt}  ${r.reasonCode}${r.field ? `  field ${r.field}` : ''}${r.replayedAt ? `  (replayed ${r.replayCount}x)` : ''}\n    ${r.reason}\n    ${r.payloadHead}`);
      return 0;
    }
    let ids: number[];
    if (flags.id?.length) ids = flags.id.map((v) => positiveInt('id', v));
    else if (flags.all) ids = (await listDeadLetters(orm, { reason: flags.reason, limit: 10_000 })).map((r) => r.id);
    else throw new UsageError('dlq replay needs --id N (repeatable) or --all');
    // The Redis backend's client fails instead of waiting forever; on PostgreSQL the queue's URL.
    const redis = cfg.queueBackend === 'redis' ? commandRedis(cfg.redisUrl) : null;
    try {
      const shown = progress('dlq replay');
      shown.update(`${ids.length} dead letter(s)…`);
      const res = await replayDeadLetters(orm, redis ?? queueConnection(cfg), { queueName: cfg.queueName, prefix: cfg.queuePrefix }, ids).finally(() => shown.done());
      if (flags.json) console.log(JSON.stringify(res));
      else {
        console.log(esc`replayed ${res.replayed.length} dead letter(s)${res.replayed.length ? `: ${res.replayed.join(', ')}` : ''}`);
        for (const s of res.skipped) console.log(esc`skipped #${s.id}: ${s.why}`);
      }
      return res.skipped.length && !res.replayed.length ? 1 : 0;
    } finally {
      redis?.disconnect();
    }
  } finally {
    await orm.close();
  }
}
